// SPDX-License-Identifier: MIT OR Apache-2.0
//! Mapping other domains' grants into a reserved guest-physical window.
//!
//! An HVM/PVH domain maps a grant at a guest frame of its choosing, and Xen
//! crashes the domain if that frame already holds a grant, foreign or MMIO
//! mapping. So mappings only go into a [`GrantWindow`]: frames the kernel
//! reserved for this (not RAM, not MMIO), handed out one at a time by an
//! allocator that owns each frame until its grant is unmapped. A frame
//! whose unmap failed is never handed out again. [`GrantMapping`] unmaps
//! itself when dropped and on every error path after the map.

mod mapping;
mod window;

pub use mapping::{GrantMapping, MapError};
pub use window::{Access, GrantWindow, IdentityMapped, WindowError, WindowMemory};
