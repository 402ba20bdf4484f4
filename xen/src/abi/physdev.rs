// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/physdev.h`: `PHYSDEVOP_*` a PCI driver domain uses.
//!
//! Mirrors the Xen 4.17.5 header. For a PVH caller only `map_pirq` and
//! `unmap_pirq` pass `hvm_physdev_op()` unconditionally; `setup_gsi`,
//! `pci_mmcfg_reserved` and `pci_device_add` need the hardware domain.

use super::xen::DomId;

/// `PHYSDEVOP_irq_status_query`.
pub const PHYSDEVOP_IRQ_STATUS_QUERY: u32 = 5;
/// `PHYSDEVOP_eoi`.
pub const PHYSDEVOP_EOI: u32 = 12;
/// `PHYSDEVOP_map_pirq`.
pub const PHYSDEVOP_MAP_PIRQ: u32 = 13;
/// `PHYSDEVOP_unmap_pirq`.
pub const PHYSDEVOP_UNMAP_PIRQ: u32 = 14;
/// `PHYSDEVOP_setup_gsi`.
pub const PHYSDEVOP_SETUP_GSI: u32 = 21;
/// `PHYSDEVOP_get_free_pirq`.
pub const PHYSDEVOP_GET_FREE_PIRQ: u32 = 23;
/// `PHYSDEVOP_pci_mmcfg_reserved`.
pub const PHYSDEVOP_PCI_MMCFG_RESERVED: u32 = 24;
/// `PHYSDEVOP_pci_device_add`.
pub const PHYSDEVOP_PCI_DEVICE_ADD: u32 = 25;
/// `PHYSDEVOP_pci_device_remove`.
pub const PHYSDEVOP_PCI_DEVICE_REMOVE: u32 = 26;
/// `PHYSDEVOP_prepare_msix`.
pub const PHYSDEVOP_PREPARE_MSIX: u32 = 30;
/// `PHYSDEVOP_release_msix`.
pub const PHYSDEVOP_RELEASE_MSIX: u32 = 31;

/// `MAP_PIRQ_TYPE_MSI`: segment 0 MSI/MSI-X.
pub const MAP_PIRQ_TYPE_MSI: i32 = 0;
/// `MAP_PIRQ_TYPE_GSI`.
pub const MAP_PIRQ_TYPE_GSI: i32 = 1;
/// `MAP_PIRQ_TYPE_UNKNOWN`.
pub const MAP_PIRQ_TYPE_UNKNOWN: i32 = 2;
/// `MAP_PIRQ_TYPE_MSI_SEG`: MSI/MSI-X with the segment in `bus` bits 31:16.
pub const MAP_PIRQ_TYPE_MSI_SEG: i32 = 3;
/// `MAP_PIRQ_TYPE_MULTI_MSI`: multi-vector MSI, count in `entry_nr`.
pub const MAP_PIRQ_TYPE_MULTI_MSI: i32 = 4;

/// `struct physdev_map_pirq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevMapPirq {
    /// IN: the domain whose PIRQ space receives the mapping.
    pub domid: DomId,
    /// IN: `MAP_PIRQ_TYPE_*`.
    pub type_: i32,
    /// IN: the GSI for `GSI`; -1 for MSI (Xen allocates the IRQ).
    pub index: i32,
    /// IN: the wanted PIRQ or -1 for any; OUT: the PIRQ.
    pub pirq: i32,
    /// IN: the bus; bits 31:16 hold the segment for `MSI_SEG`/`MULTI_MSI`.
    pub bus: i32,
    /// IN: device and function.
    pub devfn: i32,
    /// IN: MSI-X table entry; for `MULTI_MSI` the vector count (IN/OUT).
    pub entry_nr: i32,
    /// IN: MSI-X: host physical base of the BAR holding the table; 0 for MSI.
    pub table_base: u64,
}
const _: () = assert!(size_of::<PhysdevMapPirq>() == 40);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, type_) == 4);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, index) == 8);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, pirq) == 12);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, bus) == 16);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, devfn) == 20);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, entry_nr) == 24);
const _: () = assert!(core::mem::offset_of!(PhysdevMapPirq, table_base) == 32);

/// `struct physdev_unmap_pirq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevUnmapPirq {
    /// IN: the domain the PIRQ was mapped into.
    pub domid: DomId,
    /// IN: the PIRQ.
    pub pirq: i32,
}
const _: () = assert!(size_of::<PhysdevUnmapPirq>() == 8);
const _: () = assert!(core::mem::offset_of!(PhysdevUnmapPirq, pirq) == 4);

/// `struct physdev_eoi`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevEoi {
    /// IN: the PIRQ to end-of-interrupt.
    pub irq: u32,
}
const _: () = assert!(size_of::<PhysdevEoi>() == 4);

/// `struct physdev_setup_gsi`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevSetupGsi {
    /// IN: the GSI.
    pub gsi: i32,
    /// IN: 0 edge, 1 level.
    pub triggering: u8,
    /// IN: 0 active high, 1 active low.
    pub polarity: u8,
}
const _: () = assert!(size_of::<PhysdevSetupGsi>() == 8);
const _: () = assert!(core::mem::offset_of!(PhysdevSetupGsi, triggering) == 4);
const _: () = assert!(core::mem::offset_of!(PhysdevSetupGsi, polarity) == 5);

/// `XEN_PCI_MMCFG_RESERVED`: the MMCFG range is reserved in the E820/ACPI.
pub const XEN_PCI_MMCFG_RESERVED: u32 = 0x1;

/// `struct physdev_pci_mmcfg_reserved`: tell Xen where ECAM is, so vPCI traps it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevPciMmcfgReserved {
    /// IN: physical base address of the ECAM window.
    pub address: u64,
    /// IN: PCI segment.
    pub segment: u16,
    /// IN: first bus decoded.
    pub start_bus: u8,
    /// IN: last bus decoded.
    pub end_bus: u8,
    /// IN: `XEN_PCI_MMCFG_*`.
    pub flags: u32,
}
const _: () = assert!(size_of::<PhysdevPciMmcfgReserved>() == 16);
const _: () = assert!(core::mem::offset_of!(PhysdevPciMmcfgReserved, segment) == 8);
const _: () = assert!(core::mem::offset_of!(PhysdevPciMmcfgReserved, start_bus) == 10);
const _: () = assert!(core::mem::offset_of!(PhysdevPciMmcfgReserved, end_bus) == 11);
const _: () = assert!(core::mem::offset_of!(PhysdevPciMmcfgReserved, flags) == 12);

/// `XEN_PCI_DEV_EXTFN`: an ARI extended function.
pub const XEN_PCI_DEV_EXTFN: u32 = 0x1;
/// `XEN_PCI_DEV_VIRTFN`: an SR-IOV virtual function; `physfn` names its PF.
pub const XEN_PCI_DEV_VIRTFN: u32 = 0x2;
/// `XEN_PCI_DEV_PXM`: `optarr[0]` holds the proximity domain.
pub const XEN_PCI_DEV_PXM: u32 = 0x4;

/// `physfn` of `struct physdev_pci_device_add`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevPhysfn {
    /// Bus of the physical function.
    pub bus: u8,
    /// Device/function of the physical function.
    pub devfn: u8,
}

/// `struct physdev_pci_device_add` with an empty `optarr` (no PXM).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevPciDeviceAdd {
    /// IN: segment.
    pub seg: u16,
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
    /// IN: `XEN_PCI_DEV_*`.
    pub flags: u32,
    /// IN: the physical function, for `XEN_PCI_DEV_VIRTFN`.
    pub physfn: PhysdevPhysfn,
}
const _: () = assert!(size_of::<PhysdevPciDeviceAdd>() == 12);
const _: () = assert!(core::mem::offset_of!(PhysdevPciDeviceAdd, flags) == 4);
const _: () = assert!(core::mem::offset_of!(PhysdevPciDeviceAdd, physfn) == 8);

/// `struct physdev_pci_device`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysdevPciDevice {
    /// IN: segment.
    pub seg: u16,
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
}
const _: () = assert!(size_of::<PhysdevPciDevice>() == 4);
