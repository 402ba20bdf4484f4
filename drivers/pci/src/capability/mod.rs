// SPDX-License-Identifier: MIT OR Apache-2.0
//! Capability lists: walking them safely and decoding the ones the backend needs.
//!
//! The standard list starts at the pointer at 0x34 (when the status register
//! says there is one) and links 8-bit pointers, masked with 0xFC, that must
//! point at or above 0x40. The PCIe extended list starts at 0x100 and links
//! 12-bit pointers that must point at or above 0x100. Both walks stop at the
//! first pointer out of range, at the first capability seen twice, and at a
//! header that reads all ones (the function went away), and report why.
//!
//! One job a file: `id` names the capabilities, `walk` follows the lists,
//! `decode` reads the registers of the ones the backend needs into the forms
//! of `power_management`, `msi` and `pci_express`, and `error` is what both
//! the walk and the decoder report.

mod decode;
mod error;
#[cfg(test)]
mod fixture;
mod id;
mod msi;
mod pci_express;
mod power_management;
mod walk;

pub use decode::{Capability, CapabilityKind, CapabilitySet, decode};
pub use error::{CapabilityError, List};
pub use id::{CapabilityId, ExtendedCapabilityId};
pub use msi::{BarRegion, Msi, MsiX};
pub use pci_express::{Link, LinkSpeed, PciExpress, PortType};
pub use power_management::{PowerManagement, PowerState};
pub use walk::{
    Capabilities, ExtendedCapabilities, ExtendedCapability, RawCapability, capabilities,
    extended_capabilities, find_capability, find_extended_capability,
};
