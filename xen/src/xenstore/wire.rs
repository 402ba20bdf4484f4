// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xsd_sockmsg` framing: the 16-byte header and an incremental reader.
//!
//! All fields are little-endian `u32`s (`type`, `req_id`, `tx_id`, `len`),
//! followed by `len` payload bytes, at most `XENSTORE_PAYLOAD_MAX`.

use alloc::vec::Vec;

use super::error::ProtocolError;
use crate::abi::io::xs_wire::{XENSTORE_PAYLOAD_MAX, XsdSockmsg};

/// A transaction, as `XS_TRANSACTION_START` numbered it: the `tx_id` of
/// the messages that belong to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u32);

/// Bytes in a message header.
pub const HEADER_SIZE: usize = size_of::<XsdSockmsg>();

/// A decoded `struct xsd_sockmsg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Raw `XS_*` type.
    pub msg_type: u32,
    /// Request id, echoed in the reply.
    pub req_id: u32,
    /// Transaction id, 0 for none.
    pub tx_id: u32,
    /// Payload length.
    pub len: u32,
}

impl Header {
    /// The wire bytes.
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut bytes = [0; HEADER_SIZE];
        let fields = [self.msg_type, self.req_id, self.tx_id, self.len];
        for (chunk, field) in bytes.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        bytes
    }

    /// Decodes wire bytes (no validation).
    pub fn decode(bytes: &[u8; HEADER_SIZE]) -> Self {
        let mut words = bytes
            .chunks_exact(4)
            .map(|chunk| chunk.try_into().map_or(0, u32::from_le_bytes));
        let mut word = || words.next().unwrap_or(0);
        Self {
            msg_type: word(),
            req_id: word(),
            tx_id: word(),
            len: word(),
        }
    }
}

/// Reassembles whole messages from a byte stream that arrives in pieces.
#[derive(Debug, Default)]
pub struct MessageReader {
    buffer: Vec<u8>,
}

impl MessageReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Takes the next complete message, if one has arrived. A header whose
    /// `len` exceeds `XENSTORE_PAYLOAD_MAX` is refused as soon as it is
    /// complete, before its payload is waited for.
    pub fn next_message(&mut self) -> Result<Option<(Header, Vec<u8>)>, ProtocolError> {
        let Some(header_bytes) = self.buffer.first_chunk::<HEADER_SIZE>() else {
            return Ok(None);
        };
        let header = Header::decode(header_bytes);
        let len = usize::try_from(header.len)
            .ok()
            .filter(|&len| len <= XENSTORE_PAYLOAD_MAX)
            .ok_or(ProtocolError::PayloadTooLong { len: header.len })?;
        // len <= XENSTORE_PAYLOAD_MAX: the sum cannot overflow.
        let total = HEADER_SIZE.saturating_add(len);
        let Some(payload) = self.buffer.get(HEADER_SIZE..total) else {
            return Ok(None);
        };
        let payload = payload.to_vec();
        self.buffer.drain(..total);
        Ok(Some((header, payload)))
    }

    /// Bytes held that do not yet form a whole message.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

/// Splits a payload of NUL-terminated strings (`a\0b\0`). `None` if the
/// payload does not end with NUL; an empty payload has no strings.
pub(crate) fn nul_terminated(payload: &[u8]) -> Option<Vec<&[u8]>> {
    if payload.is_empty() {
        return Some(Vec::new());
    }
    let body = payload.strip_suffix(b"\0")?;
    Some(body.split(|&b| b == 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_from_the_notes() {
        // READ of "device/pci/0/state" with req_id 7 (reference §3.11).
        let header = Header {
            msg_type: 2,
            req_id: 7,
            tx_id: 0,
            len: 19,
        };
        assert_eq!(
            header.encode(),
            [2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0x13, 0, 0, 0]
        );
        assert_eq!(Header::decode(&header.encode()), header);
    }

    #[test]
    fn messages_arrive_in_pieces() {
        let mut reader = MessageReader::new();
        let mut stream = Header {
            msg_type: 11,
            req_id: 1,
            tx_id: 0,
            len: 3,
        }
        .encode()
        .to_vec();
        stream.extend_from_slice(b"OK\0");
        stream.extend_from_slice(
            &Header {
                msg_type: 15,
                req_id: 0,
                tx_id: 0,
                len: 0,
            }
            .encode(),
        );
        for byte in &stream[..18] {
            assert_eq!(reader.next_message(), Ok(None));
            reader.push(core::slice::from_ref(byte));
        }
        assert_eq!(reader.next_message(), Ok(None));
        reader.push(&stream[18..]);
        let (h, payload) = reader.next_message().unwrap().unwrap();
        assert_eq!((h.msg_type, h.req_id, &payload[..]), (11, 1, &b"OK\0"[..]));
        let (h, payload) = reader.next_message().unwrap().unwrap();
        assert_eq!((h.msg_type, payload.len()), (15, 0));
        assert_eq!(reader.next_message(), Ok(None));
        assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn oversized_length_is_refused_at_the_header() {
        let mut reader = MessageReader::new();
        reader.push(
            &Header {
                msg_type: 2,
                req_id: 1,
                tx_id: 0,
                len: 4097,
            }
            .encode(),
        );
        assert_eq!(
            reader.next_message(),
            Err(ProtocolError::PayloadTooLong { len: 4097 })
        );
        let mut reader = MessageReader::new();
        reader.push(
            &Header {
                msg_type: 2,
                req_id: 1,
                tx_id: 0,
                len: u32::MAX,
            }
            .encode(),
        );
        assert_eq!(
            reader.next_message(),
            Err(ProtocolError::PayloadTooLong { len: u32::MAX })
        );
    }

    #[test]
    fn nul_terminated_strings() {
        assert_eq!(nul_terminated(b""), Some(std::vec![]));
        assert_eq!(
            nul_terminated(b"a\0bc\0"),
            Some(std::vec![&b"a"[..], b"bc"])
        );
        assert_eq!(nul_terminated(b"\0"), Some(std::vec![&b""[..]]));
        assert_eq!(nul_terminated(b"a\0b"), None);
    }
}
