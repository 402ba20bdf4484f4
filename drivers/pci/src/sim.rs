// SPDX-License-Identifier: MIT OR Apache-2.0
//! A simulated PCI bus with real register semantics, for host tests.
//!
//! Each function has 4 KiB of configuration space in which every bit is
//! read-only, read-write, or write-1-to-clear. BARs size themselves the way
//! hardware does (their low address bits are read-only zeros), capability
//! lists are laid out by the builder, and every write is recorded so a test
//! can check what a driver did and in which order. Functions that do not
//! exist read all ones. Raw setters let a test plant hostile data.
//!
//! ```
//! use pci::sim::{SimBar, SimBus, SimDevice};
//! use pci::{Address, ConfigAccess};
//!
//! let nic = Address::new(0, 0, 2, 0).unwrap();
//! let bus = SimBus::new().device(
//!     nic,
//!     SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00)
//!         .bar(0, SimBar::memory32(0x2_0000).at(0xfebc_0000))
//!         .bar(2, SimBar::io(0x20).at(0xc000))
//!         .pm()
//!         .msi(1, true, false),
//! );
//! assert_eq!(bus.read16(nic, 0), 0x8086);
//! ```
//!
//! Capabilities are placed in the order they are added: standard ones from
//! 0x40 up, extended ones from 0x100 up, each at the previous one's offset
//! plus its length rounded up to 4.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use spin::Mutex;

use crate::Address;
use crate::access::{CONFIG_SPACE_SIZE, ConfigAccess, Width};
use crate::capability::{BarRegion, CapabilityId, ExtendedCapabilityId, LinkSpeed, PortType};
use crate::register::{
    self, Command, Status, aer, bridge, capability as header, extended_capability as extended, msi,
    msix, pcie, power_management as pm,
};

/// One byte of configuration space and how writes treat its bits.
#[derive(Clone, Copy, Debug, Default)]
struct Byte {
    value: u8,
    /// Bits a write replaces.
    writable: u8,
    /// Bits a write of 1 clears.
    write_one_to_clear: u8,
}

/// Which part of a [`Byte`] a builder sets.
#[derive(Clone, Copy)]
enum Plane {
    Value,
    Writable,
    WriteOneToClear,
}

/// One function's configuration space.
#[derive(Clone)]
struct ConfigSpace {
    bytes: Vec<Byte>,
}

impl ConfigSpace {
    fn new() -> Self {
        Self {
            bytes: vec![Byte::default(); usize::from(CONFIG_SPACE_SIZE)],
        }
    }

    /// The bytes an access of `width` at `offset` touches, if it keeps the contract.
    fn range(offset: u16, width: Width) -> Option<Range<usize>> {
        let start = usize::from(offset);
        width
            .fits(offset)
            .then(|| start..start.saturating_add(usize::from(width.bytes())))
    }

    fn read(&self, offset: u16, width: Width) -> Option<u32> {
        let bytes = self.bytes.get(Self::range(offset, width)?)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0, |value, byte| (value << 8) | u32::from(byte.value)),
        )
    }

    /// A write by software: writable bits take the new value, write-1-to-clear
    /// bits written as 1 clear, the rest keep their value.
    fn write(&mut self, offset: u16, width: Width, value: u32) -> bool {
        let Some(bytes) = Self::range(offset, width).and_then(|range| self.bytes.get_mut(range))
        else {
            return false;
        };
        for (byte, new) in bytes.iter_mut().zip(value.to_le_bytes()) {
            let kept = byte.value & !byte.writable;
            byte.value = (kept | (new & byte.writable)) & !(new & byte.write_one_to_clear);
        }
        true
    }

    /// Sets one plane of the bytes at `offset`, ignoring masks: the device's
    /// own view. Returns false when the access breaks the contract.
    fn set(&mut self, plane: Plane, offset: u16, width: Width, value: u32) -> bool {
        let Some(bytes) = Self::range(offset, width).and_then(|range| self.bytes.get_mut(range))
        else {
            return false;
        };
        for (byte, new) in bytes.iter_mut().zip(value.to_le_bytes()) {
            let target = match plane {
                Plane::Value => &mut byte.value,
                Plane::Writable => &mut byte.writable,
                Plane::WriteOneToClear => &mut byte.write_one_to_clear,
            };
            *target = new;
        }
        true
    }
}

impl fmt::Debug for ConfigSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self
            .read(register::VENDOR_ID, Width::Dword)
            .unwrap_or(u32::MAX);
        let header_type = self
            .read(register::HEADER_TYPE, Width::Byte)
            .unwrap_or(u32::MAX);
        write!(
            f,
            "ConfigSpace {{ id: {:04x}:{:04x}, header_type: {header_type:#x} }}",
            id & 0xFFFF,
            id >> 16
        )
    }
}

/// One write issued through [`ConfigAccess`], as the simulated bus saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigWrite {
    /// The function written.
    pub address: Address,
    /// The register offset.
    pub offset: u16,
    /// The access width.
    pub width: Width,
    /// The value written (zero-extended).
    pub value: u32,
}

/// One access issued through [`ConfigAccess`], as an observer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigAccessEvent {
    /// The function addressed (present or not).
    pub address: Address,
    /// The register offset.
    pub offset: u16,
    /// The access width.
    pub width: Width,
    /// The value written, or `None` for a read.
    pub written: Option<u32>,
}

/// What [`SimBus::observe`] calls at each access.
pub type Observer = Arc<dyn Fn(&ConfigAccessEvent) + Send + Sync>;

#[derive(Debug, Default)]
struct State {
    functions: BTreeMap<Address, ConfigSpace>,
    writes: Vec<ConfigWrite>,
    reads: usize,
}

/// A simulated PCI bus (any number of segments and buses), shareable
/// between threads.
#[derive(Default)]
pub struct SimBus {
    state: Mutex<State>,
    observer: Mutex<Option<Observer>>,
}

impl fmt::Debug for SimBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBus")
            .field("state", &self.state)
            .field("observed", &self.observer.lock().is_some())
            .finish()
    }
}

impl SimBus {
    /// A bus with no functions: every read returns all ones.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the function `device` at `address` (builder form of [`SimBus::insert`]).
    pub fn device(self, address: Address, device: SimDevice) -> Self {
        self.insert(address, device);
        self
    }

    /// Adds or replaces the function at `address` (hot-plug).
    pub fn insert(&self, address: Address, device: SimDevice) {
        self.state.lock().functions.insert(address, device.space);
    }

    /// Removes the function at `address` (surprise removal); returns whether
    /// there was one.
    pub fn remove(&self, address: Address) -> bool {
        self.state.lock().functions.remove(&address).is_some()
    }

    /// Every write issued so far, oldest first, including writes that were
    /// dropped (absent function, bad offset).
    pub fn writes(&self) -> Vec<ConfigWrite> {
        self.state.lock().writes.clone()
    }

    /// Forgets the writes recorded so far.
    pub fn clear_writes(&self) {
        self.state.lock().writes.clear();
    }

    /// How many reads were issued so far.
    pub fn reads(&self) -> usize {
        self.state.lock().reads
    }

    /// Calls `observer` at every read and write issued from now on, before
    /// the access takes effect and with no lock held, so it may act as a
    /// second CPU would in the middle of a driver's work (a guest
    /// rewriting its shared page while an op is served); `None` stops it.
    pub fn observe(&self, observer: Option<Observer>) {
        *self.observer.lock() = observer;
    }

    fn notify(&self, event: ConfigAccessEvent) {
        let observer = self.observer.lock().clone();
        if let Some(observer) = observer {
            observer(&event);
        }
    }

    /// Reads a register without counting the read, as a test's own check;
    /// `None` for an absent function or an access out of contract.
    pub fn peek(&self, address: Address, offset: u16, width: Width) -> Option<u32> {
        self.state
            .lock()
            .functions
            .get(&address)?
            .read(offset, width)
    }

    /// Sets a register as the device itself would (ignoring read-only and
    /// write-1-to-clear bits), without recording a write: e.g. raising an
    /// error bit in the status register. Returns false for an absent
    /// function or an access out of contract.
    pub fn poke(&self, address: Address, offset: u16, width: Width, value: u32) -> bool {
        self.state
            .lock()
            .functions
            .get_mut(&address)
            .is_some_and(|space| space.set(Plane::Value, offset, width, value))
    }

    fn read(&self, address: Address, offset: u16, width: Width) -> u32 {
        self.notify(ConfigAccessEvent {
            address,
            offset,
            width,
            written: None,
        });
        let mut state = self.state.lock();
        state.reads = state.reads.saturating_add(1);
        state
            .functions
            .get(&address)
            .and_then(|space| space.read(offset, width))
            .unwrap_or(width.mask())
    }

    fn write(&self, address: Address, offset: u16, width: Width, value: u32) {
        self.notify(ConfigAccessEvent {
            address,
            offset,
            width,
            written: Some(value),
        });
        let mut state = self.state.lock();
        state.writes.push(ConfigWrite {
            address,
            offset,
            width,
            value,
        });
        if let Some(space) = state.functions.get_mut(&address) {
            space.write(offset, width, value);
        }
    }
}

impl ConfigAccess for SimBus {
    fn read8(&self, address: Address, offset: u16) -> u8 {
        u8::try_from(self.read(address, offset, Width::Byte)).unwrap_or(u8::MAX)
    }

    fn read16(&self, address: Address, offset: u16) -> u16 {
        u16::try_from(self.read(address, offset, Width::Word)).unwrap_or(u16::MAX)
    }

    fn read32(&self, address: Address, offset: u16) -> u32 {
        self.read(address, offset, Width::Dword)
    }

    fn write8(&self, address: Address, offset: u16, value: u8) {
        self.write(address, offset, Width::Byte, value.into());
    }

    fn write16(&self, address: Address, offset: u16, value: u16) {
        self.write(address, offset, Width::Word, value.into());
    }

    fn write32(&self, address: Address, offset: u16, value: u32) {
        self.write(address, offset, Width::Dword, value);
    }
}

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

/// One function to put on a [`SimBus`], described with a builder.
///
/// Builder methods panic when the description itself is wrong (a BAR index
/// the header does not have, a size that is not a power of two, capabilities
/// that overflow their space): that is a bug in the test, not device data.
#[derive(Clone, Debug)]
pub struct SimDevice {
    space: ConfigSpace,
    /// Where the next standard capability goes.
    next_capability: u16,
    /// The last standard capability added, whose next pointer links the next one.
    last_capability: Option<u16>,
    /// Where the next extended capability goes.
    next_extended: u16,
    /// The last extended capability added.
    last_extended: Option<u16>,
    /// The PCI Express capability, once added.
    pcie: Option<u16>,
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
/// PMC version field of PCI Power Management 1.2.
const PM_VERSION_1_2: u16 = 3;
/// The PCIe capability version the builder produces.
const PCIE_CAPABILITY_VERSION: u16 = 2;
/// MSI message address bits: dword aligned.
const MSI_ADDRESS_WRITABLE: u32 = !0x3;

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
    fn set(mut self, plane: Plane, offset: u16, width: Width, value: u32) -> Self {
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
        for (byte, value) in device.space.bytes.iter_mut().zip(values) {
            byte.value = *value;
        }
        for (byte, mask) in device.space.bytes.iter_mut().zip(writable) {
            byte.writable = *mask;
        }
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

    /// Appends a standard capability of `length` bytes with ID `id`; returns
    /// the device and the capability's offset.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    fn add_capability(mut self, id: CapabilityId, length: u16) -> (Self, u16) {
        let offset = self.next_capability;
        let end = offset
            .checked_add(length)
            .filter(|end| *end <= register::CONVENTIONAL_SPACE_SIZE);
        let Some(end) = end else {
            panic!("sim: capability {id} does not fit below 0x100")
        };
        self.next_capability = end.next_multiple_of(4);
        let link = self
            .last_capability
            .map_or(register::CAPABILITIES_POINTER, |last| {
                last.saturating_add(header::NEXT)
            });
        self.last_capability = Some(offset);
        let device = self
            .set(Plane::Value, link, Width::Byte, offset.into())
            .set(
                Plane::Value,
                offset.saturating_add(header::ID),
                Width::Byte,
                id.0.into(),
            )
            .status(Status::CAPABILITIES_LIST);
        (device, offset)
    }

    /// Appends a standard capability with ID `id` and read-only `body` (the
    /// bytes after the ID and next pointer).
    pub fn capability(self, id: CapabilityId, body: &[u8]) -> Self {
        let length = u16::try_from(body.len())
            .unwrap_or(u16::MAX)
            .saturating_add(2);
        let (device, offset) = self.add_capability(id, length);
        device.fill(offset.saturating_add(2), body)
    }

    /// Writes read-only bytes starting at `offset`.
    fn fill(self, offset: u16, bytes: &[u8]) -> Self {
        bytes
            .iter()
            .zip(offset..)
            .fold(self, |device, (byte, offset)| {
                device.set(Plane::Value, offset, Width::Byte, (*byte).into())
            })
    }

    /// Appends a vendor-specific capability carrying `data` (after its length byte).
    pub fn vendor_specific(self, data: &[u8]) -> Self {
        let length = u8::try_from(data.len().saturating_add(3)).unwrap_or(u8::MAX);
        let body: Vec<u8> = core::iter::once(length)
            .chain(data.iter().copied())
            .collect();
        self.capability(CapabilityId::VENDOR_SPECIFIC, &body)
    }

    /// Appends a Power Management capability: PM 1.2 (version 3), D1 and D2
    /// supported, PME# from no state, now in D0, no soft reset on D3hot→D0.
    pub fn pm(self) -> Self {
        let (device, offset) = self.add_capability(CapabilityId::POWER_MANAGEMENT, pm::LENGTH);
        let at = |register: u16| offset.saturating_add(register);
        device
            .set(
                Plane::Value,
                at(pm::CAPABILITIES),
                Width::Word,
                u32::from(PM_VERSION_1_2 | pm::PMC_D1 | pm::PMC_D2),
            )
            .set(
                Plane::Value,
                at(pm::CONTROL_STATUS),
                Width::Word,
                pm::PMCSR_NO_SOFT_RESET.into(),
            )
            .set(
                Plane::Writable,
                at(pm::CONTROL_STATUS),
                Width::Word,
                u32::from(pm::PMCSR_STATE_MASK | pm::PMCSR_PME_ENABLE | pm::PMCSR_DATA_SELECT),
            )
            .set(
                Plane::WriteOneToClear,
                at(pm::CONTROL_STATUS),
                Width::Word,
                pm::PMCSR_PME_STATUS.into(),
            )
    }

    /// Appends an MSI capability asking for `vectors` vectors (1, 2, 4, … 32),
    /// with a 64-bit address if `is_64bit` and mask bits if `per_vector_masking`.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn msi(self, vectors: u8, is_64bit: bool, per_vector_masking: bool) -> Self {
        if !vectors.is_power_of_two() || vectors > 32 {
            panic!("sim: {vectors} MSI vectors is not a power of two up to 32");
        }
        let length = match (is_64bit, per_vector_masking) {
            (false, false) => msi::LENGTH_32,
            (true, false) => msi::LENGTH_64,
            (false, true) => msi::LENGTH_32_MASKABLE,
            (true, true) => msi::LENGTH_64_MASKABLE,
        };
        let (device, offset) = self.add_capability(CapabilityId::MSI, length);
        let at = |register: u16| offset.saturating_add(register);
        let mut control = u16::try_from(vectors.trailing_zeros()).unwrap_or_default()
            << msi::CONTROL_MULTIPLE_CAPABLE_SHIFT;
        if is_64bit {
            control |= msi::CONTROL_64BIT;
        }
        if per_vector_masking {
            control |= msi::CONTROL_PER_VECTOR_MASK;
        }
        let (data, mask) = if is_64bit {
            (msi::DATA_64, msi::MASK_64)
        } else {
            (msi::DATA_32, msi::MASK_32)
        };
        let device = device
            .set(Plane::Value, at(msi::CONTROL), Width::Word, control.into())
            .set(
                Plane::Writable,
                at(msi::CONTROL),
                Width::Word,
                u32::from(msi::CONTROL_ENABLE | msi::CONTROL_MULTIPLE_ENABLE),
            )
            .set(
                Plane::Writable,
                at(msi::ADDRESS_LOW),
                Width::Dword,
                MSI_ADDRESS_WRITABLE,
            )
            .set(Plane::Writable, at(data), Width::Word, 0xFFFF);
        let device = if is_64bit {
            device.set(
                Plane::Writable,
                at(msi::ADDRESS_HIGH),
                Width::Dword,
                u32::MAX,
            )
        } else {
            device
        };
        if per_vector_masking {
            let vector_bits = u32::MAX
                .checked_shr(u32::BITS.saturating_sub(vectors.into()))
                .unwrap_or_default();
            device.set(Plane::Writable, at(mask), Width::Dword, vector_bits)
        } else {
            device
        }
    }

    /// Appends an MSI-X capability with `table_size` entries (1-2048) whose
    /// table and pending bit array are at `table` and `pba`.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn msix(self, table_size: u16, table: BarRegion, pba: BarRegion) -> Self {
        let Some(size_field) = table_size
            .checked_sub(1)
            .filter(|field| *field <= msix::CONTROL_TABLE_SIZE_MASK)
        else {
            panic!("sim: MSI-X table size {table_size} is not 1-2048");
        };
        let (device, offset) = self.add_capability(CapabilityId::MSI_X, msix::LENGTH);
        let at = |register: u16| offset.saturating_add(register);
        let region = |region: BarRegion| {
            (region.offset & msix::OFFSET_MASK) | (u32::from(region.bir) & msix::BIR_MASK)
        };
        device
            .set(
                Plane::Value,
                at(msix::CONTROL),
                Width::Word,
                size_field.into(),
            )
            .set(
                Plane::Writable,
                at(msix::CONTROL),
                Width::Word,
                u32::from(msix::CONTROL_ENABLE | msix::CONTROL_FUNCTION_MASK),
            )
            .set(Plane::Value, at(msix::TABLE), Width::Dword, region(table))
            .set(Plane::Value, at(msix::PBA), Width::Dword, region(pba))
    }

    /// Appends a PCI Express capability (version 2) of `port_type`, with a
    /// 2.5 GT/s x1 link that trained to 2.5 GT/s x1 (see [`SimDevice::link`]).
    pub fn pcie(self, port_type: PortType) -> Self {
        let (device, offset) = self.add_capability(CapabilityId::PCI_EXPRESS, pcie::LENGTH_V2);
        let at = |register: u16| offset.saturating_add(register);
        let capabilities = PCIE_CAPABILITY_VERSION
            | (u16::from(port_type.raw()) << pcie::CAPABILITIES_PORT_TYPE_SHIFT);
        let device = SimDevice {
            pcie: Some(offset),
            ..device
        }
        .set(
            Plane::Value,
            at(pcie::CAPABILITIES),
            Width::Word,
            capabilities.into(),
        )
        .set(
            Plane::Writable,
            at(pcie::DEVICE_CONTROL),
            Width::Word,
            0xFFFF,
        )
        .set(
            Plane::WriteOneToClear,
            at(pcie::DEVICE_STATUS),
            Width::Word,
            pcie::DEVICE_STATUS_ERRORS.into(),
        )
        .set(Plane::Writable, at(pcie::LINK_CONTROL), Width::Word, 0xFFFF);
        device.link((LinkSpeed::Gt2_5, 1), (LinkSpeed::Gt2_5, 1))
    }

    /// Sets the PCIe link's maximum and current (speed, width).
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn link(self, max: (LinkSpeed, u8), current: (LinkSpeed, u8)) -> Self {
        let Some(offset) = self.pcie else {
            panic!("sim: link() needs pcie() first")
        };
        let encode = |(speed, width): (LinkSpeed, u8)| {
            (u32::from(speed.raw()) & pcie::LINK_SPEED_MASK)
                | ((u32::from(width) & pcie::LINK_WIDTH_MASK) << pcie::LINK_WIDTH_SHIFT)
        };
        self.set(
            Plane::Value,
            offset.saturating_add(pcie::LINK_CAPABILITIES),
            Width::Dword,
            encode(max),
        )
        .set(
            Plane::Value,
            offset.saturating_add(pcie::LINK_STATUS),
            Width::Word,
            encode(current),
        )
    }

    /// Marks the PCIe function as supporting function-level reset.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn function_level_reset(self) -> Self {
        let Some(offset) = self.pcie else {
            panic!("sim: function_level_reset() needs pcie() first")
        };
        let register = offset.saturating_add(pcie::DEVICE_CAPABILITIES);
        let current = self.space.read(register, Width::Dword).unwrap_or_default();
        self.set(
            Plane::Value,
            register,
            Width::Dword,
            current | pcie::DEVICE_CAPABILITIES_FLR,
        )
    }

    /// Appends an extended capability with ID `id`, `version` and read-only
    /// `body` (the bytes after the 4-byte header); returns it and its offset.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    fn add_extended(mut self, id: ExtendedCapabilityId, version: u8, length: u16) -> (Self, u16) {
        let offset = self.next_extended;
        let end = offset
            .checked_add(length)
            .filter(|end| *end <= CONFIG_SPACE_SIZE);
        let Some(end) = end else {
            panic!("sim: extended capability {id} does not fit below 0x1000")
        };
        self.next_extended = end.next_multiple_of(4);
        let previous = self.last_extended.replace(offset);
        let header = u32::from(id.0)
            | ((u32::from(version) & extended::VERSION_MASK) << extended::VERSION_SHIFT);
        let device = self.set(Plane::Value, offset, Width::Dword, header);
        let device = match previous {
            Some(previous) => {
                let current = device
                    .space
                    .read(previous, Width::Dword)
                    .unwrap_or_default();
                device.set(
                    Plane::Value,
                    previous,
                    Width::Dword,
                    current | (u32::from(offset) << extended::NEXT_SHIFT),
                )
            }
            None => device,
        };
        (device, offset)
    }

    /// Appends an extended capability with read-only `body` after its header.
    pub fn extended_capability(self, id: ExtendedCapabilityId, version: u8, body: &[u8]) -> Self {
        let length = u16::try_from(body.len())
            .unwrap_or(u16::MAX)
            .saturating_add(4);
        let (device, offset) = self.add_extended(id, version, length);
        device.fill(offset.saturating_add(4), body)
    }

    /// Appends an Advanced Error Reporting capability (version 1): status
    /// registers write-1-to-clear, mask and severity registers writable.
    pub fn aer(self) -> Self {
        let (device, offset) = self.add_extended(
            ExtendedCapabilityId::ADVANCED_ERROR_REPORTING,
            1,
            aer::LENGTH,
        );
        let at = |register: u16| offset.saturating_add(register);
        [
            aer::UNCORRECTABLE_MASK,
            aer::UNCORRECTABLE_SEVERITY,
            aer::CORRECTABLE_MASK,
        ]
        .into_iter()
        .fold(device, |device, register| {
            device.set(Plane::Writable, at(register), Width::Dword, u32::MAX)
        })
        .set(
            Plane::WriteOneToClear,
            at(aer::UNCORRECTABLE_STATUS),
            Width::Dword,
            u32::MAX,
        )
        .set(
            Plane::WriteOneToClear,
            at(aer::CORRECTABLE_STATUS),
            Width::Dword,
            u32::MAX,
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

    fn address(bus: u8, device: u8, function: u8) -> Address {
        Address::new(0, bus, device, function).unwrap()
    }

    #[test]
    fn absent_functions_read_all_ones_and_ignore_writes() {
        let bus = SimBus::new();
        let nowhere = address(0, 1, 0);
        assert_eq!(bus.read32(nowhere, 0), u32::MAX);
        assert_eq!(bus.read16(nowhere, 0), u16::MAX);
        assert_eq!(bus.read8(nowhere, 0), u8::MAX);
        bus.write32(nowhere, 0x10, 0);
        assert_eq!(bus.writes().len(), 1);
        assert_eq!(bus.reads(), 3);
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
    fn an_observer_sees_every_access_before_it_lands_and_can_be_removed() {
        use std::sync::Mutex as StdMutex;
        let nic = address(0, 2, 0);
        let bus = Arc::new(SimBus::new().device(nic, SimDevice::endpoint(0x8086, 0x10d3, 0)));
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (log, inner) = (Arc::clone(&seen), Arc::clone(&bus));
        bus.observe(Some(Arc::new(move |event: &ConfigAccessEvent| {
            // No lock is held: the observer may look at the bus itself,
            // and sees the register before the write lands.
            let before = inner.peek(event.address, event.offset, event.width);
            log.lock().unwrap().push((*event, before));
        })));
        assert_eq!(bus.read16(nic, 0), 0x8086);
        bus.write8(nic, 0x3c, 0x0b);
        bus.observe(None);
        bus.read32(nic, 0);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (
                    ConfigAccessEvent {
                        address: nic,
                        offset: 0,
                        width: Width::Word,
                        written: None
                    },
                    Some(0x8086)
                ),
                (
                    ConfigAccessEvent {
                        address: nic,
                        offset: 0x3c,
                        width: Width::Byte,
                        written: Some(0x0b)
                    },
                    Some(0)
                ),
            ]
        );
        assert_eq!(bus.peek(nic, 0x3c, Width::Byte), Some(0x0b));
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
    fn capabilities_are_chained_from_0x40_and_0x100() {
        let function = address(0, 4, 0);
        let bus = SimBus::new().device(
            function,
            SimDevice::endpoint(0x1234, 0x5678, 0)
                .pm()
                .msi(4, true, true)
                .pcie(PortType::Endpoint)
                .aer()
                .extended_capability(ExtendedCapabilityId::DEVICE_SERIAL_NUMBER, 1, &[0; 8]),
        );
        assert_ne!(
            bus.read16(function, register::STATUS) & Status::CAPABILITIES_LIST.bits(),
            0
        );
        assert_eq!(bus.read8(function, register::CAPABILITIES_POINTER), 0x40);
        assert_eq!(bus.read16(function, 0x40), 0x4801); // PM, next at 0x48 (PM is 8 bytes)
        assert_eq!(bus.read16(function, 0x48), 0x6005); // MSI 64-bit maskable: 0x18 bytes
        assert_eq!(bus.read16(function, 0x60), 0x0010); // PCIe, end of list
        assert_eq!(bus.read32(function, 0x100), 0x1481_0001); // AER v1, next at 0x148
        assert_eq!(bus.read32(function, 0x148), 0x0001_0003); // DSN v1, end
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
    fn writes_are_logged_and_poke_bypasses_masks() {
        let function = address(0, 5, 0);
        let bus = SimBus::new().device(function, SimDevice::endpoint(1, 2, 0));
        bus.write16(function, register::COMMAND, 0x0006);
        assert_eq!(
            bus.writes(),
            [ConfigWrite {
                address: function,
                offset: register::COMMAND,
                width: Width::Word,
                value: 6
            }]
        );
        bus.clear_writes();
        assert!(bus.writes().is_empty());
        assert!(bus.poke(function, register::VENDOR_ID, Width::Word, 0xabcd));
        assert_eq!(
            bus.peek(function, register::VENDOR_ID, Width::Word),
            Some(0xabcd)
        );
        assert!(bus.remove(function));
        assert_eq!(bus.read16(function, register::VENDOR_ID), u16::MAX);
    }

    #[test]
    fn out_of_contract_accesses_read_all_ones() {
        let function = address(0, 5, 0);
        let bus = SimBus::new().device(function, SimDevice::endpoint(1, 2, 0));
        assert_eq!(bus.read32(function, 2), u32::MAX);
        assert_eq!(bus.read16(function, 0x1000), u16::MAX);
        bus.write32(function, 0xFFFF, 0);
        assert_eq!(bus.read16(function, 0), 1);
    }

    #[test]
    #[should_panic(expected = "does not fit the header")]
    fn a_64bit_bar_in_the_last_slot_is_a_test_bug() {
        let _ = SimDevice::endpoint(1, 2, 0).bar(5, SimBar::memory64(0x1000));
    }
}
