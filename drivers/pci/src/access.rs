// SPDX-License-Identifier: MIT OR Apache-2.0
//! The configuration-space access seam.
//!
//! Methods are safe: whatever unsafety an implementation needs (mapping ECAM,
//! port I/O) is paid once, in its constructor.

use crate::Address;

/// Size of one function's configuration space (PCIe extended space included).
pub const CONFIG_SPACE_SIZE: u16 = 4096;

/// Reads and writes one function's configuration space.
///
/// `offset` is a byte offset below [`CONFIG_SPACE_SIZE`], naturally aligned
/// for the access size. An access outside that contract, or to a function
/// that does not exist, never panics: reads return all ones and writes are
/// dropped, as a master abort does on real hardware.
pub trait ConfigAccess {
    /// Reads the byte at `offset`.
    fn read8(&self, address: Address, offset: u16) -> u8;
    /// Reads the 16-bit word at `offset`.
    fn read16(&self, address: Address, offset: u16) -> u16;
    /// Reads the 32-bit dword at `offset`.
    fn read32(&self, address: Address, offset: u16) -> u32;
    /// Writes the byte at `offset`.
    fn write8(&self, address: Address, offset: u16, value: u8);
    /// Writes the 16-bit word at `offset`.
    fn write16(&self, address: Address, offset: u16, value: u16);
    /// Writes the 32-bit dword at `offset`.
    fn write32(&self, address: Address, offset: u16, value: u32);
}

impl<T: ConfigAccess + ?Sized> ConfigAccess for &T {
    fn read8(&self, address: Address, offset: u16) -> u8 {
        (**self).read8(address, offset)
    }

    fn read16(&self, address: Address, offset: u16) -> u16 {
        (**self).read16(address, offset)
    }

    fn read32(&self, address: Address, offset: u16) -> u32 {
        (**self).read32(address, offset)
    }

    fn write8(&self, address: Address, offset: u16, value: u8) {
        (**self).write8(address, offset, value);
    }

    fn write16(&self, address: Address, offset: u16, value: u16) {
        (**self).write16(address, offset, value);
    }

    fn write32(&self, address: Address, offset: u16, value: u32) {
        (**self).write32(address, offset, value);
    }
}

/// The width of one configuration access: 1, 2 or 4 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 8 bits.
    Byte,
    /// 16 bits.
    Word,
    /// 32 bits.
    Dword,
}

impl Width {
    /// The width of an access of `bytes` bytes, or `None` unless 1, 2 or 4.
    pub const fn from_bytes(bytes: u32) -> Option<Self> {
        match bytes {
            1 => Some(Self::Byte),
            2 => Some(Self::Word),
            4 => Some(Self::Dword),
            _ => None,
        }
    }

    /// The number of bytes moved.
    pub const fn bytes(self) -> u16 {
        match self {
            Self::Byte => 1,
            Self::Word => 2,
            Self::Dword => 4,
        }
    }

    /// The value bits an access of this width carries.
    pub const fn mask(self) -> u32 {
        match self {
            Self::Byte => 0xFF,
            Self::Word => 0xFFFF,
            Self::Dword => 0xFFFF_FFFF,
        }
    }

    /// Whether an access of this width at `offset` keeps the [`ConfigAccess`]
    /// contract: inside configuration space and naturally aligned.
    pub const fn fits(self, offset: u16) -> bool {
        // Aligned: the offset has at least as many low zero bits as the
        // width, a power of two.
        offset < CONFIG_SPACE_SIZE && offset.trailing_zeros() >= self.bytes().trailing_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aligned_accesses_inside_config_space_fit() {
        assert!(Width::Dword.fits(0xFFC));
        assert!(!Width::Dword.fits(0xFFE));
        assert!(!Width::Dword.fits(0x1000));
        assert!(Width::Word.fits(0xFFE));
        assert!(!Width::Word.fits(0x3));
        assert!(Width::Byte.fits(0xFFF));
        assert!(!Width::Byte.fits(CONFIG_SPACE_SIZE));
    }

    #[test]
    fn widths_come_from_byte_counts() {
        assert_eq!(Width::from_bytes(1), Some(Width::Byte));
        assert_eq!(Width::from_bytes(2), Some(Width::Word));
        assert_eq!(Width::from_bytes(4), Some(Width::Dword));
        assert_eq!(Width::from_bytes(3), None);
        assert_eq!(Width::Word.mask(), 0xFFFF);
    }
}
