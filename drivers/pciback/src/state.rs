// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the backend knows and keeps about a function it owns.
//!
//! [`DeviceState`] is the part of Linux's `struct pci_dev` and
//! `xen_pcibk_dev_data` the handlers read and change: where the
//! capabilities are (found once, when the device is taken), its resources,
//! whether it is enabled and bus mastering, which interrupts are on. It
//! lives apart from [`crate::Device`] so that the configuration space, the
//! interrupt, power, reset and save code can all use it without importing
//! one another.

use alloc::vec::Vec;

use pci::capability::{self, CapabilityId, ExtendedCapabilityId, PortType};
use pci::register::{self, Status, pcie, power_management as pm};
use pci::{Address, ConfigAccess, Function, Topology};

use crate::hardware::{Hardware, at};
use crate::resources::Resources;

/// The IDs a quirk matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    /// Vendor ID.
    pub(crate) vendor: u16,
    /// Device ID.
    pub(crate) device: u16,
    /// Subsystem vendor ID (0 when the header has none).
    pub(crate) subsystem_vendor: u16,
    /// Subsystem ID (0 when the header has none).
    pub(crate) subsystem_device: u16,
}

/// Which interrupts a device has on, and the PIRQs mapped for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InterruptMode {
    /// Neither MSI nor MSI-X (INTx, if the guest uses any).
    Intx,
    /// MSI, mapped to `pirq`.
    Msi {
        /// The capability.
        capability: u16,
        /// The PIRQ the frontend got.
        pirq: u32,
    },
    /// MSI-X, its entries mapped to `pirqs`.
    MsiX {
        /// The capability.
        capability: u16,
        /// The PIRQs the frontend got, one per entry it asked for.
        pirqs: Vec<u32>,
    },
}

/// Where the capabilities the backend uses are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// Power Management.
    pub(crate) power_management: Option<u16>,
    /// Vital Product Data.
    pub(crate) vpd: Option<u16>,
    /// MSI.
    pub(crate) msi: Option<u16>,
    /// MSI-X.
    pub(crate) msix: Option<u16>,
    /// PCI-X.
    pub(crate) pci_x: Option<u16>,
    /// Advanced Features (conventional PCI FLR).
    pub(crate) advanced_features: Option<u16>,
    /// Advanced Error Reporting (extended).
    pub(crate) aer: Option<u16>,
}

impl Capabilities {
    /// The offset of the first capability `id` among those with fields.
    pub(crate) fn find(&self, id: CapabilityId) -> Option<u16> {
        match id {
            CapabilityId::POWER_MANAGEMENT => self.power_management,
            CapabilityId::VPD => self.vpd,
            CapabilityId::MSI => self.msi,
            CapabilityId::MSI_X => self.msix,
            _ => None,
        }
    }
}

/// The PCI Express capability, as the reset and save code needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PciExpressInfo {
    /// Its offset.
    pub(crate) offset: u16,
    /// Device/port type.
    pub(crate) port_type: PortType,
    /// Capability version.
    pub(crate) version: u8,
    /// A slot is implemented (downstream ports).
    pub(crate) slot: bool,
    /// Function-level reset supported (DevCap bit 28).
    pub(crate) function_level_reset: bool,
}

/// Which optional power states the function supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PowerSupport {
    /// D1.
    pub(crate) d1: bool,
    /// D2.
    pub(crate) d2: bool,
}

/// What the backend knows and keeps about one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeviceState {
    /// Where it is.
    pub(crate) address: Address,
    /// Its IDs.
    pub(crate) identity: Identity,
    /// Type-1 header.
    pub(crate) is_bridge: bool,
    /// Interrupt pin (0: none).
    pub(crate) interrupt_pin: u8,
    /// The line firmware programmed (0 without an interrupt pin): what a
    /// guest reads when no GSI was named for it.
    pub(crate) line: u8,
    /// The GSI named for the guest that has the device ([`crate::Device::set_gsi`]).
    pub(crate) gsi: Option<u32>,
    /// Capability offsets.
    pub(crate) capabilities: Capabilities,
    /// The PCI Express capability.
    pub(crate) pcie: Option<PciExpressInfo>,
    /// Optional power states.
    pub(crate) power_support: PowerSupport,
    /// Status bit 0: ready at once after a reset.
    pub(crate) immediate_readiness: bool,
    /// BARs, ROM, windows.
    pub(crate) resources: Resources,
    /// Per-device permissive mode.
    pub(crate) permissive: bool,
    /// Enabled (Linux's `pci_is_enabled`).
    pub(crate) enabled: bool,
    /// Bus mastering on (Linux's `is_busmaster`).
    pub(crate) bus_master: bool,
    /// Which interrupts the guest has on.
    pub(crate) interrupts: InterruptMode,
    /// A write to a register without a field was already reported.
    pub(crate) warned_on_write: bool,
}

impl DeviceState {
    /// Reads what the backend needs of `function` through `hw`.
    pub(crate) fn new<A: ConfigAccess + ?Sized>(
        hw: &Hardware<'_, A>,
        function: &Function,
        is_bridge: bool,
        permissive: bool,
    ) -> Self {
        let find = |id| capability::find_capability(hw.access(), hw.address(), id);
        let pcie = find(CapabilityId::PCI_EXPRESS).map(|offset| {
            let flags = hw.read16(at(offset, pcie::CAPABILITIES));
            PciExpressInfo {
                offset,
                port_type: PortType::from_raw(
                    u8::try_from(
                        (flags >> pcie::CAPABILITIES_PORT_TYPE_SHIFT)
                            & pcie::CAPABILITIES_PORT_TYPE_MASK,
                    )
                    .unwrap_or_default(),
                ),
                version: u8::try_from(flags & pcie::CAPABILITIES_VERSION_MASK).unwrap_or_default(),
                slot: flags & pcie::CAPABILITIES_SLOT != 0,
                function_level_reset: hw.read32(at(offset, pcie::DEVICE_CAPABILITIES))
                    & pcie::DEVICE_CAPABILITIES_FLR
                    != 0,
            }
        });
        let capabilities = Capabilities {
            power_management: find(CapabilityId::POWER_MANAGEMENT),
            vpd: find(CapabilityId::VPD),
            msi: find(CapabilityId::MSI),
            msix: find(CapabilityId::MSI_X),
            pci_x: find(CapabilityId::PCI_X),
            advanced_features: find(CapabilityId::ADVANCED_FEATURES),
            // Only PCIe functions have extended space (Linux's `pci_aer_init`).
            aer: pcie.and_then(|_| {
                capability::find_extended_capability(
                    hw.access(),
                    hw.address(),
                    ExtendedCapabilityId::ADVANCED_ERROR_REPORTING,
                )
            }),
        };
        let power_support =
            capabilities
                .power_management
                .map_or(PowerSupport::default(), |offset| {
                    let pmc = hw.read16(at(offset, pm::CAPABILITIES));
                    PowerSupport {
                        d1: pmc & pm::PMC_D1 != 0,
                        d2: pmc & pm::PMC_D2 != 0,
                    }
                });
        let subsystem = function.subsystem;
        Self {
            address: function.address,
            identity: Identity {
                vendor: function.vendor_id,
                device: function.device_id,
                subsystem_vendor: subsystem.map_or(0, |subsystem| subsystem.vendor),
                subsystem_device: subsystem.map_or(0, |subsystem| subsystem.id),
            },
            is_bridge,
            interrupt_pin: function.interrupt_pin,
            line: if function.interrupt_pin != 0 {
                function.interrupt_line
            } else {
                0
            },
            gsi: None,
            capabilities,
            pcie,
            power_support,
            immediate_readiness: Status::from_bits_retain(hw.read16(register::STATUS))
                .contains(Status::IMMEDIATE_READINESS),
            resources: Resources::new(hw, function),
            permissive,
            enabled: false,
            bus_master: false,
            interrupts: InterruptMode::Intx,
            warned_on_write: false,
        }
    }

    /// The interrupt number the guest reads in the interrupt line register
    /// (its low byte) and gets back from the MSI disable ops: Linux's
    /// `dev->irq`, which on dom0 is the GSI libxl maps as the guest's PIRQ.
    /// The GSI named for the guest, else the line firmware programmed.
    pub(crate) fn guest_irq(&self) -> u32 {
        self.gsi.unwrap_or(u32::from(self.line))
    }
}

/// Where a function sits, for bus resets and root buses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    /// The bridges above it, nearest first (empty on a root bus).
    pub(crate) upstream: Vec<Address>,
    /// The nearest bridge is a PCIe root or downstream port (its secondary
    /// bus is a PCIe link) rather than a conventional bridge.
    pub(crate) parent_is_downstream_port: bool,
    /// Another function on the same bus, if any.
    pub(crate) neighbour: Option<Address>,
}

impl Placement {
    /// Where `function` sits in `topology`.
    pub(crate) fn new(topology: &Topology, function: &Function) -> Self {
        let address = function.address;
        let parent_is_downstream_port = topology
            .upstream_bridges(address)
            .next()
            .and_then(|bridge| bridge.capabilities.pci_express())
            .is_some_and(|parent| {
                matches!(
                    parent.port_type,
                    PortType::RootPort | PortType::DownstreamPort | PortType::PciToPcieBridge
                )
            });
        Self {
            upstream: topology
                .upstream_bridges(address)
                .map(|bridge| bridge.address)
                .collect(),
            parent_is_downstream_port,
            neighbour: topology
                .functions
                .iter()
                .map(|other| other.address)
                .find(|other| {
                    *other != address
                        && other.segment() == address.segment()
                        && other.bus() == address.bus()
                }),
        }
    }
}
