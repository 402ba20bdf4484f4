// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask`: build, run, test and benchmark pciback-dd.

fn main() {}
