// SPDX-License-Identifier: MIT OR Apache-2.0
//! Replays every committed fuzz corpus, and each crash the fuzzer found, as plain tests.
//!
//! No libFuzzer and no cargo-fuzz: each target is an ordinary function.
//! `fuzz/corpus/<target>/` holds the minimized corpus `cargo xtask fuzz`
//! left; one test per target replays it. `fuzz/regressions/<target>/`
//! holds each input that once broke an invariant, replayed by a test named
//! after it.

use std::path::{Path, PathBuf};

/// Runs target `name` over every file of its corpus; fails on an empty one.
fn replay(name: &str) {
    let run = fuzz::TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz/corpus/{name} is empty");
    for file in &files {
        let data =
            std::fs::read(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        run(&data);
    }
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_replay_test() {
            let tested = [$(stringify!($name)),*];
            for (target, _) in fuzz::TARGETS {
                assert!(tested.contains(target), "no replay test for {target}");
            }
        }
    };
}

corpus_tests!(
    op_path,
    op_backend,
    xenstore_client,
    xenbus_keys,
    cmdline,
    start_info,
    enumerate,
    event_scan,
    console,
);

/// Replays `regressions/<target>/<name>`.
fn regression(target: &str, name: &str) {
    let run = fuzz::TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target)
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    run(&data);
}

/// Campaign crash: a transaction id xenstored writes as "01" is 1; the
/// target compared the text instead of the number.
#[test]
fn xenstore_client_transaction_id_with_a_leading_zero() {
    regression("xenstore_client", "transaction-id-with-a-leading-zero");
}

/// Campaign crash: a memory map whose only entry is empty is accepted and
/// iterates as nothing (zero-sized entries are skipped, as documented); the
/// target expected as many ranges as entries.
#[test]
fn start_info_a_memory_map_of_one_empty_entry() {
    regression("start_info", "a-memory-map-of-one-empty-entry");
}
