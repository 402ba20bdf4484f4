// SPDX-License-Identifier: MIT OR Apache-2.0
//! What can be wrong with capability data: the error both the walk and the decoder report.
//!
//! Each error names the list and the offset, so a report can point at the
//! byte a function got wrong.

use core::fmt;

use super::id::CapabilityId;

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
