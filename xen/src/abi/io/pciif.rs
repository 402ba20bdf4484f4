// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/io/pciif.h`: the PCI frontend/backend shared page.
//!
//! Mirrors the Xen 4.17.5 header. These are plain value types: the frontend
//! may rewrite the shared page at any time, so the backend copies `op` out
//! once ([`crate::shared_page::SharedPage::read`]), validates the copy, and
//! writes back only result fields. `flags` is the handshake word and is
//! always accessed atomically
//! ([`crate::shared_page::SharedPage::atomic_u32`] at [`FLAGS_OFFSET`]).

use core::mem::offset_of;

use crate::abi::Plain;

/// `XEN_PCI_MAGIC`: the frontend's `magic` key.
pub const XEN_PCI_MAGIC: &str = "7";

/// `_XEN_PCIF_active`: bit of `flags` set by the frontend when `op` is pending.
pub const XEN_PCIF_ACTIVE_BIT: u32 = 0;
/// `XEN_PCIF_active`.
pub const XEN_PCIF_ACTIVE: u32 = 1 << XEN_PCIF_ACTIVE_BIT;
/// `_XEN_PCIB_AERHANDLER`: the frontend can handle AER requests.
pub const XEN_PCIB_AERHANDLER_BIT: u32 = 1;
/// `XEN_PCIB_AERHANDLER`.
pub const XEN_PCIB_AERHANDLER: u32 = 1 << XEN_PCIB_AERHANDLER_BIT;
/// `_XEN_PCIB_active`: bit set by the backend when `aer_op` is pending.
pub const XEN_PCIB_ACTIVE_BIT: u32 = 2;
/// `XEN_PCIB_active`.
pub const XEN_PCIB_ACTIVE: u32 = 1 << XEN_PCIB_ACTIVE_BIT;

/// `XEN_PCI_OP_conf_read`.
pub const XEN_PCI_OP_CONF_READ: u32 = 0;
/// `XEN_PCI_OP_conf_write`.
pub const XEN_PCI_OP_CONF_WRITE: u32 = 1;
/// `XEN_PCI_OP_enable_msi`.
pub const XEN_PCI_OP_ENABLE_MSI: u32 = 2;
/// `XEN_PCI_OP_disable_msi`.
pub const XEN_PCI_OP_DISABLE_MSI: u32 = 3;
/// `XEN_PCI_OP_enable_msix`.
pub const XEN_PCI_OP_ENABLE_MSIX: u32 = 4;
/// `XEN_PCI_OP_disable_msix`.
pub const XEN_PCI_OP_DISABLE_MSIX: u32 = 5;
/// `XEN_PCI_OP_aer_detected`.
pub const XEN_PCI_OP_AER_DETECTED: u32 = 6;
/// `XEN_PCI_OP_aer_resume`.
pub const XEN_PCI_OP_AER_RESUME: u32 = 7;
/// `XEN_PCI_OP_aer_mmio`.
pub const XEN_PCI_OP_AER_MMIO: u32 = 8;
/// `XEN_PCI_OP_aer_slotreset`.
pub const XEN_PCI_OP_AER_SLOTRESET: u32 = 9;
/// `XEN_PCI_OP_enable_multi_msi` (Xen's header only; Linux never sends it).
pub const XEN_PCI_OP_ENABLE_MULTI_MSI: u32 = 10;

/// `XEN_PCI_ERR_success`.
pub const XEN_PCI_ERR_SUCCESS: i32 = 0;
/// `XEN_PCI_ERR_dev_not_found`.
pub const XEN_PCI_ERR_DEV_NOT_FOUND: i32 = -1;
/// `XEN_PCI_ERR_invalid_offset`.
pub const XEN_PCI_ERR_INVALID_OFFSET: i32 = -2;
/// `XEN_PCI_ERR_access_denied`.
pub const XEN_PCI_ERR_ACCESS_DENIED: i32 = -3;
/// `XEN_PCI_ERR_not_implemented`.
pub const XEN_PCI_ERR_NOT_IMPLEMENTED: i32 = -4;
/// `XEN_PCI_ERR_op_failed`.
pub const XEN_PCI_ERR_OP_FAILED: i32 = -5;

/// `SH_INFO_MAX_VEC`: MSI-X entries one op carries.
pub const SH_INFO_MAX_VEC: usize = 128;

/// `struct xen_msix_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMsixEntry {
    /// OUT: the PIRQ (0 if the entry failed).
    pub vector: u16,
    /// IN: the MSI-X table entry.
    pub entry: u16,
}
const _: () = assert!(size_of::<XenMsixEntry>() == 4);

/// `struct xen_pci_op`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenPciOp {
    /// IN: `XEN_PCI_OP_*`.
    pub cmd: u32,
    /// OUT: `XEN_PCI_ERR_*` (or a negative errno).
    pub err: i32,
    /// IN: PCI segment as the guest sees it.
    pub domain: u32,
    /// IN: bus as the guest sees it.
    pub bus: u32,
    /// IN: device/function as the guest sees it.
    pub devfn: u32,
    /// IN: config-space offset.
    pub offset: i32,
    /// IN: access size (1, 2 or 4).
    pub size: i32,
    /// IN/OUT: value written, or result read.
    pub value: u32,
    /// IN: extra information (vector count for `enable_multi_msi`).
    pub info: u32,
    /// IN/OUT: MSI-X entries.
    pub msix_entries: [XenMsixEntry; SH_INFO_MAX_VEC],
}
const _: () = assert!(size_of::<XenPciOp>() == 548);
const _: () = assert!(offset_of!(XenPciOp, err) == 4);
const _: () = assert!(offset_of!(XenPciOp, domain) == 8);
const _: () = assert!(offset_of!(XenPciOp, bus) == 12);
const _: () = assert!(offset_of!(XenPciOp, devfn) == 16);
const _: () = assert!(offset_of!(XenPciOp, offset) == 20);
const _: () = assert!(offset_of!(XenPciOp, size) == 24);
const _: () = assert!(offset_of!(XenPciOp, value) == 28);
const _: () = assert!(offset_of!(XenPciOp, info) == 32);
const _: () = assert!(offset_of!(XenPciOp, msix_entries) == 36);

impl Default for XenPciOp {
    fn default() -> Self {
        Self {
            cmd: 0,
            err: 0,
            domain: 0,
            bus: 0,
            devfn: 0,
            offset: 0,
            size: 0,
            value: 0,
            info: 0,
            msix_entries: [XenMsixEntry::default(); SH_INFO_MAX_VEC],
        }
    }
}

/// `struct xen_pcie_aer_op`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenPcieAerOp {
    /// IN: `XEN_PCI_OP_aer_*`.
    pub cmd: u32,
    /// IN/OUT: `pci_ers_result` or the error state.
    pub err: i32,
    /// IN: segment as the guest sees it.
    pub domain: u32,
    /// IN: bus as the guest sees it.
    pub bus: u32,
    /// IN: device/function as the guest sees it.
    pub devfn: u32,
}
const _: () = assert!(size_of::<XenPcieAerOp>() == 20);

/// `struct xen_pci_sharedinfo`: the layout of the page the frontend grants.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenPciSharedinfo {
    /// `XEN_PCIF_*` / `XEN_PCIB_*` handshake bits. Written by both sides.
    pub flags: u32,
    /// The frontend's request.
    pub op: XenPciOp,
    /// The backend's AER request.
    pub aer_op: XenPcieAerOp,
}
const _: () = assert!(size_of::<XenPciSharedinfo>() == 572);
const _: () = assert!(offset_of!(XenPciSharedinfo, op) == 4);
const _: () = assert!(offset_of!(XenPciSharedinfo, aer_op) == 552);

/// Offset of `flags` in the shared page.
pub const FLAGS_OFFSET: usize = offset_of!(XenPciSharedinfo, flags);
/// Offset of `op` in the shared page.
pub const OP_OFFSET: usize = offset_of!(XenPciSharedinfo, op);
/// Offset of `aer_op` in the shared page.
pub const AER_OP_OFFSET: usize = offset_of!(XenPciSharedinfo, aer_op);

// SAFETY: all fields are integers (or arrays of them), every bit pattern is
// valid, and the size assertions above show there is no padding.
unsafe impl Plain for XenMsixEntry {}
// SAFETY: as above: integers only, 548 bytes with no padding.
unsafe impl Plain for XenPciOp {}
// SAFETY: as above: five 32-bit integers, no padding.
unsafe impl Plain for XenPcieAerOp {}
