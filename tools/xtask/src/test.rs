// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask test`: lint, host tests, then the tests that boot the image.

use crate::image::{self, TARGET, cargo, run};
use std::time::Instant;
use system_tests::host;

/// Runs every tier in order, stopping at the first failure.
pub fn command(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err("test takes no arguments".into());
    }
    let started = Instant::now();
    step("format", || run(cargo().args(["fmt", "--all", "--check"])))?;
    step("lint (host)", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("lint (image)", || {
        image::ensure_target()?;
        run(cargo().args([
            "clippy", "-p", "kernel", "--target", TARGET, "--", "-D", "warnings",
        ]))
    })?;
    step("host tests", || {
        run(cargo().args(["test", "--workspace", "--exclude", "system-tests"]))
    })?;
    step("docs", || {
        let docs = |args: &[&str]| {
            run(cargo()
                .args(["doc", "--no-deps", "--document-private-items"])
                .args(args)
                .env("RUSTDOCFLAGS", "-D warnings"))
        };
        docs(&["--workspace"])?;
        docs(&["-p", "kernel", "--target", TARGET])
    })?;
    host::ensure(&[host::QEMU])?;
    let image = step("image", || image::build(true))?;
    step("system tests", || {
        run(cargo()
            .args(["test", "-p", "system-tests"])
            .env("PCIBACK_DD_IMAGE", &image))
    })?;
    eprintln!(
        "xtask test: all tiers passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs one named step, printing its wall time.
fn step<T>(name: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let result = f();
    eprintln!("<== {name}: {:.1}s", started.elapsed().as_secs_f64());
    result.map_err(|e| format!("{name}: {e}"))
}
