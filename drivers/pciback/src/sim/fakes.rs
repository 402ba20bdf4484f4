// SPDX-License-Identifier: MIT OR Apache-2.0
//! Doubles of the op path's traits: delays and interrupt mapping.
//!
//! [`FakeDelay`] counts the time it is asked to wait instead of waiting
//! (so [`at_once`] runs what waits on it);
//! [`FakeInterrupts`] hands out PIRQs from a counter, records every call,
//! and can be told to fail a map.

use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use pci::Address;
use xen::Errno;
use xen::hypercall::physdev::MsixVector;

use crate::{Delay, InterruptControl};

/// A [`Delay`] that records the waits and returns at once.
#[derive(Debug, Default)]
pub struct FakeDelay {
    waits: RefCell<Vec<Duration>>,
}

impl FakeDelay {
    /// No waits yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every wait asked for, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.borrow().clone()
    }

    /// The total time waited.
    pub fn total(&self) -> Duration {
        self.waits.borrow().iter().sum()
    }

    /// Forgets the waits so far.
    pub fn clear(&self) {
        self.waits.borrow_mut().clear();
    }
}

impl Delay for FakeDelay {
    fn wait(&self, duration: Duration) -> impl Future<Output = ()> {
        self.waits.borrow_mut().push(duration);
        core::future::ready(())
    }
}

/// Runs `future` to its end at its first poll, as everything does over the
/// fakes ([`FakeDelay`] never waits): taking a device, a guest's op.
///
/// # Panics
///
/// If `future` waits: over the fakes nothing would ever wake it.
#[expect(
    clippy::panic,
    reason = "a future that waits over the fakes is a test failure"
)]
pub fn at_once<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("waited over the fakes, where nothing wakes it"),
    }
}

/// One call to [`FakeInterrupts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptCall {
    /// [`InterruptControl::map`], and the PIRQ handed out (none if it failed).
    Map {
        /// The function.
        function: Address,
        /// The MSI-X entry and table BAR (`None`: MSI).
        msix: Option<MsixVector>,
        /// The PIRQ.
        pirq: Option<u32>,
    },
    /// [`InterruptControl::unmap`].
    Unmap {
        /// The function.
        function: Address,
        /// The PIRQ.
        pirq: u32,
    },
}

/// An [`InterruptControl`] that hands out PIRQs from a counter.
#[derive(Debug)]
pub struct FakeInterrupts {
    next_pirq: u32,
    /// Maps to refuse, counted from the next one, and with what.
    failure: Option<(usize, Errno)>,
    calls: Vec<InterruptCall>,
}

impl FakeInterrupts {
    /// PIRQs start at `first_pirq`.
    pub fn new(first_pirq: u32) -> Self {
        Self {
            next_pirq: first_pirq,
            failure: None,
            calls: Vec::new(),
        }
    }

    /// The next map fails with `errno`.
    pub fn fail_next(&mut self, errno: Errno) {
        self.fail_after(0, errno);
    }

    /// The map after the next `maps` succeed fails with `errno`.
    pub fn fail_after(&mut self, maps: usize, errno: Errno) {
        self.failure = Some((maps, errno));
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> &[InterruptCall] {
        &self.calls
    }

    /// The PIRQs mapped and not unmapped, in the order they were mapped.
    pub fn mapped(&self) -> Vec<u32> {
        let mut mapped = Vec::new();
        for call in &self.calls {
            match *call {
                InterruptCall::Map {
                    pirq: Some(pirq), ..
                } => mapped.push(pirq),
                InterruptCall::Unmap { pirq, .. } => mapped.retain(|&p| p != pirq),
                InterruptCall::Map { pirq: None, .. } => {}
            }
        }
        mapped
    }
}

impl InterruptControl for FakeInterrupts {
    fn map(&mut self, function: Address, msix: Option<MsixVector>) -> Result<u32, Errno> {
        let result = match self.failure {
            Some((0, errno)) => {
                self.failure = None;
                Err(errno)
            }
            Some((maps, errno)) => {
                self.failure = Some((maps.saturating_sub(1), errno));
                Ok(self.next_pirq)
            }
            None => Ok(self.next_pirq),
        };
        if result.is_ok() {
            self.next_pirq = self.next_pirq.wrapping_add(1);
        }
        self.calls.push(InterruptCall::Map {
            function,
            msix,
            pirq: result.ok(),
        });
        result
    }

    fn unmap(&mut self, function: Address, pirq: u32) {
        self.calls.push(InterruptCall::Unmap { function, pirq });
    }
}
