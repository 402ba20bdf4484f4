// SPDX-License-Identifier: MIT OR Apache-2.0
//! A running driver domain's backend: the XenBus tests' machine.

use std::rc::Rc;

use pci::capability::{CapabilityId, find_capability};
use pci::sim::{SimBus, SimDevice};
use pci::{Address, Topology};
use pciback::sim::{
    FakeDelay, PciDevice, SimExecutor, SimPcifront, SimPlatform, SimStore, SimWorld, Toolstack,
    at_once,
};
use pciback::xenbus::{Backend, FrontendStatus, Options};
use pciback::{Device, DeviceOptions, VirtualAddress};
use xen::abi::io::pciif::XenPciOp;
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::DomId;

/// The driver domain.
pub const BACKEND: DomId = 1;

/// A driver domain's backend serving guests over the simulated hypervisor
/// and xenstored, with a toolstack to attach them.
pub struct DriverDomain {
    pub world: SimWorld,
    pub executor: SimExecutor,
    pub toolstack: Toolstack,
    pub backend: Rc<Backend<SimStore, SimPlatform>>,
}

impl DriverDomain {
    /// A machine with `devices`, every one but the bridges taken by the
    /// backend, running.
    pub fn new(devices: Vec<(Address, SimDevice)>, options: Options) -> Self {
        let addresses: Vec<Address> = devices.iter().map(|(at, _)| *at).collect();
        let bus = devices
            .into_iter()
            .fold(SimBus::new(), |bus, (at, device)| bus.device(at, device));
        let topology = pci::enumerate(&bus, 0, 0..=7);
        let pool = addresses
            .iter()
            .filter(|at| {
                topology
                    .get(**at)
                    .is_some_and(|f| f.header != pci::HeaderLayout::Bridge)
            })
            .map(|&at| take(&bus, &topology, at))
            .collect();
        bus.clear_writes();
        Self::serving(bus, pool, options)
    }

    /// The backend of `bus`, serving `pool`, running.
    pub fn serving(bus: SimBus, pool: Vec<Device>, options: Options) -> Self {
        let world = SimWorld::new();
        world.add_domain(BACKEND);
        let platform = SimPlatform::new(&world, BACKEND, bus);
        let backend = Rc::new(Backend::new(world.store(BACKEND), platform, pool, options));
        let toolstack = Toolstack::new(&world, BACKEND);
        let mut executor = SimExecutor::new(&world);
        let running = Rc::clone(&backend);
        executor.spawn(async move { running.run().await });
        executor.run_until_idle();
        Self {
            world,
            executor,
            toolstack,
            backend,
        }
    }

    /// Creates guest `domid` with `devices`, starts its pcifront and runs
    /// until everything settles.
    pub fn guest(&mut self, domid: DomId, devices: &[Address]) -> Rc<SimPcifront> {
        let front = self.prepare(domid, devices);
        self.start(&front);
        self.settle();
        front
    }

    /// Creates guest `domid` with `devices`; its pcifront does not run yet.
    pub fn prepare(&mut self, domid: DomId, devices: &[Address]) -> Rc<SimPcifront> {
        let devices: Vec<PciDevice> = devices.iter().map(|&at| PciDevice::new(at)).collect();
        self.prepare_with(domid, &devices)
    }

    /// Creates guest `domid` with `devices` as the toolstack names them
    /// (options included); its pcifront does not run yet.
    pub fn prepare_with(&mut self, domid: DomId, devices: &[PciDevice]) -> Rc<SimPcifront> {
        self.world.add_domain(domid);
        self.toolstack.attach(domid, devices);
        SimPcifront::new(&self.world, domid)
    }

    /// Starts `front` (it runs when the machine does).
    pub fn start(&mut self, front: &Rc<SimPcifront>) {
        self.executor.spawn(Rc::clone(front).run());
    }

    pub fn settle(&mut self) {
        self.executor.run_until_idle();
    }

    pub fn read(
        &mut self,
        front: &SimPcifront,
        at: VirtualAddress,
        offset: i32,
        size: i32,
    ) -> (i32, u32) {
        self.executor.block_on(front.conf_read(at, offset, size))
    }

    pub fn write(
        &mut self,
        front: &SimPcifront,
        at: VirtualAddress,
        offset: i32,
        size: i32,
        value: u32,
    ) -> i32 {
        self.executor
            .block_on(front.conf_write(at, offset, size, value))
    }

    pub fn op(&mut self, front: &SimPcifront, op: XenPciOp) -> XenPciOp {
        self.executor.block_on(front.op(op))
    }

    pub fn platform(&self) -> &SimPlatform {
        self.backend.platform()
    }

    pub fn status(&self, domid: DomId) -> Option<FrontendStatus> {
        self.backend
            .frontends()
            .into_iter()
            .find(|status| status.key.domid == domid)
    }

    /// Whether the function at `at` got a Function Level Reset since the
    /// writes were last cleared (PCIe Device Control bit 15 written).
    pub fn was_reset(&self, at: Address) -> bool {
        flr_written(self.platform().bus(), at)
    }
}

/// Whether the function at `at` of `bus` was written an FLR since the
/// writes were last cleared (PCIe Device Control bit 15 written).
pub fn flr_written(bus: &SimBus, at: Address) -> bool {
    let pcie = find_capability(bus, at, CapabilityId::PCI_EXPRESS).unwrap();
    bus.writes()
        .iter()
        .any(|write| write.address == at && write.offset == pcie + 8 && write.value & 0x8000 != 0)
}

/// The function at `at`, taken for the backend's pool.
pub fn take(bus: &SimBus, topology: &Topology, at: Address) -> Device {
    at_once(Device::take(
        bus,
        topology,
        at,
        &DeviceOptions::default(),
        &[],
        &FakeDelay::new(),
    ))
    .unwrap_or_else(|error| panic!("take {at}: {error}"))
}

impl DriverDomain {
    /// Whether `domid`'s backend is Connected.
    pub fn connected(&self, domid: DomId) -> bool {
        self.toolstack.backend_state(domid) == Some(XenbusState::Connected)
    }

    /// What Xen gave `domid`: devices assigned, MMIO ranges.
    pub fn given(&self, domid: DomId) -> (Vec<u32>, Vec<(u64, u64)>) {
        let xen = self.world.xen();
        let mut assigned = xen.assigned_devices(domid);
        assigned.sort_unstable();
        (assigned, xen.iomem_ranges(domid))
    }

    /// The devices in the pool, in order.
    pub fn free(&self) -> Vec<Address> {
        let mut free = self.backend.free_devices();
        free.sort_unstable();
        free
    }
}
