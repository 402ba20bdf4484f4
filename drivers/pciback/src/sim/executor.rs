// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`SimExecutor`]: runs the backend, the guests and the test on one thread.
//!
//! Like the kernel's executor, tasks run when woken, first woken first. In
//! between, the executor pumps the [`SimWorld`] (xenstored, watch events,
//! event channels), and when nothing at all can happen it lets virtual
//! time pass to the next timer. No timing of the host is involved, so runs
//! are deterministic.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::{Pin, pin};
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::{Mutex, PoisonError};

use super::SimWorld;

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Task numbers ready to run; `None` is the future `block_on` drives.
#[derive(Debug, Default)]
struct Ready {
    queue: Mutex<VecDeque<Option<usize>>>,
}

impl Ready {
    fn push(&self, id: Option<usize>) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(id);
    }

    fn take(&self) -> Vec<Option<usize>> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect()
    }
}

struct TaskWaker {
    id: Option<usize>,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.push(self.id);
        }
    }
}

/// A single-threaded executor over a [`SimWorld`].
pub struct SimExecutor {
    world: SimWorld,
    tasks: Vec<Option<(Task, Arc<TaskWaker>)>>,
    ready: Arc<Ready>,
}

impl core::fmt::Debug for SimExecutor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let live = self.tasks.iter().flatten().count();
        f.debug_struct("SimExecutor").field("tasks", &live).finish()
    }
}

impl SimExecutor {
    /// An executor with no tasks, pumping `world`.
    pub fn new(world: &SimWorld) -> Self {
        Self {
            world: world.clone(),
            tasks: Vec::new(),
            ready: Arc::new(Ready::default()),
        }
    }

    /// Adds a task; it runs at the next turn.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + 'static) {
        let id = self.tasks.len();
        let waker = self.waker(Some(id));
        self.tasks.push(Some((Box::pin(task), Arc::clone(&waker))));
        waker.wake_by_ref();
    }

    fn waker(&self, id: Option<usize>) -> Arc<TaskWaker> {
        Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(false),
            ready: Arc::clone(&self.ready),
        })
    }

    /// Polls the tasks woken so far, once each; returns whether `block_on`'s
    /// own future was among them, and how many ran.
    fn turn(&mut self) -> (bool, usize) {
        let mut main = false;
        let batch = self.ready.take();
        let ran = batch.len();
        for id in batch {
            let Some(id) = id else {
                main = true;
                continue;
            };
            let Some(Some((task, waker))) = self.tasks.get_mut(id) else {
                continue;
            };
            waker.queued.store(false, Ordering::Release);
            let waker = Waker::from(Arc::clone(waker));
            let done = task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready();
            if done {
                if let Some(slot) = self.tasks.get_mut(id) {
                    *slot = None;
                }
            }
        }
        (main, ran)
    }

    /// One step of the world: a turn of the tasks, then a pump. When
    /// neither did anything, time passes to the next timer. Returns
    /// whether `block_on`'s future was woken, and whether anything at all
    /// can still happen.
    fn step(&mut self) -> (bool, bool) {
        let (main, ran) = self.turn();
        let moved = self.world.pump();
        let busy = main || ran > 0 || moved || self.world.advance();
        (main, busy)
    }

    /// Runs everything until nothing can happen any more (timers included).
    pub fn run_until_idle(&mut self) {
        while self.step().1 {}
    }

    /// Runs everything until `future` completes, and returns its output.
    ///
    /// # Panics
    ///
    /// If nothing can happen any more and `future` is still waiting: the
    /// simulated system is stuck, which is a test failure.
    #[expect(clippy::panic, reason = "a stuck simulation fails the test")]
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = pin!(future);
        let main = self.waker(None);
        let waker = Waker::from(Arc::clone(&main));
        main.wake_by_ref();
        loop {
            let (woken, busy) = self.step();
            if woken {
                main.queued.store(false, Ordering::Release);
                if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker))
                {
                    return output;
                }
            } else if !busy {
                panic!("the simulation is stuck: nothing can happen and the future waits");
            }
        }
    }
}
