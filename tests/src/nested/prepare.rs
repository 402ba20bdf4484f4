// SPDX-License-Identifier: MIT OR Apache-2.0
//! Preparing the nested environment: host packages, then the cached steps
//! (download, Xen, policy, initramfs), each a script in `tools/nested/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::cache::{Cache, Key};
use super::progress::{self, StepTime, run_logged};
use super::{Error, tools_dir};

/// What the boots need, all inside the cache.
#[derive(Debug)]
pub struct Prepared {
    /// The hypervisor (multiboot ELF).
    pub xen: PathBuf,
    /// The FLASK policy (Xen's with `pciback_dd.te`).
    pub policy: PathBuf,
    /// The Linux kernel, for dom0 and the guests.
    pub vmlinuz: PathBuf,
    /// dom0's initramfs without the per-run files.
    pub dom0_base: PathBuf,
    /// How long each step took.
    pub times: Vec<StepTime>,
}

/// A cached step: its name, the script it runs (relative to `tools/nested`),
/// and the other files and directories its output depends on.
struct Step {
    name: &'static str,
    script: &'static str,
    inputs: &'static [&'static str],
    /// Kill the script after this long.
    limit: Duration,
}

const DOWNLOAD: Step = Step {
    name: "download",
    script: "download.sh",
    inputs: &[],
    limit: Duration::from_secs(20 * 60),
};

const XEN: Step = Step {
    name: "xen",
    script: "build-xen.sh",
    inputs: &["xen"],
    limit: Duration::from_secs(40 * 60),
};

const POLICY: Step = Step {
    name: "policy",
    script: "flask/build-policy.sh",
    inputs: &["flask/pciback_dd.te"],
    limit: Duration::from_secs(5 * 60),
};

const INITRAMFS: Step = Step {
    name: "initramfs",
    script: "build-initramfs.sh",
    inputs: &[
        "lib.sh",
        "domU/init.sh",
        "domU/cfgread.c",
        "domU/evtping.c",
        "domU/samples.h",
        "domU/bar.c",
        "dom0/dom0-helper.c",
    ],
    limit: Duration::from_secs(10 * 60),
};

/// Installs what is missing on the host, then downloads and builds whatever
/// the cache does not hold yet, printing progress and the time of each step.
pub fn prepare() -> Result<Prepared, Error> {
    let cache = Cache::open()?;
    let mut times = Vec::new();

    let start = Instant::now();
    let host = super::host::ensure()?;
    times.push(StepTime::new("host packages", start.elapsed()));

    let downloads = run_step(&cache, &DOWNLOAD, &[], "", &mut times)?;
    // The builds also depend on the host's tools and the files copied from
    // its packages.
    let xen = run_step(&cache, &XEN, &[&downloads], &host, &mut times)?.join("xen");
    let policy = run_step(&cache, &POLICY, &[&downloads], &host, &mut times)?.join("xenpolicy");
    let initramfs = run_step(&cache, &INITRAMFS, &[&downloads], &host, &mut times)?;

    Ok(Prepared {
        xen,
        policy,
        vmlinuz: initramfs.join("vmlinuz"),
        dom0_base: initramfs.join("dom0-base.cpio.gz"),
        times,
    })
}

/// Runs `step` through the cache: its key covers its script, its inputs,
/// `host` (installed package versions), and the outputs it is given as
/// arguments (whose paths end in their own keys).
fn run_step(
    cache: &Cache,
    step: &Step,
    args: &[&Path],
    host: &str,
    times: &mut Vec<StepTime>,
) -> Result<PathBuf, Error> {
    let tools = tools_dir();
    let mut key = Key::new(step.name);
    key.add_path(&tools, step.script)?;
    for input in step.inputs {
        key.add_path(&tools, input)?;
    }
    for arg in args {
        key.add("upstream", arg.as_os_str().as_encoded_bytes());
    }
    key.add("host", host.as_bytes());
    cache.step(step.name, &key.hex(), times, |out| {
        let mut command = Command::new(tools.join(step.script));
        command.args(args).arg(out);
        let log = out.join("build.log");
        progress::note(&format!("{}: log in {}", step.name, log.display()));
        run_logged(command, &log, step.name, step.limit)
    })
}
