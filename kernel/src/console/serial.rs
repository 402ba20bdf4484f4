// SPDX-License-Identifier: MIT OR Apache-2.0
//! COM1, the 16550 UART at I/O port 0x3F8.

use core::fmt;
use uart_16550::{Config, Uart16550, backend::PioBackend};

const COM1_PORT: u16 = 0x3f8;

/// COM1, initialised at 115200 8N1.
#[derive(Debug)]
pub struct Com1(Uart16550<PioBackend>);

impl Com1 {
    /// COM1, if a UART answers there (under Xen PVH nothing does).
    pub fn probe() -> Option<Self> {
        // SAFETY: 0x3F8..0x400 are COM1's registers on every PC; nothing else
        // in the image drives them, and a port nobody decodes reads 0xFF,
        // which the presence check refuses.
        let mut uart = unsafe { Uart16550::new_port(COM1_PORT) }.ok()?;
        if !uart.check_present() {
            return None;
        }
        uart.init(Config::default()).ok()?;
        Some(Self(uart))
    }
}

impl fmt::Write for Com1 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for line in s.split_inclusive('\n') {
            match line.strip_suffix('\n') {
                Some(text) => {
                    self.0.send_bytes_exact(text.as_bytes());
                    self.0.send_bytes_exact(b"\r\n");
                }
                None => self.0.send_bytes_exact(line.as_bytes()),
            }
        }
        Ok(())
    }
}
