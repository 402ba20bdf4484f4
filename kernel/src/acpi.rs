// SPDX-License-Identifier: MIT OR Apache-2.0
//! ACPI, for one thing: the MCFG table, which says where ECAM is.
//!
//! Table parsing (RSDP, RSDT/XSDT walk, checksums) is the `acpi` crate's.
//! Version 5 is used: version 6 folds the AML interpreter's handler (port
//! and PCI I/O, mutexes, sleeping: some 25 methods) into table parsing, all
//! of which this image would have to implement only to read one table.

use crate::ecam::EcamWindow;
use crate::memory;
use acpi::mcfg::Mcfg;
use acpi::{AcpiHandler, AcpiTable, AcpiTables, PhysicalMapping};
use alloc::vec::Vec;
use core::ptr::NonNull;

/// The BIOS read-only area the ACPI specification says to search.
const BIOS_AREA: core::ops::Range<u64> = 0xe_0000..0x10_0000;

/// Maps ACPI tables as they are asked for: identity, read-only, cached.
#[derive(Clone, Copy, Debug)]
struct Firmware;

impl AcpiHandler for Firmware {
    unsafe fn map_physical_region<T>(
        &self,
        physical: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let start = physical as u64;
        // The trait cannot fail. Mapping read-only cached memory fails only
        // when the range is already device memory or frames ran out: broken
        // firmware at boot, which is reported loudly rather than read.
        let pointer = match memory::map_firmware(start..start.saturating_add(size as u64)) {
            Ok(pointer) => NonNull::new(pointer.cast_mut().cast::<T>()),
            Err(e) => panic!("ACPI table at {physical:#x} (+{size:#x}) cannot be mapped: {e}"),
        };
        let Some(pointer) = pointer else {
            panic!("ACPI table at physical address 0")
        };
        // SAFETY: `pointer` is the identity mapping of `physical..+size`,
        // just mapped readable; firmware tables do not change under us.
        unsafe { PhysicalMapping::new(physical, pointer, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {
        // Tables stay mapped: they are few and small, and read only at boot.
    }
}

/// The ECAM windows ACPI describes, found from `rsdp` (the start info's) or
/// by searching the BIOS area and the EBDA at `ebda` (as the ACPI spec says)
/// when the loader gave none. `None` when there is no ACPI or no MCFG.
pub fn ecam_windows(rsdp: Option<u64>, ebda: Option<u64>) -> Option<Vec<EcamWindow>> {
    let rsdp = match rsdp {
        Some(rsdp) => {
            info!("RSDP at {rsdp:#x} (from the start info)");
            rsdp
        }
        None => {
            let found = search_rsdp(ebda);
            match found {
                Some(rsdp) => info!("RSDP at {rsdp:#x} (found in the BIOS area)"),
                None => info!("no RSDP: the loader gave none and the BIOS area has none"),
            }
            found?
        }
    };
    if memory::map_firmware(rsdp..rsdp + 36).is_err() {
        warn!("RSDP at {rsdp:#x} cannot be mapped");
        return None;
    }
    // SAFETY: `rsdp` was given by the loader or found with a valid
    // signature and checksum; the crate validates it again, and every table
    // it reaches is mapped through `Firmware`.
    let tables = match unsafe { AcpiTables::from_rsdp(Firmware, rsdp as usize) } {
        Ok(tables) => tables,
        Err(e) => {
            warn!("ACPI tables at RSDP {rsdp:#x} unusable: {e:?}");
            return None;
        }
    };
    let mcfg = match tables.find_table::<Mcfg>() {
        Ok(mcfg) => mcfg,
        Err(e) => {
            info!("no MCFG: {e:?}");
            return None;
        }
    };
    // `entries` trusts the length; refuse a header too short for the table.
    let length = mcfg.header().length as usize;
    if length < size_of::<Mcfg>() {
        warn!("MCFG length {length} is shorter than its header");
        return None;
    }
    let windows = mcfg
        .entries()
        .iter()
        .map(|e| EcamWindow {
            base: e.base_address,
            segment: e.pci_segment_group,
            start_bus: e.bus_number_start,
            end_bus: e.bus_number_end,
        })
        .collect();
    Some(windows)
}

/// Looks for "RSD PTR " on 16-byte boundaries with a valid ACPI 1.0
/// checksum: the first KiB of the EBDA, then the BIOS area.
fn search_rsdp(ebda: Option<u64>) -> Option<u64> {
    let ebda_area = ebda.map(|e| e..e + 1024);
    [ebda_area, Some(BIOS_AREA)]
        .into_iter()
        .flatten()
        .find_map(|area| {
            let base = memory::map_firmware(area.clone()).ok()?;
            // SAFETY: `area` was just mapped readable; firmware does not change
            // it, and no Rust reference to it exists elsewhere.
            let bytes =
                unsafe { core::slice::from_raw_parts(base, (area.end - area.start) as usize) };
            (0..bytes.len())
                .step_by(16)
                .find(|&offset| {
                    bytes.get(offset..offset + 20).is_some_and(|v1| {
                        v1.starts_with(b"RSD PTR ")
                            && v1.iter().fold(0u8, |s, b| s.wrapping_add(*b)) == 0
                    })
                })
                .map(|offset| area.start + offset as u64)
        })
}
