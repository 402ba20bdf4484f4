// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xenstore_client`: xenstored's side of the connection, played by the fuzzer.
//!
//! The sans-IO [`XenstoreClient`] takes requests and gets bytes back. The
//! fuzzer submits requests (any path, value, token, permissions,
//! transaction), then sends it what a broken or hostile xenstored could:
//! raw bytes in pieces of any size; well-formed messages with any type,
//! id, transaction and payload (replies to requests in flight or not,
//! errors with any name, watch events with any path and token, lengths
//! past the maximum); it also drives the shared ring page
//! ([`XenstoreRing`]) with indices and bytes of its choosing, and the
//! path, token and permission parsers.
//!
//! Invariants: nothing panics; request ids are never 0 and never reused
//! while in flight or uncollected; what the client writes is a sequence of
//! well-formed messages for the requests it accepted, with the ids it
//! returned and the transaction it was given; a reply is collected at most
//! once and only for an id it handed out; a well-formed reply to a request
//! in flight, on a clean stream, is decoded to what was sent (a read's
//! value byte for byte, `OK`, a transaction id, a directory's names,
//! permissions); once a protocol error breaks the connection, it stays
//! broken with that error, nothing is pending, every later request and
//! feed fails; watch events queue at most
//! [`XenstoreClient::MAX_WATCH_EVENTS`], each with printable path and
//! token; the ring never moves more bytes than it holds, and corrupt
//! indices are an error, not a panic.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use arbitrary::Unstructured;
use xen::abi::io::xs_wire::{XENSTORE_RING_SIZE, XenstoreDomainInterface, XsdSockmsgType};
use xen::xenstore::{
    Access, Header, MessageReader, Permission, Reply, ReqId, Request, TxId, XenstoreClient,
    XenstoreError, XenstoreRing, parse_permissions, validate_path, validate_token,
};

/// Most steps one input runs.
const MAX_STEPS: usize = 64;
/// `XENSTORE_PAYLOAD_MAX`.
const PAYLOAD_MAX: usize = 4096;

/// Paths and tokens worth trying, and fragments to build others from.
const PATHS: &[&str] = &[
    "backend/pci/2/0/state",
    "/local/domain/1/backend/pci",
    "@releaseDomain",
    "@introduceDomain",
    "",
    "/",
    "a//b",
    "trailing/",
    "device/pci/0/pci-op-ref",
];

fn text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    Ok(if u.ratio(1, 2)? {
        (*u.choose(PATHS)?).to_owned()
    } else {
        let len = u.int_in_range(0..=64_usize)?.min(u.len());
        String::from_utf8_lossy(u.bytes(len)?).into_owned()
    })
}

/// A request the fuzzer submits.
struct Submitted {
    msg_type: XsdSockmsgType,
    tx: Option<TxId>,
}

fn submit(
    u: &mut Unstructured<'_>,
    client: &mut XenstoreClient,
) -> arbitrary::Result<Option<(ReqId, Submitted)>> {
    let (path, token) = (text(u)?, text(u)?);
    let value_len = u.int_in_range(0..=PAYLOAD_MAX + 8)?.min(u.len());
    let value = u.bytes(value_len)?.to_vec();
    let perms: Vec<Permission> = (0..u.int_in_range(0..=3_usize)?)
        .map(|_| -> arbitrary::Result<Permission> {
            let access = *u.choose(&[Access::None, Access::Read, Access::Write, Access::Both])?;
            Ok(Permission::new(u.arbitrary()?, access))
        })
        .collect::<arbitrary::Result<_>>()?;
    let request = match u.int_in_range(0..=11)? {
        0 => Request::Read { path: &path },
        1 => Request::Write {
            path: &path,
            value: &value,
        },
        2 => Request::Mkdir { path: &path },
        3 => Request::Rm { path: &path },
        4 => Request::Directory { path: &path },
        5 => Request::GetPerms { path: &path },
        6 => Request::SetPerms {
            path: &path,
            perms: &perms,
        },
        7 => Request::Watch {
            path: &path,
            token: &token,
        },
        8 => Request::Unwatch {
            path: &path,
            token: &token,
        },
        9 => Request::TransactionStart,
        10 => Request::TransactionEnd {
            commit: u.arbitrary()?,
        },
        _ => Request::GetDomainPath {
            domid: u.arbitrary()?,
        },
    };
    let tx = if u.arbitrary()? {
        Some(TxId(u.arbitrary()?))
    } else {
        None
    };
    let before = client.output().len();
    let Ok(id) = client.submit(tx, &request) else {
        assert_eq!(
            client.output().len(),
            before,
            "a refused request was written"
        );
        return Ok(None);
    };
    Ok(Some((
        id,
        Submitted {
            msg_type: request.msg_type(),
            tx,
        },
    )))
}

/// A payload xenstored could send for `msg_type`: well formed or not.
fn payload(u: &mut Unstructured<'_>, msg_type: u32) -> arbitrary::Result<Vec<u8>> {
    if u.ratio(1, 3)? {
        let len = u.int_in_range(0..=PAYLOAD_MAX + 16)?.min(u.len());
        return Ok(u.bytes(len)?.to_vec());
    }
    let mut strings = |count: usize| -> arbitrary::Result<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..count {
            out.extend_from_slice(text(u)?.as_bytes());
            out.push(0);
        }
        Ok(out)
    };
    Ok(match XsdSockmsgType::from_raw(msg_type) {
        Some(XsdSockmsgType::Directory) => strings(3)?,
        Some(XsdSockmsgType::GetPerms) => b"n0\0r1\0b2\0".to_vec(),
        Some(XsdSockmsgType::TransactionStart) => b"17\0".to_vec(),
        Some(XsdSockmsgType::GetDomainPath) => b"/local/domain/1\0".to_vec(),
        Some(XsdSockmsgType::Error) => {
            let name = *u.choose(&["EINVAL", "EACCES", "ENOENT", "EAGAIN", "EQUOTA", "EWHAT"])?;
            [name.as_bytes(), b"\0"].concat()
        }
        Some(XsdSockmsgType::WatchEvent) => strings(2)?,
        Some(XsdSockmsgType::Read) => {
            let len = u.int_in_range(0..=64_usize)?.min(u.len());
            u.bytes(len)?.to_vec()
        }
        _ => b"OK\0".to_vec(),
    })
}

/// Parses `bytes` as the client's output: well-formed messages for the
/// requests it accepted.
fn check_output(bytes: &[u8], submitted: &BTreeMap<u32, Submitted>) {
    let mut reader = MessageReader::new();
    reader.push(bytes);
    while let Some((header, body)) = reader
        .next_message()
        .unwrap_or_else(|error| panic!("the client wrote a malformed message: {error}"))
    {
        let request = submitted
            .get(&header.req_id)
            .unwrap_or_else(|| panic!("{header:?} is no request the client accepted"));
        assert_eq!(header.msg_type, request.msg_type as u32, "{header:?}");
        assert_eq!(header.tx_id, request.tx.map_or(0, |tx| tx.0), "{header:?}");
        assert!(body.len() <= PAYLOAD_MAX, "{header:?}");
    }
    assert_eq!(reader.buffered(), 0, "the output ends in half a message");
}

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut client = XenstoreClient::new();
    let page = Box::new(XenstoreDomainInterface::default());
    // Every request accepted, by id; those whose reply was collected.
    let mut submitted: BTreeMap<u32, Submitted> = BTreeMap::new();
    let mut live: BTreeSet<u32> = BTreeSet::new();
    let mut handles: BTreeMap<u32, ReqId> = BTreeMap::new();
    // No byte but whole messages was fed yet: replies must decode as sent.
    let mut clean = true;
    // The output still starts at a message boundary.
    let mut framed = true;
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(choice) = u.int_in_range(0..=9) else {
            break;
        };
        let broken_before = client.error();
        match choice {
            0..=2 => {
                let Ok(Some((id, request))) = submit(&mut u, &mut client) else {
                    continue;
                };
                assert!(broken_before.is_none(), "a broken client took a request");
                assert_ne!(id.raw(), 0, "request id 0");
                assert!(live.insert(id.raw()), "id {} reused", id.raw());
                handles.insert(id.raw(), id);
                submitted.insert(id.raw(), request);
            }
            3 => {
                let len = u.int_in_range(1..=256_usize).unwrap_or(1).min(u.len());
                let bytes = u.bytes(len).unwrap_or_default();
                clean = false;
                let result = client.feed(bytes);
                if let Some(error) = broken_before {
                    assert_eq!(result, Err(error), "a broken client took bytes");
                }
            }
            4..=6 => {
                let ids: Vec<u32> = live.iter().copied().collect();
                let msg_type = match u.int_in_range(0..=5).unwrap_or(0) {
                    0..=2 => ids
                        .first()
                        .and_then(|_| u.choose(&ids).ok())
                        .and_then(|id| submitted.get(id))
                        .map_or(XsdSockmsgType::Read as u32, |s| s.msg_type as u32),
                    3 => XsdSockmsgType::Error as u32,
                    4 => XsdSockmsgType::WatchEvent as u32,
                    _ => u.arbitrary().unwrap_or(0),
                };
                let req_id = match (
                    msg_type == XsdSockmsgType::WatchEvent as u32,
                    ids.is_empty(),
                ) {
                    (true, _) => 0,
                    (false, false) if u.ratio(4, 5).unwrap_or(true) => {
                        *u.choose(&ids).unwrap_or(&0)
                    }
                    _ => u.arbitrary().unwrap_or(0),
                };
                let Ok(body) = payload(&mut u, msg_type) else {
                    break;
                };
                let len = if u.ratio(15, 16).unwrap_or(true) {
                    u32::try_from(body.len()).unwrap_or(u32::MAX)
                } else {
                    clean = false;
                    u.arbitrary().unwrap_or(0)
                };
                let header = Header {
                    msg_type,
                    req_id,
                    tx_id: u.arbitrary().unwrap_or(0),
                    len,
                };
                let mut message = header.encode().to_vec();
                message.extend_from_slice(&body);
                let chunk = u.int_in_range(1..=message.len().max(1)).unwrap_or(1);
                let mut result = Ok(());
                for piece in message.chunks(chunk) {
                    result = client.feed(piece);
                    if result.is_err() {
                        break;
                    }
                }
                if let Some(error) = broken_before {
                    assert_eq!(result, Err(error), "a broken client took a message");
                    continue;
                }
                let expected_reply = clean
                    && result.is_ok()
                    && live.contains(&req_id)
                    && submitted
                        .get(&req_id)
                        .is_some_and(|s| s.msg_type as u32 == msg_type);
                if expected_reply {
                    let reply = handles.get(&req_id).and_then(|&id| client.take_reply(id));
                    live.remove(&req_id);
                    check_round_trip(msg_type, &body, reply);
                }
            }
            7 => {
                let ids: Vec<ReqId> = handles.values().copied().collect();
                let Ok(&id) = u.choose(&ids) else {
                    continue;
                };
                if client.take_reply(id).is_some() {
                    assert!(live.remove(&id.raw()), "a second reply for {id:?}");
                }
            }
            8 => {
                let mut events = 0;
                while let Some(event) = client.next_watch_event() {
                    events += 1;
                    for text in [&event.path, &event.token] {
                        assert!(
                            !text.is_empty()
                                && text.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
                            "{event:?}"
                        );
                    }
                }
                assert!(
                    events <= XenstoreClient::MAX_WATCH_EVENTS,
                    "{events} queued"
                );
                let _ = client.take_dropped_watch_events();
            }
            _ => {
                if u.ratio(1, 2).unwrap_or(false) {
                    let indices: [u32; 4] = u.arbitrary().unwrap_or_default();
                    page.req_cons.store(indices[0], Ordering::SeqCst);
                    page.req_prod.store(indices[1], Ordering::SeqCst);
                    page.rsp_cons.store(indices[2], Ordering::SeqCst);
                    page.rsp_prod.store(indices[3], Ordering::SeqCst);
                    let len = u.int_in_range(0..=64_usize).unwrap_or(0).min(u.len());
                    let at = u.int_in_range(0..=XENSTORE_RING_SIZE - 1).unwrap_or(0);
                    for (offset, byte) in u.bytes(len).unwrap_or_default().iter().enumerate() {
                        page.rsp[(at + offset) % XENSTORE_RING_SIZE].store(*byte, Ordering::SeqCst);
                    }
                }
                let (rsp_cons, rsp_prod) = (
                    page.rsp_cons.load(Ordering::SeqCst),
                    page.rsp_prod.load(Ordering::SeqCst),
                );
                let req_prod = page.req_prod.load(Ordering::SeqCst);
                let output = client.output().len();
                if XenstoreRing::new(&page).pump(&mut client).is_ok() {
                    let read = page.rsp_cons.load(Ordering::SeqCst).wrapping_sub(rsp_cons);
                    assert!(
                        read <= rsp_prod.wrapping_sub(rsp_cons),
                        "the ring consumed {read} of {} bytes",
                        rsp_prod.wrapping_sub(rsp_cons)
                    );
                    let written = page.req_prod.load(Ordering::SeqCst).wrapping_sub(req_prod);
                    assert!(
                        written as usize <= output,
                        "the ring wrote {written} of {output}"
                    );
                }
                // The ring consumed output at byte granularity.
                framed = false;
                clean = false;
            }
        }
        if let Some(error) = client.error() {
            if let Some(before) = broken_before {
                assert_eq!(error, before, "the breaking error changed");
            }
            for id in &live {
                if let Some(&handle) = handles.get(id) {
                    assert!(!client.is_pending(handle), "{id} pending after a break");
                }
            }
            assert!(client.output().is_empty(), "a broken client has output");
            assert!(
                matches!(
                    client.submit(None, &Request::Read { path: "x" }),
                    Err(XenstoreError::Protocol(e)) if e == error
                ),
                "a broken client took a request"
            );
        } else if framed {
            check_output(client.output(), &submitted);
        }
    }
    for (text, is_token) in [(text(&mut u), false), (text(&mut u), true)] {
        let Ok(text) = text else { break };
        let valid = if is_token {
            validate_token(&text).is_ok()
        } else {
            validate_path(&text).is_ok()
        };
        if valid {
            assert!(!text.contains('\0'), "{text:?} accepted with a NUL");
        }
    }
    if let Some(perms) = parse_permissions(u.take_rest()) {
        for perm in perms {
            assert!(
                Permission::parse(perm.to_string().as_bytes()) == Some(perm),
                "{perm:?}"
            );
        }
    }
}

/// A well-formed reply of `msg_type` carrying `body`, to a request of that
/// type in flight, must come back as what was sent.
fn check_round_trip(msg_type: u32, body: &[u8], reply: Option<Result<Reply, XenstoreError>>) {
    let reply = reply.unwrap_or_else(|| panic!("no reply to a well-formed {msg_type} message"));
    match (XsdSockmsgType::from_raw(msg_type), reply) {
        (Some(XsdSockmsgType::Read), reply) => {
            assert_eq!(
                reply,
                Ok(Reply::Value(body.to_vec())),
                "a read's value changed"
            );
        }
        (Some(XsdSockmsgType::TransactionStart), Ok(Reply::Transaction(tx))) => {
            // The number sent, however written ("01" is 1, as Linux's
            // simple_strtoul reads it).
            let sent = body
                .strip_suffix(b"\0")
                .and_then(|digits| std::str::from_utf8(digits).ok())
                .and_then(|digits| digits.parse::<u32>().ok());
            assert_eq!(sent, Some(tx.0), "a transaction id changed");
        }
        (Some(XsdSockmsgType::Directory), Ok(Reply::Entries(names))) => {
            let joined: Vec<u8> = names
                .iter()
                .flat_map(|n| [n.as_bytes(), b"\0"].concat())
                .collect();
            assert_eq!(joined, body, "a directory's names changed");
        }
        (Some(XsdSockmsgType::GetPerms), Ok(Reply::Perms(perms))) => {
            assert_eq!(parse_permissions(body), Some(perms));
        }
        (Some(XsdSockmsgType::GetDomainPath), Ok(Reply::DomainPath(path))) => {
            assert_eq!(
                [path.as_bytes(), b"\0"].concat(),
                body,
                "a domain path changed"
            );
        }
        (Some(_), Ok(Reply::Ok)) => assert_eq!(body, b"OK\0"),
        (_, Err(XenstoreError::Protocol(_))) => {}
        (t, other) => panic!("{t:?} reply {other:?} to {body:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first crash of the campaign, a gap in the target itself: a
    /// well-formed `XS_GET_DOMAIN_PATH` reply decodes to the path sent,
    /// and the round-trip check knows it.
    #[test]
    fn regression_a_domain_path_reply_round_trips() {
        let mut client = XenstoreClient::new();
        let id = client
            .submit(None, &Request::GetDomainPath { domid: 1 })
            .expect("a valid request");
        let body = b"/local/domain/1\0";
        let header = Header {
            msg_type: XsdSockmsgType::GetDomainPath as u32,
            req_id: id.raw(),
            tx_id: 0,
            len: u32::try_from(body.len()).expect("a short body"),
        };
        client.feed(&header.encode()).expect("a header");
        client.feed(body).expect("a payload");
        check_round_trip(header.msg_type, body, client.take_reply(id));
    }
}
