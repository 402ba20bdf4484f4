// SPDX-License-Identifier: MIT OR Apache-2.0
//! Xen system time: nanoseconds since Xen booted, the clock its timers use.
//!
//! `set_timer_op` and `SCHEDOP_poll` take deadlines in system time, which a
//! guest computes from the TSC and the scale Xen publishes in its vCPU's
//! [`VcpuTimeInfo`] (`xen.h`, "Current system time: system_time +
//! ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)").

use core::sync::atomic::{Ordering, fence};

use crate::abi::xen::VcpuTimeInfo;

/// One consistent reading of a [`VcpuTimeInfo`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeScale {
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// System time (ns) at `tsc_timestamp`.
    pub system_time: u64,
    /// TSC-to-ns multiplier, 32.32 fixed point.
    pub mul: u32,
    /// Shift applied to a TSC delta before multiplying.
    pub shift: i8,
}

impl TimeScale {
    /// Reads `info` consistently: Xen makes `version` odd while it writes
    /// and changes it after, so a reading that saw an odd or changed
    /// version is retried.
    pub fn read(info: &VcpuTimeInfo) -> Self {
        loop {
            let version = info.version.load(Ordering::Acquire);
            if version & 1 == 1 {
                core::hint::spin_loop();
                continue;
            }
            let scale = Self {
                tsc_timestamp: info.tsc_timestamp.load(Ordering::Relaxed),
                system_time: info.system_time.load(Ordering::Relaxed),
                mul: info.tsc_to_system_mul.load(Ordering::Relaxed),
                shift: info.tsc_shift.load(Ordering::Relaxed),
            };
            fence(Ordering::Acquire);
            if info.version.load(Ordering::Relaxed) == version {
                return scale;
            }
        }
    }

    /// Nanoseconds that `ticks` of the TSC last (saturating: Xen's own
    /// shifts are small, a corrupt scale must not wrap).
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        let ticks = u128::from(ticks);
        let shifted = match self.shift {
            shift @ 0.. => ticks << shift.unsigned_abs().min(63),
            shift => ticks >> shift.unsigned_abs(),
        };
        shifted
            .checked_mul(u128::from(self.mul))
            .and_then(|product| u64::try_from(product >> 32).ok())
            .unwrap_or(u64::MAX)
    }

    /// System time when the TSC read `tsc` (not before the last update).
    pub fn system_time_at(&self, tsc: u64) -> u64 {
        let since = tsc.saturating_sub(self.tsc_timestamp);
        self.system_time.saturating_add(self.ticks_to_ns(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 GHz TSC: half a nanosecond per tick (shift 0, mul 0.5 in 32.32),
    /// last updated at TSC 1000 = 5 ms of system time.
    const TWO_GHZ: TimeScale = TimeScale {
        tsc_timestamp: 1_000,
        system_time: 5_000_000,
        mul: 1 << 31,
        shift: 0,
    };

    #[test]
    fn scales_as_the_header_formula() {
        assert_eq!(TWO_GHZ.ticks_to_ns(2_000_000_000), 1_000_000_000);
        assert_eq!(TWO_GHZ.system_time_at(3_000), 5_001_000);
        // A 1 GHz TSC as Xen publishes it: shift 1, mul 0.5.
        let one_ghz = TimeScale {
            shift: 1,
            ..TWO_GHZ
        };
        assert_eq!(one_ghz.ticks_to_ns(1_000), 1_000);
        // A 4 GHz TSC: shift -1, mul 0.5.
        let four_ghz = TimeScale {
            shift: -1,
            ..TWO_GHZ
        };
        assert_eq!(four_ghz.ticks_to_ns(4_000), 1_000);
    }

    #[test]
    fn a_tsc_before_the_update_reads_the_update_time() {
        assert_eq!(TWO_GHZ.system_time_at(0), TWO_GHZ.system_time);
    }

    #[test]
    fn huge_deltas_saturate_instead_of_wrapping() {
        let scale = TimeScale {
            mul: u32::MAX,
            shift: 4,
            ..TWO_GHZ
        };
        assert_eq!(scale.ticks_to_ns(u64::MAX), u64::MAX);
        assert_eq!(
            scale.ticks_to_ns(1 << 20),
            ((1u64 << 24) * u64::from(u32::MAX)) >> 32
        );
        assert_eq!(
            TimeScale {
                system_time: u64::MAX - 1,
                ..TWO_GHZ
            }
            .system_time_at(u64::MAX),
            u64::MAX
        );
    }

    #[test]
    fn reads_what_xen_published() {
        let info = VcpuTimeInfo::default();
        info.version.store(2, Ordering::Relaxed);
        info.tsc_timestamp.store(7, Ordering::Relaxed);
        info.system_time.store(11, Ordering::Relaxed);
        info.tsc_to_system_mul.store(13, Ordering::Relaxed);
        info.tsc_shift.store(-2, Ordering::Relaxed);
        assert_eq!(
            TimeScale::read(&info),
            TimeScale {
                tsc_timestamp: 7,
                system_time: 11,
                mul: 13,
                shift: -2
            }
        );
    }
}
