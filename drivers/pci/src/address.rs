// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI function addresses (segment:bus:device.function).
//!
//! Parsing and printing of the forms Linux uses arrive with enumeration.

/// The address of one PCI function: segment (domain), bus, device, function.
///
/// Device is always below 32 and function below 8: the constructor checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    segment: u16,
    bus: u8,
    device: u8,
    function: u8,
}

impl Address {
    /// The address `segment:bus:device.function`, or `None` when device ≥ 32
    /// or function ≥ 8.
    pub const fn new(segment: u16, bus: u8, device: u8, function: u8) -> Option<Self> {
        if device < 32 && function < 8 {
            Some(Self { segment, bus, device, function })
        } else {
            None
        }
    }

    /// The PCI segment (Linux calls it the domain).
    pub const fn segment(self) -> u16 {
        self.segment
    }

    /// The bus number.
    pub const fn bus(self) -> u8 {
        self.bus
    }

    /// The device (slot) number, below 32.
    pub const fn device(self) -> u8 {
        self.device
    }

    /// The function number, below 8.
    pub const fn function(self) -> u8 {
        self.function
    }

    /// Device and function packed as in `xen_pci_op.devfn` and Linux's `devfn`.
    pub const fn devfn(self) -> u8 {
        (self.device << 3) | self.function
    }
}
