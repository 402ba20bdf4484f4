// SPDX-License-Identifier: MIT OR Apache-2.0
//! cargo-fuzz target `event_scan` (see `fuzz::event_scan`); without libFuzzer, replays the files named.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::event_scan::run(data));

#[cfg(not(fuzzing))]
fn main() {
    fuzz::replay_files(fuzz::event_scan::run);
}
