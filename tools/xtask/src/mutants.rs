// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask mutants [FILE...]`: how many small bugs the host suite catches.
//!
//! cargo-mutants (crates.io) changes one operator, condition or function
//! body of `pciback` at a time and runs `cargo test -p pciback` against
//! each change: a change the suite still passes is *missed* (a test is
//! missing or too weak), one it fails is *caught*, one that does not build
//! is *unviable*. One job, so it stays off the other core. FILEs are paths
//! under `drivers/pciback/src/` (`config/command.rs`); the default is every
//! module that makes a decision. The line per file, then the total:
//!
//! ```text
//! mutants: <file> <caught> caught, <missed> missed, <unviable> unviable, <timeouts> timeouts
//! ```
//!
//! `--quick` skips the two long proptests (ops' arbitrary ops, xenbus's
//! any value in any key): about 2 s of tests per mutant instead of 45 s, and
//! a mutant only those catch counts as missed.
//!
//! The missed mutants are listed, and cargo-mutants keeps its whole report
//! in `mutants.out/` (`missed.txt`, `outcomes.json`, a log per mutant).

use std::collections::BTreeMap;

use crate::image::{cargo, ensure_cargo_tool, run, workspace};

/// Where `pciback`'s sources live, from the workspace root.
const SOURCES: &str = "drivers/pciback/src";

/// The modules that decide something: everything but the simulator, the
/// error and state types and the glue.
const DECISION_MODULES: &[&str] = &[
    "config/command.rs",
    "enable.rs",
    "config/mod.rs",
    "xenbus/parse.rs",
    "config/bar.rs",
    "config/capability.rs",
    "config/field.rs",
    "config/header.rs",
    "config/quirks.rs",
    "config/snapshot.rs",
    "isolation.rs",
    "interrupts.rs",
    "reset.rs",
    "ownership.rs",
    "power.rs",
    "saved.rs",
    "xenbus/access.rs",
    "xenbus/frontend.rs",
    "xenbus/mod.rs",
    "xenbus/pirqs.rs",
    "xenbus/server.rs",
    "xenbus/state.rs",
    "xenbus/throttle.rs",
];

/// What cargo-mutants made of one file's mutants.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    caught: u32,
    missed: u32,
    unviable: u32,
    timeouts: u32,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.caught += other.caught;
        self.missed += other.missed;
        self.unviable += other.unviable;
        self.timeouts += other.timeouts;
    }
}

/// The proptests `--quick` skips.
const LONG_TESTS: &[&str] = &[
    "arbitrary_ops_never_panic",
    "any_value_in_any_key_fails_that_frontend_alone",
];

/// `cargo xtask mutants [--quick] [FILE...]`.
pub fn command(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|arg| arg == "--quick");
    let args: Vec<&String> = args.iter().filter(|arg| *arg != "--quick").collect();
    let files: Vec<String> = if args.is_empty() {
        DECISION_MODULES.iter().map(|f| (*f).to_owned()).collect()
    } else {
        args.iter()
            .map(|file| {
                let file = file.as_str();
                let file = file.strip_prefix(&format!("{SOURCES}/")).unwrap_or(file);
                if workspace().join(SOURCES).join(file).is_file() {
                    Ok(file.to_owned())
                } else {
                    Err(format!("no file {SOURCES}/{file}"))
                }
            })
            .collect::<Result<_, _>>()?
    };
    ensure_cargo_tool("mutants", "cargo-mutants")?;
    let mut mutants = cargo();
    mutants.args(["mutants", "--package", "pciback", "--jobs", "1"]);
    for file in &files {
        mutants.args(["--file", &format!("{SOURCES}/{file}")]);
    }
    if quick {
        mutants.args(["--", "--"]);
        for test in LONG_TESTS {
            mutants.args(["--skip", test]);
        }
    }
    // cargo-mutants fails when a mutant is missed: the summary says which.
    let _ = run(&mut mutants);
    let path = workspace().join("mutants.out/outcomes.json");
    let json = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (tallies, missed) = tally(&json)?;
    let mut total = Tally::default();
    for (file, tally) in &tallies {
        println!("{}", line(file, *tally));
        total.add(*tally);
    }
    println!("{}", line("total", total));
    for mutant in &missed {
        eprintln!("missed: {mutant}");
    }
    let viable = total.caught + total.missed + total.timeouts;
    if viable > 0 {
        eprintln!(
            "mutants: {:.1}% of {viable} viable mutants caught",
            f64::from(total.caught + total.timeouts) * 100.0 / f64::from(viable)
        );
    }
    Ok(())
}

fn line(file: &str, tally: Tally) -> String {
    format!(
        "mutants: {file} {} caught, {} missed, {} unviable, {} timeouts",
        tally.caught, tally.missed, tally.unviable, tally.timeouts
    )
}

/// Per file (relative to [`SOURCES`]), what became of its mutants, and
/// the missed ones as cargo-mutants names them, from `outcomes.json`.
fn tally(json: &str) -> Result<(BTreeMap<String, Tally>, Vec<String>), String> {
    let outcomes: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("outcomes.json: {e}"))?;
    let list = outcomes["outcomes"]
        .as_array()
        .ok_or("outcomes.json: no outcomes")?;
    let mut tallies = BTreeMap::new();
    let mut missed = Vec::new();
    for outcome in list {
        let Some(mutant) = outcome["scenario"].get("Mutant") else {
            continue; // the baseline
        };
        let file = mutant["file"].as_str().unwrap_or("?");
        let file = file.strip_prefix(&format!("{SOURCES}/")).unwrap_or(file);
        let tally: &mut Tally = tallies.entry(file.to_owned()).or_default();
        match outcome["summary"].as_str() {
            Some("CaughtMutant") => tally.caught += 1,
            Some("MissedMutant") => {
                tally.missed += 1;
                missed.push(describe(mutant));
            }
            Some("Unviable") => tally.unviable += 1,
            Some("Timeout") => tally.timeouts += 1,
            other => return Err(format!("outcomes.json: unknown summary {other:?}")),
        }
    }
    Ok((tallies, missed))
}

/// The mutant as cargo-mutants names it (`file:line:column: replace ...`).
fn describe(mutant: &serde_json::Value) -> String {
    mutant["name"].as_str().map_or_else(
        || {
            format!(
                "{} (unnamed mutant)",
                mutant["file"].as_str().unwrap_or("?")
            )
        },
        str::to_owned,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_per_file_without_the_baseline() {
        let json = r#"{"outcomes": [
            {"scenario": "Baseline", "summary": "Success"},
            {"scenario": {"Mutant": {"file": "drivers/pciback/src/config/command.rs",
              "name": "drivers/pciback/src/config/command.rs:64:23: replace && with || in write",
              "span": {"start": {"line": 64, "column": 8}}}}, "summary": "MissedMutant"},
            {"scenario": {"Mutant": {"file": "drivers/pciback/src/config/command.rs",
              "span": {"start": {"line": 70, "column": 8}}}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"file": "drivers/pciback/src/reset.rs",
              "span": {"start": {"line": 9, "column": 8}}}}, "summary": "Unviable"},
            {"scenario": {"Mutant": {"file": "drivers/pciback/src/reset.rs",
              "span": {"start": {"line": 10, "column": 8}}}}, "summary": "Timeout"}
        ]}"#;
        let (tallies, missed) = tally(json).unwrap();
        assert_eq!(
            tallies["config/command.rs"],
            Tally {
                caught: 1,
                missed: 1,
                unviable: 0,
                timeouts: 0
            }
        );
        assert_eq!(
            tallies["reset.rs"],
            Tally {
                caught: 0,
                missed: 0,
                unviable: 1,
                timeouts: 1
            }
        );
        assert_eq!(
            missed,
            ["drivers/pciback/src/config/command.rs:64:23: replace && with || in write"]
        );
    }

    #[test]
    fn the_tests_quick_skips_exist() {
        let tests = workspace().join("drivers/pciback/tests");
        for test in LONG_TESTS {
            let found = std::fs::read_dir(&tests).unwrap().any(|entry| {
                std::fs::read_to_string(entry.unwrap().path())
                    .is_ok_and(|text| text.contains(&format!("fn {test}(")))
            });
            assert!(found, "no test {test} in {}", tests.display());
        }
    }

    #[test]
    fn every_default_module_exists() {
        for file in DECISION_MODULES {
            assert!(
                workspace().join(SOURCES).join(file).is_file(),
                "{file} is not in {SOURCES}"
            );
        }
    }
}
