// SPDX-License-Identifier: MIT OR Apache-2.0
//! The waits the PCI specifications impose, behind a trait.
//!
//! Resets and power-state changes must leave the device alone for a while
//! (100 ms after an FLR, 10 ms around D3hot, up to a second for a bus
//! reset). A wait is a future, so the backend's other frontends run while
//! one device waits, as each of Linux's pciback devices sleeps in a work
//! item of its own. The kernel implements [`Delay`] with its timers (at
//! boot, before there is anything else to run, it polls a sleep until it is
//! over); host tests count the time instead of sleeping (`sim::FakeDelay`,
//! feature `sim`).

use core::future::Future;
use core::time::Duration;

/// Waits for a while.
pub trait Delay {
    /// Completes once at least `duration` has passed.
    fn wait(&self, duration: Duration) -> impl Future<Output = ()>;
}

impl<T: Delay + ?Sized> Delay for &T {
    fn wait(&self, duration: Duration) -> impl Future<Output = ()> {
        (**self).wait(duration)
    }
}
