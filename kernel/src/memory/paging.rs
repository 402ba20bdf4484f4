// SPDX-License-Identifier: MIT OR Apache-2.0
//! The image's page tables: an identity map built from the memory map.
//!
//! RAM is write-back and never executable; the image is mapped W^X by
//! section; MMIO (ECAM, BARs) is mapped uncached, on demand. A range is only
//! ever mapped one way: asking for MMIO over RAM is refused, not remapped.

use super::frames::FrameAllocator;
use core::fmt;
use core::ops::Range;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, MappedFrame, TranslateResult};
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size2MiB,
    Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

const PAGE: u64 = 4096;
const LARGE_PAGE: u64 = 2 << 20;

/// What a range holds, which decides how it is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The image's code: read-only, executable.
    Code,
    /// The image's read-only data, firmware tables, boot data: read-only.
    ReadOnly,
    /// RAM: writable, not executable.
    Ram,
    /// Device registers: writable, uncached, not executable.
    Mmio,
}

impl Kind {
    fn flags(self) -> Flags {
        let base = Flags::PRESENT;
        match self {
            Self::Code => base,
            Self::ReadOnly => base | Flags::NO_EXECUTE,
            Self::Ram => base | Flags::WRITABLE | Flags::NO_EXECUTE,
            Self::Mmio => {
                base | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::NO_CACHE | Flags::WRITE_THROUGH
            }
        }
    }

    /// Whether an existing mapping with `flags` serves a request for `self`:
    /// same caching, and at least the access asked for.
    fn served_by(self, flags: Flags) -> bool {
        let want = self.flags();
        let cache = Flags::NO_CACHE | Flags::WRITE_THROUGH;
        (want & cache) == (flags & cache)
            && (!want.contains(Flags::WRITABLE) || flags.contains(Flags::WRITABLE))
            && (want.contains(Flags::NO_EXECUTE) || !flags.contains(Flags::NO_EXECUTE))
    }
}

/// Why a range could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No free frame for a page table.
    OutOfFrames,
    /// The page at this address is already mapped another way.
    Conflict {
        /// The page that is mapped differently.
        address: u64,
        /// How it was asked for now.
        wanted: Kind,
    },
    /// The range wraps past the end of the address space.
    Overflow,
    /// Memory is not set up yet.
    NotReady,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfFrames => f.write_str("no free frame for a page table"),
            Self::Conflict { address, wanted } => {
                write!(f, "{address:#x} is already mapped other than as {wanted:?}")
            }
            Self::Overflow => f.write_str("range wraps the address space"),
            Self::NotReady => f.write_str("page tables are not set up yet"),
        }
    }
}

/// Lends the frame allocator to the page-table code.
struct TableFrames<'a>(&'a mut FrameAllocator);

// SAFETY: `FrameAllocator` hands out each free RAM frame once, 4 KiB aligned.
// It hands out the lowest frames first, and page tables are built while the
// boot map covers the first 4 GiB, so every table frame is reachable through
// the identity map (phys offset 0) that `OffsetPageTable` assumes; later
// frames are RAM, which this map covers.
unsafe impl x86_64::structures::paging::FrameAllocator<Size4KiB> for TableFrames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        self.0
            .allocate()
            .map(|a| PhysFrame::containing_address(PhysAddr::new(a)))
    }
}

/// The identity-mapped address space.
#[derive(Debug)]
pub struct AddressSpace {
    tables: OffsetPageTable<'static>,
    root: PhysFrame,
}

impl AddressSpace {
    /// An empty address space; nothing is mapped until [`Self::map`].
    pub fn new(frames: &mut FrameAllocator) -> Result<Self, MapError> {
        let root = frames.allocate().ok_or(MapError::OutOfFrames)?;
        let table = root as *mut PageTable;
        // SAFETY: `root` is a fresh RAM frame from the allocator, identity
        // mapped and used by nothing else; it becomes the top-level table and
        // lives as long as the domain.
        let table = unsafe {
            table.write(PageTable::new());
            &mut *table
        };
        // SAFETY: physical memory is identity mapped (offset 0) wherever
        // page tables live, see `TableFrames`.
        let tables = unsafe { OffsetPageTable::new(table, VirtAddr::new(0)) };
        Ok(Self {
            tables,
            root: PhysFrame::containing_address(PhysAddr::new(root)),
        })
    }

    /// Identity-maps `range` (grown to whole pages) as `kind`; pages already
    /// mapped compatibly are left alone.
    pub fn map(
        &mut self,
        range: Range<u64>,
        kind: Kind,
        frames: &mut FrameAllocator,
    ) -> Result<(), MapError> {
        let mut at = range.start & !(PAGE - 1);
        let end = range
            .end
            .checked_next_multiple_of(PAGE)
            .ok_or(MapError::Overflow)?;
        let flags = kind.flags();
        let parents = Flags::PRESENT | Flags::WRITABLE;
        let mut frames = TableFrames(frames);
        while at < end {
            if let TranslateResult::Mapped {
                frame, flags: have, ..
            } = self.tables.translate(VirtAddr::new(at))
            {
                if !kind.served_by(have) {
                    return Err(MapError::Conflict {
                        address: at,
                        wanted: kind,
                    });
                }
                at = frame_end(&frame);
                continue;
            }
            if at.is_multiple_of(LARGE_PAGE) && end - at >= LARGE_PAGE && kind != Kind::Code {
                let page = Page::<Size2MiB>::containing_address(VirtAddr::new(at));
                let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(at));
                // SAFETY: an identity mapping of memory the memory map (or
                // the caller, for MMIO) says is there; nothing maps it yet.
                match unsafe {
                    self.tables
                        .map_to_with_table_flags(page, frame, flags, parents, &mut frames)
                } {
                    Ok(flush) => {
                        flush.flush();
                        at += LARGE_PAGE;
                        continue;
                    }
                    Err(MapToError::FrameAllocationFailed) => return Err(MapError::OutOfFrames),
                    // Part of this 2 MiB is mapped in small pages already.
                    Err(_) => {}
                }
            }
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(at));
            let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(at));
            // SAFETY: as above; `translate` said this page is unmapped.
            match unsafe {
                self.tables
                    .map_to_with_table_flags(page, frame, flags, parents, &mut frames)
            } {
                Ok(flush) => flush.flush(),
                Err(MapToError::FrameAllocationFailed) => return Err(MapError::OutOfFrames),
                Err(_) => {
                    return Err(MapError::Conflict {
                        address: at,
                        wanted: kind,
                    });
                }
            }
            at += PAGE;
        }
        Ok(())
    }

    /// Switches the CPU to these tables.
    ///
    /// # Safety
    ///
    /// Everything the running code touches from here on (the image, the
    /// current stack, the structures it still reads) must be mapped.
    pub unsafe fn activate(&self) {
        // SAFETY: the caller guarantees the new map covers what runs next.
        unsafe { Cr3::write(self.root, Cr3Flags::empty()) };
    }
}

/// One past the end of a mapped frame; identity map, so also of the page.
fn frame_end(frame: &MappedFrame) -> u64 {
    frame.start_address().as_u64() + frame.size()
}
