// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`SimPlatform`]: the backend's machine over `FakeXen` and a `SimBus`.
//!
//! It does what the kernel's platform does, with the same hypercalls:
//! grants are mapped into a grant window of `FakeXen`'s, event channels
//! are bound with `EVTCHNOP_bind_interdomain`, devices are given to guests
//! with libxl's hypercalls ([`GuestAccess`]: assignment, BAR and port
//! permissions, the GSI's PIRQ), and whether a domain exists is asked with
//! `XEN_DOMCTL_getdomaininfo`, MSI and MSI-X are mapped with
//! `PHYSDEVOP_map_pirq` ([`GuestPirqs`]). Delays pass in the world's
//! virtual time, so a reset takes its time while the other frontends are
//! served.

use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::time::Duration;

use pci::Address;
use pci::sim::SimBus;
use xen::Errno;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::grant_table::GrantRef;
use xen::abi::xen::DomId;
use xen::events::BoundPort;
use xen::grant::{Access, GrantMapping, GrantWindow};
use xen::hypercall::domctl;
use xen::sim::{FakeDomain, FakeWindowMemory};

use super::SimWorld;
use crate::Device;
use crate::xenbus::{EventPort, GuestAccess, GuestPirqs, Platform, domain_alive};

/// The first frame of the backend's grant window.
const WINDOW_GFN: u64 = 0x10_0000;
/// The virtual time one look at a polled page takes.
const SPIN: Duration = Duration::from_micros(1);
/// Frames in the window: one per connected frontend.
const WINDOW_FRAMES: usize = 64;

/// A device given to or taken from a guest, as the platform saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// [`Platform::assign`].
    Assigned {
        /// The guest.
        frontend: DomId,
        /// The device.
        device: Address,
    },
    /// [`Platform::deassign`].
    Deassigned {
        /// The guest.
        frontend: DomId,
        /// The device.
        device: Address,
    },
}

/// The backend domain's machine.
#[derive(Debug)]
pub struct SimPlatform {
    world: SimWorld,
    domid: DomId,
    hypercalls: FakeDomain,
    window: GrantWindow<FakeWindowMemory>,
    bus: SimBus,
    access: GuestAccess,
    assignments: RefCell<Vec<Assignment>>,
}

impl SimPlatform {
    /// The machine of domain `domid` (already added to `world`), with the
    /// devices of `bus`.
    pub fn new(world: &SimWorld, domid: DomId, bus: SimBus) -> Self {
        let xen = world.xen();
        let window = GrantWindow::new(WINDOW_GFN, WINDOW_FRAMES, xen.window_memory(domid));
        Self {
            world: world.clone(),
            domid,
            hypercalls: xen.domain(domid),
            // The constants make a valid window.
            window: window.unwrap_or_else(|_| unreachable!()),
            bus,
            access: GuestAccess::new(),
            assignments: RefCell::new(Vec::new()),
        }
    }

    /// The PCI bus.
    pub fn bus(&self) -> &SimBus {
        &self.bus
    }

    /// Every assignment and deassignment so far.
    pub fn assignments(&self) -> Vec<Assignment> {
        self.assignments.borrow().clone()
    }

    /// Frames of the grant window not holding a mapping.
    pub fn free_grant_frames(&self) -> usize {
        self.window.free_frames()
    }
}

/// An interdomain event channel of the backend.
#[derive(Debug)]
pub struct SimPort<'a> {
    port: BoundPort<'a, FakeDomain>,
    world: &'a SimWorld,
    domid: DomId,
}

impl EventPort for SimPort<'_> {
    fn notify(&self) -> Result<(), Errno> {
        self.port.notify()
    }

    fn wait(&self) -> impl Future<Output = ()> {
        self.world.port_fired(self.domid, self.port.port())
    }

    fn disable_notifications(&self) {
        if let Some(shared) = self.world.xen().shared_info(self.domid) {
            let _ = xen::events::mask(&shared, self.port.port());
        }
    }

    fn enable_notifications(&self) {
        // What came meanwhile is still pending: `wait` finds it.
        if let Some(shared) = self.world.xen().shared_info(self.domid) {
            let _ = xen::events::clear_mask(&shared, self.port.port());
        }
    }
}

impl Platform for SimPlatform {
    type Config = SimBus;
    type Delay = SimWorld;
    type Interrupts<'a> = GuestPirqs<'a, FakeDomain>;
    type Mapping<'a> = GrantMapping<'a, FakeDomain, FakeWindowMemory>;
    type Port<'a> = SimPort<'a>;

    fn config(&self) -> &SimBus {
        &self.bus
    }

    fn delay(&self) -> &SimWorld {
        &self.world
    }

    fn interrupts(&self, frontend: DomId) -> GuestPirqs<'_, FakeDomain> {
        GuestPirqs::new(&self.hypercalls, frontend)
    }

    fn assign(&self, frontend: DomId, device: &Device) -> Result<(), Errno> {
        self.access.give(&self.hypercalls, frontend, device)?;
        self.assignments.borrow_mut().push(Assignment::Assigned {
            frontend,
            device: device.address(),
        });
        Ok(())
    }

    fn deassign(&self, frontend: DomId, device: &Device) {
        self.access.take_back(&self.hypercalls, frontend, device);
        self.assignments.borrow_mut().push(Assignment::Deassigned {
            frontend,
            device: device.address(),
        });
    }

    fn map_grant(
        &self,
        frontend: DomId,
        gref: GrantRef,
    ) -> Result<GrantMapping<'_, FakeDomain, FakeWindowMemory>, Errno> {
        self.window
            .map(&self.hypercalls, frontend, gref, Access::ReadWrite)
            .map_err(|error| error.errno())
    }

    fn bind_interdomain(&self, frontend: DomId, port: EvtchnPort) -> Result<SimPort<'_>, Errno> {
        Ok(SimPort {
            port: BoundPort::bind_interdomain(&self.hypercalls, frontend, port)?,
            world: &self.world,
            domid: self.domid,
        })
    }

    fn domain_exists(&self, domain: DomId) -> bool {
        domain_alive(domctl::domain_info(&self.hypercalls, domain))
    }

    fn now(&self) -> Duration {
        self.world.now()
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        self.world.sleep(deadline.saturating_sub(self.world.now()))
    }

    fn spin(&self) {
        self.world.pass(SPIN);
    }
}
