// SPDX-License-Identifier: MIT OR Apache-2.0
//! cargo-fuzz target `op_path` (see `fuzz::op_path`); without libFuzzer, replays the files named.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::op_path::run(data));

#[cfg(not(fuzzing))]
fn main() {
    fuzz::replay_files(fuzz::op_path::run);
}
