// SPDX-License-Identifier: MIT OR Apache-2.0
//! XSA-461: which functions share a 4 KiB page of MMIO, and whom a device is refused to.
//!
//! The pages expected are worked out here from the BAR addresses and
//! sizes (a page is the address with its low 12 bits cleared), never taken
//! from the backend's own answers. The policy runs end to end: devices
//! taken from a simulated bus, the backend serving guests' pcifronts over
//! the simulated hypervisor and xenstored, the console captured.

mod common;

use common::driver::{DriverDomain, flr_written, take};
use common::logs::{capture, logged};
use common::{address, flr_endpoint};
use pci::sim::{SimBar, SimBus, SimDevice};
use pci::{Address, Bar, BarKind, Topology};
use pciback::sim::PciDevice;
use pciback::xenbus::Options;
use pciback::{Decoder, SharedPages, record_shared_pages, shared_pages};
use xen::abi::domctl::pci_sbdf;

/// The 4 KiB page `address` lies in.
fn page(address: u64) -> u64 {
    address & !0xfff
}

/// An endpoint with one 32-bit memory BAR0 of `size` bytes at `at`.
fn endpoint(size: u32, at: u64) -> SimDevice {
    flr_endpoint(0x8086, 0x10d3).bar(0, SimBar::memory32(size).at(at))
}

fn enumerate(devices: &[(Address, SimDevice)]) -> Topology {
    let bus = devices
        .iter()
        .cloned()
        .fold(SimBus::new(), |bus, (at, device)| bus.device(at, device));
    pci::enumerate(&bus, 0, 0..=7)
}

fn shared(
    decoder: Decoder,
    other: Address,
    other_decoder: Decoder,
    first: u64,
    last: u64,
) -> SharedPages {
    SharedPages {
        decoder,
        other,
        other_decoder,
        first,
        last,
    }
}

/// Messages logged at `level` that mention XSA-461.
fn xsa_461(level: log::Level) -> Vec<String> {
    logged(level, &["XSA-461"])
}

// The page arithmetic.

#[test]
fn page_aligned_bars_in_neighbouring_pages_share_nothing() {
    let (a, b) = (address(0, 3, 0), address(0, 4, 0));
    let topology = enumerate(&[
        (a, endpoint(0x4000, 0xfe00_0000)),
        // The page right after A's last one.
        (b, endpoint(0x1000, 0xfe00_4000)),
    ]);
    assert!(shared_pages(&topology, a).is_empty());
    assert!(shared_pages(&topology, b).is_empty());
}

#[test]
fn small_bars_in_one_page_share_it_both_ways() {
    let (a, b) = (address(0, 3, 0), address(0, 4, 0));
    let topology = enumerate(&[
        (a, endpoint(0x100, 0xfe00_1100)),
        (
            b,
            endpoint(0x1000, 0xfe00_0000).bar(2, SimBar::memory32(0x100).at(0xfe00_1800)),
        ),
    ]);
    let both = page(0xfe00_1100);
    assert_eq!(page(0xfe00_1800), both);
    assert_eq!(
        shared_pages(&topology, a),
        [shared(Decoder::Bar(0), b, Decoder::Bar(2), both, both)]
    );
    assert_eq!(
        shared_pages(&topology, b),
        [shared(Decoder::Bar(2), a, Decoder::Bar(0), both, both)]
    );
}

#[test]
fn sixty_four_bit_bars_share_by_their_full_address() {
    let (a, b, c) = (address(0, 3, 0), address(0, 4, 0), address(0, 5, 0));
    let topology = enumerate(&[
        // 16 KiB above 4 GiB: four pages.
        (
            a,
            flr_endpoint(1, 1).bar(0, SimBar::memory64(0x4000).at(0x8_0000_0000)),
        ),
        // 256 bytes in A's third page.
        (
            b,
            flr_endpoint(1, 2).bar(2, SimBar::memory64(0x100).at(0x8_0000_2300)),
        ),
        // The same low 32 bits as B, 4 GiB lower: no page of A's.
        (c, endpoint(0x100, 0x0000_2300)),
    ]);
    let third = page(0x8_0000_2300);
    assert_eq!(third, 0x8_0000_0000 + 2 * 0x1000);
    assert_eq!(
        shared_pages(&topology, a),
        [shared(Decoder::Bar(0), b, Decoder::Bar(2), third, third)]
    );
    assert!(shared_pages(&topology, c).is_empty());
}

#[test]
fn overlapping_bars_share_every_page_both_touch() {
    let (a, b) = (address(0, 3, 0), address(0, 4, 0));
    let topology = enumerate(&[
        (a, endpoint(0x4000, 0xfe00_0000)),
        (b, endpoint(0x8000, 0xfe00_0000)),
    ]);
    // A's pages 0xfe000000-0xfe003fff all lie inside B's.
    assert_eq!(
        shared_pages(&topology, a),
        [shared(
            Decoder::Bar(0),
            b,
            Decoder::Bar(0),
            0xfe00_0000,
            page(0xfe00_0000 + 0x4000 - 1)
        )]
    );
}

#[test]
fn roms_share_pages_enabled_or_not() {
    let (a, b, c) = (address(0, 3, 0), address(0, 4, 0), address(0, 5, 0));
    let topology = enumerate(&[
        // A 2 KiB ROM in the upper half of a page, enabled.
        (
            a,
            endpoint(0x1000, 0xfe00_0000).rom(0x800, 0xfe10_0800, true),
        ),
        // A BAR in the lower half of that page.
        (b, endpoint(0x100, 0xfe10_0000)),
    ]);
    let rom_page = page(0xfe10_0800);
    assert_eq!(page(0xfe10_0000), rom_page);
    assert_eq!(
        shared_pages(&topology, a),
        [shared(Decoder::Rom, b, Decoder::Bar(0), rom_page, rom_page)]
    );
    assert_eq!(
        shared_pages(&topology, b),
        [shared(Decoder::Bar(0), a, Decoder::Rom, rom_page, rom_page)]
    );

    // A disabled ROM counts too: its function's guest would be granted it
    // and could turn it on.
    let topology = enumerate(&[
        (a, endpoint(0x1000, 0xfe00_0000)),
        (
            c,
            endpoint(0x1000, 0xfe20_0000).rom(0x800, 0xfe00_0800, false),
        ),
    ]);
    let bar_page = page(0xfe00_0000);
    assert_eq!(page(0xfe00_0800), bar_page);
    assert_eq!(
        shared_pages(&topology, a),
        [shared(Decoder::Bar(0), c, Decoder::Rom, bar_page, bar_page)]
    );
}

#[test]
fn io_bars_and_bridge_windows_are_not_pages_but_bridge_bars_are() {
    let (bridge, a, b) = (address(0, 1, 0), address(0, 3, 0), address(0, 4, 0));
    let topology = enumerate(&[
        (
            bridge,
            SimDevice::bridge(0x8086, 0x29c0)
                .buses(0, 1, 1)
                .memory_window(0xfe20_0000, 0xfe2f_ffff)
                .bar(0, SimBar::memory32(0x100).at(0xfe30_0000)),
        ),
        // Inside the bridge's window; and memory at 0x1000.
        (
            a,
            endpoint(0x100, 0xfe20_0000).bar(2, SimBar::memory32(0x100).at(0x1000)),
        ),
        // In the bridge's BAR's page; and ports 0x1000-0x10ff.
        (
            b,
            endpoint(0x100, 0xfe30_0100).bar(1, SimBar::io(0x100).at(0x1000)),
        ),
    ]);
    assert!(shared_pages(&topology, a).is_empty());
    let bridge_page = page(0xfe30_0000);
    assert_eq!(page(0xfe30_0100), bridge_page);
    assert_eq!(
        shared_pages(&topology, b),
        [shared(
            Decoder::Bar(0),
            bridge,
            Decoder::Bar(0),
            bridge_page,
            bridge_page
        )]
    );
    assert_eq!(
        shared_pages(&topology, bridge),
        [shared(
            Decoder::Bar(0),
            b,
            Decoder::Bar(0),
            bridge_page,
            bridge_page
        )]
    );
}

#[test]
fn unassigned_and_empty_bars_share_nothing() {
    let (a, b) = (address(0, 3, 0), address(0, 4, 0));
    // A's BAR is in page 0, where B's unassigned BAR (address 0) would be.
    let mut topology = enumerate(&[
        (a, endpoint(0x100, 0x800)),
        (b, flr_endpoint(1, 2).bar(0, SimBar::memory32(0x100))),
    ]);
    assert_eq!(topology.get(b).unwrap().bars[0].address, 0);
    assert!(shared_pages(&topology, a).is_empty());
    assert!(shared_pages(&topology, b).is_empty());
    // A BAR of no size in A's page (enumeration drops these; data could not).
    let at = topology
        .functions
        .iter()
        .position(|f| f.address == b)
        .unwrap();
    topology.functions[at].bars.push(Bar {
        index: 1,
        kind: BarKind::Memory32,
        prefetchable: false,
        address: 0x900,
        size: 0,
    });
    assert!(shared_pages(&topology, a).is_empty());
}

// The policy, end to end.

/// A machine whose backend took `taken` of `devices` and serves guests.
fn machine(devices: &[(Address, SimDevice)], taken: &[Address]) -> DriverDomain {
    capture();
    let bus = devices
        .iter()
        .cloned()
        .fold(SimBus::new(), |bus, (at, device)| bus.device(at, device));
    let topology = pci::enumerate(&bus, 0, 0..=7);
    let mut pool: Vec<_> = taken.iter().map(|&at| take(&bus, &topology, at)).collect();
    record_shared_pages(&mut pool, |_| Some(&topology));
    DriverDomain::serving(bus, pool, Options::default())
}

/// Functions `f0` and `f1` of one device, their 256-byte BAR0s in one page,
/// both taken.
fn two_functions_in_one_page(f0: Address, f1: Address) -> DriverDomain {
    machine(
        &[
            (f0, endpoint(0x100, 0xfe00_0000).multifunction()),
            (f1, endpoint(0x100, 0xfe00_0100)),
        ],
        &[f0, f1],
    )
}

fn sbdf(at: Address) -> u32 {
    pci_sbdf(at.segment(), at.bus(), at.devfn())
}

#[test]
fn a_device_with_page_aligned_bars_is_given_without_a_word() {
    let (a, neighbour) = (address(0, 3, 0), address(0, 4, 0));
    let mut machine = machine(
        &[
            (a, endpoint(0x4000, 0xfe00_0000)),
            (neighbour, endpoint(0x100, 0xfe00_4000)),
        ],
        &[a],
    );
    machine.guest(2, &[a]);
    assert!(machine.connected(2));
    let (assigned, iomem) = machine.given(2);
    assert_eq!(assigned, [sbdf(a)]);
    assert_eq!(iomem, [(0xfe00_0000 >> 12, 0x4000 >> 12)]);
    assert!(xsa_461(log::Level::Warn).is_empty());
    assert!(xsa_461(log::Level::Error).is_empty());
}

#[test]
fn a_small_bar_in_a_page_with_a_function_not_taken_is_warned_about_and_refused() {
    let (a, host) = (address(0, 3, 0), address(0, 4, 0));
    let mut machine = machine(
        &[
            (a, endpoint(0x100, 0xfe00_1100)),
            (host, endpoint(0x100, 0xfe00_1f00)),
        ],
        &[a],
    );
    let shared_page = format!("{:#x}", page(0xfe00_1100));
    assert_eq!(page(0xfe00_1f00), page(0xfe00_1100));
    let (a_name, host_name) = (a.to_string(), host.to_string());
    // At boot: a warning naming both functions and the page.
    let words = [a_name.as_str(), host_name.as_str(), shared_page.as_str()];
    assert_eq!(logged(log::Level::Warn, &words).len(), 1);

    machine.guest(2, &[a]);
    assert!(!machine.connected(2));
    // EPERM, and nothing of the device left to the guest.
    assert_eq!(
        machine.toolstack.backend_error(2).as_deref(),
        Some("1 Couldn't assign PCI device 0000:00:03.0 to domain 2")
    );
    assert_eq!(machine.given(2), (vec![], vec![]));
    assert_eq!(machine.free(), [a]);
    let refusals = logged(log::Level::Error, &words);
    assert_eq!(refusals.len(), 1);
    assert!(refusals[0].contains("XSA-461"));
}

#[test]
fn a_rom_or_a_64_bit_bar_in_a_page_with_a_function_not_taken_is_refused() {
    let (rom, wide, host) = (address(0, 3, 0), address(0, 5, 0), address(0, 4, 0));
    let mut machine = machine(
        &[
            // A page-aligned BAR, and a 2 KiB ROM in the host function's page.
            (
                rom,
                endpoint(0x1000, 0xfe00_0000).rom(0x800, 0xfe10_0000, false),
            ),
            (
                host,
                endpoint(0x800, 0xfe10_0800).bar(2, SimBar::memory64(0x100).at(0x10_0000_0200)),
            ),
            // 256 bytes above 4 GiB, beside the host function's 64-bit BAR.
            (
                wide,
                flr_endpoint(1, 2).bar(0, SimBar::memory64(0x100).at(0x10_0000_0000)),
            ),
        ],
        &[rom, wide],
    );
    let rom_page = format!("{:#x}", page(0xfe10_0000));
    let wide_page = format!("{:#x}", page(0x10_0000_0000));
    assert_eq!(page(0xfe10_0800), page(0xfe10_0000));
    assert_eq!(page(0x10_0000_0200), page(0x10_0000_0000));
    let host_name = host.to_string();
    // Each warning also names the two decoders and says one page.
    for (at, shared_page, decoder, other) in [
        (rom, &rom_page, "ROM shares", "BAR0"),
        (wide, &wide_page, "BAR0 shares", "BAR2"),
    ] {
        let name = at.to_string();
        let one_page = format!("page {shared_page} with {host_name} {other}");
        let words = [name.as_str(), one_page.as_str(), decoder];
        assert_eq!(logged(log::Level::Warn, &words).len(), 1, "{at}");
    }
    machine.guest(2, &[rom]);
    machine.guest(3, &[wide]);
    for domid in [2, 3] {
        assert!(!machine.connected(domid));
        assert_eq!(machine.given(domid), (vec![], vec![]));
    }
    assert_eq!(machine.free(), [rom, wide]);
    assert_eq!(xsa_461(log::Level::Error).len(), 2);
}

#[test]
fn functions_sharing_a_page_go_to_one_guest_together() {
    let (f0, f1) = (address(0, 3, 0), address(0, 3, 1));
    let mut machine = two_functions_in_one_page(f0, f1);
    assert_eq!(page(0xfe00_0000), page(0xfe00_0100));
    // Both taken: no warning, only a note.
    assert!(xsa_461(log::Level::Warn).is_empty());
    assert_eq!(xsa_461(log::Level::Info).len(), 2);
    machine.guest(5, &[f0, f1]);
    assert!(machine.connected(5));
    let (assigned, iomem) = machine.given(5);
    assert_eq!(assigned, [sbdf(f0), sbdf(f1)]);
    // Each one's BAR, one page each: the same page twice.
    assert_eq!(iomem, [(0xfe000, 1), (0xfe000, 1)]);
    assert!(xsa_461(log::Level::Error).is_empty());
}

#[test]
fn functions_sharing_a_page_do_not_go_to_two_guests() {
    let (f0, f1) = (address(0, 3, 0), address(0, 3, 1));
    let mut machine = two_functions_in_one_page(f0, f1);
    machine.guest(2, &[f0]);
    assert!(machine.connected(2));
    machine.guest(3, &[f1]);
    assert!(!machine.connected(3));
    // EBUSY: the other function is with guest 2.
    assert_eq!(
        machine.toolstack.backend_error(3).as_deref(),
        Some("16 Couldn't assign PCI device 0000:00:03.1 to domain 3")
    );
    assert_eq!(machine.given(3), (vec![], vec![]));
    let (f0_name, f1_name) = (f0.to_string(), f1.to_string());
    let words = [f1_name.as_str(), f0_name.as_str(), "0xfe000000", "domain 2"];
    assert_eq!(logged(log::Level::Error, &words).len(), 1);

    // Once guest 2 is gone, the function is free to go to another guest.
    machine.toolstack.destroy(2);
    machine.executor.run_until_idle();
    assert_eq!(machine.free(), [f0, f1]);
    machine.guest(4, &[f1]);
    assert!(machine.connected(4));
    assert_eq!(machine.given(4).0, [sbdf(f1)]);
}

/// The INTx half: a level interrupt one guest never acknowledges is
/// withheld from every other guest on the line, so a GSI goes to one guest
/// at a time (several of its devices may share it).
#[test]
fn a_gsi_goes_to_one_guest_at_a_time() {
    let (a, b, c) = (address(0, 3, 0), address(0, 4, 0), address(0, 5, 0));
    let with_pin = |at| endpoint(0x4000, at).interrupt(1, 11);
    let mut machine = machine(
        &[
            (a, with_pin(0xfe00_0000)),
            (b, with_pin(0xfe00_4000)),
            (c, with_pin(0xfe00_8000)),
        ],
        &[a, b, c],
    );
    let guest = |machine: &mut DriverDomain, domid, devices: &[(Address, u32)]| {
        let devices: Vec<_> = devices
            .iter()
            .map(|&(at, gsi)| PciDevice::new(at).with_gsi(gsi))
            .collect();
        let front = machine.prepare_with(domid, &devices);
        machine.start(&front);
        machine.settle();
    };
    guest(&mut machine, 2, &[(a, 23)]);
    assert!(machine.connected(2));
    // EBUSY: GSI 23 is guest 2's.
    guest(&mut machine, 3, &[(b, 23)]);
    assert!(!machine.connected(3));
    assert_eq!(
        machine.toolstack.backend_error(3).as_deref(),
        Some("16 Couldn't assign PCI device 0000:00:04.0 to domain 3")
    );
    assert_eq!(machine.given(3), (vec![], vec![]));
    let b_name = b.to_string();
    let words = [b_name.as_str(), "GSI 23", "domain 2", "XSA-461"];
    assert_eq!(logged(log::Level::Error, &words).len(), 1);
    // Another line is another guest's to have; one guest may have both
    // devices of a line.
    guest(&mut machine, 4, &[(c, 22)]);
    assert!(machine.connected(4));
    machine.toolstack.destroy(3);
    machine.settle();
    machine.toolstack.destroy(4);
    machine.settle();
    guest(&mut machine, 5, &[(b, 22), (c, 22)]);
    assert!(machine.connected(5));
    assert_eq!(machine.given(5).0, [sbdf(b), sbdf(c)]);
}

/// A guest with one of two functions sharing a page can reach the other's
/// registers; when it lets its function go, the other, free in the pool,
/// is reset too before anyone gets it.
#[test]
fn the_free_neighbour_of_a_released_function_is_reset_with_it() {
    let (f0, f1) = (address(0, 3, 0), address(0, 3, 1));
    let mut machine = two_functions_in_one_page(f0, f1);
    machine.guest(2, &[f0]);
    assert!(machine.connected(2));
    machine.platform().bus().clear_writes();
    machine.toolstack.destroy(2);
    machine.settle();
    assert_eq!(machine.free(), [f0, f1]);
    assert!(flr_written(machine.platform().bus(), f0));
    assert!(flr_written(machine.platform().bus(), f1));
    let f1_name = f1.to_string();
    assert_eq!(
        logged(
            log::Level::Info,
            &["resetting", f1_name.as_str(), "XSA-461"]
        )
        .len(),
        1
    );
}
