// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run`: the image in QEMU, serial on the terminal.

use crate::image;
use std::process::Command;
use system_tests::host;
use system_tests::qemu::Machine;

/// Boots the image in QEMU with the default devices; extra words go on its
/// command line. `--bare` is the QEMU-only loop (the only one, until the
/// nested environment is the default).
pub fn command(args: &[String]) -> Result<(), String> {
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--bare")
        .collect();
    host::ensure(&[host::QEMU])?;
    let image = image::build(true)?;
    let machine = Machine::new(&image).append(&words.join(" "));
    eprintln!(
        "booting {} in QEMU (q35, TCG); Ctrl-A X quits",
        image.display()
    );
    let status = Command::new("qemu-system-x86_64")
        .args(machine.args("mon:stdio"))
        .status()
        .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    match status.code() {
        Some(0 | 33) => Ok(()),
        _ => Err(format!(
            "QEMU: {status} (35 panic, 37 exception, 39 fatal boot error)"
        )),
    }
}
