// SPDX-License-Identifier: MIT OR Apache-2.0
//! `memory_op`: placing Xen pages (`shared_info`, grant frames) in our physmap.
//!
//! Wraps `__HYPERVISOR_memory_op` (`memory.h`).

use super::{Command, Hypercall, command};
use crate::Errno;
use crate::abi::memory::{XENMAPSPACE_SHARED_INFO, XENMEM_ADD_TO_PHYSMAP, XenAddToPhysmap};
use crate::abi::xen::{DOMID_SELF, HYPERVISOR_MEMORY_OP};

// SAFETY: memory_op(XENMEM_add_to_physmap, struct xen_add_to_physmap *) reads
// exactly one XenAddToPhysmap, which holds no pointers (memory.h).
unsafe impl Command<XENMEM_ADD_TO_PHYSMAP> for XenAddToPhysmap {
    const HYPERCALL: u32 = HYPERVISOR_MEMORY_OP;
}

/// `XENMEM_add_to_physmap`: make page `idx` of `space` (`XENMAPSPACE_*`)
/// appear at our guest frame `gpfn`. A RAM page previously at `gpfn` is
/// freed by Xen.
pub fn add_to_physmap<H: Hypercall + ?Sized>(
    hv: &H,
    space: u32,
    idx: u64,
    gpfn: u64,
) -> Result<(), Errno> {
    let mut arg = XenAddToPhysmap {
        domid: DOMID_SELF,
        size: 0,
        space,
        idx,
        gpfn,
    };
    command::<XENMEM_ADD_TO_PHYSMAP, _, _>(hv, &mut arg).map(drop)
}

/// Maps our `shared_info` at guest frame `gpfn` (`XENMAPSPACE_shared_info`,
/// index 0). Then use [`crate::abi::xen::SharedInfo::from_page`].
pub fn map_shared_info<H: Hypercall + ?Sized>(hv: &H, gpfn: u64) -> Result<(), Errno> {
    add_to_physmap(hv, XENMAPSPACE_SHARED_INFO, 0, gpfn)
}
