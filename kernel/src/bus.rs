// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PCI bus as this domain sees it: ECAM found (command line, else ACPI
//! MCFG) and mapped uncached, every bus enumerated, the devices the hide
//! list names taken, and the table printed.

use crate::ecam::EcamWindow;
use crate::memory::paging::MapError;
use crate::{acpi, memory, time};
use alloc::vec::Vec;
use core::ptr::NonNull;
use pci::{Address, ConfigAccess, Ecam, Selector, Topology};

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
    /// The segment `address` is on.
    pub fn segment(&self, address: Address) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.window.segment == address.segment())
    }

    /// Config access to the segment of `address`.
    pub fn access(&self, address: Address) -> Option<&Ecam> {
        self.segment(address).map(|s| &s.ecam)
    }

    /// Whether this domain took `address` for its guests.
    pub fn is_taken(&self, address: Address) -> bool {
        self.taken.binary_search(&address).is_ok()
    }

    /// Prints the lspci-like table, and at debug level the machine-readable
    /// form the tests compare with QEMU's own view.
    pub fn report(&self) {
        let owner = |a: Address| if self.is_taken(a) { "taken" } else { "-" };
        for segment in &self.segments {
            for line in pci::report::table(&segment.topology, &owner) {
                info!(target: "pci", "{line}");
            }
            for line in pci::report::machine(&segment.topology, &owner) {
                debug!(target: "pci", "{line}");
            }
        }
    }
}

/// Finds ECAM, has `reserve` announce each window (to Xen, which then
/// traps it for the hardware domain), enumerates every segment, applies
/// `hide` (Linux's `xen-pciback.hide=` syntax) and prints the result.
pub fn init(
    command_line: Option<EcamWindow>,
    rsdp: Option<u64>,
    ebda: Option<u64>,
    hide: Option<&str>,
    reserve: &dyn Fn(&EcamWindow) -> Result<(), &'static str>,
) -> Bus {
    let mut bus = Bus::default();
    let windows = find_ecam(command_line, rsdp, ebda);
    if windows.is_empty() {
        warn!(target: "pci", "no ECAM (no ACPI MCFG, no pci.ecam=): no PCI bus; staying up for diagnostics");
    }
    for window in windows {
        if let Err(e) = reserve(&window) {
            // Only the hardware domain may write config space: the first
            // write through an unannounced window would crash this domain.
            error!(
                target: "pci",
                "Xen refused ECAM {window} ({e}): is this domain Xen's hardware domain \
                 (hardware_dom=)? Leaving the bus alone"
            );
            continue;
        }
        let ecam = match map(&window) {
            Ok(ecam) => ecam,
            Err(e) => {
                error!(target: "pci", "cannot map ECAM {window}: {e}");
                continue;
            }
        };
        let started = time::tsc();
        let topology = pci::enumerate(&ecam, window.segment, window.start_bus..=window.end_bus);
        info!(
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
        // Kept sorted as it grows: no sort routine in the image.
        for address in found.filter(|&a| topology.selects(&selectors, a)) {
            let at = bus.taken.partition_point(|&taken| taken < address);
            bus.taken.insert(at, address);
        }
    }
    for selector in &selectors {
        if !bus.taken.iter().any(|&a| selector.matches(a)) {
            warn!(target: "pci", "xen-pciback.hide: no device {selector} on the bus");
        }
    }
    bus.report();
    check_write_path(&bus);
    bus
}

/// Writes each taken device's interrupt-line register (a scratch byte no
/// device acts on), reads it back and restores it: proof at boot that this
/// domain's config writes reach the devices it will serve.
fn check_write_path(bus: &Bus) {
    const PATTERN: u8 = 0x5a;
    const LINE: u16 = pci::register::INTERRUPT_LINE;
    for &address in &bus.taken {
        let Some(ecam) = bus.access(address) else {
            continue;
        };
        let old = ecam.read8(address, LINE);
        ecam.write8(address, LINE, PATTERN);
        let seen = ecam.read8(address, LINE);
        ecam.write8(address, LINE, old);
        let restored = ecam.read8(address, LINE);
        let verdict = if seen == PATTERN && restored == old {
            "ok"
        } else {
            "FAILED"
        };
        info!(
            target: "selftest",
            "ecam write {address} interrupt line {old:#04x} -> {seen:#04x} -> {restored:#04x} {verdict}"
        );
    }
}

/// Parses the hide list, reporting each malformed entry with its position.
fn hide_list(text: &str) -> Vec<Selector> {
    let list = pci::parse_device_list(text);
    for error in &list.errors {
        warn!(target: "pci", "xen-pciback.hide: {error}; entry skipped");
    }
    list.selectors
}

/// The ECAM windows: `pci.ecam=` wins; else ACPI's MCFG.
fn find_ecam(
    command_line: Option<EcamWindow>,
    rsdp: Option<u64>,
    ebda: Option<u64>,
) -> Vec<EcamWindow> {
    if let Some(window) = command_line {
        info!(target: "pci", "ECAM from the command line: {window}");
        return alloc::vec![window];
    }
    let windows = acpi::ecam_windows(rsdp, ebda).unwrap_or_default();
    for window in &windows {
        info!(target: "pci", "ECAM from ACPI MCFG: {window}");
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

/// Config access to every segment: each access goes to its segment's ECAM;
/// an address on no segment reads all ones and drops writes.
impl ConfigAccess for Bus {
    fn read8(&self, address: Address, offset: u16) -> u8 {
        self.access(address)
            .map_or(u8::MAX, |e| e.read8(address, offset))
    }

    fn read16(&self, address: Address, offset: u16) -> u16 {
        self.access(address)
            .map_or(u16::MAX, |e| e.read16(address, offset))
    }

    fn read32(&self, address: Address, offset: u16) -> u32 {
        self.access(address)
            .map_or(u32::MAX, |e| e.read32(address, offset))
    }

    fn write8(&self, address: Address, offset: u16, value: u8) {
        if let Some(e) = self.access(address) {
            e.write8(address, offset, value);
        }
    }

    fn write16(&self, address: Address, offset: u16, value: u16) {
        if let Some(e) = self.access(address) {
            e.write16(address, offset, value);
        }
    }

    fn write32(&self, address: Address, offset: u16, value: u32) {
        if let Some(e) = self.access(address) {
            e.write32(address, offset, value);
        }
    }
}
