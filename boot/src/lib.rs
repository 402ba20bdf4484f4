// SPDX-License-Identifier: MIT OR Apache-2.0
//! PVH entry: the Xen ELF note and the 32-bit entry that reaches 64-bit Rust.
//!
//! `entry.S` does the labelled steps in order (TSC, BSS, stack, page tables,
//! long mode, SSE, GDT) and jumps to `kernel_main(start_info_paddr: u64) -> !`,
//! which the image crate defines. The linker script places the sections and
//! checks the invariants the assembly relies on. On the host this crate only
//! carries the constants.
#![no_std]

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("entry.S"), options(att_syntax));

/// Bytes the boot page tables identity-map: the whole first 4 GiB, where Xen
/// and QEMU put the image, `hvm_start_info` and everything it points to.
pub const BOOT_IDENTITY_MAP_BYTES: u64 = 4 << 30;

#[cfg(target_os = "none")]
unsafe extern "C" {
    static boot_entry_tsc: u64;
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
}

/// The TSC as read at the very first instruction of the image.
#[cfg(target_os = "none")]
pub fn entry_tsc() -> u64 {
    // SAFETY: written once by entry.S before any Rust code runs, never after.
    unsafe { core::ptr::addr_of!(boot_entry_tsc).read() }
}

/// The boot stack, `bottom..top`: the stack `kernel_main` runs on.
#[cfg(target_os = "none")]
pub fn stack() -> core::ops::Range<u64> {
    let bottom = (&raw const boot_stack_bottom) as u64;
    let top = (&raw const boot_stack_top) as u64;
    bottom..top
}
