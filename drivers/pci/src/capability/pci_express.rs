// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PCI Express capability, decoded: the port type, function-level reset, the link.
//!
//! Registers and bits are in [`crate::register::pcie`].

use core::fmt;

use crate::register::pcie;

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
