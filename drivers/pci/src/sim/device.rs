// SPDX-License-Identifier: MIT OR Apache-2.0
//! The builder of simulated functions: header, BARs, ROM, bridge windows, raw registers.
//!
//! [`SimDevice`] lays out a type-0 or type-1 header with the read-only,
//! writable and write-1-to-clear bits real functions have; BARs and the
//! expansion ROM get the size masks that make them size themselves. The
//! capability lists are laid out by the methods in `capabilities`.

use super::space::{ConfigSpace, Plane};
use crate::access::Width;
use crate::register::{self, Command, Status, bridge, extended_capability as extended};

/// The kind of a simulated BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SimBarKind {
    Io,
    Memory32,
    Memory64,
}

/// A BAR to give a [`SimDevice`]: its kind, size and programmed address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimBar {
    kind: SimBarKind,
    size: u64,
    address: u64,
    prefetchable: bool,
}

impl SimBar {
    /// An I/O BAR of `size` bytes (a power of two, at least 4).
    pub const fn io(size: u32) -> Self {
        Self {
            kind: SimBarKind::Io,
            size: size as u64,
            address: 0,
            prefetchable: false,
        }
    }

    /// A 32-bit memory BAR of `size` bytes (a power of two, at least 16).
    pub const fn memory32(size: u32) -> Self {
        Self {
            kind: SimBarKind::Memory32,
            size: size as u64,
            address: 0,
            prefetchable: false,
        }
    }

    /// A 64-bit memory BAR of `size` bytes (a power of two, at least 16); it
    /// takes two BAR slots.
    pub const fn memory64(size: u64) -> Self {
        Self {
            kind: SimBarKind::Memory64,
            size,
            address: 0,
            prefetchable: false,
        }
    }

    /// The same memory BAR, marked prefetchable.
    pub const fn prefetchable(self) -> Self {
        Self {
            prefetchable: true,
            ..self
        }
    }

    /// The same BAR, programmed (by "firmware") to `address`; the bits below
    /// the size are dropped as hardware drops them.
    pub const fn at(self, address: u64) -> Self {
        Self { address, ..self }
    }

    /// Read-only type bits and address bits of the low register.
    fn layout(self) -> (u32, u32) {
        match self.kind {
            SimBarKind::Io => (register::BAR_IO_SPACE, register::BAR_IO_ADDRESS_MASK),
            SimBarKind::Memory32 | SimBarKind::Memory64 => {
                let width = if self.kind == SimBarKind::Memory64 {
                    register::BAR_MEMORY_TYPE_64
                } else {
                    register::BAR_MEMORY_TYPE_32
                };
                let prefetch = if self.prefetchable {
                    register::BAR_PREFETCHABLE
                } else {
                    0
                };
                (width | prefetch, register::BAR_MEMORY_ADDRESS_MASK)
            }
        }
    }
}

/// Low and high 32 bits of a 64-bit value.
fn halves(value: u64) -> (u32, u32) {
    let [low, high] = [value, value >> 32]
        .map(|half| u32::try_from(half & u64::from(u32::MAX)).unwrap_or_default());
    (low, high)
}

/// One function to put on a [`SimBus`](super::SimBus), described with a builder.
///
/// Builder methods panic when the description itself is wrong (a BAR index
/// the header does not have, a size that is not a power of two, capabilities
/// that overflow their space): that is a bug in the test, not device data.
#[derive(Clone, Debug)]
pub struct SimDevice {
    /// The registers and their write semantics.
    pub(super) space: ConfigSpace,
    /// Where the next standard capability goes.
    pub(super) next_capability: u16,
    /// The last standard capability added, whose next pointer links the next one.
    pub(super) last_capability: Option<u16>,
    /// Where the next extended capability goes.
    pub(super) next_extended: u16,
    /// The last extended capability added.
    pub(super) last_extended: Option<u16>,
    /// The PCI Express capability, once added.
    pub(super) pcie: Option<u16>,
}

/// Command bits a simulated function implements (writable).
const COMMAND_WRITABLE: Command = Command::IO_SPACE
    .union(Command::MEMORY_SPACE)
    .union(Command::BUS_MASTER)
    .union(Command::PARITY_ERROR_RESPONSE)
    .union(Command::SERR_ENABLE)
    .union(Command::INTERRUPT_DISABLE);

/// Bridge control bits 11:0 are defined; all simulated as writable.
const BRIDGE_CONTROL_WRITABLE: u32 = 0x0FFF;
/// Memory window register bits that hold address bits.
const WINDOW_ADDRESS_BITS: u32 = bridge::MEMORY_WINDOW_ADDRESS_MASK as u32;
/// I/O base/limit register bits that hold address bits.
const IO_WINDOW_ADDRESS_BITS: u32 = bridge::IO_WINDOW_ADDRESS_MASK as u32;
/// Class code of a PCI-PCI bridge: base class 0x06, sub-class 0x04.
const PCI_BRIDGE_CLASS: u32 = 0x06_04_00;

impl SimDevice {
    /// A bare function: every register zero and read-only.
    fn blank() -> Self {
        Self {
            space: ConfigSpace::new(),
            next_capability: register::HEADER_SIZE,
            last_capability: None,
            next_extended: extended::FIRST,
            last_extended: None,
            pcie: None,
        }
    }

    /// Sets a plane of a register; panics when the builder call is wrong.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub(super) fn set(mut self, plane: Plane, offset: u16, width: Width, value: u32) -> Self {
        if !self.space.set(plane, offset, width, value) {
            panic!(
                "sim: {width:?} register at {offset:#x} is outside configuration space or misaligned"
            );
        }
        self
    }

    /// The header fields every function has, for layout `header_type`.
    fn header(vendor: u16, device: u16, class: u32, header_type: u8) -> Self {
        Self::blank()
            .set(
                Plane::Value,
                register::VENDOR_ID,
                Width::Word,
                vendor.into(),
            )
            .set(
                Plane::Value,
                register::DEVICE_ID,
                Width::Word,
                device.into(),
            )
            .set(
                Plane::Value,
                register::REVISION_ID,
                Width::Dword,
                class << 8,
            )
            .set(
                Plane::Value,
                register::HEADER_TYPE,
                Width::Byte,
                header_type.into(),
            )
            .set(
                Plane::Writable,
                register::COMMAND,
                Width::Word,
                COMMAND_WRITABLE.bits().into(),
            )
            .set(
                Plane::WriteOneToClear,
                register::STATUS,
                Width::Word,
                Status::WRITE_ONE_TO_CLEAR.bits().into(),
            )
            .set(
                Plane::Writable,
                register::CACHE_LINE_SIZE,
                Width::Word,
                0xFFFF,
            )
            .set(Plane::Writable, register::INTERRUPT_LINE, Width::Byte, 0xFF)
    }

    /// A type-0 function. `class` is the 24-bit class code `0xBBSSPP`: base
    /// class, sub-class, programming interface (e.g. `0x02_00_00`, Ethernet).
    pub fn endpoint(vendor: u16, device: u16, class: u32) -> Self {
        Self::header(vendor, device, class, 0)
    }

    /// A PCI-PCI bridge (type-1 header, class 0x060400) with bus numbers 0
    /// and its I/O, memory and prefetchable windows closed (base above limit).
    pub fn bridge(vendor: u16, device: u16) -> Self {
        let wide = u32::from(bridge::WINDOW_WIDTH_WIDE);
        let device = Self::header(vendor, device, PCI_BRIDGE_CLASS, 1)
            .set(Plane::Writable, bridge::PRIMARY_BUS, Width::Dword, u32::MAX)
            .set(
                Plane::WriteOneToClear,
                bridge::SECONDARY_STATUS,
                Width::Word,
                Status::WRITE_ONE_TO_CLEAR.bits().into(),
            )
            .set(
                Plane::Value,
                bridge::IO_BASE,
                Width::Byte,
                IO_WINDOW_ADDRESS_BITS | wide,
            )
            .set(Plane::Value, bridge::IO_LIMIT, Width::Byte, wide)
            .set(
                Plane::Value,
                bridge::MEMORY_BASE,
                Width::Word,
                WINDOW_ADDRESS_BITS,
            )
            .set(
                Plane::Value,
                bridge::PREFETCHABLE_BASE,
                Width::Word,
                WINDOW_ADDRESS_BITS | wide,
            )
            .set(Plane::Value, bridge::PREFETCHABLE_LIMIT, Width::Word, wide);
        [
            (bridge::IO_BASE, Width::Byte),
            (bridge::IO_LIMIT, Width::Byte),
        ]
        .into_iter()
        .fold(device, |device, (offset, width)| {
            device.set(Plane::Writable, offset, width, IO_WINDOW_ADDRESS_BITS)
        })
        .set(
            Plane::Writable,
            bridge::MEMORY_BASE,
            Width::Word,
            WINDOW_ADDRESS_BITS,
        )
        .set(
            Plane::Writable,
            bridge::MEMORY_LIMIT,
            Width::Word,
            WINDOW_ADDRESS_BITS,
        )
        .set(
            Plane::Writable,
            bridge::PREFETCHABLE_BASE,
            Width::Word,
            WINDOW_ADDRESS_BITS,
        )
        .set(
            Plane::Writable,
            bridge::PREFETCHABLE_LIMIT,
            Width::Word,
            WINDOW_ADDRESS_BITS,
        )
        .set(
            Plane::Writable,
            bridge::PREFETCHABLE_BASE_UPPER,
            Width::Dword,
            u32::MAX,
        )
        .set(
            Plane::Writable,
            bridge::PREFETCHABLE_LIMIT_UPPER,
            Width::Dword,
            u32::MAX,
        )
        .set(
            Plane::Writable,
            bridge::IO_BASE_UPPER,
            Width::Dword,
            u32::MAX,
        )
        .set(
            Plane::Writable,
            bridge::BRIDGE_CONTROL,
            Width::Word,
            BRIDGE_CONTROL_WRITABLE,
        )
    }

    /// A function whose configuration space is `values` (zero past its end)
    /// with the bits of `writable` writable: arbitrary, possibly hostile, data.
    pub fn raw(values: &[u8], writable: &[u8]) -> Self {
        let mut device = Self::blank();
        device.space.load(Plane::Value, values);
        device.space.load(Plane::Writable, writable);
        device
    }

    /// Sets the revision ID.
    pub fn revision(self, revision: u8) -> Self {
        self.set(
            Plane::Value,
            register::REVISION_ID,
            Width::Byte,
            revision.into(),
        )
    }

    /// Sets the subsystem vendor and subsystem IDs (type 0).
    pub fn subsystem(self, vendor: u16, id: u16) -> Self {
        self.set(
            Plane::Value,
            register::SUBSYSTEM_VENDOR_ID,
            Width::Word,
            vendor.into(),
        )
        .set(Plane::Value, register::SUBSYSTEM_ID, Width::Word, id.into())
    }

    /// Sets the interrupt pin (1-4 for INTA#-INTD#) and line.
    pub fn interrupt(self, pin: u8, line: u8) -> Self {
        self.set(
            Plane::Value,
            register::INTERRUPT_PIN,
            Width::Byte,
            pin.into(),
        )
        .set(
            Plane::Value,
            register::INTERRUPT_LINE,
            Width::Byte,
            line.into(),
        )
    }

    /// Sets the command register's value (as firmware left it).
    pub fn command(self, command: Command) -> Self {
        self.set(
            Plane::Value,
            register::COMMAND,
            Width::Word,
            command.bits().into(),
        )
    }

    /// Raises `status` bits in the status register (e.g. error bits to clear).
    pub fn status(self, status: Status) -> Self {
        let current = self
            .space
            .read(register::STATUS, Width::Word)
            .unwrap_or_default();
        self.set(
            Plane::Value,
            register::STATUS,
            Width::Word,
            current | u32::from(status.bits()),
        )
    }

    /// Sets bit 7 of the header type: functions 1-7 may exist (function 0 only).
    pub fn multifunction(self) -> Self {
        let current = self
            .space
            .read(register::HEADER_TYPE, Width::Byte)
            .unwrap_or_default();
        self.set(
            Plane::Value,
            register::HEADER_TYPE,
            Width::Byte,
            current | u32::from(register::HEADER_MULTIFUNCTION),
        )
    }

    /// The number of BARs the header layout has.
    fn bar_count(&self) -> u8 {
        let layout = self
            .space
            .read(register::HEADER_TYPE, Width::Byte)
            .unwrap_or_default()
            & u32::from(register::HEADER_LAYOUT_MASK);
        if layout == 1 {
            register::BRIDGE_BAR_COUNT
        } else {
            register::ENDPOINT_BAR_COUNT
        }
    }

    /// Installs `bar` at BAR `index` (and `index + 1` for a 64-bit BAR).
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn bar(self, index: u8, bar: SimBar) -> Self {
        let (type_bits, address_mask) = bar.layout();
        // The smallest BAR has only its lowest address bit writable.
        let minimum = address_mask & address_mask.wrapping_neg();
        let slots = if bar.kind == SimBarKind::Memory64 {
            2
        } else {
            1
        };
        if index.saturating_add(slots) > self.bar_count() {
            panic!("sim: BAR {index} does not fit the header");
        }
        if !bar.size.is_power_of_two() || bar.size < u64::from(minimum) {
            panic!(
                "sim: BAR size {:#x} is not a power of two of at least {minimum}",
                bar.size
            );
        }
        let size_mask = !bar.size.wrapping_sub(1);
        let (value_low, value_high) = halves(bar.address & size_mask);
        let (writable_low, writable_high) = halves(size_mask);
        let offset = register::bar(index);
        let device = self
            .set(
                Plane::Value,
                offset,
                Width::Dword,
                (value_low & address_mask) | type_bits,
            )
            .set(
                Plane::Writable,
                offset,
                Width::Dword,
                writable_low & address_mask,
            );
        if bar.kind == SimBarKind::Memory64 {
            let upper = register::bar(index.saturating_add(1));
            device
                .set(Plane::Value, upper, Width::Dword, value_high)
                .set(Plane::Writable, upper, Width::Dword, writable_high)
        } else {
            device
        }
    }

    /// Installs an expansion ROM of `size` bytes (a power of two, at least
    /// 2 KiB) programmed at `address`, with its enable bit set if `enabled`.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn rom(self, size: u32, address: u32, enabled: bool) -> Self {
        if !size.is_power_of_two() || size <= !register::ROM_ADDRESS_MASK {
            panic!("sim: ROM size {size:#x} is not a power of two of at least 2 KiB");
        }
        let offset = if self.bar_count() == register::BRIDGE_BAR_COUNT {
            bridge::ROM_ADDRESS
        } else {
            register::ROM_ADDRESS
        };
        let address_bits = !size.wrapping_sub(1) & register::ROM_ADDRESS_MASK;
        let enable = if enabled { register::ROM_ENABLE } else { 0 };
        self.set(
            Plane::Value,
            offset,
            Width::Dword,
            (address & address_bits) | enable,
        )
        .set(
            Plane::Writable,
            offset,
            Width::Dword,
            address_bits | register::ROM_ENABLE,
        )
    }

    /// Sets a bridge's primary, secondary and subordinate bus numbers.
    pub fn buses(self, primary: u8, secondary: u8, subordinate: u8) -> Self {
        self.set(
            Plane::Value,
            bridge::PRIMARY_BUS,
            Width::Byte,
            primary.into(),
        )
        .set(
            Plane::Value,
            bridge::SECONDARY_BUS,
            Width::Byte,
            secondary.into(),
        )
        .set(
            Plane::Value,
            bridge::SUBORDINATE_BUS,
            Width::Byte,
            subordinate.into(),
        )
    }

    /// Opens a bridge's I/O window on `base..=limit` (4 KiB granularity,
    /// 32-bit I/O decode).
    pub fn io_window(self, base: u32, limit: u32) -> Self {
        let wide = u32::from(bridge::WINDOW_WIDTH_WIDE);
        self.set(
            Plane::Value,
            bridge::IO_BASE,
            Width::Byte,
            ((base >> bridge::IO_WINDOW_SHIFT) & IO_WINDOW_ADDRESS_BITS) | wide,
        )
        .set(
            Plane::Value,
            bridge::IO_LIMIT,
            Width::Byte,
            ((limit >> bridge::IO_WINDOW_SHIFT) & IO_WINDOW_ADDRESS_BITS) | wide,
        )
        .set(
            Plane::Value,
            bridge::IO_BASE_UPPER,
            Width::Word,
            base >> bridge::IO_UPPER_SHIFT,
        )
        .set(
            Plane::Value,
            bridge::IO_LIMIT_UPPER,
            Width::Word,
            limit >> bridge::IO_UPPER_SHIFT,
        )
    }

    /// Opens a bridge's memory window on `base..=limit` (1 MiB granularity).
    pub fn memory_window(self, base: u32, limit: u32) -> Self {
        self.set(
            Plane::Value,
            bridge::MEMORY_BASE,
            Width::Word,
            (base >> bridge::MEMORY_WINDOW_SHIFT) & WINDOW_ADDRESS_BITS,
        )
        .set(
            Plane::Value,
            bridge::MEMORY_LIMIT,
            Width::Word,
            (limit >> bridge::MEMORY_WINDOW_SHIFT) & WINDOW_ADDRESS_BITS,
        )
    }

    /// Opens a bridge's 64-bit prefetchable window on `base..=limit` (1 MiB
    /// granularity).
    pub fn prefetchable_window(self, base: u64, limit: u64) -> Self {
        let wide = u32::from(bridge::WINDOW_WIDTH_WIDE);
        let (base_low, base_high) = halves(base);
        let (limit_low, limit_high) = halves(limit);
        self.set(
            Plane::Value,
            bridge::PREFETCHABLE_BASE,
            Width::Word,
            ((base_low >> bridge::MEMORY_WINDOW_SHIFT) & WINDOW_ADDRESS_BITS) | wide,
        )
        .set(
            Plane::Value,
            bridge::PREFETCHABLE_LIMIT,
            Width::Word,
            ((limit_low >> bridge::MEMORY_WINDOW_SHIFT) & WINDOW_ADDRESS_BITS) | wide,
        )
        .set(
            Plane::Value,
            bridge::PREFETCHABLE_BASE_UPPER,
            Width::Dword,
            base_high,
        )
        .set(
            Plane::Value,
            bridge::PREFETCHABLE_LIMIT_UPPER,
            Width::Dword,
            limit_high,
        )
    }

    /// Sets the register of `width` at `offset` to `value`, ignoring write
    /// masks: for hostile data (garbage header types, capability loops,
    /// pointers into the header, reserved BAR types).
    pub fn raw_register(self, offset: u16, width: Width, value: u32) -> Self {
        self.set(Plane::Value, offset, width, value)
    }

    /// Makes the bits of `mask` in the register at `offset` writable (and
    /// the others read-only).
    pub fn writable(self, offset: u16, width: Width, mask: u32) -> Self {
        self.set(Plane::Writable, offset, width, mask)
    }

    /// Makes the bits of `mask` in the register at `offset` write-1-to-clear.
    pub fn write_one_to_clear(self, offset: u16, width: Width, mask: u32) -> Self {
        self.set(Plane::WriteOneToClear, offset, width, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Address;
    use crate::access::ConfigAccess;
    use crate::sim::SimBus;

    fn address(bus: u8, device: u8, function: u8) -> Address {
        Address::new(0, bus, device, function).unwrap()
    }

    #[test]
    fn header_reads_back_what_was_described() {
        let nic = address(0, 2, 0);
        let bus = SimBus::new().device(
            nic,
            SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00)
                .revision(3)
                .subsystem(0x1af4, 0x1100)
                .interrupt(1, 11),
        );
        assert_eq!(bus.read32(nic, register::VENDOR_ID), 0x10d3_8086);
        assert_eq!(bus.read32(nic, register::REVISION_ID), 0x0200_0003);
        assert_eq!(bus.read8(nic, register::HEADER_TYPE), 0);
        assert_eq!(bus.read16(nic, register::SUBSYSTEM_VENDOR_ID), 0x1af4);
        assert_eq!(bus.read16(nic, register::SUBSYSTEM_ID), 0x1100);
        assert_eq!(bus.read8(nic, register::INTERRUPT_PIN), 1);
        assert_eq!(bus.read8(nic, register::INTERRUPT_LINE), 11);
    }

    #[test]
    fn read_only_bits_ignore_writes() {
        let nic = address(0, 2, 0);
        let bus = SimBus::new().device(nic, SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00));
        bus.write32(nic, register::VENDOR_ID, 0);
        bus.write8(nic, register::INTERRUPT_PIN, 4);
        assert_eq!(bus.read16(nic, register::VENDOR_ID), 0x8086);
        assert_eq!(bus.read8(nic, register::INTERRUPT_PIN), 0);
        // Command: only implemented bits stick.
        bus.write16(nic, register::COMMAND, 0xFFFF);
        assert_eq!(bus.read16(nic, register::COMMAND), COMMAND_WRITABLE.bits());
    }

    #[test]
    fn status_error_bits_clear_on_write_of_one() {
        let nic = address(0, 2, 0);
        let errors = Status::RECEIVED_MASTER_ABORT | Status::DETECTED_PARITY_ERROR;
        let bus = SimBus::new().device(
            nic,
            SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00)
                .pm()
                .status(errors),
        );
        assert_eq!(
            bus.read16(nic, register::STATUS),
            (errors | Status::CAPABILITIES_LIST).bits()
        );
        // Writing 0 changes nothing; writing 1 to one error bit clears only it.
        bus.write16(nic, register::STATUS, 0);
        bus.write16(
            nic,
            register::STATUS,
            Status::RECEIVED_MASTER_ABORT.bits() | Status::CAPABILITIES_LIST.bits(),
        );
        assert_eq!(
            bus.read16(nic, register::STATUS),
            (Status::DETECTED_PARITY_ERROR | Status::CAPABILITIES_LIST).bits()
        );
    }

    #[test]
    fn bars_size_like_hardware() {
        let function = address(0, 3, 0);
        let bus = SimBus::new().device(
            function,
            SimDevice::endpoint(0x1234, 0x5678, 0x01_08_02)
                .bar(0, SimBar::memory32(0x4000).at(0xfebf_0000))
                .bar(1, SimBar::io(0x20).at(0xc040))
                .bar(
                    2,
                    SimBar::memory64(0x2_0000_0000)
                        .prefetchable()
                        .at(0x80_0000_0000),
                )
                .rom(0x1_0000, 0xfeb0_0000, true),
        );
        assert_eq!(bus.read32(function, register::bar(0)), 0xfebf_0000);
        assert_eq!(bus.read32(function, register::bar(1)), 0xc041);
        assert_eq!(bus.read32(function, register::bar(2)), 0x0000_000c);
        assert_eq!(bus.read32(function, register::bar(3)), 0x80);
        assert_eq!(bus.read32(function, register::ROM_ADDRESS), 0xfeb0_0001);
        for index in 0..4 {
            bus.write32(function, register::bar(index), u32::MAX);
        }
        bus.write32(function, register::ROM_ADDRESS, register::ROM_ADDRESS_MASK);
        assert_eq!(bus.read32(function, register::bar(0)), 0xffff_c000);
        assert_eq!(bus.read32(function, register::bar(1)), 0xffff_ffe1);
        assert_eq!(bus.read32(function, register::bar(2)), 0x0000_000c);
        assert_eq!(bus.read32(function, register::bar(3)), 0xffff_fffe);
        assert_eq!(bus.read32(function, register::ROM_ADDRESS), 0xffff_0000);
    }

    #[test]
    fn bridges_expose_writable_bus_numbers() {
        let port = address(0, 0x1c, 0);
        let bus = SimBus::new().device(port, SimDevice::bridge(0x8086, 0x2448).buses(0, 1, 3));
        assert_eq!(
            bus.read32(port, bridge::PRIMARY_BUS) & 0xFF_FFFF,
            0x03_01_00
        );
        bus.write8(port, bridge::SUBORDINATE_BUS, 5);
        assert_eq!(bus.read8(port, bridge::SUBORDINATE_BUS), 5);
        assert_eq!(bus.read8(port, register::HEADER_TYPE), 1);
        assert_eq!(bus.read32(port, register::REVISION_ID) >> 8, 0x06_04_00);
    }

    #[test]
    #[should_panic(expected = "does not fit the header")]
    fn a_64bit_bar_in_the_last_slot_is_a_test_bug() {
        let _ = SimDevice::endpoint(1, 2, 0).bar(5, SimBar::memory64(0x1000));
    }
}
