// SPDX-License-Identifier: MIT OR Apache-2.0
//! Event-channel ports as things a task can wait on.
//!
//! The upcall handler runs Xen's 2-level scan and only sets bits here (no
//! locks, no allocation, interrupts are off). The idle loop, in task context,
//! wakes the task waiting on each raised port; the task clears the bit when
//! it runs. Two events before the task runs are one wake-up, as a pending bit
//! in shared_info is.

use crate::arch::interrupts::TrapFrame;
use core::future::Future;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Poll, Waker};
use litemap::LiteMap;
use spin::Mutex;
use xen::abi::event_channel::EvtchnPort;
use xen::events::UpcallScanner;

/// Ports of the 2-level ABI on 64-bit: 64 words of 64 bits.
const WORDS: usize = 64;

static RAISED: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
static WAITERS: Mutex<LiteMap<EvtchnPort, Waker>> = Mutex::new(LiteMap::new_vec());
static SCANNER: Mutex<UpcallScanner> = Mutex::new(UpcallScanner::new());
/// Upcalls taken, for the diagnostics.
pub static UPCALLS: AtomicU64 = AtomicU64::new(0);

fn slot(port: EvtchnPort) -> Option<(&'static AtomicU64, u64)> {
    let port = usize::try_from(port).ok()?;
    Some((RAISED.get(port / 64)?, 1 << (port % 64)))
}

/// The upcall vector's handler: hands every pending port to its waiter.
pub fn upcall(_frame: &mut TrapFrame) {
    UPCALLS.fetch_add(1, Ordering::Relaxed);
    let Some(shared) = super::shared_info() else {
        return;
    };
    // Only this handler takes the scanner, with interrupts off: never contended.
    SCANNER.lock().handle_upcall(shared, 0, |port| {
        if let Some((word, bit)) = slot(port) {
            word.fetch_or(bit, Ordering::Release);
        }
    });
}

/// Wakes the task waiting on each raised port (task context: the idle loop).
pub fn wake_raised() {
    let mut waiters = WAITERS.lock();
    if waiters.is_empty() {
        return;
    }
    for (index, word) in RAISED.iter().enumerate() {
        let mut bits = word.load(Ordering::Acquire);
        while bits != 0 {
            let port = (index * 64) as EvtchnPort + bits.trailing_zeros();
            bits &= bits - 1;
            if let Some(waker) = waiters.remove(&port) {
                waker.wake();
            }
        }
    }
}

/// Whether `port` fired since it was last taken or waited for; takes it.
pub fn take_raised(port: EvtchnPort) -> bool {
    slot(port).is_some_and(|(word, bit)| word.fetch_and(!bit, Ordering::AcqRel) & bit != 0)
}

/// Masks `port`: Xen keeps its events pending and raises no upcall for it
/// (its page is being polled).
pub fn mask(port: EvtchnPort) {
    if let Some(shared) = super::shared_info() {
        let _ = xen::events::mask(shared, port);
    }
}

/// Unmasks `port` without a hypercall; an event that came while it was
/// masked is taken here, as the upcall would have, so the next [`wait`]
/// completes at once.
pub fn unmask_quietly(port: EvtchnPort) {
    let Some(shared) = super::shared_info() else {
        return;
    };
    let _ = xen::events::clear_mask(shared, port);
    if xen::events::clear_pending(shared, port) == Ok(true)
        && let Some((word, bit)) = slot(port)
    {
        word.fetch_or(bit, Ordering::Release);
    }
}

/// Waits until `port` has fired since the last wait returned.
pub fn wait(port: EvtchnPort) -> impl Future<Output = ()> {
    core::future::poll_fn(move |cx| {
        if slot(port).is_none() || take_raised(port) {
            return Poll::Ready(());
        }
        WAITERS.lock().insert(port, cx.waker().clone());
        // Raised between the check and the registration: run now.
        if take_raised(port) {
            WAITERS.lock().remove(&port);
            return Poll::Ready(());
        }
        Poll::Pending
    })
}
