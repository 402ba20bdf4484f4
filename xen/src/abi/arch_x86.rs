// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/arch-x86/xen.h` and `arch-x86/xen-x86_64.h`: x86-64 parts.
//!
//! Mirrors the Xen 4.17.5 headers: the architecture parts of `vcpu_info` and
//! `shared_info`, and the x86 sizes of `xen_ulong_t` and `xen_pfn_t`.

use core::sync::atomic::AtomicU64;

/// `xen_ulong_t` on x86-64.
pub type XenUlong = u64;

/// `xen_pfn_t` on x86-64: a guest frame number.
pub type XenPfn = u64;

/// `XEN_LEGACY_MAX_VCPUS`: `vcpu_info` slots inside `shared_info`.
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

/// `struct arch_vcpu_info` (x86-64). Written by Xen at any time.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ArchVcpuInfo {
    /// Faulting address of the last page fault (PV only). Written by Xen.
    pub cr2: AtomicU64,
    pad: AtomicU64,
}
const _: () = assert!(size_of::<ArchVcpuInfo>() == 16);

/// `struct arch_shared_info` (x86-64). PV p2m information; PVH guests do not
/// use it, but Xen and the toolstack may read and write it.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ArchSharedInfo {
    /// Number of valid p2m entries.
    pub max_pfn: AtomicU64,
    /// Frame of the p2m frame list list.
    pub pfn_to_mfn_frame_list_list: AtomicU64,
    /// NMI reason bits. Written by Xen.
    pub nmi_reason: AtomicU64,
    /// Root of the address space of `p2m_vaddr`.
    pub p2m_cr3: AtomicU64,
    /// Virtual address of the linear p2m list.
    pub p2m_vaddr: AtomicU64,
    /// Generation count of the p2m mapping.
    pub p2m_generation: AtomicU64,
}
const _: () = assert!(size_of::<ArchSharedInfo>() == 48);
const _: () = assert!(core::mem::offset_of!(ArchSharedInfo, nmi_reason) == 16);
const _: () = assert!(core::mem::offset_of!(ArchSharedInfo, p2m_generation) == 40);
