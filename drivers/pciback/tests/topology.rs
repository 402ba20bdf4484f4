// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where guests see their devices: Linux's `vpci.c` and `passthrough.c`.
//!
//! Slot allocation, published addresses and roots, lookups through ops.

mod common;

use common::{Machine, address, conf_read, flr_endpoint, root_port};
use pci::Address;
use pciback::{AddError, GuestDevices, RootBus, TopologyKind, VirtualAddress};

/// (vdev-N string, real address), as a frontend's exports read.
fn exports(guest: &GuestDevices) -> Vec<(String, Address)> {
    guest
        .exports()
        .into_iter()
        .map(|export| (export.guest.to_string(), export.device))
        .collect()
}

fn roots(guest: &GuestDevices) -> Vec<String> {
    guest.roots().iter().map(ToString::to_string).collect()
}

/// The device ID a guest reads at `at`, or the error.
fn device_id(
    machine: &mut Machine,
    guest: &mut GuestDevices,
    at: VirtualAddress,
) -> Result<u32, i32> {
    match machine.handle(guest, conf_read(at, 2, 2)) {
        (0, value) => Ok(value),
        (err, _) => Err(err),
    }
}

#[test]
fn vpci_keeps_functions_together_and_fills_the_lowest_slot() {
    let f30 = address(0, 3, 0);
    let f31 = address(0, 3, 1);
    let f32 = address(0, 3, 2);
    let f40 = address(0, 4, 0);
    let b1 = address(1, 0, 0);
    let b2 = address(2, 0, 0);
    let mut machine = Machine::new([
        (f30, flr_endpoint(0x1000, 0x0030).multifunction()),
        (f31, flr_endpoint(0x1000, 0x0031)),
        (f32, flr_endpoint(0x1000, 0x0032)),
        (f40, flr_endpoint(0x1000, 0x0040)),
        (address(0, 0x1c, 0), root_port(1).function_level_reset()),
        (b1, flr_endpoint(0x1000, 0x0100)),
        (address(0, 0x1d, 0), root_port(2).function_level_reset()),
        (b2, flr_endpoint(0x1000, 0x0200)),
    ]);
    let mut guest = GuestDevices::new(TopologyKind::Vpci, false);
    let add = |guest: &mut GuestDevices, at| guest.add(machine.take(at)).unwrap().to_string();
    // __xen_pcibk_add_pci_dev: join the slot whose first device matches
    // (domain, bus, slot); else the lowest empty slot; function kept.
    assert_eq!(add(&mut guest, f30), "0000:00:00.00");
    assert_eq!(add(&mut guest, b1), "0000:00:01.00");
    assert_eq!(add(&mut guest, f32), "0000:00:00.02");
    assert_eq!(add(&mut guest, f40), "0000:00:02.00");
    assert_eq!(add(&mut guest, f31), "0000:00:00.01");
    let removed = guest
        .remove(VirtualAddress(address(0, 1, 0)))
        .map(|device| device.address());
    assert_eq!(removed, Some(b1));
    assert_eq!(add(&mut guest, b2), "0000:00:01.00");
    // With 03.0 gone, slot 0's first device is 03.2: 03.0 joins it again.
    let removed = guest.remove(VirtualAddress(address(0, 0, 0)));
    assert_eq!(removed.map(|device| device.address()), Some(f30));
    assert_eq!(add(&mut guest, f30), "0000:00:00.00");
    assert_eq!(
        exports(&guest),
        [
            ("0000:00:00.02".to_string(), f32),
            ("0000:00:00.01".to_string(), f31),
            ("0000:00:00.00".to_string(), f30),
            ("0000:00:01.00".to_string(), b2),
            ("0000:00:02.00".to_string(), f40),
        ]
    );
    assert_eq!(roots(&guest), ["0000:00"]);
    assert_eq!(guest.len(), 5);
    assert_eq!(
        guest.guest_address(f31),
        Some(VirtualAddress(address(0, 0, 1)))
    );
    // Ops reach the right device at each virtual address, and nothing else.
    for (guest_at, id) in [
        (address(0, 0, 0), 0x0030),
        (address(0, 0, 1), 0x0031),
        (address(0, 0, 2), 0x0032),
        (address(0, 1, 0), 0x0200),
        (address(0, 2, 0), 0x0040),
    ] {
        assert_eq!(
            device_id(&mut machine, &mut guest, VirtualAddress(guest_at)),
            Ok(id)
        );
    }
    for missing in [
        address(0, 0, 3),
        address(0, 3, 0),
        address(0, 1, 1),
        address(1, 0, 0),
    ] {
        assert_eq!(
            device_id(&mut machine, &mut guest, VirtualAddress(missing)),
            Err(-1),
            "{missing}"
        );
    }
    let drained: Vec<Address> = guest
        .drain()
        .iter()
        .map(|device| device.address())
        .collect();
    assert_eq!(drained, [f32, f31, f30, b2, f40]);
    assert!(guest.is_empty());
}

#[test]
fn vpci_has_32_slots() {
    // 32 single-function devices on bus 0, one more on root bus 1.
    let devices: Vec<(Address, pci::sim::SimDevice)> = (0..32)
        .map(|slot| (address(0, slot, 0), flr_endpoint(0x1000, u16::from(slot))))
        .chain([(address(1, 0, 0), flr_endpoint(0x1000, 0x0100))])
        .collect();
    let machine = Machine::new(devices);
    let mut guest = GuestDevices::new(TopologyKind::Vpci, false);
    for slot in 0..32 {
        let at = guest.add(machine.take(address(0, slot, 0))).unwrap();
        assert_eq!(at, VirtualAddress(address(0, slot, 0)));
    }
    // "No more space on root virtual PCI bus"; the device comes back.
    let refused = guest.add(machine.take(address(1, 0, 0))).unwrap_err();
    assert_eq!(refused.error, AddError::NoFreeSlot);
    assert_eq!(refused.device.address(), address(1, 0, 0));
    assert_eq!(
        refused.to_string(),
        "0000:01:00.0: no more space on root virtual PCI bus"
    );
}

#[test]
fn passthrough_shows_real_addresses_and_publishes_the_roots() {
    let port = address(0, 0x1c, 0);
    let behind = address(1, 0, 0);
    let local = address(0, 3, 0);
    let mut machine = Machine::new([
        (port, root_port(1).function_level_reset()),
        (behind, flr_endpoint(0x1000, 0x0100)),
        (local, flr_endpoint(0x1000, 0x0030)),
    ]);
    let mut guest = GuestDevices::new(TopologyKind::Passthrough, false);
    assert_eq!(guest.kind(), TopologyKind::Passthrough);
    for at in [behind, local] {
        assert_eq!(guest.add(machine.take(at)).unwrap(), VirtualAddress(at));
    }
    assert_eq!(
        exports(&guest),
        [
            ("0000:01:00.00".to_string(), behind),
            ("0000:00:03.00".to_string(), local),
        ]
    );
    // __xen_pcibk_publish_pci_roots: each device's bus, unless a bridge
    // above it is exported; duplicates skipped.
    assert_eq!(roots(&guest), ["0000:01", "0000:00"]);
    guest.add(machine.take(port)).unwrap();
    assert_eq!(roots(&guest), ["0000:00"]);
    assert_eq!(guest.roots(), [RootBus { segment: 0, bus: 0 }]);
    assert_eq!(
        device_id(&mut machine, &mut guest, VirtualAddress(behind)),
        Ok(0x0100)
    );
    assert_eq!(
        device_id(&mut machine, &mut guest, VirtualAddress(address(0, 0, 0))),
        Err(-1)
    );
    let removed = guest
        .remove(VirtualAddress(local))
        .map(|device| device.address());
    assert_eq!(removed, Some(local));
    assert_eq!(
        guest
            .remove(VirtualAddress(local))
            .map(|device| device.address()),
        None
    );
}
