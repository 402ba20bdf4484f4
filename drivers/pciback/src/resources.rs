// SPDX-License-Identifier: MIT OR Apache-2.0
//! The address ranges a function decodes: its BARs, ROM and, for a bridge, windows.
//!
//! Linux keeps these as the device's `struct resource`s, fixed once the bus
//! is scanned; so do we, from what enumeration found. They serve three
//! purposes: the virtual BARs' values (`bar_init`), which decode bits a
//! device enable sets (`pci_enable_resources`), and rewriting the BARs after
//! a power transition reset the function (`pci_restore_bars`). A BAR at
//! address 0 counts as unassigned (Linux's `IORESOURCE_UNSET`): this domain
//! never assigns addresses itself.

use pci::register::{self, BAR_IO_ADDRESS_MASK, BAR_MEMORY_ADDRESS_MASK, Command};
use pci::{BarKind, BarLayout, ConfigAccess, Function, Rom};

use crate::hardware::Hardware;

/// The address space of a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Space {
    /// I/O ports.
    Io,
    /// Memory, one BAR slot.
    Memory32,
    /// Memory, two BAR slots (this one and the next).
    Memory64,
}

/// One BAR's resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    /// Address space.
    pub(crate) space: Space,
    /// Programmed address.
    pub(crate) address: u64,
    /// Size in bytes.
    pub(crate) size: u64,
    /// The BAR's read-only low bits (I/O indicator, memory type, prefetchable):
    /// Linux's `flags & PCI_REGION_FLAG_MASK`.
    pub(crate) flags: u32,
}

impl Resource {
    /// Whether firmware gave the BAR an address.
    pub(crate) fn is_assigned(&self) -> bool {
        self.address != 0
    }
}

/// A BAR slot (0-5) or the ROM whose resource is unassigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unassigned {
    /// BAR `index`.
    Bar(u8),
    /// The expansion ROM.
    Rom,
}

/// Every resource of one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resources {
    /// Resources by BAR slot; `None` for unimplemented slots and the high
    /// halves of 64-bit BARs.
    bars: [Option<Resource>; 6],
    /// The expansion ROM.
    rom: Option<Rom>,
    /// Where the ROM BAR is (0x30, or 0x38 on a bridge).
    rom_offset: u16,
    /// Decode bits a bridge's open windows need.
    windows: Command,
}

impl Resources {
    /// The resources enumeration found for `function`, whose registers `hw` reaches.
    pub(crate) fn new<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, function: &Function) -> Self {
        let mut bars = [None; 6];
        for bar in &function.bars {
            let (space, address_mask) = match bar.kind {
                BarKind::Io => (Space::Io, BAR_IO_ADDRESS_MASK),
                BarKind::Memory32 => (Space::Memory32, BAR_MEMORY_ADDRESS_MASK),
                BarKind::Memory64 => (Space::Memory64, BAR_MEMORY_ADDRESS_MASK),
            };
            if let Some(slot) = bars.get_mut(usize::from(bar.index)) {
                *slot = Some(Resource {
                    space,
                    address: bar.address,
                    size: bar.size,
                    flags: hw.read32(register::bar(bar.index)) & !address_mask,
                });
            }
        }
        let windows = function.bridge.map_or(Command::empty(), |bridge| {
            let mut decode = Command::empty();
            decode.set(Command::IO_SPACE, bridge.io.is_some());
            decode.set(
                Command::MEMORY_SPACE,
                bridge.memory.is_some() || bridge.prefetchable.is_some(),
            );
            decode
        });
        let rom_offset = if function.bridge.is_some() {
            BarLayout::BRIDGE.rom
        } else {
            BarLayout::ENDPOINT.rom
        };
        Self {
            bars,
            rom: function.rom,
            rom_offset,
            windows,
        }
    }

    /// The resource of BAR slot `index`.
    pub(crate) fn bar(&self, index: u8) -> Option<&Resource> {
        self.bars.get(usize::from(index))?.as_ref()
    }

    /// The 64-bit memory BAR whose high half slot `index` holds, if any.
    pub(crate) fn upper_half_of(&self, index: u8) -> Option<&Resource> {
        let lower = self.bar(index.checked_sub(1)?)?;
        (lower.space == Space::Memory64).then_some(lower)
    }

    /// Every BAR with an address.
    pub(crate) fn assigned(&self) -> impl Iterator<Item = &Resource> {
        self.bars.iter().flatten().filter(|bar| bar.is_assigned())
    }

    /// The expansion ROM.
    pub(crate) fn rom(&self) -> Option<Rom> {
        self.rom
    }

    /// The decode bits enabling the function sets (Linux's
    /// `pci_enable_resources`): I/O for I/O BARs, memory for memory BARs and
    /// an enabled ROM, and whatever the open windows of a bridge need.
    /// Fails on the first unassigned resource, as Linux does.
    pub(crate) fn decode(&self) -> Result<Command, Unassigned> {
        let mut decode = self.windows;
        for (index, bar) in (0_u8..).zip(&self.bars) {
            let Some(bar) = bar else { continue };
            if !bar.is_assigned() {
                return Err(Unassigned::Bar(index));
            }
            decode |= match bar.space {
                Space::Io => Command::IO_SPACE,
                Space::Memory32 | Space::Memory64 => Command::MEMORY_SPACE,
            };
        }
        if let Some(rom) = self.rom.filter(|rom| rom.enabled) {
            if rom.address == 0 {
                return Err(Unassigned::Rom);
            }
            decode |= Command::MEMORY_SPACE;
        }
        Ok(decode)
    }

    /// Writes every assigned BAR (and an enabled ROM) back with its address,
    /// after a transition that reset the function (Linux's `pci_restore_bars`).
    /// Memory decoding is off while a 64-bit BAR is half written.
    pub(crate) fn restore<A: ConfigAccess + ?Sized>(&self, hw: &Hardware<'_, A>) {
        for (index, bar) in (0_u8..).zip(&self.bars) {
            let Some(bar) = bar.filter(Resource::is_assigned) else {
                continue;
            };
            let offset = register::bar(index);
            let [low, high] = [bar.address, bar.address >> 32]
                .map(|half| u32::try_from(half & u64::from(u32::MAX)).unwrap_or_default());
            if bar.space == Space::Memory64 {
                let command = hw.read16(register::COMMAND);
                hw.write16(register::COMMAND, command & !Command::MEMORY_SPACE.bits());
                hw.write32(offset, low | bar.flags);
                hw.write32(register::bar(index.saturating_add(1)), high);
                hw.write16(register::COMMAND, command);
            } else {
                hw.write32(offset, low | bar.flags);
            }
        }
        if let Some(rom) = self.rom.filter(|rom| rom.enabled && rom.address != 0) {
            hw.write32(self.rom_offset, rom.address | register::ROM_ENABLE);
        }
    }
}
