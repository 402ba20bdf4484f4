// SPDX-License-Identifier: MIT OR Apache-2.0
//! The hypercall page, counting: how many hypercalls each piece of work
//! costs is the figure that stays true on a noisy machine.

use core::sync::atomic::{AtomicU64, Ordering};
use xen::hypercall::Hypercall;
use xen::hypercall::page::HypercallPage;

/// Hypercall numbers counted one by one; higher ones share the last slot.
const SLOTS: usize = 64;

/// The hypercall page and a counter per hypercall number.
#[derive(Debug)]
pub struct Hypercalls {
    page: HypercallPage,
    counts: [AtomicU64; SLOTS],
}

impl Hypercalls {
    /// Counts the calls made through `page`.
    pub fn new(page: HypercallPage) -> Self {
        Self {
            page,
            counts: [const { AtomicU64::new(0) }; SLOTS],
        }
    }

    /// Hypercalls made so far, all numbers together.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// `(hypercall number, calls)` for every number used so far.
    pub fn by_number(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .enumerate()
            .filter(|&(_, n)| n != 0)
    }
}

// SAFETY: every call goes to the hypercall page unchanged; counting touches
// only our own atomics.
unsafe impl Hypercall for Hypercalls {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        let slot = (op as usize).min(SLOTS - 1);
        if let Some(count) = self.counts.get(slot) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: our caller upholds the page's contract for these arguments.
        unsafe { self.page.hypercall(op, args) }
    }
}
