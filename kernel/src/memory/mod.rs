// SPDX-License-Identifier: MIT OR Apache-2.0
//! Memory: the frame allocator, the heap and the page tables, all sized from
//! the memory map the loader gave.

pub mod frames;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod layout;
#[cfg(target_os = "none")]
pub mod paging;
#[cfg(target_os = "none")]
pub mod physical;

/// Heap size for `free` bytes of free RAM: half of it, at most 64 MiB. The
/// other half stays as frames (page tables, shared pages) and headroom.
pub const fn heap_size(free: u64) -> u64 {
    const MAX: u64 = 64 << 20;
    let half = free / 2;
    let size = if half < MAX { half } else { MAX };
    size & !(frames::FRAME_SIZE - 1)
}

#[cfg(target_os = "none")]
pub use setup::{
    allocate_frame, allocate_frames, free_frame_bytes, init, map_firmware, map_mmio, map_shared,
};

#[cfg(target_os = "none")]
mod setup {
    use super::frames::{FRAME_SIZE, FrameAllocator};
    use super::paging::{AddressSpace, Kind, MapError};
    use super::{heap, heap_size, layout};
    use core::fmt;
    use core::ops::Range;
    use spin::Mutex;
    use xen::start_info::{MemoryKind, PhysicalMemory, StartInfo};

    /// Below 1 MiB: real-mode structures and firmware, never handed out.
    const LEGACY_AREA: u64 = 0x10_0000;
    /// The BIOS area searched for the ACPI RSDP.
    const BIOS_AREA: Range<u64> = 0xe_0000..0x10_0000;
    /// The heap must at least hold the image's boot-time structures.
    const MIN_HEAP: u64 = 256 << 10;

    struct Memory {
        frames: FrameAllocator,
        space: AddressSpace,
    }

    static MEMORY: Mutex<Option<Memory>> = Mutex::new(None);

    /// What `init` set up, for the boot report.
    #[derive(Clone, Debug)]
    pub struct Layout {
        /// The heap.
        pub heap: Range<u64>,
        /// Free RAM left as frames after the heap.
        pub free: u64,
    }

    /// Why memory could not be set up.
    #[derive(Clone, Copy, Debug)]
    pub enum MemoryError {
        /// Not enough free RAM for even a small heap.
        TooLittleRam {
            /// Free bytes found.
            free: u64,
        },
        /// A page table could not be built.
        Map(MapError),
    }

    impl fmt::Display for MemoryError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::TooLittleRam { free } => {
                    write!(
                        f,
                        "only {} KiB of free RAM; need {} KiB for the heap",
                        free >> 10,
                        MIN_HEAP >> 10
                    )
                }
                Self::Map(e) => write!(f, "page tables: {e}"),
            }
        }
    }

    impl From<MapError> for MemoryError {
        fn from(e: MapError) -> Self {
            Self::Map(e)
        }
    }

    /// Builds the frame allocator from the memory map (minus the legacy area,
    /// the image and the loader's data), carves out the heap, builds the
    /// page tables and switches to them.
    pub fn init<M: PhysicalMemory>(
        info: StartInfo<'_, M>,
        start_info_paddr: u64,
    ) -> Result<Layout, MemoryError> {
        let mut frames = FrameAllocator::new();
        let ram = || info.memory_map().filter(|r| r.kind == MemoryKind::Ram);
        for r in ram() {
            if frames.add(r.base, r.size).is_err() {
                warn!("too many RAM ranges; ignoring {:#x}+{:#x}", r.base, r.size);
            }
        }
        let image = layout::image();
        let occupied = info.occupied(start_info_paddr);
        let reserved = [(0, LEGACY_AREA), (image.start, image.end - image.start)];
        for (base, size) in reserved.into_iter().chain(occupied) {
            // Reserving only shrinks the set; it fails only when a split
            // finds no slot, and then the frames stay reserved anyway.
            let _ = frames.reserve(base, size);
        }

        let free = frames.free_bytes();
        // Half the free RAM, but never less than the minimum when it fits.
        let size = heap_size(free).max(MIN_HEAP).min(frames.largest_free());
        if size < MIN_HEAP {
            return Err(MemoryError::TooLittleRam { free });
        }
        let heap_base = frames
            .allocate_contiguous(size / FRAME_SIZE, FRAME_SIZE)
            .ok_or(MemoryError::TooLittleRam { free })?;

        let mut space = AddressSpace::new(&mut frames)?;
        // Page 0 stays unmapped: a null pointer faults.
        for r in ram() {
            for part in without(r.base.max(FRAME_SIZE)..r.end(), &image) {
                space.map(part, Kind::Ram, &mut frames)?;
            }
        }
        space.map(layout::text(), Kind::Code, &mut frames)?;
        space.map(layout::rodata(), Kind::ReadOnly, &mut frames)?;
        let guard = boot::stack().start - FRAME_SIZE;
        for part in without(layout::data(), &(guard..boot::stack().start)) {
            space.map(part, Kind::Ram, &mut frames)?;
        }
        space.map(BIOS_AREA, Kind::ReadOnly, &mut frames)?;
        // SAFETY: the new map covers the image (W^X by section), its stacks
        // (boot stack in .bss, emergency stack in .data/.bss) and all RAM
        // but page 0 (heap, page tables). The loader's data may sit in page
        // 0 (QEMU puts the memory map there): `info` is consumed by this
        // function, so nothing reads it after the switch.
        unsafe { space.activate() };
        // SAFETY: `heap_base..+size` was just taken from the allocator, so
        // nothing else uses it, and it is RAM mapped writable above.
        unsafe { heap::init(heap_base, size) };

        let layout = Layout {
            heap: heap_base..heap_base + size,
            free: frames.free_bytes(),
        };
        *MEMORY.lock() = Some(Memory { frames, space });
        Ok(layout)
    }

    /// Identity-maps device registers at `range`, uncached, and returns a
    /// pointer to the first byte. Mapping the same registers again is fine;
    /// mapping over RAM is refused.
    pub fn map_mmio(range: Range<u64>) -> Result<*mut u8, MapError> {
        map(range, Kind::Mmio)
    }

    /// Identity-maps a page Xen shares with this domain (console, XenStore):
    /// ordinary cached, writable memory that may lie outside the RAM map.
    pub fn map_shared(range: Range<u64>) -> Result<*mut u8, MapError> {
        map(range, Kind::Ram)
    }

    /// Free RAM left as frames, in bytes.
    pub fn free_frame_bytes() -> u64 {
        MEMORY.lock().as_ref().map_or(0, |m| m.frames.free_bytes())
    }

    /// Takes one free RAM frame (identity-mapped, writable) for good.
    pub fn allocate_frame() -> Option<u64> {
        allocate_frames(1)
    }

    /// Takes `count` contiguous free RAM frames for good; their address.
    pub fn allocate_frames(count: u64) -> Option<u64> {
        MEMORY
            .lock()
            .as_mut()?
            .frames
            .allocate_contiguous(count, FRAME_SIZE)
    }

    /// Identity-maps firmware data (ACPI tables, the BIOS area) read-only,
    /// cached, and returns a pointer to the first byte.
    pub fn map_firmware(range: Range<u64>) -> Result<*const u8, MapError> {
        map(range, Kind::ReadOnly).map(|p| p.cast_const())
    }

    fn map(range: Range<u64>, kind: Kind) -> Result<*mut u8, MapError> {
        let mut memory = MEMORY.lock();
        let Memory { frames, space } = memory.as_mut().ok_or(MapError::NotReady)?;
        space.map(range.clone(), kind, frames)?;
        Ok(range.start as *mut u8)
    }

    /// `range` with `hole` cut out: zero, one or two ranges.
    fn without(range: Range<u64>, hole: &Range<u64>) -> impl Iterator<Item = Range<u64>> {
        let before = range.start..range.end.min(hole.start);
        let after = range.start.max(hole.end)..range.end;
        [before, after].into_iter().filter(|r| r.start < r.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_is_half_of_free_ram_up_to_64_mib() {
        assert_eq!(heap_size(100 << 20), 50 << 20);
        assert_eq!(heap_size(1 << 30), 64 << 20);
        assert_eq!(heap_size(12345), 4096);
        assert_eq!(heap_size(0), 0);
    }
}
