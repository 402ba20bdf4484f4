// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`XenstoreConnection`]: XenStore for async tasks, over the shared ring.
//!
//! The sans-IO [`XenstoreClient`] encodes and decodes; this drives it over
//! the ring page for an executor: `request(...).await` completes when the
//! reply arrives, a [`XenstoreWatch`] yields the paths that changed. One
//! party calls [`XenstoreConnection::pump`] whenever the store's event
//! channel fires (the kernel's XenStore task; the simulator's world): it
//! moves bytes both ways, tells xenstored through [`Notify`] when an
//! index moved, and wakes the tasks whose replies or watch events
//! arrived. Everything runs on one CPU: the state sits in a `RefCell`,
//! never borrowed across an await.
//!
//! Each watch keeps its own queue of at most [`WATCH_QUEUE`] events
//! (XSA-349: a guest rewriting its own nodes must grow neither the heap
//! nor the log). Past that, the waiting events are folded into one for
//! the watched path itself, as xenstored fires it when the watch is set:
//! "anything below may have changed", so the reader re-reads what it
//! cares about and misses nothing; that is said once per watch. The
//! client's own queue, shared by all watches, is bounded too.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::ops::Deref;
use core::task::{Poll, Waker};
use litemap::LiteMap;

use super::client::{ReqId, XenstoreClient};
use super::error::{ProtocolError, XenstoreError};
use super::reply::Reply;
use super::request::Request;
use super::transport::XenstoreRing;
use super::wire::TxId;
use crate::abi::io::xs_wire::{XenstoreDomainInterface, XsdSockmsgType};

/// Most watch events queued per watch before the oldest are dropped.
pub const WATCH_QUEUE: usize = 64;

/// Tells xenstored that the ring moved (`EVTCHNOP_send` on the store's
/// event channel).
pub trait Notify {
    /// Signals the store's event channel.
    fn notify(&self);
}

/// No notification: a peer that polls the ring (the simulated xenstored).
impl Notify for () {
    fn notify(&self) {}
}

/// A XenStore connection over the ring page `P`, notifying through `N`.
#[derive(Debug)]
pub struct XenstoreConnection<P, N> {
    page: P,
    notify: N,
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    client: XenstoreClient,
    /// The last watch token handed out.
    next_token: u64,
    /// Tasks waiting for a reply.
    replies: LiteMap<ReqId, Waker>,
    /// Each watch's events, by token.
    watches: LiteMap<String, WatchQueue>,
    /// Set when the connection is over: every request fails with it.
    closed: Option<XenstoreError>,
    /// The ring broke and that was said.
    reported: bool,
}

#[derive(Debug, Default)]
struct WatchQueue {
    /// The watched path: an event for it says "anything below may have
    /// changed".
    root: String,
    paths: VecDeque<String>,
    waker: Option<Waker>,
    /// Events were dropped (and that was said).
    dropped: bool,
}

impl<P: Deref<Target = XenstoreDomainInterface>, N: Notify> XenstoreConnection<P, N> {
    /// A connection over `page`, telling xenstored through `notify`.
    pub fn new(page: P, notify: N) -> Self {
        Self {
            page,
            notify,
            state: RefCell::new(State::default()),
        }
    }

    /// Moves bytes both ways until neither moves, notifies xenstored if an
    /// index moved, and wakes whoever got a reply or a watch event.
    /// Returns whether an index moved.
    pub fn pump(&self) -> bool {
        let mut state = self.state.borrow_mut();
        let moved = match XenstoreRing::new(&self.page).pump(&mut state.client) {
            Ok(moved) => moved,
            Err(error) => {
                if !core::mem::replace(&mut state.reported, true) {
                    log::error!("XenStore ring: {error}; every request now fails");
                }
                false
            }
        };
        let State {
            client,
            replies,
            watches,
            ..
        } = &mut *state;
        replies.retain(|&id, waker| {
            let done = !client.is_pending(id);
            if done {
                waker.wake_by_ref();
            }
            !done
        });
        while let Some(event) = client.next_watch_event() {
            let Some(queue) = watches.get_mut(&event.token) else {
                continue;
            };
            if queue.paths.len() >= WATCH_QUEUE {
                if !queue.dropped {
                    log::warn!(
                        "XenStore watch on {}: more than {WATCH_QUEUE} events waiting, \
                         folded into one for the whole path",
                        queue.root
                    );
                }
                queue.dropped = true;
                queue.paths.clear();
                queue.paths.push_back(queue.root.clone());
            }
            queue.paths.push_back(event.path);
            if let Some(waker) = queue.waker.take() {
                waker.wake();
            }
        }
        drop(state);
        if moved {
            self.notify.notify();
        }
        moved
    }

    /// Ends the connection (its peer is gone): requests in flight and
    /// every later one fail with `error`.
    pub fn close(&self, error: XenstoreError) {
        let mut state = self.state.borrow_mut();
        state.closed = Some(error);
        for (_, waker) in core::mem::take(&mut state.replies) {
            waker.wake();
        }
    }

    /// Sends `request` (in transaction `tx`) and waits for its reply.
    pub async fn request(
        &self,
        tx: Option<TxId>,
        request: Request<'_>,
    ) -> Result<Reply, XenstoreError> {
        let id = {
            let mut state = self.state.borrow_mut();
            if let Some(error) = state.closed {
                return Err(error);
            }
            state.client.submit(tx, &request)?
        };
        self.pump();
        poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            if let Some(reply) = state.client.take_reply(id) {
                return Poll::Ready(reply);
            }
            if let Some(error) = state.closed {
                return Poll::Ready(Err(error));
            }
            state.replies.insert(id, cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// A node's value, as text.
    pub async fn read(&self, path: &str) -> Result<String, XenstoreError> {
        match self.request(None, Request::Read { path }).await? {
            Reply::Value(bytes) => String::from_utf8(bytes).map_err(|_| XenstoreError::NotText),
            _ => Err(mismatch(XsdSockmsgType::Read)),
        }
    }

    /// Writes a node, creating missing parents.
    pub async fn write(&self, path: &str, value: &str) -> Result<(), XenstoreError> {
        let value = value.as_bytes();
        self.request(None, Request::Write { path, value })
            .await
            .map(drop)
    }

    /// A node's children.
    pub async fn directory(&self, path: &str) -> Result<Vec<String>, XenstoreError> {
        match self.request(None, Request::Directory { path }).await? {
            Reply::Entries(names) => Ok(names),
            _ => Err(mismatch(XsdSockmsgType::Directory)),
        }
    }

    /// Watches `path` and below; events arrive through
    /// [`XenstoreWatch::next`]. Each watch gets its own token, so a path
    /// can be watched twice, or again after [`XenstoreWatch::unwatch`].
    pub async fn watch(&self, path: &str) -> Result<XenstoreWatch<'_, P, N>, XenstoreError> {
        let token = {
            let mut state = self.state.borrow_mut();
            state.next_token = state.next_token.wrapping_add(1);
            let token = format!("w{}", state.next_token);
            let queue = WatchQueue {
                root: String::from(path),
                ..WatchQueue::default()
            };
            state.watches.insert(token.clone(), queue);
            token
        };
        // Registered before the request goes, so the first event is kept;
        // forgotten with the watch if xenstored refuses.
        let watch = XenstoreWatch {
            connection: self,
            path: String::from(path),
            token,
        };
        let request = Request::Watch {
            path,
            token: &watch.token,
        };
        self.request(None, request).await?;
        Ok(watch)
    }
}

/// The client decodes each reply as its request's type, so another kind of
/// reply means the client itself is broken.
fn mismatch(msg_type: XsdSockmsgType) -> XenstoreError {
    XenstoreError::Protocol(ProtocolError::Malformed {
        msg_type,
        what: "reply of another kind",
    })
}

/// A registered watch. Dropping it forgets its queued events;
/// [`XenstoreWatch::unwatch`] also tells xenstored.
#[derive(Debug)]
pub struct XenstoreWatch<'c, P, N> {
    connection: &'c XenstoreConnection<P, N>,
    path: String,
    token: String,
}

impl<P: Deref<Target = XenstoreDomainInterface>, N: Notify> XenstoreWatch<'_, P, N> {
    /// The next path that changed at or under the watched path. Dropping
    /// the future before it is ready loses no event.
    pub fn next(&self) -> impl Future<Output = String> + '_ {
        poll_fn(move |cx| {
            let mut state = self.connection.state.borrow_mut();
            let Some(queue) = state.watches.get_mut(&self.token) else {
                return Poll::Pending;
            };
            match queue.paths.pop_front() {
                Some(path) => Poll::Ready(path),
                None => {
                    queue.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }

    /// Removes the watch from xenstored.
    pub async fn unwatch(self) -> Result<(), XenstoreError> {
        let request = Request::Unwatch {
            path: &self.path,
            token: &self.token,
        };
        self.connection.request(None, request).await.map(drop)
    }
}

impl<P, N> Drop for XenstoreWatch<'_, P, N> {
    fn drop(&mut self) {
        self.connection
            .state
            .borrow_mut()
            .watches
            .remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;
    use core::pin::pin;
    use core::task::Context;
    use std::rc::Rc;
    use std::sync::Arc;

    use super::*;
    use crate::Errno;
    use crate::sim::SimXenstored;

    const ME: u16 = 1;

    /// Counts notifications.
    #[derive(Debug, Default)]
    struct Counter(Cell<u32>);

    impl Notify for Rc<Counter> {
        fn notify(&self) {
            self.0.set(self.0.get() + 1);
        }
    }

    type Connection = XenstoreConnection<Arc<XenstoreDomainInterface>, Rc<Counter>>;

    fn connect() -> (SimXenstored, Connection, Rc<Counter>) {
        let mut sim = SimXenstored::new();
        sim.introduce_domain(ME);
        let page = sim.connect(ME);
        let counter = Rc::new(Counter::default());
        (sim, XenstoreConnection::new(page, counter.clone()), counter)
    }

    /// Polls `future` until it is ready, letting xenstored and the
    /// connection move bytes between polls, as the event channel would.
    fn run<F: Future>(sim: &mut SimXenstored, connection: &Connection, future: F) -> F::Output {
        let mut future = pin!(future);
        for _ in 0..100 {
            if let Poll::Ready(output) = future
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                return output;
            }
            sim.service();
            connection.pump();
        }
        panic!("no answer after 100 rounds");
    }

    /// Whether `future` is ready at its first poll.
    fn ready<F: Future>(future: F) -> Option<F::Output> {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        }
    }

    #[test]
    fn requests_are_answered_and_xenstored_is_told_when_the_ring_moves() {
        let (mut sim, connection, counter) = connect();
        run(&mut sim, &connection, connection.write("data/x", "1")).unwrap();
        assert!(counter.0.get() >= 2, "request out and reply consumed");
        assert_eq!(
            run(&mut sim, &connection, connection.read("data/x")),
            Ok(String::from("1"))
        );
        assert_eq!(
            run(&mut sim, &connection, connection.directory("data")),
            Ok(alloc::vec![String::from("x")])
        );
        assert_eq!(
            run(&mut sim, &connection, connection.read("data/y")),
            Err(XenstoreError::Remote(Errno::ENOENT))
        );
        let before = counter.0.get();
        assert!(!connection.pump(), "nothing moves: no notification");
        assert_eq!(counter.0.get(), before);
    }

    /// XSA-349: a watch whose events are not taken keeps at most 64; past
    /// that they fold into one for the watched path, so nothing is missed.
    #[test]
    fn a_watch_queues_at_most_64_events_then_folds_them_into_its_path() {
        let (mut sim, connection, _) = connect();
        let watch = run(&mut sim, &connection, connection.watch("data")).unwrap();
        assert_eq!(
            ready(watch.next()),
            Some(String::from("data")),
            "fires once at once"
        );
        for n in 0..100 {
            sim.write(&format!("/local/domain/1/data/{n}"), b"x")
                .unwrap();
            sim.service();
            connection.pump();
        }
        let events: Vec<String> = core::iter::from_fn(|| ready(watch.next())).collect();
        // 64 queued, the 65th folded them: `data`, then data/64 .. data/99.
        assert!(events.len() <= WATCH_QUEUE);
        assert_eq!(events.first().map(String::as_str), Some("data"));
        assert_eq!(events.get(1).map(String::as_str), Some("data/64"));
        assert_eq!(events.last().map(String::as_str), Some("data/99"));
        assert_eq!(events.len(), 37);
    }

    #[test]
    fn watches_are_apart_and_forgotten_when_dropped_or_unwatched() {
        let (mut sim, connection, _) = connect();
        let a = run(&mut sim, &connection, connection.watch("a")).unwrap();
        let b = run(&mut sim, &connection, connection.watch("a")).unwrap();
        assert_eq!(ready(a.next()).as_deref(), Some("a"));
        assert_eq!(ready(b.next()).as_deref(), Some("a"));
        drop(b);
        run(&mut sim, &connection, connection.write("a/1", "x")).unwrap();
        assert_eq!(ready(a.next()).as_deref(), Some("a/1"));
        assert_eq!(connection.state.borrow().watches.len(), 1);
        run(&mut sim, &connection, a.unwatch()).unwrap();
        assert!(connection.state.borrow().watches.is_empty());
        run(&mut sim, &connection, connection.write("a/2", "x")).unwrap();
        assert!(connection.state.borrow().watches.is_empty());
    }

    #[test]
    fn a_refused_watch_leaves_no_queue() {
        let (mut sim, connection, _) = connect();
        sim.fail_next(ME, XsdSockmsgType::Watch, Errno::EACCES);
        let refused = run(&mut sim, &connection, connection.watch("a"));
        assert_eq!(refused.err(), Some(XenstoreError::Remote(Errno::EACCES)));
        assert!(connection.state.borrow().watches.is_empty());
    }

    #[test]
    fn a_closed_connection_fails_requests_in_flight_and_later() {
        let (_sim, connection, _) = connect();
        let mut pending = pin!(connection.read("x"));
        let cx = &mut Context::from_waker(Waker::noop());
        assert!(pending.as_mut().poll(cx).is_pending());
        let gone = XenstoreError::Remote(Errno::ESRCH);
        connection.close(gone);
        assert_eq!(pending.as_mut().poll(cx), Poll::Ready(Err(gone)));
        assert_eq!(ready(connection.read("x")), Some(Err(gone)));
    }
}
