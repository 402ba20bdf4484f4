// SPDX-License-Identifier: MIT OR Apache-2.0
//! The op server: Linux's `xen_pcibk_do_op` over the shared page.
//!
//! The frontend writes `xen_pci_op`, then (write barrier) sets
//! `_XEN_PCIF_active` and notifies. Per op, [`serve`]:
//!
//! 1. loads `flags` with Acquire: if the bit is set, the op the frontend
//!    wrote before setting it is visible;
//! 2. copies the op out of the page once, and from then on uses only the
//!    copy (XSA-155): [`GuestDevices::handle`] validates and answers it;
//! 3. writes back only the result fields: `err`, `value` and, after a
//!    successful `enable_msix`, `msix_entries[i].vector` for the entries
//!    the copy named;
//! 4. clears the bit with Release (the results are visible before the
//!    frontend sees the bit clear) and notifies.
//!
//! It answers at most `budget` ops a turn and says whether another was
//! waiting, so the caller can let other frontends run first (one guest
//! flooding ops cannot starve another).

use core::mem::offset_of;
use core::sync::atomic::Ordering;

use pci::ConfigAccess;
use xen::abi::io::pciif::{
    FLAGS_OFFSET, OP_OFFSET, XEN_PCI_OP_CONF_READ, XEN_PCIF_ACTIVE, XenMsixEntry, XenPciOp,
};
use xen::shared_page::SharedPage;

use crate::{Delay, GuestDevices, InterruptControl, Reply};

/// Where `xen_pci_op.err` is in the page.
const ERR_OFFSET: usize = OP_OFFSET + offset_of!(XenPciOp, err);
/// Where `xen_pci_op.value` is in the page.
const VALUE_OFFSET: usize = OP_OFFSET + offset_of!(XenPciOp, value);
/// Where `xen_pci_op.msix_entries[0].vector` is in the page.
const VECTORS_OFFSET: usize =
    OP_OFFSET + offset_of!(XenPciOp, msix_entries) + offset_of!(XenMsixEntry, vector);

/// What one turn of the op server did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Turn {
    /// Ops answered.
    pub answered: u32,
    /// Of those, answered with a non-zero `err`.
    pub failed: u32,
    /// The budget ran out with another op waiting: call again after
    /// letting the others run.
    pub more: bool,
}

/// Where `msix_entries[index].vector` is in the page.
fn vector_offset(index: usize) -> Option<usize> {
    index
        .checked_mul(size_of::<XenMsixEntry>())?
        .checked_add(VECTORS_OFFSET)
}

/// Writes `answer`'s result fields into the op in `page`.
fn write_back(page: SharedPage<'_>, err: i32, value: u32, vectors: &[XenMsixEntry]) -> Option<()> {
    page.write_bytes(ERR_OFFSET, &err.to_le_bytes()).ok()?;
    page.write_bytes(VALUE_OFFSET, &value.to_le_bytes()).ok()?;
    for (index, entry) in vectors.iter().enumerate() {
        page.write_bytes(vector_offset(index)?, &entry.vector.to_le_bytes())
            .ok()?;
    }
    Some(())
}

/// How a turn is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most ops answered in the turn.
    pub budget: u32,
    /// The benchmark's floor ([`super::Backend::answer_reads_at_once`]).
    pub reads_at_once: bool,
}

/// Answers the ops waiting in `page`, at most `limits.budget` of them, for
/// the frontend whose devices are `devices`; calls `notify` after each.
pub async fn serve<A, I, D>(
    page: SharedPage<'_>,
    devices: &mut GuestDevices,
    access: &A,
    interrupts: &mut I,
    delay: &D,
    limits: Limits,
    notify: &mut dyn FnMut(),
) -> Turn
where
    A: ConfigAccess + ?Sized,
    I: InterruptControl + ?Sized,
    D: Delay + ?Sized,
{
    let mut turn = Turn::default();
    // A read-only view cannot hold a handshake; nothing to serve.
    let Ok(flags) = page.atomic_u32(FLAGS_OFFSET) else {
        return turn;
    };
    // Acquire: pairs with the frontend's barrier before it set the bit.
    while flags.load(Ordering::Acquire) & XEN_PCIF_ACTIVE != 0 {
        if turn.answered >= limits.budget {
            turn.more = true;
            break;
        }
        let Ok(mut op) = page.read::<XenPciOp>(OP_OFFSET) else {
            break;
        };
        let reply = if limits.reads_at_once && op.cmd == XEN_PCI_OP_CONF_READ {
            Reply {
                err: 0,
                value: 0,
                msix_entries: &[],
            }
        } else {
            devices.handle(&mut op, access, interrupts, delay).await
        };
        if write_back(page, reply.err, reply.value, reply.msix_entries).is_none() {
            break;
        }
        // Release: the results are in the page before the bit clears.
        flags.fetch_and(!XEN_PCIF_ACTIVE, Ordering::Release);
        notify();
        turn.answered = turn.answered.saturating_add(1);
        if reply.err != 0 {
            turn.failed = turn.failed.saturating_add(1);
        }
    }
    turn
}

#[cfg(test)]
mod tests {
    use std::boxed::Box;
    use std::cell::Cell;

    use pci::Address;
    use pci::sim::SimBus;
    use xen::abi::io::pciif::{
        XEN_PCI_ERR_DEV_NOT_FOUND, XEN_PCI_ERR_NOT_IMPLEMENTED, XEN_PCI_OP_CONF_READ,
        XEN_PCI_OP_ENABLE_MSIX, XEN_PCIB_AERHANDLER,
    };
    use xen::shared_page::PageFrame;

    use super::*;
    use crate::sim::{FakeDelay, FakeInterrupts, at_once, nic};
    use crate::{Device, DeviceOptions, TopologyKind};

    const NIC: Address = match Address::new(0, 0, 3, 0) {
        Some(address) => address,
        None => unreachable!(),
    };

    struct Setup {
        bus: SimBus,
        delay: FakeDelay,
        interrupts: FakeInterrupts,
        devices: GuestDevices,
    }

    fn setup() -> Setup {
        let bus = SimBus::new().device(NIC, nic::nic());
        let topology = pci::enumerate(&bus, 0, 0..=0);
        let delay = FakeDelay::new();
        let device = at_once(Device::take(
            &bus,
            &topology,
            NIC,
            &DeviceOptions::default(),
            &[],
            &delay,
        ))
        .unwrap();
        let mut devices = GuestDevices::new(TopologyKind::Vpci, false);
        devices.add(device).unwrap();
        Setup {
            bus,
            delay,
            interrupts: FakeInterrupts::new(100),
            devices,
        }
    }

    impl Setup {
        /// Serves `page` as the backend does, over the fakes.
        fn serve(&mut self, page: SharedPage<'_>, budget: u32, notify: &mut dyn FnMut()) -> Turn {
            let limits = Limits {
                budget,
                reads_at_once: false,
            };
            self.serve_with(page, limits, notify)
        }

        /// As [`Setup::serve`], with `limits`.
        fn serve_with(
            &mut self,
            page: SharedPage<'_>,
            limits: Limits,
            notify: &mut dyn FnMut(),
        ) -> Turn {
            at_once(serve(
                page,
                &mut self.devices,
                &self.bus,
                &mut self.interrupts,
                &self.delay,
                limits,
                notify,
            ))
        }
    }

    fn post(page: SharedPage<'_>, op: &XenPciOp) {
        page.write(OP_OFFSET, op).unwrap();
        page.atomic_u32(FLAGS_OFFSET)
            .unwrap()
            .fetch_or(XEN_PCIF_ACTIVE, Ordering::Release);
    }

    fn read_vendor() -> XenPciOp {
        XenPciOp {
            cmd: XEN_PCI_OP_CONF_READ,
            offset: 0,
            size: 2,
            ..XenPciOp::default()
        }
    }

    #[test]
    fn only_result_fields_change_and_other_flag_bits_survive() {
        let mut s = setup();
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        page.write_u32(FLAGS_OFFSET, XEN_PCIB_AERHANDLER).unwrap();
        let mut op = XenPciOp {
            info: 0xdead_beef,
            value: 0x5555_5555,
            ..read_vendor()
        };
        for (index, entry) in op.msix_entries.iter_mut().enumerate() {
            entry.entry = index as u16;
            entry.vector = 0xAAAA;
        }
        post(page, &op);
        let notified = Cell::new(0);
        let turn = s.serve(page, 8, &mut || notified.set(notified.get() + 1));
        assert_eq!(
            turn,
            Turn {
                answered: 1,
                failed: 0,
                more: false
            }
        );
        assert_eq!(notified.get(), 1);
        assert_eq!(page.read_u32(FLAGS_OFFSET), Ok(XEN_PCIB_AERHANDLER));
        let after: XenPciOp = page.read(OP_OFFSET).unwrap();
        assert_eq!(
            after,
            XenPciOp {
                err: 0,
                value: 0x8086,
                ..op
            }
        );
    }

    #[test]
    fn msix_vectors_come_back_for_the_entries_asked_only() {
        let mut s = setup();
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        // The take left memory decoding on: the MSI-X table is reachable.
        let mut op = XenPciOp {
            cmd: XEN_PCI_OP_ENABLE_MSIX,
            value: 2,
            ..XenPciOp::default()
        };
        for (index, entry) in op.msix_entries.iter_mut().enumerate() {
            entry.entry = (index % 4) as u16;
            entry.vector = 0xFFFF;
        }
        op.msix_entries[1].entry = 3;
        post(page, &op);
        s.serve(page, 1, &mut || {});
        let after: XenPciOp = page.read(OP_OFFSET).unwrap();
        assert_eq!((after.err, after.value), (0, 0));
        // FakeInterrupts hands out PIRQs from 100.
        assert_eq!(after.msix_entries[0].vector, 100);
        assert_eq!(after.msix_entries[1].vector, 101);
        assert_eq!(after.msix_entries[1].entry, 3);
        assert!(after.msix_entries[2..].iter().all(|e| e.vector == 0xFFFF));
    }

    #[test]
    fn the_budget_bounds_a_flood() {
        let mut s = setup();
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        post(page, &read_vendor());
        // A frontend that posts the next op the moment it is notified.
        let mut flood = || post(page, &read_vendor());
        let turn = s.serve(page, 5, &mut flood);
        assert_eq!(
            turn,
            Turn {
                answered: 5,
                failed: 0,
                more: true
            }
        );
        // The sixth op is still waiting, untouched.
        assert_eq!(page.read_u32(FLAGS_OFFSET), Ok(XEN_PCIF_ACTIVE));
    }

    #[test]
    fn nothing_posted_nothing_served_and_failures_are_counted() {
        let mut s = setup();
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        let idle = s.serve(page, 5, &mut || panic!("notified for nothing"));
        assert_eq!(idle, Turn::default());
        post(
            page,
            &XenPciOp {
                cmd: 77,
                ..XenPciOp::default()
            },
        );
        let turn = s.serve(page, 5, &mut || {});
        assert_eq!((turn.answered, turn.failed), (1, 1));
        let after: XenPciOp = page.read(OP_OFFSET).unwrap();
        assert_eq!(after.err, XEN_PCI_ERR_NOT_IMPLEMENTED);
        post(
            page,
            &XenPciOp {
                devfn: 0x08,
                ..read_vendor()
            },
        );
        s.serve(page, 5, &mut || {});
        let after: XenPciOp = page.read(OP_OFFSET).unwrap();
        assert_eq!(after.err, XEN_PCI_ERR_DEV_NOT_FOUND);
        // A read-only view is never served.
        let read_only = SharedPage::read_only(&frame);
        post(page, &read_vendor());
        assert_eq!(s.serve(read_only, 5, &mut || {}), Turn::default());
    }

    /// The benchmark's floor answers reads without the device (or the
    /// lookup), and nothing else.
    #[test]
    fn the_read_floor_answers_reads_without_the_device() {
        let mut s = setup();
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        let floor = Limits {
            budget: 8,
            reads_at_once: true,
        };
        let reads = s.bus.reads();
        let elsewhere = XenPciOp {
            devfn: 0x08,
            ..read_vendor()
        };
        let other = XenPciOp {
            cmd: 77,
            ..XenPciOp::default()
        };
        for (op, err) in [
            (read_vendor(), 0),
            (elsewhere, 0),
            (other, XEN_PCI_ERR_NOT_IMPLEMENTED),
        ] {
            post(page, &op);
            s.serve_with(page, floor, &mut || {});
            let after: XenPciOp = page.read(OP_OFFSET).unwrap();
            assert_eq!((after.err, after.value), (err, 0), "{op:?}");
        }
        // Other ops (the last) are served as always; reads never touched it.
        assert_eq!(s.bus.reads(), reads, "the device was read");
    }
}
