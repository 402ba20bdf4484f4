// SPDX-License-Identifier: MIT OR Apache-2.0
//! Shared test support: a simulated machine, devices taken from it, op builders.
//!
//! Each test file uses part of it.
#![allow(dead_code)]

pub mod driver;
pub mod logs;

use pci::capability::PortType;
use pci::sim::{ConfigWrite, SimBus, SimDevice};
use pci::{Address, Topology, Width};
use pciback::sim::{FakeDelay, FakeInterrupts, at_once};
use pciback::{
    Device, DeviceOptions, GuestDevices, Quirk, ResetError, ResetMethod, TopologyKind,
    VirtualAddress,
};
use xen::abi::io::pciif::{XEN_PCI_OP_CONF_READ, XEN_PCI_OP_CONF_WRITE, XenMsixEntry, XenPciOp};

/// The first PIRQ the fake interrupt mapping hands out.
pub const FIRST_PIRQ: u32 = 50;

/// `0000:bb:dd.f` (const, for the tests' named devices).
pub const fn address(bus: u8, device: u8, function: u8) -> Address {
    match Address::new(0, bus, device, function) {
        Some(at) => at,
        None => panic!("not a PCI function"),
    }
}

/// A simulated machine: its bus as enumerated, and the fakes.
pub struct Machine {
    pub bus: SimBus,
    pub topology: Topology,
    pub delay: FakeDelay,
    pub interrupts: FakeInterrupts,
}

impl Machine {
    /// A machine with `devices`, enumerated over buses 0-7, write log cleared.
    pub fn new(devices: impl IntoIterator<Item = (Address, SimDevice)>) -> Self {
        let bus = devices
            .into_iter()
            .fold(SimBus::new(), |bus, (at, device)| bus.device(at, device));
        let topology = pci::enumerate(&bus, 0, 0..=7);
        bus.clear_writes();
        Self {
            bus,
            topology,
            delay: FakeDelay::new(),
            interrupts: FakeInterrupts::new(FIRST_PIRQ),
        }
    }

    /// Takes the function at `at` with `options` and `quirks`; forgets the
    /// writes and waits that took.
    pub fn take_with(&self, at: Address, options: &DeviceOptions, quirks: &[Quirk]) -> Device {
        let device = at_once(Device::take(
            &self.bus,
            &self.topology,
            at,
            options,
            quirks,
            &self.delay,
        ))
        .unwrap_or_else(|error| panic!("take {at}: {error}"));
        self.bus.clear_writes();
        self.delay.clear();
        device
    }

    /// Takes the function at `at` with default options.
    pub fn take(&self, at: Address) -> Device {
        self.take_with(at, &DeviceOptions::default(), &[])
    }

    /// Hands `device` back from its guest (reset and all).
    pub fn release(&mut self, device: &mut Device) -> Result<ResetMethod, ResetError> {
        at_once(device.release(&self.bus, &mut self.interrupts, &self.delay))
    }

    /// Serves `op` for `guest`; returns (err, value).
    pub fn handle(&mut self, guest: &mut GuestDevices, mut op: XenPciOp) -> (i32, u32) {
        let reply = at_once(guest.handle(&mut op, &self.bus, &mut self.interrupts, &self.delay));
        (reply.err, reply.value)
    }

    /// A configuration read through the op path.
    pub fn read(
        &mut self,
        guest: &mut GuestDevices,
        at: VirtualAddress,
        offset: i32,
        size: i32,
    ) -> (i32, u32) {
        self.handle(guest, conf_read(at, offset, size))
    }

    /// A configuration write through the op path; returns err.
    pub fn write(
        &mut self,
        guest: &mut GuestDevices,
        at: VirtualAddress,
        offset: i32,
        size: i32,
        value: u32,
    ) -> i32 {
        self.handle(guest, conf_write(at, offset, size, value)).0
    }

    /// A register as the hardware holds it.
    pub fn peek(&self, at: Address, offset: u16, width: Width) -> u32 {
        self.bus.peek(at, offset, width).unwrap()
    }

    /// The writes that reached the hardware since the last clear.
    pub fn writes(&self) -> Vec<ConfigWrite> {
        self.bus.writes()
    }
}

/// A frontend with `devices`, in layout `kind`, not permissive.
pub fn guest_with(kind: TopologyKind, devices: impl IntoIterator<Item = Device>) -> GuestDevices {
    let mut guest = GuestDevices::new(kind, false);
    for device in devices {
        guest.add(device).unwrap();
    }
    guest
}

/// An op addressed to `at`.
pub fn op(cmd: u32, at: VirtualAddress) -> XenPciOp {
    XenPciOp {
        cmd,
        domain: at.0.segment().into(),
        bus: at.0.bus().into(),
        devfn: at.0.devfn().into(),
        ..XenPciOp::default()
    }
}

/// `XEN_PCI_OP_conf_read`.
pub fn conf_read(at: VirtualAddress, offset: i32, size: i32) -> XenPciOp {
    XenPciOp {
        offset,
        size,
        ..op(XEN_PCI_OP_CONF_READ, at)
    }
}

/// `XEN_PCI_OP_conf_write`.
pub fn conf_write(at: VirtualAddress, offset: i32, size: i32, value: u32) -> XenPciOp {
    XenPciOp {
        offset,
        size,
        value,
        ..op(XEN_PCI_OP_CONF_WRITE, at)
    }
}

/// The guest address 0000:00:dd.f (vpci).
pub fn virtual_address(device: u8, function: u8) -> VirtualAddress {
    VirtualAddress(address(0, device, function))
}

/// MSI-X entries asking for table indices `entries`.
pub fn msix_entries(entries: &[u16]) -> [XenMsixEntry; 128] {
    let mut all = [XenMsixEntry::default(); 128];
    for (slot, entry) in all.iter_mut().zip(entries) {
        *slot = XenMsixEntry {
            vector: 0xFFFF,
            entry: *entry,
        };
    }
    all
}

/// A PCIe endpoint that supports FLR: the simplest device to take.
pub fn flr_endpoint(vendor: u16, device: u16) -> SimDevice {
    SimDevice::endpoint(vendor, device, 0x02_00_00)
        .pcie(PortType::Endpoint)
        .function_level_reset()
}

/// A PCIe root port leading to bus `secondary`.
pub fn root_port(secondary: u8) -> SimDevice {
    SimDevice::bridge(0x8086, 0x29c0)
        .buses(0, secondary, secondary)
        .pcie(PortType::RootPort)
}
