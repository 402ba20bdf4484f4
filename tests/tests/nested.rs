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
