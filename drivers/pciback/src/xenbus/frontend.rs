// SPDX-License-Identifier: MIT OR Apache-2.0
//! One frontend: Linux's `xen_pcibk_device` and the handlers of `xenbus.c`.
//!
//! [`serve_frontend`] is the life of one `backend/pci/<domid>/<devid>`
//! directory, run as one future: probe it (only if Initialising, as
//! `xenbus_probe_node`), read `frontend-id` and `frontend`, go InitWait,
//! watch the backend directory and the frontend's `state`, then feed every
//! change to [`state::next`] and do what it says; between events, answer
//! the frontend's ops. A device leaving the guest (hot-unplug, unregister)
//! is reset by a future of its own ([`release`]) while the frontend keeps
//! answering ops, so no op waits for the reset (up to a minute) past
//! pcifront's 2 s; XenBus events wait for it, as Linux's xenbus thread
//! does while its work items answer ops. Whatever goes wrong goes wrong
//! for this frontend only: a bad value or a refused device is a reason in
//! `error/backend/pci/<domid>/<devid>/error` and the state Closing.
//!
//! Differences from Linux, on purpose:
//! - `frontend-id` must match the directory's domid and `frontend` must
//!   lie in that domain's tree;
//! - `num_devs` must be 0 to [`MAX_DEVICES`] (Linux loops over any count);
//! - a failure Linux leaves silent (a `vdev-N` that cannot be written, a
//!   device to remove that the frontend does not have) is reported as the
//!   others are;
//! - `opts-N`'s `permissive=1` makes that device permissive (libxl does
//!   it through pciback's sysfs, which this backend has not);
//! - `opts-N`'s `gsi=<n>` names the GSI of the device's INTx, which the
//!   guest reads as its interrupt line and the platform maps as its PIRQ
//!   (libxl reads it from dom0's sysfs, which this domain cannot see;
//!   `pciback-dd-attach` writes it); a `gsi` that is not one number from 1
//!   to 255, or one for a function without an interrupt pin, fails the
//!   frontend;
//! - a device whose reset does not complete on release is not put back in
//!   the pool (one with no reset method at all is, as it was taken).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::Cell;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::sync::atomic::Ordering;
use core::task::Poll;
use core::time::Duration;

use xen::Errno;
use xen::abi::io::pciif::{FLAGS_OFFSET, XEN_PCI_MAGIC, XEN_PCIF_ACTIVE};
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::{DOMID_FIRST_RESERVED, DomId};

use super::parse::{self, Bdf, DeviceOpts};
use super::platform::{EventPort, Platform, SharedMapping};
use super::poll::PollWindow;
use super::release;
use super::server;
use super::state::{self, Action, Event};
use super::store::{self, Fatal, Store, Watch};
use super::throttle::Throttle;
use super::{Backend, FrontendKey, yield_now};
use crate::{Device, GuestDevices};

/// Most devices one frontend may be given: 32 slots of 8 functions, the
/// most Linux's virtual bus holds.
pub const MAX_DEVICES: u32 = 256;

/// Why an attach failed reading the frontend's keys.
const FRONTEND_CONFIGURATION: &str = "Error reading configuration from frontend";

/// Longest piece of guest text quoted in a reason.
const QUOTE_LIMIT: usize = 32;

/// The page and the event channel of a connected frontend. Fields drop in
/// order: the port is unbound before the page is unmapped, as Linux's
/// `xen_pcibk_disconnect` does.
struct Connection<'p, P: Platform + 'p> {
    port: P::Port<'p>,
    mapping: P::Mapping<'p>,
}

/// Why the frontend's future woke.
enum Wake {
    /// `@releaseDomain` fired: see whether the frontend's domain still exists.
    Recheck,
    /// The backend directory changed.
    Backend,
    /// The frontend's `state` changed.
    Frontend,
    /// An op is waiting, or the event channel fired.
    Port(Arrival),
}

/// How the frontend's port woke its future.
struct Arrival {
    /// An op was seen while polling the page (not by an event).
    polled: bool,
    /// A polling window ran out first: when it started.
    ran_out: Option<Duration>,
}

/// What came first while `Frontend::serve_until` waited for its work.
enum Meanwhile<T> {
    /// The port fired.
    Port(Arrival),
    /// The work is done, with this.
    Done(T),
}

/// How polling the page ended.
enum Polled {
    /// An op is waiting.
    Op,
    /// The window, which started at that time, ran out first.
    RanOut(Duration),
}

/// Looks at the page this many times between two readings of the clock:
/// under Xen a read of the TSC may be a VM exit, the cost polling avoids.
const POLLS_PER_CLOCK: u32 = 64;

/// Polls `c`'s page for an op for about `window`, with the port's
/// notifications off meanwhile (back on however the future ends). The
/// window is timed from the first reading of the clock, so an op that
/// comes at once costs none. Also says how many looks it took.
async fn poll_page<P: Platform>(
    platform: &P,
    c: &Connection<'_, P>,
    window: Duration,
) -> (Polled, u32) {
    /// Turns the port's notifications back on when polling ends.
    struct Quiet<'a, E: EventPort>(&'a E);
    impl<E: EventPort> Drop for Quiet<'_, E> {
        fn drop(&mut self) {
            self.0.enable_notifications();
        }
    }
    let Ok(flags) = c.mapping.page().atomic_u32(FLAGS_OFFSET) else {
        // A page that holds no handshake has nothing to poll.
        return (Polled::RanOut(platform.now()), 0);
    };
    c.port.disable_notifications();
    let _quiet = Quiet(&c.port);
    let mut polls = 0u32;
    let mut deadline: Option<(Duration, Duration)> = None;
    let polled = poll_fn(|cx| {
        // Acquire: pairs with the frontend's barrier before it set the bit.
        if flags.load(Ordering::Acquire) & XEN_PCIF_ACTIVE != 0 {
            return Poll::Ready(Polled::Op);
        }
        polls = polls.wrapping_add(1);
        if polls % POLLS_PER_CLOCK == 0 {
            let now = platform.now();
            let (started, until) = *deadline.get_or_insert((now, now.saturating_add(window)));
            if now >= until {
                return Poll::Ready(Polled::RanOut(started));
            }
        }
        platform.spin();
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
    (polled, polls.saturating_add(1))
}

/// Whether to keep serving the frontend.
enum Flow {
    /// Go on with the next action.
    Continue,
    /// Handle this event next.
    Then(Event),
    /// The frontend is unregistered.
    Stop,
}

/// One frontend, from probe to unregister.
struct Frontend<'b, S: Store, P: Platform> {
    backend: &'b Backend<S, P>,
    key: FrontendKey,
    /// `backend/pci/<domid>/<devid>`, relative to this domain.
    dir: String,
    /// The frontend's directory (absolute), from `frontend`.
    frontend_dir: String,
    /// The state last switched to (Linux's cached `xdev->state`).
    written: XenbusState,
    devices: GuestDevices,
    interrupts: P::Interrupts<'b>,
    connection: Option<Connection<'b, P>>,
    /// Events that brought no op (XSA-332).
    throttle: Throttle,
    /// How long to poll the page after an answer.
    window: PollWindow,
    /// Ops were answered: poll the page before waiting for an event.
    poll_next: Cell<bool>,
    /// Ops answered by polling: their events come all the same, later,
    /// and the first of them finding no op is not spurious.
    polled_ops: bool,
}

/// The life of the frontend at `key`, from probe to unregister.
pub(super) async fn serve_frontend<S: Store, P: Platform>(
    backend: &Backend<S, P>,
    key: FrontendKey,
) {
    let dir = key.dir();
    let store = &backend.store;
    if store::read_state(store, &dir).await != Some(XenbusState::Initialising) {
        // Not new: a device going away, or one that failed before.
        return;
    }
    let frontend_dir = match read_details(store, &dir, key.domid).await {
        Ok(frontend_dir) => frontend_dir,
        Err(reason) => {
            store::write_error(store, &dir, &reason).await;
            backend.update(key, |status| status.error = Some(reason.text()));
            if let Err(error) = store::switch_state(store, &dir, XenbusState::Closing).await {
                warn!("{dir}: cannot switch to Closing: {error}");
            }
            return;
        }
    };
    let mut frontend = Frontend {
        backend,
        key,
        dir,
        frontend_dir,
        written: XenbusState::Initialising,
        devices: GuestDevices::new(backend.options.topology, backend.options.permissive),
        interrupts: backend.platform.interrupts(key.domid),
        connection: None,
        throttle: Throttle::default(),
        window: PollWindow::default(),
        poll_next: Cell::new(false),
        polled_ops: false,
    };
    if let Err(reason) = frontend.switch(XenbusState::InitWait).await {
        frontend.fail(&reason).await;
        return;
    }
    let backend_dir = frontend.dir.clone();
    let Some(mut backend_watch) = frontend.watch(&backend_dir).await else {
        return;
    };
    let frontend_state = format!("{}/state", frontend.frontend_dir);
    if let Some(mut frontend_watch) = frontend.watch(&frontend_state).await {
        frontend.run(&mut backend_watch, &mut frontend_watch).await;
        if let Err(error) = store.unwatch(frontend_watch).await {
            warn!("{}: unwatching {frontend_state}: {error}", frontend.dir);
        }
    }
    if let Err(error) = store.unwatch(backend_watch).await {
        warn!("{}: unwatching it: {error}", frontend.dir);
    }
}

/// `frontend` and `frontend-id` (Linux's `xenbus_read_otherend_details`):
/// the frontend's directory, checked to exist and to be the domain's.
async fn read_details<S: Store>(store: &S, dir: &str, domid: DomId) -> Result<String, Fatal> {
    let details = || format!("reading other end details from {dir}");
    let id = store::read(store, &format!("{dir}/frontend-id"))
        .await
        .map_err(|error| Fatal::store(error, details()))?;
    let path = store::read(store, &format!("{dir}/frontend"))
        .await
        .map_err(|error| Fatal::store(error, details()))?;
    let (Some(id), Some(path)) = (id, path) else {
        return Err(Fatal::new(Errno::ENOENT, details()));
    };
    if parse::unsigned(&id) != Some(u32::from(domid)) {
        return Err(Fatal::new(
            Errno::EINVAL,
            format!(
                "frontend-id {} does not match {dir}",
                parse::printable(&id, QUOTE_LIMIT)
            ),
        ));
    }
    let missing = || {
        Fatal::new(
            Errno::ENOENT,
            format!("unable to read other end from {dir}.  missing or inaccessible."),
        )
    };
    let path = String::from_utf8(path).map_err(|_| missing())?;
    if !path.starts_with(&format!("/local/domain/{domid}/")) {
        return Err(Fatal::new(
            Errno::EINVAL,
            format!(
                "frontend {} is not in domain {domid}",
                parse::printable(path.as_bytes(), QUOTE_LIMIT)
            ),
        ));
    }
    if !store::exists(store, &path).await {
        return Err(missing());
    }
    Ok(path)
}

impl FrontendKey {
    /// The key of the backend directory `path` names
    /// (`backend/pci/<domid>/<devid>[/...]`), if it names one.
    pub(super) fn from_path(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(super::BACKEND_DIR)?.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let domid = parse::unsigned(parts.next()?.as_bytes())?;
        let devid = parse::unsigned(parts.next()?.as_bytes())?;
        Self::new(domid, devid)
    }

    /// A key, if `domid` is an ordinary domain's.
    pub(super) fn new(domid: u32, devid: u32) -> Option<Self> {
        let domid = DomId::try_from(domid)
            .ok()
            .filter(|&domid| domid < DOMID_FIRST_RESERVED)?;
        Some(Self { domid, devid })
    }

    /// `backend/pci/<domid>/<devid>`.
    pub(super) fn dir(self) -> String {
        format!("{}/{}/{}", super::BACKEND_DIR, self.domid, self.devid)
    }
}

impl<'b, S: Store, P: Platform> Frontend<'b, S, P> {
    fn store(&self) -> &'b S {
        &self.backend.store
    }

    fn platform(&self) -> &'b P {
        &self.backend.platform
    }

    /// Watches `path`; on failure, fails the device and returns `None`.
    async fn watch(&mut self, path: &str) -> Option<S::Watch<'b>> {
        match self.store().watch(path).await {
            Ok(watch) => Some(watch),
            Err(error) => {
                self.fail(&Fatal::store(error, format!("adding watch on {path}")))
                    .await;
                None
            }
        }
    }

    /// Serves the frontend until it is unregistered.
    async fn run(&mut self, backend_watch: &mut S::Watch<'b>, frontend_watch: &mut S::Watch<'b>) {
        loop {
            let event = match self.wait(backend_watch, frontend_watch).await {
                Wake::Recheck if !self.platform().domain_exists(self.key.domid) => {
                    Some(Event::FrontendGone)
                }
                Wake::Recheck | Wake::Frontend => {
                    store::read_state(self.store(), &self.frontend_dir)
                        .await
                        .map(Event::FrontendChanged)
                }
                Wake::Backend => Some(Event::BackendChanged),
                Wake::Port(arrival) => {
                    self.on_port(arrival).await;
                    None
                }
            };
            if let Some(event) = event {
                if !self.handle(event).await {
                    return;
                }
                self.serve_ops().await;
            }
        }
    }

    /// The port fired or an op was seen: answers the ops waiting, or
    /// counts the event as spurious (XSA-332).
    async fn on_port(&mut self, arrival: Arrival) {
        if let Some(started) = arrival.ran_out {
            self.window.ran_out(started);
        }
        if self.serve_ops().await > 0 {
            self.throttle.served();
            self.answered(arrival.polled);
        } else if !arrival.polled && core::mem::take(&mut self.polled_ops) {
            // The event of an op answered by polling.
        } else {
            self.backend.update(self.key, |status| {
                status.spurious_events = status.spurious_events.saturating_add(1)
            });
            if self.throttle.spurious(self.platform().now()) {
                warn!(
                    "{}: events without ops keep coming; its port is looked at once a second until one brings an op",
                    self.dir
                );
            }
        }
    }

    /// After ops came in (`polled`: seen while polling): adapts the
    /// polling window to when they came, and polls before the next wait.
    fn answered(&mut self, polled: bool) {
        if polled {
            self.polled_ops = true;
            self.window.op_arrived(Duration::ZERO, true);
        } else if self.window.needs_clock() {
            self.window.op_arrived(self.platform().now(), false);
        }
        match self.window.window() {
            Some(_) => self.poll_next.set(true),
            None => self.window.skipped(self.platform().now()),
        }
    }

    /// Waits for the next thing to do; the port only once the throttle
    /// allows, after polling the page for a while if ops were just
    /// answered.
    async fn wait(
        &self,
        backend_watch: &mut S::Watch<'b>,
        frontend_watch: &mut S::Watch<'b>,
    ) -> Wake {
        let mut backend_changed = pin!(backend_watch.next());
        let mut frontend_changed = pin!(frontend_watch.next());
        let poll = self.window.window().filter(|_| self.poll_next.get());
        let mut fired = pin!(self.arrival(poll));
        poll_fn(|cx| {
            if self.backend.take_recheck(self.key) {
                return Poll::Ready(Wake::Recheck);
            }
            if backend_changed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wake::Backend);
            }
            if frontend_changed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wake::Frontend);
            }
            match fired.as_mut().as_pin_mut().map(|port| port.poll(cx)) {
                Some(Poll::Ready(arrival)) => Poll::Ready(Wake::Port(arrival)),
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// The next op or event on the port, once the throttle allows, after
    /// polling the page for `poll` if given; `None` when not connected.
    fn arrival(&self, poll: Option<Duration>) -> Option<impl Future<Output = Arrival> + '_> {
        let c = self.connection.as_ref()?;
        let until = self.throttle.until();
        Some(async move {
            if let Some(until) = until {
                self.platform().sleep_until(until).await;
            }
            let mut ran_out = None;
            if let Some(window) = poll {
                let (polled, looks) = poll_page(self.platform(), c, window).await;
                self.backend
                    .polled(matches!(polled, Polled::Op), u64::from(looks));
                match polled {
                    Polled::Op => {
                        return Arrival {
                            polled: true,
                            ran_out,
                        };
                    }
                    Polled::RanOut(started) => {
                        self.poll_next.set(false);
                        ran_out = Some(started);
                    }
                }
            }
            c.port.wait().await;
            Arrival {
                polled: false,
                ran_out,
            }
        })
    }

    /// Does what [`state::next`] says for `event`; `false` once unregistered.
    async fn handle(&mut self, event: Event) -> bool {
        let mut pending = Some(event);
        while let Some(event) = pending.take() {
            let own = match store::read(self.store(), &format!("{}/state", self.dir)).await {
                Ok(None) => None,
                Ok(Some(value)) => Some(parse::state(&value).unwrap_or(XenbusState::Unknown)),
                Err(_) => Some(XenbusState::Unknown),
            };
            let (own, event) = match own {
                Some(own) => (own, event),
                None => (XenbusState::Unknown, Event::BackendGone),
            };
            for &action in state::next(own, event) {
                match self.act(action).await {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Then(next)) => pending = Some(next),
                    Ok(Flow::Stop) => return false,
                    Err(reason) => {
                        self.fail(&reason).await;
                        break;
                    }
                }
            }
        }
        true
    }

    async fn act(&mut self, action: Action) -> Result<Flow, Fatal> {
        match action {
            Action::ExportAll => self.export_all().await?,
            Action::Reconfigure => self.reconfigure().await?,
            Action::CheckFrontend => {
                let state = store::read_state(self.store(), &self.frontend_dir).await;
                if let Some(state) = state {
                    return Ok(Flow::Then(Event::FrontendChanged(state)));
                }
            }
            Action::Attach => self.attach().await?,
            Action::Switch(state) => self.switch(state).await?,
            Action::Disconnect => self.disconnect(),
            Action::UnregisterUnlessOnline => {
                // xenbus_dev_is_online: any non-zero number.
                let online = store::read(self.store(), &format!("{}/online", self.dir)).await;
                if !matches!(online, Ok(Some(value)) if parse::unsigned(&value).is_some_and(|n| n != 0))
                {
                    self.unregister().await;
                    return Ok(Flow::Stop);
                }
            }
            Action::Unregister => {
                self.unregister().await;
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    /// Linux's `xenbus_switch_state`: nothing if `state` was the last one
    /// switched to; nothing written if the node is gone.
    async fn switch(&mut self, state: XenbusState) -> Result<(), Fatal> {
        if state == self.written {
            return Ok(());
        }
        store::switch_state(self.store(), &self.dir, state)
            .await
            .map_err(|error| Fatal::store(error, format!("Error switching to {state} state")))?;
        self.written = state;
        self.backend.update(self.key, |status| status.state = state);
        Ok(())
    }

    /// Linux's `xenbus_dev_fatal`: the reason, then Closing.
    async fn fail(&mut self, reason: &Fatal) {
        store::write_error(self.store(), &self.dir, reason).await;
        self.backend
            .update(self.key, |status| status.error = Some(reason.text()));
        if let Err(error) = self.switch(XenbusState::Closing).await {
            warn!("{}: {}", self.dir, error.text());
        }
    }

    /// A key of the backend directory.
    async fn read_own(&self, key: &str) -> Result<Option<Vec<u8>>, Fatal> {
        store::read(self.store(), &format!("{}/{key}", self.dir))
            .await
            .map_err(|error| Fatal::store(error, format!("Error reading {key}")))
    }

    /// Writes a key of the backend directory; `what` names it in the reason.
    async fn write_own(&self, key: &str, value: &str, what: String) -> Result<(), Fatal> {
        store::write(
            self.store(),
            &format!("{}/{key}", self.dir),
            value.as_bytes(),
        )
        .await
        .map_err(|error| Fatal::store(error, what))
    }

    /// `num_devs`.
    async fn device_count(&self) -> Result<u32, Fatal> {
        const WHAT: &str = "Error reading number of devices";
        let value = self
            .read_own("num_devs")
            .await?
            .ok_or(Fatal::new(Errno::ENOENT, WHAT))?;
        let count = parse::signed(&value).ok_or(Fatal::new(Errno::EINVAL, WHAT))?;
        u32::try_from(count)
            .ok()
            .filter(|&count| count <= MAX_DEVICES)
            .ok_or_else(|| {
                Fatal::new(
                    Errno::EINVAL,
                    format!("{WHAT}: {count} is not 0 to {MAX_DEVICES}"),
                )
            })
    }

    /// `dev-N` or `vdev-N`.
    async fn read_bdf(&self, key: &str) -> Result<Bdf, Fatal> {
        let value = self.read_own(key).await?.ok_or(Fatal::new(
            Errno::ENOENT,
            "Error reading device configuration",
        ))?;
        Bdf::parse(&value).ok_or(Fatal::new(
            Errno::EINVAL,
            "Error parsing pci device configuration",
        ))
    }

    /// Linux's `xen_pcibk_setup_backend`: every `dev-N`, then the roots.
    async fn export_all(&mut self) -> Result<(), Fatal> {
        for index in 0..self.device_count().await? {
            let bdf = self.read_bdf(&format!("dev-{index}")).await?;
            self.export(bdf, index).await?;
            self.write_substate(index).await?;
        }
        self.publish_roots().await
    }

    /// `state-N` = Initialised: the device is exported.
    async fn write_substate(&self, index: u32) -> Result<(), Fatal> {
        self.write_own(
            &format!("state-{index}"),
            XenbusState::Initialised.as_str(),
            format!("Error switching substate of dev-{index}"),
        )
        .await
    }

    /// `opts-N`, parsed (none: nothing asked for).
    async fn read_options(&self, index: u32) -> Result<DeviceOpts, Fatal> {
        let key = format!("opts-{index}");
        let Some(opts) = self.read_own(&key).await? else {
            return Ok(DeviceOpts::default());
        };
        parse::device_options(&opts).map_err(|option| {
            Fatal::new(
                Errno::EINVAL,
                format!(
                    "Error parsing {key}: {} (one gsi=N, N from 1 to {})",
                    parse::printable(option, QUOTE_LIMIT),
                    parse::MAX_GSI
                ),
            )
        })
    }

    /// Linux's `xen_pcibk_export_device`: takes the device from the pool,
    /// applies its `opts-N`, gives it to the guest, writes `vdev-N`.
    async fn export(&mut self, bdf: Bdf, index: u32) -> Result<(), Fatal> {
        let options = self.read_options(index).await?;
        let Some(mut device) = bdf.address().and_then(|address| self.backend.take(address)) else {
            return Err(Fatal::new(
                Errno::EINVAL,
                format!("Couldn't locate PCI device ({bdf})! perhaps already in-use?"),
            ));
        };
        let address = device.address();
        if let Some(gsi) = options.gsi.filter(|_| device.interrupt_pin() == 0) {
            self.backend.give_back(device);
            return Err(Fatal::new(
                Errno::EINVAL,
                format!(
                    "Error parsing opts-{index}: gsi={gsi} for {address}, which has no interrupt pin"
                ),
            ));
        }
        if options.permissive {
            device.set_permissive();
        }
        device.set_gsi(options.gsi);
        if let Err(errno) = self.platform().assign(self.key.domid, &device) {
            device.set_gsi(None);
            self.backend.give_back(device);
            return Err(Fatal::new(
                errno,
                format!(
                    "Couldn't assign PCI device {address} to domain {}",
                    self.key.domid
                ),
            ));
        }
        let guest = match self.devices.add(device) {
            Ok(guest) => guest,
            Err(refused) => {
                self.release(*refused.device).await;
                return Err(Fatal::new(
                    Errno::ENOMEM,
                    "No more space on root virtual PCI bus",
                ));
            }
        };
        self.backend
            .update(self.key, |status| status.devices = self.devices.len());
        info!("{}: exporting {address} as {guest}", self.dir);
        self.write_own(
            &format!("vdev-{index}"),
            &guest.to_string(),
            format!("Error writing vdev-{index}"),
        )
        .await
    }

    /// Linux's `xen_pcibk_publish_pci_roots`: every root bus not yet in
    /// `root-K`, appended, with `root_num` after each.
    async fn publish_roots(&self) -> Result<(), Fatal> {
        const WHAT: &str = "Error while publish PCI root buses for frontend";
        let published = match self.read_own("root_num").await? {
            None => 0,
            Some(value) => parse::count(&value).ok_or(Fatal::new(Errno::EINVAL, WHAT))?,
        };
        let mut roots = Vec::new();
        for index in 0..published {
            let value = self.read_own(&format!("root-{index}")).await?;
            let root = value.as_deref().and_then(parse::root);
            roots.push(root.ok_or(Fatal::new(Errno::EINVAL, WHAT))?);
        }
        for root in self.devices.roots() {
            if roots.contains(&root) {
                continue;
            }
            let key = format!("root-{}", roots.len());
            self.write_own(&key, &root.to_string(), String::from(WHAT))
                .await?;
            roots.push(root);
            self.write_own("root_num", &roots.len().to_string(), String::from(WHAT))
                .await?;
        }
        Ok(())
    }

    /// Linux's `xen_pcibk_reconfigure`: attach the `state-N` = Initialising
    /// devices, detach the `state-N` = Closing ones.
    async fn reconfigure(&mut self) -> Result<(), Fatal> {
        for index in 0..self.device_count().await? {
            let substate = self
                .read_own(&format!("state-{index}"))
                .await?
                .and_then(|value| parse::state(&value))
                .unwrap_or(XenbusState::Unknown);
            match substate {
                XenbusState::Initialising => {
                    let bdf = self.read_bdf(&format!("dev-{index}")).await?;
                    self.export(bdf, index).await?;
                    self.publish_roots().await?;
                    self.write_substate(index).await?;
                }
                XenbusState::Closing => {
                    let bdf = self.read_bdf(&format!("vdev-{index}")).await?;
                    self.remove(bdf).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Linux's `xen_pcibk_remove_device`.
    async fn remove(&mut self, bdf: Bdf) -> Result<(), Fatal> {
        let Some(device) = bdf.guest().and_then(|guest| self.devices.remove(guest)) else {
            return Err(Fatal::new(
                Errno::EINVAL,
                format!("Couldn't locate PCI device ({bdf})! not owned by this domain"),
            ));
        };
        info!("{}: removing {}", self.dir, device.address());
        self.release(device).await;
        self.backend
            .update(self.key, |status| status.devices = self.devices.len());
        Ok(())
    }

    /// Takes a device (already off the guest's list) back from the guest:
    /// [`release::release`], run beside this frontend's op serving, so
    /// the guest's ops on its other devices are answered during the
    /// reset's waits and an op on this one finds no device, as in Linux.
    async fn release(&mut self, device: Device) {
        let releasing = pin!(release::release(self.backend, self.key, device));
        self.serve_until(releasing).await;
    }

    /// Answers the frontend's ops as they come until `work` is done, and
    /// returns what it returned. XenBus events wait meanwhile (their
    /// watches keep them), as Linux's xenbus thread waits for a reset while
    /// its op work items run. No polling of the page: ops come with their
    /// event.
    async fn serve_until<F: Future>(&mut self, mut work: Pin<&mut F>) -> F::Output {
        loop {
            let next = {
                let mut port = pin!(self.arrival(None));
                poll_fn(|cx| {
                    if let Poll::Ready(output) = work.as_mut().poll(cx) {
                        return Poll::Ready(Meanwhile::Done(output));
                    }
                    match port.as_mut().as_pin_mut().map(|port| port.poll(cx)) {
                        Some(Poll::Ready(arrival)) => Poll::Ready(Meanwhile::Port(arrival)),
                        _ => Poll::Pending,
                    }
                })
                .await
            };
            match next {
                Meanwhile::Port(arrival) => self.on_port(arrival).await,
                Meanwhile::Done(output) => return output,
            }
        }
    }

    /// A key the frontend published for the attach.
    async fn read_frontend(&self, key: &str) -> Result<Vec<u8>, Fatal> {
        store::read(self.store(), &format!("{}/{key}", self.frontend_dir))
            .await
            .map_err(|error| Fatal::store(error, FRONTEND_CONFIGURATION))?
            .ok_or(Fatal::new(Errno::ENOENT, FRONTEND_CONFIGURATION))
    }

    /// Linux's `xen_pcibk_attach`.
    async fn attach(&mut self) -> Result<(), Fatal> {
        let number = |value: Vec<u8>| {
            parse::unsigned(&value).ok_or(Fatal::new(Errno::EINVAL, FRONTEND_CONFIGURATION))
        };
        let gref = number(self.read_frontend("pci-op-ref").await?)?;
        let port = number(self.read_frontend("event-channel").await?)?;
        let magic = self.read_frontend("magic").await?;
        if magic != XEN_PCI_MAGIC.as_bytes() {
            return Err(Fatal::new(
                Errno::EFAULT,
                format!(
                    "version mismatch ({}/{XEN_PCI_MAGIC}) with pcifront - halting xen-pciback",
                    parse::printable(&magic, QUOTE_LIMIT)
                ),
            ));
        }
        let (domid, remote_port) = (self.key.domid, port);
        let mapping = self
            .platform()
            .map_grant(domid, gref)
            .map_err(|errno| Fatal::new(errno, "Error mapping other domain page in ours."))?;
        let port = self
            .platform()
            .bind_interdomain(domid, port)
            .map_err(|errno| Fatal::new(errno, "Error binding event channel to IRQ"))?;
        info!(
            "{}: attached to grant {gref}, event channel {remote_port}",
            self.dir
        );
        self.connection = Some(Connection { port, mapping });
        Ok(())
    }

    /// Linux's `xen_pcibk_disconnect`.
    fn disconnect(&mut self) {
        if self.connection.take().is_some() {
            info!("{}: disconnected", self.dir);
        }
    }

    /// Linux's `free_pdev` and `xenbus_dev_remove`: disconnect, release
    /// every device, Closed (if the node is still there).
    async fn unregister(&mut self) {
        self.disconnect();
        for device in self.devices.drain() {
            self.release(device).await;
        }
        self.backend.update(self.key, |status| status.devices = 0);
        if let Err(reason) = self.switch(XenbusState::Closed).await {
            warn!("{}: {}", self.dir, reason.text());
        }
        info!("{}: unregistered", self.dir);
    }

    /// Answers waiting ops, [`super::Options::op_budget`] at a time,
    /// letting the other tasks run between batches. Returns how many.
    async fn serve_ops(&mut self) -> u32 {
        let platform = self.platform();
        let mut answered = 0u32;
        loop {
            let Some(connection) = &self.connection else {
                return answered;
            };
            let mut refused = None;
            let turn = server::serve(
                connection.mapping.page(),
                &mut self.devices,
                platform.config(),
                &mut self.interrupts,
                platform.delay(),
                server::Limits {
                    budget: self.backend.options.op_budget.max(1),
                    reads_at_once: self.backend.reads_at_once.get(),
                },
                &mut || {
                    if let Err(errno) = connection.port.notify() {
                        refused = Some(errno);
                    }
                },
            )
            .await;
            // Once a turn, not once an op: the guest controls the count.
            if let Some(errno) = refused {
                warn!("{}: notifying the frontend: {errno}", self.dir);
            }
            answered = answered.saturating_add(turn.answered);
            self.backend.update(self.key, |status| {
                status.ops = status.ops.saturating_add(u64::from(turn.answered));
                status.failed_ops = status.failed_ops.saturating_add(u64::from(turn.failed));
            });
            if !turn.more {
                return answered;
            }
            yield_now().await;
        }
    }
}
