// SPDX-License-Identifier: MIT OR Apache-2.0
//! Capability lists: walking them safely and decoding the ones the backend needs.
//!
//! The standard list starts at the pointer at 0x34 (when the status register
//! says there is one) and links 8-bit pointers, masked with 0xFC, that must
//! point at or above 0x40. The PCIe extended list starts at 0x100 and links
//! 12-bit pointers that must point at or above 0x100. Both walks stop at the
//! first pointer out of range, at the first capability seen twice, and at a
//! header that reads all ones (the function went away), and report why.

use alloc::vec::Vec;
use core::fmt;

use crate::access::ConfigAccess;
use crate::bitset::BitSet;
use crate::register::{
    self, capability as header, extended_capability as extended, msi, msix, pcie,
    power_management as pm,
};
use crate::{Address, register::Status};

/// Declares a capability ID newtype with named constants and short names.
macro_rules! capability_ids {
    ($(#[$meta:meta])* $name:ident($raw:ty) { $($(#[$doc:meta])* $constant:ident = $value:literal, $short:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $raw);

        impl $name {
            $($(#[$doc])* pub const $constant: Self = Self($value);)*

            /// The short name lspci-like reports use, if the ID is known.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($short),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            /// The short name, or the ID in hexadecimal when unknown.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{:#x}", self.0),
                }
            }
        }
    };
}

capability_ids! {
    /// A standard capability ID (PCI Code and ID Assignment, "Capability IDs").
    CapabilityId(u8) {
        /// PCI Power Management.
        POWER_MANAGEMENT = 0x01, "PM";
        /// Accelerated Graphics Port.
        AGP = 0x02, "AGP";
        /// Vital Product Data.
        VPD = 0x03, "VPD";
        /// Slot identification.
        SLOT_ID = 0x04, "SlotID";
        /// Message Signaled Interrupts.
        MSI = 0x05, "MSI";
        /// CompactPCI hot swap.
        HOT_SWAP = 0x06, "HotSwap";
        /// PCI-X.
        PCI_X = 0x07, "PCI-X";
        /// HyperTransport.
        HYPERTRANSPORT = 0x08, "HT";
        /// Vendor specific.
        VENDOR_SPECIFIC = 0x09, "Vendor";
        /// Debug port.
        DEBUG_PORT = 0x0A, "Debug";
        /// CompactPCI central resource control.
        CENTRAL_RESOURCE_CONTROL = 0x0B, "CRC";
        /// PCI standard hot-plug controller.
        HOT_PLUG = 0x0C, "SHPC";
        /// Bridge subsystem vendor ID.
        SUBSYSTEM_VENDOR = 0x0D, "SSVID";
        /// AGP 8x.
        AGP_8X = 0x0E, "AGP3";
        /// Secure device.
        SECURE_DEVICE = 0x0F, "Secure";
        /// PCI Express.
        PCI_EXPRESS = 0x10, "PCIe";
        /// MSI-X.
        MSI_X = 0x11, "MSI-X";
        /// Serial ATA data/index configuration.
        SATA = 0x12, "SATA";
        /// Advanced features (conventional PCI function-level reset).
        ADVANCED_FEATURES = 0x13, "AF";
        /// Enhanced allocation.
        ENHANCED_ALLOCATION = 0x14, "EA";
        /// Flattening portal bridge.
        FLATTENING_PORTAL_BRIDGE = 0x15, "FPB";
    }
}

capability_ids! {
    /// A PCIe extended capability ID (PCI Code and ID Assignment, "Extended Capability IDs").
    ExtendedCapabilityId(u16) {
        /// Advanced Error Reporting.
        ADVANCED_ERROR_REPORTING = 0x0001, "AER";
        /// Virtual channel.
        VIRTUAL_CHANNEL = 0x0002, "VC";
        /// Device serial number.
        DEVICE_SERIAL_NUMBER = 0x0003, "DSN";
        /// Power budgeting.
        POWER_BUDGETING = 0x0004, "PwrBudget";
        /// Root complex link declaration.
        ROOT_COMPLEX_LINK_DECLARATION = 0x0005, "RCLD";
        /// Root complex internal link control.
        ROOT_COMPLEX_INTERNAL_LINK = 0x0006, "RCILC";
        /// Root complex event collector endpoint association.
        ROOT_COMPLEX_EVENT_COLLECTOR = 0x0007, "RCEC";
        /// Multi-function virtual channel.
        MULTI_FUNCTION_VIRTUAL_CHANNEL = 0x0008, "MFVC";
        /// Virtual channel (alternative ID).
        VIRTUAL_CHANNEL_9 = 0x0009, "VC";
        /// Root complex register block.
        ROOT_COMPLEX_REGISTER_BLOCK = 0x000A, "RCRB";
        /// Vendor specific extended capability.
        VENDOR_SPECIFIC = 0x000B, "VSEC";
        /// Configuration access correlation.
        CONFIGURATION_ACCESS_CORRELATION = 0x000C, "CAC";
        /// Access control services.
        ACCESS_CONTROL_SERVICES = 0x000D, "ACS";
        /// Alternative routing-ID interpretation.
        ALTERNATIVE_ROUTING_ID = 0x000E, "ARI";
        /// Address translation services.
        ADDRESS_TRANSLATION_SERVICES = 0x000F, "ATS";
        /// Single root I/O virtualization.
        SINGLE_ROOT_IO_VIRTUALIZATION = 0x0010, "SR-IOV";
        /// Multi-root I/O virtualization.
        MULTI_ROOT_IO_VIRTUALIZATION = 0x0011, "MR-IOV";
        /// Multicast.
        MULTICAST = 0x0012, "MCast";
        /// Page request interface.
        PAGE_REQUEST = 0x0013, "PRI";
        /// Resizable BAR.
        RESIZABLE_BAR = 0x0015, "ReBAR";
        /// Dynamic power allocation.
        DYNAMIC_POWER_ALLOCATION = 0x0016, "DPA";
        /// TLP processing hints.
        TLP_PROCESSING_HINTS = 0x0017, "TPH";
        /// Latency tolerance reporting.
        LATENCY_TOLERANCE_REPORTING = 0x0018, "LTR";
        /// Secondary PCI Express.
        SECONDARY_PCI_EXPRESS = 0x0019, "SecPCIe";
        /// Protocol multiplexing.
        PROTOCOL_MULTIPLEXING = 0x001A, "PMUX";
        /// Process address space ID.
        PROCESS_ADDRESS_SPACE_ID = 0x001B, "PASID";
        /// Lightweight notification requester.
        LIGHTWEIGHT_NOTIFICATION = 0x001C, "LNR";
        /// Downstream port containment.
        DOWNSTREAM_PORT_CONTAINMENT = 0x001D, "DPC";
        /// L1 PM substates.
        L1_PM_SUBSTATES = 0x001E, "L1SS";
        /// Precision time measurement.
        PRECISION_TIME_MEASUREMENT = 0x001F, "PTM";
        /// Designated vendor specific extended capability.
        DESIGNATED_VENDOR_SPECIFIC = 0x0023, "DVSEC";
        /// VF resizable BAR.
        VF_RESIZABLE_BAR = 0x0024, "VFReBAR";
        /// Data link feature.
        DATA_LINK_FEATURE = 0x0025, "DLF";
        /// Physical layer 16.0 GT/s.
        PHYSICAL_LAYER_16 = 0x0026, "16GT";
        /// Lane margining at the receiver.
        LANE_MARGINING = 0x0027, "LMR";
        /// Hierarchy ID.
        HIERARCHY_ID = 0x0028, "HierID";
        /// Native PCIe enclosure management.
        ENCLOSURE_MANAGEMENT = 0x0029, "NPEM";
        /// Physical layer 32.0 GT/s.
        PHYSICAL_LAYER_32 = 0x002A, "32GT";
    }
}

/// Which capability list an error was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// The standard list, from the pointer at 0x34.
    Standard,
    /// The PCIe extended list, from 0x100.
    Extended,
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Standard => "capability",
            Self::Extended => "extended capability",
        })
    }
}

/// Malformed capability data; the walk or the decoding stops there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapabilityError {
    /// A next pointer, read at `offset` (0x34 for the head), points outside
    /// the list's range: into the header (standard) or below 0x100 (extended).
    PointerOutOfRange {
        /// The list.
        list: List,
        /// Where the pointer was read.
        offset: u16,
        /// The pointer, masked.
        pointer: u16,
    },
    /// The capability at `offset` points back to one already seen.
    Loop {
        /// The list.
        list: List,
        /// The capability whose next pointer closes the loop.
        offset: u16,
        /// The pointer, masked.
        pointer: u16,
    },
    /// The capability header at `offset` reads all ones.
    AllOnes {
        /// The list.
        list: List,
        /// Where the header was read.
        offset: u16,
    },
    /// The registers of capability `id` at `offset` run past 0x100.
    Truncated {
        /// The capability.
        id: CapabilityId,
        /// Where it starts.
        offset: u16,
    },
    /// The MSI capability at `offset` claims a reserved vector count (6 or 7).
    ReservedMsiVectorCount {
        /// Where it starts.
        offset: u16,
        /// The multiple-message-capable field.
        value: u8,
    },
    /// The MSI-X capability at `offset` places its table or PBA in a
    /// reserved BAR indicator (6 or 7).
    ReservedMsixBir {
        /// Where it starts.
        offset: u16,
        /// The BAR indicator.
        bir: u8,
    },
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::PointerOutOfRange {
                list,
                offset,
                pointer,
            } => {
                write!(f, "{list} pointer {pointer:#x} at {offset:#x} out of range")
            }
            Self::Loop {
                list,
                offset,
                pointer,
            } => {
                write!(f, "{list} at {offset:#x} loops back to {pointer:#x}")
            }
            Self::AllOnes { list, offset } => {
                write!(f, "{list} header at {offset:#x} reads all ones")
            }
            Self::Truncated { id, offset } => {
                write!(
                    f,
                    "capability {id} at {offset:#x} runs past conventional space"
                )
            }
            Self::ReservedMsiVectorCount { offset, value } => {
                write!(f, "MSI at {offset:#x} claims reserved vector count {value}")
            }
            Self::ReservedMsixBir { offset, bir } => {
                write!(f, "MSI-X at {offset:#x} uses reserved BAR indicator {bir}")
            }
        }
    }
}

impl core::error::Error for CapabilityError {}

/// A standard capability's place and ID, as the walk finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawCapability {
    /// Offset of the capability's ID byte.
    pub offset: u16,
    /// Its ID.
    pub id: CapabilityId,
}

/// Offsets at or above 0x40, below 0x100, in steps of 4: 48 places.
type StandardVisited = BitSet<1>;
/// Offsets at or above 0x100, below 0x1000, in steps of 4: 960 places.
type ExtendedVisited = BitSet<15>;

/// Iterator over the standard capability list of one function.
///
/// Yields each capability once; on malformed data it yields one error and
/// ends. Only meaningful for header types 0 and 1 (type 2 keeps its pointer
/// elsewhere).
#[derive(Debug)]
pub struct Capabilities<'a, A: ?Sized> {
    access: &'a A,
    address: Address,
    /// Where the next pointer to follow was read.
    from: u16,
    /// The pointer to follow; 0 once the walk is over.
    next: u16,
    visited: StandardVisited,
}

/// Walks the standard capability list of the function at `address`.
pub fn capabilities<A: ConfigAccess + ?Sized>(access: &A, address: Address) -> Capabilities<'_, A> {
    let status = Status::from_bits_retain(access.read16(address, register::STATUS));
    let next = if status.contains(Status::CAPABILITIES_LIST) && status.bits() != u16::MAX {
        u16::from(access.read8(address, register::CAPABILITIES_POINTER) & header::POINTER_MASK)
    } else {
        0
    };
    Capabilities {
        access,
        address,
        from: register::CAPABILITIES_POINTER,
        next,
        visited: StandardVisited::new(),
    }
}

impl<A: ConfigAccess + ?Sized> Iterator for Capabilities<'_, A> {
    type Item = Result<RawCapability, CapabilityError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = core::mem::take(&mut self.next);
        if offset == 0 {
            return None;
        }
        let list = List::Standard;
        if offset < register::HEADER_SIZE {
            return Some(Err(CapabilityError::PointerOutOfRange {
                list,
                offset: self.from,
                pointer: offset,
            }));
        }
        if !self.visited.insert(usize::from(
            offset.saturating_sub(register::HEADER_SIZE) / 4,
        )) {
            return Some(Err(CapabilityError::Loop {
                list,
                offset: self.from,
                pointer: offset,
            }));
        }
        let raw = self
            .access
            .read16(self.address, offset.saturating_add(header::ID));
        if raw == u16::MAX {
            return Some(Err(CapabilityError::AllOnes { list, offset }));
        }
        let [id, next] = raw.to_le_bytes();
        self.from = offset.saturating_add(header::NEXT);
        self.next = u16::from(next & header::POINTER_MASK);
        Some(Ok(RawCapability {
            offset,
            id: CapabilityId(id),
        }))
    }
}

/// An extended capability's place, ID and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtendedCapability {
    /// Offset of the capability header.
    pub offset: u16,
    /// Its ID.
    pub id: ExtendedCapabilityId,
    /// Its version.
    pub version: u8,
}

/// Iterator over the PCIe extended capability list of one function.
///
/// A header of 0 or all ones at 0x100 means no list (conventional functions
/// read one of those there). Yields each capability once; on malformed data
/// it yields one error and ends.
#[derive(Debug)]
pub struct ExtendedCapabilities<'a, A: ?Sized> {
    access: &'a A,
    address: Address,
    from: u16,
    next: u16,
    visited: ExtendedVisited,
}

/// Walks the extended capability list of the function at `address`.
///
/// Only PCIe functions have one: call it when [`capabilities`] found
/// [`CapabilityId::PCI_EXPRESS`].
pub fn extended_capabilities<A: ConfigAccess + ?Sized>(
    access: &A,
    address: Address,
) -> ExtendedCapabilities<'_, A> {
    ExtendedCapabilities {
        access,
        address,
        from: extended::FIRST,
        next: extended::FIRST,
        visited: ExtendedVisited::new(),
    }
}

impl<A: ConfigAccess + ?Sized> Iterator for ExtendedCapabilities<'_, A> {
    type Item = Result<ExtendedCapability, CapabilityError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = core::mem::take(&mut self.next);
        if offset == 0 {
            return None;
        }
        let list = List::Extended;
        if offset < extended::FIRST {
            return Some(Err(CapabilityError::PointerOutOfRange {
                list,
                offset: self.from,
                pointer: offset,
            }));
        }
        if !self
            .visited
            .insert(usize::from(offset.saturating_sub(extended::FIRST) / 4))
        {
            return Some(Err(CapabilityError::Loop {
                list,
                offset: self.from,
                pointer: offset,
            }));
        }
        let raw = self.access.read32(self.address, offset);
        match raw {
            0 => return None,
            u32::MAX if offset == extended::FIRST => return None,
            u32::MAX => return Some(Err(CapabilityError::AllOnes { list, offset })),
            _ => {}
        }
        self.from = offset;
        self.next =
            u16::try_from((raw >> extended::NEXT_SHIFT) & extended::NEXT_MASK).unwrap_or_default();
        Some(Ok(ExtendedCapability {
            offset,
            id: ExtendedCapabilityId(u16::try_from(raw & extended::ID_MASK).unwrap_or_default()),
            version: u8::try_from((raw >> extended::VERSION_SHIFT) & extended::VERSION_MASK)
                .unwrap_or_default(),
        }))
    }
}

/// Offset of the first standard capability with ID `id`, ignoring malformed
/// parts of the list (they end the search).
pub fn find_capability<A: ConfigAccess + ?Sized>(
    access: &A,
    address: Address,
    id: CapabilityId,
) -> Option<u16> {
    capabilities(access, address)
        .map_while(Result::ok)
        .find(|capability| capability.id == id)
        .map(|capability| capability.offset)
}

/// Offset of the first extended capability with ID `id`, as [`find_capability`].
pub fn find_extended_capability<A: ConfigAccess + ?Sized>(
    access: &A,
    address: Address,
    id: ExtendedCapabilityId,
) -> Option<u16> {
    extended_capabilities(access, address)
        .map_while(Result::ok)
        .find(|capability| capability.id == id)
        .map(|capability| capability.offset)
}

/// A device power state (PMCSR bits 1:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerState {
    /// Fully on.
    D0,
    /// Light sleep.
    D1,
    /// Deeper sleep.
    D2,
    /// Off, configuration space still answers.
    D3Hot,
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::D0 => "D0",
            Self::D1 => "D1",
            Self::D2 => "D2",
            Self::D3Hot => "D3hot",
        })
    }
}

/// The Power Management capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerManagement {
    /// Version of the PM specification (PMC bits 2:0; 3 is PM 1.2).
    pub version: u8,
    /// D1 supported.
    pub d1: bool,
    /// D2 supported.
    pub d2: bool,
    /// States PME# can be signalled from (PMC bits 15:11: D0, D1, D2, D3hot, D3cold).
    pub pme_support: u8,
    /// The current power state.
    pub state: PowerState,
    /// No soft reset on D3hot to D0: the function keeps its configuration.
    pub no_soft_reset: bool,
}

/// The MSI capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Msi {
    /// MSI enabled.
    pub enabled: bool,
    /// Multiple message capable: log2 of the vectors the function asks for.
    pub multiple_message_capable: u8,
    /// Takes a 64-bit message address.
    pub is_64bit: bool,
    /// Has per-vector mask and pending bits.
    pub per_vector_masking: bool,
}

impl Msi {
    /// Vectors the function can use: 1 to 32 (a reserved field counts as 32).
    pub fn max_vectors(&self) -> u8 {
        1_u8.wrapping_shl(u32::from(
            self.multiple_message_capable.min(msi::MAX_MULTIPLE_CAPABLE),
        ))
    }

    /// Bytes of configuration space the capability occupies.
    pub fn length(&self) -> u16 {
        match (self.is_64bit, self.per_vector_masking) {
            (false, false) => msi::LENGTH_32,
            (true, false) => msi::LENGTH_64,
            (false, true) => msi::LENGTH_32_MASKABLE,
            (true, true) => msi::LENGTH_64_MASKABLE,
        }
    }
}

/// Where an MSI-X structure lives: a BAR and an offset into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarRegion {
    /// BAR indicator: the BAR index, 0-5.
    pub bir: u8,
    /// Offset into that BAR, 8-byte aligned.
    pub offset: u32,
}

impl BarRegion {
    fn from_register(value: u32) -> Self {
        Self {
            bir: u8::try_from(value & msix::BIR_MASK).unwrap_or_default(),
            offset: value & msix::OFFSET_MASK,
        }
    }
}

/// The MSI-X capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsiX {
    /// MSI-X enabled.
    pub enabled: bool,
    /// All vectors masked.
    pub function_mask: bool,
    /// Number of table entries, 1-2048.
    pub table_size: u16,
    /// Where the vector table is.
    pub table: BarRegion,
    /// Where the pending bit array is.
    pub pba: BarRegion,
}

/// A PCIe device/port type (PCIe capabilities register bits 7:4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortType {
    /// PCIe endpoint.
    Endpoint,
    /// Legacy PCIe endpoint.
    LegacyEndpoint,
    /// Root port of a root complex.
    RootPort,
    /// Upstream port of a switch.
    UpstreamPort,
    /// Downstream port of a switch.
    DownstreamPort,
    /// PCIe to PCI/PCI-X bridge.
    PcieToPciBridge,
    /// PCI/PCI-X to PCIe bridge.
    PciToPcieBridge,
    /// Root complex integrated endpoint.
    IntegratedEndpoint,
    /// Root complex event collector.
    EventCollector,
    /// A reserved value.
    Reserved(u8),
}

impl PortType {
    /// The type from its 4-bit encoding.
    pub const fn from_raw(raw: u8) -> Self {
        match raw {
            0x0 => Self::Endpoint,
            0x1 => Self::LegacyEndpoint,
            0x4 => Self::RootPort,
            0x5 => Self::UpstreamPort,
            0x6 => Self::DownstreamPort,
            0x7 => Self::PcieToPciBridge,
            0x8 => Self::PciToPcieBridge,
            0x9 => Self::IntegratedEndpoint,
            0xA => Self::EventCollector,
            other => Self::Reserved(other),
        }
    }

    /// The 4-bit encoding.
    pub const fn raw(self) -> u8 {
        match self {
            Self::Endpoint => 0x0,
            Self::LegacyEndpoint => 0x1,
            Self::RootPort => 0x4,
            Self::UpstreamPort => 0x5,
            Self::DownstreamPort => 0x6,
            Self::PcieToPciBridge => 0x7,
            Self::PciToPcieBridge => 0x8,
            Self::IntegratedEndpoint => 0x9,
            Self::EventCollector => 0xA,
            Self::Reserved(raw) => raw,
        }
    }

    /// Whether the port has a link, hence link registers.
    pub const fn has_link(self) -> bool {
        !matches!(self, Self::IntegratedEndpoint | Self::EventCollector)
    }

    /// Whether only device 0 can sit on the bus below this port (a root or
    /// switch downstream port: one link, one device).
    pub const fn has_single_device_below(self) -> bool {
        matches!(self, Self::RootPort | Self::DownstreamPort)
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint => f.write_str("Endpoint"),
            Self::LegacyEndpoint => f.write_str("Legacy Endpoint"),
            Self::RootPort => f.write_str("Root Port"),
            Self::UpstreamPort => f.write_str("Upstream Port"),
            Self::DownstreamPort => f.write_str("Downstream Port"),
            Self::PcieToPciBridge => f.write_str("PCIe-to-PCI Bridge"),
            Self::PciToPcieBridge => f.write_str("PCI-to-PCIe Bridge"),
            Self::IntegratedEndpoint => f.write_str("Root Complex Integrated Endpoint"),
            Self::EventCollector => f.write_str("Root Complex Event Collector"),
            Self::Reserved(raw) => write!(f, "reserved type {raw:#x}"),
        }
    }
}

/// A link speed (link capabilities/status bits 3:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkSpeed {
    /// 2.5 GT/s (PCIe 1).
    Gt2_5,
    /// 5 GT/s (PCIe 2).
    Gt5,
    /// 8 GT/s (PCIe 3).
    Gt8,
    /// 16 GT/s (PCIe 4).
    Gt16,
    /// 32 GT/s (PCIe 5).
    Gt32,
    /// 64 GT/s (PCIe 6).
    Gt64,
    /// A value this crate does not know.
    Unknown(u8),
}

impl LinkSpeed {
    /// The speed from its encoding.
    pub const fn from_raw(raw: u8) -> Self {
        match raw {
            1 => Self::Gt2_5,
            2 => Self::Gt5,
            3 => Self::Gt8,
            4 => Self::Gt16,
            5 => Self::Gt32,
            6 => Self::Gt64,
            other => Self::Unknown(other),
        }
    }

    /// The encoding.
    pub const fn raw(self) -> u8 {
        match self {
            Self::Gt2_5 => 1,
            Self::Gt5 => 2,
            Self::Gt8 => 3,
            Self::Gt16 => 4,
            Self::Gt32 => 5,
            Self::Gt64 => 6,
            Self::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for LinkSpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gt2_5 => f.write_str("2.5GT/s"),
            Self::Gt5 => f.write_str("5GT/s"),
            Self::Gt8 => f.write_str("8GT/s"),
            Self::Gt16 => f.write_str("16GT/s"),
            Self::Gt32 => f.write_str("32GT/s"),
            Self::Gt64 => f.write_str("64GT/s"),
            Self::Unknown(raw) => write!(f, "speed {raw:#x}"),
        }
    }
}

/// A link's speed and width: what it can do and what it trained to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    /// Maximum link speed.
    pub max_speed: LinkSpeed,
    /// Maximum link width (lanes).
    pub max_width: u8,
    /// Current link speed.
    pub speed: LinkSpeed,
    /// Negotiated link width (lanes).
    pub width: u8,
}

impl Link {
    /// Speed and width from a link capabilities or link status register.
    pub fn speed_and_width(register: u32) -> (LinkSpeed, u8) {
        let speed = u8::try_from(register & pcie::LINK_SPEED_MASK).unwrap_or_default();
        let width = u8::try_from((register >> pcie::LINK_WIDTH_SHIFT) & pcie::LINK_WIDTH_MASK)
            .unwrap_or_default();
        (LinkSpeed::from_raw(speed), width)
    }
}

/// The PCI Express capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PciExpress {
    /// Capability version (1 or 2).
    pub version: u8,
    /// Device/port type.
    pub port_type: PortType,
    /// Function-level reset supported.
    pub function_level_reset: bool,
    /// The link, for types that have one.
    pub link: Option<Link>,
}

/// What this crate decodes of a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapabilityKind {
    /// Power Management.
    PowerManagement(PowerManagement),
    /// MSI.
    Msi(Msi),
    /// MSI-X.
    MsiX(MsiX),
    /// PCI Express.
    PciExpress(PciExpress),
    /// Any other capability: listed by ID, not decoded.
    Other,
}

/// A standard capability, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capability {
    /// Offset of the capability's ID byte.
    pub offset: u16,
    /// Its ID.
    pub id: CapabilityId,
    /// The decoded registers.
    pub kind: CapabilityKind,
}

/// Reads the registers of one capability.
struct Reader<'a, A: ?Sized> {
    access: &'a A,
    address: Address,
    capability: RawCapability,
}

impl<A: ConfigAccess + ?Sized> Reader<'_, A> {
    /// Checks that `length` bytes of the capability fit in conventional space.
    fn require(&self, length: u16) -> Result<(), CapabilityError> {
        match self.capability.offset.checked_add(length) {
            Some(end) if end <= register::CONVENTIONAL_SPACE_SIZE => Ok(()),
            _ => Err(CapabilityError::Truncated {
                id: self.capability.id,
                offset: self.capability.offset,
            }),
        }
    }

    fn read16(&self, register: u16) -> u16 {
        self.access.read16(
            self.address,
            self.capability.offset.saturating_add(register),
        )
    }

    fn read32(&self, register: u16) -> u32 {
        self.access.read32(
            self.address,
            self.capability.offset.saturating_add(register),
        )
    }

    fn power_management(&self) -> Result<PowerManagement, CapabilityError> {
        self.require(pm::LENGTH)?;
        let capabilities = self.read16(pm::CAPABILITIES);
        let control = self.read16(pm::CONTROL_STATUS);
        let state = match control & pm::PMCSR_STATE_MASK {
            0 => PowerState::D0,
            1 => PowerState::D1,
            2 => PowerState::D2,
            _ => PowerState::D3Hot,
        };
        Ok(PowerManagement {
            version: u8::try_from(capabilities & pm::PMC_VERSION_MASK).unwrap_or_default(),
            d1: capabilities & pm::PMC_D1 != 0,
            d2: capabilities & pm::PMC_D2 != 0,
            pme_support: u8::try_from(capabilities >> pm::PMC_PME_SUPPORT_SHIFT)
                .unwrap_or_default(),
            state,
            no_soft_reset: control & pm::PMCSR_NO_SOFT_RESET != 0,
        })
    }

    fn msi(&self) -> Result<Msi, CapabilityError> {
        self.require(msi::ADDRESS_LOW)?;
        let control = self.read16(msi::CONTROL);
        let multiple_message_capable = u8::try_from(
            (control >> msi::CONTROL_MULTIPLE_CAPABLE_SHIFT) & msi::CONTROL_MULTIPLE_MASK,
        )
        .unwrap_or_default();
        let msi = Msi {
            enabled: control & msi::CONTROL_ENABLE != 0,
            multiple_message_capable,
            is_64bit: control & msi::CONTROL_64BIT != 0,
            per_vector_masking: control & msi::CONTROL_PER_VECTOR_MASK != 0,
        };
        self.require(msi.length())?;
        if multiple_message_capable > msi::MAX_MULTIPLE_CAPABLE {
            return Err(CapabilityError::ReservedMsiVectorCount {
                offset: self.capability.offset,
                value: multiple_message_capable,
            });
        }
        Ok(msi)
    }

    fn msix(&self) -> Result<MsiX, CapabilityError> {
        self.require(msix::LENGTH)?;
        let control = self.read16(msix::CONTROL);
        let table = BarRegion::from_register(self.read32(msix::TABLE));
        let pba = BarRegion::from_register(self.read32(msix::PBA));
        if let Some(bir) = [table.bir, pba.bir]
            .into_iter()
            .find(|bir| *bir >= register::ENDPOINT_BAR_COUNT)
        {
            return Err(CapabilityError::ReservedMsixBir {
                offset: self.capability.offset,
                bir,
            });
        }
        Ok(MsiX {
            enabled: control & msix::CONTROL_ENABLE != 0,
            function_mask: control & msix::CONTROL_FUNCTION_MASK != 0,
            table_size: (control & msix::CONTROL_TABLE_SIZE_MASK).saturating_add(1),
            table,
            pba,
        })
    }

    fn pci_express(&self) -> Result<PciExpress, CapabilityError> {
        self.require(pcie::LENGTH_THROUGH_LINK)?;
        let capabilities = self.read16(pcie::CAPABILITIES);
        let port_type = PortType::from_raw(
            u8::try_from(
                (capabilities >> pcie::CAPABILITIES_PORT_TYPE_SHIFT)
                    & pcie::CAPABILITIES_PORT_TYPE_MASK,
            )
            .unwrap_or_default(),
        );
        let link = port_type.has_link().then(|| {
            let (max_speed, max_width) =
                Link::speed_and_width(self.read32(pcie::LINK_CAPABILITIES));
            let (speed, width) = Link::speed_and_width(u32::from(self.read16(pcie::LINK_STATUS)));
            Link {
                max_speed,
                max_width,
                speed,
                width,
            }
        });
        Ok(PciExpress {
            version: u8::try_from(capabilities & pcie::CAPABILITIES_VERSION_MASK)
                .unwrap_or_default(),
            port_type,
            function_level_reset: self.read32(pcie::DEVICE_CAPABILITIES)
                & pcie::DEVICE_CAPABILITIES_FLR
                != 0,
            link,
        })
    }
}

/// Decodes the capability the walk found at `capability`.
pub fn decode<A: ConfigAccess + ?Sized>(
    access: &A,
    address: Address,
    capability: RawCapability,
) -> Result<Capability, CapabilityError> {
    let reader = Reader {
        access,
        address,
        capability,
    };
    let kind = match capability.id {
        CapabilityId::POWER_MANAGEMENT => {
            CapabilityKind::PowerManagement(reader.power_management()?)
        }
        CapabilityId::MSI => CapabilityKind::Msi(reader.msi()?),
        CapabilityId::MSI_X => CapabilityKind::MsiX(reader.msix()?),
        CapabilityId::PCI_EXPRESS => CapabilityKind::PciExpress(reader.pci_express()?),
        _ => CapabilityKind::Other,
    };
    Ok(Capability {
        offset: capability.offset,
        id: capability.id,
        kind,
    })
}

/// Every capability of a function, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapabilitySet {
    /// Standard capabilities that decoded, in list order.
    pub standard: Vec<Capability>,
    /// Extended capabilities, in list order (PCIe functions only).
    pub extended: Vec<ExtendedCapability>,
}

impl CapabilitySet {
    /// Walks and decodes both lists of the function at `address`; also
    /// returns the malformed data met, each of which ended its walk or
    /// left one capability out.
    pub fn read<A: ConfigAccess + ?Sized>(
        access: &A,
        address: Address,
    ) -> (Self, Vec<CapabilityError>) {
        let mut set = Self::default();
        let mut errors = Vec::new();
        for found in capabilities(access, address) {
            match found.and_then(|raw| decode(access, address, raw)) {
                Ok(capability) => set.standard.push(capability),
                Err(error) => errors.push(error),
            }
        }
        if set.pci_express().is_some() {
            for found in extended_capabilities(access, address) {
                match found {
                    Ok(capability) => set.extended.push(capability),
                    Err(error) => errors.push(error),
                }
            }
        }
        (set, errors)
    }

    /// The decoded PCI Express capability, if the function has one.
    pub fn pci_express(&self) -> Option<&PciExpress> {
        self.standard
            .iter()
            .find_map(|capability| match &capability.kind {
                CapabilityKind::PciExpress(pcie) => Some(pcie),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Width;
    use crate::sim::{SimBus, SimDevice};

    const FUNCTION: Address = match Address::new(0, 0, 3, 0) {
        Some(address) => address,
        None => unreachable!(),
    };

    fn bus(device: SimDevice) -> SimBus {
        SimBus::new().device(FUNCTION, device)
    }

    fn endpoint() -> SimDevice {
        SimDevice::endpoint(0x1af4, 0x1041, 0x02_00_00)
    }

    fn walk(bus: &SimBus) -> Vec<Result<(u16, u8), CapabilityError>> {
        capabilities(bus, FUNCTION)
            .map(|found| found.map(|raw| (raw.offset, raw.id.0)))
            .collect()
    }

    fn walk_extended(bus: &SimBus) -> Vec<Result<(u16, u16, u8), CapabilityError>> {
        extended_capabilities(bus, FUNCTION)
            .map(|found| {
                found.map(|capability| (capability.offset, capability.id.0, capability.version))
            })
            .collect()
    }

    #[test]
    fn decodes_the_capabilities_the_backend_needs() {
        let table = BarRegion {
            bir: 1,
            offset: 0x2000,
        };
        let pba = BarRegion {
            bir: 1,
            offset: 0x3000,
        };
        let bus = bus(endpoint()
            .pm()
            .msi(8, true, true)
            .msix(64, table, pba)
            .pcie(PortType::Endpoint)
            .link((LinkSpeed::Gt8, 4), (LinkSpeed::Gt5, 2))
            .function_level_reset());
        let (set, errors) = CapabilitySet::read(&bus, FUNCTION);
        assert!(errors.is_empty(), "{errors:?}");
        let kinds: Vec<CapabilityKind> = set
            .standard
            .iter()
            .map(|capability| capability.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                CapabilityKind::PowerManagement(PowerManagement {
                    version: 3,
                    d1: true,
                    d2: true,
                    pme_support: 0,
                    state: PowerState::D0,
                    no_soft_reset: true,
                }),
                CapabilityKind::Msi(Msi {
                    enabled: false,
                    multiple_message_capable: 3,
                    is_64bit: true,
                    per_vector_masking: true
                }),
                CapabilityKind::MsiX(MsiX {
                    enabled: false,
                    function_mask: false,
                    table_size: 64,
                    table,
                    pba
                }),
                CapabilityKind::PciExpress(PciExpress {
                    version: 2,
                    port_type: PortType::Endpoint,
                    function_level_reset: true,
                    link: Some(Link {
                        max_speed: LinkSpeed::Gt8,
                        max_width: 4,
                        speed: LinkSpeed::Gt5,
                        width: 2
                    }),
                }),
            ]
        );
        let offsets: Vec<u16> = set
            .standard
            .iter()
            .map(|capability| capability.offset)
            .collect();
        // PM (8 bytes) at 0x40, MSI 64-bit maskable (0x18) at 0x48, MSI-X (12) at 0x60, PCIe at 0x6c.
        assert_eq!(offsets, [0x40, 0x48, 0x60, 0x6c]);
    }

    #[test]
    fn msi_vector_counts_and_lengths_follow_the_spec() {
        let msi = |multiple_message_capable, is_64bit, per_vector_masking| Msi {
            enabled: false,
            multiple_message_capable,
            is_64bit,
            per_vector_masking,
        };
        assert_eq!(msi(0, false, false).max_vectors(), 1);
        assert_eq!(msi(5, false, false).max_vectors(), 32);
        assert_eq!(msi(7, false, false).max_vectors(), 32);
        assert_eq!(msi(0, false, false).length(), 10);
        assert_eq!(msi(0, true, false).length(), 14);
        assert_eq!(msi(0, false, true).length(), 20);
        assert_eq!(msi(0, true, true).length(), 24);
    }

    #[test]
    fn integrated_endpoints_have_no_link() {
        let bus = bus(endpoint().pcie(PortType::IntegratedEndpoint));
        assert_eq!(
            CapabilitySet::read(&bus, FUNCTION)
                .0
                .pci_express()
                .unwrap()
                .link,
            None
        );
    }

    #[test]
    fn no_list_without_the_status_bit() {
        let bus = bus(endpoint()
            .raw_register(register::CAPABILITIES_POINTER, Width::Byte, 0x40)
            .raw_register(0x40, Width::Word, 0x0001));
        assert!(walk(&bus).is_empty());
    }

    #[test]
    fn pointer_low_bits_are_masked() {
        let bus =
            bus(endpoint()
                .pm()
                .raw_register(register::CAPABILITIES_POINTER, Width::Byte, 0x43));
        assert_eq!(walk(&bus), [Ok((0x40, 0x01))]);
    }

    #[test]
    fn a_loop_ends_the_walk_after_each_capability_once() {
        let bus = bus(endpoint()
            .capability(CapabilityId::VENDOR_SPECIFIC, &[4, 0]) // 0x40
            .capability(CapabilityId::VPD, &[0; 6]) // 0x44
            .raw_register(0x44 + header::NEXT, Width::Byte, 0x40));
        assert_eq!(
            walk(&bus),
            [
                Ok((0x40, 0x09)),
                Ok((0x44, 0x03)),
                Err(CapabilityError::Loop {
                    list: List::Standard,
                    offset: 0x45,
                    pointer: 0x40
                }),
            ]
        );
    }

    #[test]
    fn a_capability_pointing_at_itself_is_a_loop() {
        let bus = bus(endpoint()
            .pm()
            .raw_register(0x40 + header::NEXT, Width::Byte, 0x40));
        assert_eq!(
            walk(&bus),
            [
                Ok((0x40, 0x01)),
                Err(CapabilityError::Loop {
                    list: List::Standard,
                    offset: 0x41,
                    pointer: 0x40
                })
            ]
        );
    }

    #[test]
    fn pointers_into_the_header_are_refused() {
        let head =
            bus(endpoint()
                .pm()
                .raw_register(register::CAPABILITIES_POINTER, Width::Byte, 0x10));
        assert_eq!(
            walk(&head),
            [Err(CapabilityError::PointerOutOfRange {
                list: List::Standard,
                offset: 0x34,
                pointer: 0x10
            })]
        );
        let middle = bus(endpoint()
            .pm()
            .raw_register(0x40 + header::NEXT, Width::Byte, 0x3C));
        assert_eq!(
            walk(&middle),
            [
                Ok((0x40, 0x01)),
                Err(CapabilityError::PointerOutOfRange {
                    list: List::Standard,
                    offset: 0x41,
                    pointer: 0x3C
                }),
            ]
        );
    }

    #[test]
    fn truncated_chains_end_safely() {
        // A pointer into bytes that read all ones (a vanished function, or junk).
        let all_ones = bus(endpoint()
            .pm()
            .raw_register(0x40 + header::NEXT, Width::Byte, 0xFC)
            .raw_register(0xFC, Width::Dword, u32::MAX));
        assert_eq!(
            walk(&all_ones),
            [
                Ok((0x40, 0x01)),
                Err(CapabilityError::AllOnes {
                    list: List::Standard,
                    offset: 0xFC
                })
            ]
        );
        // An MSI-X capability at 0xF8 would need bytes up to 0x104.
        let past_end = bus(endpoint()
            .pm()
            .raw_register(0x40 + header::NEXT, Width::Byte, 0xF8)
            .raw_register(0xF8, Width::Word, 0x0011));
        let (set, errors) = CapabilitySet::read(&past_end, FUNCTION);
        assert_eq!(set.standard.len(), 1);
        assert_eq!(
            errors,
            [CapabilityError::Truncated {
                id: CapabilityId::MSI_X,
                offset: 0xF8
            }]
        );
    }

    #[test]
    fn a_full_list_of_48_capabilities_is_walked() {
        let device = (0..48).fold(endpoint(), |device, _| {
            device.capability(CapabilityId::VENDOR_SPECIFIC, &[4, 0])
        });
        let bus = bus(device);
        let found = walk(&bus);
        assert_eq!(found.len(), 48);
        assert!(found.iter().all(Result::is_ok));
        assert_eq!(found.last(), Some(&Ok((0xFC, 0x09))));
    }

    #[test]
    fn reserved_msi_and_msix_fields_are_reported() {
        let msi = bus(endpoint().capability(CapabilityId::MSI, &[0x0E, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(
            CapabilitySet::read(&msi, FUNCTION).1,
            [CapabilityError::ReservedMsiVectorCount {
                offset: 0x40,
                value: 7
            }]
        );
        let msix = bus(endpoint().msix(
            1,
            BarRegion { bir: 6, offset: 0 },
            BarRegion {
                bir: 0,
                offset: 0x800,
            },
        ));
        assert_eq!(
            CapabilitySet::read(&msix, FUNCTION).1,
            [CapabilityError::ReservedMsixBir {
                offset: 0x40,
                bir: 6
            }]
        );
    }

    #[test]
    fn find_returns_the_first_instance() {
        let bus = bus(endpoint()
            .pm()
            .msi(1, false, false)
            .pcie(PortType::Endpoint)
            .aer());
        assert_eq!(
            find_capability(&bus, FUNCTION, CapabilityId::MSI),
            Some(0x48)
        );
        assert_eq!(find_capability(&bus, FUNCTION, CapabilityId::MSI_X), None);
        assert_eq!(
            find_extended_capability(
                &bus,
                FUNCTION,
                ExtendedCapabilityId::ADVANCED_ERROR_REPORTING
            ),
            Some(0x100)
        );
    }

    #[test]
    fn extended_capabilities_are_walked_for_pcie_functions_only() {
        let pcie = bus(endpoint()
            .pcie(PortType::Endpoint)
            .aer()
            .extended_capability(ExtendedCapabilityId::DEVICE_SERIAL_NUMBER, 1, &[0; 8]));
        let (set, _) = CapabilitySet::read(&pcie, FUNCTION);
        let extended: Vec<(u16, ExtendedCapabilityId)> = set
            .extended
            .iter()
            .map(|capability| (capability.offset, capability.id))
            .collect();
        assert_eq!(
            extended,
            [
                (0x100, ExtendedCapabilityId::ADVANCED_ERROR_REPORTING),
                (0x148, ExtendedCapabilityId::DEVICE_SERIAL_NUMBER)
            ]
        );
        let conventional = bus(endpoint().pm().aer());
        assert!(
            CapabilitySet::read(&conventional, FUNCTION)
                .0
                .extended
                .is_empty()
        );
    }

    #[test]
    fn no_extended_space_reads_as_an_empty_list() {
        assert!(walk_extended(&bus(endpoint())).is_empty());
        let all_ones = bus(endpoint().raw_register(0x100, Width::Dword, u32::MAX));
        assert!(walk_extended(&all_ones).is_empty());
    }

    #[test]
    fn extended_loops_and_bad_pointers_end_the_walk() {
        let header = |id: u32, next: u32| id | (1 << 16) | (next << 20);
        let looped = bus(endpoint()
            .raw_register(0x100, Width::Dword, header(1, 0x200))
            .raw_register(0x200, Width::Dword, header(3, 0x100)));
        assert_eq!(
            walk_extended(&looped),
            [
                Ok((0x100, 1, 1)),
                Ok((0x200, 3, 1)),
                Err(CapabilityError::Loop {
                    list: List::Extended,
                    offset: 0x200,
                    pointer: 0x100
                }),
            ]
        );
        let itself = bus(endpoint().raw_register(0x100, Width::Dword, header(1, 0x100)));
        assert_eq!(
            walk_extended(&itself),
            [
                Ok((0x100, 1, 1)),
                Err(CapabilityError::Loop {
                    list: List::Extended,
                    offset: 0x100,
                    pointer: 0x100
                })
            ]
        );
        let into_conventional = bus(endpoint().raw_register(0x100, Width::Dword, header(1, 0x80)));
        assert_eq!(
            walk_extended(&into_conventional),
            [
                Ok((0x100, 1, 1)),
                Err(CapabilityError::PointerOutOfRange {
                    list: List::Extended,
                    offset: 0x100,
                    pointer: 0x80
                }),
            ]
        );
        // Low pointer bits are reserved and masked: 0x203 means 0x200.
        let vanished = bus(endpoint()
            .raw_register(0x100, Width::Dword, header(1, 0x203))
            .raw_register(0x200, Width::Dword, u32::MAX));
        assert_eq!(
            walk_extended(&vanished),
            [
                Ok((0x100, 1, 1)),
                Err(CapabilityError::AllOnes {
                    list: List::Extended,
                    offset: 0x200
                })
            ]
        );
    }

    #[test]
    fn names_are_short_and_unknown_ids_print_in_hex() {
        assert_eq!(CapabilityId::MSI_X.to_string(), "MSI-X");
        assert_eq!(CapabilityId(0x42).to_string(), "0x42");
        assert_eq!(
            ExtendedCapabilityId::ADVANCED_ERROR_REPORTING.to_string(),
            "AER"
        );
        assert_eq!(ExtendedCapabilityId(0x0100).to_string(), "0x100");
    }
}
