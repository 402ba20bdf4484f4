// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore errors: what xenstored refused, and what broke the connection.
//!
//! [`XenstoreError::Remote`] is a refusal by xenstored; a
//! [`ProtocolError`] means the peer cannot be trusted any more.

use core::fmt;

use crate::Errno;
use crate::abi::io::xs_wire::XsdSockmsgType;
use crate::ring::RingCorrupt;

/// xenstored broke the protocol; the connection cannot be trusted any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A message announced more than `XENSTORE_PAYLOAD_MAX` payload bytes.
    PayloadTooLong {
        /// The announced length.
        len: u32,
    },
    /// A message type Xen 4.17 does not define.
    UnknownType {
        /// The raw type.
        msg_type: u32,
    },
    /// A reply whose `req_id` matches no request in flight.
    UnexpectedReply {
        /// The reply's `req_id`.
        req_id: u32,
    },
    /// A reply of a type other than the request's (or `XS_ERROR`).
    MismatchedReply {
        /// The reply's `req_id`.
        req_id: u32,
        /// The raw type received.
        msg_type: u32,
    },
    /// A payload that does not parse as its type requires.
    Malformed {
        /// The message's type.
        msg_type: XsdSockmsgType,
        /// What was wrong.
        what: &'static str,
    },
    /// The ring indices are impossible.
    Ring(RingCorrupt),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PayloadTooLong { len } => {
                write!(f, "xenstore message of {len} bytes exceeds 4096")
            }
            Self::UnknownType { msg_type } => write!(f, "unknown xenstore message type {msg_type}"),
            Self::UnexpectedReply { req_id } => {
                write!(f, "xenstore reply to unknown request {req_id}")
            }
            Self::MismatchedReply { req_id, msg_type } => {
                write!(
                    f,
                    "xenstore reply of type {msg_type} to request {req_id} of another type"
                )
            }
            Self::Malformed { msg_type, what } => {
                write!(f, "malformed xenstore {msg_type:?}: {what}")
            }
            Self::Ring(e) => write!(f, "xenstore {e}"),
        }
    }
}

impl core::error::Error for ProtocolError {}

impl From<RingCorrupt> for ProtocolError {
    fn from(e: RingCorrupt) -> Self {
        Self::Ring(e)
    }
}

/// Why a XenStore request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XenstoreError {
    /// xenstored answered `XS_ERROR` with this error (`EAGAIN` for a
    /// transaction conflict, `ENOENT`, `EACCES`, ...). Names outside
    /// `xsd_errors[]` read as `EINVAL`, as Linux does.
    Remote(Errno),
    /// The connection is broken.
    Protocol(ProtocolError),
    /// A path or token that XenStore would refuse (empty, too long, bad
    /// characters, `//`, trailing `/`, or a NUL).
    InvalidPath,
    /// The request does not fit one message (`XENSTORE_PAYLOAD_MAX`).
    TooLarge,
    /// A transaction id where none is allowed, or missing where one is needed.
    BadTransaction,
    /// Too many requests in flight.
    TooManyRequests,
    /// A value read as text is not UTF-8.
    NotText,
}

impl fmt::Display for XenstoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remote(e) => write!(f, "xenstored: {e}"),
            Self::Protocol(e) => write!(f, "{e}"),
            Self::InvalidPath => f.write_str("invalid xenstore path or token"),
            Self::TooLarge => f.write_str("xenstore request exceeds 4096 bytes"),
            Self::BadTransaction => f.write_str("transaction id not allowed or missing"),
            Self::TooManyRequests => f.write_str("too many xenstore requests in flight"),
            Self::NotText => f.write_str("xenstore value is not UTF-8 text"),
        }
    }
}

impl core::error::Error for XenstoreError {}

impl From<ProtocolError> for XenstoreError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}
