// SPDX-License-Identifier: MIT OR Apache-2.0
//! The administrator's diagnostics: commands typed on the PV console or
//! written to XenStore, answered on the console.
//!
//! Diagnostics are asked for on the PV console (`xl console`, a command per
//! line) or through XenStore: dom0 writes a command to
//! `/local/domain/<this domain>/control/pciback-dd` (`xenstore-write`), the
//! report goes to the console, and the node is emptied to acknowledge.
//! Commands: `pci` (the bus table), `devices` (the devices waiting for a
//! frontend, and the frontends served), `xenstore` (this domain's home),
//! `map-grant <domid> <gref>` (map a page another domain granted, show its
//! first bytes, unmap), `echo-port <domid> <port> <count>` (bind to another
//! domain's unbound port and answer each of `count` events with one: a
//! ping-pong for measuring notification latency from dom0), `stats`
//! (hypercalls by number, upcalls, memory), `bench-xenstore <count>` (that
//! many XenStore reads: hypercalls and time per read), `sleep <ms>` (a
//! task's sleep on Xen's timer: how long it took, by the TSC and by Xen's
//! clock).

use crate::arch::idle;
use crate::backend::PciBackend;
use crate::bus::Bus;
use crate::executor::Executor;
use crate::hypervisor::xenstore::Xenstore;
use crate::hypervisor::{Services, Xen, alarm, ports};
use crate::timer::TIMERS;
use crate::{memory, time};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use core::time::Duration;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::grant_table::GrantRef;
use xen::abi::xen::DomId;
use xen::events::BoundPort;
use xen::grant::{Access, GrantWindow, IdentityMapped};
use xen::time::TimeScale;

/// The longest `sleep` command.
const MAX_SLEEP_MS: u64 = 60_000;

/// Where the administrator's diagnostic commands arrive.
const COMMAND_NODE: &str = "control/pciback-dd";

/// Starts the tasks that take commands: from XenStore, and from the PV
/// console if there is one.
pub fn spawn(
    executor: &mut Executor,
    xen: &'static Xen,
    services: Services,
    bus: &'static Bus,
    backend: &'static PciBackend,
) {
    let commands: &'static Commands = Box::leak(Box::new(Commands {
        xen,
        services,
        bus,
        backend,
    }));
    executor.spawn("commands", xenstore_commands(commands));
    if let Some(port) = crate::console::xen_console_port() {
        executor.spawn("console", console_commands(commands, port));
    }
}

/// Logs the children of this domain's home.
pub async fn list_home(store: &Xenstore, domid: &str) {
    let home = format!("/local/domain/{domid}");
    match store.directory(&home).await {
        Ok(entries) => info!(target: "xenstore", "{home}: {}", entries.join(" ")),
        Err(e) => warn!(target: "xenstore", "{home}: {e}"),
    }
}

/// What the diagnostic commands act on.
#[derive(Debug)]
struct Commands {
    xen: &'static Xen,
    services: Services,
    bus: &'static Bus,
    backend: &'static PciBackend,
}

impl Commands {
    /// Runs one command line; the answer goes to the log.
    async fn run(&self, command: &str) {
        let (xen, store) = (self.xen, self.services.xenstore);
        let words: Vec<&str> = command.split_ascii_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["pci"] => self.bus.report(),
            ["devices"] => report_backend(self.backend),
            ["xenstore"] => {
                let domid = store.read("domid").await.unwrap_or_default();
                list_home(store, &domid).await;
            }
            ["map-grant", domid, gref] => match (domid.parse(), gref.parse()) {
                (Ok(domid), Ok(gref)) => show_grant(xen, self.services.grants, domid, gref),
                _ => warn!(target: "control", "map-grant takes a domid and a grant reference"),
            },
            ["stats"] => stats(xen, self.backend, None),
            ["stats", label] => stats(xen, self.backend, Some(label)),
            ["op-floor", on @ ("on" | "off")] => {
                self.backend.answer_reads_at_once(*on == "on");
                warn!(target: "control", "op-floor {on}: configuration reads are answered {}", if *on == "on" { "at once, without the device (a diagnostic, wrong values)" } else { "normally" });
            }
            ["bench-xenstore", count] => match count.parse() {
                Ok(count) => bench_xenstore(xen, store, count).await,
                Err(_) => warn!(target: "control", "bench-xenstore takes a count"),
            },
            // Commands run one at a time: a sleep holds up the next ones.
            ["sleep", ms] => match ms.parse() {
                Ok(ms) if ms <= MAX_SLEEP_MS => nap(ms).await,
                _ => {
                    warn!(target: "control", "sleep takes milliseconds, at most {MAX_SLEEP_MS}")
                }
            },
            ["echo-port", domid, port, count] => match (domid.parse(), port.parse(), count.parse())
            {
                (Ok(domid), Ok(port), Ok(count)) => echo(xen, domid, port, count).await,
                _ => warn!(target: "control", "echo-port takes a domid, a port and a count"),
            },
            _ => warn!(
                target: "control",
                "unknown command `{command}` (try pci, devices, xenstore, stats [LABEL], bench-xenstore, sleep, map-grant, echo-port, op-floor on|off)"
            ),
        }
    }
}

/// Runs the commands written to [`COMMAND_NODE`], emptying it after each.
async fn xenstore_commands(commands: &'static Commands) {
    let store = commands.services.xenstore;
    let watch = match store.watch(COMMAND_NODE).await {
        Ok(watch) => watch,
        Err(e) => {
            warn!(target: "control", "cannot watch {COMMAND_NODE}: {e}; no diagnostics");
            return;
        }
    };
    loop {
        watch.next().await;
        let command: String = store.read(COMMAND_NODE).await.unwrap_or_default();
        if command.trim().is_empty() {
            continue;
        }
        commands.run(&command).await;
        let _ = store.write(COMMAND_NODE, "").await;
    }
}

/// Runs the commands typed on the PV console (`xl console`), a line each.
async fn console_commands(commands: &'static Commands, port: EvtchnPort) {
    let mut editor = crate::line::LineEditor::new();
    loop {
        ports::wait(port).await;
        let mut buf = [0u8; 64];
        loop {
            let read = crate::console::read_input(&mut buf);
            let Some(bytes) = buf.get(..read).filter(|b| !b.is_empty()) else {
                break;
            };
            for &byte in bytes {
                if let Some(line) = editor.push(byte) {
                    info!(target: "console", "> {line}");
                    commands.run(&line).await;
                }
            }
        }
    }
}

/// Logs how many devices wait for a frontend and how many frontends are
/// served, then each of them.
fn report_backend(backend: &PciBackend) {
    let (free, frontends) = (backend.free_devices(), backend.frontends());
    info!(
        target: "pciback",
        "devices: {} free, {} frontends",
        free.len(),
        frontends.len()
    );
    for address in free {
        info!(target: "pciback", "{address}: free");
    }
    for frontend in frontends {
        info!(target: "pciback", "{frontend}");
    }
}

/// Logs the hypercalls made so far, by number, the upcalls taken, the
/// halts, the ops answered, and memory in use; `label` (a benchmark's
/// step) tags the first line: `stats[ <label>]: hypercalls ...`.
fn stats(xen: &Xen, backend: &PciBackend, label: Option<&str>) {
    let by_number: Vec<String> = xen
        .hv
        .by_number()
        .map(|(op, n)| format!("{op}:{n}"))
        .collect();
    let ops: u64 = backend.frontends().iter().map(|f| f.ops).sum();
    let polling = backend.polling();
    info!(
        target: "stats",
        "{}hypercalls {} ({}), upcalls {}, halts {}, ops {ops}, polls {} (ops seen {}, looks {})",
        label.map(|label| format!("{label}: ")).unwrap_or_default(),
        xen.hv.total(),
        by_number.join(" "),
        ports::UPCALLS.load(Ordering::Relaxed),
        idle::HALTS.load(Ordering::Relaxed),
        polling.windows,
        polling.ops_seen,
        polling.looks
    );
    let (used, size) = memory::heap::usage();
    info!(
        target: "stats",
        "heap {} of {} KiB in use, {} KiB free in frames",
        used >> 10,
        size >> 10,
        memory::free_frame_bytes() >> 10
    );
}

/// Reads `domid` `count` times and reports the cost of one read.
async fn bench_xenstore(xen: &Xen, store: &Xenstore, count: u64) {
    let (calls, started) = (xen.hv.total(), time::tsc());
    for _ in 0..count {
        if let Err(e) = store.read("domid").await {
            warn!(target: "stats", "bench-xenstore: {e}");
            return;
        }
    }
    let (calls, ticks) = (xen.hv.total() - calls, time::tsc() - started);
    let per = |n: u64| n.checked_div(count).unwrap_or(0);
    info!(
        target: "stats",
        "{count} XenStore reads: {} hypercalls and {} us per read",
        per(calls),
        time::ticks_to_micros(per(ticks))
    );
}

/// Sleeps `ms` milliseconds as a task does, and reports how long it took by
/// the TSC and by Xen's system time, and how often Xen's timer fired.
async fn nap(ms: u64) {
    let clock = || crate::hypervisor::shared_info().map(|s| TimeScale::read(&s.vcpu_info[0].time));
    let (fired, tsc) = (alarm::FIRED.load(Ordering::Relaxed), time::tsc());
    let xen_before = clock().map(|scale| scale.system_time_at(tsc));
    let deadline = tsc.saturating_add(time::duration_to_ticks(Duration::from_millis(ms)));
    TIMERS.sleep_until(deadline).await;
    let now = time::tsc();
    let xen_slept = clock()
        .zip(xen_before)
        .map(|(scale, before)| scale.system_time_at(now).saturating_sub(before) / 1000);
    info!(
        target: "timer",
        "slept {ms} ms: woke after {} us (Xen system time: {} us), Xen's timer fired {} times",
        time::ticks_to_micros(now - tsc),
        xen_slept.unwrap_or(0),
        alarm::FIRED.load(Ordering::Relaxed) - fired
    );
}

/// Maps `gref` of `domid` read-only, logs its first bytes, unmaps it.
fn show_grant(
    xen: &'static Xen,
    grants: &GrantWindow<IdentityMapped>,
    domid: DomId,
    gref: GrantRef,
) {
    let mapping = match grants.map(&xen.hv, domid, gref, Access::ReadOnly) {
        Ok(mapping) => mapping,
        Err(e) => {
            warn!(target: "grant", "domain {domid} ref {gref}: {e}");
            return;
        }
    };
    let mut bytes = [0u8; 32];
    if mapping.page().read_bytes(0, &mut bytes).is_err() {
        warn!(target: "grant", "domain {domid} ref {gref}: page unreadable");
        return;
    }
    let text: String = bytes
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    info!(
        target: "grant",
        "domain {domid} ref {gref} mapped at gfn {:#x}: {:02x?} \"{text}\"",
        mapping.gfn().unwrap_or(0),
        bytes
    );
}

/// Binds to `port` of `domid` and answers each of `count` events.
async fn echo(xen: &'static Xen, domid: DomId, port: EvtchnPort, count: u32) {
    let bound = match BoundPort::bind_interdomain(&xen.hv, domid, port) {
        Ok(bound) => bound,
        Err(e) => {
            warn!(target: "echo", "bind to domain {domid} port {port}: {e}");
            return;
        }
    };
    // Xen leaves a freshly bound port pending; that is not a ping.
    if let Some(shared) = crate::hypervisor::shared_info() {
        let _ = xen::events::clear_pending(shared, bound.port());
    }
    info!(target: "echo", "port {} bound to domain {domid} port {port}: echoing {count} events", bound.port());
    for _ in 0..count {
        ports::wait(bound.port()).await;
        if let Err(e) = bound.notify() {
            warn!(target: "echo", "notify: {e}");
            break;
        }
    }
    info!(target: "echo", "done: {count} events echoed");
}
