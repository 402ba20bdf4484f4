// SPDX-License-Identifier: MIT OR Apache-2.0
//! The configuration space a guest sees, through the op path, against Linux's rules.
//!
//! Expected values come from tables written from Linux's
//! `conf_space_header.c` and `conf_space_capability.c` (each entry names
//! the rule), applied to the simulated device by hand, never from this
//! crate's own output.

mod common;

use common::{Machine, address, guest_with, virtual_address};
use pci::capability::{CapabilityId, PortType};
use pci::register::Status;
use pci::sim::{ConfigWrite, SimBar, SimDevice};
use pci::{Address, Width};
use pciback::sim::nic::{FIRMWARE_COMMAND, LINE, MSI, MSIX, PCIE, PM, nic};
use pciback::{DeviceOptions, GuestDevices, Quirk, TopologyKind, VirtualAddress};
use xen::abi::io::pciif::{XEN_PCI_ERR_ACCESS_DENIED, XEN_PCI_ERR_INVALID_OFFSET};

const NIC: Address = address(0, 3, 0);
/// Where vpci shows the only device: slot 0.
const GUEST_NIC: VirtualAddress = VirtualAddress(address(0, 0, 0));

/// Linux's PCI_COMMAND_GUEST.
const COMMAND_GUEST: u16 = 0x02BC;

fn machine() -> Machine {
    Machine::new([(NIC, nic())])
}

fn nic_guest(machine: &Machine, options: &DeviceOptions) -> GuestDevices {
    guest_with(TopologyKind::Vpci, [machine.take_with(NIC, options, &[])])
}

/// The virtual registers of [`nic`] after it is taken, from Linux's field
/// tables: (offset, width, value, rule). The command register is checked
/// on its own (its value mixes hardware and cache).
const VIRTUAL_REGISTERS: &[(u16, Width, u32, &str)] = &[
    (
        0x00,
        Width::Word,
        0x8086,
        "header_common: vendor = dev->vendor",
    ),
    (
        0x02,
        Width::Word,
        0x10d3,
        "header_common: device = dev->device",
    ),
    (
        0x3C,
        Width::Byte,
        LINE as u32,
        "interrupt_read: (u8) dev->irq",
    ),
    (
        0x10,
        Width::Dword,
        0xfebc_0000,
        "bar_init: start | flags (mem32)",
    ),
    (
        0x14,
        Width::Dword,
        0x0000_c041,
        "bar_init: start | flags (I/O bit)",
    ),
    (
        0x18,
        Width::Dword,
        0x0000_000c,
        "bar_init: low start | 64-bit | prefetch",
    ),
    (
        0x1C,
        Width::Dword,
        0x0000_0008,
        "bar_init: upper half = start >> 32",
    ),
    (0x20, Width::Dword, 0, "bar_init: no resource"),
    (0x24, Width::Dword, 0, "bar_init: no resource"),
    (
        0x30,
        Width::Dword,
        0xfeb8_0000,
        "bar_init: ROM start, enable bit clear",
    ),
    (
        PM + 2,
        Width::Word,
        0x0603,
        "pm_caps_read: PMC & ~PCI_PM_CAP_PME_MASK",
    ),
];

/// What a read of `width` at `offset` must return: virtual bytes from
/// [`VIRTUAL_REGISTERS`] and the command rule, hardware bytes elsewhere.
fn expected(machine: &Machine, offset: u16, width: Width) -> u32 {
    let mut model: Vec<Option<u8>> = vec![None; 4096];
    for (at, register_width, value, _) in VIRTUAL_REGISTERS {
        for (index, byte) in value.to_le_bytes()[..usize::from(register_width.bytes())]
            .iter()
            .enumerate()
        {
            model[usize::from(*at) + index] = Some(*byte);
        }
    }
    // command_read: (real & PCI_COMMAND_GUEST) | (cached & ~PCI_COMMAND_GUEST).
    let hardware_command = machine.peek(NIC, 0x04, Width::Word) as u16;
    let command = (hardware_command & COMMAND_GUEST) | (FIRMWARE_COMMAND & !COMMAND_GUEST);
    model[4] = Some(command.to_le_bytes()[0]);
    model[5] = Some(command.to_le_bytes()[1]);
    (0..width.bytes()).rev().fold(0, |value, index| {
        let at = offset + index;
        let byte =
            model[usize::from(at)].unwrap_or_else(|| machine.peek(NIC, at, Width::Byte) as u8);
        (value << 8) | u32::from(byte)
    })
}

#[test]
fn every_byte_reads_as_linux_shows_it_at_every_size_and_alignment() {
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    for size in [1, 2, 4] {
        for offset in 0..4096_i32 {
            let (err, value) = machine.read(&mut guest, GUEST_NIC, offset, size);
            if offset % size != 0 {
                // valid_request: offset % size != 0 -> XEN_PCI_ERR_invalid_offset, value 0.
                assert_eq!(
                    (err, value),
                    (XEN_PCI_ERR_INVALID_OFFSET, 0),
                    "{offset:#x}/{size}"
                );
                continue;
            }
            let width = Width::from_bytes(size as u32).unwrap();
            let want = expected(&machine, offset as u16, width);
            assert_eq!((err, value), (0, want), "read {size} at {offset:#x}");
        }
    }
    // Reads never write.
    assert!(machine.writes().is_empty());
}

/// Every read this domain makes of a device is a VM exit under Xen: the
/// registers the PCI specifications make read-only (IDs, class, header
/// type, subsystem, capability pointers and headers, the PCIe capabilities
/// registers, MSI-X's table and PBA offsets, extended capability headers)
/// and the fields with values of their own are answered from what was
/// read at take time. Live registers (status, control, AER status) are
/// read from the device every time, and the guest sees them change.
#[test]
fn read_only_registers_are_answered_from_take_time_and_live_ones_from_the_device() {
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    let kept: &[(i32, i32)] = &[
        (0x00, 4),               // vendor, device
        (0x08, 4),               // revision, class
        (0x0E, 1),               // header type
        (0x2C, 4),               // subsystem
        (0x34, 1),               // capability pointer
        (0x3C, 4),               // line (virtual), pin, Min_Gnt, Max_Lat
        (PM as i32, 2),          // a capability's ID and next
        (MSIX as i32 + 4, 4),    // MSI-X table offset
        (MSIX as i32 + 8, 4),    // MSI-X PBA offset
        (PCIE as i32 + 4, 4),    // device capabilities
        (PCIE as i32 + 0x0C, 4), // link capabilities
        (0x100, 4),              // the AER capability's header
    ];
    let reads = machine.bus.reads();
    for &(offset, size) in kept {
        let (err, value) = machine.read(&mut guest, GUEST_NIC, offset, size);
        assert_eq!(err, 0);
        if offset != 0x3C {
            let width = Width::from_bytes(size as u32).unwrap();
            assert_eq!(
                value,
                machine.peek(NIC, offset as u16, width),
                "{offset:#x}"
            );
        }
    }
    assert_eq!(
        machine.bus.reads(),
        reads,
        "kept registers were read from the device"
    );
    // Live: the status register, the PCIe device status, AER's status.
    for (offset, size) in [(0x06, 2), (PCIE as i32 + 0x0A, 2), (0x104, 4)] {
        let before = machine.bus.reads();
        machine.read(&mut guest, GUEST_NIC, offset, size);
        assert!(
            machine.bus.reads() > before,
            "{offset:#x} not read from the device"
        );
    }
    // A status bit the device sets is seen at once.
    let status = machine.peek(NIC, 0x06, Width::Word);
    machine.bus.poke(
        NIC,
        0x06,
        Width::Word,
        status | u32::from(Status::INTERRUPT_STATUS.bits()),
    );
    let (_, seen) = machine.read(&mut guest, GUEST_NIC, 0x06, 2);
    assert_ne!(seen & u32::from(Status::INTERRUPT_STATUS.bits()), 0);
}

/// A device that does not follow the specification (a "read-only"
/// register that takes writes) shows what a permissive write left in it.
#[test]
fn a_permissive_write_to_a_kept_register_is_read_back_from_the_device() {
    let device = nic().writable(0x2C, Width::Dword, 0xFFFF_FFFF);
    let mut machine = Machine::new([(NIC, device)]);
    let options = DeviceOptions { permissive: true };
    let mut guest = nic_guest(&machine, &options);
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x2C, 2, 0x1234), 0);
    assert_eq!(machine.peek(NIC, 0x2C, Width::Word), 0x1234);
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x2C, 2), (0, 0x1234));
}

#[test]
fn permissive_writes_of_any_width_to_a_kept_register_are_read_back_byte_for_byte() {
    // conf_space.c: no field at 0x2C -> the write goes to the device
    // (permissive) and a read answers the device. The subsystem IDs start
    // as 0xa01f_8086.
    let device = nic().writable(0x2C, Width::Dword, 0xFFFF_FFFF);
    let mut machine = Machine::new([(NIC, device)]);
    let options = DeviceOptions { permissive: true };
    let mut guest = nic_guest(&machine, &options);
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x2C, 4),
        (0, 0xa01f_8086)
    );
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, 0x2C, 4, 0x1234_5678),
        0
    );
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x2C, 4),
        (0, 0x1234_5678)
    );
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x2E, 1, 0xAB), 0);
    assert_eq!(machine.peek(NIC, 0x2C, Width::Dword), 0x12AB_5678);
    for (offset, size, value) in [
        (0x2C, 4, 0x12AB_5678),
        (0x2E, 2, 0x12AB),
        (0x2F, 1, 0x12),
        (0x2D, 1, 0x56),
        (0x2C, 1, 0x78),
    ] {
        assert_eq!(
            machine.read(&mut guest, GUEST_NIC, offset, size),
            (0, value),
            "{offset:#x}/{size}"
        );
    }
}

#[test]
fn the_command_register_reads_hardware_guest_bits_and_cached_others() {
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    // After the take: decoding on (pci_enable_device: I/O and memory BARs),
    // INTx unmasked (pin 1), bus mastering off (xen_pcibk_reset_device).
    assert_eq!(machine.peek(NIC, 0x04, Width::Word), 0x0003);
    // The guest sees its cached (firmware) non-GUEST bits: memory and
    // INTX_DISABLE, and the hardware's GUEST bits: no bus master.
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x04, 2), (0, 0x0402));
}

#[test]
fn bar_sizing_as_a_guest_does_it_never_reaches_the_hardware() {
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    // (offset, value, size answer, sizing pattern), from bar_init:
    // len_val = -size | flags; upper half = (-size) >> 32; ROM pattern per
    // rom_write ((value | ~PCI_ROM_ADDRESS_MASK) == ~0).
    let table: &[(i32, u32, u32, u32)] = &[
        (0x10, 0xfebc_0000, 0xfffe_0000, u32::MAX),
        (0x14, 0x0000_c041, 0xffff_ffe1, u32::MAX),
        (0x18, 0x0000_000c, 0xc000_000c, u32::MAX),
        (0x1C, 0x0000_0008, 0xffff_ffff, u32::MAX),
        (0x20, 0, 0, u32::MAX),
        (0x24, 0, 0, u32::MAX),
        (0x30, 0xfeb8_0000, 0xffff_8000, 0xffff_f800),
        (0x30, 0xfeb8_0000, 0xffff_8000, 0xffff_fffe),
    ];
    for &(offset, value, size_answer, pattern) in table {
        assert_eq!(machine.read(&mut guest, GUEST_NIC, offset, 4), (0, value));
        assert_eq!(machine.write(&mut guest, GUEST_NIC, offset, 4, pattern), 0);
        assert_eq!(
            machine.read(&mut guest, GUEST_NIC, offset, 4),
            (0, size_answer),
            "sizing {offset:#x}"
        );
        assert_eq!(machine.write(&mut guest, GUEST_NIC, offset, 4, value), 0);
        assert_eq!(machine.read(&mut guest, GUEST_NIC, offset, 4), (0, value));
    }
    // bar_write: any other value is ignored, and the answer is the address again.
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, 0x10, 4, 0x1234_5670),
        0
    );
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x10, 4),
        (0, 0xfebc_0000)
    );
    // A partial write of ones is not a sizing write (only the 32-bit pattern is).
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x12, 2, 0xFFFF), 0);
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x10, 4),
        (0, 0xfebc_0000)
    );
    assert!(
        machine.writes().is_empty(),
        "BAR writes reached the hardware: {:?}",
        machine.writes()
    );
}

#[test]
fn a_release_forgets_bars_left_mid_sizing() {
    // pcistub_put_pci_dev -> xen_pcibk_config_reset_dev -> bar_reset:
    // which = 0, so the next guest reads the addresses, not the sizes.
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x10, 4, u32::MAX), 0);
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, 0x30, 4, 0xffff_fffe),
        0
    );
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x10, 4),
        (0, 0xfffe_0000)
    );
    let mut device = guest.remove(GUEST_NIC).unwrap();
    machine.release(&mut device).unwrap();
    let mut guest = guest_with(TopologyKind::Vpci, [device]);
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x10, 4),
        (0, 0xfebc_0000)
    );
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x30, 4),
        (0, 0xfeb8_0000)
    );
}

#[test]
fn only_all_address_bits_set_is_a_sizing_write() {
    // bar_write: a sizing write sets every bit (value == ~0); any other
    // value that is not the BAR's own is ignored, and the BAR reads its
    // address. (offset, value written, what it reads after.)
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    for (offset, value, reads) in [
        (0x14, 0xFFFF_FFF0, 0x0000_c041),
        (0x14, 0x0000_0003, 0x0000_c041),
        (0x14, u32::MAX, 0xffff_ffe1),
        (0x10, 0x0000_000F, 0xfebc_0000),
        (0x10, u32::MAX, 0xfffe_0000),
    ] {
        assert_eq!(machine.write(&mut guest, GUEST_NIC, offset, 4, value), 0);
        assert_eq!(
            machine.read(&mut guest, GUEST_NIC, offset, 4),
            (0, reads),
            "{offset:#x} after {value:#x}"
        );
    }
    assert!(machine.writes().is_empty(), "{:?}", machine.writes());
}

#[test]
fn writing_back_the_address_restores_a_bar_the_hardware_lost() {
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    // bar_write: tmpval != bar->val && value == bar->val -> write bar->val.
    machine.bus.poke(NIC, 0x10, Width::Dword, 0);
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, 0x10, 4, 0xfebc_0000),
        0
    );
    assert_eq!(machine.peek(NIC, 0x10, Width::Dword), 0xfebc_0000);
    assert_eq!(
        machine.writes(),
        [ConfigWrite {
            address: NIC,
            offset: 0x10,
            width: Width::Dword,
            value: 0xfebc_0000
        }]
    );
}

/// One command-register write: the value, then the command register the
/// hardware must hold, and what the guest must read back.
struct CommandStep {
    value: u32,
    hardware: u32,
    guest_reads: u32,
    rule: &'static str,
}

fn run_command_steps(permissive: bool, steps: &[CommandStep]) {
    let mut machine = machine();
    let options = DeviceOptions { permissive };
    let mut guest = nic_guest(&machine, &options);
    for step in steps {
        assert_eq!(
            machine.write(&mut guest, GUEST_NIC, 0x04, 2, step.value),
            0,
            "{}",
            step.rule
        );
        assert_eq!(
            machine.peek(NIC, 0x04, Width::Word),
            step.hardware,
            "hardware after {:#06x}: {}",
            step.value,
            step.rule
        );
        assert_eq!(
            machine.read(&mut guest, GUEST_NIC, 0x04, 2),
            (0, step.guest_reads),
            "guest reads after {:#06x}: {}",
            step.value,
            step.rule
        );
    }
}

#[test]
fn command_writes_follow_command_write_without_permissive() {
    // The simulated command register implements I/O, memory, bus master,
    // parity, SERR and INTx disable. After the take it holds 0x0003.
    run_command_steps(
        false,
        &[
            CommandStep {
                value: 0x0007,
                hardware: 0x0007,
                guest_reads: 0x0007,
                rule: "enable (decode already on), pci_set_master; cached = value",
            },
            CommandStep {
                value: 0x0147,
                hardware: 0x0007,
                guest_reads: 0x0147,
                rule: "SERR and parity are cached only: not permissive",
            },
            CommandStep {
                value: 0x0000,
                hardware: 0x0003,
                guest_reads: 0x0000,
                rule: "pci_disable_device clears bus master, leaves decoding (XSA-120)",
            },
            CommandStep {
                value: 0x0404,
                hardware: 0x0007,
                guest_reads: 0x0404,
                rule: "bus master without decode: pci_set_master; INTX_DISABLE cached only",
            },
        ],
    );
}

#[test]
fn command_writes_in_permissive_mode_also_write_the_guest_bits() {
    run_command_steps(
        true,
        &[
            CommandStep {
                value: 0x0147,
                hardware: 0x0007,
                guest_reads: 0x0147,
                rule: "enable + master; permissive writes only PCI_COMMAND_GUEST bits",
            },
            CommandStep {
                value: 0x0001,
                hardware: 0x0003,
                guest_reads: 0x0001,
                rule: "I/O only: still enabled; master cleared; decode untouched",
            },
        ],
    );
}

#[test]
fn memory_write_invalidate_needs_a_working_cache_line_size() {
    // pci_set_mwi (x86): cache line size must hold 16 dwords (or a multiple);
    // if it does not take 16, the bit is dropped from the cached value.
    let mut machine = Machine::new([(NIC, nic().writable(0x0C, Width::Byte, 0))]);
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 2, 0x0013), 0);
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x04, 2), (0, 0x0003));

    // With a writable cache line size: 16 is written, MWI is requested
    // (the simulated register does not implement the bit, so it reads 0).
    let mut machine = Machine::new([(NIC, nic())]);
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 2, 0x0013), 0);
    assert_eq!(machine.peek(NIC, 0x0C, Width::Byte), 16);
    assert!(
        machine
            .writes()
            .iter()
            .any(|write| write.offset == 0x04 && write.value & 0x10 != 0)
    );
}

/// One guest write of the command register on a device whose command
/// register the test may first set behind the backend's back.
struct CommandRequest {
    /// What the hardware holds before the write, if the test sets it.
    hardware_before: Option<u32>,
    value: u32,
    /// What the hardware holds after.
    hardware: u32,
    rule: &'static str,
}

fn run_command_requests(machine: &mut Machine, permissive: bool, steps: &[CommandRequest]) {
    let options = DeviceOptions { permissive };
    let mut guest = nic_guest(machine, &options);
    for step in steps {
        if let Some(before) = step.hardware_before {
            machine.bus.poke(NIC, 0x04, Width::Word, before);
        }
        assert_eq!(
            machine.write(&mut guest, GUEST_NIC, 0x04, 2, step.value),
            0,
            "{}",
            step.rule
        );
        assert_eq!(
            machine.peek(NIC, 0x04, Width::Word),
            step.hardware,
            "hardware after {:#06x}: {}",
            step.value,
            step.rule
        );
    }
}

#[test]
fn decode_requests_enable_a_disabled_device_and_disable_an_enabled_one() {
    // command_write: !pci_is_enabled && is_enable_cmd -> pci_enable_device
    // (decoding for the I/O and memory BARs); pci_is_enabled &&
    // !is_enable_cmd -> pci_disable_device; otherwise the enable state is
    // left alone and, not permissive, nothing is written. The test clears
    // decoding behind the backend's back to see whether it enabled. The
    // take leaves the device disabled (xen_pcibk_reset_device).
    let mut machine = machine();
    run_command_requests(
        &mut machine,
        false,
        &[
            CommandRequest {
                hardware_before: Some(0),
                value: 0x0001,
                hardware: 0x0003,
                rule: "disabled + I/O: pci_enable_device turns on I/O and memory",
            },
            CommandRequest {
                hardware_before: Some(0),
                value: 0x0002,
                hardware: 0x0000,
                rule: "enabled + memory: no pci_enable_device, nothing written",
            },
            CommandRequest {
                hardware_before: Some(0),
                value: 0x0003,
                hardware: 0x0000,
                rule: "still enabled: the previous request did not disable",
            },
            CommandRequest {
                hardware_before: None,
                value: 0x0000,
                hardware: 0x0000,
                rule: "enabled + no decode: pci_disable_device",
            },
            CommandRequest {
                hardware_before: None,
                value: 0x0000,
                hardware: 0x0000,
                rule: "disabled + no decode: nothing",
            },
            CommandRequest {
                hardware_before: Some(0),
                value: 0x0002,
                hardware: 0x0003,
                rule: "disabled again + memory: pci_enable_device",
            },
        ],
    );
}

/// [`nic`] with every command bit up to INTx disable writable (the
/// simulated default has only decode, bus master, parity, SERR and INTx).
fn nic_with_all_command_bits() -> Machine {
    Machine::new([(NIC, nic().writable(0x04, Width::Word, 0x07FF))])
}

#[test]
fn a_byte_write_to_the_command_register_keeps_its_other_byte() {
    // conf_space.c: a write narrower than the field reads the field
    // (command_read: hardware GUEST bits, cached others), merges the new
    // byte in (merge_value) and hands command_write the whole word.
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 2, 0x0403), 0);
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 1, 0x07), 0);
    // Bus master set (pci_set_master), INTX_DISABLE still cached.
    assert_eq!(machine.peek(NIC, 0x04, Width::Word), 0x0007);
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x04, 2), (0, 0x0407));
    // And the high byte alone: the low byte (decode, bus master) is kept.
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x05, 1, 0x01), 0);
    assert_eq!(machine.peek(NIC, 0x04, Width::Word), 0x0007);
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x04, 2), (0, 0x0107));
}

#[test]
fn only_a_permissive_write_puts_the_guest_bits_in_the_hardware() {
    // command_write: cmd->val = value; not permissive -> return 0.
    // Permissive: if the register differs, write (value & PCI_COMMAND_GUEST)
    // | (current & ~PCI_COMMAND_GUEST). 0x03A3: decode, VGA snoop, wait
    // cycle, fast back-to-back (guest bits) and SERR (not one).
    for (permissive, hardware, rule) in [
        (false, 0x0003, "not permissive: only the enable rule acts"),
        (
            true,
            0x02A3,
            "permissive: guest bits written, SERR kept from hardware",
        ),
    ] {
        let mut machine = nic_with_all_command_bits();
        let options = DeviceOptions { permissive };
        let mut guest = nic_guest(&machine, &options);
        assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 2, 0x03A3), 0);
        assert_eq!(machine.peek(NIC, 0x04, Width::Word), hardware, "{rule}");
        // command_read: (real & PCI_COMMAND_GUEST) | (cached & ~PCI_COMMAND_GUEST).
        let reads = (hardware & u32::from(COMMAND_GUEST)) | (0x03A3 & !u32::from(COMMAND_GUEST));
        assert_eq!(
            machine.read(&mut guest, GUEST_NIC, 0x04, 2),
            (0, reads),
            "{rule}"
        );
    }
}

#[test]
fn memory_write_invalidate_follows_the_change_of_the_cached_bit() {
    // command_write: MWI newly asked for -> pci_set_mwi (cache line size
    // written to 16, then the bit); asked for again -> nothing; no longer
    // asked for -> pci_clear_mwi. Not permissive.
    let mut machine = nic_with_all_command_bits();
    run_command_requests(
        &mut machine,
        false,
        &[
            CommandRequest {
                hardware_before: None,
                value: 0x0013,
                hardware: 0x0013,
                rule: "MWI asked for: pci_set_mwi",
            },
            CommandRequest {
                hardware_before: None,
                value: 0x0013,
                hardware: 0x0013,
                rule: "MWI asked for again: nothing",
            },
            CommandRequest {
                hardware_before: None,
                value: 0x0003,
                hardware: 0x0003,
                rule: "MWI dropped: pci_clear_mwi",
            },
        ],
    );
    assert_eq!(machine.peek(NIC, 0x0C, Width::Byte), 16);
}

#[test]
fn pci_set_mwi_keeps_a_cache_line_size_that_is_a_multiple_of_the_cpus() {
    // pci_set_cacheline_size: kept if >= pci_cache_line_size (16 dwords on
    // x86) and a multiple of it; otherwise 16 is written (and read back).
    // Then pci_set_mwi sets the bit.
    for (before, after, rewritten) in [
        (0, 16, true),
        (8, 16, true),
        (16, 16, false),
        (24, 16, true),
        (32, 32, false),
    ] {
        let mut machine = Machine::new([(
            NIC,
            nic()
                .writable(0x04, Width::Word, 0x07FF)
                .raw_register(0x0C, Width::Byte, before),
        )]);
        let mut guest = nic_guest(&machine, &DeviceOptions::default());
        assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 2, 0x0013), 0);
        assert_eq!(machine.peek(NIC, 0x0C, Width::Byte), after, "{before}");
        assert_eq!(
            machine.writes().iter().any(|write| write.offset == 0x0C),
            rewritten,
            "cache line size {before}"
        );
        assert_eq!(machine.peek(NIC, 0x04, Width::Word), 0x0013, "{before}");
    }
}

#[test]
fn enabling_unmasks_intx_only_for_a_function_with_a_pin() {
    // do_pci_enable_device: no MSI/MSI-X, and a pin -> INTX_DISABLE cleared.
    let with_pin = |pin: u8| {
        SimDevice::endpoint(0x8086, 0x100e, 0x02_00_00)
            .interrupt(pin, if pin == 0 { 0 } else { LINE })
            .bar(0, SimBar::memory32(0x2_0000).at(0xfebc_0000))
    };
    for (pin, hardware) in [(1, 0x0002), (0, 0x0402)] {
        let mut machine = Machine::new([(NIC, with_pin(pin))]);
        run_command_requests(
            &mut machine,
            false,
            &[CommandRequest {
                hardware_before: Some(0x0400),
                value: 0x0002,
                hardware,
                rule: "pci_enable_device: memory decode, INTx unmasked if there is a pin",
            }],
        );
    }
}

#[test]
fn bus_mastering_raises_a_conventional_devices_low_latency_timer() {
    // pci_set_master -> pcibios_set_master: not for PCI Express; a latency
    // timer below 16 becomes 64, one from 16 up is kept.
    let conventional = |latency: u32| {
        SimDevice::endpoint(0x8086, 0x100e, 0x02_00_00)
            .interrupt(1, LINE)
            .bar(0, SimBar::memory32(0x2_0000).at(0xfebc_0000))
            .raw_register(0x0D, Width::Byte, latency)
    };
    for (device, latency, rule) in [
        (conventional(0), 64, "conventional, 0 -> 64"),
        (conventional(15), 64, "conventional, 15 -> 64"),
        (conventional(16), 16, "conventional, 16 kept"),
        (
            nic().raw_register(0x0D, Width::Byte, 0),
            0,
            "PCI Express: no latency timer",
        ),
    ] {
        let mut machine = Machine::new([(NIC, device)]);
        let mut guest = nic_guest(&machine, &DeviceOptions::default());
        assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x04, 2, 0x0006), 0);
        assert_eq!(machine.peek(NIC, 0x04, Width::Word) & 0x4, 0x4, "{rule}");
        assert_eq!(machine.peek(NIC, 0x0D, Width::Byte), latency, "{rule}");
    }
}

#[test]
fn unhandled_registers_take_writes_only_in_permissive_mode() {
    // conf_space.c: no field overlaps -> written only if permissive; otherwise
    // dropped with success. Registers: MSI address (no field), PCIe device
    // control (no field: a guest cannot start an FLR), status (RW1C, no field).
    let registers: &[(i32, i32, u32)] = &[
        (i32::from(MSI) + 4, 4, 0xfee0_0000),
        (i32::from(PCIE) + 8, 2, 0x8000),
        (0x06, 2, 0xF900),
    ];
    for permissive in [false, true] {
        let mut machine = machine();
        machine.bus.poke(
            NIC,
            0x06,
            Width::Word,
            u32::from((Status::CAPABILITIES_LIST | Status::RECEIVED_MASTER_ABORT).bits()),
        );
        let options = DeviceOptions { permissive };
        let mut guest = nic_guest(&machine, &options);
        for &(offset, size, value) in registers {
            assert_eq!(machine.write(&mut guest, GUEST_NIC, offset, size, value), 0);
        }
        let written: Vec<(u16, u32)> = machine
            .writes()
            .iter()
            .map(|write| (write.offset, write.value))
            .collect();
        if permissive {
            assert_eq!(
                written,
                [(MSI + 4, 0xfee0_0000), (PCIE + 8, 0x8000), (0x06, 0xF900)]
            );
            assert_eq!(
                machine.peek(NIC, 0x06, Width::Word),
                u32::from(Status::CAPABILITIES_LIST.bits())
            );
        } else {
            assert!(written.is_empty(), "{written:x?}");
        }
    }
}

#[test]
fn a_write_touching_a_field_drops_its_unhandled_bytes_even_when_permissive() {
    // conf_space.c: handled = 1 as soon as one field overlaps; the status
    // half of a dword write at 0x04 is never written.
    let mut machine = machine();
    let options = DeviceOptions { permissive: true };
    let mut guest = nic_guest(&machine, &options);
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, 0x04, 4, 0xF900_0003),
        0
    );
    assert!(
        machine
            .writes()
            .iter()
            .all(|write| write.offset == 0x04 && write.width == Width::Word)
    );
}

/// A write to a header register: (offset, size, value), the writes that
/// must reach the hardware, and the Linux rule.
struct HeaderWrite {
    offset: i32,
    size: i32,
    value: u32,
    hardware: &'static [(u16, u32)],
    rule: &'static str,
}

#[test]
fn header_fields_follow_their_handlers() {
    let mut machine = Machine::new([(
        NIC,
        nic()
            .writable(0x0F, Width::Byte, 0xFF)
            .raw_register(0x0F, Width::Byte, 0x80),
    )]);
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    let table = [
        HeaderWrite {
            offset: 0x3C,
            size: 1,
            value: 5,
            hardware: &[],
            rule: "interrupt line: read handler only",
        },
        HeaderWrite {
            offset: 0x3D,
            size: 1,
            value: 2,
            hardware: &[],
            rule: "interrupt pin: read only",
        },
        HeaderWrite {
            offset: 0x0D,
            size: 1,
            value: 0x40,
            hardware: &[],
            rule: "latency timer: read only",
        },
        HeaderWrite {
            offset: 0x0F,
            size: 1,
            value: 0x80,
            hardware: &[(0x0F, 0x80)],
            rule: "bist_write: the device's own bits (BIST capable)",
        },
        HeaderWrite {
            offset: 0x0F,
            size: 1,
            value: 0x40,
            hardware: &[(0x0F, 0x40)],
            rule: "bist_write: exactly START",
        },
        HeaderWrite {
            offset: 0x0F,
            size: 1,
            value: 0x00,
            hardware: &[(0x0F, 0x00)],
            rule: "bist_write: only START differs from the device (0x40)",
        },
        HeaderWrite {
            offset: 0x0F,
            size: 1,
            value: 0x01,
            hardware: &[],
            rule: "bist_write: anything else dropped",
        },
        HeaderWrite {
            offset: 0x08,
            size: 4,
            value: 0,
            hardware: &[],
            rule: "revision/class: no field, not permissive",
        },
    ];
    for HeaderWrite {
        offset,
        size,
        value,
        hardware,
        rule,
    } in table
    {
        machine.bus.clear_writes();
        assert_eq!(
            machine.write(&mut guest, GUEST_NIC, offset, size, value),
            0,
            "{rule}"
        );
        let written: Vec<(u16, u32)> = machine
            .writes()
            .iter()
            .map(|write| (write.offset, write.value))
            .collect();
        assert_eq!(written, hardware, "{rule}");
    }
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x3C, 1),
        (0, u32::from(LINE))
    );
}

#[test]
fn taking_a_device_turns_its_pme_generation_off() {
    // pm_ctrl_init: PMCSR read; if PME_ENABLE is set, it is written back
    // without it (data select and the power state kept).
    // PME status (write one to clear) is left alone when PME is off.
    for (before, after) in [
        (0x0300_u32, 0x0200_u32),
        (0x0100, 0x0000),
        (0x0200, 0x0200),
        (0x8000, 0x8000),
    ] {
        let machine = Machine::new([(NIC, nic().raw_register(PM + 4, Width::Word, before))]);
        machine.take(NIC);
        assert_eq!(
            machine.peek(NIC, PM + 4, Width::Word),
            after,
            "PMCSR {before:#06x}"
        );
    }
}

#[test]
fn power_control_writes_only_pme_status_and_data_select_and_only_when_they_differ() {
    // pm_ctrl_write: new_state = value & STATE_MASK; value &= PM_OK_BITS
    // (PME status, data select); if (old & PM_OK_BITS) != value, write
    // (old & ~PM_OK_BITS) | value; then pci_set_power_state(new_state).
    // PME status is write-one-to-clear; the simulated PMCSR also holds
    // No_Soft_Reset (0x0008, read-only). (written, PMCSR after, waits.)
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    machine.bus.poke(NIC, PM + 4, Width::Word, 0x8008);
    let pmcsr = i32::from(PM) + 4;
    for (value, after, waited, rule) in [
        (
            0x8000,
            0x8008,
            false,
            "PME status as the device has it: no write",
        ),
        (
            0x0000,
            0x8008,
            false,
            "PME status 0 differs: written as 0, which clears nothing",
        ),
        (
            0x0003,
            0x000B,
            true,
            "D3hot: pci_set_power_state writes PMCSR back with the new state, \
             which clears the pending PME status",
        ),
        (
            0x8203,
            0x020B,
            false,
            "data select: written with the state kept (D3hot), no transition",
        ),
    ] {
        machine.delay.clear();
        assert_eq!(
            machine.write(&mut guest, GUEST_NIC, pmcsr, 2, value),
            0,
            "{rule}"
        );
        assert_eq!(machine.peek(NIC, PM + 4, Width::Word), after, "{rule}");
        assert_eq!(!machine.delay.waits().is_empty(), waited, "{rule}");
    }
}

#[test]
fn power_control_walks_down_through_d1_and_d2_with_their_delays() {
    // pci_set_power_state: from D0 any supported state; from D1/D2 only
    // deeper; pci_raw_set_power_state waits 10 ms entering or leaving
    // D3hot, 200 us entering or leaving D2, nothing for D1. The simulated
    // function supports D1 and D2 and has No_Soft_Reset (0x0008) set, so
    // leaving D3hot restores no BARs (need_restore is false).
    let mut machine = machine();
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    let pmcsr = i32::from(PM) + 4;
    let ms = std::time::Duration::from_millis;
    for (value, after, waits) in [
        (0x0001, 0x0009, vec![]),
        (0x0002, 0x000A, vec![std::time::Duration::from_micros(200)]),
        (0x0003, 0x000B, vec![ms(10)]),
        (0x0000, 0x0008, vec![ms(10)]),
    ] {
        machine.delay.clear();
        machine.bus.clear_writes();
        assert_eq!(machine.write(&mut guest, GUEST_NIC, pmcsr, 2, value), 0);
        assert_eq!(machine.peek(NIC, PM + 4, Width::Word), after, "{value:#x}");
        assert_eq!(machine.delay.waits(), waits, "{value:#x}");
        let written: Vec<u16> = machine.writes().iter().map(|w| w.offset).collect();
        assert_eq!(written, [PM + 4], "{value:#x}");
    }
}

#[test]
fn power_control_changes_state_through_the_power_code() {
    // A PM capability whose D3hot->D0 resets the function (No_Soft_Reset clear).
    let mut machine = Machine::new([(NIC, nic().raw_register(PM + 4, Width::Word, 0))]);
    let mut guest = nic_guest(&machine, &DeviceOptions::default());
    let pmcsr = i32::from(PM) + 4;
    // pm_ctrl_write: PM_OK_BITS (PME status, data select) merged, state via
    // pci_set_power_state: D3hot with the 10 ms wait.
    assert_eq!(machine.write(&mut guest, GUEST_NIC, pmcsr, 2, 0x0203), 0);
    assert_eq!(machine.peek(NIC, PM + 4, Width::Word), 0x0203);
    assert_eq!(
        machine.delay.waits(),
        [std::time::Duration::from_millis(10)]
    );
    // PME enable is not a PM_OK_BIT; D1 from D3hot is an invalid transition:
    // PCIBIOS_SET_FAILED -> access_denied, hardware unchanged.
    machine.bus.clear_writes();
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, pmcsr, 2, 0x0301),
        XEN_PCI_ERR_ACCESS_DENIED
    );
    assert!(machine.writes().is_empty());
    // Back to D0: 10 ms, and pci_restore_bars because the function reset
    // itself: every assigned BAR rewritten, the 64-bit one with memory
    // decoding off around it.
    machine.delay.clear();
    assert_eq!(machine.write(&mut guest, GUEST_NIC, pmcsr, 2, 0x0200), 0);
    assert_eq!(machine.peek(NIC, PM + 4, Width::Word), 0x0200);
    assert_eq!(
        machine.delay.waits(),
        [std::time::Duration::from_millis(10)]
    );
    let rewritten: Vec<(u16, u32)> = machine
        .writes()
        .iter()
        .skip(1)
        .map(|write| (write.offset, write.value))
        .collect();
    assert_eq!(
        rewritten,
        [
            (0x10, 0xfebc_0000),
            (0x14, 0x0000_c041),
            (0x04, 0x0001),
            (0x18, 0x0000_000c),
            (0x1C, 0x0000_0008),
            (0x04, 0x0003),
        ]
    );
}

#[test]
fn vpd_can_be_read_but_not_written() {
    const VPD: u16 = 0x40;
    let device = SimDevice::endpoint(0x1000, 0x0030, 0x01_00_00)
        .capability(CapabilityId::VPD, &[0; 6])
        .writable(VPD + 2, Width::Word, 0xFFFF)
        .pcie(PortType::Endpoint)
        .function_level_reset();
    let mut machine = Machine::new([(NIC, device)]);
    let mut guest = guest_with(TopologyKind::Vpci, [machine.take(NIC)]);
    let address = i32::from(VPD) + 2;
    // vpd_address_write: a read request (F clear) goes to the hardware...
    assert_eq!(machine.write(&mut guest, GUEST_NIC, address, 2, 0x0010), 0);
    assert_eq!(machine.peek(NIC, VPD + 2, Width::Word), 0x0010);
    // ... a write request (F set) is PCIBIOS_SET_FAILED.
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, address, 2, 0x8010),
        XEN_PCI_ERR_ACCESS_DENIED
    );
    // The data register has no write handler.
    machine.bus.clear_writes();
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, i32::from(VPD) + 4, 4, 1),
        0
    );
    assert!(machine.writes().is_empty());
}

#[test]
fn msi_and_msix_control_writes_are_refused_unless_permissive() {
    // msi_msix_flags_write without allow_interrupt_control: same value ok,
    // any change PCIBIOS_SET_FAILED; permissive: written as is.
    for (capability, enable) in [(MSI, 0x0001_u32), (MSIX, 0x8000)] {
        let control = i32::from(capability) + 2;
        let mut machine = machine();
        let mut guest = nic_guest(&machine, &DeviceOptions::default());
        let (_, current) = machine.read(&mut guest, GUEST_NIC, control, 2);
        assert_eq!(machine.write(&mut guest, GUEST_NIC, control, 2, current), 0);
        assert_eq!(
            machine.write(&mut guest, GUEST_NIC, control, 2, current | enable),
            XEN_PCI_ERR_ACCESS_DENIED
        );
        assert!(machine.writes().is_empty());

        let mut machine = Machine::new([(NIC, nic())]);
        let options = DeviceOptions { permissive: true };
        let mut guest = nic_guest(&machine, &options);
        assert_eq!(
            machine.write(&mut guest, GUEST_NIC, control, 2, current | enable),
            0
        );
        assert_eq!(
            machine.peek(NIC, capability + 2, Width::Word),
            current | enable
        );
    }
}

#[test]
fn a_quirk_makes_a_register_writable_for_matching_devices_only() {
    let quirk = Quirk {
        vendor: Some(0x8086),
        device: Some(0x10d3),
        subsystem_vendor: None,
        subsystem_device: None,
        offset: 0xC0,
        width: Width::Dword,
        mask: 0xFFFF_0000,
    };
    let other = Quirk {
        device: Some(0x10d4),
        offset: 0xC4,
        ..quirk
    };
    let device = nic()
        .raw_register(0xC0, Width::Dword, 0x0000_5555)
        .writable(0xC0, Width::Dword, u32::MAX)
        .writable(0xC4, Width::Dword, u32::MAX);
    let mut machine = Machine::new([(NIC, device)]);
    let mut guest = guest_with(
        TopologyKind::Vpci,
        [machine.take_with(NIC, &DeviceOptions::default(), &[quirk, other])],
    );
    assert_eq!(
        machine.write(&mut guest, GUEST_NIC, 0xC0, 4, 0x1234_5678),
        0
    );
    assert_eq!(machine.peek(NIC, 0xC0, Width::Dword), 0x1234_5555);
    // The other device's quirk does not apply: no field, not permissive.
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0xC4, 4, 1), 0);
    assert_eq!(machine.peek(NIC, 0xC4, Width::Dword), 0);
}

#[test]
fn a_quirk_inside_a_virtual_register_overrides_its_bytes_in_list_order() {
    // conf_space.c: xen_pcibk_field_is_dup compares offsets only, so a
    // quirk at 0x12 is added (after the header, list_add_tail), and a read
    // merges every overlapping field in list order: BAR0's bytes, then the
    // quirk's byte from the device. BAR0 is being sized: it answers
    // 0xfffe_0000; the device holds 0xfebc_0000.
    let quirk = Quirk {
        vendor: None,
        device: None,
        subsystem_vendor: None,
        subsystem_device: None,
        offset: 0x12,
        width: Width::Byte,
        mask: 0,
    };
    let mut machine = machine();
    let mut guest = guest_with(
        TopologyKind::Vpci,
        [machine.take_with(NIC, &DeviceOptions::default(), &[quirk])],
    );
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x10, 4, u32::MAX), 0);
    assert_eq!(
        machine.read(&mut guest, GUEST_NIC, 0x10, 4),
        (0, 0xffbc_0000)
    );
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x12, 2), (0, 0xffbc));
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x13, 1), (0, 0xff));
    // The quirk's mask is empty: a write through it changes no bit of
    // the device (quirks.rs: only the mask's bits are written), and BAR0
    // stays where it is.
    assert_eq!(machine.write(&mut guest, GUEST_NIC, 0x12, 1, 0x55), 0);
    assert_eq!(machine.peek(NIC, 0x10, Width::Dword), 0xfebc_0000);
}

#[test]
fn bridges_get_two_bars_and_their_rom_at_0x38() {
    // header_1: BAR0, BAR1, ROM at PCI_ROM_ADDRESS1; bus numbers have no field.
    let bridge = SimDevice::bridge(0x8086, 0x244e)
        .buses(0, 1, 1)
        .bar(0, SimBar::memory32(0x1000).at(0xfea0_0000))
        .rom(0x800, 0xfe90_0000, false)
        .pcie(PortType::PcieToPciBridge)
        .function_level_reset();
    let at = address(0, 0x1e, 0);
    let mut machine = Machine::new([(at, bridge)]);
    let mut guest = guest_with(TopologyKind::Passthrough, [machine.take(at)]);
    let guest_at = VirtualAddress(at);
    assert_eq!(
        machine.read(&mut guest, guest_at, 0x10, 4),
        (0, 0xfea0_0000)
    );
    assert_eq!(machine.write(&mut guest, guest_at, 0x38, 4, 0xFFFF_F800), 0);
    assert_eq!(
        machine.read(&mut guest, guest_at, 0x38, 4),
        (0, 0xFFFF_F800)
    );
    assert_eq!(
        machine.write(&mut guest, guest_at, 0x18, 4, 0x00_05_05_00),
        0
    );
    assert_eq!(
        machine.read(&mut guest, guest_at, 0x18, 4).1 & 0xFF_FFFF,
        0x01_01_00
    );
    assert!(machine.writes().is_empty());
}

#[test]
fn interrupt_line_is_the_gsi_named_for_the_guest() {
    let mut machine = machine();
    let mut device = machine.take(NIC);
    assert_eq!((device.irq(), device.gsi()), (u32::from(LINE), None));
    device.set_gsi(Some(0x1_24));
    assert_eq!((device.irq(), device.gsi()), (0x1_24, Some(0x1_24)));
    let mut guest = guest_with(TopologyKind::Vpci, [device]);
    // interrupt_read: (u8) dev->irq.
    assert_eq!(machine.read(&mut guest, GUEST_NIC, 0x3C, 1), (0, 0x24));
    assert_eq!(
        machine.read(&mut guest, virtual_address(0, 0), 0x3C, 2),
        (0, 0x0124)
    );
    // Released, the device forgets it: the next guest reads the line.
    let mut device = guest.remove(GUEST_NIC).unwrap();
    machine.release(&mut device).unwrap();
    assert_eq!((device.irq(), device.gsi()), (u32::from(LINE), None));
}
