// SPDX-License-Identifier: MIT OR Apache-2.0
//! The XenBus backend's machine, on real Xen: ECAM, grants, event channels,
//! and the hypercalls that give a device to a guest.
//!
//! Giving a device to a guest follows libxl's flow for a dom0 backend, from
//! the hardware domain ([`GuestAccess`]): `XEN_DOMCTL_assign_device`
//! from quarantine, `XEN_DOMCTL_iomem_permission` and
//! `XEN_DOMCTL_ioport_permission` for its BARs, and `PHYSDEVOP_map_pirq` of
//! its INTx GSI when the toolstack named one (`gsi=` in `opts-N`): this
//! domain cannot read the host's ACPI tables, and the interrupt-line
//! register holds the PIC line, which is not the GSI. MSI and
//! MSI-X are mapped by the op path ([`GuestPirqs`]).

use super::TimerDelay;
use crate::bus::Bus;
use crate::hypercalls::Hypercalls;
use crate::hypervisor::{Xen, ports};
use crate::time;
use crate::timer::TIMERS;
use core::future::Future;
use core::time::Duration;
use pciback::Device;
use pciback::xenbus::{EventPort, GuestAccess, GuestPirqs, Platform, domain_alive};
use xen::Errno;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::grant_table::GrantRef;
use xen::abi::xen::DomId;
use xen::events::BoundPort;
use xen::grant::{Access, GrantMapping, GrantWindow, IdentityMapped};
use xen::hypercall::domctl;

/// The machine.
#[derive(Debug)]
pub struct XenPlatform {
    xen: &'static Xen,
    bus: &'static Bus,
    grants: &'static GrantWindow<IdentityMapped>,
    access: GuestAccess,
}

impl XenPlatform {
    /// The backend's machine: Xen, the bus, the grant window.
    pub fn new(
        xen: &'static Xen,
        bus: &'static Bus,
        grants: &'static GrantWindow<IdentityMapped>,
    ) -> Self {
        Self {
            xen,
            bus,
            grants,
            access: GuestAccess::new(),
        }
    }
}

impl Platform for XenPlatform {
    type Config = Bus;
    type Delay = TimerDelay;
    type Interrupts<'a> = GuestPirqs<'a, Hypercalls>;
    type Mapping<'a> = GrantMapping<'a, Hypercalls, IdentityMapped>;
    type Port<'a> = XenPort<'a>;

    fn config(&self) -> &Bus {
        self.bus
    }

    fn delay(&self) -> &TimerDelay {
        &TimerDelay
    }

    fn interrupts(&self, frontend: DomId) -> GuestPirqs<'_, Hypercalls> {
        GuestPirqs::new(&self.xen.hv, frontend)
    }

    fn assign(&self, frontend: DomId, device: &Device) -> Result<(), Errno> {
        self.access.give(&self.xen.hv, frontend, device)
    }

    fn deassign(&self, frontend: DomId, device: &Device) {
        self.access.take_back(&self.xen.hv, frontend, device);
    }

    fn map_grant(&self, frontend: DomId, gref: GrantRef) -> Result<Self::Mapping<'_>, Errno> {
        self.grants
            .map(&self.xen.hv, frontend, gref, Access::ReadWrite)
            .map_err(|e| e.errno())
    }

    fn bind_interdomain(&self, frontend: DomId, port: EvtchnPort) -> Result<XenPort<'_>, Errno> {
        BoundPort::bind_interdomain(&self.xen.hv, frontend, port).map(XenPort)
    }

    fn domain_exists(&self, domain: DomId) -> bool {
        domain_alive(domctl::domain_info(&self.xen.hv, domain))
    }

    fn now(&self) -> Duration {
        Duration::from_micros(time::since_boot_micros())
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        let tsc = boot::entry_tsc().saturating_add(time::duration_to_ticks(deadline));
        TIMERS.sleep_until(tsc)
    }

    fn spin(&self) {
        core::hint::spin_loop();
    }
}

/// A frontend's event channel, bound here; closed when dropped.
#[derive(Debug)]
pub struct XenPort<'a>(BoundPort<'a, Hypercalls>);

impl EventPort for XenPort<'_> {
    fn notify(&self) -> Result<(), Errno> {
        self.0.notify()
    }

    fn wait(&self) -> impl Future<Output = ()> {
        ports::wait(self.0.port())
    }

    fn disable_notifications(&self) {
        ports::mask(self.0.port());
    }

    fn enable_notifications(&self) {
        ports::unmask_quietly(self.0.port());
    }
}
