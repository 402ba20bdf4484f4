// SPDX-License-Identifier: MIT OR Apache-2.0
//! The harness that boots the image: QEMU command lines, serial capture, QMP.
//!
//! Shared by the system tests and by `cargo xtask run`.

pub mod nested;
