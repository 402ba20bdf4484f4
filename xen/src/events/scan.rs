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

/// The index after `i` (a word or a bit), wrapping to 0 after the last.
fn next(i: usize) -> usize {
    i.checked_add(1).filter(|&n| n < BITS).unwrap_or(0)
}

/// The port of bit `bit` of word `word` (both below 64, so below 4096).
fn port(word: usize, bit: usize) -> EvtchnPort {
    let index = word.saturating_mul(BITS).saturating_add(bit);
    EvtchnPort::try_from(index).unwrap_or(EvtchnPort::MAX)
}

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
        let mut handled: usize = 0;
        for _ in 0..Self::MAX_PASSES {
            // SeqCst on both: clear the master flag before taking the
            // selector, so an event whose selector bit lands after the
            // exchange finds the flag clear and Xen sets it again.
            vcpu_info.evtchn_upcall_pending.store(0, Ordering::SeqCst);
            let selected = vcpu_info.evtchn_pending_sel.swap(0, Ordering::SeqCst);
            handled = handled.saturating_add(self.scan(shared, selected, &mut handle));
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
        let mut handled: usize = 0;
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
            // A selector has as many bits as there are words: both exist.
            let (Some(pending), Some(mask)) = (
                shared.evtchn_pending.get(word_index),
                shared.evtchn_mask.get(word_index),
            ) else {
                selected &= !(1u64 << word_index);
                continue;
            };
            // Acquire: pairs with Xen's locked set of the pending bit.
            let active = pending.load(Ordering::Acquire) & !mask.load(Ordering::Acquire);
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
                    handle(port(word_index, bit_index));
                    handled = handled.saturating_add(1);
                }
                bit_index = next(bit_index);
                // Resume after this port next time.
                self.next_word = if bit_index != 0 {
                    word_index
                } else {
                    next(word_index)
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
            word_index = next(word_index);
            first = false;
        }
        handled
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32};
    use std::vec::Vec;

    use super::*;
    use crate::sim::raise_event;

    fn upcall(scanner: &mut UpcallScanner, shared: &SharedInfo) -> Vec<EvtchnPort> {
        let mut ports = Vec::new();
        scanner.handle_upcall(shared, 0, |p| ports.push(p));
        ports
    }

    #[test]
    fn hands_out_each_pending_port_once_and_clears_everything() {
        let shared = SharedInfo::default();
        for port in [5, 64, 4095, 5] {
            raise_event(&shared, 0, port);
        }
        let vcpu = &shared.vcpu_info[0];
        assert_eq!(vcpu.evtchn_upcall_pending.load(Ordering::Relaxed), 1);
        assert_eq!(
            vcpu.evtchn_pending_sel.load(Ordering::Relaxed),
            1 | 1 << 1 | 1 << 63
        );
        let mut scanner = UpcallScanner::new();
        assert_eq!(upcall(&mut scanner, &shared), [5, 64, 4095]);
        assert_eq!(vcpu.evtchn_upcall_pending.load(Ordering::Relaxed), 0);
        assert_eq!(vcpu.evtchn_pending_sel.load(Ordering::Relaxed), 0);
        assert!(
            shared
                .evtchn_pending
                .iter()
                .all(|w| w.load(Ordering::Relaxed) == 0)
        );
        assert_eq!(upcall(&mut scanner, &shared), []);
    }

    #[test]
    fn resumes_after_the_last_port_across_words() {
        let shared = SharedInfo::default();
        let mut scanner = UpcallScanner::new();
        raise_event(&shared, 0, 3);
        raise_event(&shared, 0, 200);
        assert_eq!(upcall(&mut scanner, &shared), [3, 200]);
        // Resume after 200: 250 (same word, higher bit) comes before 1.
        raise_event(&shared, 0, 1);
        raise_event(&shared, 0, 250);
        assert_eq!(upcall(&mut scanner, &shared), [250, 1]);
        // Resume after 1: a higher port of word 0 first, then the rest.
        raise_event(&shared, 0, 0);
        raise_event(&shared, 0, 2);
        raise_event(&shared, 0, 4000);
        assert_eq!(upcall(&mut scanner, &shared), [2, 4000, 0]);
    }

    #[test]
    fn scans_the_starting_word_in_two_parts() {
        let shared = SharedInfo::default();
        let mut scanner = UpcallScanner::new();
        raise_event(&shared, 0, 68);
        assert_eq!(upcall(&mut scanner, &shared), [68]);
        // Cursor at word 1, bit 5: its upper part first, other words, then
        // the lower part of word 1 after wrapping.
        for port in [66, 70, 10] {
            raise_event(&shared, 0, port);
        }
        assert_eq!(upcall(&mut scanner, &shared), [70, 10, 66]);
    }

    #[test]
    fn a_busy_port_does_not_starve_the_others() {
        let shared = SharedInfo::default();
        let mut scanner = UpcallScanner::new();
        for port in [1, 2, 3] {
            raise_event(&shared, 0, port);
        }
        // Port 1 is re-raised every time it is handled (a flooding guest).
        let mut seen = Vec::new();
        scanner.handle_upcall(&shared, 0, |p| {
            seen.push(p);
            if p == 1 {
                raise_event(&shared, 0, 1);
            }
        });
        // Pass 1 takes 1, 2, 3, then 1 again when it rescans its starting
        // word whole; each later pass finds only port 1.
        assert_eq!(&seen[..4], [1, 2, 3, 1]);
        assert_eq!(seen.len(), 4 + UpcallScanner::MAX_PASSES - 1);
        assert!(seen[4..].iter().all(|&p| p == 1));
        // Bounded: the flood is left pending for Xen to re-inject.
        assert_eq!(
            shared.vcpu_info[0]
                .evtchn_upcall_pending
                .load(Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn masked_ports_stay_pending_and_are_skipped() {
        let shared = SharedInfo::default();
        let mut scanner = UpcallScanner::new();
        raise_event(&shared, 0, 9);
        raise_event(&shared, 0, 12);
        // Masked after Xen selected the word: the scan must skip it.
        crate::events::mask(&shared, 9).unwrap();
        assert_eq!(upcall(&mut scanner, &shared), [12]);
        assert!(crate::events::is_pending(&shared, 9).unwrap());
        // Masked before the event: Xen raises no upcall at all.
        crate::events::mask(&shared, 40).unwrap();
        raise_event(&shared, 0, 40);
        assert_eq!(
            shared.vcpu_info[0]
                .evtchn_upcall_pending
                .load(Ordering::Relaxed),
            0
        );
        assert_eq!(upcall(&mut scanner, &shared), []);
    }

    #[test]
    fn other_vcpus_are_ignored_and_out_of_range_vcpus_are_harmless() {
        let shared = SharedInfo::default();
        raise_event(&shared, 1, 5);
        let mut scanner = UpcallScanner::new();
        assert_eq!(upcall(&mut scanner, &shared), []);
        assert_eq!(
            scanner.handle_upcall(&shared, 99, |_| panic!("no vCPU 99")),
            0
        );
        let mut ports = Vec::new();
        scanner.handle_upcall(&shared, 1, |p| ports.push(p));
        assert_eq!(ports, [5]);
    }

    #[test]
    fn no_port_is_lost_while_another_thread_raises() {
        const ROUNDS: u32 = 300;
        let ports: Vec<EvtchnPort> = (0..4096).step_by(37).collect();
        let shared = Arc::new(SharedInfo::default());
        let generation: Arc<Vec<AtomicU32>> =
            Arc::new((0..4096).map(|_| AtomicU32::new(0)).collect());
        let done = Arc::new(AtomicBool::new(false));
        let xen = {
            let (shared, generation, done, ports) = (
                Arc::clone(&shared),
                Arc::clone(&generation),
                Arc::clone(&done),
                ports.clone(),
            );
            std::thread::spawn(move || {
                for round in 1..=ROUNDS {
                    for &port in &ports {
                        // The "data" of the event is published before the event.
                        generation[port as usize].store(round, Ordering::Release);
                        raise_event(&shared, 0, port);
                    }
                }
                done.store(true, Ordering::Release);
            })
        };
        let mut scanner = UpcallScanner::new();
        let mut seen = std::vec![0u32; 4096];
        let mut deliveries = 0usize;
        let mut handle = |p: EvtchnPort| {
            seen[p as usize] = generation[p as usize].load(Ordering::Acquire);
            deliveries += 1;
        };
        while !done.load(Ordering::Acquire) {
            scanner.handle_upcall(&shared, 0, &mut handle);
        }
        xen.join().unwrap();
        while shared.vcpu_info[0]
            .evtchn_upcall_pending
            .load(Ordering::SeqCst)
            != 0
        {
            scanner.handle_upcall(&shared, 0, &mut handle);
        }
        for &port in &ports {
            assert_eq!(
                seen[port as usize], ROUNDS,
                "port {port} lost its last event"
            );
        }
        assert!(deliveries <= ports.len() * ROUNDS as usize);
        assert!(
            shared
                .evtchn_pending
                .iter()
                .all(|w| w.load(Ordering::SeqCst) == 0)
        );
    }

    #[test]
    fn every_port_raised_once_concurrently_is_delivered_exactly_once() {
        let shared = Arc::new(SharedInfo::default());
        let raiser = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                // A fixed permutation of all 4096 ports (7 is odd, so
                // multiplying by it permutes 0..4096).
                for i in 0..4096u32 {
                    raise_event(&shared, 0, (i * 7 + 3) % 4096);
                }
            })
        };
        let mut scanner = UpcallScanner::new();
        let mut count = std::vec![0u32; 4096];
        while !raiser.is_finished() {
            scanner.handle_upcall(&shared, 0, |p| count[p as usize] += 1);
        }
        raiser.join().unwrap();
        while shared.vcpu_info[0]
            .evtchn_upcall_pending
            .load(Ordering::SeqCst)
            != 0
        {
            scanner.handle_upcall(&shared, 0, |p| count[p as usize] += 1);
        }
        assert!(
            count.iter().all(|&c| c == 1),
            "{:?}",
            count.iter().position(|&c| c != 1)
        );
    }
}
