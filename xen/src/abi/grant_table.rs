// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/grant_table.h`: grant entries, `GNTTABOP_*`, `GNTMAP_*`, `GNTST_*`.
//!
//! Mirrors the Xen 4.17.5 header. A backend only maps foreign grants, so only
//! the v1 entry and the map/unmap/query operations are mirrored in full.

use core::fmt;

use super::xen::DomId;

/// `grant_ref_t`.
pub type GrantRef = u32;

/// `grant_handle_t`: what a successful map returns, needed to unmap.
pub type GrantHandle = u32;

/// `GNTTABOP_map_grant_ref`.
pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
/// `GNTTABOP_unmap_grant_ref`.
pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
/// `GNTTABOP_setup_table`.
pub const GNTTABOP_SETUP_TABLE: u32 = 2;
/// `GNTTABOP_copy`.
pub const GNTTABOP_COPY: u32 = 5;
/// `GNTTABOP_query_size`.
pub const GNTTABOP_QUERY_SIZE: u32 = 6;
/// `GNTTABOP_set_version`.
pub const GNTTABOP_SET_VERSION: u32 = 8;
/// `GNTTABOP_get_version`.
pub const GNTTABOP_GET_VERSION: u32 = 10;

/// `GNTTAB_NR_RESERVED_ENTRIES`: refs below this are reserved.
pub const GNTTAB_NR_RESERVED_ENTRIES: GrantRef = 8;
/// `GNTTAB_RESERVED_CONSOLE`.
pub const GNTTAB_RESERVED_CONSOLE: GrantRef = 0;
/// `GNTTAB_RESERVED_XENSTORE`.
pub const GNTTAB_RESERVED_XENSTORE: GrantRef = 1;

/// `GTF_invalid`: the entry grants nothing.
pub const GTF_INVALID: u16 = 0;
/// `GTF_permit_access`: `domid` may map `frame`.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// `GTF_accept_transfer`.
pub const GTF_ACCEPT_TRANSFER: u16 = 2;
/// `GTF_transitive`.
pub const GTF_TRANSITIVE: u16 = 3;
/// `GTF_type_mask`.
pub const GTF_TYPE_MASK: u16 = 3;
/// `GTF_readonly`: only read-only mappings are allowed.
pub const GTF_READONLY: u16 = 1 << 2;
/// `GTF_reading`: the grantee has a mapping (set by Xen).
pub const GTF_READING: u16 = 1 << 3;
/// `GTF_writing`: the grantee has a writable mapping (set by Xen).
pub const GTF_WRITING: u16 = 1 << 4;

/// `struct grant_entry_v1`, one slot of a domain's own grant table.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantEntryV1 {
    /// `GTF_*` type and flags. Written by the granting guest and by Xen.
    pub flags: u16,
    /// The domain being granted access.
    pub domid: DomId,
    /// The granted guest frame.
    pub frame: u32,
}
const _: () = assert!(size_of::<GrantEntryV1>() == 8);
const _: () = assert!(core::mem::offset_of!(GrantEntryV1, domid) == 2);
const _: () = assert!(core::mem::offset_of!(GrantEntryV1, frame) == 4);

/// `GNTMAP_device_map`.
pub const GNTMAP_DEVICE_MAP: u32 = 1 << 0;
/// `GNTMAP_host_map`: map for CPU access; for HVM/PVH callers `host_addr` is a
/// guest-physical address.
pub const GNTMAP_HOST_MAP: u32 = 1 << 1;
/// `GNTMAP_readonly`.
pub const GNTMAP_READONLY: u32 = 1 << 2;
/// `GNTMAP_application_map`.
pub const GNTMAP_APPLICATION_MAP: u32 = 1 << 3;
/// `GNTMAP_contains_pte`.
pub const GNTMAP_CONTAINS_PTE: u32 = 1 << 4;

/// `struct gnttab_map_grant_ref`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabMapGrantRef {
    /// IN: where to map; for HVM/PVH the guest-physical address (page aligned).
    pub host_addr: u64,
    /// IN: `GNTMAP_*`; HVM/PVH accept only `host_map` and `readonly`.
    pub flags: u32,
    /// IN: the grant reference.
    pub ref_: GrantRef,
    /// IN: the granting domain.
    pub dom: DomId,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: the handle for unmapping.
    pub handle: GrantHandle,
    /// OUT: bus address for device mappings.
    pub dev_bus_addr: u64,
}
const _: () = assert!(size_of::<GnttabMapGrantRef>() == 32);
const _: () = assert!(core::mem::offset_of!(GnttabMapGrantRef, flags) == 8);
const _: () = assert!(core::mem::offset_of!(GnttabMapGrantRef, ref_) == 12);
const _: () = assert!(core::mem::offset_of!(GnttabMapGrantRef, dom) == 16);
const _: () = assert!(core::mem::offset_of!(GnttabMapGrantRef, status) == 18);
const _: () = assert!(core::mem::offset_of!(GnttabMapGrantRef, handle) == 20);
const _: () = assert!(core::mem::offset_of!(GnttabMapGrantRef, dev_bus_addr) == 24);

/// `struct gnttab_unmap_grant_ref`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabUnmapGrantRef {
    /// IN: the address the grant was mapped at.
    pub host_addr: u64,
    /// IN: device address, 0 to ignore.
    pub dev_bus_addr: u64,
    /// IN: the handle the map returned.
    pub handle: GrantHandle,
    /// OUT: `GNTST_*`.
    pub status: i16,
}
const _: () = assert!(size_of::<GnttabUnmapGrantRef>() == 24);
const _: () = assert!(core::mem::offset_of!(GnttabUnmapGrantRef, dev_bus_addr) == 8);
const _: () = assert!(core::mem::offset_of!(GnttabUnmapGrantRef, handle) == 16);
const _: () = assert!(core::mem::offset_of!(GnttabUnmapGrantRef, status) == 20);

/// `struct gnttab_query_size`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabQuerySize {
    /// IN: the domain (`DOMID_SELF`).
    pub dom: DomId,
    /// OUT: current number of grant frames.
    pub nr_frames: u32,
    /// OUT: maximum number of grant frames.
    pub max_nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
}
const _: () = assert!(size_of::<GnttabQuerySize>() == 16);
const _: () = assert!(core::mem::offset_of!(GnttabQuerySize, nr_frames) == 4);
const _: () = assert!(core::mem::offset_of!(GnttabQuerySize, max_nr_frames) == 8);
const _: () = assert!(core::mem::offset_of!(GnttabQuerySize, status) == 12);

/// `GNTST_okay`.
pub const GNTST_OKAY: i16 = 0;

/// A failed `GNTST_*` status of one grant operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantStatus {
    /// -1 `GNTST_general_error`.
    GeneralError,
    /// -2 `GNTST_bad_domain`: unrecognised domain id.
    BadDomain,
    /// -3 `GNTST_bad_gntref`: unrecognised or inappropriate grant reference.
    BadGntref,
    /// -4 `GNTST_bad_handle`: unrecognised or inappropriate handle.
    BadHandle,
    /// -5 `GNTST_bad_virt_addr`: inappropriate address to map.
    BadVirtAddr,
    /// -6 `GNTST_bad_dev_addr`: inappropriate device address to unmap.
    BadDevAddr,
    /// -7 `GNTST_no_device_space`: out of IOMMU space.
    NoDeviceSpace,
    /// -8 `GNTST_permission_denied`.
    PermissionDenied,
    /// -9 `GNTST_bad_page`: the page was invalid for the operation.
    BadPage,
    /// -10 `GNTST_bad_copy_arg`: copy crosses a page boundary.
    BadCopyArg,
    /// -11 `GNTST_address_too_big`.
    AddressTooBig,
    /// -12 `GNTST_eagain`: not done; try again.
    Eagain,
    /// -13 `GNTST_no_space`: out of handles.
    NoSpace,
    /// Any other negative status.
    Other(i16),
}

/// `GNTST_*` in order of their (negated) numbers, from -1.
const STATUSES: [GrantStatus; 13] = [
    GrantStatus::GeneralError,
    GrantStatus::BadDomain,
    GrantStatus::BadGntref,
    GrantStatus::BadHandle,
    GrantStatus::BadVirtAddr,
    GrantStatus::BadDevAddr,
    GrantStatus::NoDeviceSpace,
    GrantStatus::PermissionDenied,
    GrantStatus::BadPage,
    GrantStatus::BadCopyArg,
    GrantStatus::AddressTooBig,
    GrantStatus::Eagain,
    GrantStatus::NoSpace,
];

/// `GNTTABOP_error_msgs`, in the same order as [`STATUSES`].
const MESSAGES: [&str; 13] = [
    "undefined error",
    "unrecognised domain id",
    "invalid grant reference",
    "invalid mapping handle",
    "invalid virtual address",
    "invalid device address",
    "no spare translation slot in the I/O MMU",
    "permission denied",
    "bad page",
    "copy arguments cross page boundary",
    "page address size too large",
    "operation not done; try again",
    "out of space",
];

impl GrantStatus {
    /// `Ok(())` for `GNTST_okay`, else the failure.
    pub fn check(status: i16) -> Result<(), GrantStatus> {
        if status == GNTST_OKAY {
            return Ok(());
        }
        // GNTST_* are -1, -2, ...: entry 0, 1, ... of STATUSES.
        let index = i32::from(status)
            .checked_neg()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| usize::try_from(i).ok());
        Err(index
            .and_then(|i| STATUSES.get(i).copied())
            .unwrap_or(Self::Other(status)))
    }

    /// The raw negative `GNTST_*` value.
    pub fn raw(self) -> i16 {
        match self {
            Self::Other(raw) => raw,
            known => STATUSES
                .iter()
                .position(|s| *s == known)
                .and_then(|i| i16::try_from(i).ok())
                .and_then(|i| i.checked_neg()?.checked_sub(1))
                .unwrap_or(i16::MIN),
        }
    }
}

impl fmt::Display for GrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = STATUSES
            .iter()
            .position(|s| s == self)
            .and_then(|i| MESSAGES.get(i))
            .copied()
            .unwrap_or("unknown grant status");
        write!(f, "GNTST {}: {text}", self.raw())
    }
}

impl core::error::Error for GrantStatus {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_match_header() {
        assert_eq!(GrantStatus::check(0), Ok(()));
        assert_eq!(GrantStatus::check(-1), Err(GrantStatus::GeneralError));
        assert_eq!(GrantStatus::check(-3), Err(GrantStatus::BadGntref));
        assert_eq!(GrantStatus::check(-4), Err(GrantStatus::BadHandle));
        assert_eq!(GrantStatus::check(-8), Err(GrantStatus::PermissionDenied));
        assert_eq!(GrantStatus::check(-12), Err(GrantStatus::Eagain));
        assert_eq!(GrantStatus::check(-13), Err(GrantStatus::NoSpace));
        assert_eq!(GrantStatus::check(-14), Err(GrantStatus::Other(-14)));
        assert_eq!(GrantStatus::check(5), Err(GrantStatus::Other(5)));
        assert_eq!(GrantStatus::BadDomain.raw(), -2);
        assert_eq!(GrantStatus::NoSpace.raw(), -13);
        for raw in -13..0 {
            assert_eq!(GrantStatus::check(raw).unwrap_err().raw(), raw);
        }
    }

    #[test]
    fn display_uses_xen_messages() {
        assert_eq!(
            GrantStatus::BadGntref.to_string(),
            "GNTST -3: invalid grant reference"
        );
    }
}
