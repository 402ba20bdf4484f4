// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore: the wire format, the shared-ring transport and a sans-IO client.
//!
//! [`XenstoreClient`] does no I/O: requests are encoded into its output
//! buffer, and bytes from xenstored are fed in; it matches replies to
//! requests by `req_id` and queues watch events apart. [`XenstoreRing`]
//! moves those bytes through the shared page and says when to notify the
//! store event channel. [`XenstoreConnection`] drives both for async
//! tasks: the kernel's executor and the simulator run the same code.
//! Everything xenstored sends is checked: a malformed message breaks the
//! connection with a [`ProtocolError`] instead of a panic.

mod client;
mod connection;
mod error;
pub mod number;
mod path;
mod perms;
mod reply;
mod request;
#[cfg(test)]
mod tests;
mod transaction;
mod transport;
mod wire;

pub use client::{ReqId, WatchEvent, XenstoreClient};
pub use connection::{Notify, WATCH_QUEUE, XenstoreConnection, XenstoreWatch};
pub use error::{ProtocolError, XenstoreError};
pub use path::{validate_path, validate_token};
pub use perms::{Access, Permission, parse_permissions};
pub use reply::Reply;
pub use request::Request;
pub use transaction::{TransactionOutcome, TransactionRetry, XenstoreCall, run_transaction};
pub use transport::XenstoreRing;
pub use wire::{HEADER_SIZE, Header, MessageReader, TxId};
