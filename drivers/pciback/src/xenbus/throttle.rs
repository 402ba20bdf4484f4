// SPDX-License-Identifier: MIT OR Apache-2.0
//! Throttling a frontend that signals without posting ops (XSA-332).
//!
//! A guest can send events as fast as it likes; each one wakes this domain.
//! Linux's backends answer an event that brought no work with a spurious
//! late EOI (`xen_irq_lateeoi_locked`): from the second such event in a
//! row the port is left unarmed for 1, 2, 4, ... jiffies, at most a second,
//! and an event that brought work ends it. The same here, with the 4 ms
//! jiffy of Debian's `HZ=250`: the frontend's port is not waited on until
//! the delay is over (its pending event is kept, so an op posted meanwhile
//! is answered then), while its XenStore watches are still served. A flood
//! costs this domain one wake-up per delay instead of one per event.

use core::time::Duration;

/// Linux's `HZ` on Debian: the ladder's cap is `HZ` jiffies (one second).
const HZ: u32 = 250;
/// One jiffy at [`HZ`].
const JIFFY: Duration = Duration::from_millis(4);

/// Spurious events in a row, and how long the port stays unarmed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Throttle {
    spurious: u32,
    until: Option<Duration>,
    /// The cap was reached once already (said on the console).
    capped: bool,
}

impl Throttle {
    /// Records an event that brought ops: the throttle ends.
    pub(super) fn served(&mut self) {
        self.spurious = 0;
        self.until = None;
    }

    /// Records an event at `now` that brought no op. Returns true the first
    /// time the delay reaches its cap: worth one line on the console (the
    /// frontend is flooding), and only one, so a guest cannot fill the log
    /// by flooding and posting an op in turn (XSA-43).
    pub(super) fn spurious(&mut self, now: Duration) -> bool {
        let counted = (1u32 << self.spurious) < HZ << 2;
        if counted {
            self.spurious = self.spurious.saturating_add(1);
        }
        let Some(doublings) = self.spurious.checked_sub(2) else {
            return false;
        };
        let jiffies = (1u32 << doublings).min(HZ);
        self.until = Some(now.saturating_add(JIFFY.saturating_mul(jiffies)));
        // The count stops once the ladder is past the cap.
        let first_cap = counted && jiffies == HZ && !self.capped;
        self.capped |= first_cap;
        first_cap
    }

    /// Until when the port is not to be waited on.
    pub(super) fn until(&self) -> Option<Duration> {
        self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Linux's ladder at HZ=250: no delay for the first spurious event,
    /// then 1, 2, 4, ... 128 jiffies, then one second for good.
    #[test]
    fn the_delay_doubles_from_the_second_spurious_event_up_to_a_second() {
        let mut throttle = Throttle::default();
        let now = ms(1000);
        let mut delays = alloc::vec::Vec::new();
        let mut capped = alloc::vec::Vec::new();
        for _ in 0..14 {
            capped.push(throttle.spurious(now));
            delays.push(throttle.until().map(|until| (until - now).as_millis()));
        }
        assert_eq!(
            delays,
            [
                None,
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(64),
                Some(128),
                Some(256),
                Some(512),
                Some(1000),
                Some(1000),
                Some(1000),
                Some(1000),
                Some(1000),
            ]
        );
        // Said once, when the cap is reached.
        assert_eq!(capped.iter().filter(|&&c| c).count(), 1);
        assert!(capped[9]);
        // And never again for this frontend, however it alternates floods
        // and ops.
        for _ in 0..3 {
            throttle.served();
            for _ in 0..14 {
                assert!(!throttle.spurious(now));
            }
        }
    }

    #[test]
    fn an_event_with_work_ends_the_throttle() {
        let mut throttle = Throttle::default();
        for _ in 0..5 {
            throttle.spurious(ms(0));
        }
        assert!(throttle.until().is_some());
        throttle.served();
        assert_eq!(throttle.until(), None);
        // And the ladder starts again from the bottom.
        throttle.spurious(ms(80));
        assert_eq!(throttle.until(), None);
        throttle.spurious(ms(80));
        assert_eq!(throttle.until(), Some(ms(84)));
    }
}
