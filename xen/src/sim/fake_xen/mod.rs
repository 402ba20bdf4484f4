// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FakeXen`]: a simulated hypervisor with several domains.
//!
//! Each domain has a `shared_info`, 2-level event channels that connect
//! across domains, a grant table whose pages other domains can map, HVM
//! parameters, a console log, and the device-assignment state the hardware
//! domain manipulates. [`FakeDomain`] is one domain's [`Hypercall`] seam.
//! Every call is recorded, and failures can be injected per
//! `(hypercall, command)`. Semantics follow Xen 4.17 where the tests need
//! them; the doc comment of each operation says what is modelled.

mod devices;
mod event_channel;
mod grant_table;
mod platform;

pub use event_channel::raise_event;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use core::ptr::NonNull;

use crate::Errno;
use crate::abi::domctl::XenDomctl;
use crate::abi::event_channel::{EVTCHN_2L_NR_CHANNELS, EvtchnPort};
use crate::abi::grant_table::{GNTTAB_NR_RESERVED_ENTRIES, GrantHandle, GrantRef, GrantStatus};
use crate::abi::xen::{
    DOMID_SELF, DomId, HYPERVISOR_CONSOLE_IO, HYPERVISOR_DOMCTL, HYPERVISOR_EVENT_CHANNEL_OP,
    HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_HVM_OP, HYPERVISOR_MEMORY_OP, HYPERVISOR_PHYSDEV_OP,
    HYPERVISOR_SCHED_OP, HYPERVISOR_SET_TIMER_OP, HYPERVISOR_XEN_VERSION, SharedInfo,
};
use crate::grant::WindowMemory;
use crate::hypercall::Hypercall;
use crate::shared_page::PageFrame;

/// One hypercall as the fake saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The calling domain.
    pub domain: DomId,
    /// `__HYPERVISOR_*`.
    pub hypercall: u32,
    /// The command (first argument; for domctl, the struct's `cmd`).
    pub cmd: u32,
}

/// A failure to inject into the next matching call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// The hypercall returns this error and does nothing.
    Errno(Errno),
    /// A grant operation "succeeds" with this per-operation status and
    /// does nothing.
    GrantStatus(GrantStatus),
}

/// What a port is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortState {
    Free,
    Unbound {
        remote: DomId,
    },
    Interdomain {
        remote: DomId,
        remote_port: EvtchnPort,
    },
    Virq(u32),
}

#[derive(Debug)]
struct Grant {
    grantee: DomId,
    readonly: bool,
    page: Arc<PageFrame>,
    mappings: u32,
}

#[derive(Debug)]
struct Mapping {
    granter: DomId,
    gref: GrantRef,
    handle: GrantHandle,
    page: Arc<PageFrame>,
}

/// A mapped PIRQ and what it was mapped for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakePirq {
    /// `MAP_PIRQ_TYPE_GSI` of this GSI.
    Gsi(u32),
    /// MSI or MSI-X of this `(segment << 16 | bus << 8 | devfn)` and entry.
    Msi {
        /// The device.
        sbdf: u32,
        /// The MSI-X entry (0 for MSI).
        entry: u32,
        /// The `table_base` passed: the host address of the BAR holding
        /// the MSI-X table (Xen's `msix_capability_init` warns when it is
        /// not the BAR's base).
        table_base: u64,
    },
}

#[derive(Debug)]
struct Domain {
    shared: Arc<SharedInfo>,
    /// Index is the port number; port 0 is never handed out.
    ports: Vec<PortState>,
    grants: BTreeMap<GrantRef, Grant>,
    next_gref: GrantRef,
    /// Foreign grants mapped into this domain, by guest frame.
    maps: BTreeMap<u64, Mapping>,
    hvm_params: BTreeMap<u32, u64>,
    console: Vec<u8>,
    shutdown: Option<u32>,
    timer: Option<u64>,
    violations: Vec<&'static str>,
    shared_info_gfn: Option<u64>,
    assigned: Vec<u32>,
    iomem: Vec<(u64, u64)>,
    ioports: Vec<(u32, u32)>,
    irqs: Vec<u32>,
    pirqs: BTreeMap<u32, FakePirq>,
    mmcfg: Vec<(u64, u16, u8, u8)>,
    devices_added: Vec<(u16, u8, u8)>,
}

impl Domain {
    fn new() -> Self {
        Self {
            shared: Arc::new(SharedInfo::default()),
            ports: std::vec![PortState::Free],
            grants: BTreeMap::new(),
            next_gref: GNTTAB_NR_RESERVED_ENTRIES,
            maps: BTreeMap::new(),
            hvm_params: BTreeMap::new(),
            console: Vec::new(),
            shutdown: None,
            timer: None,
            violations: Vec::new(),
            shared_info_gfn: None,
            assigned: Vec::new(),
            iomem: Vec::new(),
            ioports: Vec::new(),
            irqs: Vec::new(),
            pirqs: BTreeMap::new(),
            mmcfg: Vec::new(),
            devices_added: Vec::new(),
        }
    }

    fn alloc_port(&mut self, state: PortState) -> Result<EvtchnPort, Errno> {
        let free = self
            .ports
            .iter()
            .skip(1)
            .position(|p| *p == PortState::Free)
            .map(|i| i + 1);
        let index = match free {
            Some(index) => index,
            None if self.ports.len() < EVTCHN_2L_NR_CHANNELS as usize => {
                self.ports.push(PortState::Free);
                self.ports.len() - 1
            }
            None => return Err(Errno::ENOSPC),
        };
        self.ports[index] = state;
        Ok(index as EvtchnPort)
    }

    fn port(&self, port: EvtchnPort) -> Result<PortState, Errno> {
        match self.ports.get(port as usize) {
            Some(PortState::Free) | None => Err(Errno::EINVAL),
            Some(state) if port != 0 => Ok(*state),
            Some(_) => Err(Errno::EINVAL),
        }
    }

    fn set_port(&mut self, port: EvtchnPort, state: PortState) {
        if let Some(slot) = self.ports.get_mut(port as usize) {
            *slot = state;
        }
    }
}

#[derive(Debug, Default)]
struct State {
    domains: BTreeMap<DomId, Domain>,
    calls: Vec<Call>,
    injected: Vec<(u32, u32, Injected)>,
    next_handle: GrantHandle,
    next_pirq: u32,
}

impl State {
    fn domain(&mut self, domid: DomId) -> Result<&mut Domain, Errno> {
        self.domains.get_mut(&domid).ok_or(Errno::ESRCH)
    }

    fn take_injection(&mut self, hypercall: u32, cmd: u32) -> Option<Injected> {
        let index = self
            .injected
            .iter()
            .position(|&(h, c, _)| h == hypercall && c == cmd)?;
        Some(self.injected.remove(index).2)
    }
}

/// A simulated Xen. Cheap to clone; clones share the same state.
#[derive(Clone, Debug, Default)]
pub struct FakeXen {
    state: Arc<Mutex<State>>,
}

impl FakeXen {
    /// A hypervisor with no domains.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates domain `domid` (if new) and returns its hypercall seam.
    pub fn add_domain(&self, domid: DomId) -> FakeDomain {
        self.lock().domains.entry(domid).or_insert_with(Domain::new);
        self.domain(domid)
    }

    /// The hypercall seam of domain `domid` (calls fail with `-ESRCH` if it
    /// does not exist).
    pub fn domain(&self, domid: DomId) -> FakeDomain {
        FakeDomain {
            xen: self.clone(),
            domid,
        }
    }

    /// Destroys `domid`: its interdomain peers' ports go back to unbound, as
    /// `evtchn_close` leaves them, and its grants vanish.
    pub fn remove_domain(&self, domid: DomId) {
        let mut state = self.lock();
        let Some(dead) = state.domains.remove(&domid) else {
            return;
        };
        for port in dead.ports {
            let PortState::Interdomain {
                remote,
                remote_port,
            } = port
            else {
                continue;
            };
            if let Some(peer) = state.domains.get_mut(&remote) {
                peer.set_port(remote_port, PortState::Unbound { remote: domid });
            }
        }
    }

    /// `domid`'s `shared_info`, as Xen writes it.
    pub fn shared_info(&self, domid: DomId) -> Option<Arc<SharedInfo>> {
        self.lock()
            .domains
            .get(&domid)
            .map(|d| Arc::clone(&d.shared))
    }

    /// `granter` grants a fresh zeroed page to `grantee` (as
    /// `gnttab_grant_foreign_access`); returns the reference and the page
    /// as the granter sees it.
    pub fn grant_page(
        &self,
        granter: DomId,
        grantee: DomId,
        readonly: bool,
    ) -> Option<(GrantRef, Arc<PageFrame>)> {
        let mut state = self.lock();
        let domain = state.domains.get_mut(&granter)?;
        let gref = domain.next_gref;
        domain.next_gref = gref.checked_add(1)?;
        let page = Arc::new(PageFrame::default());
        domain.grants.insert(
            gref,
            Grant {
                grantee,
                readonly,
                page: Arc::clone(&page),
                mappings: 0,
            },
        );
        Some((gref, page))
    }

    /// `granter` ends access to `gref`; refused (`false`) while it is mapped,
    /// like `gnttab_end_foreign_access_ref`.
    pub fn end_access(&self, granter: DomId, gref: GrantRef) -> bool {
        let mut state = self.lock();
        let Some(domain) = state.domains.get_mut(&granter) else {
            return false;
        };
        match domain.grants.get(&gref) {
            Some(grant) if grant.mappings == 0 => domain.grants.remove(&gref).is_some(),
            _ => false,
        }
    }

    /// How many mappings of `granter`'s `gref` exist.
    pub fn mapping_count(&self, granter: DomId, gref: GrantRef) -> u32 {
        let state = self.lock();
        state
            .domains
            .get(&granter)
            .and_then(|d| d.grants.get(&gref))
            .map_or(0, |g| g.mappings)
    }

    /// The guest frames of `domid` holding foreign grant mappings.
    pub fn mapped_frames(&self, domid: DomId) -> Vec<u64> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.maps.keys().copied().collect())
    }

    /// Things `domid` did that would have made real Xen crash it.
    pub fn violations(&self, domid: DomId) -> Vec<&'static str> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.violations.clone())
    }

    /// Every hypercall so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many `(hypercall, cmd)` calls were made.
    pub fn count(&self, hypercall: u32, cmd: u32) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.hypercall == hypercall && c.cmd == cmd)
            .count()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Makes the next `(hypercall, cmd)` call, by any domain, fail with `failure`.
    pub fn fail_next(&self, hypercall: u32, cmd: u32, failure: Injected) {
        self.lock().injected.push((hypercall, cmd, failure));
    }

    /// Sets an HVM parameter of `domid` (as the toolstack does for
    /// `HVM_PARAM_STORE_PFN` and friends).
    pub fn set_hvm_param(&self, domid: DomId, index: u32, value: u64) {
        if let Some(domain) = self.lock().domains.get_mut(&domid) {
            domain.hvm_params.insert(index, value);
        }
    }

    /// An HVM parameter of `domid`.
    pub fn hvm_param(&self, domid: DomId, index: u32) -> Option<u64> {
        self.lock()
            .domains
            .get(&domid)
            .and_then(|d| d.hvm_params.get(&index).copied())
    }

    /// What `domid` wrote with `CONSOLEIO_write`.
    pub fn console_output(&self, domid: DomId) -> Vec<u8> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.console.clone())
    }

    /// The `SHUTDOWN_*` reason `domid` gave, if it shut down.
    pub fn shutdown_reason(&self, domid: DomId) -> Option<u32> {
        self.lock().domains.get(&domid).and_then(|d| d.shutdown)
    }

    /// The system time `domid`'s one-shot timer is set for, if set.
    pub fn timer(&self, domid: DomId) -> Option<u64> {
        self.lock().domains.get(&domid).and_then(|d| d.timer)
    }

    /// Where `domid` mapped its `shared_info`.
    pub fn shared_info_gfn(&self, domid: DomId) -> Option<u64> {
        self.lock()
            .domains
            .get(&domid)
            .and_then(|d| d.shared_info_gfn)
    }

    /// Devices (`machine_sbdf`) assigned to `domid`.
    pub fn assigned_devices(&self, domid: DomId) -> Vec<u32> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.assigned.clone())
    }

    /// Machine frame ranges `(first, count)` `domid` may access.
    pub fn iomem_ranges(&self, domid: DomId) -> Vec<(u64, u64)> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.iomem.clone())
    }

    /// I/O port ranges `(first, count)` `domid` may access.
    pub fn ioport_ranges(&self, domid: DomId) -> Vec<(u32, u32)> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.ioports.clone())
    }

    /// PIRQs `domid` may access through `irq_permission`.
    pub fn irq_permissions(&self, domid: DomId) -> Vec<u32> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.irqs.clone())
    }

    /// PIRQs mapped into `domid`.
    pub fn pirqs(&self, domid: DomId) -> BTreeMap<u32, FakePirq> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(BTreeMap::new, |d| d.pirqs.clone())
    }

    /// ECAM ranges `(address, segment, start_bus, end_bus)` `domid` reported.
    pub fn mmcfg_reserved(&self, domid: DomId) -> Vec<(u64, u16, u8, u8)> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.mmcfg.clone())
    }

    /// Devices `(segment, bus, devfn)` `domid` registered with `pci_device_add`.
    pub fn devices_added(&self, domid: DomId) -> Vec<(u16, u8, u8)> {
        self.lock()
            .domains
            .get(&domid)
            .map_or_else(Vec::new, |d| d.devices_added.clone())
    }

    /// Raises virtual IRQ `virq` for `domid`, if it bound a port to it.
    pub fn raise_virq(&self, domid: DomId, virq: u32) {
        let state = self.lock();
        let Some(domain) = state.domains.get(&domid) else {
            return;
        };
        if let Some(port) = domain
            .ports
            .iter()
            .position(|p| *p == PortState::Virq(virq))
        {
            raise_event(&domain.shared, 0, port as EvtchnPort);
        }
    }

    /// The window memory of `domid`: where its grant mappings can be read.
    pub fn window_memory(&self, domid: DomId) -> FakeWindowMemory {
        FakeWindowMemory {
            xen: self.clone(),
            domid,
        }
    }
}

/// One domain's view of [`FakeXen`]: its hypercall seam.
#[derive(Clone, Debug)]
pub struct FakeDomain {
    xen: FakeXen,
    domid: DomId,
}

impl FakeDomain {
    /// The domain id.
    pub fn domid(&self) -> DomId {
        self.domid
    }
}

/// The [`WindowMemory`] of a [`FakeXen`] domain: a mapped frame reads and
/// writes the granter's page.
#[derive(Clone, Debug)]
pub struct FakeWindowMemory {
    xen: FakeXen,
    domid: DomId,
}

// SAFETY: the pointer is to the granter's `PageFrame`, which `FakeXen` keeps
// alive (grants and mappings hold an `Arc`, and pages are kept until the
// mapping is gone); it is 4096-aligned and only accessed atomically.
unsafe impl WindowMemory for FakeWindowMemory {
    fn frame(&self, gfn: u64) -> Option<NonNull<u8>> {
        let state = self.xen.lock();
        let mapping = state.domains.get(&self.domid)?.maps.get(&gfn)?;
        Some(NonNull::from(&*mapping.page).cast())
    }
}

/// The argument at `address`, lent for the duration of a hypercall.
///
/// # Safety
///
/// A non-zero `address` must be the address of a live, exclusively lent
/// `T`, as the [`Hypercall`] contract guarantees for the argument type the
/// hypercall defines.
unsafe fn argument<'a, T>(address: u64) -> Result<&'a mut T, Errno> {
    let address = usize::try_from(address).map_err(|_| Errno::EFAULT)?;
    let pointer = core::ptr::with_exposed_provenance_mut::<T>(address);
    // SAFETY: per this function's contract.
    unsafe { pointer.as_mut() }.ok_or(Errno::EFAULT)
}

/// Folds an operation's outcome into a hypercall return value.
fn ret(result: Result<u64, Errno>) -> i64 {
    match result {
        Ok(value) => i64::try_from(value).unwrap_or(i64::MAX),
        Err(e) => e.to_return_value(),
    }
}

// SAFETY: the fake accesses memory only through the pointer arguments, as
// the structures the public headers define for each command, and only
// during the call.
unsafe impl Hypercall for FakeDomain {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        let mut state = self.xen.lock();
        let cmd = if op == HYPERVISOR_DOMCTL {
            // SAFETY: domctl's only argument is a struct xen_domctl.
            match unsafe { argument::<XenDomctl>(args[0]) } {
                Ok(domctl) => domctl.cmd,
                Err(e) => return e.to_return_value(),
            }
        } else {
            args[0] as u32
        };
        state.calls.push(Call {
            domain: self.domid,
            hypercall: op,
            cmd,
        });
        if !state.domains.contains_key(&self.domid) {
            return Errno::ESRCH.to_return_value();
        }
        let injected = state.take_injection(op, cmd);
        let caller = Caller {
            state: &mut state,
            domid: self.domid,
        };
        // SAFETY: each handler reads its arguments as the structure the
        // public header defines for (op, cmd), which the caller lent.
        unsafe { caller.dispatch(op, cmd, args, injected) }
    }
}

/// A call in progress: the locked state and the calling domain.
struct Caller<'s> {
    state: &'s mut State,
    domid: DomId,
}

impl Caller<'_> {
    /// # Safety
    ///
    /// The pointer arguments must be what the [`Hypercall`] contract says.
    unsafe fn dispatch(self, op: u32, cmd: u32, args: [u64; 5], injected: Option<Injected>) -> i64 {
        if let Some(Injected::Errno(e)) = injected {
            return e.to_return_value();
        }
        // SAFETY: (all arms) per this function's contract, `args[1]` (or
        // `args[0]` for domctl) points to the structure named for `cmd`.
        unsafe {
            match op {
                HYPERVISOR_EVENT_CHANNEL_OP => ret(self.event_channel(cmd, args[1])),
                HYPERVISOR_GRANT_TABLE_OP => ret(self.grant_table(cmd, args[1], args[2], injected)),
                HYPERVISOR_MEMORY_OP => ret(self.memory(cmd, args[1])),
                HYPERVISOR_HVM_OP => ret(self.hvm(cmd, args[1])),
                HYPERVISOR_SCHED_OP => ret(self.sched(cmd, args[1])),
                HYPERVISOR_SET_TIMER_OP => ret(self.set_timer(args[0])),
                HYPERVISOR_XEN_VERSION => ret(self.version(cmd, args[1])),
                HYPERVISOR_CONSOLE_IO => ret(self.console_io(cmd, args[1], args[2])),
                HYPERVISOR_PHYSDEV_OP => ret(self.physdev(cmd, args[1])),
                HYPERVISOR_DOMCTL => ret(self.domctl(args[0])),
                _ => Errno::ENOSYS.to_return_value(),
            }
        }
    }

    fn me(&mut self) -> Result<&mut Domain, Errno> {
        self.state.domain(self.domid)
    }

    /// `DOMID_SELF` or our own id; anything else needs privilege we model
    /// as absent.
    fn check_self(&self, dom: DomId) -> Result<(), Errno> {
        if dom == DOMID_SELF || dom == self.domid {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }
}
