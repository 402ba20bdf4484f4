// SPDX-License-Identifier: MIT OR Apache-2.0
//! The machine the backend runs on: the [`Platform`] trait.
//!
//! Everything the XenBus backend does that is not XenStore goes through
//! here: physical configuration space, delays and interrupt mapping (the
//! traits the op path already uses), giving a device to a guest and taking
//! it back (IOMMU assignment, BAR and interrupt permissions), mapping the
//! frontend's shared page and binding its event channel, and a clock to
//! sleep on. The kernel
//! implements it over its Xen services; host tests over `FakeXen`.

use core::future::Future;
use core::time::Duration;

use pci::ConfigAccess;
use xen::Errno;
use xen::abi::domctl::{XEN_DOMINF_DYING, XenDomctlGetdomaininfo};
use xen::abi::event_channel::EvtchnPort;
use xen::abi::grant_table::GrantRef;
use xen::abi::xen::DomId;
use xen::grant::{GrantMapping, WindowMemory};
use xen::hypercall::Hypercall;
use xen::shared_page::SharedPage;

use crate::{Delay, Device, InterruptControl};

/// The machine, as the backend needs it.
pub trait Platform {
    /// Physical configuration space.
    type Config: ConfigAccess + ?Sized;
    /// Waits (resets, power changes).
    type Delay: Delay + ?Sized;
    /// PIRQ mapping into one frontend.
    type Interrupts<'a>: InterruptControl
    where
        Self: 'a;
    /// A frontend's page, mapped; unmapped when dropped.
    type Mapping<'a>: SharedMapping
    where
        Self: 'a;
    /// An event channel bound to a frontend's port; closed when dropped.
    type Port<'a>: EventPort
    where
        Self: 'a;

    /// Physical configuration space.
    fn config(&self) -> &Self::Config;

    /// The delay source.
    fn delay(&self) -> &Self::Delay;

    /// PIRQ mapping into `frontend` (`PHYSDEVOP_map_pirq` and friends with
    /// `domid = frontend`): [`super::GuestPirqs`]. It holds nothing but the
    /// domid: a device's release, which runs beside the frontend's op
    /// serving, takes one of its own.
    fn interrupts(&self, frontend: DomId) -> Self::Interrupts<'_>;

    /// Gives `device` to `frontend` before the guest sees it: IOMMU
    /// assignment, access to its BARs and ROM (memory and I/O ports), and
    /// its INTx as the guest's PIRQ when a GSI was named ([`Device::gsi`]),
    /// as libxl's `pci_add_dm_done` does for a dom0 backend:
    /// [`super::GuestAccess::give`]. A failure refuses the device and must
    /// leave the guest nothing of it.
    fn assign(&self, frontend: DomId, device: &Device) -> Result<(), Errno>;

    /// Takes back what [`Platform::assign`] gave, before the device is
    /// reset: revoke the permissions, unmap the GSI, deassign it to
    /// quarantine ([`super::GuestAccess::take_back`]).
    fn deassign(&self, frontend: DomId, device: &Device);

    /// Maps grant `gref` of `frontend` read-write
    /// (`GNTTABOP_map_grant_ref`).
    fn map_grant(&self, frontend: DomId, gref: GrantRef) -> Result<Self::Mapping<'_>, Errno>;

    /// Binds `frontend`'s unbound `port` (`EVTCHNOP_bind_interdomain`).
    fn bind_interdomain(&self, frontend: DomId, port: EvtchnPort) -> Result<Self::Port<'_>, Errno>;

    /// Whether `domain` still exists (after `@releaseDomain` fired): see
    /// [`domain_alive`] for what `XEN_DOMCTL_getdomaininfo` says.
    fn domain_exists(&self, domain: DomId) -> bool;

    /// The time since a fixed point (the kernel's: boot).
    fn now(&self) -> Duration;

    /// Completes once [`Platform::now`] reaches `deadline`, letting the
    /// other frontends run meanwhile.
    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()>;

    /// A pause between two looks at a shared page while polling it (the
    /// CPU's spin-loop hint; the simulator lets virtual time pass).
    fn spin(&self);
}

/// Whether a domain still exists for a backend, from what
/// `XEN_DOMCTL_getdomaininfo` answered about it (`Ok(None)`: another
/// domain, or none). A dying domain is gone: xenstored fires
/// `@releaseDomain` when it starts dying, and Xen frees it only once every
/// page it shared is unmapped, its frontend's page by this backend among
/// them; waiting for it to vanish would wait for ever. When the answer
/// cannot be had, say yes: the frontend's XenStore nodes will tell.
pub fn domain_alive(info: Result<Option<XenDomctlGetdomaininfo>, Errno>) -> bool {
    match info {
        Ok(Some(info)) => info.flags & XEN_DOMINF_DYING == 0,
        Ok(None) => false,
        Err(_) => true,
    }
}

/// A mapped page shared with a frontend.
pub trait SharedMapping {
    /// The page.
    fn page(&self) -> SharedPage<'_>;
}

impl<H: Hypercall + ?Sized, M: WindowMemory> SharedMapping for GrantMapping<'_, H, M> {
    fn page(&self) -> SharedPage<'_> {
        GrantMapping::page(self)
    }
}

/// An event channel bound to a frontend.
pub trait EventPort {
    /// Signals the frontend (`EVTCHNOP_send`).
    fn notify(&self) -> Result<(), Errno>;

    /// Waits until the frontend has signalled since the last wait returned.
    /// Dropping the future before it is ready must not lose the event.
    fn wait(&self) -> impl Future<Output = ()>;

    /// Stops the frontend's events from interrupting this domain (the port
    /// is masked; Xen keeps them pending), while its page is polled.
    fn disable_notifications(&self);

    /// Lets its events interrupt this domain again. One that came while
    /// they were off completes the next [`EventPort::wait`] at once.
    fn enable_notifications(&self);
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen::abi::domctl::{XEN_DOMINF_RUNNING, XEN_DOMINF_SHUTDOWN};

    fn info(flags: u32) -> Result<Option<XenDomctlGetdomaininfo>, Errno> {
        Ok(Some(XenDomctlGetdomaininfo {
            domain: 2,
            flags,
            ..Default::default()
        }))
    }

    /// A guest destroyed while this backend still maps its page stays a
    /// dying domain until the backend lets go: that is gone, not alive.
    #[test]
    fn a_dying_domain_is_gone_a_shut_down_one_is_not() {
        assert!(domain_alive(info(XEN_DOMINF_RUNNING)));
        assert!(domain_alive(info(XEN_DOMINF_SHUTDOWN)));
        assert!(!domain_alive(info(XEN_DOMINF_DYING)));
        assert!(!domain_alive(info(XEN_DOMINF_DYING | XEN_DOMINF_SHUTDOWN)));
        assert!(!domain_alive(Ok(None)));
        assert!(domain_alive(Err(Errno::EPERM)));
    }
}
