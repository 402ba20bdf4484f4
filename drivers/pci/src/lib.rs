// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI and PCIe configuration space: addresses, access, enumeration, capabilities.
//!
//! This crate knows nothing of Xen. Hardware sits behind [`ConfigAccess`]; the
//! ECAM implementation lives here, the code that maps ECAM lives in `kernel`.
//! With the `sim` feature, [`sim`] offers a simulated bus for host tests.
//!
//! Device data is untrusted: nothing a function answers makes this crate
//! panic. Malformed data is skipped and reported as an [`Anomaly`].
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;

mod access;
mod address;
pub mod register;
mod select;

pub use access::{CONFIG_SPACE_SIZE, ConfigAccess, Width};
pub use address::Address;
pub use select::{
    DeviceList, Field, ListError, ListErrorKind, ParseError, ParseErrorKind, Selector,
    parse_device_list,
};
