// SPDX-License-Identifier: MIT OR Apache-2.0
//! The harness that boots the image: host prerequisites, QEMU command lines,
//! serial capture, QMP; and the nested QEMU + Xen environment.
//!
//! Shared by the system tests (`tests/tests/*.rs`) and by `cargo xtask`.

pub mod host;
pub mod nested;
pub mod qemu;
pub mod qmp;

use std::path::PathBuf;

/// The image under test: `PCIBACK_DD_IMAGE`, which `cargo xtask test` sets
/// after building it.
pub fn image() -> PathBuf {
    match std::env::var_os("PCIBACK_DD_IMAGE") {
        Some(path) => PathBuf::from(path),
        None => panic!("PCIBACK_DD_IMAGE is not set: run these tests with `cargo xtask test`"),
    }
}

/// A directory for one test's logs: `target/system-tests/<name>`.
pub fn log_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("system-tests").join(name)
}
