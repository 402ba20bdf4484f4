// SPDX-License-Identifier: MIT OR Apache-2.0
//! Timers: tasks sleep until a deadline on the TSC.
//!
//! A sleeping task is a waker filed under its deadline. The idle loop wakes
//! the ones that are due and, before halting, asks for an interrupt at the
//! earliest deadline left (under Xen, `set_timer_op`: `hypervisor::alarm`),
//! so a sleep costs nothing while it lasts.

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use litemap::LiteMap;
use spin::Mutex;

/// The image's timers, on the TSC.
#[cfg(target_os = "none")]
pub static TIMERS: Timers = Timers::new(crate::time::tsc);

/// The sleeping tasks, by deadline, and the clock they are measured on.
pub struct Timers {
    clock: fn() -> u64,
    /// `(deadline, id)`: the id keeps two sleeps with one deadline apart.
    queue: Mutex<LiteMap<(u64, u64), Waker>>,
    next_id: AtomicU64,
}

impl Timers {
    /// No sleepers, on `clock` (ticks that never go back).
    pub const fn new(clock: fn() -> u64) -> Self {
        Self {
            clock,
            queue: Mutex::new(LiteMap::new_vec()),
            next_id: AtomicU64::new(0),
        }
    }

    /// The clock now.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Completes once the clock reads `deadline` or later.
    pub fn sleep_until(&self, deadline: u64) -> Sleep<'_> {
        Sleep {
            timers: self,
            deadline,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Wakes every sleeper that is due. Reads the clock only when someone
    /// sleeps: under Xen a TSC read may be a trap, and the idle loop comes
    /// here at every turn.
    pub fn wake_due(&self) {
        let mut queue = self.queue.lock();
        if queue.is_empty() {
            return;
        }
        let now = self.now();
        while let Some((&key, _)) = queue.first() {
            if key.0 > now {
                break;
            }
            if let Some(waker) = queue.remove(&key) {
                waker.wake();
            }
        }
    }

    /// The earliest deadline of a sleeper not yet woken.
    pub fn next_deadline(&self) -> Option<u64> {
        self.queue
            .lock()
            .first()
            .map(|(&(deadline, _), _)| deadline)
    }
}

/// A sleep in progress; dropping it cancels it.
pub struct Sleep<'t> {
    timers: &'t Timers,
    deadline: u64,
    id: u64,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let key = (self.deadline, self.id);
        if self.timers.now() >= self.deadline {
            self.timers.queue.lock().remove(&key);
            return Poll::Ready(());
        }
        self.timers.queue.lock().insert(key, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        self.timers.queue.lock().remove(&(self.deadline, self.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::sync::Arc;
    use alloc::task::Wake;
    use alloc::vec::Vec;
    use core::pin::pin;

    static NOW: AtomicU64 = AtomicU64::new(0);

    fn clock() -> u64 {
        NOW.load(Ordering::SeqCst)
    }

    /// Counts its wakes.
    #[derive(Default)]
    struct Counter(AtomicU64);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(sleep: Pin<&mut Sleep<'_>>, counter: &Arc<Counter>) -> Poll<()> {
        let waker = Waker::from(counter.clone());
        sleep.poll(&mut Context::from_waker(&waker))
    }

    // One test: the clock is one static.
    #[test]
    fn sleepers_wake_in_deadline_order_and_cancel_on_drop() {
        let timers = Timers::new(clock);
        NOW.store(100, Ordering::SeqCst);
        assert_eq!(timers.next_deadline(), None);

        // Already due: ready at once, nothing filed.
        let counter = Arc::new(Counter::default());
        assert_eq!(
            poll(pin!(timers.sleep_until(100)), &counter),
            Poll::Ready(())
        );
        assert_eq!(timers.next_deadline(), None);

        let counters: Vec<_> = (0..3).map(|_| Arc::new(Counter::default())).collect();
        let mut late = pin!(timers.sleep_until(300));
        let mut early = pin!(timers.sleep_until(200));
        let mut same = pin!(timers.sleep_until(200));
        assert_eq!(poll(late.as_mut(), &counters[0]), Poll::Pending);
        assert_eq!(poll(early.as_mut(), &counters[1]), Poll::Pending);
        assert_eq!(poll(same.as_mut(), &counters[2]), Poll::Pending);
        // Polled again before it is due: filed once, not twice.
        assert_eq!(poll(early.as_mut(), &counters[1]), Poll::Pending);
        assert_eq!(timers.queue.lock().len(), 3);
        assert_eq!(timers.next_deadline(), Some(200));

        NOW.store(199, Ordering::SeqCst);
        timers.wake_due();
        let wakes = |c: &[Arc<Counter>]| -> Vec<u64> {
            c.iter().map(|c| c.0.load(Ordering::SeqCst)).collect()
        };
        assert_eq!(wakes(&counters), [0, 0, 0]);

        NOW.store(250, Ordering::SeqCst);
        timers.wake_due();
        assert_eq!(wakes(&counters), [0, 1, 1], "both sleepers due at 200");
        assert_eq!(poll(early.as_mut(), &counters[1]), Poll::Ready(()));
        assert_eq!(timers.next_deadline(), Some(300));

        // Cancelled: dropping the sleep takes it out of the queue.
        let mut cancelled = timers.sleep_until(400);
        assert_eq!(poll(Pin::new(&mut cancelled), &counters[0]), Poll::Pending);
        assert_eq!(timers.queue.lock().len(), 2);
        drop(cancelled);
        assert_eq!(timers.queue.lock().len(), 1);
        assert_eq!(timers.next_deadline(), Some(300));
    }
}
