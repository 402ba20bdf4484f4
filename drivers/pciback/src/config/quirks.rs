// SPDX-License-Identifier: MIT OR Apache-2.0
//! Device quirks as data: registers of some devices the guest may use directly.
//!
//! Linux's pciback takes quirks at run time (its `quirks` sysfs file,
//! `DDDD:BB:DD.F-REG:SIZE:MASK`): each adds a field whose reads and writes
//! go straight to the hardware, unless a field already sits at that offset.
//! Here a quirk names devices by ID, the match Linux's quirk records use
//! (vendor, device, subsystem vendor, subsystem device; `None` matches any,
//! like `PCI_ANY_ID`), and applies to every matching device when it is taken.
//!
//! Where this differs from Linux, on purpose:
//! - Linux stores the mask without using it; here only the mask's bits are
//!   written (a full mask behaves exactly as Linux).
//! - Linux drops quirk fields when a guest releases the device; here they
//!   stay for the device's lifetime, so every guest gets them.
//! - A quirk must be naturally aligned and inside 4 KiB, with a mask that
//!   fits its width; Linux accepts any register up to 0xFFF, whose
//!   misaligned accesses its PCI core then fails.

use core::fmt;

use pci::Width;

use super::field::{Kind, Spec};
use crate::state::Identity;

/// A register of matching devices that the guest reads and writes directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quirk {
    /// Vendor ID to match, or any.
    pub vendor: Option<u16>,
    /// Device ID to match, or any.
    pub device: Option<u16>,
    /// Subsystem vendor ID to match, or any.
    pub subsystem_vendor: Option<u16>,
    /// Subsystem ID to match, or any.
    pub subsystem_device: Option<u16>,
    /// The register's offset in configuration space.
    pub offset: u16,
    /// The register's width.
    pub width: Width,
    /// The bits a guest write changes.
    pub mask: u32,
}

impl Quirk {
    /// Whether the device with IDs `identity` gets this quirk.
    pub(crate) fn matches(&self, identity: &Identity) -> bool {
        let matches = |wanted: Option<u16>, actual: u16| wanted.is_none_or(|id| id == actual);
        matches(self.vendor, identity.vendor)
            && matches(self.device, identity.device)
            && matches(self.subsystem_vendor, identity.subsystem_vendor)
            && matches(self.subsystem_device, identity.subsystem_device)
    }

    /// The field to add, or `None` when the register is misaligned, outside
    /// configuration space, or the mask is wider than it.
    pub(crate) fn spec(&self) -> Option<Spec> {
        (self.width.fits(self.offset) && self.mask & !self.width.mask() == 0).then_some(Spec::new(
            self.offset,
            self.width,
            Kind::Quirk { mask: self.mask },
        ))
    }
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "quirk at {:#x} ({} bytes, mask {:#x}) for ",
            self.offset,
            self.width.bytes(),
            self.mask
        )?;
        for (index, id) in [
            self.vendor,
            self.device,
            self.subsystem_vendor,
            self.subsystem_device,
        ]
        .into_iter()
        .enumerate()
        {
            if index != 0 {
                f.write_str(":")?;
            }
            match id {
                Some(id) => write!(f, "{id:04x}")?,
                None => f.write_str("*")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quirk(offset: u16, width: Width, mask: u32) -> Quirk {
        Quirk {
            vendor: Some(0x8086),
            device: None,
            subsystem_vendor: None,
            subsystem_device: Some(0x1234),
            offset,
            width,
            mask,
        }
    }

    #[test]
    fn matches_by_id_with_wildcards() {
        let identity = Identity {
            vendor: 0x8086,
            device: 0x10d3,
            subsystem_vendor: 0x1af4,
            subsystem_device: 0x1234,
        };
        assert!(quirk(0x40, Width::Dword, u32::MAX).matches(&identity));
        let other = Identity {
            subsystem_device: 0x1235,
            ..identity
        };
        assert!(!quirk(0x40, Width::Dword, u32::MAX).matches(&other));
    }

    #[test]
    fn only_aligned_quirks_inside_4k_with_fitting_masks_apply() {
        assert!(quirk(0x40, Width::Dword, u32::MAX).spec().is_some());
        assert!(quirk(0xFFE, Width::Word, 0xFFFF).spec().is_some());
        assert!(quirk(0x41, Width::Word, 0xFFFF).spec().is_none());
        assert!(quirk(0x1000, Width::Byte, 0xFF).spec().is_none());
        assert!(quirk(0x40, Width::Byte, 0x1FF).spec().is_none());
    }

    #[test]
    fn prints_ids_with_wildcards() {
        assert_eq!(
            quirk(0x40, Width::Word, 0xFF).to_string(),
            "quirk at 0x40 (2 bytes, mask 0xff) for 8086:*:*:1234"
        );
    }
}
