// SPDX-License-Identifier: MIT OR Apache-2.0
//! The client and ring transport against [`SimXenstored`].
//!
//! Expected behaviour is xenstored's (`docs/misc/xenstore.txt`,
//! `tools/xenstore/xenstored_core.c`, `xenstored_watch.c` of 4.17).

use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use core::sync::atomic::Ordering;

use proptest::prelude::*;

use super::*;
use crate::Errno;
use crate::abi::io::xs_wire::{XSD_ERRORS, XenstoreDomainInterface, XsdSockmsgType};
use crate::abi::xen::DomId;
use crate::sim::SimXenstored;

const ME: DomId = 1;
const GUEST: DomId = 2;

/// One domain's client, connected to a simulated xenstored.
struct Harness {
    sim: SimXenstored,
    page: Arc<XenstoreDomainInterface>,
    client: XenstoreClient,
}

impl Harness {
    fn new() -> Self {
        let mut sim = SimXenstored::new();
        sim.introduce_domain(ME);
        sim.introduce_domain(GUEST);
        let page = sim.connect(ME);
        Self {
            sim,
            page,
            client: XenstoreClient::new(),
        }
    }

    /// Moves bytes both ways until nothing moves.
    fn pump(&mut self) -> Result<(), ProtocolError> {
        loop {
            let client_moved = XenstoreRing::new(&self.page).pump(&mut self.client)?;
            let server_moved = self.sim.service();
            if !client_moved && !server_moved {
                return Ok(());
            }
        }
    }

    fn events(&mut self) -> Vec<(String, String)> {
        core::iter::from_fn(|| self.client.next_watch_event())
            .map(|e| (e.path, e.token))
            .collect()
    }
}

impl XenstoreCall for Harness {
    fn call(&mut self, tx: Option<TxId>, request: &Request<'_>) -> Result<Reply, XenstoreError> {
        let id = self.client.submit(tx, request)?;
        // A protocol error also completes the request, with that error.
        let _ = self.pump();
        self.client.take_reply(id).expect("xenstored answered")
    }
}

fn read(h: &mut Harness, path: &str) -> Result<Reply, XenstoreError> {
    h.call(None, &Request::Read { path })
}

fn write(h: &mut Harness, path: &str, value: &[u8]) -> Result<Reply, XenstoreError> {
    h.call(None, &Request::Write { path, value })
}

fn remote(e: Errno) -> Result<Reply, XenstoreError> {
    Err(XenstoreError::Remote(e))
}

#[test]
fn basic_operations_round_trip() {
    let mut h = Harness::new();
    assert_eq!(write(&mut h, "device/pci/0/state", b"1"), Ok(Reply::Ok));
    assert_eq!(
        read(&mut h, "device/pci/0/state"),
        Ok(Reply::Value(b"1".to_vec()))
    );
    // Relative paths live under our home.
    assert_eq!(
        h.sim.read("/local/domain/1/device/pci/0/state"),
        Some(b"1".to_vec())
    );
    assert_eq!(
        h.call(
            None,
            &Request::Mkdir {
                path: "device/pci/0/dir"
            }
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(
        h.call(
            None,
            &Request::Mkdir {
                path: "device/pci/0/dir"
            }
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(
        h.call(
            None,
            &Request::Directory {
                path: "device/pci/0"
            }
        ),
        Ok(Reply::Entries(std::vec!["dir".into(), "state".into()]))
    );
    assert_eq!(
        h.call(None, &Request::Rm { path: "device/pci" }),
        Ok(Reply::Ok)
    );
    assert_eq!(read(&mut h, "device/pci/0/state"), remote(Errno::ENOENT));
    // Removing what is already gone is fine while the parent exists.
    assert_eq!(
        h.call(None, &Request::Rm { path: "device/pci" }),
        Ok(Reply::Ok)
    );
    assert_eq!(
        h.call(None, &Request::Rm { path: "device/x/y" }),
        remote(Errno::ENOENT)
    );
    assert_eq!(
        h.call(None, &Request::Rm { path: "/" }),
        remote(Errno::EACCES)
    );
    assert_eq!(
        h.call(None, &Request::GetDomainPath { domid: 7 }),
        Ok(Reply::DomainPath("/local/domain/7".into()))
    );
    // Values are bytes, not strings.
    assert_eq!(write(&mut h, "bin", b"a\0b\xff"), Ok(Reply::Ok));
    assert_eq!(read(&mut h, "bin"), Ok(Reply::Value(b"a\0b\xff".to_vec())));
}

#[test]
fn every_xenstore_error_name_maps_to_its_errno() {
    let mut h = Harness::new();
    for errno in XSD_ERRORS {
        h.sim.fail_next(ME, XsdSockmsgType::Read, errno);
        assert_eq!(read(&mut h, "x"), remote(errno));
    }
    // A name outside the table reads as EINVAL (as Linux's xenbus does).
    let id = h.client.submit(None, &Request::Read { path: "x" }).unwrap();
    let mut reply = Header {
        msg_type: 16,
        req_id: id.raw(),
        tx_id: 0,
        len: 7,
    }
    .encode()
    .to_vec();
    reply.extend_from_slice(b"EWEIRD\0");
    h.sim.inject_raw(ME, &reply);
    // The real reply that follows has no request left to go to.
    assert_eq!(
        h.pump(),
        Err(ProtocolError::UnexpectedReply { req_id: id.raw() })
    );
    assert_eq!(h.client.take_reply(id), Some(remote(Errno::EINVAL)));
}

#[test]
fn permissions_are_enforced_per_domain() {
    let mut h = Harness::new();
    h.sim
        .write("/local/domain/2/device/pci/0/state", b"1")
        .unwrap();
    // The guest's home is n2: we can neither read it nor learn what exists.
    assert_eq!(
        read(&mut h, "/local/domain/2/device/pci/0/state"),
        remote(Errno::EACCES)
    );
    assert_eq!(
        read(&mut h, "/local/domain/2/nothing"),
        remote(Errno::EACCES)
    );
    assert_eq!(
        write(&mut h, "/local/domain/2/x", b"1"),
        remote(Errno::EACCES)
    );
    // libxl gives the backend read access to the frontend's directory.
    let frontend = [
        Permission::new(GUEST, Access::None),
        Permission::new(ME, Access::Read),
    ];
    h.sim
        .set_perms("/local/domain/2/device/pci/0/state", &frontend)
        .unwrap();
    h.sim
        .set_perms("/local/domain/2/device/pci/0", &frontend)
        .unwrap();
    assert_eq!(
        read(&mut h, "/local/domain/2/device/pci/0/state"),
        Ok(Reply::Value(b"1".to_vec()))
    );
    assert_eq!(
        read(&mut h, "/local/domain/2/device/pci/0/gone"),
        remote(Errno::ENOENT)
    );
    assert_eq!(
        write(&mut h, "/local/domain/2/device/pci/0/state", b"5"),
        remote(Errno::EACCES)
    );
    assert_eq!(
        h.call(
            None,
            &Request::GetPerms {
                path: "/local/domain/2/device/pci/0/state"
            }
        ),
        Ok(Reply::Perms(frontend.to_vec()))
    );
    // Nodes we create are ours, with the rest of the parent's list.
    h.sim.mkdir("/shared").unwrap();
    h.sim
        .set_perms(
            "/shared",
            &[
                Permission::new(0, Access::None),
                Permission::new(ME, Access::Both),
            ],
        )
        .unwrap();
    assert_eq!(write(&mut h, "/shared/mine", b"x"), Ok(Reply::Ok));
    assert_eq!(
        h.sim.get_perms("/shared/mine"),
        Some(std::vec![
            Permission::new(ME, Access::None),
            Permission::new(ME, Access::Both)
        ])
    );
    // We own it, so we may change its list, but not give it away.
    let mine = [
        Permission::new(ME, Access::None),
        Permission::new(GUEST, Access::Read),
    ];
    assert_eq!(
        h.call(
            None,
            &Request::SetPerms {
                path: "/shared/mine",
                perms: &mine
            }
        ),
        Ok(Reply::Ok)
    );
    let theirs = [Permission::new(GUEST, Access::None)];
    assert_eq!(
        h.call(
            None,
            &Request::SetPerms {
                path: "/shared/mine",
                perms: &theirs
            }
        ),
        remote(Errno::EPERM)
    );
    // Not the owner of /shared: writing is allowed, changing perms is not.
    assert_eq!(
        h.call(
            None,
            &Request::SetPerms {
                path: "/shared",
                perms: &mine
            }
        ),
        remote(Errno::EACCES)
    );
}

#[test]
fn watches_fire_on_registration_on_the_path_and_below() {
    let mut h = Harness::new();
    assert_eq!(
        h.call(
            None,
            &Request::Watch {
                path: "backend/pci",
                token: "be"
            }
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(h.events(), [("backend/pci".into(), "be".into())]);
    h.sim
        .write("/local/domain/1/backend/pci/2/0/state", b"1")
        .unwrap();
    h.sim.write("/local/domain/1/backend/other", b"1").unwrap();
    h.sim.write("/local/domain/1/backend/pci", b"").unwrap();
    h.pump().unwrap();
    assert_eq!(
        h.events(),
        [
            ("backend/pci/2/0/state".into(), "be".into()),
            ("backend/pci".into(), "be".into())
        ]
    );
    // Absolute watches get absolute paths; a duplicate is refused.
    let absolute = Request::Watch {
        path: "/local/domain/1/backend/pci/2/0/state",
        token: "st",
    };
    assert_eq!(h.call(None, &absolute), Ok(Reply::Ok));
    assert_eq!(h.call(None, &absolute), remote(Errno::EEXIST));
    h.events();
    // Removing a parent fires the watch on the removed child, exactly.
    h.sim.rm("/local/domain/1/backend").unwrap();
    h.pump().unwrap();
    let mut events = h.events();
    events.sort();
    assert_eq!(
        events,
        [
            ("/local/domain/1/backend/pci/2/0/state".into(), "st".into()),
            ("backend/pci".into(), "be".into()),
        ]
    );
    assert_eq!(
        h.call(
            None,
            &Request::Unwatch {
                path: "backend/pci",
                token: "be"
            }
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(
        h.call(
            None,
            &Request::Unwatch {
                path: "backend/pci",
                token: "be"
            }
        ),
        remote(Errno::ENOENT)
    );
    h.sim.write("/local/domain/1/backend/pci/9", b"1").unwrap();
    h.pump().unwrap();
    assert_eq!(h.events(), []);
}

#[test]
fn watch_events_interleave_with_replies() {
    let mut h = Harness::new();
    h.call(
        None,
        &Request::Watch {
            path: "/local/domain/1/fe",
            token: "t",
        },
    )
    .unwrap();
    h.events();
    // A reply and events in one stream: the reply goes to its request, the
    // events to the queue, in order.
    let first = h
        .client
        .submit(
            None,
            &Request::Write {
                path: "fe/a",
                value: b"1",
            },
        )
        .unwrap();
    let second = h
        .client
        .submit(None, &Request::Read { path: "fe/a" })
        .unwrap();
    h.sim.write("/local/domain/1/fe/b", b"2").unwrap();
    h.pump().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        h.client.take_reply(second),
        Some(Ok(Reply::Value(b"1".to_vec())))
    );
    assert_eq!(h.client.take_reply(first), Some(Ok(Reply::Ok)));
    assert_eq!(h.client.take_reply(first), None, "each reply is taken once");
    assert_eq!(
        h.events(),
        [
            ("/local/domain/1/fe/b".into(), "t".into()),
            ("/local/domain/1/fe/a".into(), "t".into()),
        ]
    );
}

#[test]
fn watches_only_report_what_the_watcher_may_read() {
    let mut h = Harness::new();
    h.call(
        None,
        &Request::Watch {
            path: "/local/domain/2",
            token: "g",
        },
    )
    .unwrap();
    h.call(
        None,
        &Request::Watch {
            path: "@releaseDomain",
            token: "rel",
        },
    )
    .unwrap();
    h.events();
    h.sim.write("/local/domain/2/secret", b"1").unwrap();
    h.sim.release_domain(7);
    h.pump().unwrap();
    assert_eq!(
        h.events(),
        [],
        "n2 hides the guest's tree; @releaseDomain is dom0's"
    );
    h.sim
        .set_perms(
            "@releaseDomain",
            &[
                Permission::new(0, Access::None),
                Permission::new(ME, Access::Read),
            ],
        )
        .unwrap();
    h.sim
        .set_perms("/local/domain/2", &[Permission::new(GUEST, Access::Read)])
        .unwrap();
    h.pump().unwrap();
    h.events();
    h.sim.write("/local/domain/2/secret", b"2").unwrap();
    h.sim.release_domain(7);
    h.pump().unwrap();
    assert_eq!(
        h.events(),
        [
            ("/local/domain/2/secret".into(), "g".into()),
            ("@releaseDomain".into(), "rel".into())
        ]
    );
}

#[test]
fn a_flood_of_watch_events_is_bounded() {
    let mut h = Harness::new();
    h.call(
        None,
        &Request::Watch {
            path: "fe",
            token: "t",
        },
    )
    .unwrap();
    let limit = XenstoreClient::MAX_WATCH_EVENTS;
    // The same node rewritten: queued once.
    for i in 0..10u8 {
        h.sim.write("/local/domain/1/fe/state", &[i]).unwrap();
        h.pump().unwrap();
    }
    // Many distinct nodes: the queue stops at its bound and counts the rest.
    for i in 0..limit + 10 {
        h.sim
            .write(&std::format!("/local/domain/1/fe/{i}"), b"1")
            .unwrap();
        h.pump().unwrap();
    }
    let events = h.events();
    assert_eq!(events.len(), limit);
    assert_eq!(
        events[..2],
        [("fe".into(), "t".into()), ("fe/state".into(), "t".into())]
    );
    assert_eq!(h.client.take_dropped_watch_events(), 12);
    assert_eq!(h.client.take_dropped_watch_events(), 0);
}

#[test]
fn transactions_commit_atomically_and_conflicts_give_eagain() {
    let mut h = Harness::new();
    h.call(
        None,
        &Request::Watch {
            path: "be",
            token: "t",
        },
    )
    .unwrap();
    h.events();
    let Ok(Reply::Transaction(tx)) = h.call(None, &Request::TransactionStart) else {
        panic!("no transaction");
    };
    assert_eq!(
        h.call(
            Some(tx),
            &Request::Write {
                path: "be/state",
                value: b"2"
            }
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(
        read(&mut h, "be/state"),
        remote(Errno::ENOENT),
        "invisible outside"
    );
    assert_eq!(h.events(), [], "watches fire at commit");
    assert_eq!(
        h.call(Some(tx), &Request::TransactionEnd { commit: true }),
        Ok(Reply::Ok)
    );
    assert_eq!(read(&mut h, "be/state"), Ok(Reply::Value(b"2".to_vec())));
    assert_eq!(h.events(), [("be/state".into(), "t".into())]);

    // A node the transaction read changes before the commit: EAGAIN.
    let Ok(Reply::Transaction(tx)) = h.call(None, &Request::TransactionStart) else {
        panic!("no transaction");
    };
    assert_eq!(
        h.call(Some(tx), &Request::Read { path: "be/state" }),
        Ok(Reply::Value(b"2".to_vec()))
    );
    h.sim.write("/local/domain/1/be/state", b"5").unwrap();
    h.call(
        Some(tx),
        &Request::Write {
            path: "be/state",
            value: b"3",
        },
    )
    .unwrap();
    assert_eq!(
        h.call(Some(tx), &Request::TransactionEnd { commit: true }),
        remote(Errno::EAGAIN)
    );
    assert_eq!(h.sim.read("/local/domain/1/be/state"), Some(b"5".to_vec()));
    // The transaction is gone either way.
    assert_eq!(
        h.call(Some(tx), &Request::Read { path: "be/state" }),
        remote(Errno::ENOENT)
    );
    // Aborting discards.
    let Ok(Reply::Transaction(tx)) = h.call(None, &Request::TransactionStart) else {
        panic!("no transaction");
    };
    h.call(Some(tx), &Request::Rm { path: "be" }).unwrap();
    assert_eq!(
        h.call(Some(tx), &Request::TransactionEnd { commit: false }),
        Ok(Reply::Ok)
    );
    assert_eq!(h.sim.read("/local/domain/1/be/state"), Some(b"5".to_vec()));
    // Misuse is refused before anything is sent.
    assert_eq!(
        h.client.submit(Some(TxId(1)), &Request::TransactionStart),
        Err(XenstoreError::BadTransaction)
    );
    assert_eq!(
        h.client
            .submit(None, &Request::TransactionEnd { commit: true }),
        Err(XenstoreError::BadTransaction)
    );
}

#[test]
fn run_transaction_retries_on_conflict() {
    let mut h = Harness::new();
    h.sim.write("/local/domain/1/counter", b"0").unwrap();
    let mut attempts = 0;
    let result = run_transaction(&mut h, 5, |h, tx| {
        attempts += 1;
        let Reply::Value(value) = h.call(Some(tx), &Request::Read { path: "counter" })? else {
            return Err(XenstoreError::BadTransaction);
        };
        if attempts == 1 {
            // Another writer gets in between: this attempt must fail.
            h.sim.write("/local/domain/1/counter", b"10").unwrap();
        }
        let next = std::format!("{}", value[0] - b'0' + 1);
        h.call(
            Some(tx),
            &Request::Write {
                path: "counter",
                value: next.as_bytes(),
            },
        )?;
        Ok(next)
    });
    assert_eq!(attempts, 2);
    // The retry read "10"'s first digit: proves it saw the other write.
    assert_eq!(result, Ok(String::from("2")));
    assert_eq!(h.sim.read("/local/domain/1/counter"), Some(b"2".to_vec()));
    // An error inside aborts and is returned without retrying.
    let mut tries = 0;
    let failed: Result<(), _> = run_transaction(&mut h, 5, |h, tx| {
        tries += 1;
        h.call(
            Some(tx),
            &Request::Read {
                path: "/local/domain/2/x",
            },
        )
        .map(drop)
    });
    assert_eq!(
        (failed, tries),
        (Err(XenstoreError::Remote(Errno::EACCES)), 1)
    );
}

#[test]
fn messages_longer_than_the_ring_go_through_in_pieces() {
    let mut h = Harness::new();
    h.sim.set_chunk_limit(Some(7));
    let big: Vec<u8> = (0..4000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(write(&mut h, "big", &big), Ok(Reply::Ok));
    assert_eq!(read(&mut h, "big"), Ok(Reply::Value(big.clone())));
    // Both rings wrapped: indices are past several times their size.
    assert!(h.page.req_prod.load(Ordering::Relaxed) > 3 * 1024);
    assert!(h.page.rsp_prod.load(Ordering::Relaxed) > 3 * 1024);
    assert_eq!(
        h.page.req_prod.load(Ordering::Relaxed),
        h.page.req_cons.load(Ordering::Relaxed)
    );
}

#[test]
fn free_running_indices_wrap_at_u32_max() {
    let mut h = Harness::new();
    for index in [
        &h.page.req_cons,
        &h.page.req_prod,
        &h.page.rsp_cons,
        &h.page.rsp_prod,
    ] {
        index.store(u32::MAX - 20, Ordering::Relaxed);
    }
    assert_eq!(write(&mut h, "wrap", b"around"), Ok(Reply::Ok));
    assert_eq!(read(&mut h, "wrap"), Ok(Reply::Value(b"around".to_vec())));
    assert!(h.page.req_prod.load(Ordering::Relaxed) < 100);
}

/// Sends one request, makes xenstored answer `garbage` before its real
/// reply, and returns what the client reports.
fn garbage_reply(garbage: impl FnOnce(u32) -> Vec<u8>) -> (ProtocolError, Harness, ReqId) {
    let mut h = Harness::new();
    let id = h.client.submit(None, &Request::Read { path: "x" }).unwrap();
    h.sim.inject_raw(ME, &garbage(id.raw()));
    let error = h.pump().expect_err("garbage is refused");
    (error, h, id)
}

fn message(msg_type: u32, req_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Header {
        msg_type,
        req_id,
        tx_id: 0,
        len: payload.len() as u32,
    }
    .encode()
    .to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// A name, the garbage for a `req_id`, and the error it must cause.
type GarbageCase = (&'static str, fn(u32) -> Vec<u8>, fn(&ProtocolError) -> bool);

#[test]
fn garbage_replies_break_the_connection_without_panicking() {
    let cases: [GarbageCase; 7] = [
        (
            "length over 4096",
            |id| {
                Header {
                    msg_type: 2,
                    req_id: id,
                    tx_id: 0,
                    len: 5000,
                }
                .encode()
                .to_vec()
            },
            |e| *e == ProtocolError::PayloadTooLong { len: 5000 },
        ),
        (
            "unknown type",
            |id| message(99, id, b""),
            |e| *e == ProtocolError::UnknownType { msg_type: 99 },
        ),
        (
            "unknown req_id",
            |id| message(2, id + 1000, b"v"),
            |e| matches!(e, ProtocolError::UnexpectedReply { .. }),
        ),
        (
            "error without NUL",
            |id| message(16, id, b"EINVAL"),
            |e| {
                matches!(
                    e,
                    ProtocolError::Malformed {
                        msg_type: XsdSockmsgType::Error,
                        ..
                    }
                )
            },
        ),
        (
            "wrong reply type",
            |id| message(11, id, b"OK\0"),
            |e| matches!(e, ProtocolError::MismatchedReply { msg_type: 11, .. }),
        ),
        (
            "watch event without token",
            |_| message(15, 0, b"path\0"),
            |e| {
                matches!(
                    e,
                    ProtocolError::Malformed {
                        msg_type: XsdSockmsgType::WatchEvent,
                        ..
                    }
                )
            },
        ),
        (
            "watch event without NUL",
            |_| message(15, 0, b"path\0token"),
            |e| {
                matches!(
                    e,
                    ProtocolError::Malformed {
                        msg_type: XsdSockmsgType::WatchEvent,
                        ..
                    }
                )
            },
        ),
    ];
    for (name, garbage, expected) in cases {
        let (error, mut h, id) = garbage_reply(garbage);
        assert!(expected(&error), "{name}: {error:?}");
        assert_eq!(h.client.error(), Some(error), "{name}");
        // The request in flight completes with the error; new ones are refused.
        assert_eq!(
            h.client.take_reply(id),
            Some(Err(XenstoreError::Protocol(error))),
            "{name}"
        );
        assert_eq!(
            read(&mut h, "x"),
            Err(XenstoreError::Protocol(error)),
            "{name}"
        );
    }
}

#[test]
fn corrupt_ring_indices_are_a_protocol_error() {
    let mut h = Harness::new();
    h.page.rsp_prod.store(5000, Ordering::Relaxed);
    let error = XenstoreRing::new(&h.page).pump(&mut h.client);
    assert!(matches!(error, Err(ProtocolError::Ring(_))), "{error:?}");
}

#[test]
fn request_ids_are_fresh_and_bounded() {
    let mut client = XenstoreClient::new();
    let ids: Vec<ReqId> = (0..XenstoreClient::MAX_REQUESTS)
        .map(|_| client.submit(None, &Request::Read { path: "x" }).unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    assert!(ids.iter().all(|id| id.raw() != 0 && client.is_pending(*id)));
    assert_eq!(
        client.submit(None, &Request::Read { path: "x" }),
        Err(XenstoreError::TooManyRequests)
    );
    assert_eq!(client.output().len(), ids.len() * (16 + 2));
    client.consume_output(18);
    assert_eq!(client.output().len(), (ids.len() - 1) * 18);
}

proptest! {
    /// Whatever xenstored sends, the client never panics; it either keeps
    /// going or reports a protocol error.
    #[test]
    fn arbitrary_bytes_from_xenstored_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let mut client = XenstoreClient::new();
        let id = client.submit(None, &Request::Read { path: "x" }).unwrap();
        for chunk in &chunks {
            if client.feed(chunk).is_err() {
                prop_assert!(client.error().is_some());
                prop_assert!(client.take_reply(id).is_some());
                break;
            }
        }
    }

    /// Well-formed messages fed in arbitrary pieces arrive as if whole.
    #[test]
    fn replies_survive_any_split(cuts in proptest::collection::vec(0usize..64, 0..8)) {
        let mut client = XenstoreClient::new();
        let id = client.submit(None, &Request::Read { path: "x" }).unwrap();
        let mut stream = message(15, 0, b"a/b\0tok\0");
        stream.extend(message(2, id.raw(), b"value"));
        let mut rest = &stream[..];
        for cut in cuts {
            let (head, tail) = rest.split_at(cut.min(rest.len()));
            client.feed(head).unwrap();
            rest = tail;
        }
        client.feed(rest).unwrap();
        prop_assert_eq!(client.take_reply(id), Some(Ok(Reply::Value(b"value".to_vec()))));
        let event = client.next_watch_event().unwrap();
        prop_assert_eq!((event.path.as_str(), event.token.as_str()), ("a/b", "tok"));
    }
}
