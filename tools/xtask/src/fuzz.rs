// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask fuzz`: a libFuzzer campaign per target, on one core, corpus minimized after.
//!
//! Each target runs `cargo fuzz run -s none` (stable Rust: no sanitizer)
//! for `--time` seconds over its committed corpus (`fuzz/corpus/<target>`),
//! one process, one job; the corpus is then minimized in place (`cargo
//! fuzz cmin`), ready to commit, and `cargo test` replays it. The line
//! the bars read, one per target:
//!
//! ```text
//! fuzz: <target> <execs> execs, <crashes> crashes, <coverage> features
//! ```
//!
//! A crash stops that target's run; its input is in
//! `fuzz/artifacts/<target>/` and the command fails once every target ran.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::image::{cargo, ensure_cargo_tool, run, workspace};

/// Every target, as `fuzz/Cargo.toml` names its binaries, and whether to
/// trace comparisons (libFuzzer's value profile of `==` and `<`): the
/// machine-wide targets run 3x faster without, and their inputs are
/// structured already.
const TARGETS: &[(&str, bool)] = &[
    ("op_path", false),
    ("op_backend", false),
    ("xenstore_client", true),
    ("xenbus_keys", false),
    ("cmdline", true),
    ("start_info", true),
    ("enumerate", true),
    ("event_scan", true),
    ("console", true),
];

/// What one campaign did.
#[derive(Debug, Default)]
struct Outcome {
    execs: u64,
    crashes: u32,
    features: u64,
    coverage: u64,
    seconds: u64,
}

/// `cargo xtask fuzz [--time SECONDS] [TARGET...]`.
pub fn command(args: &[String]) -> Result<(), String> {
    let mut seconds = 60_u64;
    let mut chosen = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&s| s > 0)
                    .ok_or("--time takes a number of seconds")?;
            }
            name => {
                let known = TARGETS.iter().find(|(t, _)| *t == name).ok_or_else(|| {
                    let names: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
                    format!("no fuzz target {name} (targets: {})", names.join(", "))
                })?;
                chosen.push(*known);
            }
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    ensure_cargo_tool("fuzz", "cargo-fuzz")?;
    let mut failed = Vec::new();
    for (target, trace_compares) in chosen {
        let outcome = campaign(target, trace_compares, seconds)?;
        println!(
            "fuzz: {target} {} execs, {} crashes, {} features",
            outcome.execs, outcome.crashes, outcome.features
        );
        eprintln!(
            "fuzz: {target}: {}s, coverage {} edges, {} execs/s",
            outcome.seconds,
            outcome.coverage,
            outcome.execs / outcome.seconds.max(1)
        );
        if outcome.crashes > 0 {
            failed.push(target);
        } else {
            minimize(target, trace_compares)?;
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "crashes in {} (inputs in fuzz/artifacts/<target>/)",
            failed.join(", ")
        ))
    }
}

fn fuzz_dir() -> PathBuf {
    workspace().join("fuzz")
}

/// `cargo fuzz <subcommand> -s none [--no-trace-compares] <target>`.
fn cargo_fuzz(subcommand: &str, target: &str, trace_compares: bool) -> Command {
    let mut command = cargo();
    command.args(["fuzz", subcommand, "-s", "none"]);
    if !trace_compares {
        command.arg("--no-trace-compares");
    }
    command.arg(target).current_dir(workspace());
    command
}

/// Runs one campaign and reads libFuzzer's figures from its output.
fn campaign(target: &str, trace_compares: bool, seconds: u64) -> Result<Outcome, String> {
    let corpus = fuzz_dir().join("corpus").join(target);
    let artifacts = fuzz_dir().join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let crashes_before = count_crashes(&artifacts);
    run(&mut cargo_fuzz("build", target, trace_compares))?;
    let started = std::time::Instant::now();
    let output = cargo_fuzz("run", target, trace_compares)
        .arg(&corpus)
        .args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-print_final_stats=1",
            "-timeout=20",
            &format!("-artifact_prefix={}/", artifacts.display()),
        ])
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let mut outcome = parse_log(&log);
    outcome.seconds = started.elapsed().as_secs();
    outcome.crashes = count_crashes(&artifacts).saturating_sub(crashes_before);
    if !output.status.success() && outcome.crashes == 0 {
        eprint!("{log}");
        return Err(format!("cargo fuzz run {target} failed: {}", output.status));
    }
    if outcome.crashes > 0 {
        eprint!("{log}");
    }
    Ok(outcome)
}

/// The executions libFuzzer reports at the end, and the coverage and
/// features of its last status line.
fn parse_log(log: &str) -> Outcome {
    let mut outcome = Outcome::default();
    for line in log.lines() {
        if let Some(value) = line.strip_prefix("stat::number_of_executed_units:") {
            outcome.execs = value.trim().parse().unwrap_or(0);
        }
        let field = |name: &str| {
            line.split_whitespace()
                .skip_while(|word| *word != name)
                .nth(1)
                .and_then(|value| value.parse::<u64>().ok())
        };
        if let Some(features) = field("ft:") {
            outcome.features = features;
        }
        if let Some(coverage) = field("cov:") {
            outcome.coverage = coverage;
        }
    }
    outcome
}

/// Crash, leak, timeout and out-of-memory inputs libFuzzer left in `dir`.
fn count_crashes(dir: &Path) -> u32 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        let count = entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                ["crash-", "leak-", "timeout-", "oom-"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
            })
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    })
}

/// Minimizes the target's corpus in place (`cargo fuzz cmin`).
fn minimize(target: &str, trace_compares: bool) -> Result<(), String> {
    let corpus = fuzz_dir().join("corpus").join(target);
    let status = cargo_fuzz("cmin", target, trace_compares)
        .arg(&corpus)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cargo fuzz cmin {target}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo fuzz cmin {target} failed: {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_come_from_the_final_stats_and_the_last_status_line() {
        let log = "\
INFO: Seed: 1
#2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb
#4096\tpulse  cov: 120 ft: 340 corp: 20/300b lim: 4 exec/s: 2048 rss: 31Mb
#5000\tDONE   cov: 125 ft: 351 corp: 21/301b lim: 4 exec/s: 2500 rss: 31Mb
Done 5000 runs in 2 second(s)
stat::number_of_executed_units: 5000
stat::average_exec_per_sec:     2500
";
        let outcome = parse_log(log);
        assert_eq!(
            (outcome.execs, outcome.coverage, outcome.features),
            (5000, 125, 351)
        );
    }

    #[test]
    fn every_target_is_a_binary_of_the_fuzz_crate() {
        let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
        for (target, _) in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "{target} is not in fuzz/Cargo.toml"
            );
        }
    }
}
