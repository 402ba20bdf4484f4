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

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::Arc;

use xen::Errno;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::io::xs_wire::XenstoreDomainInterface;
use xen::abi::xen::DomId;
use xen::events::clear_pending;
use xen::sim::{FakeDomain, FakeXen, SimXenstored};
use xen::xenstore::{Reply, ReqId, Request, TxId, XenstoreClient, XenstoreError, XenstoreRing};

use crate::Delay;
use crate::xenbus::{Store, Watch};

/// One domain's XenStore connection.
#[derive(Debug)]
struct Link {
    page: Arc<XenstoreDomainInterface>,
    client: XenstoreClient,
    /// Watch events not yet taken, by token.
    queues: BTreeMap<String, VecDeque<String>>,
}

#[derive(Debug)]
struct World {
    xen: FakeXen,
    xenstored: SimXenstored,
    links: BTreeMap<DomId, Link>,
    /// Tasks waiting for a reply or a watch event.
    store_waiters: Vec<Waker>,
    /// Tasks waiting for a port of a domain to fire.
    port_waiters: Vec<(DomId, EvtchnPort, Waker)>,
    now: Duration,
    timers: Vec<(Duration, Waker)>,
    next_token: u64,
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
                store_waiters: Vec::new(),
                port_waiters: Vec::new(),
                now: Duration::ZERO,
                timers: Vec::new(),
                next_token: 0,
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
        world.links.insert(
            domid,
            Link {
                page,
                client: XenstoreClient::new(),
                queues: BTreeMap::new(),
            },
        );
        domain
    }

    /// Destroys domain `domid` as Xen does (its grants and ports go), drops
    /// its XenStore connection and fires `@releaseDomain`. Its XenStore
    /// nodes stay: removing them is the toolstack's job.
    pub fn remove_domain(&self, domid: DomId) {
        let mut world = self.inner.borrow_mut();
        world.xen.remove_domain(domid);
        world.links.remove(&domid);
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

    /// Domain `domid`'s XenStore connection.
    pub fn store(&self, domid: DomId) -> SimStore {
        SimStore {
            world: self.clone(),
            domid,
        }
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
            store_waiters,
            port_waiters,
            ..
        } = &mut *world;
        let mut moved = false;
        loop {
            let mut step = xenstored.service();
            for (domid, link) in links.iter_mut() {
                match XenstoreRing::new(&link.page).pump(&mut link.client) {
                    Ok(progress) => step |= progress,
                    Err(error) => log::warn!("dom{domid} xenstore ring: {error}"),
                }
                while let Some(event) = link.client.next_watch_event() {
                    if let Some(queue) = link.queues.get_mut(&event.token) {
                        queue.push_back(event.path);
                    }
                    step = true;
                }
            }
            if !step {
                break;
            }
            moved = true;
        }
        if moved {
            store_waiters.drain(..).for_each(Waker::wake);
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

    /// Lets time pass to the earliest timer and wakes the timers due.
    /// Returns whether there was one.
    pub fn advance(&self) -> bool {
        let mut world = self.inner.borrow_mut();
        let Some(earliest) = world.timers.iter().map(|(deadline, _)| *deadline).min() else {
            return false;
        };
        world.now = world.now.max(earliest);
        let now = world.now;
        world.timers.retain(|(deadline, waker)| {
            let due = *deadline <= now;
            if due {
                waker.wake_by_ref();
            }
            !due
        });
        true
    }

    /// Queues `request` on `domid`'s connection.
    fn submit(
        &self,
        domid: DomId,
        tx: Option<TxId>,
        request: &Request<'_>,
    ) -> Result<ReqId, XenstoreError> {
        let mut world = self.inner.borrow_mut();
        let link = world.links.get_mut(&domid).ok_or(GONE)?;
        link.client.submit(tx, request)
    }

    /// The reply to `id`, once it is there.
    fn reply(
        &self,
        domid: DomId,
        id: ReqId,
    ) -> impl Future<Output = Result<Reply, XenstoreError>> + use<> {
        let world = self.clone();
        poll_fn(move |cx: &mut Context<'_>| {
            let mut inner = world.inner.borrow_mut();
            let Some(link) = inner.links.get_mut(&domid) else {
                return Poll::Ready(Err(GONE));
            };
            match link.client.take_reply(id) {
                Some(reply) => Poll::Ready(reply),
                None => {
                    wait_on(&mut inner.store_waiters, cx);
                    Poll::Pending
                }
            }
        })
    }

    /// A fresh watch token for `domid`, with its event queue.
    fn new_watch(&self, domid: DomId) -> String {
        let mut world = self.inner.borrow_mut();
        world.next_token = world.next_token.saturating_add(1);
        let token = format!("w{}", world.next_token);
        if let Some(link) = world.links.get_mut(&domid) {
            link.queues.insert(token.clone(), VecDeque::new());
        }
        token
    }

    fn forget_watch(&self, domid: DomId, token: &str) {
        if let Some(link) = self.inner.borrow_mut().links.get_mut(&domid) {
            link.queues.remove(token);
        }
    }

    /// The next event of the watch `token`.
    fn next_event(&self, domid: DomId, token: String) -> impl Future<Output = String> + use<> {
        let world = self.clone();
        poll_fn(move |cx| {
            let mut inner = world.inner.borrow_mut();
            let event = inner
                .links
                .get_mut(&domid)
                .and_then(|link| link.queues.get_mut(&token))
                .and_then(VecDeque::pop_front);
            match event {
                Some(path) => Poll::Ready(path),
                None => {
                    wait_on(&mut inner.store_waiters, cx);
                    Poll::Pending
                }
            }
        })
    }
}

/// Adds the task of `cx` to `waiters`, once.
fn wait_on(waiters: &mut Vec<Waker>, cx: &Context<'_>) {
    if !waiters.iter().any(|waker| waker.will_wake(cx.waker())) {
        waiters.push(cx.waker().clone());
    }
}

/// What requests on a destroyed domain's connection get.
const GONE: XenstoreError = XenstoreError::Remote(Errno::ESRCH);

/// One domain's XenStore connection, as a [`Store`].
#[derive(Clone, Debug)]
pub struct SimStore {
    world: SimWorld,
    domid: DomId,
}

/// A watch registered through a [`SimStore`].
#[derive(Debug)]
pub struct SimWatch {
    world: SimWorld,
    domid: DomId,
    path: String,
    token: String,
}

impl Store for SimStore {
    type Watch = SimWatch;

    fn request(
        &self,
        tx: Option<TxId>,
        request: Request<'_>,
    ) -> impl Future<Output = Result<Reply, XenstoreError>> {
        let submitted = self.world.submit(self.domid, tx, &request);
        let (world, domid) = (self.world.clone(), self.domid);
        async move { world.reply(domid, submitted?).await }
    }

    fn watch(&self, path: &str) -> impl Future<Output = Result<SimWatch, XenstoreError>> {
        let token = self.world.new_watch(self.domid);
        let watch = SimWatch {
            world: self.world.clone(),
            domid: self.domid,
            path: String::from(path),
            token,
        };
        let submitted = self.world.submit(
            self.domid,
            None,
            &Request::Watch {
                path,
                token: &watch.token,
            },
        );
        async move {
            let registered = match submitted {
                Ok(id) => watch.world.reply(watch.domid, id).await,
                Err(error) => Err(error),
            };
            match registered {
                Ok(_) => Ok(watch),
                Err(error) => {
                    watch.world.forget_watch(watch.domid, &watch.token);
                    Err(error)
                }
            }
        }
    }

    fn unwatch(&self, watch: SimWatch) -> impl Future<Output = Result<(), XenstoreError>> {
        let submitted = self.world.submit(
            self.domid,
            None,
            &Request::Unwatch {
                path: &watch.path,
                token: &watch.token,
            },
        );
        async move {
            watch.world.forget_watch(watch.domid, &watch.token);
            watch.world.reply(watch.domid, submitted?).await.map(drop)
        }
    }
}

impl Watch for SimWatch {
    fn next(&mut self) -> impl Future<Output = String> {
        self.world.next_event(self.domid, self.token.clone())
    }
}

/// Waits in virtual time ([`SimWorld::sleep`]).
impl Delay for SimWorld {
    fn wait(&self, duration: Duration) -> impl Future<Output = ()> {
        self.sleep(duration)
    }
}
