// SPDX-License-Identifier: MIT OR Apache-2.0
//! Halting until an interrupt, without losing one that arrives just before.
//!
//! `sti; hlt` relies on the one-instruction interrupt shadow after `sti`: an
//! interrupt pending at `sti` is taken after `hlt` starts, so it ends the
//! halt. QEMU 7.2 (Debian 12) loses that shadow for a nested guest on VMRUN
//! (fixed upstream in 2024: "target/i386: fix INHIBIT_IRQ/TF/RF handling for
//! VMRUN"), so Xen can deliver the upcall between the two instructions and
//! the domain halts with the wake-up already taken. Seen in nested runs: a
//! XenStore reply sat unread in the ring. As Linux does for its safe halt,
//! an interrupt that finds RIP on the `hlt` moves RIP past it.

use core::sync::atomic::{AtomicU64, Ordering};

core::arch::global_asm!(
    ".pushsection .text.idle, \"ax\"",
    ".global idle_halt",
    "idle_halt:",
    "sti",
    ".global idle_halt_hlt",
    "idle_halt_hlt:",
    "hlt",
    "cli",
    "ret",
    ".popsection",
);

unsafe extern "C" {
    fn idle_halt();
    static idle_halt_hlt: u8;
}

/// Halts so far, for the diagnostics.
pub static HALTS: AtomicU64 = AtomicU64::new(0);

/// Enables interrupts, halts until one has been handled, disables them.
pub fn halt_until_interrupt() {
    HALTS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `idle_halt` only toggles the interrupt flag and halts; the
    // handlers it lets run save and restore every register they touch.
    unsafe { idle_halt() };
}

/// Lets the interrupts that are waiting in and returns with interrupts off
/// again (`sti; nop; cli`: the one instruction after `sti` runs first).
pub fn take_interrupts() {
    // SAFETY: only toggles the interrupt flag; the handlers that run save
    // and restore every register they touch.
    unsafe { core::arch::asm!("sti", "nop", "cli") };
}

/// Called first by every interrupt handler with the interrupted `rip`: if
/// the interrupt arrived on the idle `hlt` (before it executed), resume
/// after it instead.
pub fn skip_halt(rip: &mut u64) {
    let hlt = (&raw const idle_halt_hlt) as u64;
    if *rip == hlt {
        *rip = hlt + 1; // `hlt` is one byte (F4)
    }
}
