// SPDX-License-Identifier: MIT OR Apache-2.0
//! The physical registers of one function: [`pci::ConfigAccess`] bound to an address.
//!
//! Every register access of the backend goes through it; nothing here
//! interprets what it reads.

use pci::{Address, ConfigAccess, Width};

/// One function's physical configuration space.
pub(crate) struct Hardware<'a, A: ?Sized> {
    access: &'a A,
    address: Address,
}

impl<'a, A: ConfigAccess + ?Sized> Hardware<'a, A> {
    /// The function at `address` behind `access`.
    pub(crate) fn new(access: &'a A, address: Address) -> Self {
        Self { access, address }
    }

    /// The same access bound to another function (a parent bridge).
    pub(crate) fn other(&self, address: Address) -> Hardware<'a, A> {
        Hardware::new(self.access, address)
    }

    /// The access behind it.
    pub(crate) fn access(&self) -> &'a A {
        self.access
    }

    /// The function's address.
    pub(crate) fn address(&self) -> Address {
        self.address
    }

    /// Reads the register of `width` at `offset`, zero-extended.
    pub(crate) fn read(&self, width: Width, offset: u16) -> u32 {
        match width {
            Width::Byte => self.read8(offset).into(),
            Width::Word => self.read16(offset).into(),
            Width::Dword => self.read32(offset),
        }
    }

    /// Writes the low `width` bytes of `value` to the register at `offset`.
    pub(crate) fn write(&self, width: Width, offset: u16, value: u32) {
        let [byte0, byte1, ..] = value.to_le_bytes();
        match width {
            Width::Byte => self.write8(offset, byte0),
            Width::Word => self.write16(offset, u16::from_le_bytes([byte0, byte1])),
            Width::Dword => self.write32(offset, value),
        }
    }

    /// Reads the byte at `offset`.
    pub(crate) fn read8(&self, offset: u16) -> u8 {
        self.access.read8(self.address, offset)
    }

    /// Reads the word at `offset`.
    pub(crate) fn read16(&self, offset: u16) -> u16 {
        self.access.read16(self.address, offset)
    }

    /// Reads the dword at `offset`.
    pub(crate) fn read32(&self, offset: u16) -> u32 {
        self.access.read32(self.address, offset)
    }

    /// Writes the byte at `offset`.
    pub(crate) fn write8(&self, offset: u16, value: u8) {
        self.access.write8(self.address, offset, value);
    }

    /// Writes the word at `offset`.
    pub(crate) fn write16(&self, offset: u16, value: u16) {
        self.access.write16(self.address, offset, value);
    }

    /// Writes the dword at `offset`.
    pub(crate) fn write32(&self, offset: u16, value: u32) {
        self.access.write32(self.address, offset, value);
    }
}

/// The register `register` bytes into the structure at `base` (a capability).
/// Offsets come from validated capability pointers; an impossible sum
/// saturates to an offset the access contract turns into all ones.
pub(crate) fn at(base: u16, register: u16) -> u16 {
    base.saturating_add(register)
}
