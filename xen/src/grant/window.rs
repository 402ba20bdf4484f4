// SPDX-License-Identifier: MIT OR Apache-2.0
//! The window of guest frames grants are mapped into, and its allocator.
//!
//! The allocator is a bitmap of atomics: a set bit owns its frame, from the
//! map until a successful unmap (or for good, if the unmap failed).

use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::shared_page::PAGE_SIZE;

/// How the CPU reaches a frame of the window once a grant is mapped there.
///
/// # Safety
///
/// Implementation safety: for a `gfn` of the window that holds a grant
/// mapping, `frame(gfn)` must return a 4 KiB-aligned pointer at which the
/// CPU sees that guest frame, valid for reads and writes (reads only, for a
/// read-only mapping) until the grant is unmapped.
pub unsafe trait WindowMemory {
    /// The virtual address of guest frame `gfn`, if it can be reached.
    fn frame(&self, gfn: u64) -> Option<NonNull<u8>>;
}

/// The kernel's window memory: the window is identity-mapped, so guest
/// frame `gfn` is at virtual address `gfn * 4096`.
#[derive(Debug)]
pub struct IdentityMapped {
    _private: (),
}

impl IdentityMapped {
    /// Window memory for a window the kernel identity-maps.
    ///
    /// # Safety
    ///
    /// Every frame of any window used with this value must be mapped at
    /// virtual address = guest-physical address, readable, writable and
    /// write-back cacheable, for the rest of the program, and used for
    /// nothing but grant mappings.
    pub unsafe fn new() -> Self {
        Self { _private: () }
    }
}

// SAFETY: by `IdentityMapped::new`'s contract the window is identity-mapped
// for good, so `gfn << 12` is where the CPU sees the frame.
unsafe impl WindowMemory for IdentityMapped {
    fn frame(&self, gfn: u64) -> Option<NonNull<u8>> {
        let address = usize::try_from(gfn.checked_mul(PAGE_SIZE as u64)?).ok()?;
        NonNull::new(core::ptr::with_exposed_provenance_mut(address))
    }
}

/// Whether a mapping may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `GNTMAP_host_map`.
    ReadWrite,
    /// `GNTMAP_host_map | GNTMAP_readonly`.
    ReadOnly,
}

/// Why a window could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// No frames.
    Empty,
    /// The range includes frame 0 or runs past the address space.
    BadRange {
        /// First frame asked for.
        first_gfn: u64,
        /// Number of frames asked for.
        frames: usize,
    },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("grant window has no frames"),
            Self::BadRange { first_gfn, frames } => {
                write!(
                    f,
                    "grant window of {frames} frames at {first_gfn:#x} is not addressable"
                )
            }
        }
    }
}

impl core::error::Error for WindowError {}

/// A range of guest frames reserved for grant mappings, with an allocator
/// that never hands out a frame while it may hold a mapping.
#[derive(Debug)]
pub struct GrantWindow<M: WindowMemory> {
    first_gfn: u64,
    frames: usize,
    /// Bit set: the frame is handed out, or lost to a failed unmap.
    used: Vec<AtomicU64>,
    lost: AtomicUsize,
    memory: M,
}

impl<M: WindowMemory> GrantWindow<M> {
    /// A window of `frames` guest frames from `first_gfn`, reached through
    /// `memory`. The frames must not be RAM or MMIO of this domain (a hole
    /// in the memory map, or frames given back with
    /// `XENMEM_decrease_reservation`).
    pub fn new(first_gfn: u64, frames: usize, memory: M) -> Result<Self, WindowError> {
        if frames == 0 {
            return Err(WindowError::Empty);
        }
        let end_address = u64::try_from(frames)
            .ok()
            .and_then(|n| first_gfn.checked_add(n))
            .and_then(|end| end.checked_mul(PAGE_SIZE as u64));
        let addressable = end_address.is_some_and(|end| usize::try_from(end).is_ok());
        if first_gfn == 0 || !addressable {
            return Err(WindowError::BadRange { first_gfn, frames });
        }
        let words = frames.div_ceil(64);
        let mut used: Vec<AtomicU64> = (0..words).map(|_| AtomicU64::new(0)).collect();
        // Bits past the last frame are permanently taken.
        if let Some(last) = used.last_mut() {
            let tail = frames % 64;
            if tail != 0 {
                *last.get_mut() = u64::MAX << tail;
            }
        }
        Ok(Self {
            first_gfn,
            frames,
            used,
            lost: AtomicUsize::new(0),
            memory,
        })
    }

    /// First guest frame of the window.
    pub fn first_gfn(&self) -> u64 {
        self.first_gfn
    }

    /// Number of frames in the window.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Frames free for new mappings.
    pub fn free_frames(&self) -> usize {
        let taken: usize = self
            .used
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
            .sum();
        let padding = self
            .used
            .len()
            .saturating_mul(64)
            .saturating_sub(self.frames);
        self.frames.saturating_sub(taken.saturating_sub(padding))
    }

    /// Frames never to be used again because unmapping them failed.
    pub fn lost_frames(&self) -> usize {
        self.lost.load(Ordering::Relaxed)
    }

    /// A free frame of the window, if any.
    pub(super) fn allocate(&self) -> Option<Slot<'_, M>> {
        for (word_index, word) in self.used.iter().enumerate() {
            let mut current = word.load(Ordering::Relaxed);
            while current != u64::MAX {
                let bit = (!current).trailing_zeros();
                // A handful of words: the index cannot overflow, but a
                // frame that could not be named is not taken.
                let Some(index) = word_index
                    .checked_mul(64)
                    .and_then(|first| first.checked_add(bit as usize))
                else {
                    break;
                };
                // Acquire: a frame released by `Slot::drop` (Release) is
                // unmapped before we reuse it.
                match word.compare_exchange_weak(
                    current,
                    current | (1 << bit),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        return Some(Slot {
                            window: self,
                            index,
                        });
                    }
                    Err(actual) => current = actual,
                }
            }
        }
        None
    }

    pub(super) fn memory(&self) -> &M {
        &self.memory
    }
}

/// Exclusive ownership of one frame of a window. Dropping it returns the
/// frame; [`Slot::lose`] keeps it out of use for good.
#[derive(Debug)]
pub(super) struct Slot<'w, M: WindowMemory> {
    window: &'w GrantWindow<M>,
    index: usize,
}

impl<'w, M: WindowMemory> Slot<'w, M> {
    /// The guest frame this slot owns.
    pub(super) fn gfn(&self) -> u64 {
        // `new` checked that every frame of the window is addressable.
        self.window.first_gfn.saturating_add(self.index as u64)
    }

    /// The guest-physical address of the frame.
    pub(super) fn address(&self) -> u64 {
        // `new` checked that the window's addresses fit in 64 bits.
        self.gfn().saturating_mul(PAGE_SIZE as u64)
    }

    pub(super) fn window(&self) -> &'w GrantWindow<M> {
        self.window
    }

    /// The frame may still hold a mapping: never hand it out again.
    pub(super) fn lose(self) {
        self.window.lost.fetch_add(1, Ordering::Relaxed);
        core::mem::forget(self);
    }
}

impl<M: WindowMemory> Drop for Slot<'_, M> {
    fn drop(&mut self) {
        let (word, bit) = (self.index / 64, self.index % 64);
        if let Some(word) = self.window.used.get(word) {
            // Release: the unmap is done before the frame is free again.
            word.fetch_and(!(1 << bit), Ordering::Release);
        }
    }
}
