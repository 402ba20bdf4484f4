// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI and PCIe configuration space: addresses, access, enumeration, capabilities.
//!
//! This crate knows nothing of Xen. Hardware sits behind [`ConfigAccess`]; the
//! ECAM implementation lives here, the code that maps ECAM lives in `kernel`.
#![cfg_attr(not(test), no_std)]

mod access;
mod address;

pub use access::ConfigAccess;
pub use address::Address;
