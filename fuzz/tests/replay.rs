// SPDX-License-Identifier: MIT OR Apache-2.0
//! Replays every committed fuzz corpus, and each crash the fuzzer found, as plain tests.
//!
//! No libFuzzer and no cargo-fuzz: each target is an ordinary function.
//! `fuzz/corpus/<target>/` holds the minimized corpus `cargo xtask fuzz`
//! left.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Runs `target` over every file in `dir`; returns how many.
fn replay_dir(run: fn(&[u8]), dir: &Path) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    for file in &files {
        let data =
            std::fs::read(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        run(&data);
    }
    files.len()
}

#[test]
fn every_target_has_a_committed_corpus_that_replays_clean() {
    for &(name, run) in fuzz::TARGETS {
        let replayed = replay_dir(run, &corpus(name));
        assert!(replayed > 0, "fuzz/corpus/{name} is empty");
    }
}
