// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run` (the nested demonstration, or `--bare`: the image
//! alone in QEMU) and `cargo xtask nested <scenario>`.

use crate::image::{self, cargo, run};
use std::process::Command;
use system_tests::host;
use system_tests::nested::{self, Scenario};
use system_tests::qemu::Machine;

/// Boots the demonstration (scenario c): Xen, dom0, the image as the
/// hardware domain, and a Linux PV guest whose xen-pcifront it serves with
/// the devices it took (after the same guest served by dom0's Linux
/// pciback, for comparison), Xen's console on this terminal. With `--bare`, the image alone in QEMU with the default
/// devices; the other words go on its command line.
pub fn command(args: &[String]) -> Result<(), String> {
    let bare = args.iter().any(|a| a == "--bare");
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--bare")
        .collect();
    if !bare {
        if !words.is_empty() {
            return Err(
                "command-line words go with --bare; the nested run uses tools/driver-domain.cfg"
                    .into(),
            );
        }
        return demo();
    }
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

/// The nested stack, console streamed, logs kept.
fn demo() -> Result<(), String> {
    let image = image::build(true)?;
    let options = nested::Options {
        image: Some(image),
        echo: true,
        ..Default::default()
    };
    let outcome = nested::run_scenario(Scenario::Serving, &options).map_err(|e| e.to_string())?;
    eprintln!("{}", outcome.summary());
    if outcome.completed() {
        Ok(())
    } else {
        Err("the nested run did not complete".into())
    }
}

/// `cargo xtask nested <scenario>`: one scenario's tests, progress shown.
pub fn nested(args: &[String]) -> Result<(), String> {
    let [name] = args else {
        return Err("nested takes one scenario: a, b or c".into());
    };
    let scenario: Scenario = name.parse().map_err(|e: nested::Error| e.to_string())?;
    let image = image::build(true)?;
    run(cargo()
        .args(["test", "-p", "system-tests", "--test", "nested"])
        .arg(format!("scenario_{scenario}"))
        .args(["--", "--nocapture"])
        .env("PCIBACK_DD_IMAGE", &image))
}
