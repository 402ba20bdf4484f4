// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xenbus_keys`: any value and any state sequence in every backend and frontend key.
//!
//! The machine is the whole backend over `FakeXen` and `SimXenstored`: a
//! healthy guest (domain 2) connected with one function, and a second
//! guest (domain 3) attached by the toolstack with another, whose keys the
//! fuzzer owns. Its steps write or remove any key of the hostile guest's
//! backend directory (as a broken toolstack would: `num_devs`, `dev-N`,
//! `opts-N`, `state-N`, `vdev-N`, `frontend`, `frontend-id`, `online`,
//! `state`, ...) or of its frontend directory (as the guest itself does:
//! `state`, `pci-op-ref`, `event-channel`, `magic`, `backend`,
//! `backend-id`), with values that are states, numbers, addresses of
//! other guests' functions and of functions never taken, or garbage; they
//! hot-plug and unplug devices, and let the machine run between steps.
//! At the end the toolstack destroys the hostile guest.
//!
//! Invariants, after every step: the healthy guest stays Connected with
//! no error and its op is answered with its own function's ID; no
//! function is given to two guests, the healthy guest's never to the
//! other; every function taken is in the pool or with exactly one guest
//! (none lost); the hostile guest's backend state is a XenBus state and,
//! when the backend failed it, it is Closing or Closed with a reason;
//! `FakeXen` saw no misuse of a hypercall. After the destroy: the hostile
//! guest holds nothing in Xen (devices, grants mapped) and every function
//! it had is back in the pool.

use std::rc::Rc;

use arbitrary::Unstructured;
use pci::Address;
use pci::sim::{SimBus, SimDevice};
use pciback::sim::{
    FakeDelay, PciDevice, SimExecutor, SimPcifront, SimPlatform, SimStore, SimWorld, Toolstack,
    at_once,
};
use pciback::xenbus::{Backend, Options};
use pciback::{Device, DeviceOptions, TopologyKind, VirtualAddress};
use xen::abi::domctl::pci_sbdf;
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::DomId;

use crate::op_path::{BACKEND, at, plain, rich};

const HEALTHY: DomId = 2;
const HOSTILE: DomId = 3;
/// Most steps one input runs.
const MAX_STEPS: usize = 24;

/// The healthy guest's function.
const MINE: Address = at(3, 0);
/// The hostile guest's functions: attached, and free to hot-plug.
const THEIRS: Address = at(5, 0);
const SPARE: Address = at(6, 0);
/// Taken, in the pool.
const POOL: Address = at(7, 0);
/// Not taken.
const UNTAKEN: Address = at(9, 0);
/// Every function taken.
const TAKEN: [Address; 4] = [MINE, THEIRS, SPARE, POOL];

const BACKEND_KEYS: &[&str] = &[
    "num_devs",
    "dev-",
    "opts-",
    "state-",
    "vdev-",
    "key-",
    "vdevfn-",
    "frontend",
    "frontend-id",
    "online",
    "state",
    "domain",
    "root_num",
    "root-",
];
const FRONTEND_KEYS: &[&str] = &[
    "state",
    "pci-op-ref",
    "event-channel",
    "magic",
    "backend",
    "backend-id",
];
const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "-1",
    "256",
    "4294967296",
    "0000:00:03.0",
    "0000:00:05.0",
    "0000:00:06.0",
    "0000:00:07.0",
    "0000:00:09.0",
    "0000:00:05.1",
    "ffff:ff:1f.7",
    "00:05.0",
    "msitranslate=0,power_mgmt=0,permissive=1,rdm_policy=strict",
    "permissive=1,gsi=11",
    "gsi=0",
    "gsi=999999999999",
    "/local/domain/2/device/pci/0",
    "/local/domain/3/device/pci/0",
    "/local/domain/1/backend/pci/3/0",
    "",
];

/// The machine.
struct Machine {
    world: SimWorld,
    executor: SimExecutor,
    toolstack: Toolstack,
    backend: Rc<Backend<SimStore, SimPlatform>>,
    healthy: Rc<SimPcifront>,
    hostile: Rc<SimPcifront>,
    topology: TopologyKind,
}

fn machine(options: Options, instead: Option<(&str, &str)>) -> Machine {
    let functions = [
        (MINE, rich(0x8086, 0x10d3, 0xfe00_0000)),
        (THEIRS, rich(0x1af4, 0x1041, 0xfe02_0000)),
        (SPARE, plain(0x1b36, 0x0010, 0xfe01_0000)),
        (POOL, plain(0x1234, 0x11e8, 0xfe03_0000)),
        (UNTAKEN, plain(0x1234, 0x11e9, 0xfe04_0000)),
    ];
    let bus = functions
        .into_iter()
        .fold(SimBus::new(), |bus, (at, device): (Address, SimDevice)| {
            bus.device(at, device)
        });
    let topology = pci::enumerate(&bus, 0, 0..=0);
    let pool = TAKEN
        .iter()
        .map(|&at| {
            at_once(Device::take(
                &bus,
                &topology,
                at,
                &DeviceOptions::default(),
                &[],
                &FakeDelay::new(),
            ))
            .unwrap_or_else(|error| panic!("fuzz machine: take {at}: {error}"))
        })
        .collect();
    let world = SimWorld::new();
    world.add_domain(BACKEND);
    let platform = SimPlatform::new(&world, BACKEND, bus);
    let backend = Rc::new(Backend::new(world.store(BACKEND), platform, pool, options));
    let toolstack = Toolstack::new(&world, BACKEND);
    let mut executor = SimExecutor::new(&world);
    let running = Rc::clone(&backend);
    executor.spawn(async move { running.run().await });
    executor.run_until_idle();
    world.add_domain(HEALTHY);
    toolstack.attach(HEALTHY, &[PciDevice::new(MINE)]);
    let healthy = SimPcifront::new(&world, HEALTHY);
    healthy.skip_scan();
    executor.spawn(Rc::clone(&healthy).run());
    executor.run_until_idle();
    world.add_domain(HOSTILE);
    toolstack.attach(HOSTILE, &[PciDevice::new(THEIRS)]);
    let hostile = SimPcifront::new(&world, HOSTILE);
    hostile.skip_scan();
    if let Some((key, value)) = instead {
        hostile.publish_instead(key, Some(value));
    }
    executor.spawn(Rc::clone(&hostile).run());
    executor.run_until_idle();
    Machine {
        world,
        executor,
        toolstack,
        backend,
        healthy,
        hostile,
        topology: options.topology,
    }
}

fn value(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    Ok(if u.ratio(3, 4)? {
        u.choose(VALUES)?.as_bytes().to_vec()
    } else {
        let len = u.int_in_range(0..=48_usize)?.min(u.len());
        u.bytes(len)?.to_vec()
    })
}

fn key(u: &mut Unstructured<'_>, keys: &[&str]) -> arbitrary::Result<String> {
    let key = *u.choose(keys)?;
    Ok(if key.ends_with('-') {
        format!("{key}{}", u.int_in_range(0..=3)?)
    } else {
        key.to_owned()
    })
}

fn sbdf(at: Address) -> u32 {
    pci_sbdf(at.segment(), at.bus(), at.devfn())
}

impl Machine {
    fn check(&mut self) {
        // The healthy guest is served.
        let (state, error) = (
            self.toolstack.backend_state(HEALTHY),
            self.toolstack.backend_error(HEALTHY),
        );
        assert_eq!(
            (state, error.as_deref()),
            (Some(XenbusState::Connected), None),
            "the healthy guest is no longer served"
        );
        let guest_view = match self.topology {
            TopologyKind::Vpci => VirtualAddress(at(0, 0)),
            TopologyKind::Passthrough => VirtualAddress(MINE),
        };
        let answer = self
            .executor
            .block_on(self.healthy.conf_read(guest_view, 0, 4));
        assert_eq!(answer, (0, 0x10d3_8086), "the healthy guest's op");
        // Nothing given twice, nothing lost.
        let xen = self.world.xen();
        let mine = xen.assigned_devices(HEALTHY);
        let theirs = xen.assigned_devices(HOSTILE);
        assert_eq!(mine, [sbdf(MINE)], "the healthy guest's devices in Xen");
        assert!(
            !theirs.contains(&sbdf(MINE)) && !theirs.contains(&sbdf(UNTAKEN)),
            "{theirs:x?} given to the hostile guest"
        );
        let statuses = self.backend.frontends();
        let held: usize = statuses.iter().map(|status| status.devices).sum();
        let free = self.backend.free_devices();
        assert_eq!(
            free.len() + held,
            TAKEN.len(),
            "functions lost or doubled: free {free:?}, {statuses:?}"
        );
        for status in &statuses {
            if status.error.is_some() {
                assert!(
                    matches!(status.state, XenbusState::Closing | XenbusState::Closed),
                    "{status:?}"
                );
            }
        }
        for domid in [BACKEND, HEALTHY, HOSTILE] {
            let violations = xen.violations(domid);
            assert!(violations.is_empty(), "dom{domid}: {violations:?}");
        }
        let _ = self.hostile.state();
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(flags) = u.arbitrary::<u8>() else {
        return;
    };
    let options = Options {
        topology: if flags & 1 == 0 {
            TopologyKind::Vpci
        } else {
            TopologyKind::Passthrough
        },
        permissive: flags & 2 != 0,
        op_budget: 16,
    };
    // Half the time the hostile guest publishes its own values at probe.
    let instead = if flags & 4 != 0 {
        let key = u.choose(&FRONTEND_KEYS[1..4]).ok().copied();
        let value = u.choose(VALUES).ok().copied();
        key.zip(value)
    } else {
        None
    };
    let mut machine = machine(options, instead);
    machine.check();
    let backend_dir = machine.toolstack.backend_dir(HOSTILE);
    let frontend_dir = machine.toolstack.frontend_dir(HOSTILE);
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(choice) = u.int_in_range(0..=9) else {
            break;
        };
        let step = (|| -> arbitrary::Result<()> {
            match choice {
                0..=3 => {
                    let path = format!("{backend_dir}/{}", key(&mut u, BACKEND_KEYS)?);
                    let value = value(&mut u)?;
                    machine
                        .world
                        .xenstored(|store| store.write(&path, &value).map_err(drop))
                        .ok();
                }
                4 => {
                    let path = format!("{backend_dir}/{}", key(&mut u, BACKEND_KEYS)?);
                    machine
                        .world
                        .xenstored(|store| store.rm(&path).map_err(drop))
                        .ok();
                }
                5..=6 => {
                    let path = format!("{frontend_dir}/{}", key(&mut u, FRONTEND_KEYS)?);
                    let value = value(&mut u)?;
                    machine
                        .world
                        .xenstored(|store| store.write(&path, &value).map_err(drop))
                        .ok();
                }
                7 => {
                    let path = format!("{frontend_dir}/{}", key(&mut u, FRONTEND_KEYS)?);
                    machine
                        .world
                        .xenstored(|store| store.rm(&path).map_err(drop))
                        .ok();
                }
                8 => {
                    let device = *u.choose(&[SPARE, POOL, MINE, UNTAKEN, THEIRS])?;
                    machine.toolstack.hotplug(HOSTILE, PciDevice::new(device));
                }
                _ => {
                    let index = u.int_in_range(0..=2)?;
                    machine.toolstack.unplug(HOSTILE, index);
                }
            }
            Ok(())
        })();
        if step.is_err() {
            break;
        }
        machine.executor.run_until_idle();
        machine.check();
    }
    // The toolstack destroys the hostile guest: it leaves with nothing.
    machine.toolstack.destroy(HOSTILE);
    machine.executor.run_until_idle();
    machine.check();
    let xen = machine.world.xen();
    assert!(
        xen.assigned_devices(HOSTILE).is_empty(),
        "a destroyed guest keeps devices"
    );
    assert!(
        machine
            .backend
            .frontends()
            .iter()
            .all(|s| s.key.domid != HOSTILE),
        "a destroyed guest is still served"
    );
    let mut free = machine.backend.free_devices();
    free.sort_unstable();
    assert_eq!(
        free,
        [THEIRS, SPARE, POOL],
        "the destroyed guest's functions"
    );
}
