// SPDX-License-Identifier: MIT OR Apache-2.0
//! The simulated xenstored's tree: nodes, permissions and access checks.
//!
//! Follows xenstored's rules (`tools/xenstore/xenstored_core.c`, 4.17):
//! dom0 and a node's owner (its first permission entry) have full access;
//! other domains get the access of their own entry, else the first entry's.
//! A missing node reads as `ENOENT` only to a domain that may access its
//! nearest existing ancestor, otherwise as `EACCES`. New nodes inherit their
//! parent's permissions, and an unprivileged creator becomes their owner.

use std::collections::{BTreeMap, BTreeSet};
use std::string::String;
use std::vec::Vec;

use crate::Errno;
use crate::abi::xen::DomId;
use crate::xenstore::{Access, Permission};

/// What an operation needs of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    Read,
    Write,
    /// Write access and ownership (for `SET_PERMS`).
    Own,
}

/// Whether `domid` may do `need` on a node with `perms`.
pub(super) fn allowed(domid: DomId, perms: &[Permission], need: Need) -> bool {
    let Some((owner, rest)) = perms.split_first() else {
        return domid == 0;
    };
    if domid == 0 || owner.domid == domid {
        return true;
    }
    let access = rest
        .iter()
        .find(|p| p.domid == domid)
        .map_or(owner.access, |p| p.access);
    match need {
        Need::Read => access.can_read(),
        Need::Write => access.can_write(),
        Need::Own => false,
    }
}

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Node {
    pub value: Vec<u8>,
    pub perms: Vec<Permission>,
}

/// A change, for watches: the node's path, whether only exact watches see
/// it (removed descendants), and the permissions that decide who may see
/// it: a domain that may read the node under any of `perms` (before and
/// after a permission change), or read its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Change {
    pub path: String,
    pub exact: bool,
    pub perms: Vec<Vec<Permission>>,
    pub parent_perms: Option<Vec<Permission>>,
}

impl Change {
    /// Whether `domid` may hear of this change (`watch_permitted`).
    pub fn visible_to(&self, domid: DomId) -> bool {
        self.perms.iter().any(|p| allowed(domid, p, Need::Read))
            || self
                .parent_perms
                .as_ref()
                .is_some_and(|p| allowed(domid, p, Need::Read))
    }
}

/// The parent of absolute `path` (`None` for the root).
pub(super) fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        _ if path == "/" => None,
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// Whether `path` is `ancestor` or below it.
pub(super) fn is_under(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The tree: absolute path to node.
#[derive(Clone, Debug)]
pub(super) struct Store {
    nodes: BTreeMap<String, Node>,
}

impl Store {
    /// `/`, `/local` and `/local/domain`, owned by dom0, closed to others.
    pub fn new() -> Self {
        let closed = std::vec![Permission::new(0, Access::None)];
        let nodes = ["/", "/local", "/local/domain"]
            .into_iter()
            .map(|p| {
                (
                    p.into(),
                    Node {
                        value: Vec::new(),
                        perms: closed.clone(),
                    },
                )
            })
            .collect();
        Self { nodes }
    }

    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// xenstored's `get_node`: the node if `domid` may `need` it, else the
    /// error it would give.
    pub fn lookup(&self, domid: DomId, path: &str, need: Need) -> Result<&Node, Errno> {
        match self.nodes.get(path) {
            Some(node) if allowed(domid, &node.perms, need) => Ok(node),
            Some(_) => Err(Errno::EACCES),
            None => {
                let ancestor = self.nearest_ancestor(path).ok_or(Errno::EINVAL)?;
                // errno_from_parents: ENOENT only if the parent grants `need`.
                let parent_need = if need == Need::Own { Need::Write } else { need };
                if allowed(domid, &ancestor.perms, parent_need) {
                    Err(Errno::ENOENT)
                } else {
                    Err(Errno::EACCES)
                }
            }
        }
    }

    fn nearest_ancestor(&self, path: &str) -> Option<&Node> {
        let mut current = parent(path);
        while let Some(p) = current {
            if let Some(node) = self.nodes.get(p) {
                return Some(node);
            }
            current = parent(p);
        }
        None
    }

    /// Child names of `path`, in order.
    pub fn children(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" {
            String::from("/")
        } else {
            std::format!("{path}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k.get(prefix.len()..))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(String::from)
            .collect()
    }

    fn change(&self, path: &str, exact: bool) -> Change {
        Change {
            path: path.into(),
            exact,
            perms: self
                .nodes
                .get(path)
                .map(|n| n.perms.clone())
                .into_iter()
                .collect(),
            parent_perms: parent(path)
                .and_then(|p| self.nodes.get(p))
                .map(|n| n.perms.clone()),
        }
    }

    /// Creates `path` and missing ancestors (the caller checked access).
    fn create(&mut self, domid: DomId, path: &str, value: Vec<u8>, touched: &mut BTreeSet<String>) {
        let mut missing = Vec::new();
        let mut current = Some(path);
        while let Some(p) = current {
            if self.nodes.contains_key(p) {
                touched.insert(p.into());
                break;
            }
            missing.push(p);
            current = parent(p);
        }
        for (i, p) in missing.iter().rev().enumerate() {
            let mut perms = parent(p).and_then(|q| self.nodes.get(q)).map_or_else(
                || std::vec![Permission::new(0, Access::None)],
                |n| n.perms.clone(),
            );
            if let Some(owner) = perms.first_mut().filter(|_| domid != 0) {
                owner.domid = domid;
            }
            let last = i + 1 == missing.len();
            let node_value = if last { value.clone() } else { Vec::new() };
            self.nodes.insert(
                String::from(*p),
                Node {
                    value: node_value,
                    perms,
                },
            );
            touched.insert(String::from(*p));
        }
    }

    /// `XS_WRITE`. Returns the changes; `touched` gets every modified path.
    pub fn write(
        &mut self,
        domid: DomId,
        path: &str,
        value: &[u8],
        touched: &mut BTreeSet<String>,
    ) -> Result<Vec<Change>, Errno> {
        match self.lookup(domid, path, Need::Write) {
            Ok(_) => {
                if let Some(node) = self.nodes.get_mut(path) {
                    node.value = value.to_vec();
                }
                touched.insert(path.into());
            }
            Err(Errno::ENOENT) => self.create(domid, path, value.to_vec(), touched),
            Err(e) => return Err(e),
        }
        Ok(std::vec![self.change(path, false)])
    }

    /// `XS_MKDIR`: no change if it exists.
    pub fn mkdir(
        &mut self,
        domid: DomId,
        path: &str,
        touched: &mut BTreeSet<String>,
    ) -> Result<Vec<Change>, Errno> {
        match self.lookup(domid, path, Need::Write) {
            Ok(_) => Ok(Vec::new()),
            Err(Errno::ENOENT) => {
                self.create(domid, path, Vec::new(), touched);
                Ok(std::vec![self.change(path, false)])
            }
            Err(e) => Err(e),
        }
    }

    /// `XS_RM`: the subtree; fine if absent but its parent exists.
    pub fn rm(
        &mut self,
        domid: DomId,
        path: &str,
        touched: &mut BTreeSet<String>,
    ) -> Result<Vec<Change>, Errno> {
        match self.lookup(domid, path, Need::Write) {
            Ok(_) if path == "/" => Err(Errno::EINVAL),
            Ok(_) => {
                let doomed: Vec<String> = self
                    .nodes
                    .keys()
                    .filter(|k| is_under(k, path))
                    .cloned()
                    .collect();
                // Descendants fire exact watches, the removed root fires
                // watches on itself and above; all before removal, while
                // their permissions are still known.
                let mut changes: Vec<Change> = doomed
                    .iter()
                    .filter(|k| k.as_str() != path)
                    .map(|k| self.change(k, true))
                    .collect();
                changes.push(self.change(path, false));
                for k in doomed {
                    self.nodes.remove(&k);
                    touched.insert(k);
                }
                if let Some(p) = parent(path) {
                    touched.insert(p.into());
                }
                Ok(changes)
            }
            Err(Errno::ENOENT) if parent(path).is_some_and(|p| self.nodes.contains_key(p)) => {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// `XS_SET_PERMS`: owner only, and the owner may not give the node away.
    pub fn set_perms(
        &mut self,
        domid: DomId,
        path: &str,
        perms: Vec<Permission>,
        touched: &mut BTreeSet<String>,
    ) -> Result<Vec<Change>, Errno> {
        let node = self.lookup(domid, path, Need::Own)?;
        if domid != 0 && perms.first().map(|p| p.domid) != node.perms.first().map(|p| p.domid) {
            return Err(Errno::EPERM);
        }
        let mut change = self.change(path, false);
        change.perms.push(perms.clone());
        if let Some(node) = self.nodes.get_mut(path) {
            node.perms = perms;
        }
        touched.insert(path.into());
        // Watchers who could see the node before or after hear of it.
        Ok(std::vec![change])
    }

    /// Copies `paths` from `other` into this store (a commit).
    pub fn apply(&mut self, other: &Store, paths: &BTreeSet<String>) {
        for path in paths {
            match other.nodes.get(path) {
                Some(node) => {
                    self.nodes.insert(path.clone(), node.clone());
                }
                None => {
                    self.nodes.remove(path);
                }
            }
        }
    }
}
