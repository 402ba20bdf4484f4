// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore requests and their payload encoding.
//!
//! Paths and tokens are checked and the payload bounded by
//! `XENSTORE_PAYLOAD_MAX` before anything is queued.

use alloc::vec::Vec;
use core::fmt::Write as _;

use super::error::XenstoreError;
use super::path::{validate_path, validate_token, validate_watch_path};
use super::perms::Permission;
use crate::abi::io::xs_wire::{XENSTORE_PAYLOAD_MAX, XsdSockmsgType};
use crate::abi::xen::DomId;

/// A request to xenstored. Paths may be absolute or relative to our
/// domain's home (`/local/domain/<domid>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `XS_READ`: a node's value.
    Read {
        /// The node.
        path: &'a str,
    },
    /// `XS_WRITE`: set a node's value, creating it and missing parents.
    Write {
        /// The node.
        path: &'a str,
        /// The value (any bytes).
        value: &'a [u8],
    },
    /// `XS_MKDIR`: create a node (no error if it exists).
    Mkdir {
        /// The node.
        path: &'a str,
    },
    /// `XS_RM`: remove a node and its subtree (no error if absent).
    Rm {
        /// The node.
        path: &'a str,
    },
    /// `XS_DIRECTORY`: a node's children.
    Directory {
        /// The node.
        path: &'a str,
    },
    /// `XS_GET_PERMS`: a node's permission list.
    GetPerms {
        /// The node.
        path: &'a str,
    },
    /// `XS_SET_PERMS`: replace a node's permission list (owner first).
    SetPerms {
        /// The node.
        path: &'a str,
        /// The new list, owner first.
        perms: &'a [Permission],
    },
    /// `XS_WATCH`: events for `path` and below, tagged with `token`; one
    /// fires right away.
    Watch {
        /// The node or special path (`@releaseDomain`).
        path: &'a str,
        /// Our tag for the events.
        token: &'a str,
    },
    /// `XS_UNWATCH`.
    Unwatch {
        /// As given to `Watch`.
        path: &'a str,
        /// As given to `Watch`.
        token: &'a str,
    },
    /// `XS_TRANSACTION_START`.
    TransactionStart,
    /// `XS_TRANSACTION_END`: commit (`T`) or abort (`F`).
    TransactionEnd {
        /// Commit rather than abort.
        commit: bool,
    },
    /// `XS_GET_DOMAIN_PATH`: the home path of `domid`.
    GetDomainPath {
        /// The domain.
        domid: DomId,
    },
}

/// Where a request may name a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TxRule {
    /// Never (transaction start, watches, domain paths).
    Forbidden,
    /// Always (transaction end).
    Required,
    /// Either.
    Optional,
}

impl Request<'_> {
    /// The message type.
    pub fn msg_type(&self) -> XsdSockmsgType {
        match self {
            Self::Read { .. } => XsdSockmsgType::Read,
            Self::Write { .. } => XsdSockmsgType::Write,
            Self::Mkdir { .. } => XsdSockmsgType::Mkdir,
            Self::Rm { .. } => XsdSockmsgType::Rm,
            Self::Directory { .. } => XsdSockmsgType::Directory,
            Self::GetPerms { .. } => XsdSockmsgType::GetPerms,
            Self::SetPerms { .. } => XsdSockmsgType::SetPerms,
            Self::Watch { .. } => XsdSockmsgType::Watch,
            Self::Unwatch { .. } => XsdSockmsgType::Unwatch,
            Self::TransactionStart => XsdSockmsgType::TransactionStart,
            Self::TransactionEnd { .. } => XsdSockmsgType::TransactionEnd,
            Self::GetDomainPath { .. } => XsdSockmsgType::GetDomainPath,
        }
    }

    pub(super) fn tx_rule(&self) -> TxRule {
        match self {
            Self::TransactionStart
            | Self::Watch { .. }
            | Self::Unwatch { .. }
            | Self::GetDomainPath { .. } => TxRule::Forbidden,
            Self::TransactionEnd { .. } => TxRule::Required,
            _ => TxRule::Optional,
        }
    }

    /// Appends the payload to `out`, checking paths, tokens and size.
    pub(super) fn encode_payload(&self, out: &mut Vec<u8>) -> Result<(), XenstoreError> {
        let start = out.len();
        match *self {
            Self::Read { path }
            | Self::Mkdir { path }
            | Self::Rm { path }
            | Self::Directory { path }
            | Self::GetPerms { path } => {
                validate_path(path)?;
                push_string(out, path.as_bytes());
            }
            Self::Write { path, value } => {
                validate_path(path)?;
                push_string(out, path.as_bytes());
                out.extend_from_slice(value);
            }
            Self::SetPerms { path, perms } => {
                validate_path(path)?;
                push_string(out, path.as_bytes());
                for perm in perms {
                    // Writing to a Vec cannot fail.
                    let _ = write!(VecWriter(out), "{perm}\0");
                }
            }
            Self::Watch { path, token } | Self::Unwatch { path, token } => {
                validate_watch_path(path)?;
                validate_token(token)?;
                push_string(out, path.as_bytes());
                push_string(out, token.as_bytes());
            }
            Self::TransactionStart => out.push(0),
            Self::TransactionEnd { commit } => push_string(out, if commit { b"T" } else { b"F" }),
            Self::GetDomainPath { domid } => {
                let _ = write!(VecWriter(out), "{domid}\0");
            }
        }
        if out.len().saturating_sub(start) > XENSTORE_PAYLOAD_MAX {
            out.truncate(start);
            return Err(XenstoreError::TooLarge);
        }
        Ok(())
    }
}

fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
    out.push(0);
}

/// `core::fmt::Write` into a byte vector.
struct VecWriter<'v>(&'v mut Vec<u8>);

impl core::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xenstore::perms::Access;

    fn payload(request: Request<'_>) -> Result<Vec<u8>, XenstoreError> {
        let mut out = Vec::new();
        request.encode_payload(&mut out).map(|()| out)
    }

    #[test]
    fn payloads_follow_the_wire_format() {
        assert_eq!(
            payload(Request::Read {
                path: "device/pci/0/state"
            })
            .unwrap(),
            b"device/pci/0/state\0"
        );
        assert_eq!(
            payload(Request::Write {
                path: "a",
                value: b"4"
            })
            .unwrap(),
            b"a\x004"
        );
        let perms = [
            Permission::new(1, Access::None),
            Permission::new(2, Access::Read),
        ];
        assert_eq!(
            payload(Request::SetPerms {
                path: "/x",
                perms: &perms
            })
            .unwrap(),
            b"/x\0n1\0r2\0"
        );
        assert_eq!(
            payload(Request::Watch {
                path: "backend/pci",
                token: "be"
            })
            .unwrap(),
            b"backend/pci\0be\0"
        );
        assert_eq!(payload(Request::TransactionStart).unwrap(), b"\0");
        assert_eq!(
            payload(Request::TransactionEnd { commit: true }).unwrap(),
            b"T\0"
        );
        assert_eq!(
            payload(Request::TransactionEnd { commit: false }).unwrap(),
            b"F\0"
        );
        assert_eq!(
            payload(Request::GetDomainPath { domid: 12 }).unwrap(),
            b"12\0"
        );
        assert_eq!(Request::Rm { path: "x" }.msg_type() as u32, 13);
    }

    #[test]
    fn bad_requests_are_refused_locally() {
        assert_eq!(
            payload(Request::Read { path: "a//b" }),
            Err(XenstoreError::InvalidPath)
        );
        assert_eq!(
            payload(Request::Watch {
                path: "a",
                token: "t\0"
            }),
            Err(XenstoreError::InvalidPath)
        );
        let big = std::vec![b'x'; 4096];
        assert_eq!(
            payload(Request::Write {
                path: "a",
                value: &big
            }),
            Err(XenstoreError::TooLarge)
        );
        let fits = std::vec![b'x'; 4094];
        assert_eq!(
            payload(Request::Write {
                path: "a",
                value: &fits
            })
            .map(|p| p.len()),
            Ok(4096)
        );
    }
}
