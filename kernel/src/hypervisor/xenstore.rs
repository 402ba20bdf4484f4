// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore for the tasks: the `xen` crate's connection over this domain's
//! ring page, pumped by one task whenever the store's event channel fires.

use super::ports;
use crate::hypercalls::Hypercalls;
use alloc::boxed::Box;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::io::xs_wire::XenstoreDomainInterface;
use xen::hypercall::event_channel;
use xen::xenstore::{Notify, XenstoreConnection};

/// The connection.
pub type Xenstore = XenstoreConnection<&'static XenstoreDomainInterface, StorePort>;

/// The store's event channel: xenstored is told through it.
#[derive(Debug)]
pub struct StorePort {
    hv: &'static Hypercalls,
    port: EvtchnPort,
}

impl Notify for StorePort {
    fn notify(&self) {
        let _ = event_channel::send(self.hv, self.port);
    }
}

/// Connects over the ring page `interface` and event channel `port`.
pub fn start(
    hv: &'static Hypercalls,
    interface: &'static XenstoreDomainInterface,
    port: EvtchnPort,
) -> &'static Xenstore {
    Box::leak(Box::new(XenstoreConnection::new(
        interface,
        StorePort { hv, port },
    )))
}

/// The task that moves bytes: pumps the ring whenever the store's event
/// channel fires, which wakes whoever was waiting.
pub async fn run(store: &'static Xenstore, port: EvtchnPort) {
    loop {
        store.pump();
        ports::wait(port).await;
    }
}
