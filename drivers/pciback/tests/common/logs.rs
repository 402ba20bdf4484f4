// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console in tests: every message logged on this thread (tests run on several).

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LINES: RefCell<Vec<(log::Level, String)>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        LINES.with(|lines| {
            lines
                .borrow_mut()
                .push((record.level(), record.args().to_string()));
        });
    }

    fn flush(&self) {}
}

/// Starts capturing; forgets what this thread logged so far.
pub fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    LINES.with(|lines| lines.borrow_mut().clear());
}

/// The messages of `level` logged on this thread that contain every one of `words`.
pub fn logged(level: log::Level, words: &[&str]) -> Vec<String> {
    LINES.with(|lines| {
        lines
            .borrow()
            .iter()
            .filter(|(at, line)| *at == level && words.iter().all(|word| line.contains(word)))
            .map(|(_, line)| line.clone())
            .collect()
    })
}

/// Every message logged on this thread at `level` or more severe that
/// contains every one of `words`.
pub fn logged_at_least(level: log::Level, words: &[&str]) -> Vec<String> {
    LINES.with(|lines| {
        lines
            .borrow()
            .iter()
            .filter(|(at, line)| *at <= level && words.iter().all(|word| line.contains(word)))
            .map(|(_, line)| line.clone())
            .collect()
    })
}
