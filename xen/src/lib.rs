// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Xen public ABI and the guest services built on it.
//!
//! Each ABI type mirrors one struct of `xen/include/public/...` and names its
//! header. Everything here builds and tests on the host; only the hypercall
//! instructions themselves are gated on `target_os = "none"`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;
#[cfg(feature = "sim")]
extern crate std;

pub mod abi;
pub mod console;
pub mod detect;
pub mod events;
pub mod grant;
pub mod hypercall;
pub mod ring;
pub mod shared_page;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod start_info;
pub mod xenstore;

pub use abi::errno::Errno;
