// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdev_op`: PIRQs for guests' devices, ECAM registration, device add.
//!
//! Wraps `__HYPERVISOR_physdev_op` (`physdev.h`), the sub-ops Xen 4.17's
//! `hvm_physdev_op()` lets a PVH hardware domain use: `map_pirq` and
//! `unmap_pirq` (with the 035baa203b backport; upstream 4.17 wants
//! `has_pirq`), `pci_mmcfg_reserved` and `pci_device_add`. `eoi` and
//! `setup_gsi` are refused with `-ENOSYS` and so are not wrapped.

use super::{Command, Hypercall, command};
use crate::Errno;
use crate::abi::physdev::{
    MAP_PIRQ_TYPE_GSI, MAP_PIRQ_TYPE_MSI, MAP_PIRQ_TYPE_MSI_SEG, PHYSDEVOP_MAP_PIRQ,
    PHYSDEVOP_PCI_DEVICE_ADD, PHYSDEVOP_PCI_MMCFG_RESERVED, PHYSDEVOP_UNMAP_PIRQ, PhysdevMapPirq,
    PhysdevPciDeviceAdd, PhysdevPciMmcfgReserved, PhysdevPhysfn, PhysdevUnmapPirq, XEN_PCI_DEV_PXM,
    XEN_PCI_MMCFG_RESERVED,
};
use crate::abi::xen::{DomId, HYPERVISOR_PHYSDEV_OP};

// SAFETY: physdev_op(PHYSDEVOP_map_pirq, struct physdev_map_pirq *) reads and
// writes exactly one PhysdevMapPirq, which holds no pointers (physdev.h).
unsafe impl Command<PHYSDEVOP_MAP_PIRQ> for PhysdevMapPirq {
    const HYPERCALL: u32 = HYPERVISOR_PHYSDEV_OP;
}
// SAFETY: physdev_op(PHYSDEVOP_unmap_pirq, struct physdev_unmap_pirq *) reads
// exactly one PhysdevUnmapPirq (physdev.h).
unsafe impl Command<PHYSDEVOP_UNMAP_PIRQ> for PhysdevUnmapPirq {
    const HYPERCALL: u32 = HYPERVISOR_PHYSDEV_OP;
}
// SAFETY: physdev_op(PHYSDEVOP_pci_mmcfg_reserved, struct
// physdev_pci_mmcfg_reserved *) reads exactly one PhysdevPciMmcfgReserved.
unsafe impl Command<PHYSDEVOP_PCI_MMCFG_RESERVED> for PhysdevPciMmcfgReserved {
    const HYPERCALL: u32 = HYPERVISOR_PHYSDEV_OP;
}
// SAFETY: physdev_op(PHYSDEVOP_pci_device_add, struct physdev_pci_device_add
// *) reads the fixed part and `optarr[0]` only when XEN_PCI_DEV_PXM is set;
// `pci_device_add` never sets it, so exactly one PhysdevPciDeviceAdd is read.
unsafe impl Command<PHYSDEVOP_PCI_DEVICE_ADD> for PhysdevPciDeviceAdd {
    const HYPERCALL: u32 = HYPERVISOR_PHYSDEV_OP;
}

/// The interrupt a PIRQ is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PirqSource {
    /// A GSI (INTx through the IO-APIC); use the ACPI GSI, not the PIC line.
    Gsi(u32),
    /// MSI, or one MSI-X vector, of the device at `segment:bus:devfn`.
    Msi {
        /// PCI segment.
        segment: u16,
        /// Bus.
        bus: u8,
        /// Device and function.
        devfn: u8,
        /// For MSI-X: the table entry and the host physical base of the BAR
        /// holding the table. `None` for plain MSI.
        msix: Option<MsixVector>,
    },
}

/// One MSI-X table entry, for [`PirqSource::Msi`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixVector {
    /// Index in the MSI-X table.
    pub entry: u16,
    /// Host physical base address of the BAR the table lives in.
    pub table_base: u64,
}

/// `PHYSDEVOP_map_pirq`: maps `source` to a PIRQ of domain `domid` (the
/// guest owning the device) and returns the PIRQ. `pirq` asks for a
/// specific number; `None` lets Xen choose.
///
/// MSI uses `MAP_PIRQ_TYPE_MSI_SEG` and, for segment 0, falls back to
/// `MAP_PIRQ_TYPE_MSI` on `-EINVAL`, as Linux does.
pub fn map_pirq<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
    source: PirqSource,
    pirq: Option<u32>,
) -> Result<u32, Errno> {
    let wanted = pirq
        .map_or(Ok(-1), i32::try_from)
        .map_err(|_| Errno::EINVAL)?;
    let mut arg = PhysdevMapPirq {
        domid,
        pirq: wanted,
        ..Default::default()
    };
    match source {
        PirqSource::Gsi(gsi) => {
            arg.type_ = MAP_PIRQ_TYPE_GSI;
            arg.index = i32::try_from(gsi).map_err(|_| Errno::EINVAL)?;
        }
        PirqSource::Msi {
            segment,
            bus,
            devfn,
            msix,
        } => {
            arg.type_ = MAP_PIRQ_TYPE_MSI_SEG;
            arg.index = -1;
            arg.bus = i32::from(bus) | (i32::from(segment) << 16);
            arg.devfn = i32::from(devfn);
            if let Some(vector) = msix {
                arg.entry_nr = i32::from(vector.entry);
                arg.table_base = vector.table_base;
            }
        }
    }
    let mut result = command::<PHYSDEVOP_MAP_PIRQ, _, _>(hv, &mut arg);
    if let (
        Err(Errno::EINVAL),
        PirqSource::Msi {
            segment: 0, bus, ..
        },
    ) = (result, source)
    {
        arg.type_ = MAP_PIRQ_TYPE_MSI;
        arg.index = -1;
        arg.pirq = wanted;
        arg.bus = i32::from(bus);
        result = command::<PHYSDEVOP_MAP_PIRQ, _, _>(hv, &mut arg);
    }
    result?;
    u32::try_from(arg.pirq).map_err(|_| Errno::EINVAL)
}

/// `PHYSDEVOP_unmap_pirq` of `pirq` in domain `domid`.
pub fn unmap_pirq<H: Hypercall + ?Sized>(hv: &H, domid: DomId, pirq: u32) -> Result<(), Errno> {
    let pirq = i32::try_from(pirq).map_err(|_| Errno::EINVAL)?;
    command::<PHYSDEVOP_UNMAP_PIRQ, _, _>(hv, &mut PhysdevUnmapPirq { domid, pirq }).map(drop)
}

/// `PHYSDEVOP_pci_mmcfg_reserved`: tells Xen that ECAM for `segment`, buses
/// `start_bus..=end_bus`, is at `address` and reserved, so vPCI traps it.
pub fn pci_mmcfg_reserved<H: Hypercall + ?Sized>(
    hv: &H,
    address: u64,
    segment: u16,
    start_bus: u8,
    end_bus: u8,
) -> Result<(), Errno> {
    let mut arg = PhysdevPciMmcfgReserved {
        address,
        segment,
        start_bus,
        end_bus,
        flags: XEN_PCI_MMCFG_RESERVED,
    };
    command::<PHYSDEVOP_PCI_MMCFG_RESERVED, _, _>(hv, &mut arg).map(drop)
}

/// `PHYSDEVOP_pci_device_add`: registers `segment:bus:devfn` with Xen.
/// `flags` are `XEN_PCI_DEV_EXTFN` / `XEN_PCI_DEV_VIRTFN` (then `physfn`
/// names the PF); `XEN_PCI_DEV_PXM` is refused.
pub fn pci_device_add<H: Hypercall + ?Sized>(
    hv: &H,
    segment: u16,
    bus: u8,
    devfn: u8,
    flags: u32,
    physfn: PhysdevPhysfn,
) -> Result<(), Errno> {
    if flags & XEN_PCI_DEV_PXM != 0 {
        return Err(Errno::EINVAL);
    }
    let mut arg = PhysdevPciDeviceAdd {
        seg: segment,
        bus,
        devfn,
        flags,
        physfn,
    };
    command::<PHYSDEVOP_PCI_DEVICE_ADD, _, _>(hv, &mut arg).map(drop)
}
