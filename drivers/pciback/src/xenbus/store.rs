// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore as the backend needs it: the [`Store`] trait and Linux's xenbus helpers.
//!
//! [`Store`] is implemented for the `xen` crate's async connection
//! ([`XenstoreConnection`]), which the kernel drives over its ring and
//! the simulator over the simulated xenstored's. The helpers are Linux's:
//! [`read_state`] is `xenbus_read_driver_state` (missing or unreadable is
//! Unknown), [`switch_state`] is `xenbus_switch_state` (a transaction that
//! writes nothing if the node is gone), [`write_error`] is `xenbus_dev_fatal`
//! (the reason in `error/<node>/error`; the caller then goes Closing).

use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;
use core::ops::Deref;

use xen::Errno;
use xen::abi::io::xenbus::XenbusState;
use xen::abi::io::xs_wire::XenstoreDomainInterface;
use xen::xenstore::{
    Notify, Reply, Request, TransactionOutcome, TransactionRetry, TxId, XenstoreConnection,
    XenstoreError, XenstoreWatch,
};

use super::parse;

/// A XenStore connection.
///
/// Paths not starting with `/` are relative to this domain's home
/// (`/local/domain/<domid>`). Futures need not be `Send`.
pub trait Store {
    /// A registered watch.
    type Watch<'a>: Watch
    where
        Self: 'a;

    /// Sends `request`, in transaction `tx`, and waits for the reply.
    fn request(
        &self,
        tx: Option<TxId>,
        request: Request<'_>,
    ) -> impl Future<Output = Result<Reply, XenstoreError>>;

    /// Registers a watch on `path` and everything below it. xenstored
    /// fires it once at once, then at every change.
    fn watch(&self, path: &str) -> impl Future<Output = Result<Self::Watch<'_>, XenstoreError>>;

    /// Unregisters `watch` (`XS_UNWATCH`), so the same path can be watched
    /// again later.
    fn unwatch<'a>(
        &'a self,
        watch: Self::Watch<'a>,
    ) -> impl Future<Output = Result<(), XenstoreError>>;
}

/// The connection the kernel and the simulator share.
impl<P, N> Store for XenstoreConnection<P, N>
where
    P: Deref<Target = XenstoreDomainInterface>,
    N: Notify,
{
    type Watch<'a>
        = XenstoreWatch<'a, P, N>
    where
        Self: 'a;

    fn request(
        &self,
        tx: Option<TxId>,
        request: Request<'_>,
    ) -> impl Future<Output = Result<Reply, XenstoreError>> {
        XenstoreConnection::request(self, tx, request)
    }

    fn watch(&self, path: &str) -> impl Future<Output = Result<Self::Watch<'_>, XenstoreError>> {
        XenstoreConnection::watch(self, path)
    }

    fn unwatch<'a>(
        &'a self,
        watch: Self::Watch<'a>,
    ) -> impl Future<Output = Result<(), XenstoreError>> {
        watch.unwatch()
    }
}

impl<P, N> Watch for XenstoreWatch<'_, P, N>
where
    P: Deref<Target = XenstoreDomainInterface>,
    N: Notify,
{
    fn next(&mut self) -> impl Future<Output = String> {
        XenstoreWatch::next(self)
    }
}

/// A shared connection (the kernel's is `&'static`, the simulator's `Rc`).
macro_rules! forward_store {
    ($($pointer:ty),*) => {$(
        impl<S: Store + ?Sized> Store for $pointer {
            type Watch<'a>
                = S::Watch<'a>
            where
                Self: 'a;

            fn request(
                &self,
                tx: Option<TxId>,
                request: Request<'_>,
            ) -> impl Future<Output = Result<Reply, XenstoreError>> {
                S::request(self, tx, request)
            }

            fn watch(
                &self,
                path: &str,
            ) -> impl Future<Output = Result<Self::Watch<'_>, XenstoreError>> {
                S::watch(self, path)
            }

            fn unwatch<'a>(
                &'a self,
                watch: Self::Watch<'a>,
            ) -> impl Future<Output = Result<(), XenstoreError>> {
                S::unwatch(self, watch)
            }
        }
    )*};
}

forward_store!(&S, Rc<S>);

/// The events of one watch.
pub trait Watch {
    /// The next path that changed at or under the watched path. Dropping
    /// the future before it is ready must not lose an event.
    fn next(&mut self) -> impl Future<Output = String>;
}

/// Most attempts at a transaction that keeps conflicting.
const TRANSACTION_ATTEMPTS: u32 = 16;

/// A value, or `None` if the node does not exist.
pub(crate) async fn read<S: Store>(
    store: &S,
    path: &str,
) -> Result<Option<Vec<u8>>, XenstoreError> {
    read_in(store, None, path).await
}

async fn read_in<S: Store>(
    store: &S,
    tx: Option<TxId>,
    path: &str,
) -> Result<Option<Vec<u8>>, XenstoreError> {
    match store.request(tx, Request::Read { path }).await {
        Ok(Reply::Value(value)) => Ok(Some(value)),
        Ok(_) => Err(XenstoreError::BadTransaction),
        Err(XenstoreError::Remote(Errno::ENOENT)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Writes a node, creating it and its parents.
pub(crate) async fn write<S: Store>(
    store: &S,
    path: &str,
    value: &[u8],
) -> Result<(), XenstoreError> {
    write_in(store, None, path, value).await
}

async fn write_in<S: Store>(
    store: &S,
    tx: Option<TxId>,
    path: &str,
    value: &[u8],
) -> Result<(), XenstoreError> {
    store
        .request(tx, Request::Write { path, value })
        .await
        .map(drop)
}

/// Removes a node and everything under it; a node already gone is fine.
pub(crate) async fn remove<S: Store>(store: &S, path: &str) -> Result<(), XenstoreError> {
    match store.request(None, Request::Rm { path }).await {
        Ok(_) | Err(XenstoreError::Remote(Errno::ENOENT)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// A node's children; none if it does not exist.
pub(crate) async fn directory<S: Store>(
    store: &S,
    path: &str,
) -> Result<Vec<String>, XenstoreError> {
    match store.request(None, Request::Directory { path }).await {
        Ok(Reply::Entries(names)) => Ok(names),
        Ok(_) => Err(XenstoreError::BadTransaction),
        Err(XenstoreError::Remote(Errno::ENOENT)) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

/// Whether a node exists and can be listed (Linux's `xenbus_exists`).
pub(crate) async fn exists<S: Store>(store: &S, path: &str) -> bool {
    store
        .request(None, Request::Directory { path })
        .await
        .is_ok()
}

/// The `state` under `dir` (Linux's `xenbus_read_driver_state`): Unknown
/// when missing or unreadable; see `parse::state` for the value.
pub(crate) async fn read_state<S: Store>(store: &S, dir: &str) -> Option<XenbusState> {
    match read(store, &format!("{dir}/state")).await {
        Ok(Some(value)) => parse::state(&value),
        _ => Some(XenbusState::Unknown),
    }
}

/// Writes `state` under `dir` in a transaction that first checks the node
/// still exists (Linux's `xenbus_switch_state`: a device being removed is
/// not brought back to life). Returns whether it was written.
pub(crate) async fn switch_state<S: Store>(
    store: &S,
    dir: &str,
    state: XenbusState,
) -> Result<bool, XenstoreError> {
    let path = format!("{dir}/state");
    let mut retry = TransactionRetry::new(TRANSACTION_ATTEMPTS);
    loop {
        let tx = match store.request(None, Request::TransactionStart).await? {
            Reply::Transaction(tx) => tx,
            _ => return Err(XenstoreError::BadTransaction),
        };
        let attempt = match read_in(store, Some(tx), &path).await {
            Ok(Some(_)) => write_in(store, Some(tx), &path, state.as_str().as_bytes())
                .await
                .map(|()| true),
            Ok(None) => Ok(false),
            Err(error) => Err(error),
        };
        let commit = matches!(attempt, Ok(true));
        let ended = store
            .request(Some(tx), Request::TransactionEnd { commit })
            .await
            .map(drop);
        let result = match attempt {
            Ok(true) => ended,
            // Aborted on purpose: its end's result does not matter.
            Ok(false) => return Ok(false),
            Err(error) => Err(error),
        };
        match retry.classify(result) {
            TransactionOutcome::Committed => return Ok(true),
            TransactionOutcome::Retry => {}
            TransactionOutcome::Failed(error) => return Err(error),
        }
    }
}

/// Why a device went to Closing: Linux's `xenbus_dev_fatal` arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fatal {
    /// The error, written as its positive number.
    pub(crate) errno: Errno,
    /// What failed.
    pub(crate) message: String,
}

impl Fatal {
    /// A reason.
    pub(crate) fn new(errno: Errno, message: impl Into<String>) -> Self {
        Self {
            errno,
            message: message.into(),
        }
    }

    /// A XenStore failure while doing `what`: the errno xenstored gave, or
    /// `EIO` if the connection itself failed.
    pub(crate) fn store(error: XenstoreError, what: impl Into<String>) -> Self {
        let errno = match error {
            XenstoreError::Remote(errno) => errno,
            _ => Errno::EIO,
        };
        Self::new(errno, what)
    }

    /// The `error` node's value: `"<errno> <message>"`.
    pub(crate) fn text(&self) -> String {
        format!("{} {}", self.errno.code(), self.message)
    }
}

/// The first half of Linux's `xenbus_dev_fatal` for the device at `dir`:
/// logs the reason and writes it to `error/<dir>/error` (relative to this
/// domain). The caller then switches the device to Closing.
pub(crate) async fn write_error<S: Store>(store: &S, dir: &str, reason: &Fatal) {
    let text = reason.text();
    warn!("{dir}: {text}");
    let node = format!("error/{dir}/error");
    if let Err(error) = write(store, &node, text.as_bytes()).await {
        warn!("{dir}: failed to write error node ({error})");
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use xen::abi::io::xs_wire::XsdSockmsgType;

    use super::*;
    use crate::sim::{SimExecutor, SimWorld};

    const DOMAIN: u16 = 1;
    const DIR: &str = "/local/domain/1/backend/pci/2/0";

    fn setup() -> (SimWorld, SimExecutor) {
        let world = SimWorld::new();
        world.add_domain(DOMAIN);
        let executor = SimExecutor::new(&world);
        (world, executor)
    }

    fn state(world: &SimWorld) -> Option<Vec<u8>> {
        world.xenstored(|store| store.read(&format!("{DIR}/state")))
    }

    #[test]
    fn switch_state_retries_a_conflicting_transaction() {
        let (world, mut executor) = setup();
        world.xenstored(|store| store.write(&format!("{DIR}/state"), b"4").unwrap());
        world.xenstored(|store| {
            store.fail_next(DOMAIN, XsdSockmsgType::TransactionEnd, Errno::EAGAIN);
        });
        let store = world.store(DOMAIN);
        let switched = executor.block_on(switch_state(&store, DIR, XenbusState::Closing));
        assert_eq!(switched, Ok(true));
        assert_eq!(state(&world).as_deref(), Some(&b"5"[..]));
    }

    #[test]
    fn switch_state_never_brings_a_removed_device_back() {
        let (world, mut executor) = setup();
        let store = world.store(DOMAIN);
        let switched = executor.block_on(switch_state(&store, DIR, XenbusState::Closed));
        assert_eq!(switched, Ok(false));
        assert_eq!(state(&world), None);
    }

    #[test]
    fn driver_state_reads_as_linux_reads_it() {
        let (world, mut executor) = setup();
        let store = world.store(DOMAIN);
        for (value, expected) in [
            (&b"3"[..], Some(XenbusState::Initialised)),
            (b"9", None),
            (b"x", Some(XenbusState::Unknown)),
        ] {
            world.xenstored(|xs| xs.write(&format!("{DIR}/state"), value).unwrap());
            assert_eq!(executor.block_on(read_state(&store, DIR)), expected);
        }
        world.xenstored(|xs| xs.rm(DIR).unwrap());
        assert_eq!(
            executor.block_on(read_state(&store, DIR)),
            Some(XenbusState::Unknown)
        );
    }
}
