// SPDX-License-Identifier: MIT OR Apache-2.0
//! The real [`Hypercall`]: Xen's hypercall page, installed through the MSR.
//!
//! Only built for the image (`target_os = "none"`). Xen writes 128 stubs of
//! 32 bytes into the page; stub *N* loads *N* into `eax`, executes `VMCALL`
//! or `VMMCALL` and returns (`docs/guest-guide/x86/hypercall-abi.rst`).

use core::arch::asm;
use core::fmt;
use core::ptr::NonNull;

use super::Hypercall;
use crate::Errno;

/// Bytes per stub.
const STUB_SIZE: usize = 32;
/// Stubs in the page.
const STUBS: u32 = 128;
/// Page size and alignment the MSR requires (bits 11:0 are the page index, 0).
const PAGE_SIZE: u64 = 4096;

/// Why the hypercall page was not installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallError {
    /// The page's virtual or physical address is not 4 KiB aligned.
    Misaligned,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Misaligned => f.write_str("hypercall page is not 4 KiB aligned"),
        }
    }
}

impl core::error::Error for InstallError {}

/// An installed hypercall page.
#[derive(Debug)]
pub struct HypercallPage {
    page: NonNull<u8>,
}

// SAFETY: after `install` the page is only executed, never written by us;
// any CPU may call its stubs at the same time.
unsafe impl Send for HypercallPage {}
// SAFETY: as above; `hypercall` takes `&self` and touches no shared state.
unsafe impl Sync for HypercallPage {}

impl HypercallPage {
    /// Asks Xen to fill the page at `page` (guest-physical `page_paddr`)
    /// with hypercall stubs, by writing `page_paddr` to `msr`.
    ///
    /// # Safety
    ///
    /// - we run at CPL 0 in 64-bit mode under Xen, and `msr` is
    ///   [`crate::detect::XenCpuid::hypercall_msr`] of this CPU;
    /// - `page` is mapped readable and executable (Xen writes it through its
    ///   own mapping) for the rest of the program, at guest-physical
    ///   `page_paddr`, is ordinary RAM, and nothing else uses it.
    pub unsafe fn install(
        page: NonNull<u8>,
        page_paddr: u64,
        msr: u32,
    ) -> Result<Self, InstallError> {
        let offset_mask = PAGE_SIZE - 1;
        if (page.addr().get() as u64 | page_paddr) & offset_mask != 0 {
            return Err(InstallError::Misaligned);
        }
        // wrmsr writes edx:eax to the MSR in ecx.
        let (low, high) = (page_paddr as u32, (page_paddr >> 32) as u32);
        // SAFETY: the caller guarantees CPL 0 under Xen and that `msr` is
        // Xen's hypercall MSR; the value is a page-aligned frame address
        // (page index 0), so Xen fills that page and the write cannot #GP.
        unsafe {
            asm!("wrmsr", in("ecx") msr, in("eax") low, in("edx") high, options(nostack, preserves_flags));
        }
        Ok(Self { page })
    }
}

// SAFETY: each call runs Xen's own stub for `op`, so Xen does exactly what
// the hypercall defines.
unsafe impl Hypercall for HypercallPage {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        if op >= STUBS {
            return Errno::ENOSYS.to_return_value();
        }
        // op < 128: the offset is below the page size.
        let stub = self
            .page
            .as_ptr()
            .wrapping_add((op as usize).saturating_mul(STUB_SIZE));
        let ret: i64;
        // SAFETY: `stub` is inside the page Xen filled (op < 128) and is
        // executable by `install`'s contract; the stub follows the 64-bit
        // hypercall ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8,
        // result in rax, argument registers clobbered. Pointer arguments are
        // valid per this function's contract. `call` pushes onto our stack,
        // so the stack is not `nostack`; flags are clobbered by default.
        unsafe {
            asm!(
                "call {stub}",
                stub = in(reg) stub,
                inlateout("rax") u64::from(op) => ret,
                inlateout("rdi") args[0] => _,
                inlateout("rsi") args[1] => _,
                inlateout("rdx") args[2] => _,
                inlateout("r10") args[3] => _,
                inlateout("r8") args[4] => _,
            );
        }
        ret
    }
}
