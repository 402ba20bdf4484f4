// SPDX-License-Identifier: MIT OR Apache-2.0
//! `grant_table_op`: mapping and unmapping other domains' grants.
//!
//! Wraps `__HYPERVISOR_grant_table_op` (`grant_table.h`), one operation per
//! call. The hypercall itself can fail (an [`Errno`]) or succeed with a
//! failed per-operation `GNTST_*` status; [`GrantError`] keeps both apart.
//! [`crate::grant::GrantWindow`] builds safe mappings on top.

use core::fmt;

use super::{Command, Hypercall, command};
use crate::Errno;
use crate::abi::grant_table::{
    GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE, GNTTABOP_UNMAP_GRANT_REF, GnttabMapGrantRef,
    GnttabQuerySize, GnttabUnmapGrantRef, GrantHandle, GrantRef, GrantStatus,
};
use crate::abi::xen::{DOMID_SELF, DomId, HYPERVISOR_GRANT_TABLE_OP};

// SAFETY: grant_table_op(GNTTABOP_map_grant_ref, uop, 1) reads and writes one
// struct gnttab_map_grant_ref, which holds no pointers (grant_table.h).
unsafe impl Command<GNTTABOP_MAP_GRANT_REF> for GnttabMapGrantRef {
    const HYPERCALL: u32 = HYPERVISOR_GRANT_TABLE_OP;
    const COUNTED: bool = true;
}
// SAFETY: grant_table_op(GNTTABOP_unmap_grant_ref, uop, 1) reads and writes
// one struct gnttab_unmap_grant_ref (grant_table.h).
unsafe impl Command<GNTTABOP_UNMAP_GRANT_REF> for GnttabUnmapGrantRef {
    const HYPERCALL: u32 = HYPERVISOR_GRANT_TABLE_OP;
    const COUNTED: bool = true;
}
// SAFETY: grant_table_op(GNTTABOP_query_size, uop, 1) reads and writes one
// struct gnttab_query_size (grant_table.h).
unsafe impl Command<GNTTABOP_QUERY_SIZE> for GnttabQuerySize {
    const HYPERCALL: u32 = HYPERVISOR_GRANT_TABLE_OP;
    const COUNTED: bool = true;
}

/// Why a grant operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantError {
    /// The hypercall failed as a whole.
    Hypercall(Errno),
    /// The hypercall ran; the operation's `status` is this failure.
    Status(GrantStatus),
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hypercall(e) => write!(f, "grant_table_op failed: {e}"),
            Self::Status(s) => write!(f, "grant operation failed: {s}"),
        }
    }
}

impl core::error::Error for GrantError {}

impl From<Errno> for GrantError {
    fn from(e: Errno) -> Self {
        Self::Hypercall(e)
    }
}

impl From<GrantStatus> for GrantError {
    fn from(s: GrantStatus) -> Self {
        Self::Status(s)
    }
}

/// `GNTTABOP_map_grant_ref` of grant `gref` from `dom` at guest-physical
/// address `host_addr` with `GNTMAP_*` `flags`; returns the handle.
pub fn map_grant_ref<H: Hypercall + ?Sized>(
    hv: &H,
    host_addr: u64,
    flags: u32,
    gref: GrantRef,
    dom: DomId,
) -> Result<GrantHandle, GrantError> {
    let mut op = GnttabMapGrantRef {
        host_addr,
        flags,
        ref_: gref,
        dom,
        ..Default::default()
    };
    command::<GNTTABOP_MAP_GRANT_REF, _, _>(hv, &mut op)?;
    GrantStatus::check(op.status)?;
    Ok(op.handle)
}

/// `GNTTABOP_unmap_grant_ref` of the mapping at `host_addr` made with `handle`.
pub fn unmap_grant_ref<H: Hypercall + ?Sized>(
    hv: &H,
    host_addr: u64,
    handle: GrantHandle,
) -> Result<(), GrantError> {
    let mut op = GnttabUnmapGrantRef {
        host_addr,
        dev_bus_addr: 0,
        handle,
        status: 0,
    };
    command::<GNTTABOP_UNMAP_GRANT_REF, _, _>(hv, &mut op)?;
    GrantStatus::check(op.status)?;
    Ok(())
}

/// `GNTTABOP_query_size` of our own table: `(frames, max_frames)`.
pub fn query_size<H: Hypercall + ?Sized>(hv: &H) -> Result<(u32, u32), GrantError> {
    let mut op = GnttabQuerySize {
        dom: DOMID_SELF,
        ..Default::default()
    };
    command::<GNTTABOP_QUERY_SIZE, _, _>(hv, &mut op)?;
    GrantStatus::check(op.status)?;
    Ok((op.nr_frames, op.max_nr_frames))
}
