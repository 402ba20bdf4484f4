// SPDX-License-Identifier: MIT OR Apache-2.0
//! Mirrors of Xen's public headers (`xen/include/public/...`), as of Xen 4.17.5.
//!
//! One module per header, each naming the header it mirrors. Every
//! `#[repr(C)]` struct has compile-time size and offset checks whose numbers
//! come from the 4.17.5 headers compiled with gcc for x86-64. Structures that
//! live in memory shared with Xen or another domain (`shared_info`, the
//! console and XenStore rings) are made of atomics, one per field, so the
//! type itself says that the other side may change them at any time.

pub mod arch_x86;
pub mod cpuid;
pub mod domctl;
pub mod errno;
pub mod event_channel;
pub mod features;
pub mod grant_table;
pub mod hvm_op;
pub mod hvm_params;
pub mod io;
pub mod memory;
pub mod physdev;
pub mod sched;
pub mod version;
pub mod xen;

/// Plain-old-data ABI values that may be copied to and from shared memory
/// byte for byte.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` (or a primitive integer), contain no
/// padding bytes, no pointers or references, and accept every bit pattern as
/// a valid value.
pub unsafe trait Plain: Copy {}

// SAFETY: primitive integers have no padding and accept every bit pattern.
unsafe impl Plain for u8 {}
// SAFETY: as above.
unsafe impl Plain for u16 {}
// SAFETY: as above.
unsafe impl Plain for u32 {}
// SAFETY: as above.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl Plain for i32 {}
