// SPDX-License-Identifier: MIT OR Apache-2.0
//! Stopping the domain with a status the caller can see.
//!
//! Under Xen: `SCHEDOP_shutdown` (poweroff for success, crash otherwise), once
//! the Xen layer has registered how. Under QEMU: the isa-debug-exit device at
//! port 0xF4, which exits QEMU with status `(code << 1) | 1`. Then, if still
//! running (no such device), the CPU halts with interrupts off.

use spin::Once;
use x86_64::instructions::port::PortWriteOnly;

/// Why the domain stops. The values are what isa-debug-exit receives; QEMU
/// exits with `(value << 1) | 1`: 33, 35, 37 and 39.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The work asked for is done.
    Success = 0x10,
    /// A panic.
    Panic = 0x11,
    /// A fatal CPU exception.
    Exception = 0x12,
    /// Booting cannot go on (bad start info, too little memory).
    Fatal = 0x13,
}

static HYPERVISOR_SHUTDOWN: Once<fn(ExitCode)> = Once::new();

/// Registers how to ask the hypervisor to stop the domain.
pub fn set_hypervisor_shutdown(shutdown: fn(ExitCode)) {
    HYPERVISOR_SHUTDOWN.call_once(|| shutdown);
}

/// Stops the domain.
pub fn stop(code: ExitCode) -> ! {
    x86_64::instructions::interrupts::disable();
    if let Some(shutdown) = HYPERVISOR_SHUTDOWN.get() {
        shutdown(code);
    }
    // SAFETY: port 0xF4 is isa-debug-exit in the QEMU configurations the
    // project uses; elsewhere nothing decodes it and the write is lost.
    unsafe { PortWriteOnly::<u32>::new(0xf4).write(u32::from(code as u8)) };
    loop {
        x86_64::instructions::hlt();
    }
}
