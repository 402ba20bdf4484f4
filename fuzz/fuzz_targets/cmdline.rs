// SPDX-License-Identifier: MIT OR Apache-2.0
//! cargo-fuzz target `cmdline` (see `fuzz::cmdline`); without libFuzzer, replays the files named.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::cmdline::run(data));

#[cfg(not(fuzzing))]
fn main() {
    fuzz::replay_files(fuzz::cmdline::run);
}
