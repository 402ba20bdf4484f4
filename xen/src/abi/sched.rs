// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/sched.h`: `SCHEDOP_*`, shutdown reasons, `sched_poll`.
//!
//! Mirrors the Xen 4.17.5 header.

use super::event_channel::EvtchnPort;

/// `SCHEDOP_yield`: give up the CPU; no argument.
pub const SCHEDOP_YIELD: u32 = 0;
/// `SCHEDOP_block`: sleep until an event; no argument.
pub const SCHEDOP_BLOCK: u32 = 1;
/// `SCHEDOP_shutdown`: argument `sched_shutdown`.
pub const SCHEDOP_SHUTDOWN: u32 = 2;
/// `SCHEDOP_poll`: argument `sched_poll`.
pub const SCHEDOP_POLL: u32 = 3;

/// `SHUTDOWN_poweroff`: exited normally.
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// `SHUTDOWN_reboot`: restart.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// `SHUTDOWN_suspend`.
pub const SHUTDOWN_SUSPEND: u32 = 2;
/// `SHUTDOWN_crash`: tell the toolstack we crashed.
pub const SHUTDOWN_CRASH: u32 = 3;
/// `SHUTDOWN_watchdog`.
pub const SHUTDOWN_WATCHDOG: u32 = 4;
/// `SHUTDOWN_soft_reset`.
pub const SHUTDOWN_SOFT_RESET: u32 = 5;

/// Most ports one `SCHEDOP_poll` may name (more gets `-EINVAL`).
pub const SCHED_POLL_MAX_PORTS: u32 = 128;

/// `struct sched_shutdown`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedShutdown {
    /// IN: `SHUTDOWN_*`.
    pub reason: u32,
}
const _: () = assert!(size_of::<SchedShutdown>() == 4);

/// `struct sched_poll`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedPoll {
    /// IN: guest-virtual address of an array of ports.
    pub ports: *const EvtchnPort,
    /// IN: number of ports in the array.
    pub nr_ports: u32,
    /// IN: absolute Xen system time (ns) to give up at; 0 waits forever.
    pub timeout: u64,
}
const _: () = assert!(size_of::<SchedPoll>() == 24);
const _: () = assert!(core::mem::offset_of!(SchedPoll, nr_ports) == 8);
const _: () = assert!(core::mem::offset_of!(SchedPoll, timeout) == 16);
