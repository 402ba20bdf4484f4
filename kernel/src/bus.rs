// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PCI bus as this domain sees it: ECAM found (command line, else ACPI
//! MCFG), mapped uncached, and wrapped as the `pci` crate's config access.

use crate::ecam::EcamWindow;
use crate::{acpi, memory};
use alloc::vec::Vec;
use core::ptr::NonNull;
use pci::Ecam;

/// Finds the ECAM windows: `pci.ecam=` wins; else ACPI's MCFG.
pub fn find_ecam(
    command_line: Option<EcamWindow>,
    rsdp: Option<u64>,
    ebda: Option<u64>,
) -> Vec<EcamWindow> {
    if let Some(window) = command_line {
        log::info!("ECAM from the command line: {window}");
        return alloc::vec![window];
    }
    let windows = acpi::ecam_windows(rsdp, ebda).unwrap_or_default();
    for window in &windows {
        log::info!("ECAM from ACPI MCFG: {window}");
    }
    windows
}

/// Maps a window uncached and returns its config access.
pub fn map(window: &EcamWindow) -> Result<Ecam, memory::paging::MapError> {
    let range = window.range();
    let base = memory::map_mmio(range.clone())?;
    let base = NonNull::new(base).ok_or(memory::paging::MapError::Overflow)?;
    // SAFETY: `base` is `window.range()` — the configuration space of buses
    // start..=end of this segment, as ACPI or the administrator described
    // it — identity-mapped uncached just above, never referenced by Rust
    // references, and mapped for the life of the domain.
    Ok(unsafe { Ecam::new(base, window.segment, window.start_bus, window.end_bus) })
}
