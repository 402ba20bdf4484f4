// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/event_channel.h`: `EVTCHNOP_*` and their arguments.
//!
//! Mirrors the Xen 4.17.5 header. Arguments are built on the caller's stack
//! and passed by pointer; Xen fills the fields marked OUT.

use super::xen::DomId;

/// `evtchn_port_t`.
pub type EvtchnPort = u32;

/// `EVTCHNOP_bind_interdomain`.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// `EVTCHNOP_bind_virq`.
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// `EVTCHNOP_bind_pirq`.
pub const EVTCHNOP_BIND_PIRQ: u32 = 2;
/// `EVTCHNOP_close`.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// `EVTCHNOP_send`.
pub const EVTCHNOP_SEND: u32 = 4;
/// `EVTCHNOP_status`.
pub const EVTCHNOP_STATUS: u32 = 5;
/// `EVTCHNOP_alloc_unbound`.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// `EVTCHNOP_bind_ipi`.
pub const EVTCHNOP_BIND_IPI: u32 = 7;
/// `EVTCHNOP_bind_vcpu`.
pub const EVTCHNOP_BIND_VCPU: u32 = 8;
/// `EVTCHNOP_unmask`.
pub const EVTCHNOP_UNMASK: u32 = 9;
/// `EVTCHNOP_reset`.
pub const EVTCHNOP_RESET: u32 = 10;
/// `EVTCHNOP_init_control` (FIFO ABI).
pub const EVTCHNOP_INIT_CONTROL: u32 = 11;
/// `EVTCHNOP_expand_array` (FIFO ABI).
pub const EVTCHNOP_EXPAND_ARRAY: u32 = 12;
/// `EVTCHNOP_set_priority` (FIFO ABI).
pub const EVTCHNOP_SET_PRIORITY: u32 = 13;

/// `EVTCHN_2L_NR_CHANNELS` on x86-64: 64 words of 64 bits.
pub const EVTCHN_2L_NR_CHANNELS: u32 = 4096;

/// `struct evtchn_alloc_unbound`: a port in `dom` that only `remote_dom` may bind.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnAllocUnbound {
    /// IN: the domain to allocate in (`DOMID_SELF` unless privileged).
    pub dom: DomId,
    /// IN: the only domain allowed to bind the port.
    pub remote_dom: DomId,
    /// OUT: the new port.
    pub port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnAllocUnbound>() == 8);
const _: () = assert!(core::mem::offset_of!(EvtchnAllocUnbound, remote_dom) == 2);
const _: () = assert!(core::mem::offset_of!(EvtchnAllocUnbound, port) == 4);

/// `struct evtchn_bind_interdomain`: connect to a remote domain's unbound port.
/// The new local port is always left pending.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindInterdomain {
    /// IN: the remote domain.
    pub remote_dom: DomId,
    /// IN: its unbound port, reserved for the caller.
    pub remote_port: EvtchnPort,
    /// OUT: the new local port.
    pub local_port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnBindInterdomain>() == 12);
const _: () = assert!(core::mem::offset_of!(EvtchnBindInterdomain, remote_port) == 4);
const _: () = assert!(core::mem::offset_of!(EvtchnBindInterdomain, local_port) == 8);

/// `struct evtchn_bind_virq`: a port for a virtual IRQ on a vCPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindVirq {
    /// IN: `VIRQ_*`.
    pub virq: u32,
    /// IN: the vCPU (0 for global VIRQs).
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnBindVirq>() == 12);
const _: () = assert!(core::mem::offset_of!(EvtchnBindVirq, vcpu) == 4);
const _: () = assert!(core::mem::offset_of!(EvtchnBindVirq, port) == 8);

/// `BIND_PIRQ__WILL_SHARE`.
pub const BIND_PIRQ_WILL_SHARE: u32 = 1;

/// `struct evtchn_bind_pirq`: a port for a physical IRQ.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindPirq {
    /// IN: the PIRQ.
    pub pirq: u32,
    /// IN: `BIND_PIRQ__*`.
    pub flags: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnBindPirq>() == 12);
const _: () = assert!(core::mem::offset_of!(EvtchnBindPirq, port) == 8);

/// `struct evtchn_close`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnClose {
    /// IN: the local port to close.
    pub port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnClose>() == 4);

/// `struct evtchn_send`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnSend {
    /// IN: the local port whose remote end is notified.
    pub port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnSend>() == 4);

/// `struct evtchn_unmask`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnUnmask {
    /// IN: the local port to unmask; Xen re-raises the upcall if it is pending.
    pub port: EvtchnPort,
}
const _: () = assert!(size_of::<EvtchnUnmask>() == 4);

/// `EVTCHNSTAT_closed`: the port is not in use.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
/// `EVTCHNSTAT_unbound`: waiting for an interdomain connection.
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
/// `EVTCHNSTAT_interdomain`: connected to a remote domain.
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
/// `EVTCHNSTAT_pirq`: bound to a physical IRQ.
pub const EVTCHNSTAT_PIRQ: u32 = 3;
/// `EVTCHNSTAT_virq`: bound to a virtual IRQ.
pub const EVTCHNSTAT_VIRQ: u32 = 4;
/// `EVTCHNSTAT_ipi`: bound to an IPI.
pub const EVTCHNSTAT_IPI: u32 = 5;

/// `struct evtchn_status`: what a port is bound to.
///
/// The union `u` is kept as raw words; [`EvtchnStatus::remote_dom`] and
/// friends decode it according to `status`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnStatus {
    /// IN: the domain (`DOMID_SELF`).
    pub dom: DomId,
    /// IN: the port.
    pub port: EvtchnPort,
    /// OUT: `EVTCHNSTAT_*`.
    pub status: u32,
    /// OUT: the vCPU notified.
    pub vcpu: u32,
    /// OUT: `u.unbound.dom` / `u.interdomain.dom` (low 16 bits of word 0),
    /// or `u.pirq` / `u.virq` (word 0); `u.interdomain.port` (word 1).
    pub u: [u32; 2],
}
const _: () = assert!(size_of::<EvtchnStatus>() == 24);
const _: () = assert!(core::mem::offset_of!(EvtchnStatus, port) == 4);
const _: () = assert!(core::mem::offset_of!(EvtchnStatus, status) == 8);
const _: () = assert!(core::mem::offset_of!(EvtchnStatus, u) == 16);

impl EvtchnStatus {
    /// For `EVTCHNSTAT_unbound` / `EVTCHNSTAT_interdomain`: the remote domain.
    pub fn remote_dom(&self) -> DomId {
        // `u.unbound.dom` and `u.interdomain.dom` are a domid_t at offset 16.
        (self.u[0] & 0xFFFF) as DomId
    }

    /// For `EVTCHNSTAT_interdomain`: the remote port (`u.interdomain.port`, offset 20).
    pub fn remote_port(&self) -> EvtchnPort {
        self.u[1]
    }

    /// For `EVTCHNSTAT_pirq` / `EVTCHNSTAT_virq`: the IRQ number (offset 16).
    pub fn irq(&self) -> u32 {
        self.u[0]
    }
}
