// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `log` facade's backend: one line per record, stamped with the time
//! since boot, written to every console.

use crate::time;

struct Logger;

static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let micros = time::since_boot_micros();
        let (secs, micros) = (micros / 1_000_000, micros % 1_000_000);
        let target = record.target();
        // Show the module, not the crate path: `kernel::memory` -> `memory`.
        // A byte search: `rsplit("::")` would bring in core's substring
        // searcher and its panic report (Unicode tables among it, 5 KiB).
        let target = target
            .as_bytes()
            .windows(2)
            .rposition(|pair| pair == b"::")
            .and_then(|colons| target.get(colons + 2..))
            .unwrap_or(target);
        let level = match record.level() {
            log::Level::Error => "ERROR ",
            log::Level::Warn => "WARN ",
            log::Level::Info => "",
            log::Level::Debug => "debug ",
            log::Level::Trace => "trace ",
        };
        super::write_fmt(format_args!(
            "[{secs:5}.{micros:06}] {level}{target}: {}\n",
            record.args()
        ));
    }

    fn flush(&self) {}
}

/// Routes `log` records to the console, at most as verbose as `level`.
pub fn init(level: log::LevelFilter) {
    // Only fails if a logger is already set: then the first one stays.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
