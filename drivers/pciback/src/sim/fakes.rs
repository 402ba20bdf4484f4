// SPDX-License-Identifier: MIT OR Apache-2.0
//! Doubles of the op path's traits: delays and interrupt mapping.
//!
//! [`FakeDelay`] counts the time it is asked to wait instead of waiting
//! (so [`at_once`] runs what waits on it);
//! [`FakeInterrupts`] hands out PIRQs from a counter, records every call,
//! and can be told to fail the next enable.

use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use pci::Address;
use xen::Errno;
use xen::abi::io::pciif::XenMsixEntry;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterruptCall {
    /// `enable_msi`.
    EnableMsi {
        /// The function.
        function: Address,
        /// The MSI capability.
        capability: u16,
    },
    /// `disable_msi`.
    DisableMsi {
        /// The function.
        function: Address,
        /// The MSI capability.
        capability: u16,
    },
    /// `enable_msix`.
    EnableMsix {
        /// The function.
        function: Address,
        /// The MSI-X capability.
        capability: u16,
        /// The table entries asked for.
        entries: Vec<u16>,
    },
    /// `disable_msix`.
    DisableMsix {
        /// The function.
        function: Address,
        /// The MSI-X capability.
        capability: u16,
    },
}

/// An [`InterruptControl`] that hands out PIRQs from a counter.
#[derive(Debug)]
pub struct FakeInterrupts {
    next_pirq: u32,
    failure: Option<Errno>,
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

    /// The next enable fails with `errno` (and maps nothing).
    pub fn fail_next(&mut self, errno: Errno) {
        self.failure = Some(errno);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> &[InterruptCall] {
        &self.calls
    }

    fn pirq(&mut self) -> u32 {
        let pirq = self.next_pirq;
        self.next_pirq = self.next_pirq.wrapping_add(1);
        pirq
    }
}

impl InterruptControl for FakeInterrupts {
    fn enable_msi(&mut self, function: Address, capability: u16) -> Result<u32, Errno> {
        self.calls.push(InterruptCall::EnableMsi {
            function,
            capability,
        });
        match self.failure.take() {
            Some(errno) => Err(errno),
            None => Ok(self.pirq()),
        }
    }

    fn disable_msi(&mut self, function: Address, capability: u16) {
        self.calls.push(InterruptCall::DisableMsi {
            function,
            capability,
        });
    }

    fn enable_msix(
        &mut self,
        function: Address,
        capability: u16,
        entries: &mut [XenMsixEntry],
    ) -> Result<(), Errno> {
        self.calls.push(InterruptCall::EnableMsix {
            function,
            capability,
            entries: entries.iter().map(|entry| entry.entry).collect(),
        });
        if let Some(errno) = self.failure.take() {
            return Err(errno);
        }
        for entry in entries {
            entry.vector = u16::try_from(self.pirq()).unwrap_or(u16::MAX);
        }
        Ok(())
    }

    fn disable_msix(&mut self, function: Address, capability: u16) {
        self.calls.push(InterruptCall::DisableMsix {
            function,
            capability,
        });
    }
}
