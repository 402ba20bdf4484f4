// SPDX-License-Identifier: MIT OR Apache-2.0
//! One simulated function's configuration space and what a write does to it.
//!
//! Every byte carries three planes: its value, the bits a write replaces
//! (read-write), and the bits a write of 1 clears (write-1-to-clear, as the
//! status registers' error bits). A bit in neither mask is read-only. The
//! builder (`device`, `capabilities`) sets the planes; software only reaches
//! them through [`ConfigSpace::write`].

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::access::{CONFIG_SPACE_SIZE, Width};
use crate::register;

/// One byte of configuration space and how writes treat its bits.
#[derive(Clone, Copy, Debug, Default)]
struct Byte {
    value: u8,
    /// Bits a write replaces.
    writable: u8,
    /// Bits a write of 1 clears.
    write_one_to_clear: u8,
}

/// Which part of a byte the builder sets.
#[derive(Clone, Copy)]
pub(super) enum Plane {
    /// What a read returns.
    Value,
    /// The bits a write replaces.
    Writable,
    /// The bits a write of 1 clears.
    WriteOneToClear,
}

impl Byte {
    fn plane_mut(&mut self, plane: Plane) -> &mut u8 {
        match plane {
            Plane::Value => &mut self.value,
            Plane::Writable => &mut self.writable,
            Plane::WriteOneToClear => &mut self.write_one_to_clear,
        }
    }
}

/// One function's configuration space.
#[derive(Clone)]
pub(super) struct ConfigSpace {
    bytes: Vec<Byte>,
}

impl ConfigSpace {
    /// 4 KiB of zeros, every bit read-only.
    pub(super) fn new() -> Self {
        Self {
            bytes: vec![Byte::default(); usize::from(CONFIG_SPACE_SIZE)],
        }
    }

    /// The bytes an access of `width` at `offset` touches, if it keeps the contract.
    fn range(offset: u16, width: Width) -> Option<Range<usize>> {
        let start = usize::from(offset);
        width
            .fits(offset)
            .then(|| start..start.saturating_add(usize::from(width.bytes())))
    }

    /// The register of `width` at `offset`; `None` when the access breaks the contract.
    pub(super) fn read(&self, offset: u16, width: Width) -> Option<u32> {
        let bytes = self.bytes.get(Self::range(offset, width)?)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0, |value, byte| (value << 8) | u32::from(byte.value)),
        )
    }

    /// A write by software: writable bits take the new value, write-1-to-clear
    /// bits written as 1 clear, the rest keep their value.
    pub(super) fn write(&mut self, offset: u16, width: Width, value: u32) -> bool {
        let Some(bytes) = Self::range(offset, width).and_then(|range| self.bytes.get_mut(range))
        else {
            return false;
        };
        for (byte, new) in bytes.iter_mut().zip(value.to_le_bytes()) {
            let kept = byte.value & !byte.writable;
            byte.value = (kept | (new & byte.writable)) & !(new & byte.write_one_to_clear);
        }
        true
    }

    /// Sets one plane of the bytes at `offset`, ignoring masks: the device's
    /// own view. Returns false when the access breaks the contract.
    pub(super) fn set(&mut self, plane: Plane, offset: u16, width: Width, value: u32) -> bool {
        let Some(bytes) = Self::range(offset, width).and_then(|range| self.bytes.get_mut(range))
        else {
            return false;
        };
        for (byte, new) in bytes.iter_mut().zip(value.to_le_bytes()) {
            *byte.plane_mut(plane) = new;
        }
        true
    }

    /// Sets one plane of the bytes from offset 0 on to `bytes`, ignoring
    /// masks; bytes past the end of configuration space are dropped.
    pub(super) fn load(&mut self, plane: Plane, bytes: &[u8]) {
        for (byte, new) in self.bytes.iter_mut().zip(bytes) {
            *byte.plane_mut(plane) = *new;
        }
    }
}

impl fmt::Debug for ConfigSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self
            .read(register::VENDOR_ID, Width::Dword)
            .unwrap_or(u32::MAX);
        let header_type = self
            .read(register::HEADER_TYPE, Width::Byte)
            .unwrap_or(u32::MAX);
        write!(
            f,
            "ConfigSpace {{ id: {:04x}:{:04x}, header_type: {header_type:#x} }}",
            id & 0xFFFF,
            id >> 16
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A space whose dword at 0x04 has `writable` and `write_one_to_clear`
    /// bits and reads `value`.
    fn register(value: u32, writable: u32, write_one_to_clear: u32) -> ConfigSpace {
        let mut space = ConfigSpace::new();
        assert!(space.set(Plane::Value, 0x04, Width::Dword, value));
        assert!(space.set(Plane::Writable, 0x04, Width::Dword, writable));
        assert!(space.set(
            Plane::WriteOneToClear,
            0x04,
            Width::Dword,
            write_one_to_clear
        ));
        space
    }

    #[test]
    fn a_write_changes_writable_bits_and_clears_written_ones() {
        let mut space = register(0xF0F0_00FF, 0x0000_FFFF, 0xF000_0000);
        assert!(space.write(0x04, Width::Dword, 0x1000_1234));
        // Writable bits take the value, the written 1 clears bit 28, the rest stay.
        assert_eq!(space.read(0x04, Width::Dword), Some(0xE0F0_1234));
        // A byte write reaches only its byte.
        assert!(space.write(0x05, Width::Byte, 0xAB));
        assert_eq!(space.read(0x04, Width::Dword), Some(0xE0F0_AB34));
    }

    #[test]
    fn accesses_out_of_contract_touch_nothing() {
        let mut space = register(0x1234_5678, u32::MAX, 0);
        assert_eq!(space.read(0x06, Width::Word), Some(0x1234));
        assert_eq!(space.read(0x05, Width::Word), None);
        assert_eq!(space.read(0x06, Width::Dword), None);
        assert_eq!(space.read(CONFIG_SPACE_SIZE, Width::Byte), None);
        assert!(!space.write(0x05, Width::Dword, 0));
        assert!(!space.set(Plane::Value, 0x0FFF, Width::Word, 0));
        assert_eq!(space.read(0x04, Width::Dword), Some(0x1234_5678));
    }

    #[test]
    fn load_sets_a_plane_from_offset_zero() {
        let mut space = ConfigSpace::new();
        space.load(Plane::Value, &[0x86, 0x80, 0xd3, 0x10]);
        space.load(Plane::Writable, &[0xFF, 0x0F]);
        assert_eq!(space.read(0, Width::Dword), Some(0x10d3_8086));
        assert!(space.write(0, Width::Dword, 0));
        assert_eq!(space.read(0, Width::Dword), Some(0x10d3_8000));
    }
}
