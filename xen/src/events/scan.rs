// SPDX-License-Identifier: MIT OR Apache-2.0
//! The 2-level upcall scan: which ports are pending, fairly and losslessly.
//!
//! Follows Xen's protocol and Linux's `evtchn_2l_handle_events`: clear
//! `evtchn_upcall_pending`, exchange `evtchn_pending_sel` with 0, and for
//! each selected word take `pending & !mask`; each port's pending bit is
//! cleared atomically (test-and-clear) before the port is handed out, so an
//! event arriving after that is seen again. The scan resumes after the last
//! port handled, so a busy low port cannot starve the others.

use core::sync::atomic::Ordering;

use crate::abi::event_channel::EvtchnPort;
use crate::abi::xen::{EVTCHN_WORDS, SharedInfo};

/// Bits per selector or pending word.
const BITS: usize = 64;

const _: () = assert!(EVTCHN_WORDS == BITS);

/// `w` with its `i` least significant bits cleared (`i < 64`).
fn clear_low_bits(w: u64, i: usize) -> u64 {
    w & (u64::MAX << i)
}

/// Scans pending event channels for one vCPU, remembering where it stopped.
#[derive(Clone, Debug, Default)]
pub struct UpcallScanner {
    /// Word to resume at (Linux's `current_word_idx`).
    next_word: usize,
    /// Bit to resume at within that word (`current_bit_idx`).
    next_bit: usize,
}

impl UpcallScanner {
    /// Passes over the selector at most this many times per upcall. If
    /// events keep arriving, `evtchn_upcall_pending` stays set and Xen
    /// injects the callback again once interrupts are enabled, so a flood
    /// cannot keep the handler looping forever.
    pub const MAX_PASSES: usize = 8;

    /// A scanner starting at port 0.
    pub const fn new() -> Self {
        Self {
            next_word: 0,
            next_bit: 0,
        }
    }

    /// Handles one upcall for vCPU `vcpu`: calls `handle(port)` for every
    /// port found pending and unmasked, after clearing its pending bit.
    /// Returns how many ports were handed out. A `vcpu` without a
    /// `vcpu_info` slot in `shared_info` has nothing to scan.
    pub fn handle_upcall(
        &mut self,
        shared: &SharedInfo,
        vcpu: usize,
        mut handle: impl FnMut(EvtchnPort),
    ) -> usize {
        let Some(vcpu_info) = shared.vcpu_info.get(vcpu) else {
            return 0;
        };
        let mut handled = 0;
        for _ in 0..Self::MAX_PASSES {
            // SeqCst on both: clear the master flag before taking the
            // selector, so an event whose selector bit lands after the
            // exchange finds the flag clear and Xen sets it again.
            vcpu_info.evtchn_upcall_pending.store(0, Ordering::SeqCst);
            let selected = vcpu_info.evtchn_pending_sel.swap(0, Ordering::SeqCst);
            handled += self.scan(shared, selected, &mut handle);
            if vcpu_info.evtchn_upcall_pending.load(Ordering::SeqCst) == 0 {
                break;
            }
        }
        handled
    }

    /// One pass over the words in `selected`, as Linux scans: start at the
    /// saved word and bit, visit the starting word a second time (whole)
    /// after wrapping, every other selected word once.
    fn scan(
        &mut self,
        shared: &SharedInfo,
        mut selected: u64,
        handle: &mut impl FnMut(EvtchnPort),
    ) -> usize {
        let (start_word, start_bit) = (self.next_word, self.next_bit);
        let mut word_index = start_word;
        let mut handled = 0;
        let mut first = true;
        while selected != 0 {
            let words = clear_low_bits(selected, word_index);
            if words == 0 {
                // Nothing at or above word_index: wrap to word 0.
                word_index = 0;
                first = false;
                continue;
            }
            word_index = words.trailing_zeros() as usize;
            let pending = &shared.evtchn_pending[word_index];
            // Acquire: pairs with Xen's locked set of the pending bit.
            let active = pending.load(Ordering::Acquire)
                & !shared.evtchn_mask[word_index].load(Ordering::Acquire);
            let mut bit_index = if word_index == start_word && first {
                start_bit
            } else {
                0
            };
            loop {
                let bits = clear_low_bits(active, bit_index);
                if bits == 0 {
                    break;
                }
                bit_index = bits.trailing_zeros() as usize;
                let bit = 1u64 << bit_index;
                // Test-and-clear before handing the port out: an event that
                // arrives from here on sets the bit (and selector) again.
                if pending.fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
                    // word_index < 64 and bit_index < 64: the port is < 4096.
                    handle((word_index * BITS + bit_index) as EvtchnPort);
                    handled += 1;
                }
                bit_index = (bit_index + 1) % BITS;
                // Resume after this port next time.
                self.next_word = if bit_index != 0 {
                    word_index
                } else {
                    (word_index + 1) % BITS
                };
                self.next_bit = bit_index;
                if bit_index == 0 {
                    break;
                }
            }
            // The starting word is scanned twice (its upper part first, then
            // whole after wrapping); every other word once.
            if word_index != start_word || !first {
                selected &= !(1u64 << word_index);
            }
            word_index = (word_index + 1) % BITS;
            first = false;
        }
        handled
    }
}
