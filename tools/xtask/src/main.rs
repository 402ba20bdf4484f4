// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask`: build, run and test pciback-dd.
//!
//! Each command sets up what it needs on a fresh Debian 12 machine (the Rust
//! target, QEMU) or says exactly what is missing.

mod bench;
mod fuzz;
mod image;
mod mutants;
mod run;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

  build [--debug]          build the image; print its path and size
  run                      the demonstration: QEMU + Xen + dom0, the image as the
                           PCI driver domain (Xen's hardware domain) serving a
                           Linux guest's xen-pcifront; the first run downloads
                           and builds Xen (a few minutes)
  run --bare [WORDS...]    the image alone in QEMU (q35, TCG) with the default PCI
                           devices, serial on this terminal (Ctrl-A X quits);
                           WORDS are added to the image's command line
  nested <a|b|c>           one scenario of the nested environment, with its checks
  test                     lint, host tests, QEMU boot tests, nested scenarios
  fuzz [--time SECONDS] [TARGET...]
                           a libFuzzer campaign per target (default: all, 60 s
                           each) on one core; prints `fuzz: <target> <execs>
                           execs, <crashes> crashes, <coverage> features` and
                           minimizes fuzz/corpus/<target>; installs cargo-fuzz
  mutants [--quick] [FILE...]
                           cargo-mutants over pciback's decision modules (default:
                           all; FILE as config/command.rs), one job; --quick skips
                           the two long proptests (2 s of tests per mutant, not
                           45 s); prints
                           `mutants: <file> <caught> caught, <missed> missed,
                           <unviable> unviable, <timeouts> timeouts` and the
                           missed mutants; installs cargo-mutants
  bench [--reuse-nested]   instructions per config read and write on the op path,
                           then a guest's config read through the driver domain
                           against dom0's Linux pciback (nested scenario c)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => image::build_command(&args[1..]),
        Some("run") => run::command(&args[1..]),
        Some("nested") => run::nested(&args[1..]),
        Some("bench") => bench::command(&args[1..]),
        Some("fuzz") => fuzz::command(&args[1..]),
        Some("mutants") => mutants::command(&args[1..]),
        Some("test") => test::command(&args[1..]),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
