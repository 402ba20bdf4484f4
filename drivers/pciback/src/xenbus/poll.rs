// SPDX-License-Identifier: MIT OR Apache-2.0
//! How long to keep looking at a frontend's shared page after an op,
//! instead of waiting for its next event: an adaptive polling window.
//!
//! A guest's PCI ops come back to back (a driver's probe, `lspci`, a config
//! loop): each next op follows the answer to the last within the guest's
//! own round trip. Waiting for its event costs this domain a halt and an
//! upcall per op, each a VM exit; looking at the page for a while after an
//! answer, with the port's notifications off, costs none when the op comes
//! in time. As Linux's cpuidle-haltpoll and KVM's halt polling do, the
//! window adapts to the guest (`grow_halt_poll_ns`, `shrink_halt_poll_ns`):
//!
//! - an op seen while polling: the window stays;
//! - the window ran out and the next op came soon after (within
//!   [`GROW_WITHIN`]): a longer window would have caught it, so it doubles,
//!   up to [`MAX`] (from nothing it starts at [`START`]);
//! - the window ran out and the next op came late, or never: it halves, and
//!   below [`START`] stops (this domain then halts at once, as before: an
//!   idle frontend costs nothing).

use core::time::Duration;

/// The window a frontend starts with, and the smallest one used.
pub(crate) const START: Duration = Duration::from_micros(100);
/// The longest window.
pub(crate) const MAX: Duration = Duration::from_micros(2000);
/// A window that ran out grows if the next op came this soon after it
/// started.
pub(crate) const GROW_WITHIN: Duration = MAX;

/// One frontend's polling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PollWindow {
    /// The current window (zero: no polling).
    length: Duration,
    /// When the last window that ran out had started, until the next op.
    missed_since: Option<Duration>,
}

impl Default for PollWindow {
    fn default() -> Self {
        Self {
            length: START,
            missed_since: None,
        }
    }
}

impl PollWindow {
    /// How long to poll after an answer, if at all.
    pub(crate) fn window(&self) -> Option<Duration> {
        (!self.length.is_zero()).then_some(self.length)
    }

    /// A window that started at `started` ran out with no op.
    pub(crate) fn ran_out(&mut self, started: Duration) {
        self.missed_since = Some(started);
    }

    /// There was no window after an answer at `now`: as one that ran out at
    /// once, so that a burst of ops brings polling back.
    pub(crate) fn skipped(&mut self, now: Duration) {
        self.missed_since = Some(now);
    }

    /// Whether the time the next op arrives matters (a window ran out, or
    /// was skipped): only then need the clock be read for it.
    pub(crate) fn needs_clock(&self) -> bool {
        self.missed_since.is_some()
    }

    /// An op arrived at `now`, while polling (`polled`; `now` unused) or
    /// by its event. Adapts the window to when it came.
    pub(crate) fn op_arrived(&mut self, now: Duration, polled: bool) {
        let Some(started) = self.missed_since.take() else {
            return;
        };
        if polled {
            return;
        }
        self.length = if now.saturating_sub(started) <= GROW_WITHIN {
            self.length.saturating_mul(2).clamp(START, MAX)
        } else {
            let half = self.length.checked_div(2).unwrap_or_default();
            if half < START { Duration::ZERO } else { half }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn ops_caught_while_polling_keep_the_window() {
        let mut window = PollWindow::default();
        assert_eq!(window.window(), Some(START));
        window.ran_out(us(0));
        window.op_arrived(us(0), true);
        assert_eq!(window.window(), Some(START));
        assert!(!window.needs_clock());
    }

    #[test]
    fn an_op_just_after_the_window_doubles_it_up_to_the_maximum() {
        let mut window = PollWindow::default();
        let mut lengths = Vec::new();
        for round in 0..8u64 {
            let start = us(10_000 * round);
            window.ran_out(start);
            assert!(window.needs_clock());
            // Arrived a little after the window ran out, within the
            // longest one.
            let length = window.window().unwrap();
            window.op_arrived(start + (length + us(10)).min(MAX), false);
            lengths.push(window.window().unwrap().as_micros());
        }
        assert_eq!(lengths, [200, 400, 800, 1600, 2000, 2000, 2000, 2000]);
        // Past the longest window, no window would have caught it.
        window.ran_out(us(0));
        window.op_arrived(MAX + us(1), false);
        assert_eq!(window.window(), Some(us(1000)));
    }

    #[test]
    fn ops_that_come_late_shrink_the_window_until_polling_stops() {
        let mut window = PollWindow::default();
        for _ in 0..4 {
            window.ran_out(us(0));
            window.op_arrived(us(1000), false);
        }
        assert_eq!(window.window(), Some(us(1600)));
        let mut lengths = Vec::new();
        for _ in 0..6 {
            window.ran_out(us(0));
            window.op_arrived(us(50_000), false);
            lengths.push(window.window().map_or(0, |w| w.as_micros()));
        }
        assert_eq!(lengths, [800, 400, 200, 100, 0, 0]);
        assert_eq!(window.window(), None, "an idle guest costs nothing");
        // A burst brings it back.
        window.skipped(us(0));
        window.op_arrived(us(300), false);
        assert_eq!(window.window(), Some(START));
    }

    #[test]
    fn an_op_without_a_missed_window_changes_nothing() {
        let mut window = PollWindow::default();
        window.op_arrived(us(1_000_000), false);
        assert_eq!(window, PollWindow::default());
    }
}
