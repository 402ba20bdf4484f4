// SPDX-License-Identifier: MIT OR Apache-2.0
//! Progress on stderr, step timings, and long-running helper commands run
//! with their output in a log file, a heartbeat, and a time limit.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Error, ResultExt};

/// How long one step took (wall time), or that its output came from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTime {
    /// The step: `host packages`, `download`, `xen`, `policy`, `initramfs`, `boot a`, ...
    pub step: String,
    /// Wall time; zero if cached.
    pub wall: Duration,
    /// The output was already in the cache.
    pub cached: bool,
}

impl StepTime {
    pub(crate) fn new(step: &str, wall: Duration) -> StepTime {
        StepTime {
            step: step.to_owned(),
            wall,
            cached: false,
        }
    }

    pub(crate) fn cached(step: &str) -> StepTime {
        StepTime {
            step: step.to_owned(),
            wall: Duration::ZERO,
            cached: true,
        }
    }
}

/// Formats step times as an aligned table, one step per line.
pub fn format_times(times: &[StepTime]) -> String {
    let mut out = String::new();
    for time in times {
        let wall = if time.cached {
            "cached".to_owned()
        } else {
            format!("{:.1} s", time.wall.as_secs_f64())
        };
        let _ = writeln!(out, "  {:<16} {:>9}", time.step, wall);
    }
    out
}

/// Prints a progress line.
pub(crate) fn note(message: &str) {
    eprintln!("nested: {message}");
}

/// How often a long command reports that it is still going.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// Runs `command` with stdin closed and stdout/stderr appended to `log`,
/// printing a heartbeat with the log's last line every 20 s; kills it after
/// `limit`. Fails unless it exits with status 0.
pub(crate) fn run_logged(
    mut command: Command,
    log: &Path,
    what: &str,
    limit: Duration,
) -> Result<(), Error> {
    let file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .context(log)?;
    let stderr = file.try_clone().context(log)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("{what}: cannot start {command:?}"))?;
    let start = Instant::now();
    let mut next_beat = HEARTBEAT;
    loop {
        if let Some(status) = child.try_wait().context(log)? {
            if status.success() {
                return Ok(());
            }
            return Err(Error::new(format!(
                "{what} failed ({status}); its output is in {}:\n{}",
                log.display(),
                tail(log, 2000)
            )));
        }
        let elapsed = start.elapsed();
        if elapsed > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(format!(
                "{what} did not finish within {} s; its output is in {}",
                limit.as_secs(),
                log.display()
            )));
        }
        if elapsed > next_beat {
            let last = tail(log, 160);
            let last = last.lines().last().unwrap_or("").trim();
            note(&format!("{what}: {} s ... {last}", elapsed.as_secs()));
            next_beat += HEARTBEAT;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// The last `bytes` bytes of a file, lossily decoded ("" if unreadable).
pub(crate) fn tail(path: &Path, bytes: u64) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = fs::metadata(path)?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(bytes)))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        Ok(String::from_utf8_lossy(&data).into_owned())
    };
    read().unwrap_or_default()
}
