// SPDX-License-Identifier: MIT OR Apache-2.0
//! Walking the standard and extended capability lists, safely, whatever the function answers.
//!
//! Each walk visits every place at most once (a bit set of the offsets seen),
//! so a list that loops ends; a pointer out of range, a repeated
//! capability or a header that reads all ones ends it with one error.

use super::error::{CapabilityError, List};
use super::id::{CapabilityId, ExtendedCapabilityId};
use crate::Address;
use crate::access::ConfigAccess;
use crate::bitset::BitSet;
use crate::register::{self, Status, capability as header, extended_capability as extended};

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

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::access::Width;
    use crate::capability::PortType;
    use crate::capability::fixture::{FUNCTION, bus, endpoint};
    use crate::sim::SimBus;

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
}
