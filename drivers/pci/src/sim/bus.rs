// SPDX-License-Identifier: MIT OR Apache-2.0
//! The simulated bus: functions by address behind [`ConfigAccess`], reads counted and writes recorded.
//!
//! A read of a function that does not exist, or out of the access contract,
//! returns all ones; every write is recorded, dropped or not, so a test can
//! check what a driver did and in which order.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use spin::Mutex;

use super::device::SimDevice;
use super::space::{ConfigSpace, Plane};
use crate::Address;
use crate::access::{ConfigAccess, Width};

/// One write issued through [`ConfigAccess`], as the simulated bus saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigWrite {
    /// The function written.
    pub address: Address,
    /// The register offset.
    pub offset: u16,
    /// The access width.
    pub width: Width,
    /// The value written (zero-extended).
    pub value: u32,
}

#[derive(Debug, Default)]
struct State {
    functions: BTreeMap<Address, ConfigSpace>,
    writes: Vec<ConfigWrite>,
    reads: usize,
}

/// A simulated PCI bus (any number of segments and buses), shareable
/// between threads.
#[derive(Debug, Default)]
pub struct SimBus {
    state: Mutex<State>,
}

impl SimBus {
    /// A bus with no functions: every read returns all ones.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the function `device` at `address` (builder form of [`SimBus::insert`]).
    pub fn device(self, address: Address, device: SimDevice) -> Self {
        self.insert(address, device);
        self
    }

    /// Adds or replaces the function at `address` (hot-plug).
    pub fn insert(&self, address: Address, device: SimDevice) {
        self.state.lock().functions.insert(address, device.space);
    }

    /// Removes the function at `address` (surprise removal); returns whether
    /// there was one.
    pub fn remove(&self, address: Address) -> bool {
        self.state.lock().functions.remove(&address).is_some()
    }

    /// Every write issued so far, oldest first, including writes that were
    /// dropped (absent function, bad offset).
    pub fn writes(&self) -> Vec<ConfigWrite> {
        self.state.lock().writes.clone()
    }

    /// Forgets the writes recorded so far.
    pub fn clear_writes(&self) {
        self.state.lock().writes.clear();
    }

    /// How many reads were issued so far.
    pub fn reads(&self) -> usize {
        self.state.lock().reads
    }

    /// Reads a register without counting the read, as a test's own check;
    /// `None` for an absent function or an access out of contract.
    pub fn peek(&self, address: Address, offset: u16, width: Width) -> Option<u32> {
        self.state
            .lock()
            .functions
            .get(&address)?
            .read(offset, width)
    }

    /// Sets a register as the device itself would (ignoring read-only and
    /// write-1-to-clear bits), without recording a write: e.g. raising an
    /// error bit in the status register. Returns false for an absent
    /// function or an access out of contract.
    pub fn poke(&self, address: Address, offset: u16, width: Width, value: u32) -> bool {
        self.state
            .lock()
            .functions
            .get_mut(&address)
            .is_some_and(|space| space.set(Plane::Value, offset, width, value))
    }

    fn read(&self, address: Address, offset: u16, width: Width) -> u32 {
        let mut state = self.state.lock();
        state.reads = state.reads.saturating_add(1);
        state
            .functions
            .get(&address)
            .and_then(|space| space.read(offset, width))
            .unwrap_or(width.mask())
    }

    fn write(&self, address: Address, offset: u16, width: Width, value: u32) {
        let mut state = self.state.lock();
        state.writes.push(ConfigWrite {
            address,
            offset,
            width,
            value,
        });
        if let Some(space) = state.functions.get_mut(&address) {
            space.write(offset, width, value);
        }
    }
}

impl ConfigAccess for SimBus {
    fn read8(&self, address: Address, offset: u16) -> u8 {
        u8::try_from(self.read(address, offset, Width::Byte)).unwrap_or(u8::MAX)
    }

    fn read16(&self, address: Address, offset: u16) -> u16 {
        u16::try_from(self.read(address, offset, Width::Word)).unwrap_or(u16::MAX)
    }

    fn read32(&self, address: Address, offset: u16) -> u32 {
        self.read(address, offset, Width::Dword)
    }

    fn write8(&self, address: Address, offset: u16, value: u8) {
        self.write(address, offset, Width::Byte, value.into());
    }

    fn write16(&self, address: Address, offset: u16, value: u16) {
        self.write(address, offset, Width::Word, value.into());
    }

    fn write32(&self, address: Address, offset: u16, value: u32) {
        self.write(address, offset, Width::Dword, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register;

    fn address(bus: u8, device: u8, function: u8) -> Address {
        Address::new(0, bus, device, function).unwrap()
    }

    #[test]
    fn absent_functions_read_all_ones_and_ignore_writes() {
        let bus = SimBus::new();
        let nowhere = address(0, 1, 0);
        assert_eq!(bus.read32(nowhere, 0), u32::MAX);
        assert_eq!(bus.read16(nowhere, 0), u16::MAX);
        assert_eq!(bus.read8(nowhere, 0), u8::MAX);
        bus.write32(nowhere, 0x10, 0);
        assert_eq!(bus.writes().len(), 1);
        assert_eq!(bus.reads(), 3);
    }

    #[test]
    fn writes_are_logged_and_poke_bypasses_masks() {
        let function = address(0, 5, 0);
        let bus = SimBus::new().device(function, SimDevice::endpoint(1, 2, 0));
        bus.write16(function, register::COMMAND, 0x0006);
        assert_eq!(
            bus.writes(),
            [ConfigWrite {
                address: function,
                offset: register::COMMAND,
                width: Width::Word,
                value: 6
            }]
        );
        bus.clear_writes();
        assert!(bus.writes().is_empty());
        assert!(bus.poke(function, register::VENDOR_ID, Width::Word, 0xabcd));
        assert_eq!(
            bus.peek(function, register::VENDOR_ID, Width::Word),
            Some(0xabcd)
        );
        assert!(bus.remove(function));
        assert_eq!(bus.read16(function, register::VENDOR_ID), u16::MAX);
    }

    #[test]
    fn out_of_contract_accesses_read_all_ones() {
        let function = address(0, 5, 0);
        let bus = SimBus::new().device(function, SimDevice::endpoint(1, 2, 0));
        assert_eq!(bus.read32(function, 2), u32::MAX);
        assert_eq!(bus.read16(function, 0x1000), u16::MAX);
        bus.write32(function, 0xFFFF, 0);
        assert_eq!(bus.read16(function, 0), 1);
    }
}
