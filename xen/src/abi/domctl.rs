// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/domctl.h`: the `XEN_DOMCTL_*` subset a PCI driver domain uses.
//!
//! Mirrors the Xen 4.17.5 header, whose `XEN_DOMCTL_INTERFACE_VERSION` is
//! 0x15 (4.20 has 0x17); Xen refuses any other version with `-EACCES`.

use core::fmt;

use super::xen::DomId;

/// `XEN_DOMCTL_INTERFACE_VERSION` of Xen 4.17.
pub const XEN_DOMCTL_INTERFACE_VERSION: u32 = 0x15;

/// `XEN_DOMCTL_getdomaininfo`. On 4.17 it returns the first existing domain
/// whose id is at least the one asked for: compare the returned `domain`.
pub const XEN_DOMCTL_GETDOMAININFO: u32 = 5;
/// `XEN_DOMCTL_irq_permission`.
pub const XEN_DOMCTL_IRQ_PERMISSION: u32 = 19;
/// `XEN_DOMCTL_iomem_permission`.
pub const XEN_DOMCTL_IOMEM_PERMISSION: u32 = 20;
/// `XEN_DOMCTL_ioport_permission`.
pub const XEN_DOMCTL_IOPORT_PERMISSION: u32 = 21;
/// `XEN_DOMCTL_assign_device`.
pub const XEN_DOMCTL_ASSIGN_DEVICE: u32 = 37;
/// `XEN_DOMCTL_test_assign_device`.
pub const XEN_DOMCTL_TEST_ASSIGN_DEVICE: u32 = 45;
/// `XEN_DOMCTL_deassign_device`.
pub const XEN_DOMCTL_DEASSIGN_DEVICE: u32 = 47;
/// `XEN_DOMCTL_set_virq_handler`.
pub const XEN_DOMCTL_SET_VIRQ_HANDLER: u32 = 66;

/// `XEN_DOMINF_dying`: the domain is scheduled to die.
pub const XEN_DOMINF_DYING: u32 = 1 << 0;
/// `XEN_DOMINF_hvm_guest`: HVM or PVH rather than PV.
pub const XEN_DOMINF_HVM_GUEST: u32 = 1 << 1;
/// `XEN_DOMINF_shutdown`: the guest has shut down.
pub const XEN_DOMINF_SHUTDOWN: u32 = 1 << 2;
/// `XEN_DOMINF_paused`: paused by the toolstack.
pub const XEN_DOMINF_PAUSED: u32 = 1 << 3;
/// `XEN_DOMINF_blocked`: blocked waiting for an event.
pub const XEN_DOMINF_BLOCKED: u32 = 1 << 4;
/// `XEN_DOMINF_running`.
pub const XEN_DOMINF_RUNNING: u32 = 1 << 5;
/// `XEN_DOMINF_debugged`.
pub const XEN_DOMINF_DEBUGGED: u32 = 1 << 6;
/// `XEN_DOMINF_xs_domain`: the domain runs xenstored.
pub const XEN_DOMINF_XS_DOMAIN: u32 = 1 << 7;
/// `XEN_DOMINF_hap`: hardware-assisted paging.
pub const XEN_DOMINF_HAP: u32 = 1 << 8;
/// `XEN_DOMINF_shutdownshift`: the shutdown code sits at bits 23:16.
pub const XEN_DOMINF_SHUTDOWNSHIFT: u32 = 16;
/// `XEN_DOMINF_shutdownmask`.
pub const XEN_DOMINF_SHUTDOWNMASK: u32 = 255;

/// `struct xen_arch_domainconfig` (x86).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenArchDomainconfig {
    /// `XEN_X86_EMU_*`.
    pub emulation_flags: u32,
    /// `XEN_X86_MSR_RELAXED` etc.
    pub misc_flags: u32,
}
const _: () = assert!(size_of::<XenArchDomainconfig>() == 8);

/// `struct xen_domctl_getdomaininfo` (all OUT).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenDomctlGetdomaininfo {
    /// The domain described (not necessarily the one asked for).
    pub domain: DomId,
    /// Padding.
    pub pad1: u16,
    /// `XEN_DOMINF_*`.
    pub flags: u32,
    /// Pages held.
    pub tot_pages: u64,
    /// Page limit.
    pub max_pages: u64,
    /// Outstanding claimed pages.
    pub outstanding_pages: u64,
    /// Shared pages.
    pub shr_pages: u64,
    /// Paged-out pages.
    pub paged_pages: u64,
    /// Frame of its `shared_info`.
    pub shared_info_frame: u64,
    /// CPU time used (ns).
    pub cpu_time: u64,
    /// Online vCPUs.
    pub nr_online_vcpus: u32,
    /// Highest vCPU id in use.
    pub max_vcpu_id: u32,
    /// XSM security reference.
    pub ssidref: u32,
    /// `xen_domain_handle_t` (UUID).
    pub handle: [u8; 16],
    /// CPU pool.
    pub cpupool: u32,
    /// Guest physical address width.
    pub gpaddr_bits: u8,
    /// Padding.
    pub pad2: [u8; 7],
    /// Architecture configuration.
    pub arch_config: XenArchDomainconfig,
}
const _: () = assert!(size_of::<XenDomctlGetdomaininfo>() == 112);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, flags) == 4);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, tot_pages) == 8);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, shared_info_frame) == 48);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, nr_online_vcpus) == 64);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, handle) == 76);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, cpupool) == 92);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, gpaddr_bits) == 96);
const _: () = assert!(core::mem::offset_of!(XenDomctlGetdomaininfo, arch_config) == 104);

/// `struct xen_domctl_irq_permission`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenDomctlIrqPermission {
    /// IN: the PIRQ.
    pub pirq: u32,
    /// IN: non-zero to allow, 0 to revoke.
    pub allow_access: u8,
    /// Padding.
    pub pad: [u8; 3],
}
const _: () = assert!(size_of::<XenDomctlIrqPermission>() == 8);
const _: () = assert!(core::mem::offset_of!(XenDomctlIrqPermission, allow_access) == 4);

/// `struct xen_domctl_iomem_permission`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenDomctlIomemPermission {
    /// IN: first machine frame of the range.
    pub first_mfn: u64,
    /// IN: number of frames (> 0).
    pub nr_mfns: u64,
    /// IN: non-zero to allow, 0 to revoke.
    pub allow_access: u8,
}
const _: () = assert!(size_of::<XenDomctlIomemPermission>() == 24);
const _: () = assert!(core::mem::offset_of!(XenDomctlIomemPermission, nr_mfns) == 8);
const _: () = assert!(core::mem::offset_of!(XenDomctlIomemPermission, allow_access) == 16);

/// `struct xen_domctl_ioport_permission`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenDomctlIoportPermission {
    /// IN: first port of the range.
    pub first_port: u32,
    /// IN: number of ports (> 0; the range must end at or below 0x10000).
    pub nr_ports: u32,
    /// IN: non-zero to allow, 0 to revoke.
    pub allow_access: u8,
}
const _: () = assert!(size_of::<XenDomctlIoportPermission>() == 12);
const _: () = assert!(core::mem::offset_of!(XenDomctlIoportPermission, nr_ports) == 4);
const _: () = assert!(core::mem::offset_of!(XenDomctlIoportPermission, allow_access) == 8);

/// `XEN_DOMCTL_DEV_PCI`.
pub const XEN_DOMCTL_DEV_PCI: u32 = 0;
/// `XEN_DOMCTL_DEV_DT`.
pub const XEN_DOMCTL_DEV_DT: u32 = 1;
/// `XEN_DOMCTL_DEV_RDM_RELAXED`: assign despite reserved-memory conflicts.
pub const XEN_DOMCTL_DEV_RDM_RELAXED: u32 = 1;

/// `struct xen_domctl_assign_device`, PCI form (also deassign and test).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenDomctlAssignDevice {
    /// IN: `XEN_DOMCTL_DEV_*`.
    pub dev: u32,
    /// IN: `XEN_DOMCTL_DEV_RDM_RELAXED` or 0.
    pub flags: u32,
    /// IN: `u.pci.machine_sbdf`, see [`pci_sbdf`] (shares its place with
    /// `u.dt.size`).
    pub machine_sbdf: u32,
    /// Rest of the union (`u.dt.size`'s padding and `u.dt.path`); zero.
    pub dt_rest: [u32; 3],
}
const _: () = assert!(size_of::<XenDomctlAssignDevice>() == 24);
const _: () = assert!(core::mem::offset_of!(XenDomctlAssignDevice, flags) == 4);
const _: () = assert!(core::mem::offset_of!(XenDomctlAssignDevice, machine_sbdf) == 8);

/// The `machine_sbdf` encoding Xen decodes: segment in bits 31:16, bus in
/// 15:8, devfn in 7:0 (`seg = sbdf >> 16`, `PCI_BUS`, `PCI_DEVFN`).
pub const fn pci_sbdf(segment: u16, bus: u8, devfn: u8) -> u32 {
    ((segment as u32) << 16) | ((bus as u32) << 8) | devfn as u32
}

/// The union `u` of `struct xen_domctl`, 128 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenDomctlPayload {
    /// `XEN_DOMCTL_getdomaininfo`.
    pub getdomaininfo: XenDomctlGetdomaininfo,
    /// `XEN_DOMCTL_irq_permission`.
    pub irq_permission: XenDomctlIrqPermission,
    /// `XEN_DOMCTL_iomem_permission`.
    pub iomem_permission: XenDomctlIomemPermission,
    /// `XEN_DOMCTL_ioport_permission`.
    pub ioport_permission: XenDomctlIoportPermission,
    /// `XEN_DOMCTL_assign_device` / `deassign_device` / `test_assign_device`.
    pub assign_device: XenDomctlAssignDevice,
    /// `pad[128]`: fixes the union's size.
    pub pad: [u64; 16],
}
const _: () = assert!(size_of::<XenDomctlPayload>() == 128);

impl fmt::Debug for XenDomctlPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XenDomctlPayload { .. }")
    }
}

/// `struct xen_domctl`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct XenDomctl {
    /// IN: `XEN_DOMCTL_*`.
    pub cmd: u32,
    /// IN: [`XEN_DOMCTL_INTERFACE_VERSION`].
    pub interface_version: u32,
    /// IN: the target domain (OUT for getdomaininfo).
    pub domain: DomId,
    /// Padding.
    pub pad: [u16; 3],
    /// IN/OUT: the command's arguments.
    pub u: XenDomctlPayload,
}
const _: () = assert!(size_of::<XenDomctl>() == 144);
const _: () = assert!(core::mem::offset_of!(XenDomctl, interface_version) == 4);
const _: () = assert!(core::mem::offset_of!(XenDomctl, domain) == 8);
const _: () = assert!(core::mem::offset_of!(XenDomctl, u) == 16);

impl XenDomctl {
    /// A domctl `cmd` on `domain` at this interface version with `u` zeroed.
    pub const fn new(cmd: u32, domain: DomId) -> Self {
        Self {
            cmd,
            interface_version: XEN_DOMCTL_INTERFACE_VERSION,
            domain,
            pad: [0; 3],
            u: XenDomctlPayload { pad: [0; 16] },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbdf_matches_xen_decoding() {
        // edu at 0000:00:02.0 (devfn 0x10); Xen: seg = sbdf >> 16,
        // PCI_BUS = (sbdf >> 8) & 0xff, PCI_DEVFN = sbdf & 0xff.
        assert_eq!(pci_sbdf(0, 0, 0x10), 0x10);
        let sbdf = pci_sbdf(0x0001, 0x03, 0x0a);
        assert_eq!(sbdf >> 16, 1);
        assert_eq!((sbdf >> 8) & 0xff, 3);
        assert_eq!(sbdf & 0xff, 0x0a);
    }

    #[test]
    fn command_numbers_seen_in_4_17_logs() {
        // x417 run logs: "domctl cmd 0x00000025" (assign), "0x00000014" (iomem).
        assert_eq!(XEN_DOMCTL_ASSIGN_DEVICE, 0x25);
        assert_eq!(XEN_DOMCTL_IOMEM_PERMISSION, 0x14);
        assert_eq!(
            XenDomctl::new(XEN_DOMCTL_GETDOMAININFO, 2).interface_version,
            0x15
        );
    }
}
