// SPDX-License-Identifier: MIT OR Apache-2.0
//! Registers the PCI specifications make read-only, read once when the device
//! is taken and answered from there.
//!
//! Every read of configuration space by this domain is a trip through Xen
//! (vPCI traps ECAM for the hardware domain): a VM exit. A guest reads the
//! same identification and capability registers over and over (`lspci`, a
//! driver's probe), and those cannot change: their values are kept here
//! and served without touching the device. Only registers the PCI Local
//! Bus and PCI Express specifications define as read-only (or hardware
//! initialised) are kept, never one with a side effect or live status:
//!
//! - the header's revision and class code, header type, CardBus CIS and
//!   subsystem IDs (type 0), capability pointer, interrupt pin and
//!   Min_Gnt/Max_Lat (type 0);
//! - each standard capability's ID and next pointer, each extended
//!   capability's header;
//! - PCI Express: the capabilities registers (PCIe, device, link; slot and
//!   root where implemented; the "2" set from version 2);
//! - MSI-X: the table and PBA offset registers;
//! - Device Serial Number: the serial number.
//!
//! Registers a field of the virtual configuration space handles are left
//! to it. A capability list that is malformed stops the walk: nothing past
//! the fault is kept. A write that reaches the hardware (permissive mode)
//! reads the bytes it covers again, should a device not follow the
//! specification.

use alloc::vec::Vec;

use pci::ConfigAccess;
use pci::capability::{self, CapabilityId, ExtendedCapabilityId, PortType};
use pci::register::{self, dsn, msix, pcie};

use crate::hardware::{Hardware, at};
use crate::state::DeviceState;

/// A run of read-only bytes: its offset and length.
type Range = (u16, u16);

/// Every read-only range of the function `hw` reaches, per the notes above.
fn ranges<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &DeviceState) -> Vec<Range> {
    let mut ranges: Vec<Range> = Vec::from([
        (register::REVISION_ID, 4),
        (register::HEADER_TYPE, 1),
        (register::CAPABILITIES_POINTER, 1),
        (register::INTERRUPT_PIN, 1),
    ]);
    if !state.is_bridge {
        ranges.extend([
            (register::CARDBUS_CIS, 4),
            (register::SUBSYSTEM_VENDOR_ID, 4),
            (register::MIN_GNT, 2),
        ]);
    }
    for found in capability::capabilities(hw.access(), hw.address()) {
        let Ok(found) = found else { break };
        ranges.push((found.offset, 2));
        if found.id == CapabilityId::MSI_X {
            ranges.push((at(found.offset, msix::TABLE), 8));
        }
    }
    if let Some(express) = state.pcie {
        let base = express.offset;
        ranges.extend([
            (at(base, pcie::CAPABILITIES), 2),
            (at(base, pcie::DEVICE_CAPABILITIES), 4),
            (at(base, pcie::LINK_CAPABILITIES), 4),
        ]);
        if express.slot {
            ranges.push((at(base, pcie::SLOT_CAPABILITIES), 4));
        }
        if matches!(
            express.port_type,
            PortType::RootPort | PortType::EventCollector
        ) {
            ranges.push((at(base, pcie::ROOT_CAPABILITIES), 2));
        }
        if express.version >= 2 {
            ranges.extend([
                (at(base, pcie::DEVICE_CAPABILITIES_2), 4),
                (at(base, pcie::LINK_CAPABILITIES_2), 4),
                (at(base, pcie::SLOT_CAPABILITIES_2), 4),
            ]);
        }
        for found in capability::extended_capabilities(hw.access(), hw.address()) {
            let Ok(found) = found else { break };
            ranges.push((found.offset, 4));
            if found.id == ExtendedCapabilityId::DEVICE_SERIAL_NUMBER {
                ranges.push((at(found.offset, dsn::SERIAL), 8));
            }
        }
    }
    ranges
}

/// The read-only bytes of the function, as (dword, byte mask, value):
/// sorted by dword, one entry per dword, bytes outside the mask zero.
/// `excluded` says which bytes a field of the configuration space handles.
pub(super) fn read_only<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
    excluded: impl Fn(u16) -> bool,
) -> Vec<(u16, u8, u32)> {
    let mut dwords: Vec<(u16, u8, u32)> = Vec::new();
    for (offset, length) in ranges(hw, state) {
        for byte in offset..offset.saturating_add(length) {
            if byte >= pci::CONFIG_SPACE_SIZE || excluded(byte) {
                continue;
            }
            let (dword, lane) = (byte / 4, byte % 4);
            let bit = 1u8 << lane;
            let value = u32::from(hw.read8(byte)) << (u32::from(lane) * 8);
            // Kept sorted as it grows: no sort routine in the image.
            match dwords.binary_search_by_key(&dword, |&(at, _, _)| at) {
                Ok(at) => {
                    if let Some((_, mask, word)) = dwords.get_mut(at) {
                        *mask |= bit;
                        *word |= value;
                    }
                }
                Err(at) => dwords.insert(at, (dword, bit, value)),
            }
        }
    }
    dwords
}

/// The bytes of `dword` an access of `width` at `offset` covers, as a mask
/// of byte lanes (the access is inside one dword).
pub(super) fn lanes(offset: u16, bytes: u16) -> u8 {
    let all = u8::try_from((1u16 << bytes.min(4)).saturating_sub(1)).unwrap_or(0x0F);
    all.checked_shl(u32::from(offset % 4)).unwrap_or(0) & 0x0F
}
