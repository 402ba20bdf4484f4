// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask bench`: the cost of the backend's op path, in instructions,
//! then a Linux guest's config-read round trip through it, against dom0's
//! Linux xen-pciback.
//!
//! Instructions, not seconds: callgrind counts the same on a loaded 2-core
//! machine as on an idle one. The op path runs on the host over the
//! simulated bus (`tools/op-bench`); two runs of
//! different lengths are subtracted so setup cost cancels out.
//!
//! The round trip is measured in the nested environment (scenario c: the
//! same guest served by dom0's Linux pciback, then by the driver domain, in
//! one boot; TCG, so only the ratio means much): four workloads (`read0`,
//! `dump`, `status`, `write`), one line `round-trip <workload>: ours <x>
//! us, linux <y> us, ratio <r>` each, then the floors and what an op cost
//! the driver domain (VM exits by reason from Xen's counters, hypercalls,
//! upcalls, halts). `--reuse-nested` takes the figures of the last
//! scenario c run instead of booting it again.

use crate::image::{self, cargo, run, workspace};
use std::path::PathBuf;
use std::process::Command;
use system_tests::host::{self, Tool};

const VALGRIND: Tool = Tool {
    program: "valgrind",
    package: "valgrind",
};
const SHORT: u64 = 10_000;
const LONG: u64 = 110_000;

/// The line of scenario c's `figures.txt` with the round trip.
const ROUND_TRIP: &str = "guest config read round trip: ";

/// Prints instructions per `conf_read` and per `conf_write`, then the
/// guest's config-read round trip through the driver domain and through
/// dom0's Linux pciback.
pub fn command(args: &[String]) -> Result<(), String> {
    let reuse = match args {
        [] => false,
        [flag] if flag == "--reuse-nested" => true,
        _ => return Err("bench takes only --reuse-nested".into()),
    };
    host::ensure(&[VALGRIND])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    // Generic code is compiled in the crate that instantiates it: in the
    // image the backend's op path over the kernel's types is the kernel's,
    // built at the kernel's opt-level; only pciback's non-generic functions
    // are built at pciback's. So the op path (tools/op-bench, a crate of
    // its own) is counted both ways: built at pciback's level, and at the
    // kernel's, as the image builds it.
    let builds = [
        (
            "at pciback's opt-level",
            opt_level("pciback")?,
            target.clone(),
        ),
        (
            "at the kernel's opt-level, as in the image",
            opt_level("kernel")?,
            target.join("bench-image-level"),
        ),
    ];
    for (how, level, dir) in builds {
        run(cargo()
            .args(["build", "--release", "-p", "op-bench", "--config"])
            .arg(format!(
                "profile.release.package.op-bench.opt-level={level}"
            ))
            .arg("--target-dir")
            .arg(&dir))?;
        let bench = dir.join("release/op-bench");
        for mode in ["read", "write"] {
            let short = instructions(&bench, SHORT, mode)?;
            let long = instructions(&bench, LONG, mode)?;
            let per_op = long.saturating_sub(short) / (LONG - SHORT);
            println!(
                "conf_{mode}: {per_op} instructions per op (callgrind, op path over the simulated bus, {how})"
            );
        }
    }
    let figures = system_tests::log_dir("nested-c").join("figures.txt");
    if !reuse {
        // Scenario c booted with the benchmark's steps: its benchmark test
        // (ignored by `cargo xtask test`) and timing test write the
        // figures; the boot serves the other scenario c tests too, so run
        // them all.
        let image = image::build(true)?;
        run(cargo()
            .args([
                "test",
                "-p",
                "system-tests",
                "--test",
                "nested",
                "scenario_c",
                "--",
                "--include-ignored",
            ])
            .env("PCIBACK_DD_IMAGE", &image)
            .env("PCIBACK_DD_BENCH", "1"))?;
    }
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|e| {
            format!(
                "{}: {e} (run `cargo xtask nested c`, or bench without --reuse-nested)",
                path.display()
            )
        })
    };
    let text = read(&figures)?;
    let line = text
        .lines()
        .find(|l| l.starts_with(ROUND_TRIP))
        .ok_or_else(|| format!("no `{ROUND_TRIP}...` in {}", figures.display()))?;
    println!("{line} (nested scenario c, TCG; {})", figures.display());
    // The four workloads, the floors and the cost per op (bench.txt).
    let bench = figures.with_file_name("bench.txt");
    print!("{}", read(&bench)?);
    Ok(())
}

/// `package`'s opt-level in the workspace's release profile, as TOML
/// (`"z"`, `2`).
fn opt_level(package: &str) -> Result<String, String> {
    let manifest = workspace().join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let section = format!("[profile.release.package.{package}]");
    text.lines()
        .skip_while(|line| line.trim() != section)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .find_map(|line| {
            line.split_once('=')
                .filter(|(key, _)| key.trim() == "opt-level")
        })
        .map(|(_, level)| level.trim().to_owned())
        .ok_or_else(|| format!("no opt-level for {package} in {}", manifest.display()))
}

/// Instructions callgrind counts for `count` ops of `mode`.
fn instructions(program: &PathBuf, count: u64, mode: &str) -> Result<u64, String> {
    let out = std::env::temp_dir().join(format!("pciback-dd-callgrind.{mode}.{count}"));
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(program)
        .args([&count.to_string(), mode])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let _ = std::fs::remove_file(&out);
    let log = String::from_utf8_lossy(&output.stderr);
    log.lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().parse().ok())
        })
        .flatten()
        .ok_or_else(|| format!("no instruction count from callgrind:\n{log}"))
}
