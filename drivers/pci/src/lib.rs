// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI and PCIe configuration space: addresses, access, enumeration, capabilities.
//!
//! This crate knows nothing of Xen. Hardware sits behind [`ConfigAccess`]; the
//! ECAM implementation lives here, the code that maps ECAM lives in `kernel`.
//! With the `sim` feature, the `sim` module offers a simulated bus for host tests.
//!
//! Device data is untrusted: nothing a function answers makes this crate
//! panic. Malformed data is skipped and reported as an [`Anomaly`].
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
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
mod anomaly;
mod bar;
mod bitset;
pub mod capability;
mod class;
#[allow(
    unsafe_code,
    reason = "volatile MMIO to ECAM: the only unsafe code of the crate"
)]
mod ecam;
mod enumerate;
pub mod register;
pub mod report;
mod select;
#[cfg(any(test, feature = "sim"))]
pub mod sim;

pub use access::{CONFIG_SPACE_SIZE, ConfigAccess, Width};
pub use address::Address;
pub use anomaly::{Anomaly, BridgeError};
pub use bar::{Bar, BarError, BarKind, BarLayout, BarSet, Rom};
pub use class::ClassCode;
pub use ecam::{BUS_WINDOW_SIZE, Ecam};
pub use enumerate::{BridgeInfo, Function, HeaderLayout, Subsystem, Topology, Window, enumerate};
pub use select::{
    DeviceList, Field, ListError, ListErrorKind, ParseError, ParseErrorKind, Selector,
    parse_device_list,
};
