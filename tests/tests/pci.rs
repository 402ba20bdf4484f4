// SPDX-License-Identifier: MIT OR Apache-2.0
//! The image finds the PCI bus QEMU built, exactly as QEMU describes it, and
//! takes the devices its hide list names.

use serde_json::Value;
use std::collections::BTreeMap;
use system_tests::qemu::{Machine, Running};
use system_tests::{image, log_dir};

/// One function as either side describes it; compared field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FunctionView {
    id: String,
    /// Base class and subclass, `bbss`.
    class: String,
    /// `index:kind:address:size`; the address is `-` when QEMU shows the BAR
    /// unmapped (decoding off), so only its size can be compared.
    bars: Vec<String>,
    /// The expansion ROM's size.
    rom_size: Option<u64>,
    /// Secondary and subordinate bus of a bridge.
    buses: Option<(u64, u64)>,
    /// A bridge's open windows: (kind, base, limit).
    windows: Vec<(String, u64, u64)>,
}

/// Boots with the default devices and the given command line, waits for the
/// machine-readable bus report, and returns the running machine and log.
fn boot(name: &str, command_line: &str) -> (Running, String) {
    let mut running = Machine::new(&image())
        .append(command_line)
        .start(&log_dir(name))
        .expect("QEMU starts");
    running
        .wait_for_line("PCIEND")
        .expect("the image reports the bus");
    let serial = running.serial();
    (running, serial)
}

/// The image's `PCIDEV` lines, by address.
fn image_view(serial: &str) -> BTreeMap<String, (FunctionView, String)> {
    serial
        .lines()
        .filter_map(|line| line.split_once("PCIDEV ").map(|(_, rest)| rest))
        .map(|record| {
            let mut words = record.split(' ');
            let address = words.next().expect("address").to_owned();
            let field: BTreeMap<&str, &str> = words.filter_map(|w| w.split_once('=')).collect();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
            let bars = match field["bars"] {
                "-" => vec![],
                list => list
                    .split(',')
                    .map(|bar| {
                        let parts: Vec<&str> = bar.split(':').collect();
                        let kind = if parts[1] == "io" { "io" } else { "memory" };
                        format!("{}:{kind}:{}:{}", parts[0], hex(parts[2]), hex(parts[3]))
                    })
                    .collect(),
            };
            let rom_size =
                (field["rom"] != "-").then(|| hex(field["rom"].split(':').nth(1).unwrap()));
            let buses = (field["bus"] != "-").then(|| {
                let (s, u) = field["bus"]
                    .trim_matches(['[', ']'])
                    .split_once('-')
                    .unwrap();
                (hex(s), hex(u))
            });
            let windows = ["io", "mem", "pref"]
                .iter()
                .filter(|kind| field[**kind] != "-")
                .map(|kind| {
                    let (base, limit) = field[*kind].split_once('-').unwrap();
                    ((*kind).to_owned(), hex(base), hex(limit))
                })
                .collect();
            let class = field["class"].to_owned();
            let view = FunctionView {
                id: field["id"].to_owned(),
                class,
                bars,
                rom_size,
                buses,
                windows,
            };
            (address, (view, field["owner"].to_owned()))
        })
        .collect()
}

/// QEMU's view from QMP `query-pci`, by address, with the BAR addresses the
/// image cannot know (unmapped) blanked as the image's side is compared.
fn qemu_view(
    buses: &Value,
    image: &BTreeMap<String, (FunctionView, String)>,
) -> BTreeMap<String, FunctionView> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<&Value> = buses
        .as_array()
        .expect("bus list")
        .iter()
        .flat_map(|b| b["devices"].as_array().unwrap())
        .collect();
    while let Some(d) = stack.pop() {
        let address = format!(
            "0000:{:02x}:{:02x}.{}",
            d["bus"].as_u64().unwrap(),
            d["slot"].as_u64().unwrap(),
            d["function"].as_u64().unwrap()
        );
        let id = format!(
            "{:04x}:{:04x}",
            d["id"]["vendor"].as_u64().unwrap(),
            d["id"]["device"].as_u64().unwrap()
        );
        let class = format!("{:04x}", d["class_info"]["class"].as_u64().unwrap());
        let mut bars = vec![];
        let mut rom_size = None;
        for r in d["regions"].as_array().unwrap() {
            let (index, size) = (r["bar"].as_u64().unwrap(), r["size"].as_u64().unwrap());
            if index == 6 {
                rom_size = Some(size);
                continue;
            }
            let kind = r["type"].as_str().unwrap();
            // QEMU reports -1 while decoding is off; then take the image's
            // programmed address and compare the rest.
            let address = match r["address"].as_i64().unwrap() {
                -1 => image
                    .get(&address)
                    .and_then(|(v, _)| v.bars.iter().find(|b| b.starts_with(&format!("{index}:"))))
                    .map(|b| b.split(':').nth(2).unwrap().parse().unwrap())
                    .unwrap_or(u64::MAX),
                a => a as u64,
            };
            bars.push(format!("{index}:{kind}:{address}:{size}"));
        }
        let bridge = &d["pci_bridge"];
        let buses = bridge["bus"]["secondary"]
            .as_u64()
            .map(|s| (s, bridge["bus"]["subordinate"].as_u64().unwrap()));
        let windows = [
            ("io", "io_range"),
            ("mem", "memory_range"),
            ("pref", "prefetchable_range"),
        ]
        .iter()
        .filter_map(|(kind, key)| {
            let range = &bridge["bus"][key];
            let (base, limit) = (range["base"].as_u64()?, range["limit"].as_u64()?);
            (base <= limit).then(|| ((*kind).to_owned(), base, limit))
        })
        .collect();
        out.insert(
            address,
            FunctionView {
                id,
                class,
                bars,
                rom_size,
                buses,
                windows,
            },
        );
        if let Some(children) = bridge["devices"].as_array() {
            stack.extend(children);
        }
    }
    out
}

#[test]
fn finds_exactly_the_functions_qemu_built() {
    let (running, serial) = boot("pci-compare", "loglevel=8");
    let ours = image_view(&serial);
    let pci = running
        .qmp()
        .and_then(|mut q| q.execute("query-pci"))
        .expect("QMP query-pci");
    let theirs = qemu_view(&pci, &ours);
    let ours: BTreeMap<_, _> = ours.into_iter().map(|(a, (view, _))| (a, view)).collect();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "different functions"
    );
    for (address, view) in &theirs {
        assert_eq!(
            &ours[address], view,
            "{address} differs (image left, QEMU right)"
        );
    }
    // The default machine has every kind of function enumeration must handle.
    assert!(ours.len() >= 13, "{ours:#?}");
    assert!(
        ours.values()
            .any(|v| v.bars.iter().any(|b| b.contains(":io:"))),
        "an I/O BAR"
    );
    assert!(
        ours.values().filter(|v| v.buses.is_some()).count() >= 2,
        "two bridges"
    );
    assert!(ours.contains_key("0000:00:06.1"), "a multifunction device");
}

#[test]
fn takes_the_devices_the_hide_list_names() {
    // 00:03.0 by full address, slot 6 by wildcard, the bridge at 00:05.0
    // (and so the device behind it), one malformed entry and one absent device.
    let hide = "(0000:00:03.0)(00:06.*)(zz:1.0)(00:05.0)(00:1e.7)";
    let (_running, serial) = boot("pci-hide", &format!("loglevel=8 xen-pciback.hide={hide}"));
    let ours = image_view(&serial);
    let taken: Vec<&str> = ours
        .iter()
        .filter(|(_, (_, owner))| owner == "taken")
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(
        taken,
        [
            "0000:00:03.0",
            "0000:00:05.0",
            "0000:00:06.0",
            "0000:00:06.1",
            "0000:02:01.0"
        ],
        "{serial}"
    );
    let malformed = serial
        .lines()
        .find(|l| l.contains("xen-pciback.hide:") && l.contains("entry skipped"))
        .unwrap_or_else(|| panic!("no report of the malformed entry:\n{serial}"));
    // "zz", the bad bus, starts at byte 24 of the list.
    assert!(
        malformed.contains("at byte 24"),
        "position missing: {malformed}"
    );
    assert!(
        serial.contains("xen-pciback.hide: no device 0000:00:1e.7"),
        "{serial}"
    );
    assert!(
        serial.contains("pci: 5 functions taken for guests"),
        "{serial}"
    );
}
