// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`GrantMapping`]: one foreign grant mapped into the window, unmapped on drop.
//!
//! Only `GNTMAP_host_map` (optionally `| GNTMAP_readonly`) is used, the
//! flags Xen accepts from an HVM/PVH caller.

use core::fmt;
use core::ptr::NonNull;

use super::window::{Access, GrantWindow, Slot, WindowMemory};
use crate::Errno;
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

impl MapError {
    /// The errno Linux's `xenbus_map_ring_valloc` reports for this failure,
    /// for callers that write it into XenStore (`xenbus_dev_fatal`): a
    /// refused grant is `ENOENT`, no room to map it `ENOMEM`, a failed
    /// hypercall its own error.
    pub fn errno(&self) -> Errno {
        match self {
            Self::WindowFull => Errno::ENOMEM,
            Self::Grant(GrantError::Hypercall(errno)) => *errno,
            Self::Grant(GrantError::Status(_)) | Self::Unreachable { .. } => Errno::ENOENT,
        }
    }
}

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

// SAFETY: the frame pointer is not tied to a thread: the page stays mapped
// while the mapping exists and is only accessed atomically, and the other
// fields are `Send` when `H` and `M` are shared across threads.
unsafe impl<H: Hypercall + Sync + ?Sized, M: WindowMemory + Sync> Send for GrantMapping<'_, H, M> {}
// SAFETY: `&GrantMapping` only hands out views with atomic access.
unsafe impl<H: Hypercall + Sync + ?Sized, M: WindowMemory + Sync> Sync for GrantMapping<'_, H, M> {}

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

/// Mapping is where the window's frames are used: kept here, so the
/// window knows nothing of mappings.
impl<M: WindowMemory> GrantWindow<M> {
    /// Maps grant `gref` of domain `dom` into a free frame of the window.
    pub fn map<'w, H: Hypercall + ?Sized>(
        &'w self,
        hv: &'w H,
        dom: DomId,
        gref: GrantRef,
        access: Access,
    ) -> Result<GrantMapping<'w, H, M>, MapError> {
        let slot = self.allocate().ok_or(MapError::WindowFull)?;
        GrantMapping::map(hv, slot, dom, gref, access)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::vec::Vec;

    use core::sync::atomic::Ordering;

    use super::*;
    use crate::Errno;
    use crate::abi::grant_table::{GNTTABOP_MAP_GRANT_REF, GNTTABOP_UNMAP_GRANT_REF, GrantStatus};
    use crate::abi::io::pciif::{FLAGS_OFFSET, OP_OFFSET, XEN_PCIF_ACTIVE, XenPciOp};
    use crate::abi::xen::HYPERVISOR_GRANT_TABLE_OP;
    use crate::grant::{GrantWindow, WindowError};
    use crate::shared_page::SharedPage;
    use crate::sim::{FakeWindowMemory, FakeXen, Injected};

    const BACKEND: DomId = 1;
    const FRONTEND: DomId = 2;
    const WINDOW: u64 = 0x10_0000;

    fn setup(frames: usize) -> (FakeXen, GrantWindow<FakeWindowMemory>) {
        let xen = FakeXen::new();
        xen.add_domain(BACKEND);
        xen.add_domain(FRONTEND);
        let window = GrantWindow::new(WINDOW, frames, xen.window_memory(BACKEND)).unwrap();
        (xen, window)
    }

    fn maps(xen: &FakeXen) -> usize {
        xen.count(HYPERVISOR_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF)
    }

    fn unmaps(xen: &FakeXen) -> usize {
        xen.count(HYPERVISOR_GRANT_TABLE_OP, GNTTABOP_UNMAP_GRANT_REF)
    }

    #[test]
    fn both_sides_see_the_same_page_until_drop_unmaps_it() {
        let (xen, window) = setup(4);
        let backend = xen.domain(BACKEND);
        let (gref, fe_page) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let frontend_view = SharedPage::new(&fe_page);
        {
            let mapping = window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .unwrap();
            assert_eq!(mapping.gfn(), Some(WINDOW));
            assert_eq!((mapping.domain(), mapping.grant_ref()), (FRONTEND, gref));
            assert_eq!(xen.mapping_count(FRONTEND, gref), 1);
            assert_eq!(window.free_frames(), 3);
            assert_eq!((maps(&xen), unmaps(&xen)), (1, 0));

            // pcifront posts an op; the backend copies it out once.
            let op = XenPciOp {
                cmd: 1,
                devfn: 0x10,
                offset: 0x3c,
                size: 1,
                value: 0xff,
                ..Default::default()
            };
            frontend_view.write(OP_OFFSET, &op).unwrap();
            frontend_view
                .atomic_u32(FLAGS_OFFSET)
                .unwrap()
                .fetch_or(XEN_PCIF_ACTIVE, Ordering::Release);
            let page = mapping.page();
            assert_eq!(
                page.atomic_u32(FLAGS_OFFSET)
                    .unwrap()
                    .load(Ordering::Acquire),
                XEN_PCIF_ACTIVE
            );
            assert_eq!(page.read::<XenPciOp>(OP_OFFSET), Ok(op));
            // The backend's answer is visible to the frontend.
            page.write_u32(OP_OFFSET + 4, (-3i32) as u32).unwrap();
            page.atomic_u32(FLAGS_OFFSET)
                .unwrap()
                .fetch_and(!XEN_PCIF_ACTIVE, Ordering::Release);
            assert_eq!(frontend_view.read::<XenPciOp>(OP_OFFSET).unwrap().err, -3);
            assert_eq!(frontend_view.read_u32(FLAGS_OFFSET), Ok(0));
        }
        assert_eq!((maps(&xen), unmaps(&xen)), (1, 1));
        assert_eq!(xen.mapping_count(FRONTEND, gref), 0);
        assert!(xen.mapped_frames(BACKEND).is_empty());
        assert_eq!(window.free_frames(), 4);
        assert!(xen.end_access(FRONTEND, gref));
    }

    #[test]
    fn read_only_mappings_refuse_writes() {
        let (xen, window) = setup(2);
        let backend = xen.domain(BACKEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, true).unwrap();
        // A read-only grant cannot be mapped writable; the frame comes back.
        let denied = window
            .map(&backend, FRONTEND, gref, Access::ReadWrite)
            .err();
        assert_eq!(
            denied,
            Some(MapError::Grant(GrantError::Status(
                GrantStatus::PermissionDenied
            )))
        );
        assert_eq!(window.free_frames(), 2);
        let mapping = window
            .map(&backend, FRONTEND, gref, Access::ReadOnly)
            .unwrap();
        let page = mapping.page();
        assert!(!page.is_writable());
        assert_eq!(page.read_u32(0), Ok(0));
        assert!(page.write_u32(0, 1).is_err());
        assert!(page.atomic_u32(FLAGS_OFFSET).is_err());
    }

    #[test]
    fn refused_maps_leave_no_mapping_and_free_the_frame() {
        let (xen, window) = setup(2);
        let backend = xen.domain(BACKEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let (other, _) = xen.grant_page(FRONTEND, 7, false).unwrap();
        let cases = [
            (FRONTEND, gref + 100, GrantStatus::BadGntref),
            (FRONTEND, other, GrantStatus::BadGntref),
            (9, gref, GrantStatus::BadDomain),
        ];
        for (dom, r, status) in cases {
            let err = window.map(&backend, dom, r, Access::ReadWrite).err();
            assert_eq!(err, Some(MapError::Grant(GrantError::Status(status))));
            assert_eq!(err.map(|e| e.errno()), Some(Errno::ENOENT));
        }
        assert_eq!(MapError::WindowFull.errno(), Errno::ENOMEM);
        assert_eq!(
            MapError::Grant(GrantError::Hypercall(Errno::EPERM)).errno(),
            Errno::EPERM
        );
        assert_eq!(window.free_frames(), 2);
        assert_eq!(unmaps(&xen), 0, "nothing was mapped, nothing to unmap");
        assert!(xen.mapped_frames(BACKEND).is_empty());
    }

    #[test]
    fn injected_map_failures() {
        let (xen, window) = setup(2);
        let backend = xen.domain(BACKEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        xen.fail_next(
            HYPERVISOR_GRANT_TABLE_OP,
            GNTTABOP_MAP_GRANT_REF,
            Injected::Errno(Errno::EFAULT),
        );
        assert_eq!(
            window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .err(),
            Some(MapError::Grant(GrantError::Hypercall(Errno::EFAULT)))
        );
        let eagain = Injected::GrantStatus(GrantStatus::Eagain);
        xen.fail_next(HYPERVISOR_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF, eagain);
        assert_eq!(
            window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .err(),
            Some(MapError::Grant(GrantError::Status(GrantStatus::Eagain)))
        );
        assert_eq!(window.free_frames(), 2);
        // The retry works.
        assert!(
            window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .is_ok()
        );
    }

    #[test]
    fn a_frame_whose_unmap_failed_is_never_reused() {
        let (xen, window) = setup(2);
        let backend = xen.domain(BACKEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let first = window
            .map(&backend, FRONTEND, gref, Access::ReadWrite)
            .unwrap();
        let stuck = first.gfn().unwrap();
        let failure = Injected::GrantStatus(GrantStatus::GeneralError);
        xen.fail_next(HYPERVISOR_GRANT_TABLE_OP, GNTTABOP_UNMAP_GRANT_REF, failure);
        assert_eq!(
            first.unmap(),
            Err(GrantError::Status(GrantStatus::GeneralError))
        );
        assert_eq!((window.lost_frames(), window.free_frames()), (1, 1));
        assert_eq!(xen.mapped_frames(BACKEND), [stuck]);
        // Map and unmap many times: the stuck frame is never chosen again,
        // so Xen never sees a map over an existing mapping.
        for _ in 0..5 {
            let mapping = window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .unwrap();
            assert_ne!(mapping.gfn(), Some(stuck));
        }
        let _held = window
            .map(&backend, FRONTEND, gref, Access::ReadWrite)
            .unwrap();
        assert_eq!(
            window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .err(),
            Some(MapError::WindowFull)
        );
        assert!(xen.violations(BACKEND).is_empty());
    }

    #[test]
    fn a_full_window_refuses_and_frees_on_drop() {
        let (xen, window) = setup(3);
        let backend = xen.domain(BACKEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let held: Vec<_> = (0..3)
            .map(|_| {
                window
                    .map(&backend, FRONTEND, gref, Access::ReadWrite)
                    .unwrap()
            })
            .collect();
        let frames: BTreeSet<_> = held.iter().map(|m| m.gfn().unwrap()).collect();
        assert_eq!(frames, BTreeSet::from([WINDOW, WINDOW + 1, WINDOW + 2]));
        assert_eq!(
            window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .err(),
            Some(MapError::WindowFull)
        );
        assert_eq!(maps(&xen), 3, "a full window makes no hypercall");
        drop(held);
        assert_eq!(window.free_frames(), 3);
        assert_eq!(xen.mapping_count(FRONTEND, gref), 0);
    }

    #[test]
    fn xen_refuses_a_second_map_at_the_same_frame() {
        // What the window prevents: mapping twice at one frame by hand.
        let xen = FakeXen::new();
        let backend = xen.add_domain(BACKEND);
        xen.add_domain(FRONTEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let address = WINDOW * 4096;
        let flags = crate::abi::grant_table::GNTMAP_HOST_MAP;
        let handle = grant_table::map_grant_ref(&backend, address, flags, gref, FRONTEND).unwrap();
        assert_eq!(
            grant_table::map_grant_ref(&backend, address, flags, gref, FRONTEND),
            Err(GrantError::Status(GrantStatus::GeneralError))
        );
        assert_eq!(
            xen.violations(BACKEND),
            ["grant mapped over an existing grant mapping"]
        );
        // Only host_map (| readonly) is allowed for an HVM caller.
        let device_map = crate::abi::grant_table::GNTMAP_DEVICE_MAP | flags;
        assert_eq!(
            grant_table::map_grant_ref(&backend, address + 4096, device_map, gref, FRONTEND),
            Err(GrantError::Status(GrantStatus::GeneralError))
        );
        assert_eq!(
            grant_table::unmap_grant_ref(&backend, address, handle + 1),
            Err(GrantError::Status(GrantStatus::BadHandle))
        );
        assert_eq!(
            grant_table::unmap_grant_ref(&backend, address, handle),
            Ok(())
        );
    }

    /// Window memory that cannot reach any frame.
    struct Nowhere;

    // SAFETY: it never returns a pointer.
    unsafe impl WindowMemory for Nowhere {
        fn frame(&self, _gfn: u64) -> Option<NonNull<u8>> {
            None
        }
    }

    #[test]
    fn an_unreachable_frame_is_unmapped_again() {
        let xen = FakeXen::new();
        let backend = xen.add_domain(BACKEND);
        xen.add_domain(FRONTEND);
        let window = GrantWindow::new(WINDOW, 1, Nowhere).unwrap();
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        assert_eq!(
            window
                .map(&backend, FRONTEND, gref, Access::ReadWrite)
                .err(),
            Some(MapError::Unreachable { gfn: WINDOW })
        );
        assert_eq!((maps(&xen), unmaps(&xen)), (1, 1));
        assert!(xen.mapped_frames(BACKEND).is_empty());
        assert_eq!(window.free_frames(), 1);
    }

    #[test]
    fn concurrent_maps_get_distinct_frames() {
        let (xen, window) = setup(64);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let barrier = std::sync::Barrier::new(8);
        let frames: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (xen, window, barrier) = (&xen, &window, &barrier);
                    s.spawn(move || {
                        let backend = xen.domain(BACKEND);
                        let held: Vec<_> = (0..8)
                            .map(|_| {
                                window
                                    .map(&backend, FRONTEND, gref, Access::ReadWrite)
                                    .unwrap()
                            })
                            .collect();
                        let gfns = held.iter().map(|m| m.gfn().unwrap()).collect();
                        barrier.wait();
                        gfns
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: BTreeSet<u64> = frames.into_iter().flatten().collect();
        assert_eq!(all.len(), 64);
        assert!(xen.violations(BACKEND).is_empty());
        assert_eq!(window.free_frames(), 64);
    }

    #[test]
    fn window_ranges_are_checked() {
        let xen = FakeXen::new();
        let memory = || xen.window_memory(BACKEND);
        assert_eq!(
            GrantWindow::new(WINDOW, 0, memory()).err(),
            Some(WindowError::Empty)
        );
        assert_eq!(
            GrantWindow::new(0, 4, memory()).err(),
            Some(WindowError::BadRange {
                first_gfn: 0,
                frames: 4
            })
        );
        let top = u64::MAX / 4096;
        assert!(GrantWindow::new(top, 2, memory()).is_err());
        let window = GrantWindow::new(WINDOW, 70, memory()).unwrap();
        assert_eq!(
            (window.frames(), window.free_frames(), window.first_gfn()),
            (70, 70, WINDOW)
        );
    }

    #[test]
    fn mappings_can_move_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<GrantMapping<'_, crate::sim::FakeDomain, FakeWindowMemory>>();
        let (xen, window) = setup(1);
        let backend = xen.domain(BACKEND);
        let (gref, _) = xen.grant_page(FRONTEND, BACKEND, false).unwrap();
        let mapping = window
            .map(&backend, FRONTEND, gref, Access::ReadWrite)
            .unwrap();
        std::thread::scope(|s| {
            s.spawn(|| mapping.page().write_u32(0, 7).unwrap());
        });
        assert_eq!(mapping.page().read_u32(0), Ok(7));
    }

    #[test]
    fn identity_mapped_frames_are_at_their_physical_address() {
        // SAFETY: only the address is computed; nothing is dereferenced.
        let memory = unsafe { super::super::IdentityMapped::new() };
        assert_eq!(
            memory.frame(0x1234).map(|p| p.addr().get()),
            Some(0x123_4000)
        );
        assert_eq!(memory.frame(u64::MAX), None);
    }
}
