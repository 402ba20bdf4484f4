// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz targets over every input a guest, the toolstack or the loader controls.
//!
//! Each target is a plain function from bytes to a verdict: it drives the
//! real code (the backend over `xen::sim` and `pci::sim`, the XenStore
//! client, the parsers) and panics when an invariant breaks. Three callers
//! share them:
//!
//! - the cargo-fuzz binaries in `fuzz_targets/` (libFuzzer, built by
//!   `cargo fuzz run <target> -s none`, or `cargo xtask fuzz`);
//! - the same binaries built without libFuzzer, which replay the files
//!   named on their command line (`cargo run -p fuzz --bin <target> FILE`);
//! - `tests/replay.rs`, which replays every committed corpus
//!   (`fuzz/corpus/<target>/*`) and the regression inputs in plain
//!   `cargo test`.
//!
//! The inputs are read through [`arbitrary::Unstructured`]: the fuzzer's
//! bytes choose steps (an op, a XenStore write, a reply), so libFuzzer
//! explores sequences instead of flat strings.

extern crate alloc;

pub mod cmdline;
pub mod console;
pub mod enumerate;
pub mod event_scan;
pub mod op_path;
pub mod start_info;
pub mod xenbus_keys;
pub mod xenstore_client;

// The kernel's pure parsers, compiled from its own files: the `kernel`
// crate builds only for the bare-metal target.
#[path = "../../kernel/src/cmdline.rs"]
mod kernel_cmdline;
#[path = "../../kernel/src/ecam.rs"]
mod kernel_ecam;
#[path = "../../kernel/src/line.rs"]
mod kernel_line;
// `kernel_cmdline` names its sibling `crate::ecam`, as in the kernel.
use kernel_ecam as ecam;

/// A target: bytes in, a panic if an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target: its name (the binary's, and the corpus directory's) and
/// its function.
pub const TARGETS: &[(&str, Target)] = &[
    ("op_path", op_path::run),
    ("op_backend", op_path::run_backend),
    ("xenstore_client", xenstore_client::run),
    ("xenbus_keys", xenbus_keys::run),
    ("cmdline", cmdline::run),
    ("start_info", start_info::run),
    ("enumerate", enumerate::run),
    ("event_scan", event_scan::run),
    ("console", console::run),
];

/// What a target binary does when built without libFuzzer: runs `target`
/// over each file named on the command line, saying which.
pub fn replay_files(target: Target) {
    let mut replayed = 0_usize;
    for path in std::env::args_os().skip(1) {
        match std::fs::read(&path) {
            Ok(data) => {
                eprintln!("replaying {}", path.to_string_lossy());
                target(&data);
                replayed = replayed.saturating_add(1);
            }
            Err(error) => {
                eprintln!("{}: {error}", path.to_string_lossy());
                std::process::exit(2);
            }
        }
    }
    eprintln!("{replayed} inputs replayed, no invariant broken");
}
