// SPDX-License-Identifier: MIT OR Apache-2.0
//! The XenBus backend end to end: a toolstack, guests running pcifront, the backend.
//!
//! Everything runs over the simulated hypervisor and xenstored: the
//! toolstack writes libxl's nodes with a driver domain's paths and
//! permissions, each guest's [`SimPcifront`] behaves as Linux's
//! `xen-pcifront.c`, and the backend is the crate's [`Backend`], as the
//! kernel runs it. Expected values come from Linux's rules (`xenbus.c`,
//! `vpci.c`, `passthrough.c`, `conf_space_header.c`, `pciback_ops.c`),
//! each named where it is used.

mod common;

use std::rc::Rc;

use common::driver::{BACKEND, DriverDomain as Machine, flr_written};
use common::{address, conf_read, flr_endpoint, root_port};
use pci::register::Command;
use pci::sim::{ConfigWrite, SimBar, SimBus, SimDevice};
use pci::{Address, Width};
use pciback::sim::{Assignment, PciDevice};
use pciback::xenbus::Options;
use pciback::{TopologyKind, VirtualAddress};
use xen::Errno;
use xen::abi::domctl::pci_sbdf;
use xen::abi::io::pciif::{
    XEN_PCI_ERR_DEV_NOT_FOUND, XEN_PCI_ERR_INVALID_OFFSET, XEN_PCI_ERR_NOT_IMPLEMENTED,
    XEN_PCI_OP_AER_DETECTED, XEN_PCI_OP_CONF_READ, XEN_PCI_OP_DISABLE_MSI, XEN_PCI_OP_ENABLE_MSI,
    XEN_PCI_OP_ENABLE_MSIX, XenPciOp,
};
use xen::abi::io::xenbus::XenbusState;
use xen::abi::physdev::PHYSDEVOP_MAP_PIRQ;
use xen::abi::xen::{DomId, HYPERVISOR_PHYSDEV_OP};
use xen::hypercall::event_channel;
use xen::sim::{FakePirq, Injected};
use xen::xenstore::{Access, Permission};

/// A PCIe endpoint with an FLR, a memory and an I/O BAR, and INTx.
fn nic(vendor: u16, device: u16) -> SimDevice {
    flr_endpoint(vendor, device)
        .revision(2)
        .subsystem(vendor, 0x0001)
        .interrupt(1, 11)
        .command(Command::from_bits_retain(FIRMWARE_COMMAND))
        .bar(0, SimBar::memory32(0x4000).at(0xfe00_0000))
        .bar(1, SimBar::io(0x20).at(0xc000))
}

/// The command register firmware left in [`nic`]: memory, bus master,
/// INTx disabled.
const FIRMWARE_COMMAND: u16 = 0x0406;

/// The guest address `0000:00:dd.f`.
fn guest_at(device: u8, function: u8) -> VirtualAddress {
    VirtualAddress(address(0, device, function))
}

fn vpci() -> Options {
    Options::default()
}

fn passthrough() -> Options {
    Options {
        topology: TopologyKind::Passthrough,
        ..Options::default()
    }
}

const NIC_A: Address = address(0, 3, 0);
const NIC_B: Address = address(0, 5, 0);

#[test]
fn a_guest_connects_as_linux_pciback_connects_it() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    let front = machine.guest(2, &[NIC_A, NIC_B]);
    let ts = &machine.toolstack;
    assert_eq!(ts.backend_state(2), Some(XenbusState::Connected));
    assert_eq!(front.state(), XenbusState::Connected);
    // vpci.c: lowest free slot, function as is; vdev-N with %02x function.
    assert_eq!(
        ts.backend_key(2, "vdev-0").as_deref(),
        Some("0000:00:00.00")
    );
    assert_eq!(
        ts.backend_key(2, "vdev-1").as_deref(),
        Some("0000:00:01.00")
    );
    // setup_backend: state-N = Initialised for each exported device.
    assert_eq!(ts.backend_key(2, "state-0").as_deref(), Some("3"));
    assert_eq!(ts.backend_key(2, "state-1").as_deref(), Some("3"));
    // vpci publishes the one virtual root.
    assert_eq!(ts.backend_key(2, "root_num").as_deref(), Some("1"));
    assert_eq!(ts.backend_key(2, "root-0").as_deref(), Some("0000:00"));
    assert_eq!(ts.backend_error(2), None);
    // pcifront scanned root 0000:00 and found both.
    assert_eq!(front.devices(), [guest_at(0, 0), guest_at(1, 0)]);
    // Nodes the backend wrote keep the directory's permissions: readable
    // by the guest, owned by the driver domain.
    let vdev = format!("{}/vdev-0", ts.backend_dir(2));
    assert_eq!(
        machine.world.xenstored(|store| store.get_perms(&vdev)),
        Some(vec![
            Permission::new(BACKEND, Access::None),
            Permission::new(2, Access::Read)
        ])
    );
    // The devices are the guest's in Xen's eyes, and no longer in the pool.
    let xen = machine.world.xen();
    let mut assigned = xen.assigned_devices(2);
    assigned.sort_unstable();
    assert_eq!(
        assigned,
        [pci_sbdf(0, 0, NIC_A.devfn()), pci_sbdf(0, 0, NIC_B.devfn())]
    );
    assert!(machine.backend.free_devices().is_empty());
    // pcifront_publish_info: the grant, the port and the magic.
    let (gref, port) = front.published().unwrap();
    assert_eq!(ts.frontend_key(2, "pci-op-ref"), Some(gref.to_string()));
    assert_eq!(ts.frontend_key(2, "event-channel"), Some(port.to_string()));
    assert_eq!(ts.frontend_key(2, "magic").as_deref(), Some("7"));
    assert_eq!(ts.frontend_key(2, "state").as_deref(), Some("4"));
    // The shared page is mapped once.
    assert_eq!(xen.mapping_count(2, gref), 1);
    let status = machine.status(2).unwrap();
    assert_eq!(
        (status.state, status.devices, &status.error),
        (XenbusState::Connected, 2, &None)
    );
    // pcifront read the ID of each of the 256 functions of its root: two
    // answered, the others are not this guest's (dev_not_found).
    assert_eq!((status.ops, status.failed_ops), (256, 254), "{status:?}");
    // The devices answer through the page: vendor and device IDs.
    assert_eq!(machine.read(&front, guest_at(0, 0), 0, 4), (0, 0x10d3_8086));
    assert_eq!(machine.read(&front, guest_at(1, 0), 0, 4), (0, 0x1533_8086));
}

#[test]
fn passthrough_shows_real_addresses_and_publishes_each_root() {
    let behind = address(2, 0, 0);
    let mut machine = Machine::new(
        vec![
            (NIC_A, nic(0x8086, 0x10d3)),
            (address(0, 0x1c, 0), root_port(2)),
            (behind, nic(0x10ec, 0x8168)),
        ],
        passthrough(),
    );
    let front = machine.guest(2, &[NIC_A, behind]);
    let ts = &machine.toolstack;
    assert_eq!(ts.backend_state(2), Some(XenbusState::Connected));
    // passthrough.c: real addresses; each device's bus is a root.
    assert_eq!(
        ts.backend_key(2, "vdev-0").as_deref(),
        Some("0000:00:03.00")
    );
    assert_eq!(
        ts.backend_key(2, "vdev-1").as_deref(),
        Some("0000:02:00.00")
    );
    assert_eq!(ts.backend_key(2, "root_num").as_deref(), Some("2"));
    assert_eq!(ts.backend_key(2, "root-0").as_deref(), Some("0000:00"));
    assert_eq!(ts.backend_key(2, "root-1").as_deref(), Some("0000:02"));
    assert_eq!(
        front.devices(),
        [VirtualAddress(NIC_A), VirtualAddress(behind)]
    );
}

/// The registers of [`nic`] pciback shows as its own (Linux's
/// `conf_space_header.c`), with the rule; every other byte is the hardware's.
const VIRTUAL_REGISTERS: &[(u16, Width, u32, &str)] = &[
    (0x00, Width::Word, 0x1234, "header_common: vendor"),
    (0x02, Width::Word, 0x5678, "header_common: device"),
    (
        0x10,
        Width::Dword,
        0xfe00_0000,
        "bar_init: start | flags (mem32)",
    ),
    (
        0x14,
        Width::Dword,
        0x0000_c001,
        "bar_init: start | flags (I/O)",
    ),
    (0x18, Width::Dword, 0, "bar_init: no resource"),
    (0x1C, Width::Dword, 0, "bar_init: no resource"),
    (0x20, Width::Dword, 0, "bar_init: no resource"),
    (0x24, Width::Dword, 0, "bar_init: no resource"),
    (0x30, Width::Dword, 0, "rom: no resource"),
    (0x3C, Width::Byte, 11, "interrupt_read: dev->irq (the line)"),
];

/// Linux's PCI_COMMAND_GUEST.
const COMMAND_GUEST: u16 = 0x02BC;

/// What a guest read of `width` at `offset` of [`nic`] at `at` must give.
fn expected(bus: &SimBus, at: Address, offset: u16, width: Width) -> u32 {
    let mut model: Vec<Option<u8>> = vec![None; 4096];
    for &(register, register_width, value, _) in VIRTUAL_REGISTERS {
        let bytes = value.to_le_bytes();
        for index in 0..usize::from(register_width.bytes()) {
            model[usize::from(register) + index] = Some(bytes[index]);
        }
    }
    // command_read: (hardware & PCI_COMMAND_GUEST) | (cached & ~PCI_COMMAND_GUEST).
    let hardware = bus.peek(at, 0x04, Width::Word).unwrap() as u16;
    let command = (hardware & COMMAND_GUEST) | (FIRMWARE_COMMAND & !COMMAND_GUEST);
    model[4] = Some(command.to_le_bytes()[0]);
    model[5] = Some(command.to_le_bytes()[1]);
    (0..width.bytes()).rev().fold(0, |value, index| {
        let byte_at = offset + index;
        let byte = model[usize::from(byte_at)]
            .unwrap_or_else(|| bus.peek(at, byte_at, Width::Byte).unwrap() as u8);
        (value << 8) | u32::from(byte)
    })
}

#[test]
fn every_byte_of_configuration_space_reads_through_the_shared_page() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x1234, 0x5678))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    let at = guest_at(0, 0);
    machine.platform().bus().clear_writes();
    for size in [1_i32, 2, 4] {
        for offset in (0..4096_i32).step_by(size as usize) {
            let width = Width::from_bytes(size as u32).unwrap();
            let want = expected(machine.platform().bus(), NIC_A, offset as u16, width);
            assert_eq!(
                machine.read(&front, at, offset, size),
                (0, want),
                "read {size} at {offset:#x}"
            );
        }
    }
    // valid_request: unaligned -> invalid_offset.
    assert_eq!(
        machine.read(&front, at, 1, 2),
        (XEN_PCI_ERR_INVALID_OFFSET, 0)
    );
    // Reading never writes the hardware.
    assert!(machine.platform().bus().writes().is_empty());
}

#[test]
fn bar_sizing_as_linux_does_it_never_reaches_the_hardware() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x1234, 0x5678))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    let at = guest_at(0, 0);
    machine.platform().bus().clear_writes();
    // __pci_read_base: decoding off, then per BAR: save, write ones, read
    // the size, restore; then decoding back.
    let (_, command) = machine.read(&front, at, 0x04, 2);
    assert_eq!(machine.write(&front, at, 0x04, 2, command & !0x3), 0);
    // bar_init: len_val = -size | flags; empty BARs read 0.
    let sizes = [
        (0x10, 0xfe00_0000, 0xffff_c000),
        (0x14, 0x0000_c001, 0xffff_ffe1),
        (0x18, 0, 0),
        (0x1C, 0, 0),
        (0x20, 0, 0),
        (0x24, 0, 0),
    ];
    for (offset, value, size) in sizes {
        assert_eq!(machine.read(&front, at, offset, 4), (0, value));
        assert_eq!(machine.write(&front, at, offset, 4, u32::MAX), 0);
        assert_eq!(
            machine.read(&front, at, offset, 4),
            (0, size),
            "BAR at {offset:#x}"
        );
        assert_eq!(machine.write(&front, at, offset, 4, value), 0);
        assert_eq!(machine.read(&front, at, offset, 4), (0, value));
    }
    assert_eq!(machine.write(&front, at, 0x04, 2, command), 0);
    // The BARs were never written; the hardware still decodes where it did.
    let bar_writes: Vec<ConfigWrite> = machine
        .platform()
        .bus()
        .writes()
        .into_iter()
        .filter(|write| (0x10..0x28).contains(&write.offset))
        .collect();
    assert!(bar_writes.is_empty(), "{bar_writes:?}");
    let bus = machine.platform().bus();
    assert_eq!(bus.peek(NIC_A, 0x10, Width::Dword), Some(0xfe00_0000));
    assert_eq!(bus.peek(NIC_A, 0x14, Width::Dword), Some(0x0000_c001));
}

/// A configuration read of the ID dword at a raw op address.
fn read_id(domain: u32, bus: u32, devfn: u32) -> XenPciOp {
    XenPciOp {
        cmd: XEN_PCI_OP_CONF_READ,
        domain,
        bus,
        devfn,
        offset: 0,
        size: 4,
        ..XenPciOp::default()
    }
}

#[test]
fn two_guests_cannot_reach_each_others_devices_whatever_they_name() {
    for options in [vpci(), passthrough()] {
        let mut machine = Machine::new(
            vec![(NIC_A, nic(0x1111, 0xaaaa)), (NIC_B, nic(0x2222, 0xbbbb))],
            options,
        );
        let a = machine.guest(2, &[NIC_A]);
        let b = machine.guest(3, &[NIC_B]);
        let (at_a, at_b) = match options.topology {
            TopologyKind::Vpci => (guest_at(0, 0), guest_at(0, 0)),
            TopologyKind::Passthrough => (VirtualAddress(NIC_A), VirtualAddress(NIC_B)),
        };
        // Each scan of its roots found its own device and nothing else.
        assert_eq!(a.devices(), [at_a]);
        assert_eq!(b.devices(), [at_b]);
        assert_eq!(machine.read(&a, at_a, 0, 4), (0, 0xaaaa_1111));
        assert_eq!(machine.read(&b, at_b, 0, 4), (0, 0xbbbb_2222));
        machine.platform().bus().clear_writes();
        for (front, own) in [(&a, at_a), (&b, at_b)] {
            // Every bus, the slots either device has in either layout, and
            // addresses no PCI bus has.
            let mut names: Vec<(u32, u32, u32)> = (0..=255)
                .flat_map(|bus| {
                    [0, NIC_A.devfn(), NIC_B.devfn()].map(|devfn| (0, bus, u32::from(devfn)))
                })
                .collect();
            names.extend([
                (1, 0, 0),
                (0xffff, 0, 0),
                (0x1_0000, 0, 0),
                (0, 0x100, 0),
                (0, 0, 0x100),
                (u32::MAX, u32::MAX, u32::MAX),
            ]);
            for (domain, bus, devfn) in names {
                let answer = machine.op(front, read_id(domain, bus, devfn));
                let mine = (domain, bus, devfn)
                    == (
                        u32::from(own.0.segment()),
                        u32::from(own.0.bus()),
                        u32::from(own.0.devfn()),
                    );
                if mine {
                    assert_eq!(answer.err, 0);
                } else {
                    // xen_pcibk_get_pci_dev: not this frontend's -> dev_not_found.
                    assert_eq!(
                        answer.err, XEN_PCI_ERR_DEV_NOT_FOUND,
                        "{domain:x}:{bus:x}:{devfn:x}"
                    );
                }
            }
            // Writes and interrupt ops to the other's real address.
            let other = if own == at_a { NIC_B } else { NIC_A };
            let named = |cmd| XenPciOp {
                cmd,
                bus: u32::from(other.bus()),
                devfn: u32::from(other.devfn()),
                offset: 4,
                size: 2,
                value: 0,
                ..XenPciOp::default()
            };
            for cmd in [
                xen::abi::io::pciif::XEN_PCI_OP_CONF_WRITE,
                XEN_PCI_OP_ENABLE_MSI,
                XEN_PCI_OP_ENABLE_MSIX,
            ] {
                assert_eq!(machine.op(front, named(cmd)).err, XEN_PCI_ERR_DEV_NOT_FOUND);
            }
        }
        // Nothing either guest sent reached any device.
        let writes = machine.platform().bus().writes();
        assert!(writes.is_empty(), "{writes:?}");
    }
}

#[test]
fn devices_are_hot_plugged_and_unplugged_as_xen_pcibk_reconfigure_does() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    let front = machine.guest(2, &[NIC_A]);
    let xen = machine.world.xen();
    // libxl: new dev-1, num_devs 2, backend state Reconfiguring. pcifront
    // answers Reconfiguring, pciback exports and goes Reconfigured,
    // pcifront rescans and goes Connected, pciback Connected.
    machine.toolstack.hotplug(2, PciDevice::new(NIC_B));
    machine.settle();
    let ts = &machine.toolstack;
    assert_eq!(ts.backend_state(2), Some(XenbusState::Connected));
    assert_eq!(front.state(), XenbusState::Connected);
    assert_eq!(
        ts.backend_key(2, "vdev-1").as_deref(),
        Some("0000:00:01.00")
    );
    assert_eq!(ts.backend_key(2, "state-1").as_deref(), Some("3"));
    // publish_pci_root: the root is there already; not published twice.
    assert_eq!(ts.backend_key(2, "root_num").as_deref(), Some("1"));
    assert_eq!(front.devices(), [guest_at(0, 0), guest_at(1, 0)]);
    assert_eq!(machine.read(&front, guest_at(1, 0), 0, 4), (0, 0x1533_8086));
    assert!(
        xen.assigned_devices(2)
            .contains(&pci_sbdf(0, 0, NIC_B.devfn()))
    );

    // Unplug: state-1 Closing, backend Reconfiguring. pcifront removes the
    // device, pciback releases it (reset, back to the pool).
    machine.platform().bus().clear_writes();
    machine.toolstack.unplug(2, 1);
    machine.settle();
    let ts = &machine.toolstack;
    assert_eq!(ts.backend_state(2), Some(XenbusState::Connected));
    assert_eq!(front.state(), XenbusState::Connected);
    assert_eq!(front.devices(), [guest_at(0, 0)]);
    assert_eq!(machine.backend.free_devices(), [NIC_B]);
    assert!(machine.was_reset(NIC_B));
    assert!(!machine.was_reset(NIC_A));
    assert_eq!(
        machine.platform().assignments().last(),
        Some(&Assignment::Deassigned {
            frontend: 2,
            device: NIC_B
        })
    );
    assert_eq!(xen.assigned_devices(2), [pci_sbdf(0, 0, NIC_A.devfn())]);
    assert_eq!(
        machine.read(&front, guest_at(1, 0), 0, 4).0,
        XEN_PCI_ERR_DEV_NOT_FOUND
    );
    // The toolstack tidies up; nothing changes for the backend.
    machine.toolstack.forget(2, 1);
    machine.settle();
    assert_eq!(
        machine.toolstack.backend_key(2, "num_devs").as_deref(),
        Some("1")
    );
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Connected)
    );
    // And the device can come back, at the slot it left.
    machine.toolstack.hotplug(2, PciDevice::new(NIC_B));
    machine.settle();
    assert_eq!(front.devices(), [guest_at(0, 0), guest_at(1, 0)]);
    assert_eq!(machine.read(&front, guest_at(1, 0), 0, 4), (0, 0x1533_8086));
}

/// QEMU's `edu` test device as the nested tests have it: a conventional
/// endpoint on the root bus with one memory BAR and MSI, and no way to
/// reset it (no FLR, no power management, no bus reset on a root bus).
fn edu() -> SimDevice {
    SimDevice::endpoint(0x1234, 0x11e8, 0x00_ff_00)
        .revision(0x10)
        .interrupt(1, 11)
        .msi(1, true, false)
        .bar(0, SimBar::memory32(0x10_0000).at(0xfea0_0000))
}

/// Found with Linux's xen-pcifront against the driver domain (nested
/// scenario c): a device served without a reset (as Linux serves it) was
/// kept out of the pool when hot-unplugged, so hot-plugging it back was
/// refused ("Couldn't locate PCI device ... perhaps already in-use?").
#[test]
fn a_device_with_no_reset_goes_back_to_the_pool_and_can_come_back() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, edu())], vpci());
    let front = machine.guest(2, &[NIC_B, NIC_A]);
    assert_eq!(front.devices(), [guest_at(0, 0), guest_at(1, 0)]);
    machine.toolstack.unplug(2, 0);
    machine.settle();
    assert_eq!(front.devices(), [guest_at(1, 0)]);
    assert_eq!(machine.backend.free_devices(), [NIC_B]);
    assert_eq!(machine.status(2).and_then(|s| s.error), None);
    machine.toolstack.forget(2, 0);
    machine.toolstack.hotplug(2, PciDevice::new(NIC_B));
    machine.settle();
    assert_eq!(machine.toolstack.backend_error(2), None);
    assert_eq!(front.state(), XenbusState::Connected);
    assert_eq!(front.devices(), [guest_at(0, 0), guest_at(1, 0)]);
    assert_eq!(machine.read(&front, guest_at(0, 0), 0, 4), (0, 0x11e8_1234));
    // And when the guest goes, both go back.
    machine.world.remove_domain(2);
    machine.settle();
    let mut free = machine.backend.free_devices();
    free.sort();
    assert_eq!(free, [NIC_A, NIC_B]);
}

#[test]
fn devices_added_before_the_guest_connects_are_exported_while_initialised() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    let front = machine.prepare(2, &[NIC_A]);
    machine.settle();
    // The backend exported dev-0 and waits for the frontend.
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Initialised)
    );
    machine.toolstack.add(2, PciDevice::new(NIC_B));
    machine.settle();
    // be_watch in Initialised: xen_pcibk_reconfigure without a state change.
    let ts = &machine.toolstack;
    assert_eq!(ts.backend_state(2), Some(XenbusState::Initialised));
    assert_eq!(
        ts.backend_key(2, "vdev-1").as_deref(),
        Some("0000:00:01.00")
    );
    assert_eq!(ts.backend_key(2, "state-1").as_deref(), Some("3"));
    machine.start(&front);
    machine.settle();
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Connected)
    );
    assert_eq!(front.devices(), [guest_at(0, 0), guest_at(1, 0)]);
}

#[test]
fn a_guest_destroyed_in_the_middle_of_an_op_takes_nothing_with_it() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    let doomed = machine.guest(2, &[NIC_A]);
    let other = machine.guest(3, &[NIC_B]);
    let xen = machine.world.xen();
    machine.platform().bus().clear_writes();
    // The guest posts an op and is destroyed before the backend runs.
    assert!(doomed.post(&read_id(0, 0, 0)));
    machine.toolstack.destroy(2);
    machine.settle();
    assert!(machine.status(2).is_none());
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    assert!(machine.was_reset(NIC_A));
    assert!(
        machine
            .platform()
            .assignments()
            .contains(&Assignment::Deassigned {
                frontend: 2,
                device: NIC_A
            })
    );
    // Its page is unmapped and its channel closed: only guest 3's remain.
    assert_eq!(xen.mapped_frames(BACKEND).len(), 1);
    assert_eq!(machine.platform().free_grant_frames(), 63);
    // The other guest noticed nothing.
    assert_eq!(
        machine.toolstack.backend_state(3),
        Some(XenbusState::Connected)
    );
    assert_eq!(machine.read(&other, guest_at(0, 0), 0, 4), (0, 0x1533_8086));
    // A new guest gets the device.
    let reborn = machine.guest(4, &[NIC_A]);
    assert_eq!(
        machine.read(&reborn, guest_at(0, 0), 0, 4),
        (0, 0x10d3_8086)
    );
}

#[test]
fn a_guest_that_dies_without_the_toolstack_cleaning_up_is_noticed() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let _front = machine.guest(2, &[NIC_A]);
    machine.platform().bus().clear_writes();
    // Xen destroys the domain; its XenStore nodes stay: @releaseDomain is
    // the only sign.
    machine.world.remove_domain(2);
    machine.settle();
    assert!(machine.status(2).is_none());
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    assert!(machine.was_reset(NIC_A));
    assert_eq!(machine.platform().free_grant_frames(), 64);
    // Its domain gone, the backend removes its directory (libxl leaves
    // that to the driver domain).
    assert_eq!(machine.toolstack.backend_state(2), None);
    assert_eq!(machine.toolstack.backend_key(2, "num_devs"), None);
}

/// `xl destroy` of a guest whose backend is the driver domain: libxl
/// removes the guest's tree (its frontend goes) while the domain still
/// exists, then destroys it; nobody in dom0 knows the backend directory.
#[test]
fn the_backend_directory_of_a_destroyed_guest_is_removed_when_it_is_gone() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let _front = machine.guest(2, &[NIC_A]);
    let _other = machine.guest(3, &[]);
    machine
        .world
        .xenstored(|store| store.rm("/local/domain/2"))
        .unwrap();
    machine.settle();
    // Released at once; the directory waits for the domain to be gone.
    assert!(machine.status(2).is_none());
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Closed)
    );
    machine.world.remove_domain(2);
    machine.settle();
    assert_eq!(machine.toolstack.backend_state(2), None);
    // Another guest's directory is left alone.
    assert_eq!(
        machine.toolstack.backend_state(3),
        Some(XenbusState::Connected)
    );
}

/// What a test does to one guest's XenStore data.
#[derive(Clone, Copy, Debug)]
enum Garbage {
    /// The toolstack writes this backend key.
    Backend(&'static str, &'static str),
    /// The toolstack leaves this backend key out.
    Missing(&'static str),
    /// The guest publishes this instead (`None`: not at all).
    Frontend(&'static str, Option<&'static str>),
}

/// The keys a guest or a toolstack can put anything in: the backend's
/// (written by the toolstack, which a compromised or buggy one gets wrong)
/// and the frontend's (written by the guest itself).
const BACKEND_KEYS: &[&str] = &[
    "num_devs",
    "dev-0",
    "opts-0",
    "state-0",
    "frontend-id",
    "frontend",
    "online",
];
const FRONTEND_KEYS: &[&str] = &["magic", "pci-op-ref", "event-channel"];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Any text in any of those keys: the backend never panics, the
    /// frontend either connects (the text happened to be valid, if not
    /// necessarily right) or is failed with a reason in its error node,
    /// and another guest is served throughout.
    #[test]
    fn any_value_in_any_key_fails_that_frontend_alone(
        backend_key in proptest::sample::select(BACKEND_KEYS),
        frontend_key in proptest::sample::select(FRONTEND_KEYS),
        in_frontend: bool,
        value in "(?s).{0,40}",
    ) {
        let mut machine = Machine::new(
            vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
            vpci(),
        );
        let healthy = machine.guest(2, &[NIC_A]);
        let hostile = machine.prepare(3, &[NIC_B]);
        if in_frontend {
            hostile.publish_instead(frontend_key, Some(&value));
        } else {
            let backend = machine.toolstack.backend_dir(3);
            machine.toolstack.write(&format!("{backend}/{backend_key}"), &value);
        }
        machine.start(&hostile);
        machine.settle();
        let state = machine.toolstack.backend_state(3);
        let error = machine.toolstack.backend_error(3);
        if state == Some(XenbusState::Connected) {
            // Its ops are its own business: a wrong but valid grant or
            // port (another of its own), or no devices, only hurt itself.
            proptest::prop_assert_eq!(error, None);
            let (err, _) = machine.read(&hostile, guest_at(0, 0), 0, 4);
            proptest::prop_assert!(err == 0 || err == XEN_PCI_ERR_DEV_NOT_FOUND, "{err}");
        } else {
            proptest::prop_assert!(error.is_some(), "{state:?} without a reason");
            proptest::prop_assert!(
                matches!(state, Some(XenbusState::Closing | XenbusState::Closed)),
                "{state:?}: {error:?}"
            );
        }
        proptest::prop_assert_eq!(machine.read(&healthy, guest_at(0, 0), 0, 4), (0, 0x10d3_8086));
        proptest::prop_assert_eq!(machine.toolstack.backend_state(2), Some(XenbusState::Connected));
    }
}

/// Slot `n` of bus 0: guest `n`'s device in [`garbage_fails_only_that_frontend_with_linux_reasons`].
fn slot(n: u8) -> Address {
    address(0, n, 0)
}

#[test]
fn garbage_fails_only_that_frontend_with_linux_reasons() {
    use Garbage::*;
    // (guest, garbage, the error node: "<errno> <message>", Linux's text
    // where Linux has one).
    let cases: &[(DomId, Garbage, &str)] = &[
        (
            3,
            Backend("dev-0", "zz:00.0"),
            "22 Error parsing pci device configuration",
        ),
        (
            4,
            Backend("num_devs", "100000"),
            "22 Error reading number of devices: 100000 is not 0 to 256",
        ),
        (
            5,
            Backend("num_devs", "lots"),
            "22 Error reading number of devices",
        ),
        (
            6,
            Backend("num_devs", "-1"),
            "22 Error reading number of devices: -1 is not 0 to 256",
        ),
        (7, Missing("dev-0"), "2 Error reading device configuration"),
        (
            8,
            Backend("dev-0", "0000:00:1f.0"),
            "22 Couldn't locate PCI device (0000:00:1f.0)! perhaps already in-use?",
        ),
        (
            9,
            Backend("dev-0", "0000:00:02.0"),
            "22 Couldn't locate PCI device (0000:00:02.0)! perhaps already in-use?",
        ),
        (
            10,
            Backend("dev-0", "0000:00:20.0"),
            "22 Couldn't locate PCI device (0000:00:20.0)! perhaps already in-use?",
        ),
        (
            11,
            Backend("frontend-id", "99"),
            "22 frontend-id 99 does not match backend/pci/11/0",
        ),
        (
            12,
            Backend("frontend", "/local/domain/2/device/pci/0"),
            "22 frontend /local/domain/2/device/pci/0 is not in domain 12",
        ),
        (
            13,
            Frontend("magic", Some("8")),
            "14 version mismatch (8/7) with pcifront - halting xen-pciback",
        ),
        (
            14,
            Frontend("pci-op-ref", Some("abc")),
            "22 Error reading configuration from frontend",
        ),
        (
            15,
            Frontend("event-channel", None),
            "2 Error reading configuration from frontend",
        ),
        (
            16,
            Frontend("pci-op-ref", Some("4000")),
            "2 Error mapping other domain page in ours.",
        ),
        (
            17,
            Frontend("event-channel", Some("4000")),
            "22 Error binding event channel to IRQ",
        ),
        (
            18,
            Frontend(
                "magic",
                Some("7\u{1}\u{7f}ffffffffffffffffffffffffffffffffffff"),
            ),
            "14 version mismatch (7??fffffffffffffffffffffffffffff.../7) with pcifront - halting xen-pciback",
        ),
        // Ours: the GSI pciback-dd-attach writes must be one number that
        // fits the 8-bit interrupt line, for a function with a pin.
        (
            19,
            Backend("opts-0", "msitranslate=0,permissive=0,gsi=256"),
            "22 Error parsing opts-0: gsi=256 (one gsi=N, N from 1 to 255)",
        ),
        (
            20,
            Backend("opts-0", "gsi=23,gsi=23"),
            "22 Error parsing opts-0: gsi=23 (one gsi=N, N from 1 to 255)",
        ),
        (
            21,
            Backend("opts-0", "permissive=0,gsi=23"),
            "22 Error parsing opts-0: gsi=23 for 0000:00:15.0, which has no interrupt pin",
        ),
    ];
    // Slot 21's function has no interrupt pin.
    let devices = (2..=21)
        .map(|n| {
            let device = match n {
                21 => flr_endpoint(0x8086, 0x1000 + u16::from(n)),
                _ => nic(0x8086, 0x1000 + u16::from(n)),
            };
            (slot(n), device)
        })
        .collect();
    let mut machine = Machine::new(devices, vpci());
    // The healthy guest, with the device guest 9 asks for.
    let healthy = machine.prepare(2, &[slot(2)]);
    machine.start(&healthy);
    // Every other guest at once, each with its own garbage.
    let mut fronts = Vec::new();
    for &(guest, garbage, _) in cases {
        let front = machine.prepare(guest, &[slot(guest as u8)]);
        let backend = machine.toolstack.backend_dir(guest);
        match garbage {
            Backend(key, value) => machine.toolstack.write(&format!("{backend}/{key}"), value),
            Missing(key) => machine.toolstack.remove(&format!("{backend}/{key}")),
            Frontend(key, value) => front.publish_instead(key, value),
        }
        machine.start(&front);
        fronts.push(front);
    }
    machine.settle();
    for (&(guest, garbage, reason), front) in cases.iter().zip(&fronts) {
        let ts = &machine.toolstack;
        assert_eq!(
            ts.backend_error(guest).as_deref(),
            Some(reason),
            "{garbage:?}"
        );
        // xenbus_dev_fatal moved it to Closing; pcifront answered Closed,
        // and (for a frontend pciback follows) pciback went Closed too.
        let state = ts.backend_state(guest).unwrap();
        assert!(
            matches!(state, XenbusState::Closing | XenbusState::Closed),
            "{garbage:?}: {state}"
        );
        assert_eq!(front.state(), XenbusState::Closed, "{garbage:?}");
        assert!(
            machine
                .status(guest)
                .is_none_or(|status| status.state != XenbusState::Connected)
        );
    }
    // The healthy guest connected and works.
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Connected)
    );
    assert_eq!(machine.toolstack.backend_error(2), None);
    assert_eq!(machine.read(&healthy, guest_at(0, 0), 0, 2), (0, 0x8086));
    // Only the healthy guest's page is mapped.
    assert_eq!(machine.platform().free_grant_frames(), 63);
    // Devices the bad guests never got are still in the pool, with nothing
    // of them given (a GSI refused is neither mapped nor kept); those that
    // failed at attach stay theirs (online) until the toolstack removes them.
    let mut free = machine.backend.free_devices();
    free.sort_unstable();
    let never_given = (3..=12).chain(19..=21).map(slot).collect::<Vec<_>>();
    assert_eq!(free, never_given);
    let xen = machine.world.xen();
    for guest in (3..=12).chain(19..=21) {
        assert!(xen.assigned_devices(guest).is_empty(), "guest {guest}");
        assert!(xen.pirqs(guest).is_empty(), "guest {guest}");
    }
    for &(guest, _, _) in cases {
        machine.toolstack.destroy(guest);
    }
    machine.settle();
    let mut free = machine.backend.free_devices();
    free.sort_unstable();
    assert_eq!(free, (3..=21).map(slot).collect::<Vec<_>>());
    assert_eq!(machine.read(&healthy, guest_at(0, 0), 0, 2), (0, 0x8086));
}

#[test]
fn hostile_ops_get_linux_errors_and_only_result_fields_change() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    let mut base = XenPciOp {
        value: 0x5a5a_5a5a,
        info: 0x1234_5678,
        ..read_id(0, 0, 0)
    };
    for (index, entry) in base.msix_entries.iter_mut().enumerate() {
        entry.entry = index as u16;
        entry.vector = 0xa5a5;
    }
    let unchanged = base.value;
    // (op, (err, value)): pciback_ops.c and conf_space.c.
    let cases: Vec<(XenPciOp, (i32, u32))> = vec![
        // Unknown command: not_implemented, value untouched.
        (
            XenPciOp {
                cmd: 0xdead,
                ..base
            },
            (XEN_PCI_ERR_NOT_IMPLEMENTED, unchanged),
        ),
        // AER numbers travel the other way.
        (
            XenPciOp {
                cmd: XEN_PCI_OP_AER_DETECTED,
                ..base
            },
            (XEN_PCI_ERR_NOT_IMPLEMENTED, unchanged),
        ),
        // valid_request: size 1, 2 or 4, aligned, inside 4 KiB.
        (
            XenPciOp { size: 3, ..base },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        (
            XenPciOp { size: 0, ..base },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        (
            XenPciOp { size: -4, ..base },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        (
            XenPciOp { offset: -4, ..base },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        (
            XenPciOp {
                offset: 4096,
                ..base
            },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        (
            XenPciOp {
                offset: i32::MIN,
                ..base
            },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        (
            XenPciOp { offset: 2, ..base },
            (XEN_PCI_ERR_INVALID_OFFSET, 0),
        ),
        // Addresses that are not the guest's device: dev_not_found, value untouched.
        (
            XenPciOp { devfn: 8, ..base },
            (XEN_PCI_ERR_DEV_NOT_FOUND, unchanged),
        ),
        (
            XenPciOp {
                devfn: 0x100,
                ..base
            },
            (XEN_PCI_ERR_DEV_NOT_FOUND, unchanged),
        ),
        (
            XenPciOp { bus: 0x100, ..base },
            (XEN_PCI_ERR_DEV_NOT_FOUND, unchanged),
        ),
        (
            XenPciOp {
                domain: 0x1_0000,
                ..base
            },
            (XEN_PCI_ERR_DEV_NOT_FOUND, unchanged),
        ),
        // No MSI capability: op_failed, value 0.
        (
            XenPciOp {
                cmd: XEN_PCI_OP_ENABLE_MSI,
                ..base
            },
            (xen::abi::io::pciif::XEN_PCI_ERR_OP_FAILED, 0),
        ),
        // More vectors than SH_INFO_MAX_VEC: -EINVAL, the count left as sent.
        (
            XenPciOp {
                cmd: XEN_PCI_OP_ENABLE_MSIX,
                value: 1000,
                ..base
            },
            (-22, 1000),
        ),
        // A good read after all that.
        (base, (0, 0x10d3_8086)),
    ];
    for (op, (err, value)) in cases {
        let answer = machine.op(&front, op);
        assert_eq!((answer.err, answer.value), (err, value), "{op:?}");
        // Only the result fields changed.
        assert_eq!(
            XenPciOp {
                err: op.err,
                value: op.value,
                ..answer
            },
            op
        );
    }
    let status = machine.status(2).unwrap();
    assert_eq!(status.state, XenbusState::Connected);
    assert_eq!(status.error, None);
}

#[test]
fn spurious_events_and_foreign_flag_bits_are_harmless() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    let xen = machine.world.xen();
    let (_, port) = front.published().unwrap();
    let guest = xen.domain(2);
    let before = machine.status(2).unwrap();
    // Events with no op posted: counted, never answered.
    for _ in 0..3 {
        event_channel::send(&guest, port).unwrap();
        machine.settle();
    }
    let after = machine.status(2).unwrap();
    assert_eq!(after.spurious_events, before.spurious_events + 3);
    assert_eq!(after.ops, before.ops);
    let shared = xen.shared_info(2).unwrap();
    assert!(!xen::events::is_pending(&shared, port).unwrap());
    // Every other flag bit set: the op is served and they are left alone.
    let page = front.shared_page().unwrap();
    let view = xen::shared_page::SharedPage::new(&page);
    let flags = view.atomic_u32(xen::abi::io::pciif::FLAGS_OFFSET).unwrap();
    flags.fetch_or(0xFFFF_FFF0, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(machine.read(&front, guest_at(0, 0), 0, 2), (0, 0x8086));
    assert_eq!(
        flags.load(std::sync::atomic::Ordering::SeqCst) & !0x7,
        0xFFFF_FFF0
    );
    // A guest that posts and takes the op back before the backend runs.
    assert!(front.post(&read_id(0, 0, 0)));
    flags.fetch_and(!1, std::sync::atomic::Ordering::SeqCst);
    machine.settle();
    assert_eq!(machine.read(&front, guest_at(0, 0), 0, 2), (0, 0x8086));
}

/// XSA-332: a guest sending an event every millisecond without posting
/// ops. From its second spurious event the backend leaves its port alone
/// for 4, 8, 16 ... ms, then a second at a time (Linux's late-EOI ladder at
/// HZ=250), so 10 000 events are 19 looks in 10 s: at 0, 1, 5, 13, 29,
/// 61, 125, 253, 509, 1021 ms and then every second. Another guest is
/// served at once throughout; the flooder's own op, posted during a
/// one-second delay, is answered when it ends, and its next op at once.
#[test]
fn a_guest_flooding_events_is_throttled_as_linux_does_and_no_one_else_waits() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    let flooder = machine.guest(2, &[NIC_A]);
    let quiet = machine.guest(3, &[NIC_B]);
    let quiet_before = machine.status(3).unwrap();
    let xen = machine.world.xen();
    let (_, port) = flooder.published().unwrap();
    let world = machine.world.clone();
    let start = world.now();
    let guest = xen.domain(2);
    let flood_world = world.clone();
    machine.executor.spawn(async move {
        for _ in 0..10_000 {
            event_channel::send(&guest, port).unwrap();
            flood_world.sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    // The other guest, in the middle of the flood: no virtual time passes.
    let sleep = world.sleep(std::time::Duration::from_millis(2500));
    machine.executor.block_on(sleep);
    let asked = world.now();
    assert_eq!(machine.read(&quiet, guest_at(0, 0), 0, 4), (0, 0x1533_8086));
    assert_eq!(world.now(), asked);
    let end = world.sleep(start + std::time::Duration::from_millis(10_000) - world.now());
    machine.executor.block_on(end);
    assert_eq!(machine.status(2).unwrap().spurious_events, 19);
    let quiet_after = machine.status(3).unwrap();
    assert_eq!(quiet_after.spurious_events, quiet_before.spurious_events);
    assert_eq!(quiet_after.ops, quiet_before.ops + 1);

    // Still throttled (the last look was at 9021 ms, the next is due at
    // 10 021): the op waits for the end of the delay, then the ladder is
    // reset and the next op is answered at once.
    let posted = world.now();
    assert_eq!(
        machine.read(&flooder, guest_at(0, 0), 0, 4),
        (0, 0x10d3_8086)
    );
    assert_eq!(
        world.now() - start,
        std::time::Duration::from_millis(10_021)
    );
    let answered = world.now();
    assert!(answered - posted <= std::time::Duration::from_secs(1));
    assert_eq!(
        machine.read(&flooder, guest_at(0, 0), 0, 4),
        (0, 0x10d3_8086)
    );
    // At once: seen by the backend polling the page after its answer, a
    // few looks (a virtual microsecond each) later.
    assert!(world.now() - answered <= std::time::Duration::from_micros(10));
    assert_eq!(machine.status(2).unwrap().state, XenbusState::Connected);
}

/// Back-to-back ops: after an answer the backend looks at the page for a
/// while (the polling window), so the next op is seen without its event;
/// once the window ran out it waits for events again; and the event of an
/// op it saw by polling, which comes all the same, is not spurious.
#[test]
fn ops_right_after_an_answer_are_seen_by_polling() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    // Its probe done (the frontend's bus scan is back-to-back ops too).
    machine.settle();
    let before = machine.status(2).unwrap();
    let world = machine.world.clone();
    let read = conf_read(guest_at(0, 0), 0, 4);
    let pause = |machine: &mut Machine, us: u64| {
        let sleep = world.sleep(std::time::Duration::from_micros(us));
        machine.executor.block_on(sleep);
    };
    // After an idle while the backend polls no more (an idle guest costs
    // nothing); two ops in a row bring the window back.
    for _ in 0..2 {
        assert_eq!(machine.op(&front, read).value, 0x10d3_8086);
    }
    // Right after the answer: seen by polling, with no event at all.
    let port = front.post_quietly(&read).expect("connected");
    pause(&mut machine, 20);
    assert_eq!(front.answered().map(|op| op.value), Some(0x10d3_8086));
    // Posted with its event, seen by polling before the event counts.
    assert!(front.post(&read));
    pause(&mut machine, 20);
    assert_eq!(front.answered().map(|op| op.value), Some(0x10d3_8086));
    // The window long over: an op without its event waits for it.
    pause(&mut machine, 10_000);
    front.post_quietly(&read).expect("connected");
    pause(&mut machine, 5_000);
    assert_eq!(front.answered(), None, "seen without polling or an event");
    event_channel::send(&machine.world.xen().domain(2), port).unwrap();
    pause(&mut machine, 20);
    assert_eq!(front.answered().map(|op| op.value), Some(0x10d3_8086));
    // No event was spurious: each brought an op or followed one polled.
    let after = machine.status(2).unwrap();
    assert_eq!(after.spurious_events, before.spurious_events);
    assert_eq!(after.ops, before.ops + 5);
}

#[test]
fn a_guest_shutting_down_disconnects_and_its_devices_wait_for_the_toolstack() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    let xen = machine.world.xen();
    let (gref, port) = front.published().unwrap();
    // Closing -> pciback disconnects and closes -> the guest Closed ->
    // pciback Closed; online is 1, so the device stays the guest's.
    machine.executor.block_on(front.shutdown());
    machine.settle();
    assert_eq!(front.state(), XenbusState::Closed);
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Closed)
    );
    assert_eq!(xen.mapping_count(2, gref), 0);
    assert_eq!(machine.platform().free_grant_frames(), 64);
    // The guest's port is unbound again: the backend's end is closed.
    let status = event_channel::status(&xen.domain(2), port).unwrap();
    assert_eq!(status.status, xen::abi::event_channel::EVTCHNSTAT_UNBOUND);
    assert!(machine.backend.free_devices().is_empty());
    assert_eq!(machine.status(2).unwrap().state, XenbusState::Closed);
    // Nobody answers any more: pcifront gives up after 2 s.
    let asked = machine.world.now();
    assert_eq!(
        machine.read(&front, guest_at(0, 0), 0, 2).0,
        XEN_PCI_ERR_DEV_NOT_FOUND
    );
    assert_eq!(
        machine.world.now() - asked,
        std::time::Duration::from_secs(2)
    );
    // The toolstack removes the device: released, reset, back in the pool.
    machine.platform().bus().clear_writes();
    machine.toolstack.destroy(2);
    machine.settle();
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    assert!(machine.was_reset(NIC_A));
    assert!(machine.status(2).is_none());
}

/// A reset waits (100 ms after an FLR) as a sleep of that frontend alone:
/// while guest 2's NIC is reset on its way back to the pool, guest 3's op
/// is answered at once, as each Linux pciback device resets in a work item
/// of its own.
#[test]
fn a_device_resetting_for_one_guest_keeps_no_other_guest_waiting() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    machine.guest(2, &[NIC_A]);
    let quiet = machine.guest(3, &[NIC_B]);
    machine.platform().bus().clear_writes();
    let start = machine.world.now();
    machine.toolstack.destroy(2);
    // Until the backend has started the FLR (and so waits its 100 ms).
    let backend = machine.backend.clone();
    machine.executor.block_on(core::future::poll_fn(|cx| {
        if flr_written(backend.platform().bus(), NIC_A) {
            core::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            core::task::Poll::Pending
        }
    }));
    assert_eq!(machine.read(&quiet, guest_at(0, 0), 0, 4), (0, 0x1533_8086));
    assert_eq!(
        machine.world.now(),
        start,
        "guest 3 waited for guest 2's reset"
    );
    assert!(
        machine.backend.free_devices().is_empty(),
        "NIC_A still resetting"
    );
    machine.settle();
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    assert!(machine.world.now() - start >= std::time::Duration::from_millis(100));
}

#[test]
fn an_offline_guest_closing_releases_its_devices_at_once() {
    let mut machine = Machine::new(vec![(NIC_A, nic(0x8086, 0x10d3))], vpci());
    let front = machine.guest(2, &[NIC_A]);
    let online = format!("{}/online", machine.toolstack.backend_dir(2));
    machine.toolstack.write(&online, "0");
    machine.executor.block_on(front.shutdown());
    machine.settle();
    // Closed and not online: unregistered.
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Closed)
    );
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    assert!(machine.status(2).is_none());
}

#[test]
fn many_guests_are_served_at_once() {
    let devices = (2..=6)
        .map(|n| (slot(n), nic(0x8086, 0x1000 + u16::from(n))))
        .collect();
    let mut machine = Machine::new(devices, vpci());
    let fronts: Vec<_> = (2..=6)
        .map(|guest| {
            let front = machine.prepare(guest, &[slot(guest as u8)]);
            machine.start(&front);
            front
        })
        .collect();
    machine.settle();
    // Every guest reads its own device 100 times, all at once.
    let results = Rc::new(std::cell::RefCell::new(Vec::new()));
    for (front, guest) in fronts.iter().zip(2u16..) {
        let (front, results) = (Rc::clone(front), Rc::clone(&results));
        machine.executor.spawn(async move {
            for _ in 0..100 {
                let answer = front.conf_read(guest_at(0, 0), 0, 4).await;
                results.borrow_mut().push((guest, answer));
            }
        });
    }
    machine.settle();
    let results = results.borrow();
    assert_eq!(results.len(), 500);
    for &(guest, answer) in results.iter() {
        assert_eq!(answer, (0, (u32::from(0x1000 + guest) << 16) | 0x8086));
    }
    // Served in turns: no guest finished before another started.
    let first_done = |guest: u16| results.iter().rposition(|&(g, _)| g == guest).unwrap();
    let first_seen = |guest: u16| results.iter().position(|&(g, _)| g == guest).unwrap();
    for guest in 2..=6 {
        for other in 2..=6 {
            assert!(first_seen(other) < first_done(guest));
        }
    }
    for guest in 2..=6 {
        assert_eq!(machine.status(guest).unwrap().ops, 256 + 100);
    }
}

#[test]
fn opts_permissive_lets_writes_to_unhandled_registers_through() {
    let mut machine = Machine::new(
        vec![(NIC_A, nic(0x8086, 0x10d3)), (NIC_B, nic(0x8086, 0x1533))],
        vpci(),
    );
    let strict = machine.guest(2, &[NIC_A]);
    let permissive = machine.prepare_with(
        3,
        &[PciDevice {
            permissive: true,
            ..PciDevice::new(NIC_B)
        }],
    );
    machine.start(&permissive);
    machine.settle();
    machine.platform().bus().clear_writes();
    // PCIe Device Control has no field: written only in permissive mode.
    for front in [&strict, &permissive] {
        let (_, capability) = machine.read(front, guest_at(0, 0), 0x34, 1);
        let device_control = capability as i32 + 8;
        assert_eq!(
            machine.write(front, guest_at(0, 0), device_control, 2, 0x0010),
            0
        );
    }
    let written: Vec<Address> = machine
        .platform()
        .bus()
        .writes()
        .iter()
        .map(|write| write.address)
        .collect();
    assert_eq!(written, [NIC_B]);
}

/// A [`nic`] whose BARs are at `memory` and `ports`, and whose INTx pin
/// firmware routed to PIC line 11.
fn nic_at(device: u16, memory: u64, ports: u64) -> SimDevice {
    flr_endpoint(0x8086, device)
        .interrupt(1, 11)
        .bar(0, SimBar::memory32(0x4000).at(memory))
        .bar(1, SimBar::io(0x20).at(ports))
}

/// `disable_msi` of the guest's device at `devfn`: its `value` is Linux's
/// `dev->irq` once MSI is off.
fn disable_msi(devfn: u32) -> XenPciOp {
    XenPciOp {
        cmd: XEN_PCI_OP_DISABLE_MSI,
        devfn,
        ..XenPciOp::default()
    }
}

/// libxl gives a PV guest its device's BARs (memory and I/O) and maps the
/// GSI dom0's sysfs shows as the guest's PIRQ; the driver domain does the
/// same from `gsi=` in `opts-N`. The guest reads that GSI as its interrupt
/// line (pcifront binds it as the PIRQ) and gets it back from
/// `disable_msi`; a device without `gsi=` gets no PIRQ and shows the line
/// firmware left. Two functions on one INTx line share its PIRQ, which
/// goes with the last; detached, nothing is left to the guest and the
/// next guest reads the line again.
#[test]
fn opts_gsi_is_the_interrupt_line_the_guest_reads_and_its_pirq() {
    let nic_c = address(0, 7, 0);
    let mut machine = Machine::new(
        vec![
            (NIC_A, nic_at(0x10d3, 0xfe00_0000, 0xc000)),
            (NIC_B, nic_at(0x1533, 0xfe10_0000, 0xc040)),
            (nic_c, nic_at(0x1539, 0xfe20_0000, 0xc080)),
        ],
        vpci(),
    );
    let xen = machine.world.xen();
    let front = machine.prepare_with(
        2,
        &[
            PciDevice::new(NIC_A).with_gsi(23),
            PciDevice::new(NIC_B).with_gsi(23),
            PciDevice::new(nic_c),
        ],
    );
    machine.start(&front);
    machine.settle();
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Connected)
    );
    // interrupt_read: the GSI where one was named, the line elsewhere.
    for (slot, line) in [(0, 23), (1, 23), (2, 11)] {
        assert_eq!(machine.read(&front, guest_at(slot, 0), 0x3C, 1), (0, line));
        let answer = machine.op(&front, disable_msi(u32::from(slot) << 3));
        assert_eq!((answer.err, answer.value), (0, line), "slot {slot}");
    }
    // GSI 23 mapped once, as PIRQ 23; every BAR reachable, ports included.
    assert_eq!(
        xen.pirqs(2).into_iter().collect::<Vec<_>>(),
        [(23, FakePirq::Gsi(23))]
    );
    assert_eq!(
        xen.iomem_ranges(2),
        [(0xfe000, 4), (0xfe100, 4), (0xfe200, 4)]
    );
    assert_eq!(
        xen.ioport_ranges(2),
        [(0xc000, 0x20), (0xc040, 0x20), (0xc080, 0x20)]
    );

    // The first unplugged: its BARs go, the shared PIRQ stays for the other.
    machine.toolstack.unplug(2, 0);
    machine.settle();
    assert_eq!(front.devices(), [guest_at(1, 0), guest_at(2, 0)]);
    assert_eq!(xen.pirqs(2).keys().copied().collect::<Vec<_>>(), [23]);
    assert_eq!(xen.ioport_ranges(2), [(0xc040, 0x20), (0xc080, 0x20)]);
    assert_eq!(xen.iomem_ranges(2), [(0xfe100, 4), (0xfe200, 4)]);

    // Detached altogether: nothing left to the guest, all back in quarantine.
    machine.toolstack.remove(&machine.toolstack.backend_dir(2));
    machine.settle();
    assert!(xen.pirqs(2).is_empty());
    assert!(xen.ioport_ranges(2).is_empty());
    assert!(xen.iomem_ranges(2).is_empty());
    assert!(xen.assigned_devices(2).is_empty());
    let mut free = machine.backend.free_devices();
    free.sort_unstable();
    assert_eq!(free, [NIC_A, NIC_B, nic_c]);

    // The next guest, given the device with no GSI, reads the line.
    let next = machine.guest(3, &[NIC_A]);
    assert_eq!(machine.read(&next, guest_at(0, 0), 0x3C, 1), (0, 11));
    assert!(xen.pirqs(3).is_empty());
}

/// Xen refusing the GSI refuses the device, as libxl fails the attach:
/// the guest keeps nothing of it (no BAR, no port, not assigned), the
/// device is back in the pool with its GSI forgotten, and the reason is in
/// the `error` node.
#[test]
fn a_gsi_xen_refuses_refuses_the_device_and_gives_nothing() {
    let mut machine = Machine::new(vec![(NIC_A, nic_at(0x10d3, 0xfe00_0000, 0xc000))], vpci());
    let xen = machine.world.xen();
    xen.fail_next(
        HYPERVISOR_PHYSDEV_OP,
        PHYSDEVOP_MAP_PIRQ,
        Injected::Errno(Errno::EINVAL),
    );
    let front = machine.prepare_with(2, &[PciDevice::new(NIC_A).with_gsi(23)]);
    machine.start(&front);
    machine.settle();
    assert_eq!(
        machine.toolstack.backend_error(2).as_deref(),
        Some("22 Couldn't assign PCI device 0000:00:03.0 to domain 2")
    );
    assert!(xen.pirqs(2).is_empty());
    assert!(xen.ioport_ranges(2).is_empty());
    assert!(xen.iomem_ranges(2).is_empty());
    assert!(xen.assigned_devices(2).is_empty());
    assert_eq!(machine.backend.free_devices(), [NIC_A]);
    // Given to another guest, without a GSI: the line, no PIRQ.
    let other = machine.guest(3, &[NIC_A]);
    assert_eq!(machine.read(&other, guest_at(0, 0), 0x3C, 1), (0, 11));
    assert_eq!(xen.assigned_devices(3), [pci_sbdf(0, 0, NIC_A.devfn())]);
}
