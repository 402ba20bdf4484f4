// SPDX-License-Identifier: MIT OR Apache-2.0
//! Per-port pending and mask bits in `shared_info`.
//!
//! Port *p* is bit `p % 64` of word `p / 64` of `evtchn_pending` and
//! `evtchn_mask`. Xen sets pending bits concurrently, so every change here
//! is an atomic read-modify-write.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::Errno;
use crate::abi::event_channel::{EVTCHN_2L_NR_CHANNELS, EvtchnPort};
use crate::abi::xen::{EVTCHN_WORDS, SharedInfo};
use crate::hypercall::{Hypercall, event_channel};

const _: () = assert!(EVTCHN_2L_NR_CHANNELS as usize == EVTCHN_WORDS * 64);

/// A port number beyond the 4096 ports of the 2-level ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortOutOfRange(pub EvtchnPort);

impl fmt::Display for PortOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "event channel port {} is beyond the 2-level limit {EVTCHN_2L_NR_CHANNELS}",
            self.0
        )
    }
}

impl core::error::Error for PortOutOfRange {}

/// The word index and bit of `port`. The index is below `EVTCHN_WORDS`, the
/// length of `evtchn_pending` and `evtchn_mask`, so indexing them cannot fail.
pub(super) fn locate(port: EvtchnPort) -> Result<(usize, u64), PortOutOfRange> {
    if port >= EVTCHN_2L_NR_CHANNELS {
        return Err(PortOutOfRange(port));
    }
    Ok(((port / 64) as usize, 1u64 << (port % 64)))
}

/// `port`'s mask word, pending word and bit.
fn words(
    shared: &SharedInfo,
    port: EvtchnPort,
) -> Result<(&AtomicU64, &AtomicU64, u64), PortOutOfRange> {
    let (index, bit) = locate(port)?;
    match (
        shared.evtchn_mask.get(index),
        shared.evtchn_pending.get(index),
    ) {
        (Some(mask), Some(pending)) => Ok((mask, pending, bit)),
        _ => Err(PortOutOfRange(port)),
    }
}

/// Masks `port`: Xen keeps setting its pending bit but raises no upcall.
pub fn mask(shared: &SharedInfo, port: EvtchnPort) -> Result<(), PortOutOfRange> {
    let (mask, _, bit) = words(shared, port)?;
    mask.fetch_or(bit, Ordering::SeqCst);
    Ok(())
}

/// Whether `port` is masked.
pub fn is_masked(shared: &SharedInfo, port: EvtchnPort) -> Result<bool, PortOutOfRange> {
    let (mask, _, bit) = words(shared, port)?;
    Ok(mask.load(Ordering::Acquire) & bit != 0)
}

/// Whether `port` is pending.
pub fn is_pending(shared: &SharedInfo, port: EvtchnPort) -> Result<bool, PortOutOfRange> {
    let (_, pending, bit) = words(shared, port)?;
    Ok(pending.load(Ordering::Acquire) & bit != 0)
}

/// Clears `port`'s pending bit; returns whether it was set.
pub fn clear_pending(shared: &SharedInfo, port: EvtchnPort) -> Result<bool, PortOutOfRange> {
    let (_, pending, bit) = words(shared, port)?;
    Ok(pending.fetch_and(!bit, Ordering::AcqRel) & bit != 0)
}

/// Clears `port`'s mask bit and nothing else: no upcall is raised for an
/// event that arrived while it was masked, which stays pending for the
/// caller to find (a domain that polled instead of taking upcalls).
pub fn clear_mask(shared: &SharedInfo, port: EvtchnPort) -> Result<(), PortOutOfRange> {
    let (mask, _, bit) = words(shared, port)?;
    mask.fetch_and(!bit, Ordering::SeqCst);
    Ok(())
}

/// Unmasks `port` without losing an event that arrived while it was masked.
///
/// As Linux's 2-level code does for HVM guests: clear the mask bit, then
/// check pending; if it is pending, re-mask and let `EVTCHNOP_unmask` clear
/// the mask and re-raise the upcall (Xen only raises it when it clears a set
/// mask bit). With nothing pending no hypercall is made.
pub fn unmask<H: Hypercall + ?Sized>(
    hv: &H,
    shared: &SharedInfo,
    port: EvtchnPort,
) -> Result<(), Errno> {
    let (mask_word, pending_word, bit) = words(shared, port).map_err(|_| Errno::EINVAL)?;
    // SeqCst: the mask must be clear before pending is checked, or an event
    // set between the two would find the port masked and raise nothing.
    mask_word.fetch_and(!bit, Ordering::SeqCst);
    if pending_word.load(Ordering::SeqCst) & bit == 0 {
        return Ok(());
    }
    mask_word.fetch_or(bit, Ordering::SeqCst);
    event_channel::unmask(hv, port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::event_channel::EVTCHNOP_UNMASK;
    use crate::abi::xen::HYPERVISOR_EVENT_CHANNEL_OP;
    use crate::events::UpcallScanner;
    use crate::sim::FakeXen;

    #[test]
    fn unmask_without_pending_event_needs_no_hypercall() {
        let xen = FakeXen::new();
        let dom = xen.add_domain(1);
        let shared = xen.shared_info(1).unwrap();
        let port = event_channel::alloc_unbound(&dom, 2).unwrap();
        mask(&shared, port).unwrap();
        assert!(is_masked(&shared, port).unwrap());
        unmask(&dom, &shared, port).unwrap();
        assert!(!is_masked(&shared, port).unwrap());
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_UNMASK), 0);
    }

    #[test]
    fn an_event_that_arrived_while_masked_is_raised_on_unmask() {
        let xen = FakeXen::new();
        let dom = xen.add_domain(1);
        let shared = xen.shared_info(1).unwrap();
        let port = event_channel::alloc_unbound(&dom, 2).unwrap();
        mask(&shared, port).unwrap();
        crate::sim::raise_event(&shared, 0, port);
        let vcpu = &shared.vcpu_info[0];
        assert_eq!(
            vcpu.evtchn_upcall_pending.load(Ordering::Relaxed),
            0,
            "masked: no upcall"
        );
        unmask(&dom, &shared, port).unwrap();
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_UNMASK), 1);
        assert!(!is_masked(&shared, port).unwrap());
        assert_eq!(
            vcpu.evtchn_upcall_pending.load(Ordering::Relaxed),
            1,
            "Xen re-raised it"
        );
        let mut got = std::vec::Vec::new();
        UpcallScanner::new().handle_upcall(&shared, 0, |p| got.push(p));
        assert_eq!(got, [port]);
    }

    #[test]
    fn ports_beyond_the_2_level_limit_are_refused() {
        let shared = SharedInfo::default();
        assert_eq!(mask(&shared, 4096), Err(PortOutOfRange(4096)));
        assert_eq!(is_pending(&shared, u32::MAX), Err(PortOutOfRange(u32::MAX)));
        assert_eq!(locate(4095), Ok((63, 1 << 63)));
        assert_eq!(locate(65), Ok((1, 2)));
        crate::sim::raise_event(&shared, 0, 65);
        assert_eq!(clear_pending(&shared, 65), Ok(true));
        assert_eq!(clear_pending(&shared, 65), Ok(false));
    }

    #[test]
    fn clearing_the_mask_leaves_an_event_that_came_meanwhile_pending() {
        let xen = FakeXen::new();
        let dom = xen.add_domain(1);
        xen.add_domain(2);
        let shared = xen.shared_info(1).unwrap();
        let port = event_channel::alloc_unbound(&dom, 2).unwrap();
        mask(&shared, port).unwrap();
        crate::sim::raise_event(&shared, 0, port);
        clear_mask(&shared, port).unwrap();
        assert!(!is_masked(&shared, port).unwrap());
        assert!(is_pending(&shared, port).unwrap());
        assert_eq!(xen.count(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_UNMASK), 0);
    }
}
