// SPDX-License-Identifier: MIT OR Apache-2.0
//! Xen's PV console: what `xl console` shows, through the console ring.

use crate::hypercalls::Hypercalls;
use core::fmt;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::io::console::XenconsInterface;
use xen::console::ConsoleRing;
use xen::hypercall::{event_channel, sched};

/// Yields to xenconsoled at most this often per write before dropping the
/// rest: a console nobody drains must not stop the domain.
const MAX_WAITS: u32 = 1000;

/// The console ring and its event channel.
#[derive(Debug)]
pub struct XenConsole {
    hv: &'static Hypercalls,
    ring: ConsoleRing<'static>,
    port: EvtchnPort,
}

impl XenConsole {
    /// The console on `interface`, notified through `port`.
    pub fn new(
        hv: &'static Hypercalls,
        interface: &'static XenconsInterface,
        port: EvtchnPort,
    ) -> Self {
        Self {
            hv,
            ring: ConsoleRing::new(interface),
            port,
        }
    }

    /// The event channel xenconsoled signals when there is input (or room).
    pub fn port(&self) -> EvtchnPort {
        self.port
    }

    /// Takes typed bytes into `buf`; tells xenconsoled there is room again.
    pub fn read(&self, buf: &mut [u8]) -> usize {
        let read = self.ring.read(buf).unwrap_or(0);
        if read > 0 {
            let _ = event_channel::send(self.hv, self.port);
        }
        read
    }
}

impl fmt::Write for XenConsole {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        let mut waits = 0;
        while !rest.is_empty() {
            let Ok(written) = self.ring.try_write(rest) else {
                return Err(fmt::Error);
            };
            rest = rest.get(written..).unwrap_or_default();
            let _ = event_channel::send(self.hv, self.port);
            if !rest.is_empty() {
                waits += 1;
                if waits > MAX_WAITS {
                    return Err(fmt::Error);
                }
                // The ring is full: let xenconsoled (in dom0) drain it.
                let _ = sched::yield_now(self.hv);
            }
        }
        Ok(())
    }
}
