// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`XenstoreRing`]: moves a client's bytes through the shared ring page.
//!
//! Indices are published with Release and read with Acquire by
//! [`ByteRing`]; a message may span many calls.

use super::client::XenstoreClient;
use super::error::ProtocolError;
use crate::abi::io::xs_wire::{XENSTORE_RING_SIZE, XenstoreDomainInterface};
use crate::ring::ByteRing;

/// The guest end of the XenStore ring page (`HVM_PARAM_STORE_PFN`): it
/// produces `req` and consumes `rsp`.
#[derive(Clone, Copy, Debug)]
pub struct XenstoreRing<'a> {
    requests: ByteRing<'a>,
    responses: ByteRing<'a>,
}

impl<'a> XenstoreRing<'a> {
    /// The guest end of `page` (see [`XenstoreDomainInterface::from_page`]).
    pub fn new(page: &'a XenstoreDomainInterface) -> Self {
        Self {
            requests: ByteRing::new(&page.req, &page.req_cons, &page.req_prod),
            responses: ByteRing::new(&page.rsp, &page.rsp_cons, &page.rsp_prod),
        }
    }

    /// Writes as much pending output as fits and feeds everything received
    /// to `client`, until neither moves. Returns whether any index moved,
    /// i.e. whether to notify the store event channel. Messages longer than
    /// the ring go through in pieces across calls.
    pub fn pump(&self, client: &mut XenstoreClient) -> Result<bool, ProtocolError> {
        let mut moved = false;
        loop {
            let written = self.requests.write(client.output())?;
            client.consume_output(written);
            let mut buffer = [0; XENSTORE_RING_SIZE];
            let read = self.responses.read(&mut buffer)?;
            client.feed(buffer.get(..read).unwrap_or_default())?;
            if written == 0 && read == 0 {
                return Ok(moved);
            }
            moved = true;
        }
    }
}
