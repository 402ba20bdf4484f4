// SPDX-License-Identifier: MIT OR Apache-2.0
//! Port 0xE9: Xen prints what a guest writes there in its own log.

use core::fmt;
use x86_64::instructions::port::PortWriteOnly;

/// The 0xE9 debug port.
#[derive(Debug)]
pub struct DebugCon(PortWriteOnly<u8>);

impl DebugCon {
    /// The port. Xen buffers a line and prints it as `(dN) ...`.
    pub const fn new() -> Self {
        Self(PortWriteOnly::new(0xe9))
    }
}

impl fmt::Write for DebugCon {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            // SAFETY: port 0xE9 is Xen's (or QEMU's debugcon's) console
            // port; a write has no effect beyond printing the byte.
            unsafe { self.0.write(byte) };
        }
        Ok(())
    }
}
