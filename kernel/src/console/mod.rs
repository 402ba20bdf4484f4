// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console: every output the domain has, written together.
//!
//! COM1 when a 16550 answers there; under Xen, the debug port 0xE9 (`xl
//! dmesg` shows it) and, once the domain's memory is up, the PV console
//! (`xl console`). The log goes to each one present.

mod debugcon;
mod logger;
mod serial;
mod xencons;

pub use logger::init as init_logger;

use core::fmt;
use spin::Mutex;

/// The outputs found at boot.
struct Console {
    serial: Option<serial::Com1>,
    debugcon: Option<debugcon::DebugCon>,
    xen: Option<xencons::XenConsole>,
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(serial) = &mut self.serial {
            serial.write_str(s)?;
        }
        if let Some(debugcon) = &mut self.debugcon {
            debugcon.write_str(s)?;
        }
        if let Some(xen) = &mut self.xen {
            xen.write_str(s)?;
        }
        Ok(())
    }
}

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    serial: None,
    debugcon: None,
    xen: None,
});

/// Finds the outputs: COM1 if a UART answers, port 0xE9 if `under_xen`.
pub fn init(under_xen: bool) {
    let mut console = CONSOLE.lock();
    console.serial = serial::Com1::probe();
    console.debugcon = under_xen.then(debugcon::DebugCon::new);
}

/// Adds Xen's PV console (`xl console`) to the outputs.
pub fn attach_xen_console(
    hv: &'static crate::hypercalls::Hypercalls,
    interface: &'static xen::abi::io::console::XenconsInterface,
    port: xen::abi::event_channel::EvtchnPort,
) {
    CONSOLE.lock().xen = Some(xencons::XenConsole::new(hv, interface, port));
}

/// The PV console's event channel, if there is a PV console.
pub fn xen_console_port() -> Option<xen::abi::event_channel::EvtchnPort> {
    CONSOLE.lock().xen.as_ref().map(xencons::XenConsole::port)
}

/// Reads what was typed on the PV console into `buf`; 0 if nothing.
pub fn read_input(buf: &mut [u8]) -> usize {
    CONSOLE.lock().xen.as_ref().map_or(0, |xen| xen.read(buf))
}

/// Writes formatted text to every output.
pub fn write_fmt(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut *CONSOLE.lock(), args);
}

/// Writes formatted text from a context that may have interrupted a writer
/// holding the console (a fatal exception or a panic): the lock is taken by
/// force, since the interrupted writer never runs again.
pub fn write_fmt_fatal(args: fmt::Arguments<'_>) {
    if CONSOLE.is_locked() {
        // SAFETY: only called on the way to stopping the domain; the holder
        // of the lock was interrupted on this, the only, CPU and will not run
        // again, so nothing else touches the console after this point.
        unsafe { CONSOLE.force_unlock() };
    }
    write_fmt(args);
}
