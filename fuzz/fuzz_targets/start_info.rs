// SPDX-License-Identifier: MIT OR Apache-2.0
//! cargo-fuzz target `start_info` (see `fuzz::start_info`); without libFuzzer, replays the files named.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::start_info::run(data));

#[cfg(not(fuzzing))]
fn main() {
    fuzz::replay_files(fuzz::start_info::run);
}
