// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`SimPcifront`]: a guest's `xen-pcifront`, as Linux's `xen-pcifront.c` behaves.
//!
//! Same keys, same states, same handshake, one step per Linux function:
//!
//! - probe (`pcifront_publish_info`): grant a zeroed page to `backend-id`
//!   with `_XEN_PCIB_AERHANDLER` set, allocate an unbound event channel for
//!   it, write `pci-op-ref`, `event-channel` and `magic` in a transaction,
//!   go Initialised;
//! - backend Connected (`pcifront_try_connect`): read `root_num` (none:
//!   scan `0000:00`), scan all 256 functions of every `root-K`, go
//!   Connected;
//! - backend Reconfiguring (`pcifront_detach_devices`): drop the devices
//!   whose `state-N` is Closing, go Reconfiguring; backend Reconfigured
//!   (`pcifront_attach_devices`): scan again, go Connected;
//! - backend Closing or Closed (`pcifront_try_disconnect`): forget the
//!   devices, go Closed;
//! - an op (`do_pci_op`): write the op, barrier, set `_XEN_PCIF_active`,
//!   notify, wait for the bit to clear; after 2 s (virtual) give up, clear
//!   the bit and answer `XEN_PCI_ERR_dev_not_found`.
//!
//! A test can make it publish other values ([`SimPcifront::publish_instead`])
//! or post ops without waiting ([`SimPcifront::post`]), as a hostile guest.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::sync::atomic::Ordering;
use core::task::Poll;
use core::time::Duration;
use std::sync::Arc;

use pci::Address;
use xen::Errno;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::grant_table::GrantRef;
use xen::abi::io::pciif::{
    FLAGS_OFFSET, OP_OFFSET, XEN_PCI_ERR_DEV_NOT_FOUND, XEN_PCI_MAGIC, XEN_PCI_OP_CONF_READ,
    XEN_PCI_OP_CONF_WRITE, XEN_PCIB_AERHANDLER, XEN_PCIF_ACTIVE, XenPciOp,
};
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::DomId;
use xen::hypercall::event_channel;
use xen::shared_page::{PageFrame, SharedPage};
use xen::sim::FakeDomain;
use xen::xenstore::{Reply, Request, TransactionOutcome, TransactionRetry, XenstoreError};

use super::{SimStore, SimWorld};
use crate::xenbus::Store;
use crate::xenbus::parse::{self, Bdf};
use crate::{RootBus, VirtualAddress};

/// How long `do_pci_op` waits for the backend.
const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// Functions on a bus.
const DEVFNS: u8 = u8::MAX;

/// The page and the port the frontend set up.
#[derive(Debug)]
struct Shared {
    page: Arc<PageFrame>,
    gref: GrantRef,
    port: EvtchnPort,
}

/// A guest's PCI frontend for device `device/pci/0`.
#[derive(Debug)]
pub struct SimPcifront {
    world: SimWorld,
    store: SimStore,
    hypercalls: FakeDomain,
    domid: DomId,
    /// `device/pci/0`, relative to the guest.
    dir: String,
    /// The state last switched to (`xdev->state`).
    state: Cell<XenbusState>,
    /// The backend's directory and domain, from `backend` and `backend-id`.
    backend: RefCell<Option<(String, DomId)>>,
    shared: RefCell<Option<Shared>>,
    devices: RefCell<BTreeSet<VirtualAddress>>,
    /// Keys to publish with another value (`None`: not at all).
    instead: RefCell<Vec<(String, Option<String>)>>,
    /// A shutdown is under way (`system_state > SYSTEM_RUNNING`).
    shutting_down: Cell<bool>,
    /// Whether connecting scans the root buses.
    scans: Cell<bool>,
}

impl SimPcifront {
    /// The frontend of domain `domid` (already in `world`).
    pub fn new(world: &SimWorld, domid: DomId) -> Rc<Self> {
        Rc::new(Self {
            world: world.clone(),
            store: world.store(domid),
            hypercalls: world.xen().domain(domid),
            domid,
            dir: String::from("device/pci/0"),
            state: Cell::new(XenbusState::Initialising),
            backend: RefCell::new(None),
            shared: RefCell::new(None),
            devices: RefCell::new(BTreeSet::new()),
            instead: RefCell::new(Vec::new()),
            shutting_down: Cell::new(false),
            scans: Cell::new(true),
        })
    }

    /// Connects without scanning the root buses (the 256 reads per root
    /// of `pcifront_scan_root`): for a test that posts its own ops and
    /// runs the handshake many times, as a fuzzer does. Call before
    /// [`SimPcifront::run`].
    pub fn skip_scan(&self) {
        self.scans.set(false);
    }

    /// Publishes `value` as `key` instead of the real value (`None`: leaves
    /// the key out). Call before [`SimPcifront::run`].
    pub fn publish_instead(&self, key: &str, value: Option<&str>) {
        self.instead
            .borrow_mut()
            .push((String::from(key), value.map(String::from)));
    }

    /// The state last switched to.
    pub fn state(&self) -> XenbusState {
        self.state.get()
    }

    /// The functions the last scans found.
    pub fn devices(&self) -> Vec<VirtualAddress> {
        self.devices.borrow().iter().copied().collect()
    }

    /// The shared page, as the guest sees it (for tests that play a
    /// hostile guest).
    pub fn shared_page(&self) -> Option<Arc<PageFrame>> {
        self.shared
            .borrow()
            .as_ref()
            .map(|shared| Arc::clone(&shared.page))
    }

    /// The grant reference and event channel it published.
    pub fn published(&self) -> Option<(GrantRef, EvtchnPort)> {
        self.shared
            .borrow()
            .as_ref()
            .map(|shared| (shared.gref, shared.port))
    }

    /// The xenbus core and the driver: read the backend's details, probe,
    /// then follow the backend's state for ever.
    pub async fn run(self: Rc<Self>) {
        let Some(backend_dir) = self.talk_to_otherend().await else {
            return;
        };
        if let Err(reason) = self.publish_info().await {
            self.fatal(reason.0, &reason.1).await;
            return;
        }
        let Ok(watch) = self.store.watch(&format!("{backend_dir}/state")).await else {
            return;
        };
        loop {
            watch.next().await;
            if let Some(state) = self.read_backend_state(&backend_dir).await {
                self.backend_changed(state).await;
            }
        }
    }

    /// Linux's `xenbus_dev_shutdown`: Closing, then Closed once the backend
    /// is Closing (`xenbus_frontend_closed`).
    pub async fn shutdown(&self) {
        self.shutting_down.set(true);
        self.switch(XenbusState::Closing).await;
    }

    /// The backend's state as `xenbus_read_driver_state` reads it.
    async fn read_backend_state(&self, backend_dir: &str) -> Option<XenbusState> {
        match self.read(&format!("{backend_dir}/state")).await {
            Some(value) => crate::xenbus::parse::state(&value),
            None => Some(XenbusState::Unknown),
        }
    }

    async fn read(&self, path: &str) -> Option<Vec<u8>> {
        match self.store.request(None, Request::Read { path }).await {
            Ok(Reply::Value(value)) => Some(value),
            _ => None,
        }
    }

    async fn write(&self, tx: Option<xen::xenstore::TxId>, path: &str, value: &str) -> bool {
        let request = Request::Write {
            path,
            value: value.as_bytes(),
        };
        self.store.request(tx, request).await.is_ok()
    }

    /// Linux's `xenbus_switch_state`.
    async fn switch(&self, state: XenbusState) {
        if state == self.state.get() {
            return;
        }
        match crate::xenbus::store::switch_state(&self.store, &self.dir, state).await {
            Ok(_) => self.state.set(state),
            Err(error) => log::warn!("dom{}: switching to {state}: {error}", self.domid),
        }
    }

    /// Linux's `xenbus_dev_fatal`.
    async fn fatal(&self, errno: Errno, message: &str) {
        let text = format!("{} {message}", errno.code());
        self.write(None, &format!("error/{}/error", self.dir), &text)
            .await;
        self.switch(XenbusState::Closing).await;
    }

    /// `backend` and `backend-id` (`xenbus_read_otherend_details`).
    async fn talk_to_otherend(&self) -> Option<String> {
        let id = self.read(&format!("{}/backend-id", self.dir)).await?;
        let path = self.read(&format!("{}/backend", self.dir)).await?;
        let id = core::str::from_utf8(&id).ok()?.parse::<DomId>().ok()?;
        let path = String::from_utf8(path).ok()?;
        *self.backend.borrow_mut() = Some((path.clone(), id));
        Some(path)
    }

    /// Linux's `pcifront_publish_info`.
    async fn publish_info(&self) -> Result<(), (Errno, String)> {
        let backend_id = self
            .backend
            .borrow()
            .as_ref()
            .map(|(_, id)| *id)
            .ok_or((Errno::ENOENT, String::from("no backend")))?;
        let xen = self.world.xen();
        let (gref, page) = xen
            .grant_page(self.domid, backend_id, false)
            .ok_or((Errno::ENOMEM, String::from("granting the page")))?;
        let view = SharedPage::new(&page);
        let flags = view
            .atomic_u32(FLAGS_OFFSET)
            .map_err(|_| (Errno::EFAULT, String::from("the page")))?;
        flags.store(0, Ordering::Relaxed);
        flags.fetch_or(XEN_PCIB_AERHANDLER, Ordering::SeqCst);
        let port = event_channel::alloc_unbound(&self.hypercalls, backend_id)
            .map_err(|errno| (errno, String::from("allocating the event channel")))?;
        *self.shared.borrow_mut() = Some(Shared { page, gref, port });
        let gref = gref.to_string();
        let port = port.to_string();
        let values = [
            ("pci-op-ref", gref.as_str()),
            ("event-channel", port.as_str()),
            ("magic", XEN_PCI_MAGIC),
        ];
        let mut retry = TransactionRetry::new(8);
        loop {
            let tx = match self.store.request(None, Request::TransactionStart).await {
                Ok(Reply::Transaction(tx)) => tx,
                _ => {
                    return Err((
                        Errno::EIO,
                        String::from("Error writing configuration for backend (start transaction)"),
                    ));
                }
            };
            let mut written = true;
            for (key, value) in values {
                let value = self.value_for(key, value);
                if let Some(value) = value {
                    written &= self
                        .write(Some(tx), &format!("{}/{key}", self.dir), &value)
                        .await;
                }
            }
            let ended = self
                .store
                .request(Some(tx), Request::TransactionEnd { commit: written })
                .await
                .map(drop);
            let result = if written {
                ended
            } else {
                Err(XenstoreError::Remote(Errno::EIO))
            };
            match retry.classify(result) {
                TransactionOutcome::Committed => break,
                TransactionOutcome::Retry => {}
                TransactionOutcome::Failed(_) => {
                    return Err((
                        Errno::EIO,
                        String::from("Error writing configuration for backend"),
                    ));
                }
            }
        }
        self.switch(XenbusState::Initialised).await;
        Ok(())
    }

    /// What to publish as `key`: `value`, unless the test said otherwise.
    fn value_for(&self, key: &str, value: &str) -> Option<String> {
        self.instead
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Some(String::from(value)), |(_, instead)| instead.clone())
    }

    /// Linux's `pcifront_backend_changed`.
    async fn backend_changed(&self, state: XenbusState) {
        if self.shutting_down.get() {
            // xenbus_otherend_changed during shutdown: only Closing matters.
            if state == XenbusState::Closing {
                self.switch(XenbusState::Closed).await;
            }
            return;
        }
        match state {
            XenbusState::Connected => self.try_connect().await,
            XenbusState::Closed if self.state.get() == XenbusState::Closed => {}
            XenbusState::Closed | XenbusState::Closing => self.try_disconnect().await,
            XenbusState::Reconfiguring => self.detach_devices().await,
            XenbusState::Reconfigured => self.attach_devices().await,
            _ => {}
        }
    }

    fn backend_dir(&self) -> String {
        self.backend
            .borrow()
            .as_ref()
            .map(|(path, _)| path.clone())
            .unwrap_or_default()
    }

    /// The roots to scan: `root-K`, or `0000:00` without `root_num`.
    async fn roots(&self) -> Result<Vec<RootBus>, (Errno, String)> {
        let dir = self.backend_dir();
        let Some(count) = self.read(&format!("{dir}/root_num")).await else {
            let text = format!(
                "{} No PCI Roots found, trying 0000:00",
                Errno::ENOENT.code()
            );
            self.write(None, &format!("error/{}/error", self.dir), &text)
                .await;
            return Ok(Vec::from([RootBus { segment: 0, bus: 0 }]));
        };
        let count = crate::xenbus::parse::count(&count).ok_or((
            Errno::EINVAL,
            String::from("Error reading number of PCI roots"),
        ))?;
        let mut roots = Vec::new();
        for index in 0..count {
            let value = self.read(&format!("{dir}/root-{index}")).await;
            let root = value.as_deref().and_then(crate::xenbus::parse::root);
            roots.push(root.ok_or((Errno::EINVAL, format!("Error reading PCI root {index}")))?);
        }
        Ok(roots)
    }

    /// Linux's `pcifront_scan_bus`: every devfn of the root bus; a function
    /// is there if its vendor/device dword reads without error and is not
    /// all ones or all zeroes (`pci_bus_read_dev_vendor_id`).
    async fn scan(&self, root: RootBus) {
        for devfn in 0..=DEVFNS {
            let Some(at) = Address::new(root.segment, root.bus, devfn >> 3, devfn & 7) else {
                continue;
            };
            let at = VirtualAddress(at);
            if self.devices.borrow().contains(&at) {
                continue;
            }
            let (err, id) = self.conf_read(at, 0, 4).await;
            if err == 0 && !matches!(id, 0xFFFF_FFFF | 0 | 0x0000_FFFF | 0xFFFF_0000) {
                info!("dom{}: new device on {at} found", self.domid);
                self.devices.borrow_mut().insert(at);
            }
        }
    }

    async fn scan_roots(&self) -> Result<(), (Errno, String)> {
        if !self.scans.get() {
            return Ok(());
        }
        for root in self.roots().await? {
            self.scan(root).await;
        }
        Ok(())
    }

    /// Linux's `pcifront_try_connect`.
    async fn try_connect(&self) {
        if self.state.get() != XenbusState::Initialised {
            return;
        }
        match self.scan_roots().await {
            Ok(()) => self.switch(XenbusState::Connected).await,
            Err((errno, message)) => self.fatal(errno, &message).await,
        }
    }

    /// Linux's `pcifront_try_disconnect`.
    async fn try_disconnect(&self) {
        let previous = self.state.get();
        if previous as u32 >= XenbusState::Closing as u32 {
            return;
        }
        if previous == XenbusState::Connected {
            self.devices.borrow_mut().clear();
        }
        self.switch(XenbusState::Closed).await;
    }

    /// Linux's `pcifront_detach_devices`.
    async fn detach_devices(&self) {
        if self.state.get() != XenbusState::Connected {
            return;
        }
        let dir = self.backend_dir();
        let count = self.read(&format!("{dir}/num_devs")).await;
        let Some(count) = count.as_deref().and_then(crate::xenbus::parse::count) else {
            self.fatal(Errno::EINVAL, "Error reading number of PCI devices")
                .await;
            return;
        };
        for index in 0..count {
            let state = self.read(&format!("{dir}/state-{index}")).await;
            let closing = state.as_deref().and_then(parse::state);
            if closing != Some(XenbusState::Closing) {
                continue;
            }
            let vdev = self.read(&format!("{dir}/vdev-{index}")).await;
            let Some(at) = vdev.as_deref().and_then(Bdf::parse).and_then(Bdf::guest) else {
                self.fatal(Errno::EINVAL, &format!("Error reading PCI device {index}"))
                    .await;
                return;
            };
            self.devices.borrow_mut().remove(&at);
        }
        self.switch(XenbusState::Reconfiguring).await;
    }

    /// Linux's `pcifront_attach_devices`.
    async fn attach_devices(&self) {
        if self.state.get() != XenbusState::Reconfiguring {
            return;
        }
        match self.scan_roots().await {
            Ok(()) => self.switch(XenbusState::Connected).await,
            Err((errno, message)) => self.fatal(errno, &message).await,
        }
    }

    /// Writes `op` into the shared page, sets `_XEN_PCIF_active` after a
    /// barrier and notifies: the first half of Linux's `do_pci_op`.
    /// Returns whether there was a page to post to.
    pub fn post(&self, op: &XenPciOp) -> bool {
        self.post_quietly(op)
            .is_some_and(|port| event_channel::send(&self.hypercalls, port).is_ok())
    }

    /// Writes `op` and sets `_XEN_PCIF_active`, without notifying (a
    /// frontend whose event comes late); returns the port to notify.
    pub fn post_quietly(&self, op: &XenPciOp) -> Option<EvtchnPort> {
        let shared = self.shared.borrow();
        let shared = shared.as_ref()?;
        let page = SharedPage::new(&shared.page);
        page.write(OP_OFFSET, op).ok()?;
        // Release: the op is in the page before the bit is seen (wmb; set_bit).
        page.atomic_u32(FLAGS_OFFSET)
            .ok()?
            .fetch_or(XEN_PCIF_ACTIVE, Ordering::Release);
        Some(shared.port)
    }

    /// The op as the backend answered it, once it has (the bit is clear).
    pub fn answered(&self) -> Option<XenPciOp> {
        if self.active() {
            return None;
        }
        self.answer()
    }

    /// Whether the page's `_XEN_PCIF_active` is set.
    fn active(&self) -> bool {
        self.shared.borrow().as_ref().is_some_and(|shared| {
            SharedPage::new(&shared.page)
                .atomic_u32(FLAGS_OFFSET)
                .is_ok_and(|flags| flags.load(Ordering::Acquire) & XEN_PCIF_ACTIVE != 0)
        })
    }

    /// Gives up on the op in flight: clears `_XEN_PCIF_active`.
    fn clear_active(&self) {
        if let Some(shared) = self.shared.borrow().as_ref() {
            if let Ok(flags) = SharedPage::new(&shared.page).atomic_u32(FLAGS_OFFSET) {
                flags.fetch_and(!XEN_PCIF_ACTIVE, Ordering::SeqCst);
            }
        }
    }

    /// The op as it is in the page now.
    fn answer(&self) -> Option<XenPciOp> {
        let shared = self.shared.borrow();
        SharedPage::new(&shared.as_ref()?.page).read(OP_OFFSET).ok()
    }

    /// Linux's `do_pci_op`: posts `op`, waits up to 2 s for the backend,
    /// and returns the op as the backend left it (on a timeout: `op` with
    /// `err` = `XEN_PCI_ERR_dev_not_found`, the bit cleared).
    pub async fn op(&self, op: XenPciOp) -> XenPciOp {
        let timed_out = XenPciOp {
            err: XEN_PCI_ERR_DEV_NOT_FOUND,
            ..op
        };
        let port = self.shared.borrow().as_ref().map(|shared| shared.port);
        let Some(port) = port.filter(|_| self.post(&op)) else {
            return timed_out;
        };
        let deadline = self.world.now().saturating_add(OP_TIMEOUT);
        while self.active() {
            let remaining = deadline.saturating_sub(self.world.now());
            if remaining.is_zero() {
                log::warn!("dom{}: pciback not responding!!!", self.domid);
                self.clear_active();
                return timed_out;
            }
            either(
                self.world.port_fired(self.domid, port),
                self.world.sleep(remaining),
            )
            .await;
        }
        self.answer().unwrap_or(timed_out)
    }

    /// A configuration read of `size` bytes at `offset`: (`err`, `value`).
    pub async fn conf_read(&self, at: VirtualAddress, offset: i32, size: i32) -> (i32, u32) {
        let answer = self
            .op(XenPciOp {
                cmd: XEN_PCI_OP_CONF_READ,
                offset,
                size,
                ..addressed(at)
            })
            .await;
        (answer.err, answer.value)
    }

    /// A configuration write; returns `err`.
    pub async fn conf_write(&self, at: VirtualAddress, offset: i32, size: i32, value: u32) -> i32 {
        self.op(XenPciOp {
            cmd: XEN_PCI_OP_CONF_WRITE,
            offset,
            size,
            value,
            ..addressed(at)
        })
        .await
        .err
    }
}

/// An op for the function at `at`.
fn addressed(at: VirtualAddress) -> XenPciOp {
    XenPciOp {
        domain: at.0.segment().into(),
        bus: at.0.bus().into(),
        devfn: at.0.devfn().into(),
        ..XenPciOp::default()
    }
}

/// Completes when either future does.
async fn either(first: impl Future<Output = ()>, second: impl Future<Output = ()>) {
    let (mut first, mut second) = (pin!(first), pin!(second));
    poll_fn(|cx| {
        if first.as_mut().poll(cx).is_ready() || second.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}
