// SPDX-License-Identifier: MIT OR Apache-2.0
//! The simulated bus: functions by address behind [`ConfigAccess`], reads counted and writes recorded.
//!
//! A read of a function that does not exist, or out of the access contract,
//! returns all ones; every write is recorded, dropped or not, so a test can
//! check what a driver did and in which order.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

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

/// One access issued through [`ConfigAccess`], as an observer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigAccessEvent {
    /// The function addressed (present or not).
    pub address: Address,
    /// The register offset.
    pub offset: u16,
    /// The access width.
    pub width: Width,
    /// The value written, or `None` for a read.
    pub written: Option<u32>,
}

/// What [`SimBus::observe`] calls at each access.
pub type Observer = Arc<dyn Fn(&ConfigAccessEvent) + Send + Sync>;

#[derive(Debug, Default)]
struct State {
    functions: BTreeMap<Address, ConfigSpace>,
    writes: Vec<ConfigWrite>,
    reads: usize,
}

/// A simulated PCI bus (any number of segments and buses), shareable
/// between threads.
#[derive(Default)]
pub struct SimBus {
    state: Mutex<State>,
    observer: Mutex<Option<Observer>>,
}

impl fmt::Debug for SimBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBus")
            .field("state", &self.state)
            .field("observed", &self.observer.lock().is_some())
            .finish()
    }
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

    /// Calls `observer` at every read and write issued from now on, before
    /// the access takes effect and with no lock held, so it may act as a
    /// second CPU would in the middle of a driver's work (a guest
    /// rewriting its shared page while an op is served); `None` stops it.
    pub fn observe(&self, observer: Option<Observer>) {
        *self.observer.lock() = observer;
    }

    fn notify(&self, event: ConfigAccessEvent) {
        let observer = self.observer.lock().clone();
        if let Some(observer) = observer {
            observer(&event);
        }
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
        self.notify(ConfigAccessEvent {
            address,
            offset,
            width,
            written: None,
        });
        let mut state = self.state.lock();
        state.reads = state.reads.saturating_add(1);
        state
            .functions
            .get(&address)
            .and_then(|space| space.read(offset, width))
            .unwrap_or(width.mask())
    }

    fn write(&self, address: Address, offset: u16, width: Width, value: u32) {
        self.notify(ConfigAccessEvent {
            address,
            offset,
            width,
            written: Some(value),
        });
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

    #[test]
    fn an_observer_sees_every_access_before_it_lands_and_can_be_removed() {
        use std::sync::Mutex as StdMutex;
        let nic = address(0, 2, 0);
        let bus = Arc::new(SimBus::new().device(nic, SimDevice::endpoint(0x8086, 0x10d3, 0)));
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (log, inner) = (Arc::clone(&seen), Arc::clone(&bus));
        bus.observe(Some(Arc::new(move |event: &ConfigAccessEvent| {
            // No lock is held: the observer may look at the bus itself,
            // and sees the register before the write lands.
            let before = inner.peek(event.address, event.offset, event.width);
            log.lock().unwrap().push((*event, before));
        })));
        assert_eq!(bus.read16(nic, 0), 0x8086);
        bus.write8(nic, 0x3c, 0x0b);
        bus.observe(None);
        bus.read32(nic, 0);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (
                    ConfigAccessEvent {
                        address: nic,
                        offset: 0,
                        width: Width::Word,
                        written: None
                    },
                    Some(0x8086)
                ),
                (
                    ConfigAccessEvent {
                        address: nic,
                        offset: 0x3c,
                        width: Width::Byte,
                        written: Some(0x0b)
                    },
                    Some(0)
                ),
            ]
        );
        assert_eq!(bus.peek(nic, 0x3c, Width::Byte), Some(0x0b));
    }
}
