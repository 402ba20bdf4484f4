// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/io/console.h`: the PV console ring page.
//!
//! Mirrors the Xen 4.17.5 header. 4.17 has no `connection` byte after
//! `out_prod` (newer headers add one at offset 3088). The console backend
//! (xenconsoled) changes `in`, `in_prod` and `out_cons` at any time, so every
//! field is atomic.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, AtomicU32};

/// Size of the `in` ring (backend to guest).
pub const XENCONS_IN_SIZE: usize = 1024;
/// Size of the `out` ring (guest to backend).
pub const XENCONS_OUT_SIZE: usize = 2048;

/// `struct xencons_interface` (3088 bytes in Xen 4.17).
#[repr(C)]
#[derive(Debug)]
pub struct XenconsInterface {
    /// `in[1024]`: input ring, written by the backend.
    pub in_: [AtomicU8; XENCONS_IN_SIZE],
    /// `out[2048]`: output ring, written by the guest.
    pub out: [AtomicU8; XENCONS_OUT_SIZE],
    /// Input consumer index (free-running). Written by the guest.
    pub in_cons: AtomicU32,
    /// Input producer index. Written by the backend at any time.
    pub in_prod: AtomicU32,
    /// Output consumer index. Written by the backend at any time.
    pub out_cons: AtomicU32,
    /// Output producer index. Written by the guest.
    pub out_prod: AtomicU32,
}
const _: () = assert!(size_of::<XenconsInterface>() == 3088);
const _: () = assert!(core::mem::offset_of!(XenconsInterface, out) == 1024);
const _: () = assert!(core::mem::offset_of!(XenconsInterface, in_cons) == 3072);
const _: () = assert!(core::mem::offset_of!(XenconsInterface, in_prod) == 3076);
const _: () = assert!(core::mem::offset_of!(XenconsInterface, out_cons) == 3080);
const _: () = assert!(core::mem::offset_of!(XenconsInterface, out_prod) == 3084);

impl Default for XenconsInterface {
    /// All zero, as the toolstack hands out the page.
    fn default() -> Self {
        Self {
            in_: core::array::from_fn(|_| AtomicU8::new(0)),
            out: core::array::from_fn(|_| AtomicU8::new(0)),
            in_cons: AtomicU32::new(0),
            in_prod: AtomicU32::new(0),
            out_cons: AtomicU32::new(0),
            out_prod: AtomicU32::new(0),
        }
    }
}

impl XenconsInterface {
    /// The console ring in the page at `page` (from `HVM_PARAM_CONSOLE_PFN`).
    ///
    /// # Safety
    ///
    /// `page` must point to the 4 KiB-aligned console ring page, mapped
    /// readable and writable for `'a`, and the guest must access that page
    /// only through the returned reference.
    pub unsafe fn from_page<'a>(page: NonNull<u8>) -> &'a XenconsInterface {
        // SAFETY: the caller guarantees the mapping for 'a; every field is an
        // atomic, so the backend's concurrent writes are sound, and page
        // alignment covers the atomics' 4-byte alignment.
        unsafe { page.cast::<XenconsInterface>().as_ref() }
    }
}
