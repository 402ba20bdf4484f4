// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore for tasks: `read(path).await`, watches as async streams.
//!
//! The `xen` crate's sans-IO client encodes and decodes; this drives it over
//! the shared ring from the executor. One task (`run`) owns the event
//! channel: each time it fires, the ring is pumped, and the tasks whose
//! replies or watch events arrived are woken.

use super::ports;
use crate::hypervisor::Hypercalls;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;
use core::task::{Poll, Waker};
use spin::Mutex;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::io::xs_wire::{XenstoreDomainInterface, XsdSockmsgType};
use xen::hypercall::event_channel;
use xen::xenstore::{
    ProtocolError, Reply, ReqId, Request, TxId, XenstoreClient, XenstoreError, XenstoreRing,
};

/// Most watch events queued per watch before the oldest are dropped (said
/// once per watch): a flood of changes, which a guest can cause by
/// rewriting its own nodes, must grow neither the heap nor the log.
const WATCH_QUEUE: usize = 64;

/// The connection.
#[derive(Debug)]
pub struct Xenstore {
    hv: &'static Hypercalls,
    ring: XenstoreRing<'static>,
    port: EvtchnPort,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    client: XenstoreClient,
    /// The last watch token handed out.
    next_token: u64,
    replies: BTreeMap<ReqId, Waker>,
    watches: BTreeMap<String, WatchQueue>,
}

#[derive(Debug, Default)]
struct WatchQueue {
    paths: VecDeque<String>,
    waker: Option<Waker>,
    /// Events were dropped (and that was said).
    dropped: bool,
}

impl Xenstore {
    /// Connects over the ring page `interface` and event channel `port`.
    pub fn start(
        hv: &'static Hypercalls,
        interface: &'static XenstoreDomainInterface,
        port: EvtchnPort,
    ) -> &'static Self {
        Box::leak(Box::new(Self {
            hv,
            ring: XenstoreRing::new(interface),
            port,
            state: Mutex::new(State::default()),
        }))
    }

    /// The task that moves bytes: pumps the ring whenever the store's event
    /// channel fires, and wakes whoever was waiting.
    pub async fn run(&'static self) {
        loop {
            self.pump();
            ports::wait(self.port).await;
        }
    }

    fn pump(&self) {
        let mut state = self.state.lock();
        match self.ring.pump(&mut state.client) {
            Ok(true) => {
                let _ = event_channel::send(self.hv, self.port);
            }
            Ok(false) => {}
            Err(e) => log::error!("XenStore ring: {e}; every request now fails"),
        }
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
            if queue.paths.len() == WATCH_QUEUE {
                if !queue.dropped {
                    log::warn!(
                        "XenStore watch {}: more than {WATCH_QUEUE} events waiting, the oldest dropped",
                        event.token
                    );
                }
                queue.dropped = true;
                queue.paths.pop_front();
            }
            queue.paths.push_back(event.path);
            if let Some(waker) = queue.waker.take() {
                waker.wake();
            }
        }
    }

    /// Sends `request` (in transaction `tx`) and waits for its reply.
    pub async fn request(
        &self,
        tx: Option<TxId>,
        request: Request<'_>,
    ) -> Result<Reply, XenstoreError> {
        let id = self.state.lock().client.submit(tx, &request)?;
        self.pump();
        core::future::poll_fn(|cx| {
            let mut state = self.state.lock();
            match state.client.take_reply(id) {
                Some(reply) => Poll::Ready(reply),
                None => {
                    state.replies.insert(id, cx.waker().clone());
                    Poll::Pending
                }
            }
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
        self.request(
            None,
            Request::Write {
                path,
                value: value.as_bytes(),
            },
        )
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

    /// Watches `path` and below; events arrive through [`Watch::next`].
    /// Each watch gets its own token, so a path can be watched again after
    /// [`Watch::unwatch`], or twice.
    pub async fn watch(&'static self, path: &str) -> Result<Watch, XenstoreError> {
        let token = {
            let mut state = self.state.lock();
            state.next_token += 1;
            let token = format!("w{}", state.next_token);
            state.watches.insert(token.clone(), WatchQueue::default());
            token
        };
        let result = self
            .request(
                None,
                Request::Watch {
                    path,
                    token: &token,
                },
            )
            .await;
        if let Err(e) = result {
            self.state.lock().watches.remove(&token);
            return Err(e);
        }
        Ok(Watch {
            store: self,
            path: String::from(path),
            token,
        })
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

/// A registered watch. Dropping it forgets queued events; [`Watch::unwatch`]
/// also tells xenstored.
#[derive(Debug)]
pub struct Watch {
    store: &'static Xenstore,
    path: String,
    token: String,
}

impl Watch {
    /// The next path that changed at or under the watched path.
    pub fn next(&self) -> impl Future<Output = String> + '_ {
        core::future::poll_fn(move |cx| {
            let mut state = self.store.state.lock();
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
        self.store.request(None, request).await.map(drop)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.store.state.lock().watches.remove(&self.token);
    }
}
