// SPDX-License-Identifier: MIT OR Apache-2.0
//! N configuration reads and writes through the full op path, for instruction counts.
//!
//! Builds a simulated NIC, takes it, gives it to a vpci frontend, then
//! serves `N` ops (default 100000) the way the kernel will: a fresh copy of
//! `xen_pci_op` per op into [`GuestDevices::handle`]. The ops cycle through
//! the common kinds of `read`s (virtual registers: IDs, a BAR; hardware
//! registers with and without a field) or of `write`s (cache line size,
//! command, a BAR being sized); `mixed` (the default) cycles through both.
//! Run it under callgrind with two values of `N` and divide the difference
//! by the difference of N to get instructions per op without the setup
//! (`cargo xtask bench` does):
//!
//! ```text
//! cargo build --release -p op-bench
//! valgrind --tool=callgrind target/release/op-bench 100000 read
//! ```
//!
//! The simulated bus takes a lock per register access, so the counts are
//! an upper bound for ECAM.

use std::hint::black_box;

use pci::sim::SimBus;
use pci::{Address, enumerate};
use pciback::sim::{self, FakeDelay, FakeInterrupts, at_once};
use pciback::{Device, DeviceOptions, GuestDevices, TopologyKind};
use xen::abi::io::pciif::{XEN_PCI_OP_CONF_READ, XEN_PCI_OP_CONF_WRITE, XenPciOp};

/// (op, offset, size, value) cycled through for `read`.
const READS: [(u32, i32, i32, u32); 6] = [
    (XEN_PCI_OP_CONF_READ, 0x00, 4, 0),  // vendor and device: virtual
    (XEN_PCI_OP_CONF_READ, 0x04, 2, 0),  // command: hardware and cache
    (XEN_PCI_OP_CONF_READ, 0x10, 4, 0),  // BAR0: virtual
    (XEN_PCI_OP_CONF_READ, 0x08, 4, 0),  // class: no field
    (XEN_PCI_OP_CONF_READ, 0x3C, 4, 0),  // line (virtual), pin, min/max
    (XEN_PCI_OP_CONF_READ, 0x100, 4, 0), // extended space: no field
];

/// (op, offset, size, value) cycled through for `write`.
const WRITES: [(u32, i32, i32, u32); 4] = [
    (XEN_PCI_OP_CONF_WRITE, 0x0C, 1, 0x10), // cache line size: written
    (XEN_PCI_OP_CONF_WRITE, 0x04, 2, 0x07), // command: enable, bus master
    (XEN_PCI_OP_CONF_WRITE, 0x10, 4, 0xffff_ffff), // BAR0 sizing: virtual
    (XEN_PCI_OP_CONF_WRITE, 0x10, 4, 0xfebc_0000), // BAR0 restored: virtual
];

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |arg| arg.parse().expect("N must be a number"));
    let mixed: Vec<_> = READS.iter().chain(&WRITES).copied().collect();
    let ops: &[(u32, i32, i32, u32)] = match std::env::args().nth(2).as_deref() {
        Some("read") => &READS,
        Some("write") => &WRITES,
        None | Some("mixed") => &mixed,
        Some(other) => panic!("unknown mode {other}: read, write or mixed"),
    };
    let nic = Address::new(0, 0, 3, 0).expect("valid address");
    let bus = SimBus::new().device(nic, sim::nic::nic());
    let topology = enumerate(&bus, 0, 0..=0);
    let delay = FakeDelay::new();
    let mut interrupts = FakeInterrupts::new(16);
    let device = at_once(Device::take(
        &bus,
        &topology,
        nic,
        &DeviceOptions::default(),
        &[],
        &delay,
    ))
    .expect("the NIC can be taken");
    let mut guest = GuestDevices::new(TopologyKind::Vpci, false);
    let guest_nic = guest.add(device).expect("a free slot").0;

    let mut checksum = 0_u32;
    for (index, &(cmd, offset, size, value)) in (0..count).zip(ops.iter().cycle()) {
        let mut op = XenPciOp {
            cmd,
            domain: guest_nic.segment().into(),
            bus: guest_nic.bus().into(),
            devfn: guest_nic.devfn().into(),
            offset,
            size,
            value,
            ..XenPciOp::default()
        };
        let reply = at_once(guest.handle(black_box(&mut op), &bus, &mut interrupts, &delay));
        checksum = checksum
            .wrapping_add(reply.value)
            .wrapping_add(reply.err as u32)
            .rotate_left(u32::try_from(index % 31).unwrap_or(0));
        // Keep the write log from growing without bound.
        if index % 4096 == 0 {
            bus.clear_writes();
        }
    }
    println!("{count} ops, checksum {checksum:#010x}");
}
