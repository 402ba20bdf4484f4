// SPDX-License-Identifier: MIT OR Apache-2.0
//! Taking and releasing devices: reset choice and refusal, save and restore.
//!
//! Against Linux's `pci_stub.c` and the PCI core's reset code.

mod common;

use std::time::Duration;

use common::{Machine, address, flr_endpoint, guest_with, op, root_port};
use pci::capability::{CapabilityId, PortType};
use pci::register::Command;
use pci::sim::{ConfigWrite, SimBar, SimDevice};
use pci::{Address, Width};
use pciback::sim::at_once;
use pciback::{
    BusResetUnavailable, Device, DeviceOptions, PmResetUnavailable, ResetError, ResetErrorKind,
    ResetMethod, TakeError, TopologyKind, VirtualAddress,
};
use xen::abi::io::pciif::XEN_PCI_OP_ENABLE_MSI;

const ENDPOINT: Address = address(0, 3, 0);
const BEHIND: Address = address(1, 0, 0);
const PORT: Address = address(0, 0x1c, 0);
/// The PCIe capability of [`flr_endpoint`] devices (the first capability).
const PCIE: u16 = 0x40;

fn ms(milliseconds: u64) -> Duration {
    Duration::from_millis(milliseconds)
}

fn write(address: Address, offset: u16, width: Width, value: u32) -> ConfigWrite {
    ConfigWrite {
        address,
        offset,
        width,
        value,
    }
}

/// Takes `target`, releases it, and returns the method and the writes and
/// waits of the release's reset (the writes that come before the restore).
fn release(
    machine: &mut Machine,
    target: Address,
) -> (
    Result<ResetMethod, ResetError>,
    Vec<ConfigWrite>,
    Vec<Duration>,
) {
    let mut device = machine.take(target);
    let result = machine.release(&mut device);
    (result, machine.writes(), machine.delay.waits())
}

#[test]
fn function_level_reset_comes_first() {
    // pcie_flr: set PCI_EXP_DEVCTL_BCR_FLR, msleep(100), then poll.
    let mut machine = Machine::new([(ENDPOINT, flr_endpoint(1, 2).pm())]);
    let (method, writes, waits) = release(&mut machine, ENDPOINT);
    assert_eq!(method, Ok(ResetMethod::FunctionLevel));
    assert_eq!(
        writes.first(),
        Some(&write(ENDPOINT, PCIE + 8, Width::Word, 0x8000))
    );
    assert_eq!(waits, [ms(100)]);
}

#[test]
fn pending_transactions_are_waited_for_then_the_flr_goes_ahead() {
    // pci_wait_for_pending: four polls of TRPND, 100, 200, 400 ms apart;
    // then the FLR anyway.
    let device = flr_endpoint(1, 2).raw_register(PCIE + 0xA, Width::Word, 0x0020);
    let mut machine = Machine::new([(ENDPOINT, device)]);
    let (method, _, waits) = release(&mut machine, ENDPOINT);
    assert_eq!(method, Ok(ResetMethod::FunctionLevel));
    assert_eq!(waits, [ms(100), ms(200), ms(400), ms(100)]);
}

#[test]
fn immediate_readiness_skips_the_flr_wait() {
    let device = flr_endpoint(1, 2).raw_register(0x06, Width::Word, 0x0011);
    let mut machine = Machine::new([(ENDPOINT, device)]);
    let (method, _, waits) = release(&mut machine, ENDPOINT);
    assert_eq!(method, Ok(ResetMethod::FunctionLevel));
    assert!(waits.is_empty());
}

#[test]
fn advanced_features_flr_for_conventional_functions() {
    // pci_af_flr: AF_CAP needs TP and FLR; write AF_CTRL FLR; msleep(100).
    const AF: u16 = 0x40;
    let device = SimDevice::endpoint(1, 2, 0x02_00_00)
        .capability(CapabilityId::ADVANCED_FEATURES, &[6, 0x03, 0, 0])
        .writable(AF + 4, Width::Byte, 0x01);
    let mut machine = Machine::new([(ENDPOINT, device)]);
    let (method, writes, waits) = release(&mut machine, ENDPOINT);
    assert_eq!(method, Ok(ResetMethod::AdvancedFeatures));
    assert_eq!(
        writes.first(),
        Some(&write(ENDPOINT, AF + 4, Width::Byte, 0x01))
    );
    assert_eq!(waits, [ms(100)]);
}

#[test]
fn pm_reset_when_d3hot_resets_the_function() {
    // pci_pm_reset: No_Soft_Reset clear; D3hot, 10 ms, D0, 10 ms.
    const PM: u16 = 0x40;
    let device = SimDevice::endpoint(1, 2, 0x02_00_00)
        .pm()
        .raw_register(PM + 4, Width::Word, 0);
    let mut machine = Machine::new([(ENDPOINT, device)]);
    let (method, writes, waits) = release(&mut machine, ENDPOINT);
    assert_eq!(method, Ok(ResetMethod::PowerManagement));
    assert_eq!(
        writes[..2],
        [
            write(ENDPOINT, PM + 4, Width::Word, 0x0003),
            write(ENDPOINT, PM + 4, Width::Word, 0x0000)
        ]
    );
    assert_eq!(waits, [ms(10), ms(10)]);
}

#[test]
fn secondary_bus_reset_when_alone_behind_a_bridge() {
    // pci_parent_bus_reset: not on a root bus, not a bridge, alone on the
    // bus; pci_reset_secondary_bus: assert, 2 ms, release; then 100 ms
    // below a PCIe port, 1000 + 100 ms below a conventional bridge.
    let conventional = SimDevice::bridge(0x8086, 0x244e).buses(0, 1, 1);
    for (bridge, settle) in [(root_port(1), ms(100)), (conventional, ms(1100))] {
        let device = SimDevice::endpoint(1, 2, 0x02_00_00).pm();
        let mut machine = Machine::new([(PORT, bridge), (BEHIND, device)]);
        let (method, writes, waits) = release(&mut machine, BEHIND);
        assert_eq!(method, Ok(ResetMethod::SecondaryBus { bridge: PORT }));
        assert_eq!(
            writes[..2],
            [
                write(PORT, 0x3E, Width::Word, 0x0040),
                write(PORT, 0x3E, Width::Word, 0x0000)
            ]
        );
        assert_eq!(waits, [ms(2), settle]);
    }
}

#[test]
fn no_safe_reset_is_taken_anyway_and_each_release_says_why() {
    let pm_no_soft_reset = SimDevice::endpoint(1, 2, 0x02_00_00).pm();
    let plain = SimDevice::endpoint(1, 2, 0x02_00_00);
    let sibling = SimDevice::endpoint(1, 3, 0x02_00_00);
    let switch_port = SimDevice::bridge(0x8086, 0x1234)
        .buses(1, 2, 2)
        .pcie(PortType::UpstreamPort);
    // (machine, function, why not PM, why not bus reset), from pci_pm_reset
    // and pci_parent_bus_reset.
    let cases: [(Vec<(Address, SimDevice)>, Address, _, _); 3] = [
        (
            vec![(ENDPOINT, pm_no_soft_reset)],
            ENDPOINT,
            PmResetUnavailable::NoSoftReset,
            BusResetUnavailable::RootBus,
        ),
        (
            vec![
                (PORT, root_port(1)),
                (BEHIND, plain.multifunction()),
                (address(1, 0, 1), sibling),
            ],
            BEHIND,
            PmResetUnavailable::NoCapability,
            BusResetUnavailable::SharedBus {
                neighbour: address(1, 0, 1),
            },
        ),
        (
            vec![(PORT, root_port(1)), (BEHIND, switch_port)],
            BEHIND,
            PmResetUnavailable::NoCapability,
            BusResetUnavailable::Bridge,
        ),
    ];
    for (devices, target, power_management, secondary_bus) in cases {
        let mut machine = Machine::new(devices);
        // Taken (Linux serves such devices too), with no reset attempted:
        // no reset means no reset wait.
        let mut device = machine.take(target);
        assert_eq!(device.address(), target);
        assert_eq!(machine.delay.waits(), []);
        // Each release says why there was no reset.
        let expected = ResetError {
            function: target,
            kind: ResetErrorKind::Unsupported {
                power_management,
                secondary_bus,
            },
        };
        let error = machine.release(&mut device).unwrap_err();
        assert_eq!(error, expected);
        assert!(
            error
                .to_string()
                .starts_with(&format!("{target}: no safe reset"))
        );
    }
}

#[test]
fn a_function_that_never_comes_back_is_reported() {
    // pci_dev_wait: 1, 2, 4 ... ms until the next wait would pass 60 s:
    // "not ready 65535ms after FLR; giving up".
    let mut machine = Machine::new([(ENDPOINT, flr_endpoint(1, 2))]);
    let mut device = machine.take(ENDPOINT);
    machine.bus.remove(ENDPOINT);
    let result = machine.release(&mut device);
    assert_eq!(
        result,
        Err(ResetError {
            function: ENDPOINT,
            kind: ResetErrorKind::NotReady {
                method: ResetMethod::FunctionLevel,
                waited: ms(65_535)
            }
        })
    );
}

#[test]
fn takes_refuse_what_linux_refuses() {
    let unassigned = flr_endpoint(1, 2).bar(0, SimBar::memory32(0x1000));
    let cardbus = flr_endpoint(1, 2).raw_register(0x0E, Width::Byte, 2);
    let machine = Machine::new([(ENDPOINT, unassigned), (address(0, 4, 0), cardbus)]);
    let take = |at| {
        at_once(Device::take(
            &machine.bus,
            &machine.topology,
            at,
            &DeviceOptions::default(),
            &[],
            &machine.delay,
        ))
        .unwrap_err()
    };
    // pci_enable_resources: "not assigned; can't enable device".
    assert_eq!(
        take(ENDPOINT),
        TakeError::UnassignedBar {
            function: ENDPOINT,
            index: 0
        }
    );
    // The operator's message names the function and the BAR.
    let message = take(ENDPOINT).to_string();
    assert!(
        message.contains(&ENDPOINT.to_string()) && message.contains("BAR 0"),
        "{message}"
    );
    // pcistub_probe: only header types 0 and 1.
    assert_eq!(
        take(address(0, 4, 0)),
        TakeError::UnsupportedHeader {
            function: address(0, 4, 0),
            layout: 2
        }
    );
    assert_eq!(
        take(address(0, 5, 0)),
        TakeError::NotFound(address(0, 5, 0))
    );
}

#[test]
fn the_take_enables_decoding_and_leaves_bus_mastering_off() {
    // pcistub_init_device: pci_enable_device (I/O and memory decode for the
    // BARs it has, INTx unmasked), then xen_pcibk_reset_device (bus master off).
    let device = flr_endpoint(1, 2)
        .interrupt(1, 5)
        .command(Command::BUS_MASTER | Command::INTERRUPT_DISABLE)
        .bar(0, SimBar::memory32(0x1000).at(0xfe00_0000))
        .bar(1, SimBar::io(0x20).at(0xc000));
    let machine = Machine::new([(ENDPOINT, device)]);
    let _device = machine.take(ENDPOINT);
    assert_eq!(machine.peek(ENDPOINT, 0x04, Width::Word), 0x0003);
}

/// The registers save/restore covers on [`saved_device`]: header dwords,
/// PCIe device and link control, AER masks.
fn covered(machine: &Machine) -> Vec<u32> {
    let header = (0..16).map(|dword| machine.peek(ENDPOINT, dword * 4, Width::Dword));
    let pcie = [PCIE + 8, PCIE + 0x10].map(|offset| machine.peek(ENDPOINT, offset, Width::Word));
    let aer = [0x108, 0x10C, 0x114].map(|offset| machine.peek(ENDPOINT, offset, Width::Dword));
    header.chain(pcie).chain(aer).collect()
}

fn saved_device() -> SimDevice {
    flr_endpoint(1, 2)
        .interrupt(1, 5)
        .bar(0, SimBar::memory32(0x1000).at(0xfe00_0000))
        .msi(1, false, false)
        .aer()
        .writable(0x3C, Width::Byte, 0xFF)
}

#[test]
fn release_restores_the_configuration_saved_at_take_time() {
    let mut machine = Machine::new([(ENDPOINT, saved_device())]);
    let device = machine.take(ENDPOINT);
    let taken = covered(&machine);
    let mut guest = guest_with(TopologyKind::Vpci, [device]);
    let at = VirtualAddress(address(0, 0, 0));
    // A guest's work, and things that happen behind the backend's back.
    assert_eq!(
        machine.handle(&mut guest, op(XEN_PCI_OP_ENABLE_MSI, at)).0,
        0
    );
    assert_eq!(machine.write(&mut guest, at, 0x04, 2, 0x0006), 0);
    assert_eq!(machine.write(&mut guest, at, 0x0C, 1, 0x10), 0);
    machine.bus.poke(ENDPOINT, 0x3C, Width::Byte, 0x99);
    machine.bus.poke(ENDPOINT, 0x10, Width::Dword, 0);
    machine.bus.poke(ENDPOINT, PCIE + 8, Width::Word, 0x2810);
    machine.bus.poke(ENDPOINT, 0x108, Width::Dword, 0x0040_0000);
    machine.bus.poke(ENDPOINT, 0x104, Width::Dword, 0x0000_1000);
    assert_ne!(covered(&machine), taken);
    machine.bus.clear_writes();

    let mut device = guest.remove(at).unwrap();
    let method = machine.release(&mut device);
    assert_eq!(method, Ok(ResetMethod::FunctionLevel));
    assert_eq!(covered(&machine), taken);
    // pci_aer_clear_status: the uncorrectable status written back (cleared).
    assert_eq!(machine.peek(ENDPOINT, 0x104, Width::Dword), 0);
    // pci_restore_config_space (type 0): dwords 15..10, 9..4, 3..0, only
    // where they differ; here 0x3C, the BAR at 0x10, 0x0C and the command.
    let header: Vec<u16> = machine
        .writes()
        .iter()
        .filter(|write| write.offset < 0x40 && write.width == Width::Dword)
        .map(|write| write.offset)
        .collect();
    assert_eq!(header, [0x3C, 0x10, 0x0C, 0x04]);
}

#[test]
fn release_brings_a_sleeping_function_back_to_d0_first() {
    // PCIe (0x3C bytes) at 0x40, then PM.
    const PM: u16 = 0x7C;
    let device = flr_endpoint(1, 2)
        .bar(0, SimBar::memory32(0x1000).at(0xfe00_0000))
        .pm();
    let mut machine = Machine::new([(ENDPOINT, device)]);
    let mut guest = guest_with(TopologyKind::Vpci, [machine.take(ENDPOINT)]);
    let at = VirtualAddress(address(0, 0, 0));
    assert_eq!(machine.write(&mut guest, at, i32::from(PM) + 4, 2, 3), 0);
    assert_eq!(machine.peek(ENDPOINT, PM + 4, Width::Word) & 3, 3);
    machine.delay.clear();
    let mut device = guest.remove(at).unwrap();
    assert_eq!(machine.release(&mut device), Ok(ResetMethod::FunctionLevel));
    assert_eq!(machine.peek(ENDPOINT, PM + 4, Width::Word) & 3, 0);
    assert_eq!(machine.delay.waits(), [ms(10), ms(100)]);
}

#[test]
fn bridges_stay_enabled_and_keep_bus_mastering() {
    // xen_pcibk_reset_device: endpoints are disabled; a bridge only loses
    // Memory-Write-Invalidate (it forwards the DMA of what is behind it).
    let bridge = SimDevice::bridge(0x8086, 0x244e)
        .buses(0, 1, 1)
        .command(Command::MEMORY_SPACE | Command::BUS_MASTER)
        .bar(0, SimBar::memory32(0x1000).at(0xfea0_0000))
        .pcie(PortType::PcieToPciBridge)
        .function_level_reset();
    let machine = Machine::new([(PORT, bridge)]);
    let _device = machine.take(PORT);
    assert_eq!(machine.peek(PORT, 0x04, Width::Word), 0x0006);
}
