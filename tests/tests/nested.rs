// SPDX-License-Identifier: MIT OR Apache-2.0
//! Nested QEMU + Xen scenarios a and b (tools/nested/README.md), each booted
//! once and judged from the consoles it captured.
//!
//! They need the image: `cargo xtask test` builds it and sets
//! `PCIBACK_DD_IMAGE`. The first run downloads and builds Xen, the policy
//! and the initramfs (several minutes); later runs take them from the cache.

use std::sync::{Mutex, OnceLock};

use system_tests::nested::{self, Options, Scenario, ScenarioOutcome};

/// One boot at a time: each one keeps both cores busy.
static MACHINE: Mutex<()> = Mutex::new(());

/// Scenario a, booted once for all the tests that judge it.
static SCENARIO_A: OnceLock<ScenarioOutcome> = OnceLock::new();

/// QEMU's `edu` test device and e1000e NIC, as they appear in config space.
const EDU: &str = "1234:11e8";
const E1000E: &str = "8086:10d3";

/// Boots `scenario` and insists that dom0 got through its script.
fn run(scenario: Scenario) -> ScenarioOutcome {
    let options = Options {
        image: Some(system_tests::image()),
        ..Options::default()
    };
    let _machine = MACHINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let outcome = nested::run_scenario(scenario, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.completed(), "{}", outcome.summary());
    outcome
}

fn scenario_a() -> &'static ScenarioOutcome {
    SCENARIO_A.get_or_init(|| run(Scenario::DriverDomain))
}

/// The devices the driver domain takes: `xen-pciback.hide=(BDF)...` on the
/// `cmdline` line of tools/driver-domain.cfg.
fn hidden_devices() -> Vec<String> {
    let cfg = std::fs::read_to_string(nested::driver_domain_cfg()).expect("driver-domain.cfg");
    let cmdline = cfg
        .lines()
        .find(|line| line.starts_with("cmdline"))
        .expect("driver-domain.cfg has a cmdline");
    let hide = cmdline
        .split(['"', ' '])
        .find_map(|word| word.strip_prefix("xen-pciback.hide="))
        .expect("the cmdline has xen-pciback.hide=");
    hide.split(['(', ')'])
        .filter(|bdf| !bdf.is_empty())
        .map(str::to_owned)
        .collect()
}

fn dom0<'a>(outcome: &'a ScenarioOutcome, key: &str) -> &'a str {
    outcome
        .fact("dom0", key)
        .unwrap_or_else(|| panic!("dom0 reported no {key}\n{}", outcome.summary()))
}

/// Scenario a, dom0's and Xen's side: the driver domain becomes the hardware
/// domain under FLASK with no denial, and a guest created and destroyed
/// afterwards is reaped while the driver domain keeps running.
#[test]
fn scenario_a_driver_domain_becomes_hardware_domain() {
    let a = scenario_a();
    let xen = a.file("xen");
    assert!(
        xen.contains("Flask:  Starting in enforcing mode."),
        "{}",
        a.summary()
    );

    let quarantined: Vec<_> = a.facts_named("dom0", "quarantined").collect();
    assert_eq!(quarantined, hidden_devices());
    assert_eq!(dom0(a, "virq-dom-exc"), "VIRQ_DOM_EXC: routed to domain 0");

    let domid = dom0(a, "driver-domain-domid");
    assert_eq!(
        domid, "1",
        "hardware_dom=1 needs the driver domain to be domain 1"
    );
    assert!(
        xen.contains("Initialising hardware domain 1"),
        "{}",
        a.summary()
    );
    assert_eq!(dom0(a, "hardware-domain"), "1");
    assert!(
        !xen.contains("avc:  denied"),
        "FLASK denials in {}",
        a.log_dir.display()
    );

    // The extra guest ran, was destroyed and is gone from Xen.
    let guest = dom0(a, "guest-domid");
    assert_eq!(dom0(a, "guest-ran"), "yes");
    assert_eq!(
        a.fact("idle", "guest-up")
            .map(|v| v.starts_with("role=idle")),
        Some(true)
    );
    assert_eq!(dom0(a, "guest-reaped"), "yes");
    assert_eq!(
        dom0(a, "guest-info"),
        format!("domain {guest}: no such domain")
    );
    let xl_list = a.file("xl-list.txt");
    assert!(xl_list.contains("pciback-dd"), "{xl_list}");
    assert!(
        !xl_list.contains("idle") && !xl_list.contains("(null)"),
        "{xl_list}"
    );

    // The driver domain is still up: not dying, not shut down.
    let info = dom0(a, "driver-domain-info");
    let alive = format!("domain {domid}: present dying=0 shutdown=0 ");
    assert!(info.starts_with(&alive), "driver domain: {info}");
    let state = dom0(a, "driver-domain-state");
    assert!(
        !state.contains(['s', 'c', 'd']),
        "driver domain state {state}"
    );
}

/// Scenario a, the image's side: as the hardware domain it finishes booting,
/// prints its PCI table with the devices of its hide list taken, and writes
/// and reads back their config space through ECAM (trapped by Xen's vPCI
/// once it registered the window), with no error. Its log comes on its PV
/// console once that is up, and through port 0xE9 (Xen's `(d1)`) from the
/// first line.
#[test]
fn scenario_a_driver_domain_reports_its_bus() {
    let a = scenario_a();
    let output = format!("{}{}", a.file("xen-d1"), a.file("console-pciback-dd"));
    let logs = a.log_dir.display();
    assert_eq!(
        dom0(a, "driver-domain-ready"),
        "yes",
        "no `boot: done` in {logs}"
    );
    assert!(
        output.contains("hypervisor: Xen 4.17.5, this is domain 1"),
        "{logs}"
    );
    for (bdf, id) in hidden_devices().iter().zip([EDU, E1000E]) {
        let row = |l: &&str| l.contains("pci: ") && l.contains(bdf.as_str());
        assert!(
            output
                .lines()
                .filter(row)
                .any(|l| l.contains(" taken ") && l.contains(id)),
            "no PCI table row `{bdf} taken {id}` in {logs}"
        );
        let check = format!("selftest: ecam write {bdf} ");
        assert!(
            output
                .lines()
                .any(|l| l.contains(&check) && l.trim_end().ends_with(" ok")),
            "no successful `{check}...` in {logs}"
        );
    }
    let errors: Vec<_> = output.lines().filter(|l| l.contains("] ERROR ")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// What follows `marker` on the first line of `text` that has it.
fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.split_once(marker).map(|(_, rest)| rest))
}

/// The value of `name=` among the words of `line`, parsed.
fn field<T: std::str::FromStr>(line: &str, name: &str) -> T {
    line.split(' ')
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in `{line}`"))
}

/// Parses `text`, saying what it was in `line` if it is not a number.
fn number<T: std::str::FromStr>(text: &str, line: &str) -> T {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number in `{line}`"))
}

/// The time in dom0's acknowledgement of a diagnostics command
/// (`command "..." to domain D: acknowledged after X ms`), in ms.
fn acknowledged(outcome: &ScenarioOutcome, key: &str, command: &str, domid: &str) -> f64 {
    let ack = dom0(outcome, key);
    let prefix = format!("command \"{command}\" to domain {domid}: acknowledged after ");
    let ms = ack
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(" ms"))
        .unwrap_or_else(|| panic!("dom0's {key}: `{ack}`, expected `{prefix}X ms`"));
    number(ms, ack)
}

/// When dom0 marked `label`, in seconds since QEMU started.
fn mark(outcome: &ScenarioOutcome, label: &str) -> f64 {
    outcome
        .marks
        .iter()
        .find(|m| m.label == label)
        .map(|m| m.at)
        .unwrap_or_else(|| panic!("dom0 did not mark {label}\n{}", outcome.summary()))
}

/// Scenario a, the driver domain's Xen platform as dom0 drives it: it tells
/// Xen's version and, from XenStore, its domid and the keys of its home; a
/// command dom0 writes to XenStore fires its watch; it maps a page dom0
/// granted and reads dom0's text back; it echoes every event of a ping-pong
/// on an event channel dom0 offered; it counts its hypercalls and upcalls;
/// and it stops on `xl shutdown`, which, as it is the hardware domain, halts
/// the machine. The figures measured are printed and kept in `figures.txt`
/// next to the logs.
#[test]
fn scenario_a_driver_domain_on_xen() {
    let a = scenario_a();
    let logs = a.log_dir.display();
    let domid = dom0(a, "driver-domain-domid");
    // Its PV console, complete up to the last command (dom0 sent it before
    // the shutdown), and the debug port, which carries the very beginning
    // and the very end (with lines cut at Xen's 200 characters).
    let console = a.file("console-pciback-dd");
    let debug = a.file(&format!("xen-d{domid}"));

    // Who it is: Xen's version (as dom0's `xl info` says it), its domid and
    // its home in XenStore, listed at boot and again for dom0's `xenstore`
    // command, which only a watch firing on dom0's write can have started.
    let version = dom0(a, "xen-version");
    let hello = format!("hypervisor: Xen {version}, this is domain {domid}");
    // (Said before the PV console is up: on the debug port only.)
    assert!(debug.contains(&hello), "no `{hello}` in {logs}");
    let identity = format!("xenstore: domid {domid} (pciback-dd), home /local/domain/{domid}");
    assert!(console.contains(&identity), "no `{identity}` in {logs}");
    let home = format!("xenstore: /local/domain/{domid}: ");
    let listings: Vec<_> = console
        .lines()
        .filter_map(|line| line.split_once(&home).map(|(_, keys)| keys))
        .collect();
    assert_eq!(listings.len(), 2, "`{home}...` at boot and on command");
    for keys in &listings {
        let keys: Vec<_> = keys.split(' ').collect();
        for key in ["name", "domid", "control", "memory", "store", "console"] {
            assert!(keys.contains(&key), "no {key} in its home: {keys:?}");
        }
    }
    let watch_ms = acknowledged(a, "command-xenstore", "xenstore", domid);

    // The page dom0 granted: its first 32 bytes are dom0's text, then zeros.
    let grant = dom0(a, "grant");
    let (gref, text) = grant
        .strip_prefix("ref=")
        .and_then(|g| g.split_once(" text="))
        .unwrap_or_else(|| panic!("dom0's grant: `{grant}`"));
    assert!(text.starts_with("pciback-dd grant test ") && text.len() < 32);
    acknowledged(
        a,
        "command-map-grant",
        &format!("map-grant 0 {gref}"),
        domid,
    );
    let mapped = format!("grant: domain 0 ref {gref} mapped at gfn 0x");
    let seen = after(console, &mapped).unwrap_or_else(|| panic!("no `{mapped}` in {logs}"));
    let (_, seen) = seen.split_once(": [").expect("the bytes follow the gfn");
    let (bytes, shown) = seen.split_once("] ").expect("the text follows the bytes");
    let bytes: Vec<u8> = bytes
        .split(", ")
        .map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|_| panic!("byte `{b}`")))
        .collect();
    let mut expected = text.as_bytes().to_vec();
    expected.resize(32, 0);
    assert_eq!(bytes, expected, "the granted page's first bytes");
    assert_eq!(shown, format!("\"{text}\""));
    assert_eq!(dom0(a, "grant-end"), format!("unshared gref {gref}"));

    // What a XenStore read costs it.
    let bench = dom0(a, "command-bench-xenstore");
    let reads: u64 = bench
        .strip_prefix("command \"bench-xenstore ")
        .and_then(|rest| rest.split_once('"'))
        .map(|(count, _)| number(count, bench))
        .unwrap_or_else(|| panic!("dom0's bench: `{bench}`"));
    let cost_marker = format!("stats: {reads} XenStore reads: ");
    let cost = after(console, &cost_marker).unwrap_or_else(|| panic!("no `{cost_marker}`"));
    let (calls, rest) = cost
        .split_once(" hypercalls and ")
        .expect("hypercalls per read");
    let read_us: u64 = number(
        rest.strip_suffix(" us per read").expect("us per read"),
        cost,
    );
    let calls_per_read: u64 = number(calls, cost);
    assert!(
        calls_per_read > 0,
        "a XenStore read without a hypercall: {cost}"
    );

    // The ping-pong: dom0 timed every round trip, the driver domain echoed
    // each event once, on the port dom0 offered.
    let pingpong = dom0(a, "pingpong");
    let echoes: u64 = field(pingpong, "round_trips");
    let (port, remote): (u32, u32) = (field(pingpong, "port"), field(pingpong, "remote_port"));
    let times: Vec<f64> = ["min_us", "median_us", "p99_us", "max_us"]
        .iter()
        .map(|name| field(pingpong, name))
        .collect();
    assert!(times[0] > 0.0, "{pingpong}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{pingpong}");
    let bound =
        format!("echo: port {remote} bound to domain 0 port {port}: echoing {echoes} events");
    assert!(console.contains(&bound), "no `{bound}` in {logs}");
    let done = format!("echo: done: {echoes} events echoed");
    assert!(console.contains(&done), "no `{done}` in {logs}");
    acknowledged(
        a,
        "command-echo-port",
        &format!("echo-port 0 {port} {echoes}"),
        domid,
    );

    // Its counters: an EVTCHNOP_send (event_channel_op, hypercall 32) at
    // least per echo and per XenStore read (its request), and an upcall per
    // echo (each ping arrives alone, after the previous echo).
    acknowledged(a, "command-stats", "stats", domid);
    let stats = after(console, "stats: hypercalls ").expect("the stats line");
    let (total, rest) = stats.split_once(" (").expect("hypercalls by number");
    let (by_number, upcalls) = rest.split_once("), upcalls ").expect("upcalls");
    let total: u64 = number(total, stats);
    let upcalls: u64 = number(upcalls, stats);
    let event_channel_ops: u64 = by_number
        .split(' ')
        .find_map(|pair| pair.strip_prefix("32:"))
        .map_or(0, |n| number(n, stats));
    assert!(event_channel_ops >= echoes + reads, "{stats}");
    assert!(upcalls >= echoes, "{stats}");

    // Its memory: Xen's count (tot_pages, after boot and at the end) and
    // xl's (MiB, from the same count), and its own at boot.
    let pages: u64 = field(dom0(a, "driver-domain-info"), "tot_pages");
    let end_pages: u64 = field(dom0(a, "driver-domain-end-info"), "tot_pages");
    let xl_mib: u64 = a
        .file("xl-list.txt")
        .lines()
        .find_map(|l| l.strip_prefix("pciback-dd "))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|mib| number(mib, "xl list"))
        .expect("pciback-dd in xl list");
    assert_eq!(xl_mib, pages / 256, "xl list and Xen disagree");
    let heap = after(debug, "memory: heap ").expect("the heap line");
    let (heap_kib, rest) = heap.split_once(" KiB at ").expect("heap KiB");
    let free_kib = rest
        .split_once(", ")
        .and_then(|(_, r)| r.strip_suffix(" KiB free in frames"))
        .expect("free KiB");
    let (heap_kib, free_kib): (u64, u64) = (number(heap_kib, heap), number(free_kib, heap));
    assert!(
        heap_kib + free_kib <= pages * 4,
        "more than Xen gave: {heap}"
    );

    // The clean exit: it heard `xl shutdown`, and Xen halted the machine
    // because its hardware domain powered off.
    let stopping = "control: toolstack asks for `poweroff`: stopping";
    assert!(debug.contains(stopping), "no `{stopping}` in {logs}");
    let halted = format!("Hardware Dom{domid} halted: halting machine");
    assert!(a.file("xen").contains(&halted), "no `{halted}` in {logs}");
    let shutdown = mark(a, "shutdown-pciback-dd");
    assert!(
        a.marks
            .iter()
            .all(|m| !m.label.starts_with("still-running")),
        "{}",
        a.summary()
    );

    // The boot's wall time ends with the last console line: Xen's halt.
    let boot = a
        .times
        .iter()
        .find(|t| t.step == "boot a")
        .map(|t| t.wall.as_secs_f64())
        .expect("the boot's time");
    assert!(boot > shutdown, "the console ended before dom0's shutdown");
    let diagnostics = mark(a, "diagnostics-done") - mark(a, "diagnostics");
    let figures = format!(
        "scenario a, the driver domain on Xen {version} (domain {domid}):\n\
         \x20 memory: Xen {} KiB ({pages} pages; {end_pages} at the end), xl list {xl_mib} MiB; \
         the image at boot: heap {heap_kib} KiB, {free_kib} KiB free in frames\n\
         \x20 XenStore read: {calls_per_read} hypercalls, {read_us} us ({reads} reads)\n\
         \x20 command through XenStore (dom0 writes, the watch fires, it answers): {watch_ms:.1} ms\n\
         \x20 event-channel ping-pong from dom0: {echoes} round trips, min {:.1} us, median {:.1} us, \
         p99 {:.1} us, max {:.1} us\n\
         \x20 its counters: {total} hypercalls ({by_number}), {upcalls} upcalls\n\
         \x20 wall time: diagnostics {diagnostics:.1} s; `xl shutdown` at {shutdown:.1} s, \
         the machine halted by {boot:.1} s\n",
        pages * 4,
        times[0],
        times[1],
        times[2],
        times[3],
    );
    eprint!("{figures}");
    std::fs::write(a.log_dir.join("figures.txt"), &figures).expect("figures.txt");
}

/// Reads per device in the guest's timing loop: `nested.samples=` in
/// tools/nested/guests/pcifront-dom0.cfg.
const SAMPLES: &str = "samples=2000";

/// Scenario b, the baseline: dom0's Linux xen-pciback serves the driver
/// domain's devices to a Linux PV guest, which sees them with their IDs and
/// config space, and times config reads.
#[test]
fn scenario_b_linux_pciback_serves_a_pv_guest() {
    let b = run(Scenario::Baseline);
    assert_eq!(dom0(&b, "xsm"), "xsm=dummy");
    assert!(!b.file("xen").contains("Initialising hardware domain"));
    let devices = hidden_devices();
    let assigned: Vec<_> = b.facts_named("dom0", "quarantined").collect();
    assert_eq!(assigned, devices);
    assert!(
        dom0(&b, "guest-state").contains('s'),
        "the guest did not finish"
    );

    let up = b.fact("pcifront", "guest-up").unwrap_or_default();
    assert!(up.starts_with("role=pcifront type=PV "), "guest: {up}");
    // The frontend numbers the devices on its own bus, in pci= order.
    let seen = b.fact("pcifront", "pcifront-devices").unwrap_or_default();
    assert_eq!(
        seen.split(' ').count(),
        devices.len(),
        "pcifront devices: {seen}"
    );

    let lspci = b.file("pcifront-lspci");
    let loops: Vec<_> = b.facts_named("pcifront", "cfgread").collect();
    assert_eq!(loops.len(), devices.len(), "{loops:?}");
    for (timing, id) in loops.iter().zip([EDU, E1000E]) {
        let (vendor, device) = id.split_once(':').expect("vendor:device");
        assert!(
            lspci.contains(&format!("[{id}]")),
            "lspci lacks {id}:\n{lspci}"
        );
        let header = format!(
            "00: {} {} {} {}",
            &vendor[2..],
            &vendor[..2],
            &device[2..],
            &device[..2]
        );
        assert!(lspci.contains(&header), "lspci -xxxx lacks {header}");
        assert!(timing.contains(&format!(" {SAMPLES} ")), "{timing}");
        assert!(
            timing.ends_with(&format!("first={device}{vendor}")),
            "{timing}"
        );
        let median: f64 = timing
            .split(' ')
            .find_map(|w| w.strip_prefix("median_us="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no median in {timing}"));
        assert!(median > 0.0, "{timing}");
    }
}
