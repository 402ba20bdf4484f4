// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FakeXen`](super::FakeXen)'s device calls: PIRQs, ECAM, assignment, permissions.
//!
//! What the x417 runs showed: MSI needs the device assigned first, a GSI
//! does not; `getdomaininfo` answers with the next existing domain.

use super::{Caller, FakePirq, argument};
use crate::Errno;
use crate::abi::domctl::{
    XEN_DOMCTL_ASSIGN_DEVICE, XEN_DOMCTL_DEASSIGN_DEVICE, XEN_DOMCTL_DEV_PCI,
    XEN_DOMCTL_GETDOMAININFO, XEN_DOMCTL_INTERFACE_VERSION, XEN_DOMCTL_IOMEM_PERMISSION,
    XEN_DOMCTL_IOPORT_PERMISSION, XEN_DOMCTL_IRQ_PERMISSION, XEN_DOMINF_HVM_GUEST,
    XEN_DOMINF_RUNNING, XenDomctl, XenDomctlGetdomaininfo,
};
use crate::abi::physdev::{
    MAP_PIRQ_TYPE_GSI, MAP_PIRQ_TYPE_MSI, MAP_PIRQ_TYPE_MSI_SEG, PHYSDEVOP_MAP_PIRQ,
    PHYSDEVOP_PCI_DEVICE_ADD, PHYSDEVOP_PCI_MMCFG_RESERVED, PHYSDEVOP_UNMAP_PIRQ, PhysdevMapPirq,
    PhysdevPciDeviceAdd, PhysdevPciMmcfgReserved, PhysdevUnmapPirq,
};
use crate::abi::xen::DOMID_FIRST_RESERVED;

/// x86's `MAX_IOPORTS`: the I/O port space.
const MAX_IOPORTS: u32 = 0x1_0000;

impl Caller<'_> {
    pub(super) unsafe fn physdev(mut self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        // SAFETY: (all arms) `arg` points to the struct for `cmd`.
        unsafe {
            match cmd {
                PHYSDEVOP_MAP_PIRQ => {
                    let arg = argument::<PhysdevMapPirq>(arg)?;
                    arg.pirq = self.map_pirq(arg)?;
                }
                PHYSDEVOP_UNMAP_PIRQ => {
                    let arg = argument::<PhysdevUnmapPirq>(arg)?;
                    let pirq = u32::try_from(arg.pirq).map_err(|_| Errno::EINVAL)?;
                    self.state
                        .domain(arg.domid)?
                        .pirqs
                        .remove(&pirq)
                        .ok_or(Errno::EINVAL)?;
                }
                PHYSDEVOP_PCI_MMCFG_RESERVED => {
                    let arg = argument::<PhysdevPciMmcfgReserved>(arg)?;
                    let entry = (arg.address, arg.segment, arg.start_bus, arg.end_bus);
                    self.me()?.mmcfg.push(entry);
                }
                PHYSDEVOP_PCI_DEVICE_ADD => {
                    let arg = argument::<PhysdevPciDeviceAdd>(arg)?;
                    let entry = (arg.seg, arg.bus, arg.devfn);
                    self.me()?.devices_added.push(entry);
                }
                // Everything else is refused to a PVH domain by 4.17's
                // hvm_physdev_op().
                _ => return Err(Errno::ENOSYS),
            }
        }
        Ok(0)
    }

    /// MSI needs the device assigned to the target first (`-ENODEV`, as
    /// seen on 4.17 without `passthrough`); a GSI needs nothing.
    fn map_pirq(&mut self, arg: &PhysdevMapPirq) -> Result<i32, Errno> {
        let source = match arg.type_ {
            MAP_PIRQ_TYPE_GSI => {
                FakePirq::Gsi(u32::try_from(arg.index).map_err(|_| Errno::EINVAL)?)
            }
            MAP_PIRQ_TYPE_MSI | MAP_PIRQ_TYPE_MSI_SEG => {
                let segment = if arg.type_ == MAP_PIRQ_TYPE_MSI_SEG {
                    (arg.bus >> 16) as u32
                } else {
                    0
                };
                let bus = (arg.bus & 0xFF) as u32;
                let sbdf = segment << 16 | bus << 8 | (arg.devfn & 0xFF) as u32;
                let entry = u32::try_from(arg.entry_nr).map_err(|_| Errno::EINVAL)?;
                FakePirq::Msi {
                    sbdf,
                    entry,
                    table_base: arg.table_base,
                }
            }
            _ => return Err(Errno::EINVAL),
        };
        let next = self.state.next_pirq.max(16);
        let target = self.state.domain(arg.domid)?;
        if matches!(source, FakePirq::Msi { sbdf, .. } if !target.assigned.contains(&sbdf)) {
            return Err(Errno::ENODEV);
        }
        let pirq = match u32::try_from(arg.pirq) {
            Ok(wanted) if target.pirqs.contains_key(&wanted) => return Err(Errno::EEXIST),
            Ok(wanted) => wanted,
            Err(_) => (next..)
                .find(|p| !target.pirqs.contains_key(p))
                .ok_or(Errno::ENOSPC)?,
        };
        target.pirqs.insert(pirq, source);
        self.state.next_pirq = pirq.saturating_add(1).max(next);
        i32::try_from(pirq).map_err(|_| Errno::ENOSPC)
    }

    pub(super) unsafe fn domctl(self, arg: u64) -> Result<u64, Errno> {
        // SAFETY: domctl's argument is a struct xen_domctl.
        let op = unsafe { argument::<XenDomctl>(arg) }?;
        if op.interface_version != XEN_DOMCTL_INTERFACE_VERSION {
            return Err(Errno::EACCES);
        }
        match op.cmd {
            XEN_DOMCTL_GETDOMAININFO => {
                // 4.17: the first domain with an id at least the one asked for.
                let (&domid, domain) = self
                    .state
                    .domains
                    .range(op.domain..DOMID_FIRST_RESERVED)
                    .next()
                    .ok_or(Errno::ESRCH)?;
                let info = XenDomctlGetdomaininfo {
                    domain: domid,
                    flags: XEN_DOMINF_HVM_GUEST | XEN_DOMINF_RUNNING,
                    nr_online_vcpus: 1,
                    shared_info_frame: domain.shared_info_gfn.unwrap_or(0),
                    ..Default::default()
                };
                op.domain = domid;
                op.u.getdomaininfo = info;
            }
            XEN_DOMCTL_ASSIGN_DEVICE | XEN_DOMCTL_DEASSIGN_DEVICE => {
                // SAFETY: these commands use the assign_device member, all
                // integers, so any bytes are a valid value.
                let device = unsafe { op.u.assign_device };
                if device.dev != XEN_DOMCTL_DEV_PCI {
                    return Err(Errno::EINVAL);
                }
                let sbdf = device.machine_sbdf;
                let owner = self
                    .state
                    .domains
                    .iter()
                    .find(|(_, d)| d.assigned.contains(&sbdf))
                    .map(|(id, _)| *id);
                let target = self.state.domain(op.domain)?;
                if op.cmd == XEN_DOMCTL_ASSIGN_DEVICE {
                    if owner.is_some() {
                        return Err(Errno::EBUSY);
                    }
                    target.assigned.push(sbdf);
                } else {
                    // 4.17's deassign_device: not this domain's device.
                    if owner != Some(op.domain) {
                        return Err(Errno::ENODEV);
                    }
                    target.assigned.retain(|&d| d != sbdf);
                }
            }
            XEN_DOMCTL_IOMEM_PERMISSION => {
                // SAFETY: as above, the iomem_permission member.
                let perm = unsafe { op.u.iomem_permission };
                if perm.nr_mfns == 0 {
                    return Err(Errno::EINVAL);
                }
                let range = (perm.first_mfn, perm.nr_mfns);
                let target = self.state.domain(op.domain)?;
                if perm.allow_access != 0 {
                    target.iomem.push(range);
                } else {
                    target.iomem.retain(|&r| r != range);
                }
            }
            XEN_DOMCTL_IOPORT_PERMISSION => {
                // SAFETY: as above, the ioport_permission member.
                let perm = unsafe { op.u.ioport_permission };
                // arch/x86/domctl.c: an empty range, or one past port 0xffff.
                let end = perm.first_port.checked_add(perm.nr_ports);
                if perm.nr_ports == 0 || end.is_none_or(|end| end > MAX_IOPORTS) {
                    return Err(Errno::EINVAL);
                }
                let range = (perm.first_port, perm.nr_ports);
                let target = self.state.domain(op.domain)?;
                if perm.allow_access != 0 {
                    target.ioports.push(range);
                } else {
                    target.ioports.retain(|&r| r != range);
                }
            }
            XEN_DOMCTL_IRQ_PERMISSION => {
                // SAFETY: as above, the irq_permission member.
                let perm = unsafe { op.u.irq_permission };
                let target = self.state.domain(op.domain)?;
                if perm.allow_access != 0 {
                    target.irqs.push(perm.pirq);
                } else {
                    target.irqs.retain(|&p| p != perm.pirq);
                }
            }
            _ => return Err(Errno::ENOSYS),
        }
        Ok(0)
    }
}
