// SPDX-License-Identifier: MIT OR Apache-2.0
//! `error!` .. `debug!`: the `log` crate's macros, without their cost per
//! call site.
//!
//! `log`'s macros give every call site a `Location` (24 bytes of data) and
//! build a (target, module, location) triple on the stack, for the file
//! and line the image's logger never prints. These pass only what it
//! prints: level, target (the module, unless `target:` names another) and
//! message, to one shared function. Records still go through the `log`
//! facade, so the logger, `log::set_max_level` and the other crates'
//! records are as before.

/// Logs at `$level` (a `log::Level` variant) if the level is enabled.
macro_rules! log_at {
    ($level:ident, target: $target:expr, $($arg:tt)+) => {
        if ::log::Level::$level <= ::log::STATIC_MAX_LEVEL
            && ::log::Level::$level <= ::log::max_level()
        {
            $crate::logging::emit(::log::Level::$level, $target, format_args!($($arg)+));
        }
    };
    ($level:ident, $($arg:tt)+) => {
        log_at!($level, target: module_path!(), $($arg)+)
    };
}

/// `log::error!`.
macro_rules! error {
    ($($arg:tt)+) => { log_at!(Error, $($arg)+) };
}

/// `log::warn!`.
macro_rules! warn {
    ($($arg:tt)+) => { log_at!(Warn, $($arg)+) };
}

/// `log::info!`.
macro_rules! info {
    ($($arg:tt)+) => { log_at!(Info, $($arg)+) };
}

/// `log::debug!`.
macro_rules! debug {
    ($($arg:tt)+) => { log_at!(Debug, $($arg)+) };
}

/// Hands one record to the logger.
#[inline(never)]
pub fn emit(level: log::Level, target: &str, args: core::fmt::Arguments<'_>) {
    log::logger().log(
        &log::Record::builder()
            .level(level)
            .target(target)
            .args(args)
            .build(),
    );
}
