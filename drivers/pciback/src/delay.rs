// SPDX-License-Identifier: MIT OR Apache-2.0
//! The waits the PCI specifications impose, behind a trait.
//!
//! Resets and power-state changes must leave the device alone for a while
//! (100 ms after an FLR, 10 ms around D3hot). The kernel implements
//! [`Delay`] with its clock; host tests count the time instead of sleeping
//! ([`crate::sim::FakeDelay`]).

use core::time::Duration;

/// Waits for a while.
pub trait Delay {
    /// Returns after at least `duration` has passed.
    fn wait(&self, duration: Duration);
}

impl<T: Delay + ?Sized> Delay for &T {
    fn wait(&self, duration: Duration) {
        (**self).wait(duration);
    }
}
