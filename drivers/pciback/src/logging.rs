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
//! records are as before. Exported: the image's own crate, `kernel`, logs
//! with them too (`#[macro_use] extern crate pciback`).

/// Logs at `$level` (a `log::Level` variant) if the level is enabled.
#[doc(hidden)]
#[macro_export]
macro_rules! log_at {
    ($level:ident, target: $target:expr, $($arg:tt)+) => {
        if ::log::Level::$level <= ::log::STATIC_MAX_LEVEL
            && ::log::Level::$level <= ::log::max_level()
        {
            $crate::logging::emit(::log::Level::$level, $target, format_args!($($arg)+));
        }
    };
    ($level:ident, $($arg:tt)+) => {
        $crate::log_at!($level, target: module_path!(), $($arg)+)
    };
}

/// `log::error!`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log_at!(Error, $($arg)+) };
}

/// `log::warn!`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log_at!(Warn, $($arg)+) };
}

/// `log::info!`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log_at!(Info, $($arg)+) };
}

/// `log::debug!`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log_at!(Debug, $($arg)+) };
}

/// Hands one record to the logger (the macros' one call).
#[doc(hidden)]
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
