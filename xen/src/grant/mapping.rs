// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`GrantMapping`]: one foreign grant mapped into the window, unmapped on drop.

use core::fmt;
use core::ptr::NonNull;

use super::window::{Access, Slot, WindowMemory};
use crate::abi::grant_table::{GNTMAP_HOST_MAP, GNTMAP_READONLY, GrantHandle, GrantRef};
use crate::abi::xen::DomId;
use crate::hypercall::Hypercall;
use crate::hypercall::grant_table::{self, GrantError};
use crate::shared_page::{PageFrame, SharedPage};

/// Why a grant could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Every frame of the window holds a mapping.
    WindowFull,
    /// Xen refused the map.
    Grant(GrantError),
    /// The grant was mapped but the window memory cannot reach its frame;
    /// it has been unmapped again.
    Unreachable {
        /// The frame in question.
        gfn: u64,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WindowFull => f.write_str("no free frame in the grant window"),
            Self::Grant(e) => write!(f, "mapping the grant failed: {e}"),
            Self::Unreachable { gfn } => write!(f, "grant window frame {gfn:#x} is not reachable"),
        }
    }
}

impl core::error::Error for MapError {}

impl From<GrantError> for MapError {
    fn from(e: GrantError) -> Self {
        Self::Grant(e)
    }
}

/// A page of another domain mapped into our grant window. Access goes
/// through [`GrantMapping::page`]; dropping it unmaps the grant, and only a
/// successful unmap frees the window frame.
pub struct GrantMapping<'w, H: Hypercall + ?Sized, M: WindowMemory> {
    hv: &'w H,
    /// `None` once unmapped.
    slot: Option<Slot<'w, M>>,
    frame: NonNull<PageFrame>,
    handle: GrantHandle,
    dom: DomId,
    gref: GrantRef,
    access: Access,
}

impl<'w, H: Hypercall + ?Sized, M: WindowMemory> GrantMapping<'w, H, M> {
    /// Maps `gref` of `dom` at the frame `slot` owns.
    pub(super) fn map(
        hv: &'w H,
        slot: Slot<'w, M>,
        dom: DomId,
        gref: GrantRef,
        access: Access,
    ) -> Result<Self, MapError> {
        // HVM/PVH callers may pass only these two flags (hvm/grant_table.c).
        let flags = match access {
            Access::ReadWrite => GNTMAP_HOST_MAP,
            Access::ReadOnly => GNTMAP_HOST_MAP | GNTMAP_READONLY,
        };
        // On failure nothing was mapped: dropping `slot` frees the frame.
        let handle = grant_table::map_grant_ref(hv, slot.address(), flags, gref, dom)?;
        let Some(frame) = slot.window().memory().frame(slot.gfn()) else {
            let gfn = slot.gfn();
            // An unmap failure is logged and retires the frame.
            let _ = release(hv, slot, handle);
            return Err(MapError::Unreachable { gfn });
        };
        Ok(Self {
            hv,
            slot: Some(slot),
            frame: frame.cast(),
            handle,
            dom,
            gref,
            access,
        })
    }

    /// The mapped page. Writes are refused on read-only mappings.
    pub fn page(&self) -> SharedPage<'_> {
        // SAFETY: while `self` exists the grant stays mapped at this frame,
        // and `WindowMemory` guarantees the pointer is valid and aligned for
        // that long; the page is only ever accessed atomically. The returned
        // view borrows `self`, so it cannot outlive the mapping.
        let frame = unsafe { self.frame.as_ref() };
        match self.access {
            Access::ReadWrite => SharedPage::new(frame),
            Access::ReadOnly => SharedPage::read_only(frame),
        }
    }

    /// The granting domain.
    pub fn domain(&self) -> DomId {
        self.dom
    }

    /// The grant reference.
    pub fn grant_ref(&self) -> GrantRef {
        self.gref
    }

    /// The guest frame of our window the grant is mapped at.
    pub fn gfn(&self) -> Option<u64> {
        self.slot.as_ref().map(Slot::gfn)
    }

    /// Unmaps now and reports the result. On failure the window frame is
    /// kept out of use for good (it may still hold the mapping).
    pub fn unmap(mut self) -> Result<(), GrantError> {
        match self.slot.take() {
            Some(slot) => release(self.hv, slot, self.handle),
            None => Ok(()),
        }
    }
}

/// Unmaps the grant at `slot` made with `handle`; frees the frame only if
/// the unmap succeeded.
fn release<H: Hypercall + ?Sized, M: WindowMemory>(
    hv: &H,
    slot: Slot<'_, M>,
    handle: GrantHandle,
) -> Result<(), GrantError> {
    match grant_table::unmap_grant_ref(hv, slot.address(), handle) {
        Ok(()) => Ok(()),
        Err(e) => {
            log::error!(
                "unmapping grant at frame {:#x}: {e}; frame retired",
                slot.gfn()
            );
            slot.lose();
            Err(e)
        }
    }
}

impl<H: Hypercall + ?Sized, M: WindowMemory> Drop for GrantMapping<'_, H, M> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            // The error is logged and the frame retired by `release`.
            let _ = release(self.hv, slot, self.handle);
        }
    }
}

impl<H: Hypercall + ?Sized, M: WindowMemory> fmt::Debug for GrantMapping<'_, H, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantMapping")
            .field("dom", &self.dom)
            .field("gref", &self.gref)
            .field("gfn", &self.gfn())
            .field("handle", &self.handle)
            .field("access", &self.access)
            .finish()
    }
}
