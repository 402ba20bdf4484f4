// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI function addresses (segment:bus:device.function).
//!
//! They print as Linux prints them, `0000:03:00.0`, and parse from that form
//! or from the short `03:00.0` (segment 0); all fields are hexadecimal. The
//! parser is the selectors' (`select`): one grammar for both, so an address
//! is exactly a selector without wildcards.

use core::fmt;

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
    /// The highest device (slot) number on a bus.
    pub const MAX_DEVICE: u8 = 0x1F;
    /// The highest function number of a device.
    pub const MAX_FUNCTION: u8 = 7;

    /// The address `segment:bus:device.function`, or `None` when device ≥ 32
    /// or function ≥ 8.
    pub const fn new(segment: u16, bus: u8, device: u8, function: u8) -> Option<Self> {
        if device <= Self::MAX_DEVICE && function <= Self::MAX_FUNCTION {
            Some(Self {
                segment,
                bus,
                device,
                function,
            })
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

    /// The address of function `function` of the same device, or `None` when
    /// `function` ≥ 8.
    pub const fn with_function(self, function: u8) -> Option<Self> {
        Self::new(self.segment, self.bus, self.device, function)
    }
}

impl fmt::Display for Address {
    /// `ssss:bb:dd.f`, lowercase hexadecimal, as Linux's `pci_name()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.segment, self.bus, self.device, self.function
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(segment: u16, bus: u8, device: u8, function: u8) -> Address {
        Address::new(segment, bus, device, function).unwrap()
    }

    #[test]
    fn new_rejects_device_32_and_function_8() {
        assert!(Address::new(0, 0, 31, 7).is_some());
        assert!(Address::new(0, 0, 32, 0).is_none());
        assert!(Address::new(0, 0, 0, 8).is_none());
    }

    #[test]
    fn devfn_packs_device_above_function() {
        assert_eq!(address(0, 0, 0x1f, 7).devfn(), 0xff);
        assert_eq!(address(0, 0, 2, 1).devfn(), 0x11);
    }

    #[test]
    fn prints_as_linux_pci_name() {
        assert_eq!(address(0, 3, 0, 0).to_string(), "0000:03:00.0");
        assert_eq!(address(0xabcd, 0xfe, 0x1f, 7).to_string(), "abcd:fe:1f.7");
    }
}
