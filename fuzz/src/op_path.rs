// SPDX-License-Identifier: MIT OR Apache-2.0
//! `op_path` and `op_backend`: two frontends' ops through their shared pages.
//!
//! Two machines run the same steps:
//!
//! - `op_path` (fast, for long campaigns): the op server
//!   ([`pciback::xenbus::serve`]: copy the op once, answer it, write back
//!   the result fields, clear the bit) over each guest's page and its
//!   [`GuestDevices`] on a `SimBus`, the two pages served in turn,
//!   `BUDGET` ops at a time, as [`Backend::run`] does;
//! - `op_backend`: the whole backend, as the XenBus tests run it: the real
//!   [`Backend`] over `FakeXen`, `SimXenstored` and a `SimBus`, a
//!   toolstack that attached two guests, and each guest's `SimPcifront`
//!   connected (without its bus scan); ops travel through event channels
//!   and the backend's own scheduling.
//!
//! Guest A (domain 2) has two functions, guest B (domain 3) one; a fourth
//! function is taken but stays in the pool, a fifth is not taken.
//! The fuzzer's bytes choose the options (layout, permissive) and then a
//! sequence of steps, each posted raw into a shared page as a hostile
//! guest would: any op number, size, offset, domain/bus/devfn, value,
//! MSI-X entry array and stale `err`; ops from both guests at once; a
//! guest rewriting its page (op, flags, anything) while the backend is in
//! the middle of its op, at the n-th configuration access the op makes;
//! events with no op; an op taken back before the backend looked; one
//! guest flooding ops while the other posts one; a guest scribbling on
//! the AER half of the page.
//!
//! Invariants, checked after every step:
//!
//! - every op posted is answered (`_XEN_PCIF_active` clears), the other
//!   guest's too, whatever the first one does;
//! - every `err` is one Linux's pciback can answer;
//! - the answer is the one the op path gives for the op as it was when the
//!   backend copied it ([`GuestDevices::handle`] over an identical machine
//!   of its own, the reference): a rewrite after the copy changes nothing
//!   (XSA-155);
//! - the page is what the guest last wrote there except the result
//!   fields (`err`, `value`, the vectors of the entries answered) and the
//!   active bit: nothing else of the page is written, the AER half included;
//! - no configuration access reaches a function other than those of the
//!   guests whose ops were in flight, and none ever reaches the function in
//!   the pool or the one not taken;
//! - both guests stay Connected with no error, and the backend's op
//!   counters agree with the ops answered (`op_backend`); the op server
//!   answers at most its budget per turn and says when more wait
//!   (`op_path`).
//!
//! The backend has no AER engine yet: `Step::Aer` is where its answers
//! will be fuzzed (the guest's `aer_op` replies and `_XEN_PCIB_active`
//! handshake); today it checks that the backend leaves that half alone.

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use arbitrary::Unstructured;
use pci::Address;
use pci::capability::{BarRegion, PortType};
use pci::register::Command;
use pci::sim::{ConfigAccessEvent, SimBar, SimBus, SimDevice};
use pciback::sim::{
    FakeDelay, FakeInterrupts, PciDevice, SimExecutor, SimPcifront, SimPlatform, SimStore,
    SimWorld, Toolstack, at_once,
};
use pciback::xenbus::{Backend, Options};
use pciback::{Device, DeviceOptions, GuestDevices, TopologyKind};
use xen::abi::io::pciif::{
    AER_OP_OFFSET, FLAGS_OFFSET, OP_OFFSET, SH_INFO_MAX_VEC, XEN_PCI_ERR_ACCESS_DENIED,
    XEN_PCI_ERR_DEV_NOT_FOUND, XEN_PCI_ERR_INVALID_OFFSET, XEN_PCI_ERR_NOT_IMPLEMENTED,
    XEN_PCI_ERR_OP_FAILED, XEN_PCI_OP_CONF_READ, XEN_PCI_OP_ENABLE_MSI, XEN_PCI_OP_ENABLE_MSIX,
    XEN_PCIB_AERHANDLER, XEN_PCIF_ACTIVE, XenMsixEntry, XenPciOp, XenPcieAerOp,
};
use xen::abi::io::xenbus::XenbusState;
use xen::abi::xen::DomId;
use xen::hypercall::event_channel;
use xen::shared_page::{PAGE_SIZE, PageFrame, SharedPage};

/// The driver domain.
pub(crate) const BACKEND: DomId = 1;
/// Most steps one input runs.
const MAX_STEPS: usize = 48;
/// PIRQs `SimPlatform` hands each frontend start this far apart, from it.
const PIRQS_PER_FRONTEND: u32 = 1000;
/// The ops a backend answers per turn ([`Options::op_budget`]).
const BUDGET: u32 = 16;

/// Function `function` of device `device` on bus 0.
pub(crate) const fn at(device: u8, function: u8) -> Address {
    match Address::new(0, 0, device, function) {
        Some(address) => address,
        None => panic!("not a function"),
    }
}

/// Guest A's functions.
const A0: Address = at(3, 0);
const A1: Address = at(4, 0);
/// Guest B's function.
const B0: Address = at(5, 0);
/// Taken, never given: stays in the pool.
const POOL: Address = at(7, 0);
/// Not taken at all.
const UNTAKEN: Address = at(9, 0);

/// Linux errno values (x86) pciback passes to the guest raw.
const EINVAL: i32 = -22;
const ENXIO: i32 = -6;
const ENOSPC: i32 = -28;
const ENOMEM: i32 = -12;
const EIO: i32 = -5;
const EALREADY: i32 = -114;

/// Every `err` Linux's pciback can answer (`XEN_PCI_ERR_*` and the raw
/// errnos of `xen_pcibk_enable_msi(x)` and the command register).
const LINUX_CODES: [i32; 11] = [
    0,
    XEN_PCI_ERR_DEV_NOT_FOUND,
    XEN_PCI_ERR_INVALID_OFFSET,
    XEN_PCI_ERR_ACCESS_DENIED,
    XEN_PCI_ERR_NOT_IMPLEMENTED,
    XEN_PCI_ERR_OP_FAILED,
    EINVAL,
    ENXIO,
    ENOSPC,
    ENOMEM,
    EALREADY,
];
const _: () = assert!(EIO == XEN_PCI_ERR_OP_FAILED);

/// A device with everything the op path handles: MSI with masking, MSI-X,
/// PM, PCIe with FLR, AER, a memory BAR, an I/O BAR, a ROM and INTx.
pub(crate) fn rich(vendor: u16, device: u16, page: u32) -> SimDevice {
    SimDevice::endpoint(vendor, device, 0x02_00_00)
        .revision(1)
        .subsystem(vendor, 0x0001)
        .interrupt(1, 11)
        .command(Command::from_bits_retain(0x0406))
        .bar(0, SimBar::memory32(0x4000).at(u64::from(page)))
        .bar(
            2,
            SimBar::io(0x20).at(0xc000 + u64::from(page >> 12 & 0xff) * 0x40),
        )
        .rom(0x1_0000, page + 0x8000, false)
        .pm()
        .msi(4, true, true)
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
        .aer()
}

/// A plainer device: 64-bit BAR, MSI without masking, no MSI-X.
pub(crate) fn plain(vendor: u16, device: u16, page: u32) -> SimDevice {
    SimDevice::endpoint(vendor, device, 0x01_08_02)
        .interrupt(2, 10)
        .bar(0, SimBar::memory64(0x4000).at(u64::from(page)))
        .pm()
        .msi(1, false, false)
        .pcie(PortType::Endpoint)
        .function_level_reset()
}

/// The machine's functions (built once: building is most of a run's
/// set-up).
fn functions() -> &'static [(Address, SimDevice); 5] {
    static FUNCTIONS: std::sync::OnceLock<[(Address, SimDevice); 5]> = std::sync::OnceLock::new();
    FUNCTIONS.get_or_init(|| {
        [
            (A0, rich(0x8086, 0x10d3, 0xfe00_0000)),
            (A1, plain(0x1b36, 0x0010, 0xfe01_0000)),
            (B0, rich(0x1af4, 0x1041, 0xfe02_0000)),
            (POOL, plain(0x1234, 0x11e8, 0xfe03_0000)),
            (UNTAKEN, plain(0x1234, 0x11e9, 0xfe04_0000)),
        ]
    })
}

/// A bus with [`functions`], each taken function taken; writes forgotten.
fn taken_bus() -> (SimBus, Vec<Device>) {
    let bus = functions().iter().fold(SimBus::new(), |bus, (at, device)| {
        bus.device(*at, device.clone())
    });
    let topology = pci::enumerate(&bus, 0, 0..=0);
    let devices = [A0, A1, B0, POOL]
        .into_iter()
        .map(|at| {
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
    bus.clear_writes();
    (bus, devices)
}

/// One of the two guests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    A,
    B,
}

impl Who {
    fn index(self) -> usize {
        match self {
            Self::A => 0,
            Self::B => 1,
        }
    }

    fn domid(self) -> DomId {
        match self {
            Self::A => 2,
            Self::B => 3,
        }
    }

    fn functions(self) -> &'static [Address] {
        match self {
            Self::A => &[A0, A1],
            Self::B => &[B0],
        }
    }

    fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// The op path of one guest on a machine of its own: what the backend
/// must answer.
struct Reference {
    devices: GuestDevices,
    interrupts: FakeInterrupts,
}

/// Guest addresses of a frontend's and the other's functions, to aim at.
struct Targets {
    own: Vec<(u32, u32, u32)>,
    other: Vec<(u32, u32, u32)>,
}

/// The whole backend, with its guests' frontends.
struct Whole {
    world: SimWorld,
    executor: SimExecutor,
    backend: Rc<Backend<SimStore, SimPlatform>>,
    fronts: [Rc<SimPcifront>; 2],
}

/// The op server alone, over each guest's devices.
struct Server {
    bus: SimBus,
    devices: [GuestDevices; 2],
    interrupts: [FakeInterrupts; 2],
    /// Ops answered and failed, as the server's turns counted them.
    counted: [(u64, u64); 2],
}

/// What serves the guests' pages.
enum Engine {
    Whole(Whole),
    /// Boxed: the two guests' devices and interrupts outweigh the handle on
    /// the whole backend.
    Server(Box<Server>),
}

/// The simulated machine and what the fuzzer checks it against.
struct Machine {
    engine: Engine,
    pages: [Arc<PageFrame>; 2],
    /// What each guest last wrote to its page.
    shadows: [Box<PageFrame>; 2],
    reference_bus: SimBus,
    references: [Reference; 2],
    targets: [Targets; 2],
    /// Configuration accesses since the last step.
    accesses: Arc<Mutex<Vec<ConfigAccessEvent>>>,
    /// Ops answered and failed, per guest, since connecting.
    answered: [(u64, u64); 2],
    /// The backend's counters once both guests were connected.
    baseline: [(u64, u64); 2],
    /// The whole backend maps MSI and MSI-X through `FakeXen`, which
    /// numbers PIRQs its own way: for each guest, the backend's PIRQ for
    /// each of the reference's.
    pirq_names: [std::collections::BTreeMap<u32, u32>; 2],
}

/// Logs every access to `bus` into `log`.
fn observe(bus: &SimBus, log: &Arc<Mutex<Vec<ConfigAccessEvent>>>) {
    let log = Arc::clone(log);
    bus.observe(Some(Arc::new(move |event: &ConfigAccessEvent| {
        lock(&log).push(*event);
    })));
}

/// Each guest's devices (from `taken`, in the order of its `dev-N`) and
/// the guest addresses each can aim at.
fn guest_devices(
    mut taken: Vec<Device>,
    options: Options,
    permissive_a: bool,
) -> ([GuestDevices; 2], [Targets; 2]) {
    let mut give = |who: Who, permissive: bool| {
        let mut devices = GuestDevices::new(options.topology, options.permissive);
        for &function in who.functions() {
            let index = taken
                .iter()
                .position(|device| device.address() == function)
                .expect("fuzz machine: function not taken");
            let mut device = taken.swap_remove(index);
            if permissive {
                device.set_permissive();
            }
            devices
                .add(device)
                .unwrap_or_else(|refused| panic!("fuzz machine: {refused}"));
        }
        devices
    };
    let devices = [give(Who::A, permissive_a), give(Who::B, false)];
    let guest = |devices: &GuestDevices| -> Vec<(u32, u32, u32)> {
        devices
            .exports()
            .iter()
            .map(|export| {
                let a = export.guest.0;
                (a.segment().into(), a.bus().into(), a.devfn().into())
            })
            .collect()
    };
    let targets = [Who::A, Who::B].map(|who| Targets {
        own: guest(&devices[who.index()]),
        other: guest(&devices[who.other().index()]),
    });
    (devices, targets)
}

/// Each guest's PIRQs, numbered as `SimPlatform` numbers them.
fn pirqs() -> [FakeInterrupts; 2] {
    [
        FakeInterrupts::new(PIRQS_PER_FRONTEND),
        FakeInterrupts::new(2 * PIRQS_PER_FRONTEND),
    ]
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Machine {
    /// The whole backend serving two connected guests.
    fn whole(options: Options, permissive_a: bool) -> Self {
        let (bus, pool) = taken_bus();
        let accesses = Arc::new(Mutex::new(Vec::new()));
        observe(&bus, &accesses);
        let world = SimWorld::new();
        world.add_domain(BACKEND);
        let platform = SimPlatform::new(&world, BACKEND, bus);
        let backend = Rc::new(Backend::new(world.store(BACKEND), platform, pool, options));
        let toolstack = Toolstack::new(&world, BACKEND);
        let mut executor = SimExecutor::new(&world);
        let running = Rc::clone(&backend);
        executor.spawn(async move { running.run().await });
        executor.run_until_idle();
        let mut connect = |who: Who, permissive: bool| {
            world.add_domain(who.domid());
            let devices: Vec<PciDevice> = who
                .functions()
                .iter()
                .map(|&at| PciDevice {
                    permissive,
                    ..PciDevice::new(at)
                })
                .collect();
            toolstack.attach(who.domid(), &devices);
            let front = SimPcifront::new(&world, who.domid());
            front.skip_scan();
            executor.spawn(Rc::clone(&front).run());
            executor.run_until_idle();
            assert_eq!(
                toolstack.backend_state(who.domid()),
                Some(XenbusState::Connected),
                "fuzz machine: {who:?} did not connect: {:?}",
                toolstack.backend_error(who.domid())
            );
            front
        };
        let fronts = [connect(Who::A, permissive_a), connect(Who::B, false)];
        let pages = fronts
            .each_ref()
            .map(|front| front.shared_page().expect("fuzz machine: no shared page"));
        let engine = Engine::Whole(Whole {
            world,
            executor,
            backend,
            fronts,
        });
        Self::checked(engine, pages, accesses, options, permissive_a)
    }

    /// The op server over each guest's devices, pages zeroed but for
    /// `XEN_PCIB_AERHANDLER`, as pcifront leaves them.
    fn server(options: Options, permissive_a: bool) -> Self {
        let (bus, taken) = taken_bus();
        let accesses = Arc::new(Mutex::new(Vec::new()));
        observe(&bus, &accesses);
        let (devices, _) = guest_devices(taken, options, permissive_a);
        let pages = [(); 2].map(|()| {
            let page = Arc::new(PageFrame::default());
            SharedPage::new(&page)
                .write_u32(FLAGS_OFFSET, XEN_PCIB_AERHANDLER)
                .expect("the flags word is in the page");
            page
        });
        let engine = Engine::Server(Box::new(Server {
            bus,
            devices,
            interrupts: pirqs(),
            counted: [(0, 0); 2],
        }));
        Self::checked(engine, pages, accesses, options, permissive_a)
    }

    /// `engine` serving `pages`, with its reference.
    fn checked(
        engine: Engine,
        pages: [Arc<PageFrame>; 2],
        accesses: Arc<Mutex<Vec<ConfigAccessEvent>>>,
        options: Options,
        permissive_a: bool,
    ) -> Self {
        let shadows = pages.each_ref().map(|page| {
            let shadow = Box::new(PageFrame::default());
            copy_page(page, &shadow);
            shadow
        });
        // The reference: the same functions, taken the same way, given to
        // each guest in the order of its `dev-N`; PIRQs numbered as the
        // platform numbers each frontend's (A probed first).
        let (reference_bus, taken) = taken_bus();
        let (devices, targets) = guest_devices(taken, options, permissive_a);
        let [a, b] = devices;
        let [pirqs_a, pirqs_b] = pirqs();
        let references = [
            Reference {
                devices: a,
                interrupts: pirqs_a,
            },
            Reference {
                devices: b,
                interrupts: pirqs_b,
            },
        ];
        let mut machine = Self {
            engine,
            pages,
            shadows,
            reference_bus,
            references,
            targets,
            accesses,
            answered: [(0, 0); 2],
            baseline: [(0, 0); 2],
            pirq_names: Default::default(),
        };
        machine.baseline = [Who::A, Who::B].map(|who| machine.counters(who));
        lock(&machine.accesses).clear();
        machine
    }

    /// The bus the guests' functions are on.
    fn bus(&self) -> &SimBus {
        match &self.engine {
            Engine::Whole(whole) => whole.backend.platform().bus(),
            Engine::Server(server) => &server.bus,
        }
    }

    fn page(&self, who: Who) -> SharedPage<'_> {
        SharedPage::new(&self.pages[who.index()])
    }

    fn shadow(&self, who: Who) -> SharedPage<'_> {
        SharedPage::new(&self.shadows[who.index()])
    }

    fn flags(&self, who: Who) -> u32 {
        self.page(who)
            .atomic_u32(FLAGS_OFFSET)
            .map(|flags| flags.load(Ordering::Acquire))
            .expect("the flags word is in the page")
    }

    /// Writes `bytes` at `offset` of `who`'s page, as the guest does
    /// (flags included, atomically where they are).
    fn scribble(&self, who: Who, offset: usize, bytes: &[u8]) {
        for view in [self.page(who), self.shadow(who)] {
            for (index, byte) in bytes.iter().enumerate() {
                let Some(at) = offset.checked_add(index).filter(|&at| at < PAGE_SIZE) else {
                    break;
                };
                view.write_bytes(at, &[*byte])
                    .expect("a byte inside the page");
            }
        }
    }

    /// Posts `op` into `who`'s page: the op, then the active bit (Release),
    /// then the event, as pcifront's `do_pci_op` does.
    fn post(&self, who: Who, op: &XenPciOp) {
        self.shadow(who)
            .write(OP_OFFSET, op)
            .expect("the op is in the page");
        let shadow_flags = self
            .shadow(who)
            .atomic_u32(FLAGS_OFFSET)
            .expect("the flags word is in the page");
        shadow_flags.fetch_or(XEN_PCIF_ACTIVE, Ordering::Relaxed);
        match &self.engine {
            Engine::Whole(whole) => assert!(
                whole.fronts[who.index()].post(op),
                "{who:?}: the page is gone"
            ),
            Engine::Server(_) => {
                let page = self.page(who);
                page.write(OP_OFFSET, op).expect("the op is in the page");
                page.atomic_u32(FLAGS_OFFSET)
                    .expect("the flags word is in the page")
                    .fetch_or(XEN_PCIF_ACTIVE, Ordering::Release);
            }
        }
    }

    /// Sends `who`'s event with nothing posted (the op server looks at
    /// every page each round anyway).
    fn notify(&self, who: Who) {
        if let Engine::Whole(whole) = &self.engine {
            let (_, port) = whole.fronts[who.index()]
                .published()
                .expect("a connected frontend");
            let guest = whole.world.xen().domain(who.domid());
            event_channel::send(&guest, port).expect("the guest's port is bound");
        }
    }

    /// Runs the machine until nothing more can happen (virtual time too).
    fn settle(&mut self) {
        match &mut self.engine {
            Engine::Whole(whole) => whole.executor.run_until_idle(),
            Engine::Server(_) => while self.round() {},
        }
    }

    /// One turn: of the executor, or of the op server over both pages.
    fn turn(&mut self) {
        match &mut self.engine {
            Engine::Whole(whole) => whole.executor.block_on(YieldOnce(false)),
            Engine::Server(_) => {
                self.round();
            }
        }
    }

    /// The op server's round: each page served once, [`BUDGET`] ops at
    /// most, as the backend serves a frontend woken by its event. Returns
    /// whether any op was answered.
    fn round(&mut self) -> bool {
        self.round_flooding(None)
    }

    /// A round in which `flood`'s guest posts its op again the moment it
    /// is notified, while ops remain (a second vCPU racing the server),
    /// each answer recorded before the repost overwrites it.
    fn round_flooding(&mut self, mut flood: Option<&mut Flooding>) -> bool {
        let Engine::Server(server) = &mut self.engine else {
            return false;
        };
        let mut any = false;
        for who in [Who::A, Who::B] {
            let index = who.index();
            let page = SharedPage::new(&self.pages[index]);
            let mut notified = 0_u32;
            let mut flooding = flood.as_deref_mut().filter(|f| f.who == who);
            let turn = at_once(pciback::xenbus::serve(
                page,
                &mut server.devices[index],
                &server.bus,
                &mut server.interrupts[index],
                &FakeDelay::new(),
                pciback::xenbus::Limits {
                    budget: BUDGET,
                    reads_at_once: false,
                },
                &mut || {
                    notified += 1;
                    if let Some(flood) = flooding.as_deref_mut() {
                        flood
                            .answers
                            .push(page.read(OP_OFFSET).expect("the op is in the page"));
                        if flood.remaining > 0 {
                            flood.remaining -= 1;
                            page.write(OP_OFFSET, &flood.op)
                                .expect("the op is in the page");
                            page.atomic_u32(FLAGS_OFFSET)
                                .expect("the flags word is in the page")
                                .fetch_or(XEN_PCIF_ACTIVE, Ordering::Release);
                        }
                    }
                },
            ));
            assert!(turn.answered <= BUDGET, "{who:?}: {turn:?} over budget");
            assert_eq!(notified, turn.answered, "{who:?}: a notify per answer");
            assert!(turn.failed <= turn.answered);
            let waiting = page
                .atomic_u32(FLAGS_OFFSET)
                .expect("the flags word is in the page")
                .load(Ordering::Acquire)
                & XEN_PCIF_ACTIVE
                != 0;
            assert_eq!(
                turn.more, waiting,
                "{who:?}: {turn:?} but waiting {waiting}"
            );
            let counted = &mut server.counted[index];
            counted.0 += u64::from(turn.answered);
            counted.1 += u64::from(turn.failed);
            any |= turn.answered > 0;
        }
        any
    }

    /// The server's (ops, failed ops) for `who`.
    fn counters(&self, who: Who) -> (u64, u64) {
        let whole = match &self.engine {
            Engine::Whole(whole) => whole,
            Engine::Server(server) => return server.counted[who.index()],
        };
        let status = whole
            .backend
            .frontends()
            .into_iter()
            .find(|status| status.key.domid == who.domid())
            .unwrap_or_else(|| panic!("{who:?}: the backend forgot the frontend"));
        assert_eq!(
            (status.state, status.error.as_deref()),
            (XenbusState::Connected, None),
            "{who:?} is no longer served"
        );
        (status.ops, status.failed_ops)
    }

    /// The answer the op path must give `op` from `who` (the reference).
    fn expected(&mut self, who: Who, op: &XenPciOp) -> (i32, u32, Vec<u16>) {
        let mut copy = *op;
        let reference = &mut self.references[who.index()];
        let reply = at_once(reference.devices.handle(
            &mut copy,
            &self.reference_bus,
            &mut reference.interrupts,
            &FakeDelay::new(),
        ));
        let vectors = reply
            .msix_entries
            .iter()
            .map(|entry| entry.vector)
            .collect();
        (reply.err, reply.value, vectors)
    }

    /// The backend's name for the reference's PIRQ `reference` of `who`,
    /// which it answered as `answered`: the first time, `answered` must be
    /// a PIRQ Xen mapped into that guest for an MSI and no other's name;
    /// after, the same.
    fn pirq_name(&mut self, who: Who, reference: u32, answered: u32) -> u32 {
        let Engine::Whole(whole) = &self.engine else {
            return reference;
        };
        let names = &mut self.pirq_names[who.index()];
        if let Some(&name) = names.get(&reference) {
            return name;
        }
        let domid = match who {
            Who::A => 2,
            Who::B => 3,
        };
        assert!(
            matches!(
                whole.world.xen().pirqs(domid).get(&answered),
                Some(xen::sim::FakePirq::Msi { .. })
            ),
            "{who:?}: answered PIRQ {answered}, which Xen did not map into it for an MSI"
        );
        assert!(
            !names.values().any(|&name| name == answered),
            "{who:?}: PIRQ {answered} answered for two of the reference's"
        );
        names.insert(reference, answered);
        answered
    }

    /// Checks `who`'s answer to `op` (posted, now answered) against the
    /// reference, and the page against what the guest wrote.
    fn check_answer(&mut self, who: Who, op: &XenPciOp) {
        assert_eq!(
            self.flags(who) & XEN_PCIF_ACTIVE,
            0,
            "{who:?}: op {op:?} was never answered"
        );
        let (err, mut value, mut vectors) = self.expected(who, op);
        if err == 0 && matches!(self.engine, Engine::Whole(_)) {
            let answer: XenPciOp = self.page(who).read(OP_OFFSET).expect("the op");
            if op.cmd == XEN_PCI_OP_ENABLE_MSI {
                value = self.pirq_name(who, value, answer.value);
            }
            for (vector, answered) in vectors.iter_mut().zip(answer.msix_entries) {
                let name = self.pirq_name(who, u32::from(*vector), u32::from(answered.vector));
                *vector = u16::try_from(name).expect("a vector is 16 bits");
            }
        }
        assert!(LINUX_CODES.contains(&err), "err {err} is not Linux's");
        if op.cmd == XEN_PCI_OP_CONF_READ && err == 0 {
            let bits = u32::try_from(op.size).unwrap_or(0).saturating_mul(8);
            assert!(
                bits == 32 || value >> bits == 0,
                "a {}-byte read answered {value:#x}",
                op.size
            );
        }
        if !vectors.is_empty() {
            assert_eq!(op.cmd, XEN_PCI_OP_ENABLE_MSIX, "vectors for {op:?}");
            assert!(vectors.len() <= SH_INFO_MAX_VEC);
        }
        // What the page must hold: the guest's last image, then the result
        // fields, and the active bit clear.
        let shadow = self.shadow(who);
        shadow
            .write(OP_OFFSET + std::mem::offset_of!(XenPciOp, err), &err)
            .expect("err is in the page");
        shadow
            .write(OP_OFFSET + std::mem::offset_of!(XenPciOp, value), &value)
            .expect("value is in the page");
        for (index, vector) in vectors.iter().enumerate() {
            let at = OP_OFFSET
                + std::mem::offset_of!(XenPciOp, msix_entries)
                + index * size_of::<XenMsixEntry>()
                + std::mem::offset_of!(XenMsixEntry, vector);
            shadow.write(at, vector).expect("the entry is in the page");
        }
        shadow
            .atomic_u32(FLAGS_OFFSET)
            .expect("the flags word is in the page")
            .fetch_and(!XEN_PCIF_ACTIVE, Ordering::Relaxed);
        let (got, want) = (
            shared_words(&self.pages[who.index()]),
            shared_words(&self.shadows[who.index()]),
        );
        if got != want {
            let changed: Vec<usize> = (0..SHARED_WORDS)
                .filter(|&i| got[i] != want[i])
                .map(|i| i * 4)
                .collect();
            let answer: XenPciOp = self.page(who).read(OP_OFFSET).expect("the op");
            panic!(
                "{who:?}: the page differs at {changed:?} from the guest's writes and \
                 the reference answer (err {err}, value {value:#x}, vectors {vectors:?}); \
                 backend answered err {} value {:#x} to {op:?}",
                answer.err, answer.value
            );
        }
        let count = &mut self.answered[who.index()];
        count.0 += 1;
        if err != 0 {
            count.1 += 1;
        }
    }

    /// Checks that the accesses since the last check reached only the
    /// functions of `in_flight`, then forgets them.
    fn check_accesses(&self, in_flight: &[Who]) {
        let accesses = std::mem::take(&mut *lock(&self.accesses));
        for access in accesses {
            let allowed = in_flight
                .iter()
                .any(|who| who.functions().contains(&access.address));
            assert!(
                allowed,
                "{access:?} reached a function no guest in flight ({in_flight:?}) owns"
            );
        }
    }

    /// Checks the backend still serves both guests and counted what they
    /// were answered.
    fn check_served(&self) {
        for who in [Who::A, Who::B] {
            let (ops, failed) = self.counters(who);
            let (base_ops, base_failed) = self.baseline[who.index()];
            let (answered, answered_failed) = self.answered[who.index()];
            assert_eq!(
                (ops - base_ops, failed - base_failed),
                (answered, answered_failed),
                "{who:?}: the backend's counters disagree with the answers"
            );
        }
        if let Engine::Whole(whole) = &self.engine {
            assert_eq!(whole.backend.free_devices(), [POOL], "the pool changed");
        }
    }
}

/// Copies `from` into `to`, byte for byte.
fn copy_page(from: &PageFrame, to: &PageFrame) {
    let mut bytes = [0; PAGE_SIZE];
    SharedPage::new(from)
        .read_bytes(0, &mut bytes)
        .expect("the page");
    SharedPage::new(to)
        .write_bytes(0, &bytes)
        .expect("the page");
}

/// An op as a hostile guest writes it: numbers the backend knows and
/// numbers it does not, its own functions, the other guest's, and any.
fn op(u: &mut Unstructured<'_>, targets: &Targets) -> arbitrary::Result<XenPciOp> {
    let cmd = match u.int_in_range(0..=15)? {
        small @ 0..=10 => small,
        11..=13 => u32::from(u.int_in_range(0..=1_u8)?),
        _ => u.arbitrary()?,
    };
    let pick = |u: &mut Unstructured<'_>, list: &[(u32, u32, u32)]| -> arbitrary::Result<_> {
        Ok(if list.is_empty() {
            (0, 0, 0)
        } else {
            *u.choose(list)?
        })
    };
    let (domain, bus, devfn) = match u.int_in_range(0..=7)? {
        0..=3 => pick(u, &targets.own)?,
        4 => pick(u, &targets.other)?,
        // Real addresses: what passthrough shows, and the pool's.
        5 => {
            let real = *u.choose(&[A0, A1, B0, POOL, UNTAKEN])?;
            (
                real.segment().into(),
                real.bus().into(),
                real.devfn().into(),
            )
        }
        6 => (0, u.int_in_range(0..=2)?, u.int_in_range(0..=0xff)?),
        _ => (u.arbitrary()?, u.arbitrary()?, u.arbitrary()?),
    };
    let size = match u.int_in_range(0..=7)? {
        0..=1 => 1,
        2..=3 => 2,
        4..=5 => 4,
        _ => u.arbitrary()?,
    };
    let offset = match u.int_in_range(0..=7)? {
        0..=5 => {
            let offset: i32 = u.int_in_range(0..=0x10ff)?;
            if u.ratio(3, 4)? && size > 0 {
                offset - offset % size
            } else {
                offset
            }
        }
        _ => u.arbitrary()?,
    };
    let value = match u.int_in_range(0..=3)? {
        0 => u.int_in_range(0..=0x20)?,
        1 => u32::MAX,
        _ => u.arbitrary()?,
    };
    let mut msix_entries = [XenMsixEntry::default(); SH_INFO_MAX_VEC];
    let entries = u.int_in_range(0..=SH_INFO_MAX_VEC)?.min(u.len() / 2);
    for entry in msix_entries.iter_mut().take(entries) {
        *entry = XenMsixEntry {
            vector: u.arbitrary()?,
            entry: if u.ratio(3, 4)? {
                u.int_in_range(0..=9)?
            } else {
                u.arbitrary()?
            },
        };
    }
    Ok(XenPciOp {
        cmd,
        err: u.arbitrary()?,
        domain,
        bus,
        devfn,
        offset,
        size,
        value,
        info: u.arbitrary()?,
        msix_entries,
    })
}

/// Bytes a guest writes over its page: mostly over the op and the flags.
fn patch(u: &mut Unstructured<'_>) -> arbitrary::Result<(usize, Vec<u8>)> {
    let end = AER_OP_OFFSET + size_of::<XenPcieAerOp>();
    let offset = if u.ratio(7, 8)? {
        u.int_in_range(0..=end)?
    } else {
        u.int_in_range(0..=PAGE_SIZE - 1)?
    };
    let len = u.int_in_range(1..=64)?;
    Ok((offset, u.bytes(len.min(u.len()))?.to_vec()))
}

/// A guest reposting its op from the server's notify (op server only).
struct Flooding {
    who: Who,
    op: XenPciOp,
    /// Reposts still to make.
    remaining: u32,
    /// Each answer, as the page held it when the guest was notified.
    answers: Vec<XenPciOp>,
}

/// One thing the guests do.
enum Step {
    /// One guest posts an op.
    Op(Who, XenPciOp),
    /// Both post one, before the backend runs.
    Both(XenPciOp, XenPciOp),
    /// A guest posts an op and, at the `nth` configuration access the
    /// backend makes for it (after it copied the op), rewrites its page.
    Rewrite(Who, XenPciOp, usize, Vec<(usize, Vec<u8>)>),
    /// An event with nothing posted.
    Spurious(Who),
    /// An op posted and taken back (the bit cleared) before the backend ran.
    Retract(Who, XenPciOp),
    /// A guest posts `count` ops back to back, each the moment the last is
    /// answered, while the other posts one.
    Flood(Who, XenPciOp, u32, XenPciOp),
    /// A guest writes the AER half of its page and the `XEN_PCIB_*` bits.
    /// With an AER engine, this is where the guest's answers to the
    /// backend's `aer_op` go (`_XEN_PCIB_active` cleared, `err` set).
    Aer(Who, XenPcieAerOp, u32),
}

fn step(u: &mut Unstructured<'_>, machine: &Machine) -> arbitrary::Result<Step> {
    let who = if u.arbitrary()? { Who::B } else { Who::A };
    let targets = &machine.targets[who.index()];
    Ok(match u.int_in_range(0..=15)? {
        0..=6 => Step::Op(who, op(u, targets)?),
        7..=8 => {
            let a = op(u, &machine.targets[0])?;
            Step::Both(a, op(u, &machine.targets[1])?)
        }
        9..=11 => {
            let op = op(u, targets)?;
            let nth = u.int_in_range(0..=40)?;
            let count = u.int_in_range(1..=3)?;
            let patches = (0..count)
                .map(|_| patch(u))
                .collect::<arbitrary::Result<_>>()?;
            Step::Rewrite(who, op, nth, patches)
        }
        12 => Step::Spurious(who),
        13 => Step::Retract(who, op(u, targets)?),
        14 => {
            let flood = op(u, targets)?;
            let count = u.int_in_range(1..=48)?;
            Step::Flood(
                who,
                flood,
                count,
                op(u, &machine.targets[who.other().index()])?,
            )
        }
        _ => Step::Aer(
            who,
            XenPcieAerOp {
                cmd: u.arbitrary()?,
                err: u.arbitrary()?,
                domain: u.arbitrary()?,
                bus: u.arbitrary()?,
                devfn: u.arbitrary()?,
            },
            u.arbitrary()?,
        ),
    })
}

fn run_step(machine: &mut Machine, step: Step) {
    match step {
        Step::Op(who, op) => {
            machine.post(who, &op);
            machine.settle();
            machine.check_accesses(&[who]);
            machine.check_answer(who, &op);
        }
        Step::Both(a, b) => {
            machine.post(Who::A, &a);
            machine.post(Who::B, &b);
            machine.settle();
            machine.check_accesses(&[Who::A, Who::B]);
            machine.check_answer(Who::A, &a);
            machine.check_answer(Who::B, &b);
        }
        Step::Rewrite(who, op, nth, patches) => {
            let page = Arc::clone(&machine.pages[who.index()]);
            let seen = Arc::new(Mutex::new(0_usize));
            let patches = Arc::new(patches);
            let accesses = Arc::clone(&machine.accesses);
            let (to_page, to_log) = (Arc::clone(&patches), Arc::clone(&seen));
            machine
                .bus()
                .observe(Some(Arc::new(move |event: &ConfigAccessEvent| {
                    lock(&accesses).push(*event);
                    let mut seen = lock(&to_log);
                    if *seen == nth {
                        for (offset, bytes) in to_page.iter() {
                            write_raw(&page, *offset, bytes);
                        }
                    }
                    *seen += 1;
                })));
            machine.post(who, &op);
            machine.settle();
            let fired = *lock(&seen) > nth;
            observe(machine.bus(), &machine.accesses);
            if fired {
                for (offset, bytes) in patches.iter() {
                    // The page already has them: only the shadow learns.
                    write_raw(&machine.shadows[who.index()], *offset, bytes);
                }
            }
            machine.check_accesses(&[who]);
            machine.check_answer(who, &op);
        }
        Step::Spurious(who) => {
            let before = shared_words(&machine.pages[who.index()]);
            machine.notify(who);
            machine.settle();
            machine.check_accesses(&[]);
            assert!(
                before == shared_words(&machine.pages[who.index()]),
                "{who:?}: an event with no op changed the page"
            );
        }
        Step::Retract(who, op) => {
            machine.post(who, &op);
            let flags = machine
                .page(who)
                .atomic_u32(FLAGS_OFFSET)
                .expect("the flags word is in the page");
            flags.fetch_and(!XEN_PCIF_ACTIVE, Ordering::SeqCst);
            machine
                .shadow(who)
                .atomic_u32(FLAGS_OFFSET)
                .expect("the flags word is in the page")
                .fetch_and(!XEN_PCIF_ACTIVE, Ordering::SeqCst);
            let before = shared_words(&machine.pages[who.index()]);
            machine.settle();
            machine.check_accesses(&[]);
            assert!(
                before == shared_words(&machine.pages[who.index()]),
                "{who:?}: an op taken back was answered"
            );
        }
        Step::Flood(who, flood, count, single) if matches!(machine.engine, Engine::Server(_)) => {
            let other = who.other();
            machine.post(who, &flood);
            machine.post(other, &single);
            let mut flooding = Flooding {
                who,
                op: flood,
                remaining: count - 1,
                answers: Vec::new(),
            };
            machine.round_flooding(Some(&mut flooding));
            // The other guest is answered in the round the flood began: the
            // flooder had its budget, no more.
            assert_eq!(
                machine.flags(other) & XEN_PCIF_ACTIVE,
                0,
                "{other:?} waits behind {who:?}'s flood"
            );
            while machine.round_flooding(Some(&mut flooding)) {}
            let answers = std::mem::take(&mut flooding.answers);
            assert_eq!(answers.len(), count as usize, "{who:?}: flood answers");
            // Every answer but the last was overwritten by the next post:
            // check each as recorded, the last in the page.
            for answer in answers.iter().take(answers.len().saturating_sub(1)) {
                let (err, value, vectors) = machine.expected(who, &flood);
                assert!(LINUX_CODES.contains(&err), "err {err} is not Linux's");
                assert_eq!(
                    (answer.err, answer.value),
                    (err, value),
                    "{who:?}: flood answer"
                );
                for (entry, vector) in answer.msix_entries.iter().zip(&vectors) {
                    assert_eq!(entry.vector, *vector, "{who:?}: flood vectors");
                }
                let count = &mut machine.answered[who.index()];
                count.0 += 1;
                if err != 0 {
                    count.1 += 1;
                }
            }
            machine.check_accesses(&[Who::A, Who::B]);
            machine.check_answer(who, &flood);
            machine.check_answer(other, &single);
        }
        Step::Flood(who, flood, count, single) => {
            let other = who.other();
            machine.post(who, &flood);
            machine.post(other, &single);
            let mut remaining = count;
            let mut other_answered = false;
            let mut flood_answers_before_other = 0_u32;
            let mut idle_turns = 0;
            while remaining > 0 || !other_answered {
                machine.turn();
                let mut progressed = false;
                if remaining > 0 && machine.flags(who) & XEN_PCIF_ACTIVE == 0 {
                    machine.check_answer(who, &flood);
                    remaining -= 1;
                    if !other_answered {
                        flood_answers_before_other += 1;
                    }
                    if remaining > 0 {
                        machine.post(who, &flood);
                    }
                    progressed = true;
                }
                if !other_answered && machine.flags(other) & XEN_PCIF_ACTIVE == 0 {
                    machine.check_answer(other, &single);
                    other_answered = true;
                    progressed = true;
                }
                idle_turns = if progressed { 0 } else { idle_turns + 1 };
                if idle_turns > 10_000 {
                    // Let virtual time pass (a reset's wait), then look again.
                    machine.settle();
                    idle_turns = 0;
                    assert!(
                        machine.flags(who) & XEN_PCIF_ACTIVE == 0
                            || machine.flags(other) & XEN_PCIF_ACTIVE == 0,
                        "neither guest is answered"
                    );
                }
            }
            assert!(
                flood_answers_before_other <= 2 * BUDGET + 2,
                "{other:?} waited for {flood_answers_before_other} of {who:?}'s ops"
            );
            machine.check_accesses(&[Who::A, Who::B]);
        }
        Step::Aer(who, aer_op, bits) => {
            let mut bytes = Vec::with_capacity(size_of::<XenPcieAerOp>());
            for field in [
                aer_op.cmd,
                aer_op.err as u32,
                aer_op.domain,
                aer_op.bus,
                aer_op.devfn,
            ] {
                bytes.extend_from_slice(&field.to_le_bytes());
            }
            machine.scribble(who, AER_OP_OFFSET, &bytes);
            // The XEN_PCIB_* bits (AER handler, backend's AER op active),
            // never the frontend's active bit: no op is posted here.
            let set = bits & !XEN_PCIF_ACTIVE;
            for view in [machine.page(who), machine.shadow(who)] {
                let flags = view
                    .atomic_u32(FLAGS_OFFSET)
                    .expect("the flags word is in the page");
                flags.fetch_and(XEN_PCIF_ACTIVE, Ordering::SeqCst);
                flags.fetch_or(set, Ordering::SeqCst);
            }
            machine.notify(who);
            machine.settle();
            machine.check_accesses(&[]);
            assert!(
                shared_words(&machine.pages[who.index()])
                    == shared_words(&machine.shadows[who.index()]),
                "{who:?}: the backend wrote the AER half"
            );
        }
    }
    machine.check_served();
}

/// Writes `bytes` at `offset` of `frame`, as far as the page goes.
fn write_raw(frame: &PageFrame, offset: usize, bytes: &[u8]) {
    let view = SharedPage::new(frame);
    for (index, byte) in bytes.iter().enumerate() {
        let Some(at) = offset.checked_add(index).filter(|&at| at < PAGE_SIZE) else {
            break;
        };
        view.write_bytes(at, &[*byte])
            .expect("a byte inside the page");
    }
}

/// 32-bit words in a page.
const WORDS: usize = PAGE_SIZE / 4;
/// 32-bit words of `xen_pci_sharedinfo`, rounded up.
const SHARED_WORDS: usize = (AER_OP_OFFSET + size_of::<XenPcieAerOp>()).div_ceil(4);

/// The words of `xen_pci_sharedinfo` in the page: what is compared after
/// each answer (the whole page is, at the end of a run).
fn shared_words(frame: &PageFrame) -> [u32; SHARED_WORDS] {
    let view = SharedPage::new(frame);
    let mut words = [0; SHARED_WORDS];
    for (index, word) in words.iter_mut().enumerate() {
        *word = view.read_u32(index * 4).expect("a word inside the page");
    }
    words
}

/// The page, a word at a time (a quarter of the loads of byte copies:
/// the page is compared after every step).
fn page_words(frame: &PageFrame) -> Box<[u32; WORDS]> {
    let view = SharedPage::new(frame);
    let mut words = Box::new([0; WORDS]);
    for (index, word) in words.iter_mut().enumerate() {
        *word = view.read_u32(index * 4).expect("a word inside the page");
    }
    words
}

/// A future that is pending once (waking itself), then ready: one turn
/// of the executor.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// `op_path`: the op server over two guests' pages.
pub fn run(data: &[u8]) {
    drive(data, Machine::server);
}

/// `op_backend`: the whole backend serving two connected guests.
pub fn run_backend(data: &[u8]) {
    drive(data, Machine::whole);
}

/// Options, then steps on the machine `build` makes, every invariant
/// checked after each.
fn drive(data: &[u8], build: fn(Options, bool) -> Machine) {
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
        op_budget: BUDGET,
    };
    let mut machine = build(options, flags & 4 != 0);
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(step) = step(&mut u, &machine) else {
            break;
        };
        run_step(&mut machine, step);
    }
    // Nothing outside the op's result fields was ever written, anywhere
    // in either page.
    for who in [Who::A, Who::B] {
        assert!(
            page_words(&machine.pages[who.index()]) == page_words(&machine.shadows[who.index()]),
            "{who:?}: the page differs from the guest's writes and the answers"
        );
    }
    // The pool's function and the one never taken were never touched.
    let untouched = machine
        .bus()
        .writes()
        .into_iter()
        .all(|write| write.address != POOL && write.address != UNTAKEN);
    assert!(untouched, "the pool's or an untaken function was written");
}
