// SPDX-License-Identifier: MIT OR Apache-2.0
//! Class codes and their names, as lspci prints them.
//!
//! Names follow the PCI Code and ID Assignment specification and the
//! spelling of the `pci.ids` database.

use core::fmt;

/// A function's class code: base class, sub-class and programming interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClassCode {
    /// Base class (offset 0x0B).
    pub base: u8,
    /// Sub-class (offset 0x0A).
    pub sub: u8,
    /// Programming interface (offset 0x09).
    pub prog_if: u8,
}

/// Base class 0x06: bridges.
const BRIDGE: u8 = 0x06;
/// Bridge sub-class 0x00: host bridge.
const HOST_BRIDGE: u8 = 0x00;

/// Names of (base class, sub-class) pairs.
const SUBCLASS_NAMES: &[(u8, u8, &str)] = &[
    (0x00, 0x00, "Non-VGA unclassified device"),
    (0x00, 0x01, "VGA compatible unclassified device"),
    (0x01, 0x00, "SCSI storage controller"),
    (0x01, 0x01, "IDE interface"),
    (0x01, 0x02, "Floppy disk controller"),
    (0x01, 0x04, "RAID bus controller"),
    (0x01, 0x05, "ATA controller"),
    (0x01, 0x06, "SATA controller"),
    (0x01, 0x07, "Serial Attached SCSI controller"),
    (0x01, 0x08, "Non-Volatile memory controller"),
    (0x02, 0x00, "Ethernet controller"),
    (0x02, 0x80, "Network controller"),
    (0x03, 0x00, "VGA compatible controller"),
    (0x03, 0x01, "XGA compatible controller"),
    (0x03, 0x02, "3D controller"),
    (0x04, 0x00, "Multimedia video controller"),
    (0x04, 0x01, "Multimedia audio controller"),
    (0x04, 0x03, "Audio device"),
    (0x05, 0x00, "RAM memory"),
    (0x05, 0x01, "FLASH memory"),
    (BRIDGE, HOST_BRIDGE, "Host bridge"),
    (BRIDGE, 0x01, "ISA bridge"),
    (BRIDGE, 0x02, "EISA bridge"),
    (BRIDGE, 0x04, "PCI bridge"),
    (BRIDGE, 0x07, "CardBus bridge"),
    (BRIDGE, 0x09, "Semi-transparent PCI-to-PCI bridge"),
    (0x07, 0x00, "Serial controller"),
    (0x07, 0x01, "Parallel controller"),
    (0x07, 0x02, "Multiport serial controller"),
    (0x07, 0x03, "Modem"),
    (0x08, 0x00, "PIC"),
    (0x08, 0x01, "DMA controller"),
    (0x08, 0x02, "Timer"),
    (0x08, 0x03, "RTC"),
    (0x08, 0x05, "SD Host controller"),
    (0x08, 0x06, "IOMMU"),
    (0x0C, 0x00, "FireWire (IEEE 1394)"),
    (0x0C, 0x03, "USB controller"),
    (0x0C, 0x05, "SMBus"),
    (0x0C, 0x07, "IPMI Interface"),
    (0x0D, 0x11, "Bluetooth"),
    (0x0D, 0x80, "Wireless controller"),
];

/// Names of base classes, for sub-classes not listed above.
const BASE_CLASS_NAMES: &[(u8, &str)] = &[
    (0x00, "Unclassified device"),
    (0x01, "Mass storage controller"),
    (0x02, "Network controller"),
    (0x03, "Display controller"),
    (0x04, "Multimedia controller"),
    (0x05, "Memory controller"),
    (BRIDGE, "Bridge"),
    (0x07, "Communication controller"),
    (0x08, "Generic system peripheral"),
    (0x09, "Input device controller"),
    (0x0A, "Docking station"),
    (0x0B, "Processor"),
    (0x0C, "Serial bus controller"),
    (0x0D, "Wireless controller"),
    (0x0E, "Intelligent controller"),
    (0x0F, "Satellite communications controller"),
    (0x10, "Encryption controller"),
    (0x11, "Signal processing controller"),
    (0x12, "Processing accelerators"),
    (0x13, "Non-Essential Instrumentation"),
    (0x40, "Coprocessor"),
    (0xFF, "Unassigned class"),
];

impl ClassCode {
    /// The class code from the dword at offset 0x08 (revision ID in bits 7:0).
    pub const fn from_register(value: u32) -> Self {
        let [_, prog_if, sub, base] = value.to_le_bytes();
        Self { base, sub, prog_if }
    }

    /// The 24-bit code `0xBBSSPP`.
    pub const fn raw(self) -> u32 {
        u32::from_be_bytes([0, self.base, self.sub, self.prog_if])
    }

    /// Whether this is a host bridge (class 0x0600).
    pub const fn is_host_bridge(self) -> bool {
        self.base == BRIDGE && self.sub == HOST_BRIDGE
    }

    /// The lspci name of the class: the sub-class's if known, else the base
    /// class's, else "Unknown class".
    pub fn name(self) -> &'static str {
        SUBCLASS_NAMES
            .iter()
            .find(|(base, sub, _)| (*base, *sub) == (self.base, self.sub))
            .map(|(_, _, name)| *name)
            .or_else(|| {
                BASE_CLASS_NAMES
                    .iter()
                    .find(|(base, _)| *base == self.base)
                    .map(|(_, name)| *name)
            })
            .unwrap_or("Unknown class")
    }
}

impl fmt::Display for ClassCode {
    /// `BBSS`, as lspci -n prints the class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}{:02x}", self.base, self.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_class_register() {
        // QEMU's e1000e: class 0x020000, revision 0.
        let class = ClassCode::from_register(0x0200_0000);
        assert_eq!(
            class,
            ClassCode {
                base: 0x02,
                sub: 0x00,
                prog_if: 0x00
            }
        );
        // NVMe: class 0x010802.
        assert_eq!(ClassCode::from_register(0x0108_0201).raw(), 0x01_08_02);
        assert_eq!(ClassCode::from_register(0x0108_0201).to_string(), "0108");
    }

    #[test]
    fn names_follow_pci_ids() {
        let name = |base, sub| {
            ClassCode {
                base,
                sub,
                prog_if: 0,
            }
            .name()
        };
        assert_eq!(name(0x02, 0x00), "Ethernet controller");
        assert_eq!(name(0x01, 0x08), "Non-Volatile memory controller");
        assert_eq!(name(0x06, 0x00), "Host bridge");
        assert_eq!(name(0x06, 0x01), "ISA bridge");
        assert_eq!(name(0x06, 0x04), "PCI bridge");
        assert_eq!(name(0x01, 0x06), "SATA controller");
        assert_eq!(name(0x0C, 0x05), "SMBus");
        assert_eq!(name(0x03, 0x00), "VGA compatible controller");
        assert_eq!(name(0x00, 0xFF), "Unclassified device");
        assert_eq!(name(0x02, 0x42), "Network controller");
        assert_eq!(name(0x77, 0x00), "Unknown class");
    }

    #[test]
    fn only_0600_is_a_host_bridge() {
        assert!(ClassCode::from_register(0x0600_0000).is_host_bridge());
        assert!(!ClassCode::from_register(0x0604_0000).is_host_bridge());
    }
}
