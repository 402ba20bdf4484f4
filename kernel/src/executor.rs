// SPDX-License-Identifier: MIT OR Apache-2.0
//! The cooperative scheduler: a small async executor for one vCPU.
//!
//! Tasks are futures. A task runs when something wakes it (an event-channel
//! port, a XenStore reply, a timer) and runs until it awaits again, so each
//! task bounds its own work per turn (`yield_now` after a batch of ops) and
//! the ready queue is first in, first out: one guest flooding ops cannot
//! starve another. Interrupt handlers never touch this structure: they only
//! mark event-channel ports, which the idle loop turns into wake-ups.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Waker};
use spin::Mutex;

type BoxedTask = Pin<Box<dyn Future<Output = ()>>>;

/// Identifies a task while it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskId(usize);

/// Tasks ready to run, shared with their wakers.
#[derive(Debug, Default)]
struct ReadyQueue {
    queue: Mutex<VecDeque<usize>>,
}

struct TaskWaker {
    id: usize,
    /// Set while the task is queued, so a burst of wakes queues it once.
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.queue.lock().push_back(self.id);
        }
    }
}

struct Slot {
    name: &'static str,
    future: BoxedTask,
    waker: Arc<TaskWaker>,
    polls: u64,
}

/// The executor: tasks, and the queue of those ready to run.
pub struct Executor {
    slots: Vec<Option<Slot>>,
    ready: Arc<ReadyQueue>,
}

impl core::fmt::Debug for Executor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let live = self.slots.iter().flatten().count();
        f.debug_struct("Executor").field("tasks", &live).finish()
    }
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    /// An executor with no tasks.
    pub fn new() -> Self {
        Self {
            slots: Vec::new(),
            ready: Arc::new(ReadyQueue::default()),
        }
    }

    /// Adds a task; it runs at the next turn.
    pub fn spawn(
        &mut self,
        name: &'static str,
        future: impl Future<Output = ()> + 'static,
    ) -> TaskId {
        let id = self
            .slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.slots.len());
        let waker = Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(false),
            ready: self.ready.clone(),
        });
        let slot = Slot {
            name,
            future: Box::pin(future),
            waker: waker.clone(),
            polls: 0,
        };
        match self.slots.get_mut(id) {
            Some(free) => *free = Some(slot),
            None => self.slots.push(Some(slot)),
        }
        waker.wake_by_ref();
        TaskId(id)
    }

    /// Whether a task is waiting to run.
    pub fn has_ready(&self) -> bool {
        !self.ready.queue.lock().is_empty()
    }

    /// Runs each task that was ready when the turn began, once, in the order
    /// they were woken; tasks woken meanwhile run next turn. Returns how many
    /// polls it made.
    pub fn run_turn(&mut self) -> usize {
        // Copied then cleared: `drain(..)` of a `VecDeque` costs the image
        // most of a kilobyte of code.
        let batch: Vec<usize> = {
            let mut queue = self.ready.queue.lock();
            let batch = queue.iter().copied().collect();
            queue.clear();
            batch
        };
        for &id in &batch {
            let Some(Some(slot)) = self.slots.get_mut(id) else {
                continue;
            };
            slot.waker.queued.store(false, Ordering::Release);
            let waker = Waker::from(slot.waker.clone());
            slot.polls += 1;
            if slot
                .future
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
            {
                debug!("task {} ended after {} polls", slot.name, slot.polls);
                if let Some(done) = self.slots.get_mut(id) {
                    *done = None;
                }
            }
        }
        batch.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::task::Poll;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Gives the other ready tasks a turn, as the backend's op server does
    /// after each batch: wake itself, return pending once.
    fn yield_now() -> impl Future<Output = ()> {
        let mut yielded = false;
        core::future::poll_fn(move |cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
    }

    #[test]
    fn runs_tasks_in_wake_order_and_drops_finished_ones() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut ex = Executor::new();
        for name in ["a", "b", "c"] {
            let log = log.clone();
            ex.spawn(name, async move { log.borrow_mut().push(name) });
        }
        assert_eq!(ex.run_turn(), 3);
        assert_eq!(*log.borrow(), ["a", "b", "c"]);
        assert!(ex.slots.iter().all(Option::is_none));
        assert!(!ex.has_ready());
    }

    #[test]
    fn a_busy_task_cannot_starve_another() {
        // `flood` would handle 1000 ops; it yields after each batch of 10.
        let handled = Rc::new(RefCell::new(Vec::new()));
        let mut ex = Executor::new();
        let h = handled.clone();
        ex.spawn("flood", async move {
            for op in 0..1000 {
                h.borrow_mut().push(("flood", op));
                if op % 10 == 9 {
                    yield_now().await;
                }
            }
        });
        let h = handled.clone();
        ex.spawn("quiet", async move {
            for op in 0..3 {
                h.borrow_mut().push(("quiet", op));
                yield_now().await;
            }
        });
        for _ in 0..3 {
            ex.run_turn();
        }
        // After three turns the quiet guest has had all three of its ops,
        // while the flood had at most three batches.
        let quiet = handled
            .borrow()
            .iter()
            .filter(|(t, _)| *t == "quiet")
            .count();
        let flood = handled
            .borrow()
            .iter()
            .filter(|(t, _)| *t == "flood")
            .count();
        assert_eq!((quiet, flood), (3, 30));
    }

    #[test]
    fn many_wakes_queue_a_task_once() {
        let mut ex = Executor::new();
        let wakers = Rc::new(RefCell::new(None::<Waker>));
        let w = wakers.clone();
        ex.spawn(
            "sleeper",
            core::future::poll_fn(move |cx| {
                *w.borrow_mut() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }),
        );
        ex.run_turn();
        let waker = wakers.borrow().clone().unwrap();
        for _ in 0..100 {
            waker.wake_by_ref();
        }
        assert_eq!(ex.run_turn(), 1);
        assert_eq!(ex.slots[0].as_ref().map(|s| s.polls), Some(2));
    }
}
