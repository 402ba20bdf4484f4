// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/xen.h`: domain ids, hypercall numbers, VIRQs, `shared_info`.
//!
//! Mirrors the Xen 4.17.5 header. `vcpu_info` and `shared_info` live in a page
//! Xen writes at any time, so every byte of them is an atomic: a shared
//! reference to these types is sound while Xen changes them underneath.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicI8, AtomicU8, AtomicU32, AtomicU64};

use super::arch_x86::{ArchSharedInfo, ArchVcpuInfo, XEN_LEGACY_MAX_VCPUS};

/// `domid_t`: a domain id.
pub type DomId = u16;

/// `DOMID_FIRST_RESERVED`: ids from here up are not ordinary domains.
pub const DOMID_FIRST_RESERVED: DomId = 0x7FF0;
/// `DOMID_SELF`: the calling domain.
pub const DOMID_SELF: DomId = 0x7FF0;
/// `DOMID_IO`: owner of I/O memory; devices in quarantine are assigned to it.
pub const DOMID_IO: DomId = 0x7FF1;
/// `DOMID_XEN`: Xen itself.
pub const DOMID_XEN: DomId = 0x7FF2;
/// `DOMID_COW`: owner of sharable pages.
pub const DOMID_COW: DomId = 0x7FF3;
/// `DOMID_INVALID`: no domain.
pub const DOMID_INVALID: DomId = 0x7FF4;
/// `DOMID_IDLE`: the idle domain.
pub const DOMID_IDLE: DomId = 0x7FFF;
/// `DOMID_MASK`: mask of valid domain id bits.
pub const DOMID_MASK: DomId = 0x7FFF;

/// `__HYPERVISOR_memory_op`.
pub const HYPERVISOR_MEMORY_OP: u32 = 12;
/// `__HYPERVISOR_set_timer_op`.
pub const HYPERVISOR_SET_TIMER_OP: u32 = 15;
/// `__HYPERVISOR_xen_version`.
pub const HYPERVISOR_XEN_VERSION: u32 = 17;
/// `__HYPERVISOR_console_io`.
pub const HYPERVISOR_CONSOLE_IO: u32 = 18;
/// `__HYPERVISOR_grant_table_op`.
pub const HYPERVISOR_GRANT_TABLE_OP: u32 = 20;
/// `__HYPERVISOR_vcpu_op`.
pub const HYPERVISOR_VCPU_OP: u32 = 24;
/// `__HYPERVISOR_sched_op`.
pub const HYPERVISOR_SCHED_OP: u32 = 29;
/// `__HYPERVISOR_event_channel_op`.
pub const HYPERVISOR_EVENT_CHANNEL_OP: u32 = 32;
/// `__HYPERVISOR_physdev_op`.
pub const HYPERVISOR_PHYSDEV_OP: u32 = 33;
/// `__HYPERVISOR_hvm_op`.
pub const HYPERVISOR_HVM_OP: u32 = 34;
/// `__HYPERVISOR_sysctl`.
pub const HYPERVISOR_SYSCTL: u32 = 35;
/// `__HYPERVISOR_domctl`.
pub const HYPERVISOR_DOMCTL: u32 = 36;

/// `CONSOLEIO_write`: write a buffer to Xen's console.
pub const CONSOLEIO_WRITE: u32 = 0;
/// `CONSOLEIO_read`: read from Xen's console (console domain only).
pub const CONSOLEIO_READ: u32 = 1;

/// `VIRQ_TIMER` (per vCPU): timebase update or requested timeout.
pub const VIRQ_TIMER: u32 = 0;
/// `VIRQ_DEBUG` (per vCPU): request to dump debug info.
pub const VIRQ_DEBUG: u32 = 1;
/// `VIRQ_CONSOLE` (global): bytes received on the emergency console.
pub const VIRQ_CONSOLE: u32 = 2;
/// `VIRQ_DOM_EXC` (global): exceptional event for some domain (death,
/// shutdown). Only the domain named by `XEN_DOMCTL_set_virq_handler` gets it.
pub const VIRQ_DOM_EXC: u32 = 3;
/// `VIRQ_TBUF` (global): trace buffer has records.
pub const VIRQ_TBUF: u32 = 4;
/// `VIRQ_DEBUGGER` (global): a domain paused for debugging.
pub const VIRQ_DEBUGGER: u32 = 6;
/// `VIRQ_XENOPROF` (per vCPU): new profiling sample.
pub const VIRQ_XENOPROF: u32 = 7;
/// `VIRQ_CON_RING` (global): bytes received on the console ring.
pub const VIRQ_CON_RING: u32 = 8;
/// `VIRQ_PCPU_STATE` (global): physical CPU state changed.
pub const VIRQ_PCPU_STATE: u32 = 9;
/// `VIRQ_MEM_EVENT` (global): a memory event occurred.
pub const VIRQ_MEM_EVENT: u32 = 10;
/// `VIRQ_ARGO` (global): Argo message notification.
pub const VIRQ_ARGO: u32 = 11;
/// `VIRQ_ENOMEM` (global): Xen is low on heap memory.
pub const VIRQ_ENOMEM: u32 = 12;
/// `VIRQ_XENPMU` (per vCPU): PMC interrupt.
pub const VIRQ_XENPMU: u32 = 13;
/// `VIRQ_ARCH_0`: first architecture-specific VIRQ (they run to 23).
pub const VIRQ_ARCH_0: u32 = 16;
/// `NR_VIRQS`.
pub const NR_VIRQS: u32 = 24;

/// `struct vcpu_time_info`: the vCPU's clock, updated by Xen at any time.
///
/// Every field may change under the reader; `version` is odd while Xen is
/// updating, so read it, read the rest, and retry if it changed (seqlock).
#[repr(C)]
#[derive(Debug, Default)]
pub struct VcpuTimeInfo {
    /// Update counter, odd during an update. Written by Xen.
    pub version: AtomicU32,
    pad0: AtomicU32,
    /// TSC at the last update. Written by Xen.
    pub tsc_timestamp: AtomicU64,
    /// Nanoseconds since boot at the last update. Written by Xen.
    pub system_time: AtomicU64,
    /// TSC to nanoseconds multiplier (32.32 fixed point). Written by Xen.
    pub tsc_to_system_mul: AtomicU32,
    /// Shift applied to the TSC delta before multiplying. Written by Xen.
    pub tsc_shift: AtomicI8,
    /// `XEN_PVCLOCK_*` flags. Written by Xen.
    pub flags: AtomicU8,
    pad1: [AtomicU8; 2],
}
const _: () = assert!(size_of::<VcpuTimeInfo>() == 32);
const _: () = assert!(core::mem::offset_of!(VcpuTimeInfo, tsc_timestamp) == 8);
const _: () = assert!(core::mem::offset_of!(VcpuTimeInfo, system_time) == 16);
const _: () = assert!(core::mem::offset_of!(VcpuTimeInfo, tsc_to_system_mul) == 24);
const _: () = assert!(core::mem::offset_of!(VcpuTimeInfo, tsc_shift) == 28);
const _: () = assert!(core::mem::offset_of!(VcpuTimeInfo, flags) == 29);

/// `struct vcpu_info` (x86-64: 64 bytes), one per vCPU inside `shared_info`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VcpuInfo {
    /// Set non-zero by Xen when an event is pending for this vCPU; the guest
    /// clears it before scanning. Written by both sides.
    pub evtchn_upcall_pending: AtomicU8,
    /// PV upcall mask; ignored by Xen for HVM and PVH guests.
    pub evtchn_upcall_mask: AtomicU8,
    pad0: [AtomicU8; 6],
    /// Selector: bit *i* set means word *i* of `evtchn_pending` may hold
    /// work. Xen sets bits at any time; the guest takes them with an exchange.
    pub evtchn_pending_sel: AtomicU64,
    /// Architecture part (`cr2`). Written by Xen.
    pub arch: ArchVcpuInfo,
    /// The vCPU's clock. Written by Xen.
    pub time: VcpuTimeInfo,
}
const _: () = assert!(size_of::<VcpuInfo>() == 64);
const _: () = assert!(core::mem::offset_of!(VcpuInfo, evtchn_upcall_mask) == 1);
const _: () = assert!(core::mem::offset_of!(VcpuInfo, evtchn_pending_sel) == 8);
const _: () = assert!(core::mem::offset_of!(VcpuInfo, arch) == 16);
const _: () = assert!(core::mem::offset_of!(VcpuInfo, time) == 32);

/// Number of 64-bit words in `evtchn_pending` / `evtchn_mask` on x86-64
/// (`sizeof(xen_ulong_t) * 8`).
pub const EVTCHN_WORDS: usize = 64;

/// `struct shared_info` (x86-64: 3136 bytes), mapped with
/// `XENMEM_add_to_physmap(XENMAPSPACE_shared_info)`.
#[repr(C)]
#[derive(Debug)]
pub struct SharedInfo {
    /// Per-vCPU state for the first 32 vCPUs.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// 2-level event channels: bit *p* set means port *p* is pending. Xen
    /// sets bits at any time; the guest clears them (atomically).
    pub evtchn_pending: [AtomicU64; EVTCHN_WORDS],
    /// 2-level event channels: bit *p* set means port *p* is masked. Written
    /// by the guest; read by Xen.
    pub evtchn_mask: [AtomicU64; EVTCHN_WORDS],
    /// Wallclock update counter, odd during an update. Written by Xen.
    pub wc_version: AtomicU32,
    /// Wallclock seconds (low 32 bits) at system time 0. Written by Xen.
    pub wc_sec: AtomicU32,
    /// Wallclock nanoseconds at system time 0. Written by Xen.
    pub wc_nsec: AtomicU32,
    /// Wallclock seconds, high 32 bits. Written by Xen.
    pub wc_sec_hi: AtomicU32,
    /// Architecture part (PV p2m information; unused by PVH).
    pub arch: ArchSharedInfo,
}
const _: () = assert!(size_of::<SharedInfo>() == 3136);
const _: () = assert!(core::mem::offset_of!(SharedInfo, evtchn_pending) == 2048);
const _: () = assert!(core::mem::offset_of!(SharedInfo, evtchn_mask) == 2560);
const _: () = assert!(core::mem::offset_of!(SharedInfo, wc_version) == 3072);
const _: () = assert!(core::mem::offset_of!(SharedInfo, wc_sec_hi) == 3084);
const _: () = assert!(core::mem::offset_of!(SharedInfo, arch) == 3088);
const _: () = assert!(size_of::<SharedInfo>() <= 4096);

impl Default for SharedInfo {
    /// All zero, as Xen hands out a fresh page.
    fn default() -> Self {
        Self {
            vcpu_info: core::array::from_fn(|_| VcpuInfo::default()),
            evtchn_pending: core::array::from_fn(|_| AtomicU64::new(0)),
            evtchn_mask: core::array::from_fn(|_| AtomicU64::new(0)),
            wc_version: AtomicU32::new(0),
            wc_sec: AtomicU32::new(0),
            wc_nsec: AtomicU32::new(0),
            wc_sec_hi: AtomicU32::new(0),
            arch: ArchSharedInfo::default(),
        }
    }
}

impl SharedInfo {
    /// The `shared_info` Xen placed in the page at `page`.
    ///
    /// # Safety
    ///
    /// `page` must point to the 4 KiB-aligned page the caller handed to
    /// `XENMEM_add_to_physmap(XENMAPSPACE_shared_info)`, mapped readable and
    /// writable for `'a`, and nothing may access that page other than through
    /// the returned reference (and Xen).
    pub unsafe fn from_page<'a>(page: NonNull<u8>) -> &'a SharedInfo {
        // SAFETY: the caller guarantees the page is mapped for 'a and holds
        // the shared_info; every field is an atomic, so Xen's concurrent
        // writes do not violate the shared reference, and 4096-byte alignment
        // covers the 8-byte alignment of the atomics.
        unsafe { page.cast::<SharedInfo>().as_ref() }
    }
}
