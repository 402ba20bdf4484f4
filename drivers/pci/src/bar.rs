// SPDX-License-Identifier: MIT OR Apache-2.0
//! Base address registers: decoding and sizing, with decoding off while sizing.
//!
//! A BAR is sized by writing all ones and reading back: the bits that stay
//! zero below the lowest one give the size. While a BAR holds all ones it
//! claims a bogus address range, so memory and I/O decoding are switched off
//! in the command register first and restored after, with every BAR's
//! original value (the trap hermit's `get_bar` documents).

use alloc::vec::Vec;
use core::fmt;

use crate::Address;
use crate::access::ConfigAccess;
use crate::register::{self, Command};

/// The address space and width of a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarKind {
    /// I/O space.
    Io,
    /// Memory space, 32-bit address.
    Memory32,
    /// Memory space, 64-bit address held in two consecutive BARs.
    Memory64,
}

impl fmt::Display for BarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Io => "io",
            Self::Memory32 => "mem32",
            Self::Memory64 => "mem64",
        })
    }
}

/// An implemented BAR: where firmware placed it and how large it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bar {
    /// BAR index (0-5); a 64-bit BAR also uses `index + 1`.
    pub index: u8,
    /// Address space and width.
    pub kind: BarKind,
    /// Prefetchable memory.
    pub prefetchable: bool,
    /// The programmed address (bus address, as read from the BAR).
    pub address: u64,
    /// Size in bytes, a power of two.
    pub size: u64,
}

/// An expansion ROM BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rom {
    /// The programmed address.
    pub address: u32,
    /// Size in bytes, a power of two of at least 2 KiB.
    pub size: u32,
    /// The ROM enable bit.
    pub enabled: bool,
}

/// A BAR whose contents make no sense; it is decoded as well as it can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarError {
    /// A memory BAR with a reserved type (bits 2:1 = 01 or 11); decoded as 32-bit.
    ReservedType {
        /// BAR index.
        index: u8,
        /// The BAR's value.
        value: u32,
    },
    /// A 64-bit memory BAR in the last slot, with no slot for its high half;
    /// decoded as 32-bit.
    Memory64InLastSlot {
        /// BAR index.
        index: u8,
    },
}

impl fmt::Display for BarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ReservedType { index, value } => {
                write!(
                    f,
                    "BAR{index} {value:#010x} has a reserved memory type, taken as 32-bit"
                )
            }
            Self::Memory64InLastSlot { index } => {
                write!(f, "BAR{index} is 64-bit but the last one, taken as 32-bit")
            }
        }
    }
}

impl core::error::Error for BarError {}

/// Where a header keeps its BARs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarLayout {
    /// Number of BAR slots: 6 for type 0, 2 for type 1.
    pub count: u8,
    /// Offset of the expansion ROM BAR: 0x30 for type 0, 0x38 for type 1.
    pub rom: u16,
}

impl BarLayout {
    /// A type-0 header's BARs.
    pub const ENDPOINT: Self = Self {
        count: register::ENDPOINT_BAR_COUNT,
        rom: register::ROM_ADDRESS,
    };
    /// A type-1 header's BARs.
    pub const BRIDGE: Self = Self {
        count: register::BRIDGE_BAR_COUNT,
        rom: register::bridge::ROM_ADDRESS,
    };
}

/// The BARs and ROM of one function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BarSet {
    /// Implemented BARs, by index.
    pub bars: Vec<Bar>,
    /// The expansion ROM, if implemented.
    pub rom: Option<Rom>,
}

/// The lowest set bit of `mask`: the size a sizing read-back encodes (0 when
/// no address bit is writable: the BAR is not implemented).
fn size_from_mask(mask: u64) -> u64 {
    mask & mask.wrapping_neg()
}

/// Writes all ones to the register at `offset`, reads the result, and writes
/// `original` back.
fn probe<A: ConfigAccess + ?Sized>(
    access: &A,
    address: Address,
    offset: u16,
    original: u32,
    ones: u32,
) -> u32 {
    access.write32(address, offset, ones);
    let mask = access.read32(address, offset);
    access.write32(address, offset, original);
    mask
}

impl BarSet {
    /// Reads and sizes the BARs and ROM of the function at `address`.
    ///
    /// Memory and I/O decoding are switched off while sizing, unless
    /// `keep_decoding` (Linux keeps host bridges decoding: on some chipsets
    /// turning their decode off cuts the CPU from memory); the command
    /// register is written back only if it was changed. Every BAR is written
    /// back with its original value. Also returns the BARs decoded with a guess.
    pub fn size<A: ConfigAccess + ?Sized>(
        access: &A,
        address: Address,
        layout: BarLayout,
        keep_decoding: bool,
    ) -> (Self, Vec<BarError>) {
        let command = Command::from_bits_retain(access.read16(address, register::COMMAND));
        let pause = !keep_decoding && command.intersects(Command::DECODE);
        if pause {
            access.write16(
                address,
                register::COMMAND,
                command.difference(Command::DECODE).bits(),
            );
        }
        let mut set = Self::default();
        let mut errors = Vec::new();
        let mut index = 0;
        while index < layout.count {
            index = set.size_one(access, address, layout, index, &mut errors);
        }
        set.rom = Self::size_rom(access, address, layout.rom);
        if pause {
            access.write16(address, register::COMMAND, command.bits());
        }
        (set, errors)
    }

    /// Sizes BAR `index`; returns the index of the next BAR slot.
    fn size_one<A: ConfigAccess + ?Sized>(
        &mut self,
        access: &A,
        address: Address,
        layout: BarLayout,
        index: u8,
        errors: &mut Vec<BarError>,
    ) -> u8 {
        let offset = register::bar(index);
        let original = access.read32(address, offset);
        let mask = probe(access, address, offset, original, u32::MAX);
        let next = index.saturating_add(1);
        if original & register::BAR_IO_SPACE != 0 {
            let size = size_from_mask(u64::from(mask & register::BAR_IO_ADDRESS_MASK));
            self.push(
                index,
                BarKind::Io,
                false,
                u64::from(original & register::BAR_IO_ADDRESS_MASK),
                size,
            );
            return next;
        }
        let prefetchable = original & register::BAR_PREFETCHABLE != 0;
        let address_low = u64::from(original & register::BAR_MEMORY_ADDRESS_MASK);
        let mask_low = u64::from(mask & register::BAR_MEMORY_ADDRESS_MASK);
        match original & register::BAR_MEMORY_TYPE_MASK {
            register::BAR_MEMORY_TYPE_32 => {}
            register::BAR_MEMORY_TYPE_64 if next < layout.count => {
                let upper = register::bar(next);
                let original_high = access.read32(address, upper);
                let mask_high = probe(access, address, upper, original_high, u32::MAX);
                let size = size_from_mask((u64::from(mask_high) << 32) | mask_low);
                let bar_address = (u64::from(original_high) << 32) | address_low;
                self.push(index, BarKind::Memory64, prefetchable, bar_address, size);
                return next.saturating_add(1);
            }
            register::BAR_MEMORY_TYPE_64 => errors.push(BarError::Memory64InLastSlot { index }),
            _ => errors.push(BarError::ReservedType {
                index,
                value: original,
            }),
        }
        self.push(
            index,
            BarKind::Memory32,
            prefetchable,
            address_low,
            size_from_mask(mask_low),
        );
        next
    }

    fn push(&mut self, index: u8, kind: BarKind, prefetchable: bool, address: u64, size: u64) {
        if size != 0 {
            self.bars.push(Bar {
                index,
                kind,
                prefetchable,
                address,
                size,
            });
        }
    }

    /// Sizes the expansion ROM BAR at `offset`, with its enable bit off
    /// while it holds the sizing pattern.
    fn size_rom<A: ConfigAccess + ?Sized>(
        access: &A,
        address: Address,
        offset: u16,
    ) -> Option<Rom> {
        let original = access.read32(address, offset);
        let mask = probe(
            access,
            address,
            offset,
            original,
            register::ROM_ADDRESS_MASK,
        );
        let size = size_from_mask(u64::from(mask & register::ROM_ADDRESS_MASK));
        Some(Rom {
            address: original & register::ROM_ADDRESS_MASK,
            size: u32::try_from(size).ok().filter(|size| *size != 0)?,
            enabled: original & register::ROM_ENABLE != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Width;
    use crate::sim::{ConfigWrite, SimBar, SimBus, SimDevice};

    const FUNCTION: Address = match Address::new(0, 1, 0, 0) {
        Some(address) => address,
        None => unreachable!(),
    };

    fn size(device: SimDevice) -> (SimBus, BarSet, Vec<BarError>) {
        let bus = SimBus::new().device(FUNCTION, device);
        let (set, errors) = BarSet::size(&bus, FUNCTION, BarLayout::ENDPOINT, false);
        (bus, set, errors)
    }

    fn bar(index: u8, kind: BarKind, prefetchable: bool, address: u64, size: u64) -> Bar {
        Bar {
            index,
            kind,
            prefetchable,
            address,
            size,
        }
    }

    #[test]
    fn sizes_every_kind_of_bar() {
        let (_, set, errors) = size(
            SimDevice::endpoint(0x1b36, 0x0010, 0x01_08_02)
                .bar(0, SimBar::memory64(0x4000).at(0xfebd_0000))
                .bar(2, SimBar::io(0x100).at(0xc000))
                .bar(3, SimBar::memory32(0x1000).prefetchable().at(0xfe00_0000))
                .bar(
                    4,
                    SimBar::memory64(0x10_0000_0000)
                        .prefetchable()
                        .at(0x80_0000_0000),
                ),
        );
        assert_eq!(
            set.bars,
            [
                bar(0, BarKind::Memory64, false, 0xfebd_0000, 0x4000),
                bar(2, BarKind::Io, false, 0xc000, 0x100),
                bar(3, BarKind::Memory32, true, 0xfe00_0000, 0x1000),
                bar(4, BarKind::Memory64, true, 0x80_0000_0000, 0x10_0000_0000),
            ]
        );
        assert!(errors.is_empty());
        assert_eq!(set.rom, None);
    }

    #[test]
    fn sizes_the_rom_and_keeps_its_enable_bit() {
        let (bus, set, _) = size(SimDevice::endpoint(1, 2, 0).rom(0x4_0000, 0xfeb8_0000, true));
        assert_eq!(
            set.rom,
            Some(Rom {
                address: 0xfeb8_0000,
                size: 0x4_0000,
                enabled: true
            })
        );
        assert_eq!(
            bus.peek(FUNCTION, register::ROM_ADDRESS, Width::Dword),
            Some(0xfeb8_0001)
        );
        // The sizing pattern itself never sets the enable bit.
        let pattern = bus
            .writes()
            .into_iter()
            .find(|write| write.offset == register::ROM_ADDRESS)
            .unwrap();
        assert_eq!(pattern.value & register::ROM_ENABLE, 0);
    }

    #[test]
    fn decode_is_off_while_sizing_and_everything_is_restored() {
        let decoding = Command::MEMORY_SPACE | Command::IO_SPACE | Command::BUS_MASTER;
        let (bus, _, _) = size(
            SimDevice::endpoint(1, 2, 0)
                .command(decoding)
                .bar(0, SimBar::memory32(0x1000).at(0xfebf_0000))
                .bar(1, SimBar::memory64(0x2000).at(0x1_0000_0000))
                .bar(3, SimBar::io(0x20).at(0xc020))
                .rom(0x800, 0xfeb0_0000, false),
        );
        let writes = bus.writes();
        let (first, rest) = writes.split_first().unwrap();
        let (last, middle) = rest.split_last().unwrap();
        let command = |value: Command| ConfigWrite {
            address: FUNCTION,
            offset: register::COMMAND,
            width: Width::Word,
            value: value.bits().into(),
        };
        assert_eq!(
            *first,
            command(Command::BUS_MASTER),
            "decode off first, bus master kept"
        );
        assert_eq!(*last, command(decoding), "command restored last");
        assert!(middle.iter().all(|write| write.offset != register::COMMAND));
        // Each of the 6 BAR slots and the ROM got a pattern then its original back.
        let touched: Vec<u16> = middle.iter().map(|write| write.offset).collect();
        assert_eq!(touched.len(), 2 * 7);
        for (offset, original) in [
            (register::bar(0), 0xfebf_0000),
            (register::bar(1), 0x0000_0004),
            (register::bar(2), 0x0000_0001),
            (register::bar(3), 0x0000_c021),
            (register::bar(4), 0),
            (register::bar(5), 0),
            (register::ROM_ADDRESS, 0xfeb0_0000),
        ] {
            let last_write = middle
                .iter()
                .rev()
                .find(|write| write.offset == offset)
                .unwrap();
            assert_eq!(last_write.value, original, "offset {offset:#x} restored");
            assert_eq!(bus.peek(FUNCTION, offset, Width::Dword), Some(original));
        }
        assert_eq!(
            bus.peek(FUNCTION, register::COMMAND, Width::Word),
            Some(decoding.bits().into())
        );
    }

    #[test]
    fn the_command_register_is_left_alone_when_decode_is_already_off() {
        let (bus, _, _) = size(
            SimDevice::endpoint(1, 2, 0)
                .command(Command::BUS_MASTER)
                .bar(0, SimBar::memory32(0x1000)),
        );
        assert!(
            bus.writes()
                .iter()
                .all(|write| write.offset != register::COMMAND)
        );
    }

    #[test]
    fn host_bridges_keep_decoding() {
        let bus = SimBus::new().device(
            FUNCTION,
            SimDevice::endpoint(0x8086, 0x29c0, 0x06_00_00)
                .command(Command::MEMORY_SPACE)
                .bar(0, SimBar::memory32(0x1000)),
        );
        BarSet::size(&bus, FUNCTION, BarLayout::ENDPOINT, true);
        assert!(
            bus.writes()
                .iter()
                .all(|write| write.offset != register::COMMAND)
        );
    }

    #[test]
    fn reserved_memory_types_are_reported_and_taken_as_32bit() {
        let below_1m = 0x000d_0000 | register::BAR_MEMORY_TYPE_BELOW_1M;
        let reserved = 0xfe00_0000 | register::BAR_MEMORY_TYPE_MASK;
        let (_, set, errors) = size(
            SimDevice::endpoint(1, 2, 0)
                .raw_register(register::bar(0), Width::Dword, below_1m)
                .writable(register::bar(0), Width::Dword, 0xffff_0000)
                .raw_register(register::bar(1), Width::Dword, reserved)
                .writable(register::bar(1), Width::Dword, 0xff00_0000),
        );
        assert_eq!(
            set.bars,
            [
                bar(0, BarKind::Memory32, false, 0x000d_0000, 0x1_0000),
                bar(1, BarKind::Memory32, false, 0xfe00_0000, 0x100_0000)
            ]
        );
        assert_eq!(
            errors,
            [
                BarError::ReservedType {
                    index: 0,
                    value: below_1m
                },
                BarError::ReservedType {
                    index: 1,
                    value: reserved
                }
            ]
        );
    }

    #[test]
    fn a_64bit_bar_in_the_last_slot_is_reported() {
        let (_, set, errors) = size(
            SimDevice::endpoint(1, 2, 0)
                .raw_register(register::bar(5), Width::Dword, register::BAR_MEMORY_TYPE_64)
                .writable(register::bar(5), Width::Dword, 0xffff_f000),
        );
        assert_eq!(set.bars, [bar(5, BarKind::Memory32, false, 0, 0x1000)]);
        assert_eq!(errors, [BarError::Memory64InLastSlot { index: 5 }]);
    }

    #[test]
    fn bridges_have_two_bars_and_their_rom_at_0x38() {
        let bus = SimBus::new().device(
            FUNCTION,
            SimDevice::bridge(0x1b36, 0x0001)
                .bar(0, SimBar::memory32(0x100).at(0xfea0_0000))
                .rom(0x800, 0xfe90_0000, false),
        );
        let (set, _) = BarSet::size(&bus, FUNCTION, BarLayout::BRIDGE, false);
        assert_eq!(
            set.bars,
            [bar(0, BarKind::Memory32, false, 0xfea0_0000, 0x100)]
        );
        assert_eq!(
            set.rom,
            Some(Rom {
                address: 0xfe90_0000,
                size: 0x800,
                enabled: false
            })
        );
        // The bus-number register right after BAR1 is never touched.
        assert!(
            bus.writes()
                .iter()
                .all(|write| write.offset <= register::bar(1)
                    || write.offset == register::bridge::ROM_ADDRESS)
        );
    }
}
