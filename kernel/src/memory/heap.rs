// SPDX-License-Identifier: MIT OR Apache-2.0
//! The heap: one contiguous run of RAM frames behind a linked-list allocator.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Hands `base..base + size` to the allocator.
///
/// # Safety
///
/// The range must be mapped, writable RAM used by nothing else, for the life
/// of the domain; `init` must run once.
pub unsafe fn init(base: u64, size: u64) {
    // SAFETY: the caller guarantees the range is ours, mapped and unused.
    unsafe { HEAP.lock().init(base as *mut u8, size as usize) };
}

/// Bytes of the heap in use, and its size.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.used(), heap.size())
}
