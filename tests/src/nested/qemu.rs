// SPDX-License-Identifier: MIT OR Apache-2.0
//! Booting the nested machine: QEMU q35 (TCG) with an emulated IOMMU and
//! the PCI devices, Xen as the multiboot kernel, dom0's kernel and
//! initramfs (and the FLASK policy) as its modules, and Xen's serial console
//! (which carries dom0's console too) read line by line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{Error, ResultExt, progress};

/// The PCI devices of the nested machine, at fixed slots on bus 0 (so that
/// `tools/driver-domain.cfg` can name them): QEMU's `edu` test device, an
/// Intel 82574L NIC on a network with nothing else on it (with the MAC
/// address [`super::NIC_MAC`]), and an NVMe controller without namespaces.
const DEVICES: &[&str] = &[
    "edu,addr=03.0",
    "e1000e,addr=04.0,netdev=isolated,mac=52:54:00:dd:00:04",
    "nvme,addr=05.0,serial=pciback-dd",
];

/// What to boot.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) xen: PathBuf,
    pub(crate) xen_args: String,
    pub(crate) dom0_kernel: PathBuf,
    pub(crate) dom0_args: String,
    pub(crate) dom0_initrd: PathBuf,
    /// The FLASK policy, loaded by Xen as a third multiboot module.
    pub(crate) policy: Option<PathBuf>,
}

impl Machine {
    /// The QEMU command line.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new("qemu-system-x86_64");
        command.args([
            "-machine",
            "q35,accel=tcg",
            // QEMU 7.2's TCG pops IRET frames with supervisor accesses, so a
            // PV dom0 faults on SMAP at its first ring-3 IRET: hide SMAP.
            "-cpu",
            "max,-smap",
            "-smp",
            "2",
            "-m",
            "3G",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
            // Xen needs an IOMMU for any passthrough. QEMU's VT-d without
            // interrupt remapping, which its TCG cannot do for Xen.
            "-device",
            "intel-iommu,intremap=off",
            // A hub with one port: the NIC's network goes nowhere.
            "-netdev",
            "hubport,id=isolated,hubid=0",
        ]);
        for device in DEVICES {
            command.args(["-device", device]);
        }
        // Multiboot modules are "file args" separated by commas; a comma in
        // the arguments is written twice.
        let mut modules = format!(
            "{} {},{}",
            self.dom0_kernel.display(),
            self.dom0_args.replace(',', ",,"),
            self.dom0_initrd.display()
        );
        if let Some(policy) = &self.policy {
            modules.push(',');
            modules.push_str(&policy.display().to_string());
        }
        command
            .arg("-kernel")
            .arg(&self.xen)
            .args(["-append", &self.xen_args])
            .args(["-initrd", &modules]);
        command
    }
}

/// One line of the serial console.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Seconds since QEMU started.
    pub(crate) at: f64,
    /// The text, without the line ending.
    pub(crate) text: String,
}

/// How a boot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// dom0 reported the end of the scenario (the machine then powers off,
    /// or halts when dom0 stops the hardware domain).
    Done,
    /// A line showed the machine cannot go on (Xen panic, dom0 crash, the
    /// hardware domain stopping).
    Fatal(String),
    /// The time limit passed.
    TimedOut(Duration),
    /// QEMU exited before dom0 reported the end.
    Exited(String),
}

/// Lines that mean the run cannot make progress any more.
const FATAL: &[&str] = &[
    "Panic on CPU",
    "Kernel panic - not syncing",
    "Hardware Dom",
    "Reboot in five seconds",
];

/// The line dom0 prints when it is done (the rest says how it went).
pub(crate) const DONE: &str = "NESTED-DONE ";

/// Whether `text` is what Xen says when the hardware domain powers off
/// (`(XEN) Hardware Dom<N> halted: halting machine`): Xen then halts every
/// CPU and QEMU stays up with nothing more to say. After [`DONE`] that is how
/// a scenario whose driver domain is the hardware domain ends (dom0 sends
/// its files, then stops the driver domain with `xl shutdown`); before, it
/// is one of the [`FATAL`] lines.
fn hardware_domain_halted(text: &str) -> bool {
    text.starts_with("(XEN) Hardware Dom") && text.ends_with(" halted: halting machine")
}

/// How long to keep reading after the hardware domain halted the machine:
/// Xen prints its last lines synchronously, so they are already out.
const AFTER_HALT: Duration = Duration::from_secs(1);

/// What is typed on Xen's serial console when a run times out: Ctrl-A
/// three times hands the console's input to Xen, then its debug keys `q`
/// (every domain and vCPU: state, pending events, what it blocks on), `e`
/// (every event channel) and `0` (dom0's registers and stack), so a hang
/// leaves evidence of where each domain is.
const HANG_KEYS: &[u8] = b"\x01\x01\x01q0e";

/// Silence on the serial line after which it is nudged with [`NUDGE`].
/// Xen on QEMU's TCG sometimes sits with every CPU idle until an interrupt
/// comes: seen at `xl create` in scenario b, where no driver domain runs,
/// and released by the first keystroke of the time-limit dump.
const NUDGE_AFTER: Duration = Duration::from_secs(45);

/// Ctrl-A three times, twice: Xen's console input goes to Xen and back to
/// dom0, which changes nothing but raises the UART's interrupt.
const NUDGE: &[u8] = b"\x01\x01\x01\x01\x01\x01";

/// How long to read Xen's answer to [`HANG_KEYS`].
const HANG_DUMP: Duration = Duration::from_secs(20);

/// A running QEMU, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `command`, copying the console to `serial_log`, each line after
/// the seconds since QEMU started (and QEMU's own stderr to `stderr_log`),
/// calling `watch` with every line, until dom0 is done (and the machine
/// powered off, or the hardware domain halted it), something fatal shows,
/// QEMU exits, or `limit` passes. QEMU is always gone when this returns.
pub(crate) fn boot(
    mut command: Command,
    serial_log: &Path,
    stderr_log: &Path,
    limit: Duration,
    mut watch: impl FnMut(&Line),
) -> Result<(Vec<Line>, End), Error> {
    let stderr = File::create(stderr_log).context(stderr_log)?;
    let mut serial = File::create(serial_log).context(serial_log)?;
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .context("cannot start qemu-system-x86_64")?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut keys = child.stdin.take();
    let mut qemu = Running(child);

    let (sender, receiver) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut raw = Vec::new();
        while let Ok(n @ 1..) = stdout.read_until(b'\n', &mut raw) {
            let text = String::from_utf8_lossy(&raw[..n]);
            let text = text.trim_end_matches(['\n', '\r']).replace('\r', "");
            let line = Line {
                at: start.elapsed().as_secs_f64(),
                text,
            };
            raw.clear();
            if sender.send(line).is_err() {
                break;
            }
        }
    });

    let mut lines = Vec::new();
    let mut end = None;
    // After the end shows, keep reading a little: the rest of a crash dump,
    // dom0 powering the machine off, or the hardware domain halting it.
    let mut deadline = start + limit;
    let mut heard = Instant::now();
    loop {
        let now = Instant::now();
        if end.is_none() && now >= heard + NUDGE_AFTER {
            if let Some(keys) = keys.as_mut() {
                let _ = keys.write_all(NUDGE).and_then(|()| keys.flush());
                writeln!(
                    serial,
                    "[{:8.3}] harness: no output for {} s, nudged the serial line",
                    start.elapsed().as_secs_f64(),
                    NUDGE_AFTER.as_secs()
                )
                .context(serial_log)?;
                progress::note(&format!(
                    "no output for {} s: nudged the serial line (an idle Xen waiting for an interrupt)",
                    NUDGE_AFTER.as_secs()
                ));
            }
            heard = now;
        }
        if now >= deadline {
            // A hang: ask Xen where everything is, once, and read the answer.
            match keys.take() {
                Some(mut keys) if end.is_none() => {
                    let _ = keys.write_all(HANG_KEYS).and_then(|()| keys.flush());
                    deadline = now + HANG_DUMP;
                    continue;
                }
                _ => break,
            }
        }
        match receiver.recv_timeout(deadline.min(heard + NUDGE_AFTER) - now) {
            Ok(line) => {
                heard = Instant::now();
                writeln!(serial, "[{:8.3}] {}", line.at, line.text).context(serial_log)?;
                watch(&line);
                if end == Some(End::Done) && hardware_domain_halted(&line.text) {
                    deadline = deadline.min(Instant::now() + AFTER_HALT);
                } else if end.is_none() {
                    if line.text.contains(DONE) {
                        end = Some(End::Done);
                        deadline = Instant::now() + Duration::from_secs(30);
                    } else if let Some(pattern) = FATAL.iter().find(|p| line.text.contains(*p)) {
                        end = Some(End::Fatal(format!("{pattern}: {}", line.text.trim())));
                        deadline = Instant::now() + Duration::from_secs(3);
                    }
                }
                lines.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if end.is_none() {
                    let status = qemu.0.wait().context("waiting for qemu")?;
                    end = Some(End::Exited(format!(
                        "QEMU exited ({status}) before dom0 was done; see {}",
                        stderr_log.display()
                    )));
                }
                break;
            }
        }
    }
    drop(qemu);
    let _ = reader.join();
    Ok((lines, end.unwrap_or(End::TimedOut(limit))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_hardware_domain_halting_the_machine() {
        assert!(hardware_domain_halted(
            "(XEN) Hardware Dom1 halted: halting machine"
        ));
        assert!(!hardware_domain_halted(
            "(d1) Hardware Dom1 halted: halting machine"
        ));
        assert!(!hardware_domain_halted(
            "(XEN) Hardware Dom1 crashed: 'noreboot' set - not rebooting."
        ));
    }
}
