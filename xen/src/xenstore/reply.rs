// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore replies, decoded according to the request they answer.
//!
//! Payloads are checked strictly: missing terminators, bad numbers, bad
//! permissions or non-ASCII names are protocol errors.

use alloc::string::String;
use alloc::vec::Vec;

use super::client::TxId;
use super::error::ProtocolError;
use super::perms::{Permission, parse_permissions};
use super::wire::nul_terminated;
use crate::abi::io::xs_wire::XsdSockmsgType;

/// A successful reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `OK` (write, mkdir, rm, set_perms, watch, unwatch, transaction end).
    Ok,
    /// A node's value (read): any bytes, no terminator.
    Value(Vec<u8>),
    /// Child names (directory).
    Entries(Vec<String>),
    /// A permission list, owner first (get_perms).
    Perms(Vec<Permission>),
    /// A new transaction (transaction start).
    Transaction(TxId),
    /// A domain's home path (get_domain_path).
    DomainPath(String),
}

impl Reply {
    /// Decodes the payload of a successful reply to a `request` message.
    pub(super) fn decode(request: XsdSockmsgType, payload: Vec<u8>) -> Result<Self, ProtocolError> {
        let malformed = |what| ProtocolError::Malformed {
            msg_type: request,
            what,
        };
        match request {
            XsdSockmsgType::Read => Ok(Self::Value(payload)),
            XsdSockmsgType::Directory => {
                let names = nul_terminated(&payload).ok_or(malformed("missing NUL"))?;
                let names: Option<Vec<String>> = names.into_iter().map(text).collect();
                Ok(Self::Entries(names.ok_or(malformed("bad child name"))?))
            }
            XsdSockmsgType::GetPerms => parse_permissions(&payload)
                .map(Self::Perms)
                .ok_or(malformed("bad permissions")),
            XsdSockmsgType::TransactionStart => {
                let id = single_string(&payload)
                    .and_then(decimal)
                    .filter(|&id| id != 0)
                    .ok_or(malformed("bad transaction id"))?;
                Ok(Self::Transaction(TxId(id)))
            }
            XsdSockmsgType::GetDomainPath => single_string(&payload)
                .and_then(text)
                .map(Self::DomainPath)
                .ok_or(malformed("bad domain path")),
            _ if payload == b"OK\0" => Ok(Self::Ok),
            _ => Err(malformed("expected OK")),
        }
    }
}

/// The one NUL-terminated string a payload must be.
pub(super) fn single_string(payload: &[u8]) -> Option<&[u8]> {
    match nul_terminated(payload)?.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// A non-empty printable-ASCII string.
pub(super) fn text(bytes: &[u8]) -> Option<String> {
    let printable = !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    printable.then(|| bytes.iter().map(|&b| char::from(b)).collect())
}

/// A decimal `u32` without sign or padding.
fn decimal(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?
            .checked_add(u32::from(d.checked_sub(b'0')?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xenstore::perms::Access;

    fn decode(t: XsdSockmsgType, payload: &[u8]) -> Result<Reply, ProtocolError> {
        Reply::decode(t, payload.to_vec())
    }

    #[test]
    fn well_formed_replies() {
        use XsdSockmsgType::*;
        assert_eq!(decode(Read, b"4"), Ok(Reply::Value(b"4".to_vec())));
        assert_eq!(decode(Read, b""), Ok(Reply::Value(std::vec![])));
        assert_eq!(
            decode(Directory, b"0\x001\0"),
            Ok(Reply::Entries(std::vec!["0".into(), "1".into()]))
        );
        assert_eq!(decode(Directory, b""), Ok(Reply::Entries(std::vec![])));
        assert_eq!(
            decode(GetPerms, b"n1\0r2\0"),
            Ok(Reply::Perms(std::vec![
                Permission::new(1, Access::None),
                Permission::new(2, Access::Read)
            ]))
        );
        assert_eq!(
            decode(TransactionStart, b"17\0"),
            Ok(Reply::Transaction(TxId(17)))
        );
        assert_eq!(
            decode(GetDomainPath, b"/local/domain/3\0"),
            Ok(Reply::DomainPath("/local/domain/3".into()))
        );
        assert_eq!(decode(Write, b"OK\0"), Ok(Reply::Ok));
    }

    #[test]
    fn malformed_replies() {
        use XsdSockmsgType::*;
        for (t, payload) in [
            (Directory, &b"a\0b"[..]),
            (Directory, b"a\0\xff\0"),
            (Directory, b"a\0\0"),
            (GetPerms, b"q1\0"),
            (TransactionStart, b"0\0"),
            (TransactionStart, b"12"),
            (TransactionStart, b"4294967296\0"),
            (TransactionStart, b"1\x002\0"),
            (GetDomainPath, b"/local/domain/3"),
            (Write, b"OK"),
            (Mkdir, b"NO\0"),
        ] {
            assert!(
                matches!(decode(t, payload), Err(ProtocolError::Malformed { msg_type, .. }) if msg_type == t),
                "{t:?} {payload:?}"
            );
        }
    }
}
