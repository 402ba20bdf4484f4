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
