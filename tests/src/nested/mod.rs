// SPDX-License-Identifier: MIT OR Apache-2.0
//! The nested QEMU + Xen environment: Xen built from Debian's source with our
//! patches, a Debian dom0 and guests, and the scenarios run in it.
//!
//! [`prepare()`] installs the host packages it needs and downloads and builds
//! (once, then from the cache) everything the boots need, from the scripts
//! and sources in `tools/nested/`. [`run_scenario`] boots QEMU with Xen and
//! dom0, lets dom0 run one scenario script, captures every domain's console
//! into a log directory and returns a [`ScenarioOutcome`] for the tests.
//! `tools/nested/README.md` describes the environment and the scenarios.

mod cache;
mod console;
mod host;
mod prepare;
mod progress;
mod qemu;

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

pub use console::{Fact, Mark};

/// The MAC address of the nested machine's NIC: what its receive address
/// registers hold after every reset, whoever drove it before.
pub const NIC_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0xdd, 0x00, 0x04];
pub use prepare::{Prepared, prepare};
pub use progress::{StepTime, format_times};

/// A scenario of the nested environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// `a`: the driver domain, created by dom0 from `tools/driver-domain.cfg`,
    /// becomes Xen's hardware domain and stays up while dom0 creates and
    /// destroys another guest, which is reaped. dom0 then drives its
    /// diagnostics (a XenStore command, a page it grants, an event-channel
    /// ping-pong, XenStore and hypercall figures), sends the logs, and stops
    /// it with `xl shutdown`, which halts the machine.
    DriverDomain,
    /// `b`: the baseline. Xen without `hardware_dom=`; dom0's Linux
    /// xen-pciback gives the devices to a Linux PV guest, which records
    /// `lspci -nn -vvv -xxxx` and a config-read timing loop.
    Baseline,
    /// `c`: in one boot, the baseline first (dom0's Linux xen-pciback
    /// serves the guest), then the driver domain becomes the hardware
    /// domain and serves the same guest's own xen-pcifront, which records
    /// the same; dom0 hot-unplugs and hot-plugs a device, destroys the
    /// guest, and checks that the devices went back to quarantine.
    Serving,
}

impl Scenario {
    /// Every scenario, in order.
    pub const ALL: [Scenario; 3] = [
        Scenario::DriverDomain,
        Scenario::Baseline,
        Scenario::Serving,
    ];

    /// The scenario's short name (`a`, `b`, `c`), as `cargo xtask nested`
    /// takes it.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::DriverDomain => "a",
            Scenario::Baseline => "b",
            Scenario::Serving => "c",
        }
    }

    /// Xen's command line, after the part every scenario shares.
    fn xen_args(self) -> &'static str {
        match self {
            // dom0-iommu=none: libxl cannot give a PVH domain an IOMMU
            // context, and Xen refuses a PVH hardware domain without one
            // unless told to skip the check. dom0_ioports_disable=e9: the
            // hardware domain inherits dom0's I/O ports, and its port 0xE9
            // debug output should reach Xen's console, not QEMU.
            Scenario::DriverDomain => {
                "hardware_dom=1 xsm=flask flask=enforcing dom0-iommu=none dom0_ioports_disable=e9"
            }
            // The same, but the baseline guest comes first and takes domid
            // 1, so the driver domain is domain 2.
            Scenario::Serving => {
                "hardware_dom=2 xsm=flask flask=enforcing dom0-iommu=none dom0_ioports_disable=e9"
            }
            // Plain Xen semantics: dom0 is the hardware domain and may do
            // everything (what Debian's Xen, built without XSM, does).
            Scenario::Baseline => "xsm=dummy",
        }
    }

    /// Whether Xen loads the FLASK policy.
    fn uses_flask(self) -> bool {
        self != Scenario::Baseline
    }

    /// Whether dom0 creates the driver domain (which needs the image).
    fn boots_image(self) -> bool {
        self != Scenario::Baseline
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = Error;

    fn from_str(name: &str) -> Result<Scenario, Error> {
        Scenario::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::new(format!(
                    "no nested scenario '{name}' (there are a, b and c)"
                ))
            })
    }
}

/// How to run a scenario.
#[derive(Debug, Clone)]
pub struct Options {
    /// The pciback-dd image (scenario a boots it as the driver domain).
    pub image: Option<PathBuf>,
    /// Where to put the logs (emptied first); by default
    /// `target/system-tests/nested-<scenario>`.
    pub log_dir: Option<PathBuf>,
    /// Kill QEMU if the scenario has not ended by then.
    pub timeout: Duration,
    /// Copy the serial console (Xen, dom0) to stderr as it comes.
    pub echo: bool,
    /// Run the benchmark's steps too (scenario c, `cargo xtask bench`):
    /// dom0 is booted with `nested.bench=1`.
    pub bench: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            image: None,
            log_dir: None,
            timeout: Duration::from_secs(10 * 60),
            echo: false,
            bench: false,
        }
    }
}

/// What a scenario run produced.
#[derive(Debug)]
pub struct ScenarioOutcome {
    /// The scenario.
    pub scenario: Scenario,
    /// Where every console and file of the run was written.
    pub log_dir: PathBuf,
    /// Why the run did not finish, if it did not: a time-out, a Xen panic, a
    /// crashed dom0, the hardware domain stopping before dom0 was done
    /// (after, it is how scenario a ends), QEMU exiting early.
    pub failure: Option<String>,
    /// The exit status of dom0's scenario script, if it got that far.
    pub status: Option<i32>,
    /// Wall time of each preparation step and of the boot.
    pub times: Vec<StepTime>,
    /// The steps dom0 marked, with when they began.
    pub marks: Vec<Mark>,
    /// Every `NESTED-RESULT` line, from dom0 and from the guests' consoles.
    pub facts: Vec<Fact>,
    /// Texts of the run by name: `serial` (everything), `xen`, `dom0`,
    /// `xen-d<N>` (domain N's port 0xE9 output), `console-<guest>` (each
    /// guest's console), and the files the scripts sent (`<guest>-lspci`,
    /// `xl-list.txt`, ...). Each is also `<log_dir>/<name>[.log]`.
    pub files: std::collections::BTreeMap<String, String>,
    /// Signs that console output was lost on the way.
    pub problems: Vec<String>,
}

impl ScenarioOutcome {
    /// dom0 ran the whole scenario, its script succeeded, and nothing was lost.
    pub fn completed(&self) -> bool {
        self.failure.is_none() && self.status == Some(0) && self.problems.is_empty()
    }

    /// The first fact `key` that `source` reported.
    pub fn fact(&self, source: &str, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|f| f.source == source && f.key == key)
            .map(|f| f.value.as_str())
    }

    /// Every fact `key` that `source` reported, in order.
    pub fn facts_named<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.facts
            .iter()
            .filter(move |f| f.source == source && f.key == key)
            .map(|f| f.value.as_str())
    }

    /// The text named `name` ("" if the run produced none).
    pub fn file(&self, name: &str) -> &str {
        self.files.get(name).map_or("", String::as_str)
    }

    /// A report for people: how it ended, where the logs are, the timings,
    /// and for a failed run the console's last lines.
    pub fn summary(&self) -> String {
        let verdict = match (&self.failure, self.status) {
            (Some(failure), _) => format!("did not finish: {failure}"),
            (None, Some(0)) if self.problems.is_empty() => "completed".to_owned(),
            (None, Some(0)) => format!("completed, but output was lost: {:?}", self.problems),
            (None, status) => format!("dom0's scenario script failed (status {status:?})"),
        };
        let mut out = format!(
            "nested scenario {}: {verdict}\n  logs: {}\n",
            self.scenario,
            self.log_dir.display()
        );
        out.push_str(&format_times(&self.times));
        for mark in &self.marks {
            out.push_str(&format!("    {:>7.1} s  {}\n", mark.at, mark.label));
        }
        if !self.completed() {
            // What the scripts said stopped them (`failed ...`).
            for fact in self.facts.iter().filter(|f| f.key == "failed") {
                out.push_str(&format!("  {} failed: {}\n", fact.source, fact.value));
            }
            out.push_str("  the console's last lines:\n");
            let serial: Vec<_> = self.file("serial").lines().collect();
            for line in &serial[serial.len().saturating_sub(SUMMARY_TAIL)..] {
                out.push_str(&format!("    | {line}\n"));
            }
        }
        out
    }
}

/// How many console lines the summary of a failed run shows.
const SUMMARY_TAIL: usize = 25;

/// An error of the nested environment, with what was being done.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Adds what was being done to an I/O error.
trait ResultExt<T> {
    fn context(self, what: impl AsRef<Path>) -> Result<T, Error>;
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T> ResultExt<T> for std::io::Result<T> {
    fn context(self, what: impl AsRef<Path>) -> Result<T, Error> {
        self.map_err(|e| Error(format!("{}: {e}", what.as_ref().display())))
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

/// `tools/nested/` of this checkout: the scripts, patches and sources.
fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/nested")
}

/// `tools/driver-domain.cfg`, the administrator's configuration of the
/// driver domain, which scenario a uses as it is.
pub fn driver_domain_cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/driver-domain.cfg")
}

/// Prepares the environment (see [`prepare()`]), boots it, runs `scenario`
/// in dom0 and collects what happened. Progress and timings go to stderr.
/// An `Err` means the run could not be made at all; a run that went wrong
/// returns an outcome whose [`ScenarioOutcome::completed`] is false.
pub fn run_scenario(scenario: Scenario, options: &Options) -> Result<ScenarioOutcome, Error> {
    let prepared = prepare()?;
    let log_dir = match &options.log_dir {
        Some(dir) => dir.clone(),
        None => crate::log_dir(&format!("nested-{scenario}")),
    };
    // Only this run's files: a stale console must not pass for a new one.
    if log_dir.exists() {
        fs::remove_dir_all(&log_dir).context(&log_dir)?;
    }
    fs::create_dir_all(&log_dir).context(&log_dir)?;
    let initrd = log_dir.join("dom0-initrd");
    dom0_initrd(&prepared.dom0_base, scenario, options, &initrd, &log_dir)?;

    let machine = qemu::Machine {
        xen: prepared.xen.clone(),
        xen_args: format!(
            "console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all noreboot \
             dom0_mem=1024M,max:1024M dom0_max_vcpus=1 serial_tx_buffer=1M {}",
            scenario.xen_args()
        ),
        dom0_kernel: prepared.vmlinuz.clone(),
        dom0_args: format!(
            "console=hvc0 earlyprintk=xen nested.scenario={scenario}{}",
            if options.bench { " nested.bench=1" } else { "" }
        ),
        dom0_initrd: initrd.clone(),
        policy: scenario.uses_flask().then(|| prepared.policy.clone()),
    };
    let command = machine.command();
    fs::write(log_dir.join("qemu.cmd"), format!("{command:?}\n")).context(&log_dir)?;

    progress::note(&format!(
        "scenario {scenario}: booting (limit {} s, logs in {})",
        options.timeout.as_secs(),
        log_dir.display()
    ));
    let (lines, end) = qemu::boot(
        command,
        &log_dir.join("serial.log"),
        &log_dir.join("qemu-stderr.log"),
        options.timeout,
        |line| {
            if options.echo {
                eprintln!("{}", line.text);
            } else if let Some(mark) = line.text.split("NESTED-MARK ").nth(1) {
                progress::note(&format!("scenario {scenario}: [{:6.1} s] {mark}", line.at));
            }
        },
    )?;
    fs::remove_file(&initrd).context(&initrd)?;
    let wall = Duration::from_secs_f64(lines.last().map_or(0.0, |l| l.at));

    let demuxed = console::demux(&lines);
    for (name, text) in &demuxed.files {
        let file = if name.contains('.') {
            name.clone()
        } else {
            format!("{name}.log")
        };
        fs::write(log_dir.join(&file), text).context(log_dir.join(&file))?;
    }
    let mut files = demuxed.files;
    files.insert(
        "serial".to_owned(),
        lines.iter().flat_map(|l| [l.text.as_str(), "\n"]).collect(),
    );
    let mut times = prepared.times;
    times.push(StepTime::new(&format!("boot {scenario}"), wall));
    let outcome = ScenarioOutcome {
        scenario,
        log_dir,
        failure: match end {
            qemu::End::Done => None,
            qemu::End::Fatal(line) => Some(line),
            qemu::End::TimedOut(limit) => Some(format!("timed out after {} s", limit.as_secs())),
            qemu::End::Exited(why) => Some(why),
        },
        status: demuxed.status,
        times,
        marks: demuxed.marks,
        facts: demuxed.facts,
        files,
        problems: demuxed.problems,
    };
    fs::write(outcome.log_dir.join("summary.txt"), outcome.summary()).context(&outcome.log_dir)?;
    eprint!("{}", outcome.summary());
    Ok(outcome)
}

/// Writes dom0's initramfs for one run: the cached base, then a second cpio
/// archive (Linux unpacks one after the other) with dom0's `/init`, the
/// scenario scripts, the guest configurations, `driver-domain.cfg` and the
/// image, so none of these is ever part of a cached build.
fn dom0_initrd(
    base: &Path,
    scenario: Scenario,
    options: &Options,
    initrd: &Path,
    log_dir: &Path,
) -> Result<(), Error> {
    let tools = tools_dir();
    let root = log_dir.join("overlay");
    if root.exists() {
        fs::remove_dir_all(&root).context(&root)?;
    }
    let mut files: Vec<(PathBuf, String, u32)> = vec![
        (tools.join("dom0/init.sh"), "init".into(), 0o755),
        (tools.join("lib.sh"), "lib/nested/lib.sh".into(), 0o644),
        (
            driver_domain_cfg(),
            "nested/driver-domain.cfg".into(),
            0o644,
        ),
    ];
    for (dir, mode) in [("scenarios", 0o755), ("guests", 0o644)] {
        for entry in fs::read_dir(tools.join(dir)).context(tools.join(dir))? {
            let path = entry.context(tools.join(dir))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(name) = name {
                files.push((path, format!("nested/{dir}/{name}"), mode));
            }
        }
    }
    // The administrator's tool that points a guest's frontend at the
    // driver domain.
    files.push((
        tools.join("../pciback-dd-attach"),
        "bin/pciback-dd-attach".into(),
        0o755,
    ));
    match &options.image {
        Some(image) => files.push((image.clone(), "nested/pciback-dd".into(), 0o644)),
        None if scenario.boots_image() => {
            return Err(Error::new(format!(
                "scenario {scenario} boots the pciback-dd image: give its path (Options::image)"
            )));
        }
        None => {}
    }
    for (from, to, mode) in &files {
        let dest = root.join(to);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).context(parent)?;
        }
        fs::copy(from, &dest).context(from)?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(*mode)).context(&dest)?;
    }

    fs::copy(base, initrd).context(base)?;
    let append = fs::File::options()
        .append(true)
        .open(initrd)
        .context(initrd)?;
    // gzip, not a bare cpio: an uncompressed archive would have to start at
    // a 4-byte boundary of the whole initramfs.
    let status = Command::new("sh")
        .args(["-c", "find . | cpio -o -H newc --quiet | gzip -1"])
        .current_dir(&root)
        .stdout(append)
        .status()
        .context("packing dom0's per-run initramfs (sh, cpio, gzip)")?;
    if !status.success() {
        return Err(Error::new(format!(
            "packing {} failed: {status}",
            root.display()
        )));
    }
    fs::remove_dir_all(&root).context(&root)
}
