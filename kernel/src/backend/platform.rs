// SPDX-License-Identifier: MIT OR Apache-2.0
//! The XenBus backend's machine, on real Xen: XenStore, ECAM, grants, event
//! channels, and the hypercalls that give a device to a guest.
//!
//! Giving a device to a guest follows the flow proven on Xen 4.17 (X417 §2):
//! `XEN_DOMCTL_assign_device` from quarantine, then
//! `XEN_DOMCTL_iomem_permission` for each memory BAR. INTx is not mapped:
//! that needs the device's ACPI GSI, which this domain cannot read (the
//! interrupt-line register holds the PIC line, which is not it); guests use
//! MSI or MSI-X, which the op path maps.

use super::TscDelay;
use super::interrupts::GuestInterrupts;
use crate::bus::Bus;
use crate::hypervisor::xenstore::{self, Xenstore};
use crate::hypervisor::{Hypercalls, Xen, ports};
use alloc::string::String;
use core::future::Future;
use pci::{Address, BarKind};
use pciback::Device;
use pciback::xenbus::{EventPort, Platform, Store, Watch, domain_alive};
use xen::Errno;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::grant_table::GrantRef;
use xen::abi::xen::DomId;
use xen::events::BoundPort;
use xen::grant::{Access, GrantMapping, GrantWindow, IdentityMapped};
use xen::hypercall::domctl;
use xen::xenstore::{Reply, Request, TxId, XenstoreError};

const PAGE: u64 = 4096;

/// XenStore for the backend.
#[derive(Clone, Copy, Debug)]
pub struct BackendStore(pub &'static Xenstore);

impl Store for BackendStore {
    type Watch = xenstore::Watch;

    fn request(
        &self,
        tx: Option<TxId>,
        request: Request<'_>,
    ) -> impl Future<Output = Result<Reply, XenstoreError>> {
        self.0.request(tx, request)
    }

    fn watch(&self, path: &str) -> impl Future<Output = Result<Self::Watch, XenstoreError>> {
        self.0.watch(path)
    }

    fn unwatch(&self, watch: Self::Watch) -> impl Future<Output = Result<(), XenstoreError>> {
        watch.unwatch()
    }
}

impl Watch for xenstore::Watch {
    fn next(&mut self) -> impl Future<Output = String> {
        xenstore::Watch::next(self)
    }
}

/// The machine.
#[derive(Debug)]
pub struct XenPlatform {
    xen: &'static Xen,
    bus: &'static Bus,
    grants: &'static GrantWindow<IdentityMapped>,
}

impl XenPlatform {
    /// The backend's machine: Xen, the bus, the grant window.
    pub fn new(
        xen: &'static Xen,
        bus: &'static Bus,
        grants: &'static GrantWindow<IdentityMapped>,
    ) -> Self {
        Self { xen, bus, grants }
    }

    /// Allows or revokes `frontend`'s access to each memory BAR of `address`.
    fn memory_bars(&self, frontend: DomId, address: Address, allow: bool) -> Result<(), Errno> {
        let Some(function) = self.bus.function(address) else {
            return Err(Errno::ENODEV);
        };
        for bar in function.bars.iter().filter(|b| b.kind != BarKind::Io) {
            let first = bar.address / PAGE;
            let frames = bar.size.div_ceil(PAGE).max(1);
            domctl::iomem_permission(&self.xen.hv, frontend, first, frames, allow)?;
        }
        Ok(())
    }
}

/// `segment << 16 | bus << 8 | devfn`, as the assign domctls take it.
fn sbdf(address: Address) -> u32 {
    u32::from(address.segment()) << 16 | u32::from(address.bus()) << 8 | u32::from(address.devfn())
}

impl Platform for XenPlatform {
    type Config = Bus;
    type Delay = TscDelay;
    type Interrupts = GuestInterrupts;
    type Mapping<'a> = GrantMapping<'a, Hypercalls, IdentityMapped>;
    type Port<'a> = XenPort<'a>;

    fn config(&self) -> &Bus {
        self.bus
    }

    fn delay(&self) -> &TscDelay {
        &TscDelay
    }

    fn interrupts(&self, frontend: DomId) -> GuestInterrupts {
        GuestInterrupts::new(self.xen, self.bus, frontend)
    }

    fn assign(&self, frontend: DomId, device: &Device) -> Result<(), Errno> {
        let address = device.address();
        domctl::assign_device(&self.xen.hv, frontend, sbdf(address), 0)?;
        if let Err(e) = self.memory_bars(frontend, address, true) {
            self.deassign(frontend, device);
            return Err(e);
        }
        log::info!(target: "pciback", "{address} assigned to domain {frontend}");
        Ok(())
    }

    fn deassign(&self, frontend: DomId, device: &Device) {
        let address = device.address();
        if let Err(e) = self.memory_bars(frontend, address, false) {
            log::warn!(target: "pciback", "{address}: revoking domain {frontend}'s BAR access: {e}");
        }
        match domctl::deassign_device(&self.xen.hv, frontend, sbdf(address)) {
            Ok(()) => {
                log::info!(target: "pciback", "{address} back in quarantine from domain {frontend}")
            }
            Err(e) => {
                log::warn!(target: "pciback", "{address}: deassign from domain {frontend}: {e}")
            }
        }
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
}
