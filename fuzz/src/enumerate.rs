// SPDX-License-Identifier: MIT OR Apache-2.0
//! `enumerate`: bus enumeration and its report over arbitrary configuration space.
//!
//! The fuzzer's bytes place up to eight functions on buses 0-3 (bridges
//! among them, multi-function or not), each with configuration space the
//! fuzzer writes (raw bytes, writable masks, with a plausible header half
//! the time so enumeration goes deep: BARs, capability chains, bridge
//! windows and bus numbers), then enumerate the buses and print the table
//! and the machine-readable form the console shows.
//!
//! Invariants: enumeration ends and never panics; each function found is
//! one that exists (vendor not all ones), found once, sorted, on a bus in
//! the range asked for; enumeration leaves every function's configuration
//! space as it found it (BAR sizing restores what it wrote); the reports
//! print a line per function and end with `PCIEND`.

use arbitrary::Unstructured;
use pci::sim::{SimBus, SimDevice};
use pci::{Address, CONFIG_SPACE_SIZE, Width};

/// Most functions one input places.
const MAX_FUNCTIONS: usize = 8;
/// The buses enumerated.
const LAST_BUS: u8 = 3;

/// A function's configuration space: the fuzzer's bytes, with a header
/// that looks like one half the time.
fn space(u: &mut Unstructured<'_>) -> arbitrary::Result<(Vec<u8>, Vec<u8>)> {
    let len = u.int_in_range(0..=256_usize)?.min(u.len());
    let mut values = u.bytes(len)?.to_vec();
    values.resize(len.max(0x40), 0);
    if u.ratio(1, 2)? {
        values[0..2].copy_from_slice(&0x8086_u16.to_le_bytes());
        values[0x0e] = *u.choose(&[0x00, 0x01, 0x80, 0x81, 0x02])?;
        if u.ratio(1, 2)? {
            values[0x06] |= 0x10; // a capability list
            values[0x34] = u.int_in_range(0x40..=0xfc)?;
        }
    }
    let writable = if u.ratio(1, 2)? {
        let len = u.int_in_range(0..=0x40_usize)?.min(u.len());
        u.bytes(len)?.to_vec()
    } else {
        // Sizable BARs: address bits writable, the low bits read-only.
        let mut masks = vec![0; 0x40];
        for bar in (0x10..0x28).step_by(4) {
            masks[bar..bar + 4].copy_from_slice(&0xffff_f000_u32.to_le_bytes());
        }
        masks[0x04] = 0x07;
        masks
    };
    Ok((values, writable))
}

/// Every dword of the function at `at`.
fn snapshot(bus: &SimBus, at: Address) -> Vec<Option<u32>> {
    (0..CONFIG_SPACE_SIZE)
        .step_by(4)
        .map(|offset| bus.peek(at, offset, Width::Dword))
        .collect()
}

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let bus = SimBus::new();
    let mut placed = Vec::new();
    let count = u.int_in_range(1..=MAX_FUNCTIONS).unwrap_or(1);
    for _ in 0..count {
        let (Ok(b), Ok(d), Ok(f)) = (
            u.int_in_range(0..=LAST_BUS),
            u.int_in_range(0..=31_u8),
            u.int_in_range(0..=7_u8),
        ) else {
            break;
        };
        let Some(at) = Address::new(0, b, d, f) else {
            continue;
        };
        let Ok((values, writable)) = space(&mut u) else {
            break;
        };
        bus.insert(at, SimDevice::raw(&values, &writable));
        placed.push(at);
    }
    placed.sort_unstable();
    placed.dedup();
    let before: Vec<_> = placed.iter().map(|&at| snapshot(&bus, at)).collect();
    let first = u.int_in_range(0..=1_u8).unwrap_or(0);
    let topology = pci::enumerate(&bus, 0, first..=LAST_BUS);
    let after: Vec<_> = placed.iter().map(|&at| snapshot(&bus, at)).collect();
    for ((at, before), after) in placed.iter().zip(&before).zip(&after) {
        assert!(before == after, "enumeration changed {at}");
    }
    let mut previous = None;
    for function in &topology.functions {
        let at = function.address;
        assert!(placed.contains(&at), "found {at}, which does not exist");
        assert!(
            (first..=LAST_BUS).contains(&at.bus()),
            "{at} outside buses {first}-{LAST_BUS}"
        );
        assert_ne!(
            bus.peek(at, 0, Width::Word),
            Some(0xffff),
            "{at} reads as absent"
        );
        assert!(previous < Some(at), "{at} out of order or twice");
        previous = Some(at);
    }
    let owner = |_: Address| "-";
    let mut table = String::new();
    pci::report::write_lines(&mut table, pci::report::table(&topology, &owner))
        .expect("a String takes any text");
    let mut machine = String::new();
    pci::report::write_lines(&mut machine, pci::report::machine(&topology, &owner))
        .expect("a String takes any text");
    let records = machine.lines().filter(|l| l.starts_with("PCIDEV")).count();
    assert_eq!(records, topology.functions.len(), "{machine}");
    assert!(
        machine
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("PCIEND")),
        "{machine}"
    );
}
