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
        let (bars, bar_errors) = BarSet::size(access, address, layout, class.is_host_bridge());
        let (capabilities, capability_errors) = CapabilitySet::read(access, address);
        function.bars = bars.bars;
        function.rom = bars.rom;
        function.capabilities = capabilities;
        let errors = bar_errors.into_iter().map(Anomaly::from);
        errors
            .chain(capability_errors.into_iter().map(Anomaly::from))
            .for_each(|anomaly| function.report(anomaly));
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
    buses: Buses,
    /// Found so far, in address order.
    functions: Vec<Function>,
}

/// What the walk knows of the segment's buses.
#[derive(Default)]
struct Buses {
    /// Buses given to a bridge (or taken as a root) to scan: each only once.
    assigned: BusSet,
    /// Buses inside some bridge's secondary..=subordinate range: not roots.
    claimed: BusSet,
}

/// Whether a vendor ID read means no function answers.
fn absent(vendor_id: u16) -> bool {
    vendor_id == u16::MAX || vendor_id == 0
}

impl<A: ConfigAccess + ?Sized> Walker<'_, A> {
    /// Scans the hierarchy below root bus `root` (depth first, no recursion).
    fn walk(&mut self, root: u8, last: u8) {
        self.buses.assigned.insert(root.into());
        let mut pending = Vec::from([PendingBus {
            bus: root,
            last,
            parent: None,
            single_device: false,
        }]);
        while let Some(bus) = pending.pop() {
            let first_new = self.functions.len();
            self.scan_bus(&bus);
            // Buses claimed by the bridges of this bus: siblings may not overlap.
            let mut siblings = BusSet::new();
            let mut children = Vec::new();
            for function in self.functions.get_mut(first_new..).into_iter().flatten() {
                if let Some(child) =
                    Self::child_bus(&mut self.buses, &mut siblings, function, bus.last)
                {
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
                // Kept in address order as the walk goes (it visits buses
                // depth first, not in order): no sort routine in the image.
                let at = self.functions.partition_point(|f| f.address < address);
                self.functions.insert(at, function);
            }
        }
    }

    /// The bus behind `function` if it is a bridge that can be followed,
    /// claiming its buses; reports on the function why not otherwise.
    fn child_bus(
        buses: &mut Buses,
        siblings: &mut BusSet,
        function: &mut Function,
        last: u8,
    ) -> Option<PendingBus> {
        let info = function.bridge?;
        let (secondary, subordinate) = (info.secondary, info.subordinate);
        let error = if secondary <= function.address.bus() {
            Some(BridgeError::SecondaryNotBelow { secondary })
        } else if secondary > last {
            Some(BridgeError::SecondaryOutOfRange { secondary, last })
        } else if siblings.contains(secondary.into()) || !buses.assigned.insert(secondary.into()) {
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
            siblings.insert(bus.into());
            buses.claimed.insert(bus.into());
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
        buses: Buses::default(),
        functions: Vec::new(),
    };
    let last = *buses.end();
    for root in buses {
        if !walker.buses.claimed.contains(root.into())
            && !walker.buses.assigned.contains(root.into())
        {
            walker.walk(root, last);
        }
    }
    Topology {
        segment,
        functions: walker.functions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Width;
    use crate::bar::BarKind;
    use crate::capability::{LinkSpeed, PortType};
    use crate::sim::{SimBar, SimBus, SimDevice};
    use proptest::prelude::*;

    fn address(bus: u8, device: u8, function: u8) -> Address {
        Address::new(0, bus, device, function).unwrap()
    }

    fn addresses(topology: &Topology) -> Vec<Address> {
        topology
            .functions
            .iter()
            .map(|function| function.address)
            .collect()
    }

    fn bridge_errors(topology: &Topology, at: Address) -> Vec<Anomaly> {
        topology.get(at).unwrap().anomalies.clone()
    }

    /// Host bridge, a root port leading to a switch (upstream port on bus 1,
    /// downstream port on bus 2) with an NVMe controller on bus 3, and an
    /// ISA bridge; as q35 firmware would number them.
    fn nested() -> SimBus {
        SimBus::new()
            .device(
                address(0, 0, 0),
                SimDevice::endpoint(0x8086, 0x29c0, 0x06_00_00),
            )
            .device(
                address(0, 0x1c, 0),
                SimDevice::bridge(0x1b36, 0x000c)
                    .buses(0, 1, 3)
                    .memory_window(0xfe80_0000, 0xfe9f_ffff)
                    .io_window(0x1000, 0x1fff)
                    .prefetchable_window(0x80_0000_0000, 0x80_3fff_ffff)
                    .pcie(PortType::RootPort)
                    .interrupt(1, 10),
            )
            .device(
                address(0, 0x1f, 0),
                SimDevice::endpoint(0x8086, 0x2918, 0x06_01_00),
            )
            .device(
                address(1, 0, 0),
                SimDevice::bridge(0x104c, 0x8232)
                    .buses(1, 2, 3)
                    .pcie(PortType::UpstreamPort),
            )
            .device(
                address(2, 0, 0),
                SimDevice::bridge(0x104c, 0x8233)
                    .buses(2, 3, 3)
                    .pcie(PortType::DownstreamPort),
            )
            .device(
                address(3, 0, 0),
                SimDevice::endpoint(0x1b36, 0x0010, 0x01_08_02)
                    .revision(2)
                    .subsystem(0x1af4, 0x1100)
                    .interrupt(1, 11)
                    .command(Command::MEMORY_SPACE | Command::BUS_MASTER)
                    .bar(0, SimBar::memory64(0x4000).at(0xfe80_0000))
                    .pm()
                    .msix(
                        65,
                        crate::capability::BarRegion {
                            bir: 0,
                            offset: 0x2000,
                        },
                        crate::capability::BarRegion {
                            bir: 0,
                            offset: 0x3000,
                        },
                    )
                    .pcie(PortType::Endpoint)
                    .link((LinkSpeed::Gt8, 4), (LinkSpeed::Gt8, 4))
                    .aer(),
            )
            // A function that answers on every device number of bus 3 (as some
            // devices do below a port): only device 0 may be scanned there.
            .device(
                address(3, 1, 0),
                SimDevice::endpoint(0x1b36, 0x0010, 0x01_08_02),
            )
    }

    #[test]
    fn walks_nested_bridges_through_programmed_bus_numbers() {
        let bus = nested();
        let topology = enumerate(&bus, 0, 0..=0xff);
        assert_eq!(
            addresses(&topology),
            [
                address(0, 0, 0),
                address(0, 0x1c, 0),
                address(0, 0x1f, 0),
                address(1, 0, 0),
                address(2, 0, 0),
                address(3, 0, 0)
            ]
        );
        assert_eq!(topology.anomaly_count(), 0);

        let nvme = topology.get(address(3, 0, 0)).unwrap();
        assert_eq!(
            (nvme.vendor_id, nvme.device_id, nvme.revision),
            (0x1b36, 0x0010, 2)
        );
        assert_eq!(
            nvme.class,
            ClassCode {
                base: 0x01,
                sub: 0x08,
                prog_if: 0x02
            }
        );
        assert_eq!(nvme.header, HeaderLayout::Endpoint);
        assert_eq!(
            nvme.subsystem,
            Some(Subsystem {
                vendor: 0x1af4,
                id: 0x1100
            })
        );
        assert_eq!((nvme.interrupt_pin, nvme.interrupt_line), (1, 11));
        assert_eq!(
            nvme.bars,
            [Bar {
                index: 0,
                kind: BarKind::Memory64,
                prefetchable: false,
                address: 0xfe80_0000,
                size: 0x4000
            }]
        );
        assert_eq!(nvme.capabilities.standard.len(), 3);
        assert_eq!(nvme.capabilities.extended.len(), 1);
        assert_eq!(nvme.parent, Some(address(2, 0, 0)));

        let root_port = topology.get(address(0, 0x1c, 0)).unwrap();
        assert_eq!(
            root_port.bridge,
            Some(BridgeInfo {
                primary: 0,
                secondary: 1,
                subordinate: 3,
                io: Some(Window {
                    base: 0x1000,
                    limit: 0x1fff
                }),
                memory: Some(Window {
                    base: 0xfe80_0000,
                    limit: 0xfe9f_ffff
                }),
                prefetchable: Some(Window {
                    base: 0x80_0000_0000,
                    limit: 0x80_3fff_ffff
                }),
            })
        );
        let upstream = topology.get(address(1, 0, 0)).unwrap().bridge.unwrap();
        assert_eq!(
            (upstream.io, upstream.memory, upstream.prefetchable),
            (None, None, None)
        );

        let chain: Vec<Address> = topology
            .upstream_bridges(address(3, 0, 0))
            .map(|bridge| bridge.address)
            .collect();
        assert_eq!(
            chain,
            [address(2, 0, 0), address(1, 0, 0), address(0, 0x1c, 0)]
        );
    }

    #[test]
    fn a_selected_bridge_selects_everything_behind_it() {
        let topology = enumerate(&nested(), 0, 0..=0xff);
        let selectors = [Selector::Function(address(1, 0, 0))];
        assert!(topology.selects(&selectors, address(3, 0, 0)));
        assert!(topology.selects(&selectors, address(1, 0, 0)));
        assert!(!topology.selects(&selectors, address(0, 0x1c, 0)));
        assert!(!topology.selects(&selectors, address(0, 0x1f, 0)));
    }

    #[test]
    fn sizing_during_enumeration_pauses_decode_and_restores() {
        let bus = nested();
        enumerate(&bus, 0, 0..=0xff);
        let nvme = address(3, 0, 0);
        let writes: Vec<_> = bus
            .writes()
            .into_iter()
            .filter(|write| write.address == nvme)
            .collect();
        let decoding = u32::from((Command::MEMORY_SPACE | Command::BUS_MASTER).bits());
        assert_eq!(
            writes.first().map(|write| (write.offset, write.value)),
            Some((register::COMMAND, 0x4))
        );
        assert_eq!(
            writes.last().map(|write| (write.offset, write.value)),
            Some((register::COMMAND, decoding))
        );
        assert_eq!(
            bus.peek(nvme, register::COMMAND, Width::Word),
            Some(decoding)
        );
        assert_eq!(
            bus.peek(nvme, register::bar(0), Width::Dword),
            Some(0xfe80_0004)
        );
        assert_eq!(bus.peek(nvme, register::bar(1), Width::Dword), Some(0));
    }

    #[test]
    fn multifunction_devices_are_probed_and_single_function_ones_are_not() {
        let bus = SimBus::new()
            .device(
                address(0, 0x1f, 0),
                SimDevice::endpoint(0x8086, 0x2918, 0x06_01_00).multifunction(),
            )
            .device(
                address(0, 0x1f, 2),
                SimDevice::endpoint(0x8086, 0x2922, 0x01_06_01),
            )
            .device(
                address(0, 0x1f, 3),
                SimDevice::endpoint(0x8086, 0x2930, 0x0c_05_00),
            )
            // Function 0 without the multifunction bit: function 1 must be ignored.
            .device(
                address(0, 5, 0),
                SimDevice::endpoint(0x1234, 0x1111, 0x03_00_00),
            )
            .device(
                address(0, 5, 1),
                SimDevice::endpoint(0x1234, 0x1111, 0x03_80_00),
            );
        let topology = enumerate(&bus, 0, 0..=0);
        assert_eq!(
            addresses(&topology),
            [
                address(0, 5, 0),
                address(0, 0x1f, 0),
                address(0, 0x1f, 2),
                address(0, 0x1f, 3)
            ]
        );
        assert!(topology.get(address(0, 0x1f, 0)).unwrap().multifunction);
    }

    #[test]
    fn an_empty_segment_costs_one_read_per_device() {
        let bus = SimBus::new();
        let topology = enumerate(&bus, 0, 0..=0xff);
        assert!(topology.functions.is_empty());
        assert_eq!(bus.reads(), 256 * 32);
        assert!(bus.writes().is_empty());
    }

    #[test]
    fn unclaimed_buses_are_probed_as_further_roots() {
        let bus = SimBus::new()
            .device(
                address(0, 0, 0),
                SimDevice::endpoint(0x8086, 0x29c0, 0x06_00_00),
            )
            .device(
                address(0x80, 0, 0),
                SimDevice::endpoint(0x1b36, 0x000b, 0x06_00_00),
            )
            .device(
                address(0x80, 1, 0),
                SimDevice::bridge(0x1b36, 0x000c).buses(0x80, 0x81, 0x81),
            )
            .device(
                address(0x81, 0, 0),
                SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00),
            );
        let topology = enumerate(&bus, 0, 0..=0xff);
        assert_eq!(
            addresses(&topology),
            [
                address(0, 0, 0),
                address(0x80, 0, 0),
                address(0x80, 1, 0),
                address(0x81, 0, 0)
            ]
        );
        assert_eq!(topology.get(address(0x80, 0, 0)).unwrap().parent, None);
        assert_eq!(
            topology.get(address(0x81, 0, 0)).unwrap().parent,
            Some(address(0x80, 1, 0))
        );
    }

    #[test]
    fn bridges_that_would_rescan_a_bus_are_reported_and_skipped() {
        let bus = SimBus::new()
            .device(address(0, 1, 0), SimDevice::bridge(1, 1).buses(0, 1, 2))
            // Claims the same secondary bus again.
            .device(address(0, 2, 0), SimDevice::bridge(1, 2).buses(0, 1, 1))
            // Points back at bus 0 and at itself.
            .device(address(1, 0, 0), SimDevice::bridge(1, 3).buses(1, 0, 0))
            .device(address(1, 1, 0), SimDevice::bridge(1, 4).buses(1, 1, 1))
            // Beyond what its parent forwards (1..=2).
            .device(address(1, 2, 0), SimDevice::bridge(1, 5).buses(1, 5, 5))
            // Subordinate below secondary: bus 2 is still scanned.
            .device(address(1, 3, 0), SimDevice::bridge(1, 6).buses(1, 2, 1))
            .device(address(2, 0, 0), SimDevice::endpoint(1, 7, 0))
            .device(address(5, 0, 0), SimDevice::endpoint(1, 8, 0));
        let topology = enumerate(&bus, 0, 0..=0x3f);
        assert_eq!(
            bridge_errors(&topology, address(0, 2, 0)),
            [Anomaly::Bridge(BridgeError::SecondaryAlreadyClaimed {
                secondary: 1
            })]
        );
        assert_eq!(
            bridge_errors(&topology, address(1, 0, 0)),
            [Anomaly::Bridge(BridgeError::SecondaryNotBelow {
                secondary: 0
            })]
        );
        assert_eq!(
            bridge_errors(&topology, address(1, 1, 0)),
            [Anomaly::Bridge(BridgeError::SecondaryNotBelow {
                secondary: 1
            })]
        );
        assert_eq!(
            bridge_errors(&topology, address(1, 2, 0)),
            [Anomaly::Bridge(BridgeError::SecondaryOutOfRange {
                secondary: 5,
                last: 2
            })]
        );
        assert_eq!(
            bridge_errors(&topology, address(1, 3, 0)),
            [Anomaly::Bridge(BridgeError::SubordinateBelowSecondary {
                secondary: 2,
                subordinate: 1
            })]
        );
        // Bus 5, unclaimed, is still probed as a root; every bus once.
        assert_eq!(
            topology.get(address(2, 0, 0)).unwrap().parent,
            Some(address(1, 3, 0))
        );
        assert_eq!(topology.get(address(5, 0, 0)).unwrap().parent, None);
        assert_eq!(topology.functions.len(), 8);
    }

    #[test]
    fn secondary_buses_outside_the_segment_range_are_not_scanned() {
        let bus = SimBus::new()
            .device(
                address(0x10, 0, 0),
                SimDevice::bridge(1, 1).buses(0x10, 0x30, 0x30),
            )
            .device(address(0x30, 0, 0), SimDevice::endpoint(1, 2, 0));
        let topology = enumerate(&bus, 0, 0x10..=0x1f);
        assert_eq!(addresses(&topology), [address(0x10, 0, 0)]);
        assert_eq!(
            bridge_errors(&topology, address(0x10, 0, 0)),
            [Anomaly::Bridge(BridgeError::SecondaryOutOfRange {
                secondary: 0x30,
                last: 0x1f
            })]
        );
    }

    #[test]
    fn garbage_header_types_are_listed_not_decoded() {
        let cardbus = address(0, 3, 0);
        let garbage = address(0, 4, 0);
        let bus = SimBus::new()
            .device(
                cardbus,
                SimDevice::endpoint(0x104c, 0xac50, 0x06_07_00).raw_register(
                    register::HEADER_TYPE,
                    Width::Byte,
                    2,
                ),
            )
            .device(
                garbage,
                SimDevice::endpoint(0xdead, 0xbeef, 0)
                    .raw_register(register::HEADER_TYPE, Width::Byte, 0x7f)
                    .pm(),
            );
        let topology = enumerate(&bus, 0, 0..=0);
        assert_eq!(
            topology.get(cardbus).unwrap().anomalies,
            [Anomaly::UnsupportedHeader { layout: 2 }]
        );
        let function = topology.get(garbage).unwrap();
        assert_eq!(function.header, HeaderLayout::Other(0x7f));
        assert_eq!(
            function.anomalies,
            [Anomaly::UnsupportedHeader { layout: 0x7f }]
        );
        assert!(function.capabilities.standard.is_empty());
        assert!(
            bus.writes().is_empty(),
            "nothing is sized on headers this crate does not know"
        );
    }

    #[test]
    fn hostile_capabilities_are_reported_on_their_function() {
        let function = address(0, 2, 0);
        let bus = SimBus::new().device(
            function,
            SimDevice::endpoint(1, 2, 0)
                .pm()
                .raw_register(0x41, Width::Byte, 0x40),
        );
        let topology = enumerate(&bus, 0, 0..=0);
        assert_eq!(
            topology.get(function).unwrap().capabilities.standard.len(),
            1
        );
        assert_eq!(topology.anomaly_count(), 1);
    }

    fn random_function() -> impl Strategy<Value = SimDevice> {
        (
            proptest::collection::vec(any::<u8>(), 0..512),
            proptest::collection::vec(any::<u8>(), 0..512),
            prop_oneof![Just(0_u8), Just(1), Just(0x80), Just(0x81), any::<u8>()],
            any::<bool>(),
        )
            .prop_map(|(values, writable, header_type, capability_list)| {
                let device = SimDevice::raw(&values, &writable).raw_register(
                    register::HEADER_TYPE,
                    Width::Byte,
                    header_type.into(),
                );
                if capability_list {
                    device.raw_register(
                        register::STATUS,
                        Width::Word,
                        Status::CAPABILITIES_LIST.bits().into(),
                    )
                } else {
                    device
                }
            })
    }

    use crate::register::Status;

    proptest! {
        #[test]
        fn enumeration_survives_random_config_space(
            first in random_function(),
            second in random_function(),
            third in random_function(),
            extended in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let third = extended.chunks(4).zip((0x100_u16..).step_by(4)).fold(third, |device, (chunk, offset)| {
                let mut bytes = [0; 4];
                bytes[..chunk.len()].copy_from_slice(chunk);
                device.raw_register(offset, Width::Dword, u32::from_le_bytes(bytes))
            });
            let bus = SimBus::new()
                .device(address(0, 0, 0), first)
                .device(address(0, 1, 0), second)
                .device(address(1, 0, 0), third);
            let topology = enumerate(&bus, 0, 0..=0xff);
            prop_assert!(topology.functions.len() <= 3);
            let mut table = String::new();
            crate::report::write_lines(&mut table, crate::report::table(&topology, &|_| "-")).unwrap();
            crate::report::write_lines(&mut table, crate::report::machine(&topology, &|_| "-")).unwrap();
        }
    }
}
