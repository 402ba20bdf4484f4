// SPDX-License-Identifier: MIT OR Apache-2.0
//! `domctl`: the hardware domain's per-guest grants of devices, BARs and IRQs.
//!
//! Wraps `__HYPERVISOR_domctl` (`domctl.h`) at interface version 0x15 (Xen
//! 4.17). FLASK must allow each command for the calling domain.

use super::{Hypercall, pointer_arg};
use crate::Errno;
use crate::abi::domctl::{
    XEN_DOMCTL_ASSIGN_DEVICE, XEN_DOMCTL_DEASSIGN_DEVICE, XEN_DOMCTL_DEV_PCI,
    XEN_DOMCTL_GETDOMAININFO, XEN_DOMCTL_IOMEM_PERMISSION, XEN_DOMCTL_IOPORT_PERMISSION,
    XEN_DOMCTL_IRQ_PERMISSION, XenDomctl, XenDomctlAssignDevice, XenDomctlGetdomaininfo,
    XenDomctlIomemPermission, XenDomctlIoportPermission, XenDomctlIrqPermission,
};
use crate::abi::xen::{DomId, HYPERVISOR_DOMCTL};

/// Issues one domctl; Xen copies the whole structure back.
fn domctl<H: Hypercall + ?Sized>(hv: &H, op: &mut XenDomctl) -> Result<u64, Errno> {
    let args = [pointer_arg(op), 0, 0, 0, 0];
    // SAFETY: domctl takes one pointer to a struct xen_domctl, which Xen
    // reads and writes whole (144 bytes) and nothing else; none of the
    // commands built here carries a pointer in the union. `op` is an
    // exclusive borrow that outlives the call.
    let ret = unsafe { hv.hypercall(HYPERVISOR_DOMCTL, args) };
    Errno::check(ret)
}

fn assign_device_op(cmd: u32, domid: DomId, machine_sbdf: u32, flags: u32) -> XenDomctl {
    let mut op = XenDomctl::new(cmd, domid);
    op.u.assign_device = XenDomctlAssignDevice {
        dev: XEN_DOMCTL_DEV_PCI,
        flags,
        machine_sbdf,
        dt_rest: [0; 3],
    };
    op
}

/// `XEN_DOMCTL_assign_device`: gives the PCI function `machine_sbdf` (see
/// [`crate::abi::domctl::pci_sbdf`]) to `domid` in the IOMMU. `flags`:
/// `XEN_DOMCTL_DEV_RDM_RELAXED` or 0. The guest needs `passthrough`
/// enabled, else `-EOPNOTSUPP`.
pub fn assign_device<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
    machine_sbdf: u32,
    flags: u32,
) -> Result<(), Errno> {
    domctl(
        hv,
        &mut assign_device_op(XEN_DOMCTL_ASSIGN_DEVICE, domid, machine_sbdf, flags),
    )
    .map(drop)
}

/// `XEN_DOMCTL_deassign_device`: takes `machine_sbdf` back from `domid`.
pub fn deassign_device<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
    machine_sbdf: u32,
) -> Result<(), Errno> {
    domctl(
        hv,
        &mut assign_device_op(XEN_DOMCTL_DEASSIGN_DEVICE, domid, machine_sbdf, 0),
    )
    .map(drop)
}

/// `XEN_DOMCTL_iomem_permission`: allows (or revokes) `domid`'s access to
/// machine frames `first_mfn..first_mfn + nr_mfns`.
pub fn iomem_permission<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
    first_mfn: u64,
    nr_mfns: u64,
    allow: bool,
) -> Result<(), Errno> {
    let mut op = XenDomctl::new(XEN_DOMCTL_IOMEM_PERMISSION, domid);
    op.u.iomem_permission = XenDomctlIomemPermission {
        first_mfn,
        nr_mfns,
        allow_access: u8::from(allow),
    };
    domctl(hv, &mut op).map(drop)
}

/// `XEN_DOMCTL_ioport_permission`: allows (or revokes) `domid`'s access to
/// I/O ports `first_port..first_port + nr_ports` (a PV guest then uses them
/// with `in`/`out`, which Xen emulates). Xen refuses with `-EINVAL` a range
/// that is empty or ends above port 0xffff, and with `-EPERM` one the
/// caller may not access itself.
pub fn ioport_permission<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
    first_port: u32,
    nr_ports: u32,
    allow: bool,
) -> Result<(), Errno> {
    let mut op = XenDomctl::new(XEN_DOMCTL_IOPORT_PERMISSION, domid);
    op.u.ioport_permission = XenDomctlIoportPermission {
        first_port,
        nr_ports,
        allow_access: u8::from(allow),
    };
    domctl(hv, &mut op).map(drop)
}

/// `XEN_DOMCTL_irq_permission`: allows (or revokes) `domid`'s access to the
/// IRQ behind `pirq`, a PIRQ of the *caller* (Xen looks it up in the
/// caller's table): a PV dom0, whose PIRQ for a GSI is the GSI, can; a PVH
/// hardware domain has no PIRQs and gets `-EPERM`. It needs none of it:
/// `PHYSDEVOP_map_pirq` grants the target the IRQ it maps, and
/// `PHYSDEVOP_unmap_pirq` revokes it.
pub fn irq_permission<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
    pirq: u32,
    allow: bool,
) -> Result<(), Errno> {
    let mut op = XenDomctl::new(XEN_DOMCTL_IRQ_PERMISSION, domid);
    op.u.irq_permission = XenDomctlIrqPermission {
        pirq,
        allow_access: u8::from(allow),
        pad: [0; 3],
    };
    domctl(hv, &mut op).map(drop)
}

/// `XEN_DOMCTL_getdomaininfo` as Xen answers it: on 4.17 the first existing
/// domain whose id is `domid` or higher (check `domain`), `-ESRCH` if none.
pub fn getdomaininfo<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
) -> Result<XenDomctlGetdomaininfo, Errno> {
    let mut op = XenDomctl::new(XEN_DOMCTL_GETDOMAININFO, domid);
    domctl(hv, &mut op)?;
    // SAFETY: reading a union field: every field of the union is plain
    // integers, so any bytes Xen left there are a valid value.
    Ok(unsafe { op.u.getdomaininfo })
}

/// The information of exactly domain `domid`, `None` if it does not exist
/// (whether Xen said `-ESRCH` or described a higher domain, as 4.17 does).
pub fn domain_info<H: Hypercall + ?Sized>(
    hv: &H,
    domid: DomId,
) -> Result<Option<XenDomctlGetdomaininfo>, Errno> {
    match getdomaininfo(hv, domid) {
        Ok(info) if info.domain == domid => Ok(Some(info)),
        Ok(_) | Err(Errno::ESRCH) => Ok(None),
        Err(e) => Err(e),
    }
}
