// SPDX-License-Identifier: MIT OR Apache-2.0
//! The wake-up for sleeping tasks under Xen: the vCPU's one-shot timer.
//!
//! Before the idle loop halts it sets Xen's timer (`set_timer_op`) to the
//! earliest deadline of [`crate::timer`]; Xen raises `VIRQ_TIMER` then, the
//! upcall ends the halt, and the loop wakes the sleepers due. Deadlines are
//! TSC readings, converted to Xen system time with the scale Xen publishes
//! for vCPU 0.

use super::{Xen, ports, shared_info};
use crate::time;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::xen::VIRQ_TIMER;
use xen::hypercall::{event_channel, sched};
use xen::time::TimeScale;

/// The port `VIRQ_TIMER` is bound to.
static PORT: Once<EvtchnPort> = Once::new();
/// The TSC deadline Xen's timer is set for; 0 when none is.
static ARMED: AtomicU64 = AtomicU64::new(0);
/// Times Xen's timer fired, for the diagnostics.
pub static FIRED: AtomicU64 = AtomicU64::new(0);

/// Binds `VIRQ_TIMER` on vCPU 0.
pub fn start(xen: &Xen) -> Result<(), &'static str> {
    let port = event_channel::bind_virq(&xen.hv, VIRQ_TIMER, 0)
        .map_err(|_| "binding VIRQ_TIMER failed")?;
    PORT.call_once(|| port);
    Ok(())
}

/// Notes whether Xen's timer fired since the last look (the idle loop,
/// after each wake-up): it is then no longer set.
pub fn acknowledge() {
    if PORT.get().is_some_and(|&port| ports::take_raised(port)) {
        ARMED.store(0, Ordering::Relaxed);
        FIRED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Makes sure Xen interrupts the halt by `deadline` (a TSC reading), or
/// not at all for `None`. A deadline already set is not set again; once
/// the timer fired it is set again even for the same deadline (Xen's clock
/// may round a little early of ours).
pub fn set(xen: &Xen, deadline: Option<u64>) {
    let Some(shared) = shared_info() else {
        return;
    };
    let deadline = deadline.unwrap_or(0);
    if ARMED.load(Ordering::Relaxed) == deadline {
        return;
    }
    let system_time = match deadline {
        0 => 0,
        deadline => {
            let scale = TimeScale::read(&shared.vcpu_info[0].time);
            let now = time::tsc();
            // Never 0 (which cancels): a due deadline fires at once.
            scale
                .system_time_at(now)
                .saturating_add(scale.ticks_to_ns(deadline.saturating_sub(now)))
                .max(1)
        }
    };
    match sched::set_timer(&xen.hv, system_time) {
        Ok(()) => ARMED.store(deadline, Ordering::Relaxed),
        Err(e) => error!("set_timer_op: {}", e.name()),
    }
}
