// SPDX-License-Identifier: MIT OR Apache-2.0
//! pciback-dd: a Xen PCI driver domain.
//!
//! Boots as a PVH guest, finds the PCI bus, owns the devices it is given and
//! serves `xen-pcifront` guests. On the host this crate builds only its pure
//! logic, for unit tests.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
use boot as _;

#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
extern "C" fn kernel_main(_start_info: u64) -> ! {
    loop {
        // SAFETY: writing to the isa-debug-exit port only ends the VM.
        unsafe { core::arch::asm!("out dx, al", in("dx") 0xf4u16, in("al") 0x10u8) };
    }
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("pciback-dd is a PVH image for x86_64-unknown-none: build it with `cargo xtask build`");
    std::process::exit(2);
}
