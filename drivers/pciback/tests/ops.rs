// SPDX-License-Identifier: MIT OR Apache-2.0
//! The op path: validation, isolation between frontends, MSI and MSI-X, hostile ops.
//!
//! Against Linux's `xen_pcibk_do_one_op` and `pciback_ops.c`.

mod common;

use common::{
    FIRST_PIRQ, Machine, address, conf_read, conf_write, flr_endpoint, guest_with, msix_entries,
    op, virtual_address,
};
use pci::capability::{BarRegion, PortType};
use pci::register::Command;
use pci::sim::{SimBar, SimBus, SimDevice};
use pci::{Address, Width};
use pciback::sim::{FakeInterrupts, InterruptCall, at_once};
use pciback::{GuestDevices, InterruptControl, TopologyKind, VirtualAddress};
use proptest::prelude::*;
use xen::Errno;
use xen::abi::io::pciif::{
    XEN_PCI_ERR_ACCESS_DENIED, XEN_PCI_ERR_DEV_NOT_FOUND, XEN_PCI_ERR_INVALID_OFFSET,
    XEN_PCI_ERR_NOT_IMPLEMENTED, XEN_PCI_ERR_OP_FAILED, XEN_PCI_OP_CONF_READ,
    XEN_PCI_OP_CONF_WRITE, XEN_PCI_OP_DISABLE_MSI, XEN_PCI_OP_DISABLE_MSIX, XEN_PCI_OP_ENABLE_MSI,
    XEN_PCI_OP_ENABLE_MSIX, XenPciOp,
};
use xen::hypercall::physdev::MsixVector;

/// Linux errno values (x86) pciback passes to the guest raw.
const EINVAL: i32 = -22;
const ENXIO: i32 = -6;
const ENOSPC: i32 = -28;
const ENOMEM: i32 = -12;
const EALREADY: i32 = -114;

const NIC: Address = address(0, 3, 0);
const GUEST_NIC: VirtualAddress = VirtualAddress(address(0, 0, 0));
const LINE: u8 = 10;
/// Where [`msi_device`] has its MSI and MSI-X capabilities.
const MSI: u16 = 0x40;
const MSIX: u16 = 0x4C;
/// Command bit 10, MSI control bit 0, MSI-X control bits 15 and 14 (the
/// PCI specification, as Linux's `pci_regs.h` names them).
const INTX_DISABLE: u16 = 1 << 10;
const MSI_ENABLE: u16 = 1 << 0;
const MSIX_ENABLE: u16 = 1 << 15;
const MSIX_MASKED: u16 = MSIX_ENABLE | 1 << 14;

/// A device with MSI (32-bit, 0x0A bytes, at 0x40), MSI-X (8 entries, at
/// 0x4C) and a PCIe capability with FLR.
fn msi_device() -> SimDevice {
    SimDevice::endpoint(0x1af4, 0x1041, 0x02_00_00)
        .interrupt(1, LINE)
        .bar(0, SimBar::memory32(0x4000).at(0xfe00_0000))
        .msi(1, false, false)
        .msix(
            8,
            BarRegion {
                bir: 0,
                offset: 0x2000,
            },
            BarRegion {
                bir: 0,
                offset: 0x3000,
            },
        )
        .pcie(PortType::Endpoint)
        .function_level_reset()
}

fn msi_machine() -> (Machine, GuestDevices) {
    let machine = Machine::new([(NIC, msi_device())]);
    let guest = guest_with(TopologyKind::Vpci, [machine.take(NIC)]);
    (machine, guest)
}

/// An op to [`GUEST_NIC`] with `value` and `entries`.
fn msix_op(count: u32, entries: &[u16]) -> XenPciOp {
    XenPciOp {
        value: count,
        msix_entries: msix_entries(entries),
        ..op(XEN_PCI_OP_ENABLE_MSIX, GUEST_NIC)
    }
}

#[test]
fn hostile_ops_get_linux_errors() {
    let (mut machine, mut guest) = msi_machine();
    // (op, err, value): Linux looks the device up first (dev_not_found,
    // value untouched), then dispatches the op number (not_implemented,
    // value untouched), then valid_request (invalid_offset; value 0 for
    // reads, untouched for writes); offsets outside 4 KiB: invalid_offset.
    let elsewhere = VirtualAddress(address(0, 1, 0));
    let table: Vec<(XenPciOp, i32, u32)> = vec![
        (conf_read(GUEST_NIC, 0, 3), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (conf_read(GUEST_NIC, 0, 0), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (conf_read(GUEST_NIC, 0, -4), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (conf_read(GUEST_NIC, 0, 8), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (conf_read(GUEST_NIC, 2, 4), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (conf_read(GUEST_NIC, 1, 2), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (
            conf_read(GUEST_NIC, 0x1000, 1),
            XEN_PCI_ERR_INVALID_OFFSET,
            0,
        ),
        (
            conf_read(GUEST_NIC, 0x1000, 4),
            XEN_PCI_ERR_INVALID_OFFSET,
            0,
        ),
        (conf_read(GUEST_NIC, -4, 4), XEN_PCI_ERR_INVALID_OFFSET, 0),
        (
            conf_read(GUEST_NIC, i32::MIN, 4),
            XEN_PCI_ERR_INVALID_OFFSET,
            0,
        ),
        (
            conf_read(GUEST_NIC, i32::MAX, 1),
            XEN_PCI_ERR_INVALID_OFFSET,
            0,
        ),
        (
            conf_write(GUEST_NIC, 0x1000, 2, 7),
            XEN_PCI_ERR_INVALID_OFFSET,
            7,
        ),
        (
            conf_write(GUEST_NIC, 3, 4, 7),
            XEN_PCI_ERR_INVALID_OFFSET,
            7,
        ),
        (
            conf_write(GUEST_NIC, 0, 3, 7),
            XEN_PCI_ERR_INVALID_OFFSET,
            7,
        ),
        (conf_read(GUEST_NIC, 0xFFC, 4), 0, 0),
        (conf_read(elsewhere, 0, 4), XEN_PCI_ERR_DEV_NOT_FOUND, 0),
        (conf_write(elsewhere, 0, 3, 9), XEN_PCI_ERR_DEV_NOT_FOUND, 9),
        (
            XenPciOp {
                value: 5,
                ..op(6, GUEST_NIC)
            },
            XEN_PCI_ERR_NOT_IMPLEMENTED,
            5,
        ),
        (op(7, GUEST_NIC), XEN_PCI_ERR_NOT_IMPLEMENTED, 0),
        (op(8, GUEST_NIC), XEN_PCI_ERR_NOT_IMPLEMENTED, 0),
        (op(9, GUEST_NIC), XEN_PCI_ERR_NOT_IMPLEMENTED, 0),
        (op(10, GUEST_NIC), XEN_PCI_ERR_NOT_IMPLEMENTED, 0),
        (op(u32::MAX, GUEST_NIC), XEN_PCI_ERR_NOT_IMPLEMENTED, 0),
        (op(u32::MAX, elsewhere), XEN_PCI_ERR_DEV_NOT_FOUND, 0),
    ];
    for (request, err, value) in table {
        assert_eq!(
            machine.handle(&mut guest, request),
            (err, value),
            "cmd {} offset {:#x} size {}",
            request.cmd,
            request.offset,
            request.size
        );
    }
    assert!(machine.writes().is_empty());
}

#[test]
fn malformed_addresses_never_find_a_device() {
    let (mut machine, mut guest) = msi_machine();
    // vpci: only segment 0, bus 0; devfn must be a devfn.
    let addresses = [
        (1, 0, 0),
        (0x1_0000, 0, 0),
        (u32::MAX, 0, 0),
        (0, 1, 0),
        (0, 0x100, 0),
        (0, u32::MAX, 0),
        (0, 0, 0x100),
        (0, 0, 0x1_0000),
        (0, 0, u32::MAX),
        (0, 0, 1),
        (0, 0, 8),
    ];
    for (domain, bus, devfn) in addresses {
        let request = XenPciOp {
            domain,
            bus,
            devfn,
            ..conf_read(GUEST_NIC, 0, 4)
        };
        assert_eq!(
            machine.handle(&mut guest, request).0,
            XEN_PCI_ERR_DEV_NOT_FOUND,
            "{domain:#x}/{bus:#x}/{devfn:#x}"
        );
    }
}

/// Two frontends, `a` with the device at 00:03.0 and `b` with the one at
/// 00:04.0; every address either one can name reaches only its own device.
fn assert_isolated(kind: TopologyKind) {
    let one = address(0, 3, 0);
    let two = address(0, 4, 0);
    let mut machine = Machine::new([
        (one, flr_endpoint(0x1111, 0xAAAA)),
        (two, flr_endpoint(0x2222, 0xBBBB)),
    ]);
    let mut frontends = [
        (guest_with(kind, [machine.take(one)]), one, 0xAAAA_1111_u32),
        (guest_with(kind, [machine.take(two)]), two, 0xBBBB_2222),
    ];
    let domains = [0, 1, 0xFFFF, 0x1_0000, u32::MAX];
    let buses = [0, 1, 3, 0xFF, 0x100, u32::MAX];
    let devfns = (0..0x200).chain([0x1_0000, u32::MAX]);
    for devfn in devfns {
        for domain in domains {
            for bus in buses {
                for (guest, own, id) in &mut frontends {
                    machine.bus.clear_writes();
                    let read = XenPciOp {
                        domain,
                        bus,
                        devfn,
                        ..conf_read(GUEST_NIC, 0, 4)
                    };
                    let (err, value) = machine.handle(guest, read);
                    assert!(
                        err == XEN_PCI_ERR_DEV_NOT_FOUND || (err == 0 && value == *id),
                        "{domain:#x}/{bus:#x}/{devfn:#x} gave {err}/{value:#x}"
                    );
                    // Cache line size is a read/write field: any write lands somewhere.
                    let write = XenPciOp {
                        cmd: XEN_PCI_OP_CONF_WRITE,
                        offset: 0x0C,
                        size: 1,
                        value: 8,
                        ..read
                    };
                    machine.handle(guest, write);
                    assert!(machine.writes().iter().all(|write| write.address == *own));
                }
            }
        }
    }
}

#[test]
fn vpci_frontends_cannot_reach_each_others_devices() {
    assert_isolated(TopologyKind::Vpci);
}

#[test]
fn passthrough_frontends_cannot_reach_each_others_devices() {
    assert_isolated(TopologyKind::Passthrough);
}

#[test]
fn msi_ops_follow_pciback_ops() {
    let (mut machine, mut guest) = msi_machine();
    let enable = op(XEN_PCI_OP_ENABLE_MSI, GUEST_NIC);
    let disable = op(XEN_PCI_OP_DISABLE_MSI, GUEST_NIC);
    // (op, err, value, rule)
    let table = [
        (enable, 0, FIRST_PIRQ, "enable_msi: value = the PIRQ"),
        (
            enable,
            XEN_PCI_ERR_OP_FAILED,
            0,
            "already on: -EALREADY -> op_failed, value 0",
        ),
        (
            msix_op(1, &[0]),
            ENXIO,
            1,
            "MSI on: enable_msix -ENXIO, value untouched",
        ),
        (
            disable,
            0,
            u32::from(LINE),
            "disable_msi: value = the INTx PIRQ",
        ),
        (
            disable,
            0,
            u32::from(LINE),
            "disable when off: nothing to do",
        ),
    ];
    for (request, err, value, rule) in table {
        assert_eq!(machine.handle(&mut guest, request), (err, value), "{rule}");
    }
    let function = NIC;
    assert_eq!(
        machine.interrupts.calls(),
        [
            InterruptCall::Map {
                function,
                msix: None,
                pirq: Some(FIRST_PIRQ)
            },
            InterruptCall::Unmap {
                function,
                pirq: FIRST_PIRQ
            },
        ]
    );
    // A failed mapping is op_failed with value 0, and MSI stays off.
    machine.interrupts.fail_next(Errno::ENOSPC);
    assert_eq!(
        machine.handle(&mut guest, enable),
        (XEN_PCI_ERR_OP_FAILED, 0)
    );
    assert_eq!(machine.handle(&mut guest, enable), (0, FIRST_PIRQ + 1));
}

/// What the hardware held when each PIRQ was mapped.
struct Observer<'a> {
    bus: &'a SimBus,
    inner: FakeInterrupts,
    /// (command register, MSI or MSI-X control word) at each map.
    seen: Vec<(u16, u16)>,
    capability: u16,
}

impl<'a> Observer<'a> {
    fn new(bus: &'a SimBus, capability: u16) -> Self {
        Self {
            bus,
            inner: FakeInterrupts::new(FIRST_PIRQ),
            seen: Vec::new(),
            capability,
        }
    }

    /// Serves `request` for `guest` over `machine`, mapping through `self`.
    fn serve(
        &mut self,
        machine: &Machine,
        guest: &mut GuestDevices,
        mut request: XenPciOp,
    ) -> (i32, u32) {
        let reply = at_once(guest.handle(&mut request, &machine.bus, self, &machine.delay));
        (reply.err, reply.value)
    }
}

impl InterruptControl for Observer<'_> {
    fn map(&mut self, function: Address, msix: Option<MsixVector>) -> Result<u32, Errno> {
        let word = |offset| self.bus.peek(function, offset, Width::Word).unwrap() as u16;
        self.seen.push((word(0x04), word(self.capability + 2)));
        self.inner.map(function, msix)
    }

    fn unmap(&mut self, function: Address, pirq: u32) {
        self.inner.unmap(function, pirq);
    }
}

/// A 16-bit register of the NIC, as the hardware holds it.
fn word(machine: &Machine, offset: u16) -> u16 {
    machine.peek(NIC, offset, Width::Word) as u16
}

/// Linux's `pci_msi_shutdown` and `pci_msix_shutdown` left the device so:
/// `enable` (of the capability at `capability`) off, INTx back on, and no
/// PIRQ mapped through `interrupts`.
fn assert_turned_off(machine: &Machine, capability: u16, enable: u16, interrupts: &FakeInterrupts) {
    assert_eq!(word(machine, capability + 2) & enable, 0, "still enabled");
    assert_eq!(word(machine, 0x04) & INTX_DISABLE, 0, "INTx still disabled");
    assert!(interrupts.mapped().is_empty(), "{:?}", interrupts.mapped());
}

/// Linux's `msi_capability_init` and `pci_msi_shutdown` as dom0 runs them
/// for pciback: the PIRQ mapped while MSI is off, then INTx disabled in
/// the command register and MSI enabled with one vector; on disable, MSI
/// off, INTx on again, the PIRQ unmapped.
#[test]
fn msi_is_enabled_and_disabled_in_linuxs_order() {
    let (machine, mut guest) = msi_machine();
    // Multiple Message Enable left at 4 vectors by someone: MSI gets one.
    machine.bus.poke(
        NIC,
        MSI + 2,
        Width::Word,
        u32::from(word(&machine, MSI + 2) | 0x20),
    );
    let mut observer = Observer::new(&machine.bus, MSI);
    let enable = op(XEN_PCI_OP_ENABLE_MSI, GUEST_NIC);
    assert_eq!(
        observer.serve(&machine, &mut guest, enable),
        (0, FIRST_PIRQ)
    );
    let [(command_at_map, control_at_map)] = observer.seen[..] else {
        panic!("one map: {:?}", observer.seen)
    };
    assert_eq!(command_at_map & INTX_DISABLE, 0, "INTx on while mapping");
    assert_eq!(control_at_map & MSI_ENABLE, 0, "MSI off while mapping");
    assert_ne!(
        word(&machine, 0x04) & INTX_DISABLE,
        0,
        "INTx disabled under MSI"
    );
    assert_eq!(
        word(&machine, MSI + 2) & (MSI_ENABLE | 0x70),
        MSI_ENABLE,
        "MSI on, one vector"
    );
    observer.serve(&machine, &mut guest, op(XEN_PCI_OP_DISABLE_MSI, GUEST_NIC));
    assert_turned_off(&machine, MSI, MSI_ENABLE, &observer.inner);
}

/// Linux's `msix_capability_init`: Enable and Function Mask set before the
/// first entry is mapped, each entry mapped with the address of the BAR
/// holding the table (not the table's own address: Xen adds the offset
/// and warns when the base is not its BAR's), INTx disabled, Function Mask
/// cleared last; `pci_msix_shutdown`: Enable off, INTx on, PIRQs unmapped.
#[test]
fn msix_is_enabled_masked_with_the_tables_bar_and_disabled_in_linuxs_order() {
    let (machine, mut guest) = msi_machine();
    let mut observer = Observer::new(&machine.bus, MSIX);
    assert_eq!(
        observer.serve(&machine, &mut guest, msix_op(2, &[3, 1])),
        (0, 0)
    );
    assert_eq!(observer.seen.len(), 2);
    for &(command, control) in &observer.seen {
        assert_eq!(
            control & MSIX_MASKED,
            MSIX_MASKED,
            "enabled and masked while mapping"
        );
        assert_eq!(command & INTX_DISABLE, 0, "INTx still on while mapping");
    }
    // msi_device's table is at offset 0x2000 of BAR 0 (0xfe00_0000).
    let map = |entry, pirq| InterruptCall::Map {
        function: NIC,
        msix: Some(MsixVector {
            entry,
            table_base: 0xfe00_0000,
        }),
        pirq: Some(pirq),
    };
    assert_eq!(
        observer.inner.calls(),
        [map(3, FIRST_PIRQ), map(1, FIRST_PIRQ + 1)]
    );
    assert_eq!(
        word(&machine, MSIX + 2) & MSIX_MASKED,
        MSIX_ENABLE,
        "enabled, unmasked"
    );
    assert_ne!(word(&machine, 0x04) & INTX_DISABLE, 0);
    observer.serve(&machine, &mut guest, op(XEN_PCI_OP_DISABLE_MSIX, GUEST_NIC));
    assert_turned_off(&machine, MSIX, MSIX_MASKED, &observer.inner);
}

/// A mapping that fails half way leaves nothing: the PIRQs mapped so far
/// unmapped, MSI-X off and unmasked, INTx as it was.
#[test]
fn a_failed_msix_mapping_undoes_the_others() {
    let (mut machine, mut guest) = msi_machine();
    machine.interrupts.fail_after(2, Errno::ENOSPC);
    assert_eq!(
        machine.handle(&mut guest, msix_op(4, &[0, 1, 2, 3])),
        (ENOSPC, ENOSPC as u32)
    );
    assert!(machine.interrupts.mapped().is_empty());
    assert_eq!(machine.interrupts.calls().len(), 5, "3 maps, 2 unmaps");
    assert_eq!(
        machine.peek(NIC, MSIX + 2, Width::Word) as u16 & MSIX_MASKED,
        0
    );
    assert_eq!(
        machine.peek(NIC, 0x04, Width::Word) as u16 & INTX_DISABLE,
        0
    );
    // And MSI-X can be enabled afterwards.
    assert_eq!(machine.handle(&mut guest, msix_op(1, &[0])), (0, 0));
}

/// Linux 6.1's pcifront sends `disable_msi` for `pci_disable_msix`
/// (`xen_pv_teardown_msi_irqs` tests `msix_enabled` after it was cleared):
/// unlike Linux's pciback, that turns MSI-X off, so the PIRQs do not stay
/// mapped into the guest and INTx works again.
#[test]
fn disable_msi_turns_off_msix_left_on_by_linuxs_pcifront() {
    let (mut machine, mut guest) = msi_machine();
    assert_eq!(machine.handle(&mut guest, msix_op(3, &[0, 1, 2])), (0, 0));
    assert_eq!(machine.interrupts.mapped().len(), 3);
    assert_eq!(
        machine.handle(&mut guest, op(XEN_PCI_OP_DISABLE_MSI, GUEST_NIC)),
        (0, u32::from(LINE)),
        "value: the INTx PIRQ"
    );
    assert_turned_off(&machine, MSIX, MSIX_ENABLE, &machine.interrupts);
    // The device is back in INTx mode: MSI can be enabled.
    assert_eq!(
        machine
            .handle(&mut guest, op(XEN_PCI_OP_ENABLE_MSI, GUEST_NIC))
            .0,
        0
    );
}

#[test]
fn msix_ops_follow_pciback_ops() {
    let (mut machine, mut guest) = msi_machine();
    // (count, entries, err, value, rule): pciback's own checks leave value
    // as sent; pci_enable_msix_exact's failures come back in value too.
    let refusals: &[(u32, &[u16], i32, u32, &str)] = &[
        (129, &[], EINVAL, 129, "op->value > SH_INFO_MAX_VEC"),
        (
            u32::MAX,
            &[],
            EINVAL,
            u32::MAX,
            "op->value > SH_INFO_MAX_VEC",
        ),
        (0, &[], EINVAL, EINVAL as u32, "pci_msi_supported: nvec < 1"),
        (2, &[1, 1], EINVAL, EINVAL as u32, "duplicate entries"),
        (
            9,
            &[0, 1, 2, 3, 4, 5, 6, 7, 8],
            ENOSPC,
            ENOSPC as u32,
            "more than the table",
        ),
        (1, &[8], EINVAL, EINVAL as u32, "entry outside the table"),
    ];
    for &(count, entries, err, value, rule) in refusals {
        assert_eq!(
            machine.handle(&mut guest, msix_op(count, entries)),
            (err, value),
            "{rule}"
        );
    }
    assert!(machine.interrupts.calls().is_empty());
    // A mapping failure comes back raw, in err and value.
    machine.interrupts.fail_next(Errno::ENOMEM);
    assert_eq!(
        machine.handle(&mut guest, msix_op(2, &[0, 5])),
        (ENOMEM, ENOMEM as u32)
    );
    // Success: err 0, value 0, one PIRQ per entry written back.
    let mut request = msix_op(3, &[7, 0, 5]);
    let reply = at_once(guest.handle(
        &mut request,
        &machine.bus,
        &mut machine.interrupts,
        &machine.delay,
    ));
    assert_eq!((reply.err, reply.value), (0, 0));
    let written: Vec<(u16, u16)> = reply
        .msix_entries
        .iter()
        .map(|entry| (entry.entry, entry.vector))
        .collect();
    let pirq = |n: u32| u16::try_from(FIRST_PIRQ + n).unwrap();
    assert_eq!(written, [(7, pirq(0)), (0, pirq(1)), (5, pirq(2))]);
    // Again: -EALREADY, value untouched; MSI meanwhile: op_failed.
    assert_eq!(machine.handle(&mut guest, msix_op(1, &[1])), (EALREADY, 1));
    assert_eq!(
        machine.handle(&mut guest, op(XEN_PCI_OP_ENABLE_MSI, GUEST_NIC)),
        (XEN_PCI_ERR_OP_FAILED, 0)
    );
    // Disable: value = the INTx PIRQ.
    assert_eq!(
        machine.handle(&mut guest, op(XEN_PCI_OP_DISABLE_MSIX, GUEST_NIC)),
        (0, u32::from(LINE))
    );
    assert!(machine.interrupts.mapped().is_empty());
}

#[test]
fn msix_needs_memory_decoding() {
    // XSA-157: MSI-X with COMMAND.MEMORY clear -> -ENXIO, value untouched.
    let (mut machine, mut guest) = msi_machine();
    let command = machine.peek(NIC, 0x04, Width::Word);
    machine.bus.poke(
        NIC,
        0x04,
        Width::Word,
        command & !u32::from(Command::MEMORY_SPACE.bits()),
    );
    assert_eq!(machine.handle(&mut guest, msix_op(1, &[0])), (ENXIO, 1));
}

#[test]
fn devices_without_msi_refuse_the_ops() {
    let device = flr_endpoint(1, 2).bar(0, SimBar::memory32(0x1000).at(0xfe00_0000));
    let mut machine = Machine::new([(NIC, device)]);
    let mut guest = guest_with(TopologyKind::Vpci, [machine.take(NIC)]);
    // pci_enable_msi without the capability: op_failed; pci_msix_vec_count: -EINVAL.
    assert_eq!(
        machine.handle(&mut guest, op(XEN_PCI_OP_ENABLE_MSI, GUEST_NIC)),
        (XEN_PCI_ERR_OP_FAILED, 0)
    );
    assert_eq!(
        machine.handle(&mut guest, msix_op(1, &[0])),
        (EINVAL, EINVAL as u32)
    );
    // No pin: the disable ops report PIRQ 0.
    assert_eq!(
        machine.handle(&mut guest, op(XEN_PCI_OP_DISABLE_MSI, GUEST_NIC)),
        (0, 0)
    );
}

#[test]
fn release_turns_off_what_the_guest_left_on() {
    let (mut machine, mut guest) = msi_machine();
    assert_eq!(machine.handle(&mut guest, msix_op(1, &[0])), (0, 0));
    let mut device = guest.remove(GUEST_NIC).unwrap();
    machine.release(&mut device).unwrap();
    assert_eq!(
        machine.interrupts.calls().last(),
        Some(&InterruptCall::Unmap {
            function: NIC,
            pirq: FIRST_PIRQ
        })
    );
    assert!(machine.interrupts.mapped().is_empty());
    // The next guest can enable MSI: the state went with the release.
    let mut guest = guest_with(TopologyKind::Vpci, [device]);
    assert_eq!(
        machine
            .handle(&mut guest, op(XEN_PCI_OP_ENABLE_MSI, GUEST_NIC))
            .0,
        0
    );
}

#[test]
fn the_global_permissive_flag_applies_to_every_device() {
    let mut machine = Machine::new([(NIC, msi_device())]);
    let mut guest = GuestDevices::new(TopologyKind::Vpci, true);
    guest.add(machine.take(NIC)).unwrap();
    // MSI address: no field; permissive -> written.
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, i32::from(MSI) + 4, 4, 0xfee0_1000),
        0
    );
    assert_eq!(machine.peek(NIC, MSI + 4, Width::Dword), 0xfee0_1000);
    // Per-device permissive, set after the take, does the same.
    let mut machine = Machine::new([(NIC, msi_device())]);
    let mut device = machine.take(NIC);
    assert!(!device.is_permissive());
    device.set_permissive();
    let mut guest = guest_with(TopologyKind::Vpci, [device]);
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, i32::from(MSI) + 4, 4, 0xfee0_2000),
        0
    );
    assert_eq!(machine.peek(NIC, MSI + 4, Width::Dword), 0xfee0_2000);
    assert_eq!(
        machine.write(&mut guest, virtual_address(0, 0), i32::from(MSI) + 2, 2, 1),
        0,
        "permissive: MSI control written unchecked"
    );
}

fn any_op() -> impl Strategy<Value = XenPciOp> {
    let cmd = prop_oneof![0_u32..12, any::<u32>()];
    let small = prop_oneof![0_u32..4, any::<u32>()];
    let devfn = prop_oneof![0_u32..0x20, any::<u32>()];
    let offset = prop_oneof![0_i32..0x1008, any::<i32>()];
    let size = prop_oneof![-1_i32..6, any::<i32>()];
    let value = prop_oneof![0_u32..200, any::<u32>()];
    let entries = proptest::collection::vec(any::<u16>(), 0..130);
    (
        cmd,
        small.clone(),
        small,
        devfn,
        offset,
        size,
        value,
        entries,
    )
        .prop_map(
            |(cmd, domain, bus, devfn, offset, size, value, entries)| XenPciOp {
                cmd,
                domain,
                bus,
                devfn,
                offset,
                size,
                value,
                msix_entries: msix_entries(&entries),
                ..XenPciOp::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary ops never panic, and every answer is one Linux could give.
    #[test]
    fn arbitrary_ops_never_panic(ops in proptest::collection::vec(any_op(), 1..40)) {
        let (mut machine, mut guest) = msi_machine();
        for mut request in ops {
            let (cmd, size) = (request.cmd, request.size);
            let reply = at_once(guest.handle(&mut request, &machine.bus, &mut machine.interrupts, &machine.delay));
            let allowed = [
                0,
                XEN_PCI_ERR_DEV_NOT_FOUND,
                XEN_PCI_ERR_INVALID_OFFSET,
                XEN_PCI_ERR_ACCESS_DENIED,
                XEN_PCI_ERR_NOT_IMPLEMENTED,
                XEN_PCI_ERR_OP_FAILED,
                EINVAL,
                ENXIO,
                ENOSPC,
                EALREADY,
            ];
            prop_assert!(allowed.contains(&reply.err), "err {}", reply.err);
            prop_assert!(reply.msix_entries.len() <= 128);
            if cmd == XEN_PCI_OP_CONF_READ && reply.err == 0 {
                let bits = u32::try_from(size).unwrap() * 8;
                prop_assert!(bits == 32 || reply.value >> bits == 0);
            }
            if !reply.msix_entries.is_empty() {
                prop_assert_eq!(cmd, XEN_PCI_OP_ENABLE_MSIX);
            }
        }
    }
}
