// SPDX-License-Identifier: MIT OR Apache-2.0
//! The XenBus backend: Linux's `xenbus.c` and `xenbus_probe_backend.c`.
//!
//! [`Backend`] serves every `backend/pci/<domid>/<devid>` directory the
//! toolstack writes under this domain. One future, [`Backend::run`], does
//! it all, so the kernel spawns one task:
//!
//! - it watches `backend/pci` and, for each device directory that appears,
//!   starts a frontend (probed only if its `state` is Initialising, as
//!   Linux's `xenbus_probe_node` does);
//! - each frontend watches its backend directory and its frontend's
//!   `state`, and follows Linux's state machine ([`state::next`]): export
//!   the devices named by `dev-N` (taken from the pool the kernel handed
//!   in; anything else is refused with a reason), publish `vdev-N` and
//!   `root-N`, map the shared page and bind the event channel when the
//!   frontend is Initialised, reconfigure on hot-plug, disconnect on
//!   Closing and Closed, release every device (reset) when the frontend or
//!   its backend directory goes away or its domain dies (`@releaseDomain`);
//! - each connected frontend's ops are answered between its XenBus events,
//!   [`Options::op_budget`] at a time, then the future yields so the
//!   other frontends and tasks run.
//!
//! Frontends run inside [`Backend::run`], which polls each of them when
//! the task is woken: they share the task's waker, and each one's failure
//! (a bad value in XenStore, a refused grant) is its own: it goes Closing
//! with a reason in `error/backend/pci/<domid>/<devid>/error`.
//!
//! # What the kernel provides
//!
//! - [`Store`] (and its [`Watch`]): its XenStore connection, the `xen`
//!   crate's [`xen::xenstore::XenstoreConnection`] (which implements it)
//!   pumped over its ring. Watch event paths are as xenstored sends them:
//!   relative to the domain's home for relative watches.
//! - [`Platform`]: configuration space, delays, PIRQ mapping per frontend
//!   ([`GuestPirqs`], over the hypercall seam), device assignment (with
//!   [`GuestAccess`], which makes libxl's hypercalls), grant mapping
//!   ([`SharedMapping`]), interdomain event channels ([`EventPort`]),
//!   whether a domain exists, and a clock to sleep on (a frontend sending
//!   events without ops is throttled as Linux does: `throttle`).
//! - The devices: [`crate::Device::take`] each function the hide list
//!   selects, and hand them all to [`Backend::new`].
//!
//! ```text
//! // The kernel, once XenStore and the grant window are up:
//! let backend: &'static Backend<&'static Xenstore, KernelPlatform> = Box::leak(Box::new(
//!     Backend::new(services.xenstore, platform, taken, options),
//! ));
//! executor.spawn("pciback", backend.run());
//! ```
//!
//! Notes for the implementations:
//!
//! - A watch is one registration: the backend may watch a path, unwatch it
//!   and watch it again later (a guest with the same domid), and two
//!   frontends could name the same path; each registration has its own
//!   token, and [`Store::unwatch`] sends `XS_UNWATCH`.
//! - A watch's event queue is bounded; past the bound its events fold into
//!   one for the watched path, which the backend reads as "list it all
//!   again" (`backend/pci`) or "read the state again" (a frontend's).
//! - `@releaseDomain` events reach an unprivileged domain only if dom0
//!   lets it read the node (`xenstore-chmod @releaseDomain n0 r<domid>`);
//!   without them a dead guest is noticed when the toolstack removes its
//!   nodes.
//! - [`EventPort::wait`] and [`Watch::next`] must not lose an event when
//!   their future is dropped unfinished: the backend waits on several at
//!   once and drops the others when one is ready.
//! - Ops must be answered well within the 2 s pcifront waits; nothing here
//!   blocks except [`crate::Delay`] during a reset, and a frontend answers
//!   its ops while one of its devices resets.

mod access;
mod frontend;
pub(crate) mod parse;
mod pirqs;
mod platform;
mod poll;
mod release;
mod server;
pub mod state;
pub(crate) mod store;
mod throttle;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use litemap::LiteMap;

use pci::Address;
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::DomId;

pub use access::GuestAccess;
pub use frontend::MAX_DEVICES;
pub use pirqs::GuestPirqs;
pub use platform::{EventPort, Platform, SharedMapping, domain_alive};
/// The op server alone, for the fuzzer's fast op-path target (which
/// serves two pages itself, as [`Backend::run`] would).
#[cfg(feature = "sim")]
pub use server::{Limits, Turn, serve};
pub use store::{Store, Watch};

use crate::{Device, TopologyKind};

/// The directory the toolstack writes backend devices into (relative).
const BACKEND_DIR: &str = "backend/pci";
/// The special path that fires when a domain dies.
const RELEASE_DOMAIN: &str = "@releaseDomain";

/// Settings for every frontend (the `xen-pciback.*` command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The layout guests see (`xen-pciback.passthrough`).
    pub topology: TopologyKind,
    /// Every device permissive (`xen-pciback.permissive`).
    pub permissive: bool,
    /// Most ops one frontend gets answered before the others run (0 is
    /// taken as 1).
    pub op_budget: u32,
}

impl Default for Options {
    /// Linux's defaults (vpci, not permissive), 16 ops a turn.
    fn default() -> Self {
        Self {
            topology: TopologyKind::Vpci,
            permissive: false,
            op_budget: 16,
        }
    }
}

/// Which backend device: `backend/pci/<domid>/<devid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrontendKey {
    /// The frontend's domain.
    pub domid: DomId,
    /// The device id (libxl uses 0).
    pub devid: u32,
}

/// `<domid>/<devid>`, as in `backend/pci/<domid>/<devid>`.
impl fmt::Display for FrontendKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domid, self.devid)
    }
}

/// What the console reports about one frontend.
///
/// Its [`Display`](fmt::Display) form is one line of the `devices` report,
/// a stable form tools may parse:
///
/// ```text
/// frontend <domid>/<devid>: <state>, <n> devices, <ops> ops (<failed> failed), <events> spurious events[, error: <reason>]
/// ```
///
/// `<state>` is the backend's XenBus state by name (`Connected`),
/// `<reason>` what was written to its `error` node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontendStatus {
    /// Which.
    pub key: FrontendKey,
    /// The backend state last switched to.
    pub state: XenbusState,
    /// Devices the frontend has.
    pub devices: usize,
    /// Ops answered.
    pub ops: u64,
    /// Of those, answered with an error.
    pub failed_ops: u64,
    /// Events with no op waiting.
    pub spurious_events: u64,
    /// Why it went to Closing, as written to its `error` node.
    pub error: Option<String>,
}

impl fmt::Display for FrontendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frontend {}: {}, {} devices, {} ops ({} failed), {} spurious events",
            self.key, self.state, self.devices, self.ops, self.failed_ops, self.spurious_events
        )?;
        match &self.error {
            Some(error) => write!(f, ", error: {error}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
struct Entry {
    status: FrontendStatus,
    /// `@releaseDomain` fired since the frontend last looked.
    recheck: bool,
}

/// A frontend's future, polled by [`Backend::run`].
type Child<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// The PCI backend: the device pool and every frontend.
#[derive(Debug)]
pub struct Backend<S: Store, P: Platform> {
    store: S,
    platform: P,
    options: Options,
    /// Devices taken and not given to any frontend.
    pool: RefCell<Vec<Device>>,
    frontends: RefCell<LiteMap<FrontendKey, Entry>>,
    /// The benchmark's floor: configuration reads are answered at once.
    reads_at_once: Cell<bool>,
    /// What polling the frontends' pages did.
    polling: Cell<PollingStats>,
}

/// What polling the frontends' pages did, for every frontend since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollingStats {
    /// Windows started.
    pub windows: u64,
    /// Of those, the ones that saw an op.
    pub ops_seen: u64,
    /// Looks at a page.
    pub looks: u64,
}

impl<S: Store, P: Platform> Backend<S, P> {
    /// A backend serving `devices` (each [`Device::take`]n at boot) over
    /// `store` and `platform`.
    pub fn new(store: S, platform: P, devices: Vec<Device>, options: Options) -> Self {
        Self {
            store,
            platform,
            options,
            pool: RefCell::new(devices),
            frontends: RefCell::new(LiteMap::new_vec()),
            reads_at_once: Cell::new(false),
            polling: Cell::new(PollingStats::default()),
        }
    }

    /// The platform.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// A diagnostic for the benchmark's floor, never the default: with
    /// `on`, every frontend's configuration reads are answered at once with
    /// 0 and `err` 0, without looking at the device (or at whether the
    /// frontend has it): the round trip with nothing of the backend's work
    /// in it. Other ops are served as always.
    pub fn answer_reads_at_once(&self, on: bool) {
        self.reads_at_once.set(on);
    }

    /// What polling the frontends' pages did so far.
    pub fn polling(&self) -> PollingStats {
        self.polling.get()
    }

    /// Adds one polling window's figures.
    fn polled(&self, saw_op: bool, looks: u64) {
        let mut stats = self.polling.get();
        stats.windows = stats.windows.saturating_add(1);
        stats.ops_seen = stats.ops_seen.saturating_add(u64::from(saw_op));
        stats.looks = stats.looks.saturating_add(looks);
        self.polling.set(stats);
    }

    /// The devices no frontend has.
    pub fn free_devices(&self) -> Vec<Address> {
        self.pool.borrow().iter().map(Device::address).collect()
    }

    /// Every frontend being served.
    pub fn frontends(&self) -> Vec<FrontendStatus> {
        self.frontends
            .borrow()
            .values()
            .map(|entry| entry.status.clone())
            .collect()
    }

    /// Serves `backend/pci` for ever. Returns only if it cannot be watched.
    pub async fn run(&self) {
        let mut devices = match self.store.watch(BACKEND_DIR).await {
            Ok(watch) => watch,
            Err(error) => {
                error!("pciback: cannot watch {BACKEND_DIR}: {error}");
                return;
            }
        };
        let mut released = match self.store.watch(RELEASE_DOMAIN).await {
            Ok(watch) => Some(watch),
            Err(error) => {
                warn!(
                    "pciback: cannot watch {RELEASE_DOMAIN} ({error}); dead domains are noticed when the toolstack cleans up"
                );
                None
            }
        };
        info!("pciback: serving {BACKEND_DIR}");
        // Device directories found by listings, to start.
        let found: RefCell<Vec<FrontendKey>> = RefCell::new(Vec::new());
        let mut children: Vec<Child<'_>> = Vec::new();
        loop {
            let wake = {
                let mut changed = pin!(devices.next());
                let mut died = pin!(released.as_mut().map(Watch::next));
                poll_fn(|cx| {
                    loop {
                        let new: Vec<FrontendKey> = found.borrow_mut().drain(..).collect();
                        children.extend(new.into_iter().filter_map(|key| self.adopt(key)));
                        children.retain_mut(|child| child.as_mut().poll(cx).is_pending());
                        if found.borrow().is_empty() {
                            break;
                        }
                    }
                    if let Poll::Ready(path) = changed.as_mut().poll(cx) {
                        return Poll::Ready(Some(path));
                    }
                    match died.as_mut().as_pin_mut().map(|died| died.poll(cx)) {
                        Some(Poll::Ready(_)) => Poll::Ready(None),
                        _ => Poll::Pending,
                    }
                })
                .await
            };
            match wake {
                Some(path) => match FrontendKey::from_path(&path) {
                    Some(key) => children.extend(self.adopt(key)),
                    None => children.push(Box::pin(self.list(&found))),
                },
                None => {
                    for (_, entry) in self.frontends.borrow_mut().iter_mut() {
                        entry.recheck = true;
                    }
                    children.push(Box::pin(self.sweep()));
                }
            }
        }
    }

    /// Lists every device directory into `found` (at start, and when a
    /// whole frontend directory changed).
    async fn list(&self, found: &RefCell<Vec<FrontendKey>>) {
        let domains = match store::directory(&self.store, BACKEND_DIR).await {
            Ok(domains) => domains,
            Err(error) => {
                warn!("pciback: listing {BACKEND_DIR}: {error}");
                return;
            }
        };
        for domain in domains {
            let dir = alloc::format!("{BACKEND_DIR}/{domain}");
            let devices = match store::directory(&self.store, &dir).await {
                Ok(devices) => devices,
                Err(error) => {
                    warn!("pciback: listing {dir}: {error}");
                    continue;
                }
            };
            found.borrow_mut().extend(
                devices
                    .iter()
                    .filter_map(|devid| FrontendKey::from_path(&alloc::format!("{dir}/{devid}"))),
            );
        }
    }

    /// A new frontend's future, unless `key` is being served already.
    fn adopt(&self, key: FrontendKey) -> Option<Child<'_>> {
        let mut frontends = self.frontends.borrow_mut();
        if frontends.contains_key(&key) {
            return None;
        }
        frontends.insert(
            key,
            Entry {
                status: FrontendStatus {
                    key,
                    state: XenbusState::Initialising,
                    devices: 0,
                    ops: 0,
                    failed_ops: 0,
                    spurious_events: 0,
                    error: None,
                },
                recheck: false,
            },
        );
        Some(Box::pin(async move {
            frontend::serve_frontend(self, key).await;
            self.frontends.borrow_mut().remove(&key);
            self.remove_if_dead(key.domid).await;
        }))
    }

    /// After `@releaseDomain`: the directories of domains that are gone
    /// and no longer served ([`Backend::remove_if_dead`]). Those still
    /// served are rechecked by their frontend, which ends with the same.
    async fn sweep(&self) {
        let domains = match store::directory(&self.store, BACKEND_DIR).await {
            Ok(domains) => domains,
            Err(error) => {
                warn!("pciback: listing {BACKEND_DIR}: {error}");
                return;
            }
        };
        for domain in domains {
            let key =
                parse::unsigned(domain.as_bytes()).and_then(|domid| FrontendKey::new(domid, 0));
            if let Some(key) = key {
                self.remove_if_dead(key.domid).await;
            }
        }
    }

    /// Removes what it can of `backend/pci/<domid>` if that domain is gone
    /// and none of its frontends is served any more: each device directory
    /// (this domain owns them), then the domain's directory if that is now
    /// empty and this domain may remove it (else the toolstack's job). That
    /// is libxl's division of labour (`libxl__device_destroy`: "the driver
    /// domain is in charge of removing what it can from the backend path"),
    /// and dom0's toolstack does not know these directories anyway.
    async fn remove_if_dead(&self, domid: DomId) {
        if self.frontends.borrow().keys().any(|key| key.domid == domid)
            || self.platform.domain_exists(domid)
        {
            return;
        }
        let dir = alloc::format!("{BACKEND_DIR}/{domid}");
        let devices = match store::directory(&self.store, &dir).await {
            Ok(devices) => devices,
            Err(error) => {
                warn!("pciback: listing {dir}: {error}");
                return;
            }
        };
        for devid in devices {
            let path = alloc::format!("{dir}/{devid}");
            match store::remove(&self.store, &path).await {
                Ok(()) => info!("pciback: {path} removed: domain {domid} is gone"),
                Err(error) => warn!("pciback: removing {path}: {error}"),
            }
        }
        if store::directory(&self.store, &dir)
            .await
            .is_ok_and(|left| left.is_empty())
        {
            if let Err(error) = store::remove(&self.store, &dir).await {
                debug!("pciback: {dir} left to the toolstack: {error}");
            }
        }
    }

    /// Changes the status of `key`.
    fn update(&self, key: FrontendKey, change: impl FnOnce(&mut FrontendStatus)) {
        if let Some(entry) = self.frontends.borrow_mut().get_mut(&key) {
            change(&mut entry.status);
        }
    }

    /// Whether `@releaseDomain` fired since `key` last asked.
    fn take_recheck(&self, key: FrontendKey) -> bool {
        self.frontends
            .borrow_mut()
            .get_mut(&key)
            .is_some_and(|entry| core::mem::take(&mut entry.recheck))
    }

    /// Takes the device at `address` from the pool.
    fn take(&self, address: Address) -> Option<Device> {
        let mut pool = self.pool.borrow_mut();
        let index = pool.iter().position(|device| device.address() == address)?;
        (index < pool.len()).then(|| pool.swap_remove(index))
    }

    /// Puts a released device back in the pool.
    fn give_back(&self, device: Device) {
        self.pool.borrow_mut().push(device);
    }
}

/// Lets the other ready tasks run before continuing.
fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    /// The `devices` report's line: a form tools parse, pinned here.
    #[test]
    fn a_frontends_report_line_has_its_documented_form() {
        let mut status = FrontendStatus {
            key: FrontendKey { domid: 3, devid: 0 },
            state: XenbusState::Connected,
            devices: 2,
            ops: 4017,
            failed_ops: 1,
            spurious_events: 5,
            error: None,
        };
        assert_eq!(
            status.to_string(),
            "frontend 3/0: Connected, 2 devices, 4017 ops (1 failed), 5 spurious events"
        );
        status.state = XenbusState::Closing;
        status.error = Some("22 Error parsing dev-0".into());
        assert_eq!(
            status.to_string(),
            "frontend 3/0: Closing, 2 devices, 4017 ops (1 failed), 5 spurious events, \
             error: 22 Error parsing dev-0"
        );
    }
}
