// SPDX-License-Identifier: MIT OR Apache-2.0
//! `event_scan`: the upcall handler's scan of pending event-channel bits.
//!
//! Xen sets pending bits and selector bits at any time, in any
//! combination (a selector bit with no pending word, pending bits with no
//! selector, masked ports, the upcall flag raised again mid-scan). The
//! fuzzer's bytes fill `shared_info` (pending and mask words, the selector
//! and upcall flag of an arbitrary vCPU, possibly one with no slot), then
//! run several upcalls with a scanner that remembers where it stopped,
//! raising new events between them.
//!
//! Invariants: each port handed out was pending and not masked, and is
//! handed out once per time it was raised; its pending bit is clear when
//! the handler sees it; masked ports stay pending and are never handed
//! out; pending ports whose word was selected are all handed out within
//! [`UpcallScanner::MAX_PASSES`] passes (none is lost); the count returned
//! is the number of calls; the handler never runs for a vCPU without a
//! `vcpu_info` slot.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use arbitrary::Unstructured;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::xen::SharedInfo;
use xen::events::UpcallScanner;

/// 64-bit words of pending and mask bits (2-level ABI).
const WORDS: usize = 64;
/// Most upcalls one input runs.
const MAX_UPCALLS: usize = 16;

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let shared = Box::new(SharedInfo::default());
    let mut scanner = UpcallScanner::new();
    let vcpus = shared.vcpu_info.len();
    for _ in 0..MAX_UPCALLS {
        if u.is_empty() {
            break;
        }
        let Ok(vcpu) = u.int_in_range(0..=vcpus) else {
            break;
        };
        // Raise events: pending words, masks, the selector.
        let raised = u.int_in_range(0..=8_usize).unwrap_or(0);
        for _ in 0..raised {
            let (Ok(word), Ok(bits), Ok(masked)) = (
                u.int_in_range(0..=WORDS - 1),
                u.arbitrary::<u64>(),
                u.arbitrary::<u64>(),
            ) else {
                break;
            };
            shared.evtchn_pending[word].fetch_or(bits, Ordering::SeqCst);
            shared.evtchn_mask[word].store(masked, Ordering::SeqCst);
        }
        let selector: u64 = u.arbitrary().unwrap_or(0);
        if let Some(info) = shared.vcpu_info.get(vcpu) {
            info.evtchn_pending_sel.fetch_or(selector, Ordering::SeqCst);
            info.evtchn_upcall_pending.store(1, Ordering::SeqCst);
        }
        // What may be handed out: pending, unmasked, in a selected word.
        let selected = shared
            .vcpu_info
            .get(vcpu)
            .map_or(0, |info| info.evtchn_pending_sel.load(Ordering::SeqCst));
        let mut deliverable = BTreeSet::new();
        let mut masked_pending = BTreeSet::new();
        for word in 0..WORDS {
            let pending = shared.evtchn_pending[word].load(Ordering::SeqCst);
            let mask = shared.evtchn_mask[word].load(Ordering::SeqCst);
            for bit in 0..64 {
                let port = (word * 64 + bit) as EvtchnPort;
                if pending & (1 << bit) == 0 {
                    continue;
                }
                if mask & (1 << bit) != 0 {
                    masked_pending.insert(port);
                } else if selected & (1 << word) != 0 {
                    deliverable.insert(port);
                }
            }
        }
        let mut seen = Vec::new();
        let count = scanner.handle_upcall(&shared, vcpu, |port| {
            let word = port as usize / 64;
            let bit = port as usize % 64;
            assert!(word < WORDS, "port {port} out of range");
            assert_eq!(
                shared.evtchn_pending[word].load(Ordering::SeqCst) & (1 << bit),
                0,
                "port {port} handed out with its pending bit set"
            );
            seen.push(port);
        });
        assert_eq!(count, seen.len(), "the count is not the calls");
        if vcpu >= vcpus {
            assert_eq!(count, 0, "a vCPU without a slot was scanned");
            continue;
        }
        let handed: BTreeSet<EvtchnPort> = seen.iter().copied().collect();
        assert_eq!(
            handed.len(),
            seen.len(),
            "a port handed out twice: {seen:?}"
        );
        assert_eq!(
            handed, deliverable,
            "handed out {handed:?}, deliverable {deliverable:?}"
        );
        for port in masked_pending {
            let (word, bit) = (port as usize / 64, port as usize % 64);
            assert_ne!(
                shared.evtchn_pending[word].load(Ordering::SeqCst) & (1 << bit),
                0,
                "masked port {port} lost its pending bit"
            );
        }
    }
}
