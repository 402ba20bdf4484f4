// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`XenstoreClient`]: requests out, replies and watch events in, no I/O.
//!
//! Request ids are fresh and never 0; replies are matched by id, watch
//! events queued apart, bounded and de-duplicated.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use litemap::LiteMap;

use super::error::{ProtocolError, XenstoreError};
use super::reply::{Reply, single_string, text};
use super::request::{Request, TxRule};
use super::wire::{Header, MessageReader, TxId, nul_terminated};
use crate::Errno;
use crate::abi::io::xs_wire::XsdSockmsgType;

/// A request in flight, to collect its reply with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(u32);

impl ReqId {
    /// The `req_id` on the wire.
    pub fn raw(self) -> u32 {
        self.0
    }
}

/// An `XS_WATCH_EVENT`: something at or under a watched path changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// The path that changed (relative if the watch was relative).
    pub path: String,
    /// The token the watch was registered with.
    pub token: String,
}

/// The client end of a XenStore connection, without I/O.
///
/// [`submit`](Self::submit) encodes a request into [`output`](Self::output);
/// the transport writes those bytes and calls
/// [`consume_output`](Self::consume_output), and passes everything xenstored
/// sends to [`feed`](Self::feed). Replies are collected with
/// [`take_reply`](Self::take_reply), watch events with
/// [`next_watch_event`](Self::next_watch_event).
#[derive(Debug)]
pub struct XenstoreClient {
    output: Vec<u8>,
    reader: MessageReader,
    in_flight: LiteMap<u32, XsdSockmsgType>,
    done: LiteMap<u32, Result<Reply, XenstoreError>>,
    events: VecDeque<WatchEvent>,
    events_dropped: u64,
    last_id: u32,
    broken: Option<ProtocolError>,
}

impl Default for XenstoreClient {
    fn default() -> Self {
        Self::new()
    }
}

impl XenstoreClient {
    /// Most requests in flight or with uncollected replies.
    pub const MAX_REQUESTS: usize = 256;
    /// Most queued watch events; past that they are dropped and counted
    /// (XSA-349: a guest rewriting watched nodes must not exhaust memory).
    pub const MAX_WATCH_EVENTS: usize = 256;

    /// A fresh connection.
    pub fn new() -> Self {
        Self {
            output: Vec::new(),
            reader: MessageReader::new(),
            in_flight: LiteMap::new_vec(),
            done: LiteMap::new_vec(),
            events: VecDeque::new(),
            events_dropped: 0,
            last_id: 0,
            broken: None,
        }
    }

    /// Queues `request`, in transaction `tx` where allowed, and returns its id.
    pub fn submit(
        &mut self,
        tx: Option<TxId>,
        request: &Request<'_>,
    ) -> Result<ReqId, XenstoreError> {
        if let Some(e) = self.broken {
            return Err(XenstoreError::Protocol(e));
        }
        match (request.tx_rule(), tx) {
            (TxRule::Forbidden, Some(_)) | (TxRule::Required, None) => {
                return Err(XenstoreError::BadTransaction);
            }
            _ => {}
        }
        if self.in_flight.len().saturating_add(self.done.len()) >= Self::MAX_REQUESTS {
            return Err(XenstoreError::TooManyRequests);
        }
        let mut payload = Vec::new();
        request.encode_payload(&mut payload)?;
        // encode_payload bounds the payload by XENSTORE_PAYLOAD_MAX.
        let len = u32::try_from(payload.len()).map_err(|_| XenstoreError::TooLarge)?;
        let id = self.fresh_id();
        let header = Header {
            msg_type: request.msg_type() as u32,
            req_id: id,
            tx_id: tx.map_or(0, |t| t.0),
            len,
        };
        self.output.extend_from_slice(&header.encode());
        self.output.extend_from_slice(&payload);
        self.in_flight.insert(id, request.msg_type());
        Ok(ReqId(id))
    }

    /// A `req_id` not in use, never 0 (watch events carry 0).
    fn fresh_id(&mut self) -> u32 {
        loop {
            self.last_id = self.last_id.wrapping_add(1);
            let id = self.last_id;
            if id != 0 && !self.in_flight.contains_key(&id) && !self.done.contains_key(&id) {
                return id;
            }
        }
    }

    /// Bytes waiting to be written to xenstored.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Drops the first `n` output bytes, once written.
    pub fn consume_output(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// Takes bytes received from xenstored. A protocol violation breaks the
    /// connection: every request in flight completes with the error.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        self.reader.push(bytes);
        loop {
            let message = self.reader.next_message().and_then(|m| match m {
                Some((header, payload)) => self.dispatch(header, payload).map(|()| true),
                None => Ok(false),
            });
            match message {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(self.break_connection(e)),
            }
        }
    }

    fn dispatch(&mut self, header: Header, payload: Vec<u8>) -> Result<(), ProtocolError> {
        let msg_type =
            XsdSockmsgType::from_raw(header.msg_type).ok_or(ProtocolError::UnknownType {
                msg_type: header.msg_type,
            })?;
        if msg_type == XsdSockmsgType::WatchEvent {
            return self.watch_event(&payload);
        }
        let request =
            self.in_flight
                .remove(&header.req_id)
                .ok_or(ProtocolError::UnexpectedReply {
                    req_id: header.req_id,
                })?;
        let result = if msg_type == XsdSockmsgType::Error {
            single_string(&payload)
                .map(|name| {
                    Errno::from_name(name).unwrap_or_else(|| {
                        log::warn!("xenstored sent unknown error {name:?}; reading it as EINVAL");
                        Errno::EINVAL
                    })
                })
                .map(|errno| Err(XenstoreError::Remote(errno)))
                .ok_or(ProtocolError::Malformed {
                    msg_type,
                    what: "bad error name",
                })
        } else if msg_type == request {
            Reply::decode(request, payload).map(Ok)
        } else {
            Err(ProtocolError::MismatchedReply {
                req_id: header.req_id,
                msg_type: header.msg_type,
            })
        };
        // A bad reply still completes its request, with the error.
        let outcome = result.unwrap_or_else(|e| Err(XenstoreError::Protocol(e)));
        let failure = match outcome {
            Err(XenstoreError::Protocol(e)) => Some(e),
            _ => None,
        };
        self.done.insert(header.req_id, outcome);
        failure.map_or(Ok(()), Err)
    }

    fn watch_event(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let malformed = ProtocolError::Malformed {
            msg_type: XsdSockmsgType::WatchEvent,
            what: "expected path and token",
        };
        let strings = nul_terminated(payload).ok_or(malformed)?;
        let [path, token] = strings.as_slice() else {
            return Err(malformed);
        };
        let (Some(path), Some(token)) = (text(path), text(token)) else {
            return Err(malformed);
        };
        let event = WatchEvent { path, token };
        if self.events.contains(&event) {
            // Coalesced: the reader re-reads state anyway.
        } else if self.events.len() >= Self::MAX_WATCH_EVENTS {
            self.events_dropped = self.events_dropped.saturating_add(1);
        } else {
            self.events.push_back(event);
        }
        Ok(())
    }

    fn break_connection(&mut self, e: ProtocolError) -> ProtocolError {
        log::error!("xenstore connection broken: {e}");
        self.broken = Some(e);
        for (id, _) in core::mem::take(&mut self.in_flight) {
            self.done.insert(id, Err(XenstoreError::Protocol(e)));
        }
        self.output.clear();
        e
    }

    /// The reply to `id`, once it has arrived (each reply is taken once).
    pub fn take_reply(&mut self, id: ReqId) -> Option<Result<Reply, XenstoreError>> {
        self.done.remove(&id.0)
    }

    /// Whether `id` still waits for its reply.
    pub fn is_pending(&self, id: ReqId) -> bool {
        self.in_flight.contains_key(&id.0)
    }

    /// The oldest queued watch event.
    pub fn next_watch_event(&mut self) -> Option<WatchEvent> {
        self.events.pop_front()
    }

    /// How many watch events were dropped because the queue was full since
    /// the last call; when non-zero, re-read every watched path.
    pub fn take_dropped_watch_events(&mut self) -> u64 {
        core::mem::take(&mut self.events_dropped)
    }

    /// The protocol error that broke the connection, if any.
    pub fn error(&self) -> Option<ProtocolError> {
        self.broken
    }
}
