// SPDX-License-Identifier: MIT OR Apache-2.0
//! cargo-fuzz target `xenstore_client` (see `fuzz::xenstore_client`); without libFuzzer, replays the files named.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::xenstore_client::run(data));

#[cfg(not(fuzzing))]
fn main() {
    fuzz::replay_files(fuzz::xenstore_client::run);
}
