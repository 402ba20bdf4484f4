// SPDX-License-Identifier: MIT OR Apache-2.0
//! Enumeration: every function reachable in one ECAM segment, fully decoded.
//!
//! The walk starts at the segment's first bus and follows PCI-PCI bridges
//! (PCIe root and switch ports included) through the secondary and
//! subordinate bus numbers firmware programmed; it never renumbers. Buses of
//! the range that no bridge claims are then probed as further root buses
//! (host bridges such as QEMU's `pxb-pcie` live there), as Linux's peer-bus
//! scan does. Each bus is scanned at most once, whatever bridges claim.
//!
//! Probing is cheap: one 16-bit read of function 0's vendor ID per device,
//! functions 1-7 only when function 0 says it is multifunction, and only
//! device 0 below a PCIe root or downstream port (its link has one device).

use alloc::vec::Vec;
use core::fmt;
use core::ops::RangeInclusive;

use log::{debug, warn};

use crate::access::ConfigAccess;
use crate::anomaly::{Anomaly, BridgeError};
use crate::bar::{Bar, BarLayout, BarSet, Rom};
use crate::bitset::BitSet;
use crate::capability::CapabilitySet;
use crate::class::ClassCode;
use crate::register::{self, Command, bridge};
use crate::{Address, Selector};

/// The layout of a function's header (header type bits 6:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderLayout {
    /// Type 0: an endpoint.
    Endpoint,
    /// Type 1: a PCI-PCI bridge.
    Bridge,
    /// Type 2: a CardBus bridge (listed, not decoded).
    CardBus,
    /// Any other value (listed, not decoded).
    Other(u8),
}

impl HeaderLayout {
    /// The layout from the header type register.
    pub const fn from_header_type(header_type: u8) -> Self {
        match header_type & register::HEADER_LAYOUT_MASK {
            0 => Self::Endpoint,
            1 => Self::Bridge,
            2 => Self::CardBus,
            other => Self::Other(other),
        }
    }

    /// The 7-bit encoding.
    pub const fn raw(self) -> u8 {
        match self {
            Self::Endpoint => 0,
            Self::Bridge => 1,
            Self::CardBus => 2,
            Self::Other(raw) => raw,
        }
    }
}

impl fmt::Display for HeaderLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.raw())
    }
}

/// An address window a bridge forwards, `base..=limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// First address.
    pub base: u64,
    /// Last address.
    pub limit: u64,
}

impl Window {
    /// The window, or `None` when it is closed (base above limit).
    fn open(base: u64, limit: u64) -> Option<Self> {
        (base <= limit).then_some(Self { base, limit })
    }
}

/// A PCI-PCI bridge's bus numbers and windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BridgeInfo {
    /// Primary bus number (the bus it sits on, as programmed).
    pub primary: u8,
    /// Secondary bus number (directly behind it).
    pub secondary: u8,
    /// Subordinate bus number (highest behind it).
    pub subordinate: u8,
    /// I/O window.
    pub io: Option<Window>,
    /// Non-prefetchable memory window.
    pub memory: Option<Window>,
    /// Prefetchable memory window.
    pub prefetchable: Option<Window>,
}

/// The low and high 16-bit halves of a dword: two adjacent 16-bit registers.
fn halves(value: u32) -> (u16, u16) {
    let [low_0, low_1, high_0, high_1] = value.to_le_bytes();
    (
        u16::from_le_bytes([low_0, low_1]),
        u16::from_le_bytes([high_0, high_1]),
    )
}

/// Whether a window register's width field says 32-bit I/O or 64-bit memory.
fn is_wide(register: u16) -> bool {
    register & bridge::WINDOW_WIDTH_MASK == bridge::WINDOW_WIDTH_WIDE
}

impl BridgeInfo {
    /// Reads a type-1 header's bus numbers and windows.
    fn read<A: ConfigAccess + ?Sized>(access: &A, address: Address) -> Self {
        let [primary, secondary, subordinate, _] =
            access.read32(address, bridge::PRIMARY_BUS).to_le_bytes();

        let [io_base, io_limit, _, _] = access.read32(address, bridge::IO_BASE).to_le_bytes();
        let io_upper = if is_wide(io_base.into()) {
            access.read32(address, bridge::IO_BASE_UPPER)
        } else {
            0
        };
        let (io_base_upper, io_limit_upper) = halves(io_upper);
        let io_address = |register: u8, upper: u16| {
            (u64::from(u16::from(register) & bridge::IO_WINDOW_ADDRESS_MASK)
                << bridge::IO_WINDOW_SHIFT)
                | (u64::from(upper) << bridge::IO_UPPER_SHIFT)
        };
        let io = Window::open(
            io_address(io_base, io_base_upper),
            io_address(io_limit, io_limit_upper) | (bridge::IO_WINDOW_GRANULARITY - 1),
        );

        let memory_address = |register: u16| {
            u64::from(register & bridge::MEMORY_WINDOW_ADDRESS_MASK) << bridge::MEMORY_WINDOW_SHIFT
        };
        let limit_address =
            |register: u16| memory_address(register) | (bridge::MEMORY_WINDOW_GRANULARITY - 1);
        let (memory_base, memory_limit) = halves(access.read32(address, bridge::MEMORY_BASE));
        let memory = Window::open(memory_address(memory_base), limit_address(memory_limit));

        let (prefetchable_base, prefetchable_limit) =
            halves(access.read32(address, bridge::PREFETCHABLE_BASE));
        let (base_upper, limit_upper) = if is_wide(prefetchable_base) {
            let upper = |offset| u64::from(access.read32(address, offset)) << 32;
            (
                upper(bridge::PREFETCHABLE_BASE_UPPER),
                upper(bridge::PREFETCHABLE_LIMIT_UPPER),
            )
        } else {
            (0, 0)
        };
        let prefetchable = Window::open(
            memory_address(prefetchable_base) | base_upper,
            limit_address(prefetchable_limit) | limit_upper,
        );
        Self {
            primary,
            secondary,
            subordinate,
            io,
            memory,
            prefetchable,
        }
    }
}

/// The subsystem IDs of a type-0 function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subsystem {
    /// Subsystem vendor ID.
    pub vendor: u16,
    /// Subsystem ID.
    pub id: u16,
}

/// One function, as enumeration found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Where it is.
    pub address: Address,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Class code.
    pub class: ClassCode,
    /// Revision ID.
    pub revision: u8,
    /// Header layout.
    pub header: HeaderLayout,
    /// Header type bit 7 (meaningful on function 0).
    pub multifunction: bool,
    /// The command register as firmware left it.
    pub command: Command,
    /// Subsystem IDs (type 0 only).
    pub subsystem: Option<Subsystem>,
    /// Interrupt pin: 0 none, 1-4 INTA#-INTD#.
    pub interrupt_pin: u8,
    /// Interrupt line as firmware programmed it.
    pub interrupt_line: u8,
    /// Implemented BARs.
    pub bars: Vec<Bar>,
    /// Expansion ROM.
    pub rom: Option<Rom>,
    /// Bus numbers and windows (type 1 only).
    pub bridge: Option<BridgeInfo>,
    /// Capabilities (types 0 and 1 only).
    pub capabilities: CapabilitySet,
    /// The bridge this function sits behind; `None` on a root bus.
    pub parent: Option<Address>,
    /// What was wrong in its configuration data.
    pub anomalies: Vec<Anomaly>,
}

impl Function {
    /// Reads and decodes the function at `address` (known to answer).
    fn read<A: ConfigAccess + ?Sized>(
        access: &A,
        address: Address,
        parent: Option<Address>,
    ) -> Self {
        let (vendor_id, device_id) = halves(access.read32(address, register::VENDOR_ID));
        let class_register = access.read32(address, register::REVISION_ID);
        let [revision, ..] = class_register.to_le_bytes();
        let header_type = access.read8(address, register::HEADER_TYPE);
        let [interrupt_line, interrupt_pin] = access
            .read16(address, register::INTERRUPT_LINE)
            .to_le_bytes();
        let class = ClassCode::from_register(class_register);
        let header = HeaderLayout::from_header_type(header_type);
        let mut function = Self {
            address,
            vendor_id,
            device_id,
            class,
            revision,
            header,
            multifunction: header_type & register::HEADER_MULTIFUNCTION != 0,
            command: Command::from_bits_retain(access.read16(address, register::COMMAND)),
            subsystem: None,
            interrupt_pin,
            interrupt_line,
            bars: Vec::new(),
            rom: None,
            bridge: None,
            capabilities: CapabilitySet::default(),
            parent,
            anomalies: Vec::new(),
        };
        let layout = match header {
            HeaderLayout::Endpoint => {
                let (vendor, id) = halves(access.read32(address, register::SUBSYSTEM_VENDOR_ID));
                function.subsystem = Some(Subsystem { vendor, id });
                BarLayout::ENDPOINT
            }
            HeaderLayout::Bridge => {
                function.bridge = Some(BridgeInfo::read(access, address));
                BarLayout::BRIDGE
            }
            HeaderLayout::CardBus | HeaderLayout::Other(_) => {
                function.report(Anomaly::UnsupportedHeader {
                    layout: header.raw(),
                });
                return function;
            }
        };
        let bars = BarSet::size(access, address, layout, class.is_host_bridge());
        function.bars = bars.bars;
        function.rom = bars.rom;
        bars.errors
            .into_iter()
            .for_each(|error| function.report(error.into()));
        function.capabilities = CapabilitySet::read(access, address);
        for error in function.capabilities.errors.clone() {
            function.report(error.into());
        }
        function
    }

    /// Records and logs an anomaly.
    fn report(&mut self, anomaly: Anomaly) {
        warn!("pci {}: {anomaly}", self.address);
        self.anomalies.push(anomaly);
    }
}

/// Everything found in one segment, sorted by address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// The segment enumerated.
    pub segment: u16,
    /// Every function found, sorted by address.
    pub functions: Vec<Function>,
}

impl Topology {
    /// The function at `address`, if enumeration found one.
    pub fn get(&self, address: Address) -> Option<&Function> {
        let index = self
            .functions
            .binary_search_by_key(&address, |function| function.address)
            .ok()?;
        self.functions.get(index)
    }

    /// The bridges above `address`, nearest first.
    pub fn upstream_bridges(&self, address: Address) -> impl Iterator<Item = &Function> {
        let mut next = self.get(address).and_then(|function| function.parent);
        // Parents are always on lower-numbered buses, so 256 steps end any chain.
        (0..=u8::MAX).map_while(move |_| {
            let bridge = self.get(next?)?;
            next = bridge.parent;
            Some(bridge)
        })
    }

    /// Whether `selectors` select `address`: it or any bridge above it
    /// matches one of them, as Linux's pciback decides what to seize.
    pub fn selects(&self, selectors: &[Selector], address: Address) -> bool {
        let matches = |address: Address| selectors.iter().any(|selector| selector.matches(address));
        matches(address)
            || self
                .upstream_bridges(address)
                .any(|bridge| matches(bridge.address))
    }

    /// Number of anomalies over all functions.
    pub fn anomaly_count(&self) -> usize {
        self.functions
            .iter()
            .map(|function| function.anomalies.len())
            .sum()
    }
}

/// Buses seen, one bit each.
type BusSet = BitSet<4>;

/// A bus to scan and what its upstream side allows.
struct PendingBus {
    bus: u8,
    /// Highest bus number reachable through the same upstream path.
    last: u8,
    /// The bridge leading here.
    parent: Option<Address>,
    /// Only device 0 can exist (below a PCIe root or downstream port).
    single_device: bool,
}

/// State of one segment's walk.
struct Walker<'a, A: ?Sized> {
    access: &'a A,
    segment: u16,
    /// Buses scanned.
    scanned: BusSet,
    /// Buses some bridge claims (secondary to subordinate).
    claimed: BusSet,
    functions: Vec<Function>,
}

/// Whether a vendor ID read means no function answers.
fn absent(vendor_id: u16) -> bool {
    vendor_id == u16::MAX || vendor_id == 0
}

impl<A: ConfigAccess + ?Sized> Walker<'_, A> {
    /// Scans the hierarchy below root bus `root` (depth first, no recursion).
    fn walk(&mut self, root: u8, last: u8) {
        let mut pending = Vec::from([PendingBus {
            bus: root,
            last,
            parent: None,
            single_device: false,
        }]);
        while let Some(bus) = pending.pop() {
            if !self.scanned.insert(bus.bus.into()) {
                continue;
            }
            let first_new = self.functions.len();
            self.scan_bus(&bus);
            let mut children = Vec::new();
            for function in self.functions.get_mut(first_new..).into_iter().flatten() {
                if let Some(child) = Self::child_bus(&mut self.claimed, function, bus.last) {
                    children.push(child);
                }
            }
            // Reversed so that the lowest device's bus is scanned first.
            pending.extend(children.into_iter().rev());
        }
    }

    /// Reads every function present on `bus`.
    fn scan_bus(&mut self, bus: &PendingBus) {
        let last_device = if bus.single_device {
            0
        } else {
            Address::MAX_DEVICE
        };
        for device in 0..=last_device {
            let Some(first) = Address::new(self.segment, bus.bus, device, 0) else {
                continue;
            };
            if absent(self.access.read16(first, register::VENDOR_ID)) {
                continue;
            }
            let multifunction = self.access.read8(first, register::HEADER_TYPE)
                & register::HEADER_MULTIFUNCTION
                != 0;
            let last_function = if multifunction {
                Address::MAX_FUNCTION
            } else {
                0
            };
            for number in 0..=last_function {
                let Some(address) = first.with_function(number) else {
                    continue;
                };
                if number != 0 && absent(self.access.read16(address, register::VENDOR_ID)) {
                    continue;
                }
                let function = Function::read(self.access, address, bus.parent);
                debug!(
                    "pci {address}: {:04x}:{:04x} class {} {}",
                    function.vendor_id,
                    function.device_id,
                    function.class,
                    function.class.name()
                );
                self.functions.push(function);
            }
        }
    }

    /// The bus behind `function` if it is a bridge that can be followed,
    /// claiming its buses; reports on the function why not otherwise.
    fn child_bus(claimed: &mut BusSet, function: &mut Function, last: u8) -> Option<PendingBus> {
        let info = function.bridge?;
        let (secondary, subordinate) = (info.secondary, info.subordinate);
        let error = if secondary <= function.address.bus() {
            Some(BridgeError::SecondaryNotBelow { secondary })
        } else if secondary > last {
            Some(BridgeError::SecondaryOutOfRange { secondary, last })
        } else if !claimed.insert(secondary.into()) {
            Some(BridgeError::SecondaryAlreadyClaimed { secondary })
        } else {
            None
        };
        if let Some(error) = error {
            function.report(error.into());
            return None;
        }
        let child_last = if subordinate < secondary {
            function.report(
                BridgeError::SubordinateBelowSecondary {
                    secondary,
                    subordinate,
                }
                .into(),
            );
            secondary
        } else if subordinate > last {
            function.report(BridgeError::SubordinateOutOfRange { subordinate, last }.into());
            last
        } else {
            subordinate
        };
        for bus in secondary..=child_last {
            claimed.insert(bus.into());
        }
        let single_device = function
            .capabilities
            .pci_express()
            .is_some_and(|pcie| pcie.port_type.has_single_device_below());
        Some(PendingBus {
            bus: secondary,
            last: child_last,
            parent: Some(function.address),
            single_device,
        })
    }
}

/// Enumerates `buses` of `segment` (the range an ECAM window covers).
///
/// Sizes every BAR on the way (decode off while sizing, see [`BarSet::size`]).
/// Malformed data never stops the walk: it is reported on the function
/// concerned as an [`Anomaly`] and logged.
pub fn enumerate<A: ConfigAccess + ?Sized>(
    access: &A,
    segment: u16,
    buses: RangeInclusive<u8>,
) -> Topology {
    let mut walker = Walker {
        access,
        segment,
        scanned: BusSet::new(),
        claimed: BusSet::new(),
        functions: Vec::new(),
    };
    let last = *buses.end();
    for root in buses {
        if !walker.claimed.contains(root.into()) && !walker.scanned.contains(root.into()) {
            walker.walk(root, last);
        }
    }
    let mut functions = walker.functions;
    functions.sort_by_key(|function| function.address);
    Topology { segment, functions }
}
