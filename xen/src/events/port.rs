// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`BoundPort`]: an event channel we own, closed when dropped.
//!
//! Binding goes through the typed `event_channel_op` calls; the port is
//! closed exactly once, by [`BoundPort::close`] or on drop.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::event_channel::{EVTCHNOP_CLOSE, EVTCHNOP_SEND, EVTCHNSTAT_UNBOUND};
    use crate::abi::xen::{HYPERVISOR_EVENT_CHANNEL_OP, VIRQ_DOM_EXC};
    use crate::events::{UpcallScanner, is_pending};
    use crate::sim::{FakeXen, Injected};

    const BACKEND: DomId = 1;
    const FRONTEND: DomId = 2;

    #[test]
    fn interdomain_channel_carries_events_both_ways_and_closes_on_drop() {
        let xen = FakeXen::new();
        let backend = xen.add_domain(BACKEND);
        let frontend = xen.add_domain(FRONTEND);
        let (be_shared, fe_shared) = (
            xen.shared_info(BACKEND).unwrap(),
            xen.shared_info(FRONTEND).unwrap(),
        );
        // pcifront: alloc_unbound for its backend-id.
        let fe_port = event_channel::alloc_unbound(&frontend, BACKEND).unwrap();
        {
            let port = BoundPort::bind_interdomain(&backend, FRONTEND, fe_port).unwrap();
            // Xen leaves a freshly bound port pending.
            assert!(is_pending(&be_shared, port.port()).unwrap());
            let mut scanner = UpcallScanner::new();
            let mut got = std::vec::Vec::new();
            scanner.handle_upcall(&be_shared, 0, |p| got.push(p));
            assert_eq!(got, [port.port()]);

            port.notify().unwrap();
            assert!(is_pending(&fe_shared, fe_port).unwrap());
            event_channel::send(&frontend, fe_port).unwrap();
            assert!(is_pending(&be_shared, port.port()).unwrap());
            assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_SEND), 2);
        }
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE), 1);
        // The frontend's end is unbound again, still reserved for the backend.
        let status = event_channel::status(&frontend, fe_port).unwrap();
        assert_eq!(
            (status.status, status.remote_dom()),
            (EVTCHNSTAT_UNBOUND, BACKEND)
        );
    }

    #[test]
    fn explicit_close_is_not_repeated_by_drop() {
        let xen = FakeXen::new();
        let dom = xen.add_domain(BACKEND);
        let port = BoundPort::bind_virq(&dom, VIRQ_DOM_EXC, 0).unwrap();
        assert_eq!(port.close(), Ok(()));
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE), 1);
    }

    #[test]
    fn binding_a_port_not_reserved_for_us_fails() {
        let xen = FakeXen::new();
        let backend = xen.add_domain(BACKEND);
        let frontend = xen.add_domain(FRONTEND);
        xen.add_domain(3);
        let for_dom3 = event_channel::alloc_unbound(&frontend, 3).unwrap();
        assert_eq!(
            BoundPort::bind_interdomain(&backend, FRONTEND, for_dom3).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            BoundPort::bind_interdomain(&backend, 9, 1).err(),
            Some(Errno::ESRCH)
        );
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE), 0);
    }

    #[test]
    fn a_failed_close_on_drop_is_logged_not_fatal() {
        let xen = FakeXen::new();
        let dom = xen.add_domain(BACKEND);
        let port = BoundPort::alloc_unbound(&dom, FRONTEND).unwrap();
        xen.fail_next(
            HYPERVISOR_EVENT_CHANNEL_OP,
            EVTCHNOP_CLOSE,
            Injected::Errno(Errno::EINVAL),
        );
        drop(port);
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE), 1);
    }

    #[test]
    fn virq_binding_delivers_domain_exceptions() {
        let xen = FakeXen::new();
        let dom = xen.add_domain(BACKEND);
        let shared = xen.shared_info(BACKEND).unwrap();
        let port = BoundPort::bind_virq(&dom, VIRQ_DOM_EXC, 0).unwrap();
        assert_eq!(
            BoundPort::bind_virq(&dom, VIRQ_DOM_EXC, 0).err(),
            Some(Errno::EEXIST)
        );
        xen.raise_virq(BACKEND, VIRQ_DOM_EXC);
        assert!(is_pending(&shared, port.port()).unwrap());
    }
}
