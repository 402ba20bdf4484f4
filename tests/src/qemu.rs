// SPDX-License-Identifier: MIT OR Apache-2.0
//! Booting the image straight in QEMU (q35, TCG): command line, serial
//! capture, QMP, timeout, exit status.

use crate::qmp::Qmp;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How the image stopped, decoded from QEMU's exit status: isa-debug-exit
/// turns the image's code `c` into status `(c << 1) | 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageExit {
    /// 0x10: the work asked for is done.
    Success,
    /// 0x11: a panic.
    Panic,
    /// 0x12: a fatal CPU exception.
    Exception,
    /// 0x13: booting could not go on.
    Fatal,
    /// Any other status (QEMU itself failed, or was killed).
    Other(Option<i32>),
}

impl ImageExit {
    fn from_status(status: Option<i32>) -> Self {
        match status {
            Some(33) => Self::Success,
            Some(35) => Self::Panic,
            Some(37) => Self::Exception,
            Some(39) => Self::Fatal,
            other => Self::Other(other),
        }
    }
}

/// The PCI devices every bare boot gets, as QEMU arguments: one of each
/// kind of thing enumeration must handle.
pub fn default_devices() -> Vec<String> {
    [
        // A PCIe endpoint with MSI-X and 64-bit BARs, behind a root port.
        "-device pcie-root-port,id=rp1,chassis=1,slot=1",
        "-device e1000e,bus=rp1,netdev=none0",
        "-netdev hubport,id=none0,hubid=0",
        // NVMe: 64-bit BAR, MSI-X, a PCIe endpoint on the root bus.
        "-drive if=none,id=nvm,driver=null-co",
        "-device nvme,serial=pciback0,drive=nvm",
        // virtio: I/O BAR, 64-bit prefetchable BAR, vendor capabilities.
        "-device virtio-net-pci,netdev=none1",
        "-netdev hubport,id=none1,hubid=1",
        // QEMU's teaching device: MSI, one memory BAR; the nested tests use it.
        "-device edu",
        // A multifunction device: two functions in slot 6.
        "-device virtio-rng-pci,addr=0x6.0,multifunction=on",
        "-device virtio-rng-pci,addr=0x6.1",
        // A conventional PCI bridge with a device behind it.
        "-device pci-bridge,id=br1,chassis_nr=2",
        "-device virtio-rng-pci,bus=br1,addr=0x1",
    ]
    .iter()
    .flat_map(|arg| arg.splitn(2, ' ').map(str::to_owned))
    .collect()
}

/// A QEMU boot of the image, described before it starts.
#[derive(Clone, Debug)]
pub struct Machine {
    image: PathBuf,
    memory_mib: u32,
    append: String,
    devices: Vec<String>,
    timeout: Duration,
    paused: bool,
}

impl Machine {
    /// q35, TCG, 128 MiB, the default devices, 120 s timeout.
    pub fn new(image: &Path) -> Self {
        Self {
            image: image.to_owned(),
            memory_mib: 128,
            append: String::new(),
            devices: default_devices(),
            timeout: Duration::from_secs(120),
            paused: false,
        }
    }

    /// Starts with the CPU stopped, so QMP can ask before anything runs;
    /// QMP `cont` starts it.
    pub fn paused(mut self) -> Self {
        self.paused = true;
        self
    }

    /// Guest RAM.
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    /// The image's command line.
    pub fn append(mut self, line: &str) -> Self {
        self.append = line.to_owned();
        self
    }

    /// Replaces the PCI devices (QEMU arguments).
    pub fn devices(mut self, args: Vec<String>) -> Self {
        self.devices = args;
        self
    }

    /// Longest the boot may take before it is killed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The QEMU arguments, with the serial port on `serial`.
    pub fn args(&self, serial: &str) -> Vec<String> {
        let mem = self.memory_mib.to_string();
        let mut args: Vec<String> = [
            "-machine",
            "q35,accel=tcg",
            "-cpu",
            "max",
            "-m",
            &mem,
            "-smp",
            "1",
            "-display",
            "none",
            "-vga",
            "none",
            "-nodefaults",
            "-no-reboot",
            "-serial",
            serial,
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if self.paused {
            args.push("-S".into());
        }
        args.extend(self.devices.iter().cloned());
        args.extend(["-kernel".into(), self.image.display().to_string()]);
        args.extend(["-append".into(), self.append.clone()]);
        args
    }

    /// Boots in the background, serial and QMP in `dir` (created).
    pub fn start(&self, dir: &Path) -> Result<Running, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let serial = dir.join("serial.log");
        let qmp = dir.join("qmp.sock");
        let _ = fs::remove_file(&serial);
        let _ = fs::remove_file(&qmp);
        let mut args = self.args(&format!("file:{}", serial.display()));
        args.extend([
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", qmp.display()),
        ]);
        fs::write(
            dir.join("qemu.cmd"),
            format!("qemu-system-x86_64 {}\n", shell_words(&args)),
        )
        .map_err(|e| e.to_string())?;
        let child = Command::new("qemu-system-x86_64")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("qemu.stderr")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        Ok(Running {
            child,
            serial,
            qmp,
            deadline: Instant::now() + self.timeout,
        })
    }

    /// Boots, waits for the image to stop, returns how and what it printed.
    pub fn run(&self, dir: &Path) -> Result<Outcome, String> {
        self.start(dir)?.wait()
    }
}

/// A QEMU process running the image; killed when dropped.
#[derive(Debug)]
pub struct Running {
    child: Child,
    serial: PathBuf,
    qmp: PathBuf,
    deadline: Instant,
}

/// What a finished boot left.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How the image stopped.
    pub exit: ImageExit,
    /// Everything it printed on COM1.
    pub serial: String,
}

impl Running {
    /// The serial output so far.
    pub fn serial(&self) -> String {
        fs::read(&self.serial)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until a serial line contains `needle`; returns that line.
    pub fn wait_for_line(&mut self, needle: &str) -> Result<String, String> {
        loop {
            let log = self.serial();
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return Ok(line.to_owned());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "QEMU exited ({status}) before `{needle}`; serial:\n{log}"
                ));
            }
            if Instant::now() > self.deadline {
                return Err(format!("timed out waiting for `{needle}`; serial:\n{log}"));
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Connects to QEMU's monitor.
    pub fn qmp(&self) -> Result<Qmp, String> {
        Qmp::connect(&self.qmp)
    }

    /// Waits for QEMU to exit (killing it at the deadline).
    pub fn wait(mut self) -> Result<Outcome, String> {
        loop {
            match self.child.try_wait().map_err(|e| e.to_string())? {
                Some(status) => {
                    return Ok(Outcome {
                        exit: ImageExit::from_status(status.code()),
                        serial: self.serial(),
                    });
                }
                None if Instant::now() > self.deadline => {
                    return Err(format!("timed out; serial:\n{}", self.serial()));
                }
                None => sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Quotes arguments for the reproducible command line saved beside a log.
fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || ",.=_-/:".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
