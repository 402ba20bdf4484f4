// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PCI bus as this domain sees it: ECAM found (command line, else ACPI
//! MCFG) and mapped uncached, every bus enumerated, the devices the hide
//! list names taken, and the table printed.

use crate::ecam::EcamWindow;
use crate::memory::paging::MapError;
use crate::{acpi, memory, time};
use alloc::vec::Vec;
use core::ptr::NonNull;
use pci::{Address, Ecam, Selector, Topology};

/// One ECAM segment: its window, its access, what was found on it.
#[derive(Debug)]
pub struct Segment {
    /// Where its ECAM is.
    pub window: EcamWindow,
    /// Config access through that ECAM.
    pub ecam: Ecam,
    /// Every function found.
    pub topology: Topology,
}

/// The bus: its segments, and which functions this domain took.
#[derive(Debug, Default)]
pub struct Bus {
    /// The segments found, in discovery order.
    pub segments: Vec<Segment>,
    /// The functions the hide list selected, to be given to guests.
    pub taken: Vec<Address>,
}

impl Bus {
    /// Whether this domain took `address` for its guests.
    pub fn is_taken(&self, address: Address) -> bool {
        self.taken.binary_search(&address).is_ok()
    }
}

/// Finds ECAM, enumerates every segment, applies `hide` (Linux's
/// `xen-pciback.hide=` syntax) and prints the result.
pub fn init(
    command_line: Option<EcamWindow>,
    rsdp: Option<u64>,
    ebda: Option<u64>,
    hide: Option<&str>,
) -> Bus {
    let mut bus = Bus::default();
    let windows = find_ecam(command_line, rsdp, ebda);
    if windows.is_empty() {
        log::warn!(target: "pci", "no ECAM (no ACPI MCFG, no pci.ecam=): no PCI bus; staying up for diagnostics");
    }
    for window in windows {
        let ecam = match map(&window) {
            Ok(ecam) => ecam,
            Err(e) => {
                log::error!(target: "pci", "cannot map ECAM {window}: {e}");
                continue;
            }
        };
        let started = time::tsc();
        let topology = pci::enumerate(&ecam, window.segment, window.start_bus..=window.end_bus);
        log::info!(
            target: "pci",
            "segment {:04x}: {} functions on buses {:02x}-{:02x} enumerated in {} us",
            window.segment,
            topology.functions.len(),
            window.start_bus,
            window.end_bus,
            time::ticks_to_micros(time::tsc().saturating_sub(started))
        );
        bus.segments.push(Segment {
            window,
            ecam,
            topology,
        });
    }
    let selectors = hide.map(hide_list).unwrap_or_default();
    for segment in &bus.segments {
        let topology = &segment.topology;
        let found = topology.functions.iter().map(|f| f.address);
        bus.taken
            .extend(found.filter(|&a| topology.selects(&selectors, a)));
    }
    bus.taken.sort_unstable();
    for selector in &selectors {
        if !bus.taken.iter().any(|&a| selector.matches(a)) {
            log::warn!(target: "pci", "xen-pciback.hide: no device {selector} on the bus");
        }
    }
    report(&bus);
    bus
}

/// Parses the hide list, reporting each malformed entry with its position.
fn hide_list(text: &str) -> Vec<Selector> {
    let list = pci::parse_device_list(text);
    for error in &list.errors {
        log::warn!(target: "pci", "xen-pciback.hide: {error}; entry skipped");
    }
    list.selectors
}

/// Prints the lspci-like table, and at debug level the machine-readable
/// form the tests compare with QEMU's own view.
fn report(bus: &Bus) {
    let owner = |a: Address| if bus.is_taken(a) { "taken" } else { "-" };
    for segment in &bus.segments {
        for line in pci::report::table(&segment.topology, &owner) {
            log::info!(target: "pci", "{line}");
        }
        for line in pci::report::machine(&segment.topology, &owner) {
            log::debug!(target: "pci", "{line}");
        }
    }
}

/// The ECAM windows: `pci.ecam=` wins; else ACPI's MCFG.
fn find_ecam(
    command_line: Option<EcamWindow>,
    rsdp: Option<u64>,
    ebda: Option<u64>,
) -> Vec<EcamWindow> {
    if let Some(window) = command_line {
        log::info!(target: "pci", "ECAM from the command line: {window}");
        return alloc::vec![window];
    }
    let windows = acpi::ecam_windows(rsdp, ebda).unwrap_or_default();
    for window in &windows {
        log::info!(target: "pci", "ECAM from ACPI MCFG: {window}");
    }
    windows
}

/// Maps a window uncached and returns its config access.
fn map(window: &EcamWindow) -> Result<Ecam, MapError> {
    let range = window.range();
    let base = NonNull::new(memory::map_mmio(range)?).ok_or(MapError::Overflow)?;
    // SAFETY: `base` is `window.range()` — the configuration space of buses
    // start..=end of this segment, as ACPI or the administrator described
    // it — identity-mapped uncached just above, never referenced by Rust
    // references, and mapped for the life of the domain.
    Ok(unsafe { Ecam::new(base, window.segment, window.start_bus, window.end_bus) })
}
