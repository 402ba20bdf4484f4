// SPDX-License-Identifier: MIT OR Apache-2.0
//! `event_channel_op`: allocating, binding, signalling and closing ports.
//!
//! Wraps `__HYPERVISOR_event_channel_op` (`event_channel.h`). These are the
//! raw operations; [`crate::events::BoundPort`] owns a port and closes it.

use super::{Command, Hypercall, command};
use crate::Errno;
use crate::abi::event_channel::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_VIRQ, EVTCHNOP_CLOSE,
    EVTCHNOP_SEND, EVTCHNOP_STATUS, EVTCHNOP_UNMASK, EvtchnAllocUnbound, EvtchnBindInterdomain,
    EvtchnBindVirq, EvtchnClose, EvtchnPort, EvtchnSend, EvtchnStatus, EvtchnUnmask,
};
use crate::abi::xen::{DOMID_SELF, DomId, HYPERVISOR_EVENT_CHANNEL_OP};

// SAFETY (all impls below): event_channel_op(cmd, arg) reads and writes
// exactly the one structure event_channel.h names for cmd; none holds a
// pointer.

// SAFETY: see above; EVTCHNOP_alloc_unbound takes struct evtchn_alloc_unbound.
unsafe impl Command<EVTCHNOP_ALLOC_UNBOUND> for EvtchnAllocUnbound {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}
// SAFETY: see above; EVTCHNOP_bind_interdomain takes struct evtchn_bind_interdomain.
unsafe impl Command<EVTCHNOP_BIND_INTERDOMAIN> for EvtchnBindInterdomain {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}
// SAFETY: see above; EVTCHNOP_bind_virq takes struct evtchn_bind_virq.
unsafe impl Command<EVTCHNOP_BIND_VIRQ> for EvtchnBindVirq {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}
// SAFETY: see above; EVTCHNOP_close takes struct evtchn_close.
unsafe impl Command<EVTCHNOP_CLOSE> for EvtchnClose {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}
// SAFETY: see above; EVTCHNOP_send takes struct evtchn_send.
unsafe impl Command<EVTCHNOP_SEND> for EvtchnSend {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}
// SAFETY: see above; EVTCHNOP_unmask takes struct evtchn_unmask.
unsafe impl Command<EVTCHNOP_UNMASK> for EvtchnUnmask {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}
// SAFETY: see above; EVTCHNOP_status takes struct evtchn_status.
unsafe impl Command<EVTCHNOP_STATUS> for EvtchnStatus {
    const HYPERCALL: u32 = HYPERVISOR_EVENT_CHANNEL_OP;
}

/// `EVTCHNOP_alloc_unbound`: a new local port that only `remote_dom` may bind.
pub fn alloc_unbound<H: Hypercall + ?Sized>(
    hv: &H,
    remote_dom: DomId,
) -> Result<EvtchnPort, Errno> {
    let mut arg = EvtchnAllocUnbound {
        dom: DOMID_SELF,
        remote_dom,
        port: 0,
    };
    command::<EVTCHNOP_ALLOC_UNBOUND, _, _>(hv, &mut arg)?;
    Ok(arg.port)
}

/// `EVTCHNOP_bind_interdomain`: connects to `remote_port` of `remote_dom`
/// (an unbound port reserved for us) and returns the local port, which Xen
/// leaves pending.
pub fn bind_interdomain<H: Hypercall + ?Sized>(
    hv: &H,
    remote_dom: DomId,
    remote_port: EvtchnPort,
) -> Result<EvtchnPort, Errno> {
    let mut arg = EvtchnBindInterdomain {
        remote_dom,
        remote_port,
        local_port: 0,
    };
    command::<EVTCHNOP_BIND_INTERDOMAIN, _, _>(hv, &mut arg)?;
    Ok(arg.local_port)
}

/// `EVTCHNOP_bind_virq`: a local port for `VIRQ_*` `virq` on `vcpu`.
pub fn bind_virq<H: Hypercall + ?Sized>(hv: &H, virq: u32, vcpu: u32) -> Result<EvtchnPort, Errno> {
    let mut arg = EvtchnBindVirq {
        virq,
        vcpu,
        port: 0,
    };
    command::<EVTCHNOP_BIND_VIRQ, _, _>(hv, &mut arg)?;
    Ok(arg.port)
}

/// `EVTCHNOP_close`: closes a local port (an interdomain peer goes back to unbound).
pub fn close<H: Hypercall + ?Sized>(hv: &H, port: EvtchnPort) -> Result<(), Errno> {
    command::<EVTCHNOP_CLOSE, _, _>(hv, &mut EvtchnClose { port }).map(drop)
}

/// `EVTCHNOP_send`: notifies the remote end of `port`.
pub fn send<H: Hypercall + ?Sized>(hv: &H, port: EvtchnPort) -> Result<(), Errno> {
    command::<EVTCHNOP_SEND, _, _>(hv, &mut EvtchnSend { port }).map(drop)
}

/// `EVTCHNOP_unmask`: clears the mask bit and re-raises the upcall if the
/// port is pending.
pub fn unmask<H: Hypercall + ?Sized>(hv: &H, port: EvtchnPort) -> Result<(), Errno> {
    command::<EVTCHNOP_UNMASK, _, _>(hv, &mut EvtchnUnmask { port }).map(drop)
}

/// `EVTCHNOP_status` of our own `port`.
pub fn status<H: Hypercall + ?Sized>(hv: &H, port: EvtchnPort) -> Result<EvtchnStatus, Errno> {
    let mut arg = EvtchnStatus {
        dom: DOMID_SELF,
        port,
        ..EvtchnStatus::default()
    };
    command::<EVTCHNOP_STATUS, _, _>(hv, &mut arg)?;
    Ok(arg)
}
