// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding the capabilities the backend needs (PM, MSI, MSI-X, PCI Express) from their registers.
//!
//! A capability whose registers run past conventional space, or that holds a
//! reserved value the backend would act on, is an error, not a guess;
//! capabilities this crate does not decode are listed by ID.

use alloc::vec::Vec;

use super::error::CapabilityError;
use super::id::CapabilityId;
use super::msi::{BarRegion, Msi, MsiX};
use super::pci_express::{Link, PciExpress, PortType};
use super::power_management::{PowerManagement, PowerState};
use super::walk::{ExtendedCapability, RawCapability, capabilities, extended_capabilities};
use crate::Address;
use crate::access::ConfigAccess;
use crate::register::{self, msi, msix, pcie, power_management as pm};

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
    use crate::capability::fixture::{FUNCTION, bus, endpoint};
    use crate::capability::{ExtendedCapabilityId, LinkSpeed};
    use crate::register::capability as header;

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
    fn a_capability_running_past_conventional_space_is_left_out() {
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
}
