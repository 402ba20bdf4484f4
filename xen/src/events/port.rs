// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`BoundPort`]: an event channel we own, closed when dropped.

use crate::Errno;
use crate::abi::event_channel::EvtchnPort;
use crate::abi::xen::{DomId, SharedInfo};
use crate::hypercall::{Hypercall, event_channel};

use super::bits;

/// A local event-channel port this domain allocated or bound. Dropping it
/// closes the port (`EVTCHNOP_close`); it cannot be cloned.
///
/// Do not drop one while its handler may still run for it (XSA-331):
/// mask it and finish the handler first.
#[derive(Debug)]
pub struct BoundPort<'h, H: Hypercall + ?Sized> {
    hv: &'h H,
    port: EvtchnPort,
    open: bool,
}

impl<'h, H: Hypercall + ?Sized> BoundPort<'h, H> {
    fn new(hv: &'h H, port: EvtchnPort) -> Self {
        Self {
            hv,
            port,
            open: true,
        }
    }

    /// `EVTCHNOP_alloc_unbound`: a new port only `remote_dom` may bind.
    pub fn alloc_unbound(hv: &'h H, remote_dom: DomId) -> Result<Self, Errno> {
        event_channel::alloc_unbound(hv, remote_dom).map(|port| Self::new(hv, port))
    }

    /// `EVTCHNOP_bind_interdomain` to a frontend's unbound `remote_port`.
    /// Xen leaves the new port pending, so look at the shared state once
    /// after binding.
    pub fn bind_interdomain(
        hv: &'h H,
        remote_dom: DomId,
        remote_port: EvtchnPort,
    ) -> Result<Self, Errno> {
        event_channel::bind_interdomain(hv, remote_dom, remote_port).map(|port| Self::new(hv, port))
    }

    /// `EVTCHNOP_bind_virq` of `VIRQ_*` `virq` on `vcpu` (e.g. `VIRQ_DOM_EXC`
    /// on vCPU 0).
    pub fn bind_virq(hv: &'h H, virq: u32, vcpu: u32) -> Result<Self, Errno> {
        event_channel::bind_virq(hv, virq, vcpu).map(|port| Self::new(hv, port))
    }

    /// The local port number.
    pub fn port(&self) -> EvtchnPort {
        self.port
    }

    /// `EVTCHNOP_send`: signals the other end.
    pub fn notify(&self) -> Result<(), Errno> {
        event_channel::send(self.hv, self.port)
    }

    /// Masks the port: events stay pending but raise no upcall.
    pub fn mask(&self, shared: &SharedInfo) -> Result<(), Errno> {
        bits::mask(shared, self.port).map_err(|_| Errno::EINVAL)
    }

    /// Unmasks the port, re-raising the upcall if an event came meanwhile.
    pub fn unmask(&self, shared: &SharedInfo) -> Result<(), Errno> {
        bits::unmask(self.hv, shared, self.port)
    }

    /// Closes the port now and reports the result.
    pub fn close(mut self) -> Result<(), Errno> {
        self.open = false;
        event_channel::close(self.hv, self.port)
    }
}

impl<H: Hypercall + ?Sized> Drop for BoundPort<'_, H> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Err(e) = event_channel::close(self.hv, self.port) {
            log::error!("closing event channel port {}: {e}", self.port);
        }
    }
}
