// SPDX-License-Identifier: MIT OR Apache-2.0
//! The physical frame allocator: free RAM as a sorted set of ranges.
//!
//! Built from the memory map before there is a heap, so its storage is a
//! fixed number of range slots, not frames: a real memory map has a handful
//! of RAM ranges. Freed frames merge back into their neighbours.

/// Size of a frame.
pub const FRAME_SIZE: u64 = 4096;

/// Most disjoint free ranges kept. A free that would need more is refused
/// (the frame leaks, with a warning) rather than corrupting the set.
const SLOTS: usize = 128;

/// A half-open physical range `start..end`, page aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: u64,
    end: u64,
}

/// Free physical memory, in frames.
#[derive(Debug)]
pub struct FrameAllocator {
    ranges: [Range; SLOTS],
    len: usize,
}

/// The set has no slot left for another disjoint range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl FrameAllocator {
    /// An allocator with nothing free.
    pub const fn new() -> Self {
        Self {
            ranges: [Range { start: 0, end: 0 }; SLOTS],
            len: 0,
        }
    }

    /// Adds `base..base + size` as free, shrunk inward to whole frames.
    pub fn add(&mut self, base: u64, size: u64) -> Result<(), Full> {
        let start = base.div_ceil(FRAME_SIZE).saturating_mul(FRAME_SIZE);
        let end = (base.saturating_add(size) / FRAME_SIZE) * FRAME_SIZE;
        if start >= end {
            return Ok(());
        }
        self.insert(Range { start, end })
    }

    /// Removes `base..base + size` (grown outward to whole frames) from the
    /// free set, wherever it overlaps: memory the image or its loader uses.
    pub fn reserve(&mut self, base: u64, size: u64) -> Result<(), Full> {
        let start = (base / FRAME_SIZE) * FRAME_SIZE;
        let end = base
            .saturating_add(size)
            .div_ceil(FRAME_SIZE)
            .saturating_mul(FRAME_SIZE);
        let mut i = 0;
        while i < self.len {
            let r = self.ranges[i];
            if r.end <= start || r.start >= end {
                i += 1;
                continue;
            }
            match (r.start < start, r.end > end) {
                (true, true) => {
                    self.ranges[i].end = start;
                    self.insert_at(
                        i + 1,
                        Range {
                            start: end,
                            end: r.end,
                        },
                    )?;
                    return Ok(());
                }
                (true, false) => {
                    self.ranges[i].end = start;
                    i += 1;
                }
                (false, true) => {
                    self.ranges[i].start = end;
                    i += 1;
                }
                (false, false) => self.remove_at(i),
            }
        }
        Ok(())
    }

    /// Allocates one frame, lowest address first.
    pub fn allocate(&mut self) -> Option<u64> {
        self.allocate_contiguous(1, FRAME_SIZE)
    }

    /// Allocates `frames` contiguous frames whose start is `align`-aligned
    /// (a power of two, at least a frame), lowest fit first.
    pub fn allocate_contiguous(&mut self, frames: u64, align: u64) -> Option<u64> {
        let bytes = frames.checked_mul(FRAME_SIZE)?;
        let align = align.max(FRAME_SIZE);
        if bytes == 0 || !align.is_power_of_two() {
            return None;
        }
        let start = self.ranges[..self.len].iter().find_map(|r| {
            let start = r.start.checked_next_multiple_of(align)?;
            (start.checked_add(bytes)? <= r.end).then_some(start)
        })?;
        self.reserve(start, bytes).ok()?;
        Some(start)
    }

    /// The largest run of free frames, in bytes: what a single contiguous
    /// allocation can at most get.
    pub fn largest_free(&self) -> u64 {
        self.ranges[..self.len]
            .iter()
            .map(|r| r.end - r.start)
            .max()
            .unwrap_or(0)
    }

    /// Total free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.ranges[..self.len]
            .iter()
            .map(|r| r.end - r.start)
            .sum()
    }

    /// Inserts a range, merging with any it touches or overlaps.
    fn insert(&mut self, mut new: Range) -> Result<(), Full> {
        let first = self.ranges[..self.len].partition_point(|r| r.end < new.start);
        let mut last = first;
        while last < self.len && self.ranges[last].start <= new.end {
            new.start = new.start.min(self.ranges[last].start);
            new.end = new.end.max(self.ranges[last].end);
            last += 1;
        }
        if last > first {
            self.ranges[first] = new;
            for _ in first + 1..last {
                self.remove_at(first + 1);
            }
            Ok(())
        } else {
            self.insert_at(first, new)
        }
    }

    fn insert_at(&mut self, at: usize, range: Range) -> Result<(), Full> {
        if self.len == SLOTS {
            return Err(Full);
        }
        self.ranges.copy_within(at..self.len, at + 1);
        self.ranges[at] = range;
        self.len += 1;
        Ok(())
    }

    fn remove_at(&mut self, at: usize) {
        self.ranges.copy_within(at + 1..self.len, at);
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(a: &FrameAllocator) -> Vec<(u64, u64)> {
        a.ranges[..a.len].iter().map(|r| (r.start, r.end)).collect()
    }

    /// QEMU's map for `-m 128M`, minus the image at 1 MiB.
    fn qemu_128m() -> FrameAllocator {
        let mut a = FrameAllocator::new();
        a.add(0, 0x9fc00).unwrap();
        a.add(0x10_0000, 0x7ee_0000).unwrap();
        a.reserve(0, 0x10_0000).unwrap();
        a.reserve(0x10_0000, 0x3_2345).unwrap();
        a
    }

    #[test]
    fn builds_from_a_memory_map() {
        let a = qemu_128m();
        assert_eq!(ranges(&a), [(0x13_3000, 0x7fe_0000)]);
        assert_eq!(a.free_bytes(), 0x7fe_0000 - 0x13_3000);
    }

    #[test]
    fn partial_frames_are_never_handed_out() {
        let mut a = FrameAllocator::new();
        a.add(0x1001, 0x2fff).unwrap(); // 0x1001..0x4000: frames 2 and 3 only
        assert_eq!(ranges(&a), [(0x2000, 0x4000)]);
        a.add(0x8000, 0xfff).unwrap(); // less than a frame
        assert_eq!(ranges(&a), [(0x2000, 0x4000)]);
    }

    #[test]
    fn allocates_lowest_first_and_frees_back_merged() {
        let mut a = qemu_128m();
        let f1 = a.allocate().unwrap();
        let f2 = a.allocate().unwrap();
        assert_eq!((f1, f2), (0x13_3000, 0x13_4000));
        a.add(f1, FRAME_SIZE).unwrap();
        assert_eq!(
            ranges(&a),
            [(0x13_3000, 0x13_4000), (0x13_5000, 0x7fe_0000)]
        );
        a.add(f2, FRAME_SIZE).unwrap();
        assert_eq!(ranges(&a), [(0x13_3000, 0x7fe_0000)]);
    }

    #[test]
    fn contiguous_allocation_honours_alignment() {
        let mut a = qemu_128m();
        let big = a.allocate_contiguous(512, 0x20_0000).unwrap();
        assert_eq!(big, 0x20_0000);
        assert_eq!(
            ranges(&a),
            [(0x13_3000, 0x20_0000), (0x40_0000, 0x7fe_0000)]
        );
        assert_eq!(a.allocate_contiguous(u64::MAX, FRAME_SIZE), None);
        assert_eq!(a.allocate_contiguous(0, FRAME_SIZE), None);
        assert_eq!(a.allocate_contiguous(1, 3 * FRAME_SIZE), None);
        assert_eq!(a.largest_free(), 0x7fe_0000 - 0x40_0000);
    }

    #[test]
    fn reserve_splits_and_trims() {
        let mut a = FrameAllocator::new();
        a.add(0x1_0000, 0x1_0000).unwrap();
        a.add(0x4_0000, 0x1_0000).unwrap();
        a.reserve(0x1_8000, 0x100).unwrap(); // split the first
        a.reserve(0x4_f000, 0x10_0000).unwrap(); // trim the end of the second
        a.reserve(0x0, 0x1_1000).unwrap(); // trim the start of the first
        assert_eq!(
            ranges(&a),
            [
                (0x1_1000, 0x1_8000),
                (0x1_9000, 0x2_0000),
                (0x4_0000, 0x4_f000)
            ]
        );
        a.reserve(0, u64::MAX).unwrap();
        assert_eq!(a.free_bytes(), 0);
    }

    #[test]
    fn overlapping_adds_merge() {
        let mut a = FrameAllocator::new();
        a.add(0x3000, 0x2000).unwrap();
        a.add(0x1000, 0x1000).unwrap();
        a.add(0x2000, 0x4000).unwrap();
        assert_eq!(ranges(&a), [(0x1000, 0x6000)]);
    }

    #[test]
    fn runs_out_of_slots_cleanly() {
        let mut a = FrameAllocator::new();
        for i in 0..SLOTS as u64 {
            a.add(i * 0x2000, 0x1000).unwrap();
        }
        assert_eq!(a.add(SLOTS as u64 * 0x2000, 0x1000), Err(Full));
        assert_eq!(a.reserve(0x2000 * 5 + 0x1000, 0), Ok(()));
        // Merging needs no new slot.
        assert_eq!(a.add(0x1000, 0x1000), Ok(()));
    }
}
