// SPDX-License-Identifier: MIT OR Apache-2.0
//! What enumeration found wrong with a function's configuration data.
//!
//! Every anomaly is also logged with `log::warn!` where it is found; none
//! stops enumeration of anything but the part it concerns.

use core::fmt;

use crate::bar::BarError;
use crate::capability::CapabilityError;

/// A bridge whose bus numbers cannot be followed; its secondary bus is not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BridgeError {
    /// The secondary bus is not above the bridge's own bus (0 means firmware
    /// never configured the bridge).
    SecondaryNotBelow {
        /// The secondary bus number.
        secondary: u8,
    },
    /// The secondary bus is outside the buses the upstream side forwards
    /// (or outside the segment's ECAM range).
    SecondaryOutOfRange {
        /// The secondary bus number.
        secondary: u8,
        /// The highest bus reachable there.
        last: u8,
    },
    /// The secondary bus was already scanned or claimed by another bridge.
    SecondaryAlreadyClaimed {
        /// The secondary bus number.
        secondary: u8,
    },
    /// The subordinate bus is below the secondary; only the secondary bus is
    /// scanned (this one is scanned, not skipped).
    SubordinateBelowSecondary {
        /// The secondary bus number.
        secondary: u8,
        /// The subordinate bus number.
        subordinate: u8,
    },
    /// The subordinate bus is above what the upstream side forwards; the
    /// range is cut there (scanned, not skipped).
    SubordinateOutOfRange {
        /// The subordinate bus number.
        subordinate: u8,
        /// The highest bus reachable there.
        last: u8,
    },
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SecondaryNotBelow { secondary } => {
                write!(
                    f,
                    "secondary bus {secondary:02x} not below the bridge, not scanned"
                )
            }
            Self::SecondaryOutOfRange { secondary, last } => {
                write!(
                    f,
                    "secondary bus {secondary:02x} beyond reachable bus {last:02x}, not scanned"
                )
            }
            Self::SecondaryAlreadyClaimed { secondary } => {
                write!(
                    f,
                    "secondary bus {secondary:02x} already claimed, not scanned again"
                )
            }
            Self::SubordinateBelowSecondary {
                secondary,
                subordinate,
            } => {
                write!(
                    f,
                    "subordinate bus {subordinate:02x} below secondary {secondary:02x}"
                )
            }
            Self::SubordinateOutOfRange { subordinate, last } => {
                write!(
                    f,
                    "subordinate bus {subordinate:02x} beyond reachable bus {last:02x}"
                )
            }
        }
    }
}

impl core::error::Error for BridgeError {}

/// Something wrong in a function's configuration space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// A header layout other than 0 (endpoint) or 1 (PCI-PCI bridge): the
    /// function is listed, its BARs and capabilities are not read.
    UnsupportedHeader {
        /// Bits 6:0 of the header type register.
        layout: u8,
    },
    /// A BAR decoded with a guess.
    Bar(BarError),
    /// A malformed capability list or capability.
    Capability(CapabilityError),
    /// Bus numbers of a bridge that cannot be followed.
    Bridge(BridgeError),
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedHeader { layout } => {
                write!(f, "unsupported header type {layout:#x}, not decoded")
            }
            Self::Bar(error) => write!(f, "{error}"),
            Self::Capability(error) => write!(f, "{error}"),
            Self::Bridge(error) => write!(f, "{error}"),
        }
    }
}

impl core::error::Error for Anomaly {}

impl From<BarError> for Anomaly {
    fn from(error: BarError) -> Self {
        Self::Bar(error)
    }
}

impl From<CapabilityError> for Anomaly {
    fn from(error: CapabilityError) -> Self {
        Self::Capability(error)
    }
}

impl From<BridgeError> for Anomaly {
    fn from(error: BridgeError) -> Self {
        Self::Bridge(error)
    }
}
