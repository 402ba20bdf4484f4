// SPDX-License-Identifier: MIT OR Apache-2.0
//! cargo-fuzz target `xenbus_keys` (see `fuzz::xenbus_keys`); without libFuzzer, replays the files named.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::xenbus_keys::run(data));

#[cfg(not(fuzzing))]
fn main() {
    fuzz::replay_files(fuzz::xenbus_keys::run);
}
