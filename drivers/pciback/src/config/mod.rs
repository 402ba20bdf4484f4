// SPDX-License-Identifier: MIT OR Apache-2.0
//! The configuration space a guest sees: Linux's `conf_space.c`.
//!
//! Each device has a list of [`Field`]s, built once when the device is
//! taken, in Linux's order: the common header, the header of its type (BARs
//! and ROM), then for each capability Linux registers (VPD, PM, MSI, MSI-X;
//! first instance of each) its 2-byte ID/next header and its registers,
//! then quirks. A field whose offset is already taken is skipped, as
//! `xen_pcibk_field_is_dup` does.
//!
//! A read fetches the real register, then lays every overlapping field's
//! value over it byte by byte, in list order (`merge_value`): bytes no field
//! covers read the hardware. A write goes to each overlapping field, merged
//! into that field's current value; the result is the last field's. A write
//! no field overlaps reaches the hardware only in permissive mode, and is
//! otherwise dropped with success (one warning per device).
//!
//! Where this differs from Linux, on purpose:
//! - The offset must lie inside the 4 KiB configuration space (Linux checks
//!   only size and alignment, and lets the PCI core fail later with `-EINVAL`
//!   or, for negative offsets on x86, alias another register):
//!   `XEN_PCI_ERR_invalid_offset` here.
//! - A read returns only the bytes asked for. Linux's merge can leave a
//!   wider field's other bytes in `value` (a byte read of the command
//!   register answers all 16 bits); guests truncate them anyway.

mod bar;
mod capability;
mod command;
mod field;
mod header;
mod quirks;
mod snapshot;

use alloc::vec::Vec;

use pci::{CONFIG_SPACE_SIZE, ConfigAccess, Width};

use crate::Delay;
use crate::error::OpError;
use crate::hardware::Hardware;
use crate::state::DeviceState;
use field::{Context, Field, Register, Spec};

pub use quirks::Quirk;

/// One access of the guest, validated: inside configuration space and
/// naturally aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// Byte offset.
    pub(crate) offset: u16,
    /// Width.
    pub(crate) width: Width,
}

impl Access {
    /// Validates `xen_pci_op.offset` and `.size`: Linux's `valid_request`
    /// (size 1, 2 or 4, offset a multiple of it) and an offset inside 4 KiB.
    pub(crate) fn new(offset: i32, size: i32) -> Result<Self, OpError> {
        let width = u32::try_from(size)
            .ok()
            .and_then(Width::from_bytes)
            .ok_or(OpError::InvalidOffset)?;
        let offset = u16::try_from(offset)
            .ok()
            .filter(|offset| width.fits(*offset))
            .ok_or(OpError::InvalidOffset)?;
        Ok(Self { offset, width })
    }

    /// One past the last byte.
    fn end(self) -> u32 {
        u32::from(self.offset).saturating_add(self.width.bytes().into())
    }

    /// Whether the access touches any byte of `field`.
    fn overlaps(self, field: &Field) -> bool {
        self.end() > u32::from(field.offset) && field.end() > u32::from(self.offset)
    }
}

/// Linux's `merge_value`: the bytes of `new` under `mask`, a register that
/// starts at `new_at`, laid over `value`, a register that starts at
/// `value_at` (the registers overlap, so the distance is below 4).
fn merge(value: u32, new: u32, mask: u32, new_at: u16, value_at: u16) -> u32 {
    let shift = u32::from(new_at.abs_diff(value_at)).saturating_mul(8);
    let (mask, new) = if new_at >= value_at {
        (
            mask.checked_shl(shift).unwrap_or(0),
            new.checked_shl(shift).unwrap_or(0),
        )
    } else {
        (
            mask.checked_shr(shift).unwrap_or(0),
            new.checked_shr(shift).unwrap_or(0),
        )
    };
    (value & !mask) | (new & mask)
}

/// What one dword of configuration space has: the fields touching it (in
/// list order), which of its bytes they virtualize, and the read-only bytes
/// kept from take time (`snapshot`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Dword {
    /// Its number (offset / 4).
    dword: u16,
    /// Its fields: `start..end` of [`DwordIndex::fields`].
    start: u16,
    end: u16,
    /// Byte lanes a field with a value of its own covers.
    virtual_lanes: u8,
    /// Byte lanes kept from take time, the same as a bit mask, and their
    /// values.
    fixed_lanes: u8,
    fixed_mask: u32,
    fixed: u32,
}

/// For each dword with fields or kept bytes, what it has: an access (always
/// inside one dword) looks at nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DwordIndex {
    /// Sorted by dword.
    dwords: Vec<Dword>,
    /// Their dwords, for the search.
    keys: Vec<u16>,
    /// Field indices, grouped by dword.
    fields: Vec<u16>,
}

impl DwordIndex {
    /// The index of `fields` and the read-only bytes `fixed` (as
    /// [`snapshot::read_only`] gives them).
    fn new(fields: &[Field], fixed: &[(u16, u8, u32)]) -> Self {
        let mut pairs: Vec<(u16, u16)> = Vec::new();
        for (index, field) in (0_u16..).zip(fields) {
            let first = field.offset / 4;
            let last = u16::try_from(field.end().saturating_sub(1) / 4).unwrap_or(u16::MAX);
            // Kept sorted as it grows: no sort routine in the image.
            for pair in (first..=last).map(|dword| (dword, index)) {
                pairs.insert(pairs.partition_point(|&p| p < pair), pair);
            }
        }
        let mut index = Self::default();
        for (dword, field) in pairs {
            let position = u16::try_from(index.fields.len()).unwrap_or(u16::MAX);
            let lanes = fields
                .get(usize::from(field))
                .filter(|field| field.register.virtualizes_reads())
                .map_or(0, |field| field_lanes(field, dword));
            match index.dwords.last_mut() {
                Some(entry) if entry.dword == dword => {
                    entry.end = position.saturating_add(1);
                    entry.virtual_lanes |= lanes;
                }
                _ => index.dwords.push(Dword {
                    dword,
                    start: position,
                    end: position.saturating_add(1),
                    virtual_lanes: lanes,
                    ..Dword::default()
                }),
            }
            index.fields.push(field);
        }
        for &(dword, lanes, value) in fixed {
            match index
                .dwords
                .binary_search_by_key(&dword, |entry| entry.dword)
            {
                Ok(found) => {
                    if let Some(entry) = index.dwords.get_mut(found) {
                        entry.fixed_lanes = lanes;
                        entry.fixed_mask = lane_bits(lanes);
                        entry.fixed = value;
                    }
                }
                Err(at) => index.dwords.insert(
                    at,
                    Dword {
                        dword,
                        fixed_lanes: lanes,
                        fixed_mask: lane_bits(lanes),
                        fixed: value,
                        ..Dword::default()
                    },
                ),
            }
        }
        index.keys = index.dwords.iter().map(|entry| entry.dword).collect();
        index
    }

    /// What `dword` has, if anything.
    fn entry(&self, dword: u16) -> Option<&Dword> {
        self.keys
            .binary_search(&dword)
            .ok()
            .and_then(|found| self.dwords.get(found))
    }

    /// The fields touching `dword`, in list order.
    fn get(&self, dword: u16) -> &[u16] {
        self.entry(dword)
            .map(|entry| self.fields_of(entry))
            .unwrap_or_default()
    }

    /// The fields of `entry`, in list order.
    fn fields_of(&self, entry: &Dword) -> &[u16] {
        self.fields
            .get(usize::from(entry.start)..usize::from(entry.end))
            .unwrap_or_default()
    }

    /// Reads again the kept bytes `access` covers, after a write reached
    /// the hardware.
    fn refresh<A: ConfigAccess + ?Sized>(&mut self, hw: &Hardware<'_, A>, access: Access) {
        let dword = access.offset / 4;
        let Ok(found) = self
            .dwords
            .binary_search_by_key(&dword, |entry| entry.dword)
        else {
            return;
        };
        let Some(entry) = self.dwords.get_mut(found) else {
            return;
        };
        let touched = entry.fixed_lanes & snapshot::lanes(access.offset, access.width.bytes());
        for lane in (0..4u16).filter(|lane| touched & (1 << lane) != 0) {
            let shift = u32::from(lane) * 8;
            let byte = u32::from(hw.read8(dword.saturating_mul(4).saturating_add(lane)));
            entry.fixed = (entry.fixed & !(0xFF << shift)) | (byte << shift);
        }
    }
}

/// Byte lanes as a mask of their bits.
fn lane_bits(lanes: u8) -> u32 {
    (0..4u32)
        .filter(|lane| lanes & (1 << lane) != 0)
        .fold(0, |mask, lane| {
            mask | 0xFF_u32.checked_shl(lane.saturating_mul(8)).unwrap_or(0)
        })
}

/// The byte lanes of `dword` that `field` covers.
fn field_lanes(field: &Field, dword: u16) -> u8 {
    let start = u32::from(dword) * 4;
    (0..4u32)
        .filter(|lane| {
            let byte = start.saturating_add(*lane);
            byte >= u32::from(field.offset) && byte < field.end()
        })
        .fold(0, |lanes, lane| lanes | (1 << lane))
}

/// The virtual configuration space of one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConfigSpace {
    /// Fields, in Linux's list order.
    fields: Vec<Field>,
    /// Which fields each dword has: an access looks at no others.
    index: DwordIndex,
    /// Whether reads may skip fields that pass hardware through: true
    /// unless such a field overlaps an earlier virtual one (only hostile
    /// capability layouts do that), whose bytes it would override.
    skip_hardware_reads: bool,
}

impl ConfigSpace {
    /// Builds the field list of the function `hw` reaches, described by
    /// `state` (Linux's `xen_pcibk_config_init_dev`).
    pub(crate) fn build<A: ConfigAccess + ?Sized>(
        hw: &Hardware<'_, A>,
        state: &DeviceState,
        quirks: &[Quirk],
    ) -> Self {
        let mut space = Self {
            fields: Vec::new(),
            index: DwordIndex::default(),
            skip_hardware_reads: true,
        };
        space.add(hw, state, 0, header::COMMON);
        let layout = if state.is_bridge {
            header::BRIDGE
        } else {
            header::ENDPOINT
        };
        space.add(hw, state, 0, layout);
        for (id, table) in capability::TABLES {
            if let Some(offset) = state.capabilities.find(*id) {
                space.add(hw, state, offset, capability::HEADER);
                space.add(hw, state, offset, table);
            }
        }
        for quirk in quirks.iter().filter(|quirk| quirk.matches(&state.identity)) {
            match quirk.spec() {
                Some(spec) => space.add(hw, state, 0, &[spec]),
                None => warn!("pciback {}: {quirk} does not fit, ignored", state.address),
            }
        }
        // Read-only registers a field does not handle with a value of its
        // own (only the header's pin, read through, is both).
        let fixed = snapshot::read_only(hw, state, |byte| {
            let access = Access {
                offset: byte,
                width: Width::Byte,
            };
            space
                .fields
                .iter()
                .any(|field| access.overlaps(field) && field.register != Register::ReadOnly)
        });
        space.index = DwordIndex::new(&space.fields, &fixed);
        space
    }

    /// Adds the fields of `table` at `base`, skipping offsets already taken.
    fn add<A: ConfigAccess + ?Sized>(
        &mut self,
        hw: &Hardware<'_, A>,
        state: &DeviceState,
        base: u16,
        table: &[Spec],
    ) {
        for spec in table {
            let Some(offset) = base
                .checked_add(spec.offset)
                .filter(|offset| *offset < CONFIG_SPACE_SIZE)
            else {
                continue;
            };
            if self.fields.iter().any(|field| field.offset == offset) {
                continue;
            }
            let field = Field {
                offset,
                width: spec.width,
                register: Register::new(spec.kind, offset, hw, state),
            };
            if !field.register.virtualizes_reads() {
                let access = Access {
                    offset: field.offset,
                    width: field.width,
                };
                let hides_virtual = self.fields.iter().any(|earlier| {
                    earlier.register.virtualizes_reads() && access.overlaps(earlier)
                });
                self.skip_hardware_reads &= !hides_virtual;
            }
            self.fields.push(field);
        }
    }

    /// What the guest reads (Linux's `xen_pcibk_config_read`).
    pub(crate) fn read<A: ConfigAccess + ?Sized>(
        &self,
        hw: &Hardware<'_, A>,
        state: &DeviceState,
        access: Access,
    ) -> u32 {
        let entry = self.index.entry(access.offset / 4);
        let (answered, fixed_lanes) = entry.map_or((0, 0), |entry| {
            (entry.virtual_lanes | entry.fixed_lanes, entry.fixed_lanes)
        });
        let lanes = snapshot::lanes(access.offset, access.width.bytes());
        // Bytes the kept values or virtual fields answer need no hardware.
        let mut value = if answered & lanes == lanes {
            0
        } else {
            hw.read(access.width, access.offset)
        };
        let Some(entry) = entry else {
            return value & access.width.mask();
        };
        if fixed_lanes & lanes != 0 {
            let shift = u32::from(access.offset % 4) * 8;
            let kept = entry.fixed_mask.checked_shr(shift).unwrap_or(0);
            value = (value & !kept) | (entry.fixed.checked_shr(shift).unwrap_or(0) & kept);
        }
        for index in self.index.fields_of(entry) {
            let Some(field) = self.fields.get(usize::from(*index)) else {
                continue;
            };
            if !access.overlaps(field)
                || (self.skip_hardware_reads && !field.register.virtualizes_reads())
            {
                continue;
            }
            let field_value = field.register.read(hw, state, field.offset, field.width);
            value = merge(
                value,
                field_value,
                field.width.mask(),
                field.offset,
                access.offset,
            );
        }
        value & access.width.mask()
    }

    /// Handles a guest write (Linux's `xen_pcibk_config_write`).
    pub(crate) async fn write<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
        &mut self,
        hw: &Hardware<'_, A>,
        state: &mut DeviceState,
        delay: &D,
        access: Access,
        value: u32,
        permissive: bool,
    ) -> Result<(), OpError> {
        let mut result = Ok(());
        let mut handled = false;
        {
            let mut context = Context {
                hw,
                state,
                delay,
                permissive,
            };
            for index in self.index.get(access.offset / 4) {
                let Some(field) = self.fields.get_mut(usize::from(*index)) else {
                    continue;
                };
                if !access.overlaps(field) {
                    continue;
                }
                // A write of the whole field needs no read of it (Linux
                // reads it anyway; a read has no side effect to keep).
                let merged = if access.offset == field.offset && access.width == field.width {
                    value & field.width.mask()
                } else {
                    let current =
                        field
                            .register
                            .read(context.hw, context.state, field.offset, field.width);
                    merge(
                        current,
                        value,
                        access.width.mask(),
                        access.offset,
                        field.offset,
                    ) & field.width.mask()
                };
                result = field
                    .register
                    .write(&mut context, field.offset, field.width, merged)
                    .await;
                handled = true;
            }
        }
        if !handled && result.is_ok() {
            if permissive {
                hw.write(access.width, access.offset, value);
                self.index.refresh(hw, access);
            } else if !state.warned_on_write {
                state.warned_on_write = true;
                warn!(
                    "pciback {}: guest wrote read-only register {:#x} ({} bytes); dropped \
                     (permissive mode would let it through)",
                    state.address,
                    access.offset,
                    access.width.bytes()
                );
            }
        }
        result
    }

    /// Forgets what the last guest did (Linux's `xen_pcibk_config_reset_dev`).
    pub(crate) fn reset(&mut self) {
        for field in &mut self.fields {
            field.register.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_are_sized_aligned_and_inside_4k() {
        // Linux's valid_request: size 1, 2 or 4 and offset % size == 0; plus the 4 KiB bound.
        let table: [(i32, i32, bool); 12] = [
            (0, 1, true),
            (0xFFF, 1, true),
            (0xFFE, 2, true),
            (0xFFC, 4, true),
            (0x1000, 1, false),
            (0x1000, 4, false),
            (-4, 4, false),
            (2, 4, false),
            (1, 2, false),
            (0, 3, false),
            (0, 0, false),
            (0, -1, false),
        ];
        for (offset, size, valid) in table {
            assert_eq!(
                Access::new(offset, size).is_ok(),
                valid,
                "offset {offset:#x} size {size}"
            );
        }
    }

    #[test]
    fn merge_places_bytes_like_linux_merge_value() {
        // A 16-bit field at 0x04 read through a byte access at 0x05: its high byte.
        assert_eq!(merge(0xAA, 0x1234, 0xFFFF, 0x04, 0x05), 0x12);
        // A byte field at 0x3D inside a dword access at 0x3C: byte 1.
        assert_eq!(merge(0x1111_1111, 0x22, 0xFF, 0x3D, 0x3C), 0x1111_2211);
        // A write of byte 0x5A at 0x05 into a 16-bit field at 0x04.
        assert_eq!(merge(0x0107, 0x5A, 0xFF, 0x05, 0x04), 0x5A07);
        // A dword write at 0x3C into the byte field at 0x3D.
        assert_eq!(merge(0, 0xDDCC_BBAA, u32::MAX, 0x3C, 0x3D) & 0xFF, 0xBB);
    }
}
