// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`SimXenstored`]: xenstored serving the other side of ring pages.
//!
//! One ring page per connected domain, served by [`SimXenstored::service`].
//! The tree has per-node permissions checked per domain (see `store`),
//! watches fire on the path and below (and once when registered),
//! transactions work on a snapshot and fail with `EAGAIN` when a node they
//! used changed meanwhile. Tests act as dom0 (the toolstack, or a frontend)
//! through the direct methods. Faults: partial reads and writes
//! ([`set_chunk_limit`](SimXenstored::set_chunk_limit)), raw bytes in the
//! reply stream ([`inject_raw`](SimXenstored::inject_raw)), and errors for
//! chosen requests ([`fail_next`](SimXenstored::fail_next)).

mod store;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use store::{Change, Need, Store, allowed, is_under};

use crate::Errno;
use crate::abi::io::xs_wire::{XENSTORE_RING_SIZE, XenstoreDomainInterface, XsdSockmsgType};
use crate::abi::xen::DomId;
use crate::ring::ByteRing;
use crate::xenstore::{Access, Header, MessageReader, Permission, validate_path};

/// A registered watch.
#[derive(Clone, Debug)]
struct Watch {
    /// Absolute node path, or a special path (`@releaseDomain`).
    path: String,
    token: String,
    /// Registered with a relative path: events are relative too.
    relative: bool,
}

/// A transaction in progress: a snapshot plus what it used and changed.
#[derive(Debug)]
struct Transaction {
    store: Store,
    started: u64,
    used: BTreeSet<String>,
    modified: BTreeSet<String>,
    changes: Vec<Change>,
}

#[derive(Debug)]
struct Connection {
    page: Arc<XenstoreDomainInterface>,
    reader: MessageReader,
    out: VecDeque<u8>,
    watches: Vec<Watch>,
    transactions: BTreeMap<u32, Transaction>,
    last_tx: u32,
    failures: Vec<(XsdSockmsgType, Errno)>,
    /// The client sent something unparseable; it is no longer served.
    dead: bool,
}

/// A simulated xenstored.
#[derive(Debug)]
pub struct SimXenstored {
    store: Store,
    generation: u64,
    changed_at: BTreeMap<String, u64>,
    special_perms: BTreeMap<String, Vec<Permission>>,
    connections: BTreeMap<DomId, Connection>,
    chunk_limit: Option<usize>,
}

impl Default for SimXenstored {
    fn default() -> Self {
        Self::new()
    }
}

/// `/local/domain/<domid>`.
fn home(domid: DomId) -> String {
    std::format!("/local/domain/{domid}")
}

/// The absolute form of `path` for `domid`, if valid.
fn canonical(domid: DomId, path: &[u8]) -> Result<String, Errno> {
    let path = core::str::from_utf8(path).map_err(|_| Errno::EINVAL)?;
    let absolute = if path.starts_with('/') {
        String::from(path)
    } else {
        std::format!("{}/{path}", home(domid))
    };
    validate_path(&absolute).map_err(|_| Errno::EINVAL)?;
    Ok(absolute)
}

/// The strings of a request payload; `None` unless it ends with NUL.
fn strings(payload: &[u8]) -> Option<Vec<&[u8]>> {
    payload
        .strip_suffix(b"\0")
        .map(|body| body.split(|&b| b == 0).collect())
}

/// `onearg`: exactly one NUL, at the end.
fn one_arg(payload: &[u8]) -> Result<&[u8], Errno> {
    match strings(payload).as_deref() {
        Some([one]) => Ok(one),
        _ => Err(Errno::EINVAL),
    }
}

fn ok() -> Vec<u8> {
    b"OK\0".to_vec()
}

impl SimXenstored {
    /// A store holding `/`, `/local` and `/local/domain`, all `n0`.
    pub fn new() -> Self {
        let special_perms = ["@introduceDomain", "@releaseDomain"]
            .into_iter()
            .map(|p| (p.into(), std::vec![Permission::new(0, Access::None)]))
            .collect();
        Self {
            store: Store::new(),
            generation: 0,
            changed_at: BTreeMap::new(),
            special_perms,
            connections: BTreeMap::new(),
            chunk_limit: None,
        }
    }

    /// Connects `domid` through a fresh ring page, which the test hands to
    /// the client ([`crate::xenstore::XenstoreRing::new`]).
    pub fn connect(&mut self, domid: DomId) -> Arc<XenstoreDomainInterface> {
        let page = Arc::new(XenstoreDomainInterface::default());
        self.connections.insert(
            domid,
            Connection {
                page: Arc::clone(&page),
                reader: MessageReader::new(),
                out: VecDeque::new(),
                watches: Vec::new(),
                transactions: BTreeMap::new(),
                last_tx: 0,
                failures: Vec::new(),
                dead: false,
            },
        );
        page
    }

    /// Creates `/local/domain/<domid>` owned by `domid` (others: no access)
    /// and fires `@introduceDomain`, as the toolstack and xenstored do.
    pub fn introduce_domain(&mut self, domid: DomId) {
        let path = home(domid);
        // dom0 may always write; the paths are valid.
        let _ = self.mkdir(&path);
        let _ = self.set_perms(&path, &[Permission::new(domid, Access::None)]);
        self.fire_special("@introduceDomain");
    }

    /// Fires `@releaseDomain` (a domain died) and drops its connection.
    pub fn release_domain(&mut self, domid: DomId) {
        self.connections.remove(&domid);
        self.fire_special("@releaseDomain");
    }

    /// Reads and writes at most `limit` bytes per ring per service call
    /// (`None`: as much as fits).
    pub fn set_chunk_limit(&mut self, limit: Option<usize>) {
        self.chunk_limit = limit;
    }

    /// Appends raw bytes to `domid`'s reply stream (garbage, forged replies).
    pub fn inject_raw(&mut self, domid: DomId, bytes: &[u8]) {
        if let Some(conn) = self.connections.get_mut(&domid) {
            conn.out.extend(bytes);
        }
    }

    /// Makes `domid`'s next request of type `msg_type` fail with `error`.
    pub fn fail_next(&mut self, domid: DomId, msg_type: XsdSockmsgType, error: Errno) {
        if let Some(conn) = self.connections.get_mut(&domid) {
            conn.failures.push((msg_type, error));
        }
    }

    /// A node's value (as dom0).
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.store.node(path).map(|n| n.value.clone())
    }

    /// A node's permissions (as dom0).
    pub fn get_perms(&self, path: &str) -> Option<Vec<Permission>> {
        self.store.node(path).map(|n| n.perms.clone())
    }

    /// A node's children (as dom0).
    pub fn directory(&self, path: &str) -> Vec<String> {
        self.store.children(path)
    }

    /// Writes a node as dom0, firing watches.
    pub fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno> {
        self.main_op(|store, touched| store.write(0, path, value, touched))
    }

    /// Creates a node as dom0, firing watches.
    pub fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        self.main_op(|store, touched| store.mkdir(0, path, touched))
    }

    /// Removes a subtree as dom0, firing watches.
    pub fn rm(&mut self, path: &str) -> Result<(), Errno> {
        self.main_op(|store, touched| store.rm(0, path, touched))
    }

    /// Sets a node's permissions as dom0 (`@` paths: who may watch them).
    pub fn set_perms(&mut self, path: &str, perms: &[Permission]) -> Result<(), Errno> {
        if path.starts_with('@') {
            let slot = self.special_perms.get_mut(path).ok_or(Errno::ENOENT)?;
            *slot = perms.to_vec();
            return Ok(());
        }
        self.main_op(|store, touched| store.set_perms(0, path, perms.to_vec(), touched))
    }

    /// Runs an operation on the main tree: records what changed, fires watches.
    fn main_op(
        &mut self,
        op: impl FnOnce(&mut Store, &mut BTreeSet<String>) -> Result<Vec<Change>, Errno>,
    ) -> Result<(), Errno> {
        let mut touched = BTreeSet::new();
        let changes = op(&mut self.store, &mut touched)?;
        self.mark_changed(&touched);
        self.fire(&changes);
        Ok(())
    }

    fn mark_changed(&mut self, paths: &BTreeSet<String>) {
        for path in paths {
            self.generation += 1;
            self.changed_at.insert(path.clone(), self.generation);
        }
    }

    /// Serves every connection once: takes requests, answers them, writes
    /// replies. Returns whether any byte moved.
    pub fn service(&mut self) -> bool {
        let mut moved = false;
        let domids: Vec<DomId> = self.connections.keys().copied().collect();
        for domid in domids {
            moved |= self.receive(domid);
            moved |= self.transmit(domid);
        }
        moved
    }

    fn receive(&mut self, domid: DomId) -> bool {
        let limit = self
            .chunk_limit
            .unwrap_or(XENSTORE_RING_SIZE)
            .min(XENSTORE_RING_SIZE);
        let Some(conn) = self.connections.get_mut(&domid).filter(|c| !c.dead) else {
            return false;
        };
        let page = Arc::clone(&conn.page);
        // xenstored consumes `req` and produces `rsp`.
        let requests = ByteRing::new(&page.req, &page.req_cons, &page.req_prod);
        let mut buffer = [0; XENSTORE_RING_SIZE];
        let Ok(read) = requests.read(&mut buffer[..limit]) else {
            conn.dead = true;
            return false;
        };
        conn.reader.push(&buffer[..read]);
        loop {
            let Some(conn) = self.connections.get_mut(&domid) else {
                return read > 0;
            };
            match conn.reader.next_message() {
                Ok(Some((header, payload))) => self.handle(domid, header, &payload),
                Ok(None) => return read > 0,
                Err(_) => {
                    conn.dead = true;
                    return read > 0;
                }
            }
        }
    }

    fn transmit(&mut self, domid: DomId) -> bool {
        let limit = self.chunk_limit.unwrap_or(XENSTORE_RING_SIZE);
        let Some(conn) = self.connections.get_mut(&domid) else {
            return false;
        };
        let page = Arc::clone(&conn.page);
        let responses = ByteRing::new(&page.rsp, &page.rsp_cons, &page.rsp_prod);
        let pending: Vec<u8> = conn.out.iter().take(limit).copied().collect();
        let written = responses.write(&pending).unwrap_or(0);
        conn.out.drain(..written);
        written > 0
    }

    fn send(
        &mut self,
        domid: DomId,
        msg_type: XsdSockmsgType,
        req_id: u32,
        tx_id: u32,
        payload: &[u8],
    ) {
        let Some(conn) = self.connections.get_mut(&domid) else {
            return;
        };
        let header = Header {
            msg_type: msg_type as u32,
            req_id,
            tx_id,
            // Replies are built from bounded requests and nodes.
            len: payload.len() as u32,
        };
        conn.out.extend(header.encode());
        conn.out.extend(payload);
    }

    fn handle(&mut self, domid: DomId, header: Header, payload: &[u8]) {
        let Some(msg_type) = XsdSockmsgType::from_raw(header.msg_type) else {
            let error = std::format!("{}\0", Errno::ENOSYS.name());
            self.send(
                domid,
                XsdSockmsgType::Error,
                header.req_id,
                header.tx_id,
                error.as_bytes(),
            );
            return;
        };
        let injected = self.connections.get_mut(&domid).and_then(|conn| {
            let index = conn.failures.iter().position(|(t, _)| *t == msg_type)?;
            Some(conn.failures.remove(index).1)
        });
        let result = match injected {
            Some(error) => Err(error),
            None => self.execute(domid, msg_type, header, payload),
        };
        let registered_watch = msg_type == XsdSockmsgType::Watch && result.is_ok();
        match result {
            Ok(reply) => self.send(domid, msg_type, header.req_id, header.tx_id, &reply),
            Err(error) => {
                let name = std::format!("{}\0", error.name());
                self.send(
                    domid,
                    XsdSockmsgType::Error,
                    header.req_id,
                    header.tx_id,
                    name.as_bytes(),
                );
            }
        }
        if registered_watch {
            self.fire_initial_watch(domid, payload);
        }
    }

    fn execute(
        &mut self,
        domid: DomId,
        msg_type: XsdSockmsgType,
        header: Header,
        payload: &[u8],
    ) -> Result<Vec<u8>, Errno> {
        use XsdSockmsgType as T;
        let tx = header.tx_id;
        match msg_type {
            T::Read => {
                let path = canonical(domid, one_arg(payload)?)?;
                self.query(domid, tx, &path, |store| {
                    store
                        .lookup(domid, &path, Need::Read)
                        .map(|n| n.value.clone())
                })
            }
            T::Directory => {
                let path = canonical(domid, one_arg(payload)?)?;
                self.query(domid, tx, &path, |store| {
                    store.lookup(domid, &path, Need::Read)?;
                    Ok(store
                        .children(&path)
                        .into_iter()
                        .flat_map(|c| c.into_bytes().into_iter().chain([0]))
                        .collect())
                })
            }
            T::GetPerms => {
                let path = canonical(domid, one_arg(payload)?)?;
                self.query(domid, tx, &path, |store| {
                    let node = store.lookup(domid, &path, Need::Read)?;
                    Ok(node
                        .perms
                        .iter()
                        .flat_map(|p| std::format!("{p}\0").into_bytes())
                        .collect())
                })
            }
            T::Write => {
                let split = payload.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
                let path = canonical(domid, &payload[..split])?;
                let value = payload[split + 1..].to_vec();
                self.update(domid, tx, |store, touched| {
                    store.write(domid, &path, &value, touched)
                })
            }
            T::Mkdir => {
                let path = canonical(domid, one_arg(payload)?)?;
                self.update(domid, tx, |store, touched| {
                    store.mkdir(domid, &path, touched)
                })
            }
            T::Rm => {
                let path = canonical(domid, one_arg(payload)?)?;
                self.update(domid, tx, |store, touched| store.rm(domid, &path, touched))
            }
            T::SetPerms => {
                let args = strings(payload).ok_or(Errno::EINVAL)?;
                let (path, perms) = args.split_first().ok_or(Errno::EINVAL)?;
                let path = canonical(domid, path)?;
                let perms: Option<Vec<Permission>> =
                    perms.iter().map(|p| Permission::parse(p)).collect();
                let perms = perms.filter(|p| !p.is_empty()).ok_or(Errno::EINVAL)?;
                self.update(domid, tx, |store, touched| {
                    store.set_perms(domid, &path, perms, touched)
                })
            }
            T::Watch => self.watch(domid, payload),
            T::Unwatch => self.unwatch(domid, payload),
            T::TransactionStart => self.start_transaction(domid, tx),
            T::TransactionEnd => {
                let commit = match one_arg(payload)? {
                    b"T" => true,
                    b"F" => false,
                    _ => return Err(Errno::EINVAL),
                };
                self.end_transaction(domid, tx, commit)
            }
            T::GetDomainPath => {
                let id = core::str::from_utf8(one_arg(payload)?)
                    .ok()
                    .and_then(|s| s.parse::<DomId>().ok())
                    .ok_or(Errno::EINVAL)?;
                Ok(std::format!("{}\0", home(id)).into_bytes())
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// Runs a read-only operation on the main tree or transaction `tx`.
    fn query<R>(
        &mut self,
        domid: DomId,
        tx: u32,
        path: &str,
        op: impl FnOnce(&Store) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        if tx == 0 {
            return op(&self.store);
        }
        let transaction = self.transaction(domid, tx)?;
        transaction.used.insert(path.into());
        op(&transaction.store)
    }

    /// Runs a modifying operation on the main tree (firing watches) or in
    /// transaction `tx` (queueing them for the commit).
    fn update(
        &mut self,
        domid: DomId,
        tx: u32,
        op: impl FnOnce(&mut Store, &mut BTreeSet<String>) -> Result<Vec<Change>, Errno>,
    ) -> Result<Vec<u8>, Errno> {
        if tx == 0 {
            return self.main_op(op).map(|()| ok());
        }
        let transaction = self.transaction(domid, tx)?;
        let mut touched = BTreeSet::new();
        let changes = op(&mut transaction.store, &mut touched)?;
        transaction.used.extend(touched.iter().cloned());
        transaction.modified.extend(touched);
        transaction.changes.extend(changes);
        Ok(ok())
    }

    fn transaction(&mut self, domid: DomId, tx: u32) -> Result<&mut Transaction, Errno> {
        self.connections
            .get_mut(&domid)
            .and_then(|c| c.transactions.get_mut(&tx))
            .ok_or(Errno::ENOENT)
    }

    fn start_transaction(&mut self, domid: DomId, tx: u32) -> Result<Vec<u8>, Errno> {
        if tx != 0 {
            return Err(Errno::EBUSY);
        }
        let (snapshot, started) = (self.store.clone(), self.generation);
        let conn = self.connections.get_mut(&domid).ok_or(Errno::EINVAL)?;
        conn.last_tx = conn.last_tx.wrapping_add(1).max(1);
        let id = conn.last_tx;
        conn.transactions.insert(
            id,
            Transaction {
                store: snapshot,
                started,
                used: BTreeSet::new(),
                modified: BTreeSet::new(),
                changes: Vec::new(),
            },
        );
        Ok(std::format!("{id}\0").into_bytes())
    }

    fn end_transaction(&mut self, domid: DomId, tx: u32, commit: bool) -> Result<Vec<u8>, Errno> {
        let transaction = self
            .connections
            .get_mut(&domid)
            .and_then(|c| c.transactions.remove(&tx))
            .ok_or(Errno::ENOENT)?;
        if !commit {
            return Ok(ok());
        }
        let conflict = transaction.used.iter().any(|path| {
            self.changed_at
                .get(path)
                .is_some_and(|&at| at > transaction.started)
        });
        if conflict {
            return Err(Errno::EAGAIN);
        }
        self.store.apply(&transaction.store, &transaction.modified);
        self.mark_changed(&transaction.modified);
        self.fire(&transaction.changes);
        Ok(ok())
    }

    fn watch_args(domid: DomId, payload: &[u8]) -> Result<Watch, Errno> {
        let args = strings(payload).ok_or(Errno::EINVAL)?;
        let [path, token] = args.as_slice() else {
            return Err(Errno::EINVAL);
        };
        let token = String::from_utf8(token.to_vec()).map_err(|_| Errno::EINVAL)?;
        if path.starts_with(b"@") {
            let path = String::from_utf8(path.to_vec()).map_err(|_| Errno::EINVAL)?;
            return Ok(Watch {
                path,
                token,
                relative: false,
            });
        }
        let relative = !path.starts_with(b"/");
        Ok(Watch {
            path: canonical(domid, path)?,
            token,
            relative,
        })
    }

    fn watch(&mut self, domid: DomId, payload: &[u8]) -> Result<Vec<u8>, Errno> {
        let watch = Self::watch_args(domid, payload)?;
        let conn = self.connections.get_mut(&domid).ok_or(Errno::EINVAL)?;
        if conn
            .watches
            .iter()
            .any(|w| w.path == watch.path && w.token == watch.token)
        {
            return Err(Errno::EEXIST);
        }
        conn.watches.push(watch);
        Ok(ok())
    }

    /// "We fire once up front": after the `WATCH` reply, an event with the
    /// watched path itself.
    fn fire_initial_watch(&mut self, domid: DomId, payload: &[u8]) {
        if let Ok(watch) = Self::watch_args(domid, payload) {
            self.send_event(domid, &watch, &watch.path);
        }
    }

    fn unwatch(&mut self, domid: DomId, payload: &[u8]) -> Result<Vec<u8>, Errno> {
        let watch = Self::watch_args(domid, payload)?;
        let conn = self.connections.get_mut(&domid).ok_or(Errno::EINVAL)?;
        let index = conn
            .watches
            .iter()
            .position(|w| w.path == watch.path && w.token == watch.token)
            .ok_or(Errno::ENOENT)?;
        conn.watches.remove(index);
        Ok(ok())
    }

    fn send_event(&mut self, domid: DomId, watch: &Watch, path: &str) {
        let prefix = std::format!("{}/", home(domid));
        let shown = if watch.relative {
            path.strip_prefix(&prefix).unwrap_or(path)
        } else {
            path
        };
        let payload = std::format!("{shown}\0{}\0", watch.token);
        self.send(domid, XsdSockmsgType::WatchEvent, 0, 0, payload.as_bytes());
    }

    /// Sends an event for every watch that covers a change and whose domain
    /// may see it.
    fn fire(&mut self, changes: &[Change]) {
        let mut events = Vec::new();
        for change in changes {
            for (&domid, conn) in &self.connections {
                if !change.visible_to(domid) {
                    continue;
                }
                for watch in &conn.watches {
                    let covered = if change.exact {
                        watch.path == change.path
                    } else {
                        !watch.path.starts_with('@') && is_under(&change.path, &watch.path)
                    };
                    if covered {
                        events.push((domid, watch.clone(), change.path.clone()));
                    }
                }
            }
        }
        for (domid, watch, path) in events {
            self.send_event(domid, &watch, &path);
        }
    }

    fn fire_special(&mut self, path: &str) {
        let perms = self.special_perms.get(path).cloned().unwrap_or_default();
        let mut events = Vec::new();
        for (&domid, conn) in &self.connections {
            if !allowed(domid, &perms, Need::Read) {
                continue;
            }
            events.extend(
                conn.watches
                    .iter()
                    .filter(|w| w.path == path)
                    .map(|w| (domid, w.clone())),
            );
        }
        for (domid, watch) in events {
            self.send_event(domid, &watch, path);
        }
    }
}
