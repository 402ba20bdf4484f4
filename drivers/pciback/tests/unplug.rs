// SPDX-License-Identifier: MIT OR Apache-2.0
//! Hot-unplug while the device resets: the guest's other ops are not held up.
//!
//! A device unplugged from a running guest is reset before anyone else gets
//! it: 100 ms after an FLR, 1.1 s after a conventional bus reset, up to
//! 60 s of readiness polling after that. Linux's pciback takes the device
//! off the guest's list first (`__xen_pcibk_release_pci_dev`: `list_del`
//! under the lock, `pcistub_put_pci_dev` after it) and answers ops in a
//! work item of their own, so meanwhile an op on another device is
//! answered at once and an op on the leaving one finds no device
//! (`xen_pcibk_get_pci_dev` returns NULL: `XEN_PCI_ERR_dev_not_found`).
//! Only once the reset is done does the backend say Reconfigured and the
//! device go back to the pool. pcifront waits 2 s for an answer; an op
//! held behind the reset would time out and its late answer would land on
//! the guest's next op.
//!
//! Everything runs in virtual time: no time passes unless every task
//! waits, so "answered at once" is exact.

mod common;

use core::future::poll_fn;
use core::task::Poll;
use std::rc::Rc;
use std::time::Duration;

use common::driver::{DriverDomain as Machine, flr_written};
use common::logs::{capture, logged_at_least};
use common::{address, flr_endpoint, root_port};
use pci::Address;
use pci::capability::PortType;
use pci::sim::{SimBar, SimBus, SimDevice};
use pciback::VirtualAddress;
use pciback::xenbus::Options;
use xen::abi::domctl::pci_sbdf;
use xen::abi::io::pciif::XEN_PCI_ERR_DEV_NOT_FOUND;
use xen::abi::io::xenbus::XenbusState;

/// The device that stays: a PCIe NIC with an FLR.
const NIC_A: Address = address(0, 3, 0);
/// The device unplugged when it sits on the root bus (FLR).
const NIC_B: Address = address(0, 5, 0);
/// The bridge above it when it is reset through its bus.
const BRIDGE: Address = address(0, 0x1e, 0);
/// The device unplugged when it sits alone behind [`BRIDGE`].
const BEHIND: Address = address(1, 0, 0);

/// Bridge Control (offset 0x3E) with Secondary Bus Reset (bit 6).
const BRIDGE_CONTROL: u16 = 0x3e;
const BUS_RESET: u32 = 0x0040;

/// A's vendor/device dword, as the guest reads it.
const A_ID: u32 = 0x10d3_8086;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The guest address `0000:00:dd.0`.
fn guest_at(device: u8) -> VirtualAddress {
    VirtualAddress(address(0, device, 0))
}

/// A PCIe NIC with an FLR, a memory BAR and INTx.
fn nic(device: u16, bar: u64) -> SimDevice {
    flr_endpoint(0x8086, device)
        .interrupt(1, 11)
        .bar(0, SimBar::memory32(0x4000).at(bar))
}

/// An endpoint with no FLR and no PM: only a bus reset can reset it.
fn plain_endpoint() -> SimDevice {
    SimDevice::endpoint(0x1af4, 0x1041, 0x02_00_00).bar(0, SimBar::memory32(0x1000).at(0xfd00_0000))
}

/// The same behind a PCIe link (its bus reset is followed by the
/// readiness poll).
fn pcie_endpoint() -> SimDevice {
    plain_endpoint().pcie(PortType::Endpoint)
}

/// How the unplugged device is reset.
#[derive(Clone, Copy, Debug)]
enum Reset {
    /// FLR: 100 ms, then the readiness poll (answered at once).
    FunctionLevel,
    /// Secondary bus reset below a conventional bridge: 2 ms + 1.1 s.
    ConventionalBus,
    /// Secondary bus reset below a PCIe root port, the function not
    /// answering (all ones) for `gone` after it: 2 ms + 100 ms, then the
    /// readiness poll (1, 2, 4 ... ms) until it answers again.
    PcieBus { gone: Duration },
}

impl Reset {
    /// The machine: A on the root bus, and the device to unplug.
    fn devices(self) -> (Vec<(Address, SimDevice)>, Address) {
        let a = (NIC_A, nic(0x10d3, 0xfe00_0000));
        match self {
            Self::FunctionLevel => (vec![a, (NIC_B, nic(0x1533, 0xfe10_0000))], NIC_B),
            Self::ConventionalBus => {
                let bridge = SimDevice::bridge(0x8086, 0x244e).buses(0, 1, 1);
                (
                    vec![a, (BRIDGE, bridge), (BEHIND, plain_endpoint())],
                    BEHIND,
                )
            }
            Self::PcieBus { .. } => (
                vec![a, (BRIDGE, root_port(1)), (BEHIND, pcie_endpoint())],
                BEHIND,
            ),
        }
    }

    /// Whether the reset has been started on `bus` (since writes were cleared).
    fn started(self, bus: &SimBus, unplugged: Address) -> bool {
        match self {
            Self::FunctionLevel => flr_written(bus, unplugged),
            Self::ConventionalBus | Self::PcieBus { .. } => bus.writes().iter().any(|write| {
                write.address == BRIDGE
                    && write.offset == BRIDGE_CONTROL
                    && write.value & BUS_RESET != 0
            }),
        }
    }

    /// The least the reset takes, from its start.
    fn lasts(self) -> Duration {
        match self {
            Self::FunctionLevel => ms(100),
            Self::ConventionalBus => ms(2 + 1100),
            Self::PcieBus { gone } => ms(2 + 100).saturating_add(gone),
        }
    }
}

/// Runs `machine` until `done` holds of its bus, without letting virtual
/// time pass (the waiting future is always ready to look again).
fn run_until(machine: &mut Machine, done: impl Fn(&SimBus) -> bool) {
    let backend = Rc::clone(&machine.backend);
    let start = machine.world.now();
    machine.executor.block_on(poll_fn(|cx| {
        if done(backend.platform().bus()) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }));
    assert_eq!(
        machine.world.now(),
        start,
        "time passed before the reset started"
    );
}

/// Unplugs the second of a guest's two devices, whose reset is `reset`,
/// and checks the guest's ops while it runs and the pool after.
fn unplug_while_serving(reset: Reset) {
    let (devices, unplugged) = reset.devices();
    let mut machine = Machine::new(devices, Options::default());
    let front = machine.guest(2, &[NIC_A, unplugged]);
    assert_eq!(front.devices(), [guest_at(0), guest_at(1)], "{reset:?}");
    machine.platform().bus().clear_writes();
    let start = machine.world.now();
    machine.toolstack.unplug(2, 1);
    run_until(&mut machine, |bus| reset.started(bus, unplugged));
    if let Reset::PcieBus { gone } = reset {
        // The function answers all ones until it is back.
        let backend = Rc::clone(&machine.backend);
        assert!(backend.platform().bus().remove(unplugged));
        let world = machine.world.clone();
        machine.executor.spawn(async move {
            world.sleep(gone).await;
            backend.platform().bus().insert(unplugged, pcie_endpoint());
        });
    }

    // While it resets: A answers at once.
    assert_eq!(
        machine.read(&front, guest_at(0), 0, 4),
        (0, A_ID),
        "{reset:?}"
    );
    assert_eq!(
        machine.world.now(),
        start,
        "{reset:?}: the op on A waited for B's reset"
    );
    // The unplugged device is no longer the guest's: Linux's answer, at once.
    assert_eq!(
        machine.read(&front, guest_at(1), 0, 4).0,
        XEN_PCI_ERR_DEV_NOT_FOUND,
        "{reset:?}"
    );
    assert_eq!(
        machine.world.now(),
        start,
        "{reset:?}: the op on B waited for its reset"
    );
    // And it is not given back, nor the unplug reported done, before the
    // reset is.
    assert!(machine.backend.free_devices().is_empty(), "{reset:?}");
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Reconfiguring),
        "{reset:?}"
    );
    assert_eq!(machine.status(2).map(|s| s.devices), Some(2), "{reset:?}");

    machine.settle();
    assert!(
        machine.world.now() - start >= reset.lasts(),
        "{reset:?}: done after {:?}",
        machine.world.now() - start
    );
    assert_eq!(machine.backend.free_devices(), [unplugged], "{reset:?}");
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Connected),
        "{reset:?}"
    );
    assert_eq!(front.devices(), [guest_at(0)], "{reset:?}");
    assert_eq!(machine.status(2).map(|s| s.devices), Some(1), "{reset:?}");
    assert_eq!(
        machine.world.xen().assigned_devices(2),
        [pci_sbdf(0, 0, NIC_A.devfn())],
        "{reset:?}"
    );
    // The next op gets its own answer, not a late one.
    assert_eq!(
        machine.read(&front, guest_at(0), 0, 4),
        (0, A_ID),
        "{reset:?}"
    );
}

#[test]
fn an_flr_of_the_unplugged_device_holds_up_no_op() {
    unplug_while_serving(Reset::FunctionLevel);
}

#[test]
fn a_conventional_bus_reset_of_the_unplugged_device_holds_up_no_op() {
    unplug_while_serving(Reset::ConventionalBus);
}

/// Longer than pcifront's 2 s: an op held behind it would have timed out.
#[test]
fn a_pcie_bus_reset_and_readiness_poll_of_the_unplugged_device_hold_up_no_op() {
    unplug_while_serving(Reset::PcieBus { gone: ms(3000) });
}

/// A function that never answers again: the readiness poll gives up after
/// 60 s. Ops on A are answered all along; the device ends deassigned from
/// the guest and out of the pool (no one gets a device in an unknown
/// state), the unplug completes, and the console says so once.
#[test]
fn a_reset_that_fails_ends_the_unplug_in_a_known_state_and_is_logged_once() {
    capture();
    // Gone for ever: removed below and never put back.
    let reset = Reset::PcieBus {
        gone: Duration::MAX,
    };
    let (devices, unplugged) = reset.devices();
    let mut machine = Machine::new(devices, Options::default());
    let front = machine.guest(2, &[NIC_A, unplugged]);
    machine.platform().bus().clear_writes();
    let start = machine.world.now();
    machine.toolstack.unplug(2, 1);
    run_until(&mut machine, |bus| reset.started(bus, unplugged));
    assert!(machine.platform().bus().remove(unplugged));
    assert_eq!(machine.read(&front, guest_at(0), 0, 4), (0, A_ID));
    assert_eq!(
        machine.world.now(),
        start,
        "the op on A waited for B's reset"
    );
    // A minute on, still polling: A still answers at once.
    let world = machine.world.clone();
    machine.executor.block_on(world.sleep(ms(30_000)));
    let asked = machine.world.now();
    assert_eq!(machine.read(&front, guest_at(0), 0, 4), (0, A_ID));
    assert_eq!(machine.world.now(), asked);

    machine.settle();
    assert!(machine.world.now() - start >= ms(60_000));
    assert!(machine.backend.free_devices().is_empty());
    assert_eq!(
        machine.world.xen().assigned_devices(2),
        [pci_sbdf(0, 0, NIC_A.devfn())]
    );
    assert_eq!(
        machine.toolstack.backend_state(2),
        Some(XenbusState::Connected)
    );
    assert_eq!(front.devices(), [guest_at(0)]);
    assert_eq!(machine.status(2).and_then(|s| s.error), None);
    let words = [unplugged.to_string(), String::from("not ready")];
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let said = logged_at_least(log::Level::Warn, &words);
    assert_eq!(said.len(), 1, "{said:#?}");
}

/// A guest destroyed with its devices: Xen takes them back to quarantine
/// as the domain dies (`pci_release_devices`), so the backend's own
/// deassign finds them gone (`ENODEV` while the domain dies, `ESRCH` once
/// it is gone) — that is the device where it belongs, said once at info,
/// not a warning; and each device is reset and free again.
#[test]
fn a_destroyed_guests_devices_come_back_without_a_warning() {
    capture();
    let devices = vec![
        (NIC_A, nic(0x10d3, 0xfe00_0000)),
        (NIC_B, nic(0x10d3, 0xfe10_0000)),
    ];
    let mut machine = Machine::new(devices, Options::default());
    machine.guest(2, &[NIC_A, NIC_B]);
    assert!(machine.connected(2));
    machine.toolstack.destroy(2);
    machine.settle();
    assert_eq!(machine.free(), [NIC_A, NIC_B]);
    for at in [NIC_A, NIC_B] {
        let at = at.to_string();
        let back = [at.as_str(), "back in quarantine from domain 2"];
        assert_eq!(logged_at_least(log::Level::Info, &back).len(), 1, "{at}");
        assert_eq!(
            logged_at_least(log::Level::Warn, &[at.as_str()]),
            [] as [String; 0]
        );
    }
}
