// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`SimWorld`]: the simulated hypervisor and xenstored, joined up.
//!
//! `FakeXen` has domains, event channels and grants; `SimXenstored` serves
//! ring pages but is only polled. The world connects every domain it adds
//! to xenstored through its own ring and client, and [`SimWorld::pump`]
//! moves bytes both ways, routes watch events to their watches, and wakes
//! the tasks waiting on a reply, a watch or an event-channel port. It also
//! keeps a virtual clock for timeouts ([`SimWorld::sleep`]). Everything is
//! single-threaded: tasks share the world through `Rc<RefCell<…>>` and
//! never hold the borrow across an await.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::task::{Poll, Waker};
use core::time::Duration;
use std::sync::Arc;

use xen::Errno;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::io::xs_wire::XenstoreDomainInterface;
use xen::abi::xen::DomId;
use xen::events::clear_pending;
use xen::sim::{FakeDomain, FakeXen, SimXenstored};
use xen::xenstore::{XenstoreConnection, XenstoreError};

use crate::Delay;

/// One domain's XenStore connection: the shipped driver over a ring page
/// of the simulated xenstored, which polls it (nothing to notify).
pub type SimStore = Rc<XenstoreConnection<Arc<XenstoreDomainInterface>, ()>>;

#[derive(Debug)]
struct World {
    xen: FakeXen,
    xenstored: SimXenstored,
    links: BTreeMap<DomId, SimStore>,
    /// Tasks waiting for a port of a domain to fire.
    port_waiters: Vec<(DomId, EvtchnPort, Waker)>,
    now: Duration,
    timers: Vec<(Duration, Waker)>,
}

/// The simulated machine's Xen side. Cheap to clone; clones share it.
#[derive(Clone, Debug)]
pub struct SimWorld {
    inner: Rc<RefCell<World>>,
}

impl Default for SimWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl SimWorld {
    /// No domains yet; dom0 (the tests) acts through [`SimWorld::xenstored`].
    pub fn new() -> Self {
        Self {
            inner: Rc::new(RefCell::new(World {
                xen: FakeXen::new(),
                xenstored: SimXenstored::new(),
                links: BTreeMap::new(),
                port_waiters: Vec::new(),
                now: Duration::ZERO,
                timers: Vec::new(),
            })),
        }
    }

    /// Creates domain `domid`: in Xen, in XenStore (`/local/domain/<domid>`
    /// owned by it, `@introduceDomain`), and connected to xenstored.
    pub fn add_domain(&self, domid: DomId) -> FakeDomain {
        let mut world = self.inner.borrow_mut();
        let domain = world.xen.add_domain(domid);
        world.xenstored.introduce_domain(domid);
        let page = world.xenstored.connect(domid);
        world
            .links
            .insert(domid, Rc::new(XenstoreConnection::new(page, ())));
        domain
    }

    /// Destroys domain `domid` as Xen does (its grants and ports go), drops
    /// its XenStore connection and fires `@releaseDomain`. Its XenStore
    /// nodes stay: removing them is the toolstack's job.
    pub fn remove_domain(&self, domid: DomId) {
        let mut world = self.inner.borrow_mut();
        world.xen.remove_domain(domid);
        if let Some(link) = world.links.remove(&domid) {
            link.close(GONE);
        }
        world.xenstored.release_domain(domid);
    }

    /// The hypervisor.
    pub fn xen(&self) -> FakeXen {
        self.inner.borrow().xen.clone()
    }

    /// Acts on xenstored directly, as dom0 (the toolstack).
    pub fn xenstored<R>(&self, act: impl FnOnce(&mut SimXenstored) -> R) -> R {
        act(&mut self.inner.borrow_mut().xenstored)
    }

    /// Domain `domid`'s XenStore connection (a closed one if the domain
    /// does not exist).
    pub fn store(&self, domid: DomId) -> SimStore {
        let world = self.inner.borrow();
        world.links.get(&domid).cloned().unwrap_or_else(|| {
            let closed = Rc::new(XenstoreConnection::new(
                Arc::new(XenstoreDomainInterface::default()),
                (),
            ));
            closed.close(GONE);
            closed
        })
    }

    /// Moves everything that can move: requests to xenstored and its
    /// replies and watch events back, each to its waiter; ports that fired
    /// to theirs. Returns whether anything moved or woke.
    pub fn pump(&self) -> bool {
        let mut world = self.inner.borrow_mut();
        let World {
            xen,
            xenstored,
            links,
            port_waiters,
            ..
        } = &mut *world;
        let mut moved = false;
        loop {
            let mut step = xenstored.service();
            for link in links.values() {
                step |= link.pump();
            }
            if !step {
                break;
            }
            moved = true;
        }
        let before = port_waiters.len();
        port_waiters.retain(|(domid, port, waker)| {
            let fired = xen
                .shared_info(*domid)
                .is_some_and(|shared| xen::events::is_pending(&shared, *port) == Ok(true));
            if fired {
                waker.wake_by_ref();
            }
            !fired
        });
        moved || port_waiters.len() != before
    }

    /// Waits until `port` of `domid` has fired, then clears it (what the
    /// guest's upcall handler does). Never returns once the domain is gone.
    pub fn port_fired(&self, domid: DomId, port: EvtchnPort) -> impl Future<Output = ()> + use<> {
        let world = self.clone();
        poll_fn(move |cx| {
            let mut inner = world.inner.borrow_mut();
            let fired = inner
                .xen
                .shared_info(domid)
                .is_some_and(|shared| clear_pending(&shared, port) == Ok(true));
            if fired {
                return Poll::Ready(());
            }
            inner
                .port_waiters
                .retain(|(d, p, _)| (*d, *p) != (domid, port));
            inner.port_waiters.push((domid, port, cx.waker().clone()));
            Poll::Pending
        })
    }

    /// The virtual time.
    pub fn now(&self) -> Duration {
        self.inner.borrow().now
    }

    /// Completes once `duration` of virtual time has passed.
    pub fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + use<> {
        let world = self.clone();
        let deadline = self.now().saturating_add(duration);
        poll_fn(move |cx| {
            let mut inner = world.inner.borrow_mut();
            if inner.now >= deadline {
                return Poll::Ready(());
            }
            let waker = cx.waker();
            if !inner
                .timers
                .iter()
                .any(|(at, other)| *at == deadline && other.will_wake(waker))
            {
                inner.timers.push((deadline, waker.clone()));
            }
            Poll::Pending
        })
    }

    /// Lets `duration` of virtual time pass (a task busy polling), waking
    /// the timers it made due.
    pub fn pass(&self, duration: Duration) {
        self.pass_to(self.now().saturating_add(duration));
    }

    /// Lets time pass to the earliest timer and wakes the timers due.
    /// Returns whether there was one.
    pub fn advance(&self) -> bool {
        let earliest = self
            .inner
            .borrow()
            .timers
            .iter()
            .map(|(deadline, _)| *deadline)
            .min();
        earliest
            .inspect(|&earliest| self.pass_to(earliest))
            .is_some()
    }

    /// Moves the clock to `to` (never back) and wakes the timers due.
    fn pass_to(&self, to: Duration) {
        let mut world = self.inner.borrow_mut();
        world.now = world.now.max(to);
        let now = world.now;
        world.timers.retain(|(deadline, waker)| {
            let due = *deadline <= now;
            if due {
                waker.wake_by_ref();
            }
            !due
        });
    }
}

/// What requests on a destroyed domain's connection get.
const GONE: XenstoreError = XenstoreError::Remote(Errno::ESRCH);

/// Waits in virtual time ([`SimWorld::sleep`]).
impl Delay for SimWorld {
    fn wait(&self, duration: Duration) -> impl Future<Output = ()> {
        self.sleep(duration)
    }
}
