// SPDX-License-Identifier: MIT OR Apache-2.0
//! The MSI and MSI-X capabilities, decoded: how many vectors, where the MSI-X table lives.
//!
//! Registers and bits are in [`crate::register::msi`] and [`crate::register::msix`].

use crate::register::{msi, msix};

/// The MSI capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Msi {
    /// MSI enabled.
    pub enabled: bool,
    /// Multiple message capable: log2 of the vectors the function asks for.
    pub multiple_message_capable: u8,
    /// Takes a 64-bit message address.
    pub is_64bit: bool,
    /// Has per-vector mask and pending bits.
    pub per_vector_masking: bool,
}

impl Msi {
    /// Vectors the function can use: 1 to 32 (a reserved field counts as 32).
    pub fn max_vectors(&self) -> u8 {
        1_u8.wrapping_shl(u32::from(
            self.multiple_message_capable.min(msi::MAX_MULTIPLE_CAPABLE),
        ))
    }

    /// Bytes of configuration space the capability occupies.
    pub fn length(&self) -> u16 {
        match (self.is_64bit, self.per_vector_masking) {
            (false, false) => msi::LENGTH_32,
            (true, false) => msi::LENGTH_64,
            (false, true) => msi::LENGTH_32_MASKABLE,
            (true, true) => msi::LENGTH_64_MASKABLE,
        }
    }
}

/// Where an MSI-X structure lives: a BAR and an offset into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarRegion {
    /// BAR indicator: the BAR index, 0-5.
    pub bir: u8,
    /// Offset into that BAR, 8-byte aligned.
    pub offset: u32,
}

impl BarRegion {
    /// The region a Table Offset/BIR or PBA Offset/BIR register names.
    pub(super) fn from_register(value: u32) -> Self {
        Self {
            bir: u8::try_from(value & msix::BIR_MASK).unwrap_or_default(),
            offset: value & msix::OFFSET_MASK,
        }
    }
}

/// The MSI-X capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsiX {
    /// MSI-X enabled.
    pub enabled: bool,
    /// All vectors masked.
    pub function_mask: bool,
    /// Number of table entries, 1-2048.
    pub table_size: u16,
    /// Where the vector table is.
    pub table: BarRegion,
    /// Where the pending bit array is.
    pub pba: BarRegion,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msi_vector_counts_and_lengths_follow_the_spec() {
        let msi = |multiple_message_capable, is_64bit, per_vector_masking| Msi {
            enabled: false,
            multiple_message_capable,
            is_64bit,
            per_vector_masking,
        };
        assert_eq!(msi(0, false, false).max_vectors(), 1);
        assert_eq!(msi(5, false, false).max_vectors(), 32);
        assert_eq!(msi(7, false, false).max_vectors(), 32);
        assert_eq!(msi(0, false, false).length(), 10);
        assert_eq!(msi(0, true, false).length(), 14);
        assert_eq!(msi(0, false, true).length(), 20);
        assert_eq!(msi(0, true, true).length(), 24);
    }
}
