// SPDX-License-Identifier: MIT OR Apache-2.0
//! Virtual BARs and ROM BAR: Linux's `bar_init`, `bar_read`, `bar_write`, `rom_write`.
//!
//! The guest reads the address the function was given (host physical: a PV
//! guest maps BARs at those addresses) with its original type bits, or,
//! after writing all ones (the address bits all ones), the size mask a real
//! BAR would answer. Nothing the guest writes moves the BAR: writing back
//! exactly the original value rewrites the hardware only if it somehow
//! changed; any other value is ignored.

use pci::ConfigAccess;
use pci::register::{self, BAR_IO_ADDRESS_MASK, BAR_MEMORY_ADDRESS_MASK, ROM_ADDRESS_MASK};

use crate::hardware::Hardware;
use crate::resources::{Resources, Space};

/// One virtual BAR: Linux's `pci_bar_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VirtualBar {
    /// What a read returns normally (`val`).
    value: u32,
    /// What a read returns after a sizing write (`len_val`).
    size_value: u32,
    /// The last write was a sizing write (`which`).
    sizing: bool,
    /// The low bits a sizing write may leave clear: type bits.
    type_bits: u32,
}

/// Low 32 bits of a 64-bit value.
fn low(value: u64) -> u32 {
    u32::try_from(value & u64::from(u32::MAX)).unwrap_or_default()
}

/// High 32 bits of a 64-bit value.
fn high(value: u64) -> u32 {
    u32::try_from(value >> 32).unwrap_or_default()
}

impl VirtualBar {
    const ABSENT: u32 = 0;

    /// The BAR at `offset` (Linux's `bar_init` for BAR slots).
    pub(crate) fn for_slot(resources: &Resources, offset: u16) -> Self {
        let index = u8::try_from(offset.saturating_sub(register::BAR0) / 4).unwrap_or(u8::MAX);
        if let Some(lower) = resources.upper_half_of(index) {
            // The high dword of a 64-bit BAR: Linux fills it even when the
            // low dword's resource is unassigned.
            return Self {
                value: high(lower.address),
                size_value: high(lower.size.wrapping_neg()),
                sizing: false,
                type_bits: 0,
            };
        }
        let resource = resources.bar(index);
        let type_bits = match resource {
            Some(resource) if resource.space == Space::Io => !BAR_IO_ADDRESS_MASK,
            _ => !BAR_MEMORY_ADDRESS_MASK,
        };
        match resource.filter(|resource| resource.is_assigned()) {
            Some(resource) => Self {
                value: low(resource.address) | resource.flags,
                size_value: low(resource.size.wrapping_neg()) | resource.flags,
                sizing: false,
                type_bits,
            },
            None => Self {
                value: Self::ABSENT,
                size_value: Self::ABSENT,
                sizing: false,
                type_bits,
            },
        }
    }

    /// The expansion ROM BAR (Linux's `bar_init` for the ROM resource).
    pub(crate) fn for_rom(resources: &Resources) -> Self {
        let (value, size_value) = resources.rom().filter(|rom| rom.address != 0).map_or(
            (Self::ABSENT, Self::ABSENT),
            |rom| {
                let enable = if rom.enabled { register::ROM_ENABLE } else { 0 };
                (rom.address | enable, rom.size.wrapping_neg() | enable)
            },
        );
        Self {
            value,
            size_value,
            sizing: false,
            type_bits: !ROM_ADDRESS_MASK,
        }
    }

    /// What the guest reads.
    pub(crate) fn read(&self) -> u32 {
        if self.sizing {
            self.size_value
        } else {
            self.value
        }
    }

    /// A guest write of `value` to the register at `offset`.
    pub(crate) fn write<A: ConfigAccess + ?Sized>(
        &mut self,
        hw: &Hardware<'_, A>,
        offset: u16,
        value: u32,
    ) {
        if value | self.type_bits == u32::MAX {
            self.sizing = true;
        } else {
            if value == self.value && hw.read32(offset) != self.value {
                hw.write32(offset, self.value);
            }
            self.sizing = false;
        }
    }

    /// Back to answering the address (Linux's `bar_reset`).
    pub(crate) fn reset(&mut self) {
        self.sizing = false;
    }
}
