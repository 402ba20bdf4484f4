// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen_version`: the running Xen's version and feature bits.
//!
//! Wraps `__HYPERVISOR_xen_version` (`version.h`, `features.h`).

use super::{Command, Hypercall, command, command_without_argument};
use crate::Errno;
use crate::abi::version::{
    XENVER_EXTRAVERSION, XENVER_GET_FEATURES, XENVER_VERSION, XenExtraversion, XenFeatureInfo,
};
use crate::abi::xen::HYPERVISOR_XEN_VERSION;

// SAFETY: xen_version(XENVER_extraversion, xen_extraversion_t) writes the 16
// bytes of the array and nothing else (version.h).
unsafe impl Command<XENVER_EXTRAVERSION> for XenExtraversion {
    const HYPERCALL: u32 = HYPERVISOR_XEN_VERSION;
}

// SAFETY: xen_version(XENVER_get_features, struct xen_feature_info *) reads
// `submap_idx` and writes `submap` (version.h).
unsafe impl Command<XENVER_GET_FEATURES> for XenFeatureInfo {
    const HYPERCALL: u32 = HYPERVISOR_XEN_VERSION;
}

/// `XENVER_version`: `(major, minor)`.
pub fn version<H: Hypercall + ?Sized>(hv: &H) -> Result<(u16, u16), Errno> {
    let raw = command_without_argument(hv, HYPERVISOR_XEN_VERSION, XENVER_VERSION)?;
    Ok(((raw >> 16) as u16, (raw & 0xFFFF) as u16))
}

/// `XENVER_extraversion`: the version suffix (such as `".5"`), NUL-padded.
pub fn extraversion<H: Hypercall + ?Sized>(hv: &H) -> Result<XenExtraversion, Errno> {
    let mut extra: XenExtraversion = [0; 16];
    command::<XENVER_EXTRAVERSION, _, _>(hv, &mut extra)?;
    Ok(extra)
}

/// `XENVER_get_features`: the `XENFEAT_*` bits of 32-bit submap `index`.
pub fn features<H: Hypercall + ?Sized>(hv: &H, index: u32) -> Result<u32, Errno> {
    let mut info = XenFeatureInfo {
        submap_idx: index,
        submap: 0,
    };
    command::<XENVER_GET_FEATURES, _, _>(hv, &mut info)?;
    Ok(info.submap)
}

/// Whether feature bit `feature` (`XENFEAT_*`) is set.
pub fn has_feature<H: Hypercall + ?Sized>(hv: &H, feature: u32) -> Result<bool, Errno> {
    let submap = features(hv, feature / 32)?;
    Ok(submap & (1 << (feature % 32)) != 0)
}
