// SPDX-License-Identifier: MIT OR Apache-2.0
//! `sched_op`: yield, block, poll, shut down; and the vCPU's one-shot timer.
//!
//! Wraps `__HYPERVISOR_sched_op` (`sched.h`) and `__HYPERVISOR_set_timer_op`
//! (`xen.h`).

use super::{Command, Hypercall, command, command_without_argument, pointer_arg};
use crate::Errno;
use crate::abi::event_channel::EvtchnPort;
use crate::abi::sched::{
    SCHED_POLL_MAX_PORTS, SCHEDOP_BLOCK, SCHEDOP_POLL, SCHEDOP_SHUTDOWN, SCHEDOP_YIELD, SchedPoll,
    SchedShutdown,
};
use crate::abi::xen::{HYPERVISOR_SCHED_OP, HYPERVISOR_SET_TIMER_OP};

// SAFETY: sched_op(SCHEDOP_shutdown, struct sched_shutdown *) reads exactly
// one SchedShutdown (sched.h).
unsafe impl Command<SCHEDOP_SHUTDOWN> for SchedShutdown {
    const HYPERCALL: u32 = HYPERVISOR_SCHED_OP;
}

/// `SCHEDOP_yield`: let another vCPU run.
pub fn yield_now<H: Hypercall + ?Sized>(hv: &H) -> Result<(), Errno> {
    command_without_argument(hv, HYPERVISOR_SCHED_OP, SCHEDOP_YIELD).map(drop)
}

/// `SCHEDOP_block`: sleep until an event is delivered to this vCPU.
pub fn block<H: Hypercall + ?Sized>(hv: &H) -> Result<(), Errno> {
    command_without_argument(hv, HYPERVISOR_SCHED_OP, SCHEDOP_BLOCK).map(drop)
}

/// `SCHEDOP_shutdown` with `SHUTDOWN_*` `reason`. On success Xen does not
/// return to the caller; a returned value is the failure.
pub fn shutdown<H: Hypercall + ?Sized>(hv: &H, reason: u32) -> Result<(), Errno> {
    let mut arg = SchedShutdown { reason };
    command::<SCHEDOP_SHUTDOWN, _, _>(hv, &mut arg).map(drop)
}

/// `SCHEDOP_poll`: sleep until one of `ports` is pending or Xen system time
/// reaches `timeout_ns` (0: no timeout). At most 128 ports.
pub fn poll<H: Hypercall + ?Sized>(
    hv: &H,
    ports: &[EvtchnPort],
    timeout_ns: u64,
) -> Result<(), Errno> {
    let nr_ports = u32::try_from(ports.len())
        .ok()
        .filter(|&n| n <= SCHED_POLL_MAX_PORTS)
        .ok_or(Errno::EINVAL)?;
    let mut arg = SchedPoll {
        ports: ports.as_ptr(),
        nr_ports,
        timeout: timeout_ns,
    };
    // The struct carries a pointer, so it does not go through `command`.
    let args = [u64::from(SCHEDOP_POLL), pointer_arg(&mut arg), 0, 0, 0];
    // SAFETY: Xen reads the one SchedPoll at the second argument, and
    // `nr_ports` ports at `arg.ports`; both point into live borrows
    // (`arg`, `ports`) that outlive the call.
    let ret = unsafe { hv.hypercall(HYPERVISOR_SCHED_OP, args) };
    Errno::check(ret).map(drop)
}

/// `set_timer_op`: raise `VIRQ_TIMER` on this vCPU once Xen system time
/// reaches `deadline_ns` ([`crate::time`]); a deadline already past fires
/// at once, 0 cancels. A new deadline replaces the last one.
pub fn set_timer<H: Hypercall + ?Sized>(hv: &H, deadline_ns: u64) -> Result<(), Errno> {
    // SAFETY: set_timer_op takes one value (s_time_t), no pointer.
    let ret = unsafe { hv.hypercall(HYPERVISOR_SET_TIMER_OP, [deadline_ns, 0, 0, 0, 0]) };
    Errno::check(ret).map(drop)
}
