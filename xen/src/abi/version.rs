// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/version.h`: `XENVER_*`.
//!
//! Mirrors the Xen 4.17.5 header.

/// `XENVER_version`: returns `major << 16 | minor`; no argument.
pub const XENVER_VERSION: u32 = 0;
/// `XENVER_extraversion`: argument `xen_extraversion_t`.
pub const XENVER_EXTRAVERSION: u32 = 1;
/// `XENVER_compile_info`.
pub const XENVER_COMPILE_INFO: u32 = 2;
/// `XENVER_capabilities`.
pub const XENVER_CAPABILITIES: u32 = 3;
/// `XENVER_changeset`.
pub const XENVER_CHANGESET: u32 = 4;
/// `XENVER_platform_parameters`.
pub const XENVER_PLATFORM_PARAMETERS: u32 = 5;
/// `XENVER_get_features`: argument `xen_feature_info`.
pub const XENVER_GET_FEATURES: u32 = 6;
/// `XENVER_pagesize`.
pub const XENVER_PAGESIZE: u32 = 7;
/// `XENVER_guest_handle`.
pub const XENVER_GUEST_HANDLE: u32 = 8;
/// `XENVER_commandline`.
pub const XENVER_COMMANDLINE: u32 = 9;
/// `XENVER_build_id`.
pub const XENVER_BUILD_ID: u32 = 10;

/// `XEN_EXTRAVERSION_LEN`.
pub const XEN_EXTRAVERSION_LEN: usize = 16;

/// `xen_extraversion_t`: NUL-padded version suffix such as `".5"`.
pub type XenExtraversion = [u8; XEN_EXTRAVERSION_LEN];

/// `struct xen_feature_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenFeatureInfo {
    /// IN: which 32-bit submap.
    pub submap_idx: u32,
    /// OUT: the submap (`XENFEAT_*` bits).
    pub submap: u32,
}
const _: () = assert!(size_of::<XenFeatureInfo>() == 8);
const _: () = assert!(core::mem::offset_of!(XenFeatureInfo, submap) == 4);
