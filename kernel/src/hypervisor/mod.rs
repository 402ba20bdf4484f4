// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running under Xen: detection, the hypercall page, shared_info, the
//! event-channel upcall, the PV console and XenStore.
//!
//! Detection and the hypercall page come first (before the heap), so the
//! boot log already reaches Xen and a failure can stop the domain with a
//! status the toolstack sees. The rest waits for memory.

pub mod alarm;
pub mod ports;
pub mod xenstore;

use crate::arch::interrupts;
use crate::arch::power::{self, ExitCode};
use crate::hypercalls::Hypercalls;
use crate::memory;
use alloc::boxed::Box;
use core::ptr::NonNull;
use spin::Once;
use xen::abi::event_channel::EvtchnPort;
use xen::abi::hvm_params::{
    HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN,
    HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN, callback_via_vector,
};
use xen::abi::io::console::XenconsInterface;
use xen::abi::io::xs_wire::XenstoreDomainInterface;
use xen::abi::sched::{SHUTDOWN_CRASH, SHUTDOWN_POWEROFF};
use xen::abi::xen::SharedInfo;
use xen::detect::XenCpuid;
use xen::grant::{GrantWindow, IdentityMapped};
use xen::hypercall::page::HypercallPage;
use xen::hypercall::{hvm, memory as xenmem, sched, version};

/// The vector Xen raises for event-channel upcalls.
pub const UPCALL_VECTOR: u8 = 0xf3;

/// Frames set aside for mapping guests' grants: one per frontend's shared
/// page, with room to spare.
const GRANT_FRAMES: usize = 64;

core::arch::global_asm!(
    // Page aligned by linker.ld (and asserted there), so the section asks
    // for no more than code does: the code segment then needs no page
    // alignment in the file.
    ".pushsection .text.hypercall_page, \"ax\"",
    ".p2align 4",
    ".global hypercall_page",
    "hypercall_page:",
    // int3 until Xen fills it: a call before installation traps visibly.
    ".fill 4096, 1, 0xcc",
    ".popsection",
);

unsafe extern "C" {
    static hypercall_page: u8;
}

/// What the image knows of the Xen it runs on.
#[derive(Debug)]
pub struct Xen {
    /// Xen's CPUID leaves.
    pub cpuid: XenCpuid,
    /// The installed hypercall page, counted: every hypercall goes through it.
    pub hv: Hypercalls,
}

static XEN: Once<Xen> = Once::new();

/// Xen, once detected and its hypercall page installed.
pub fn get() -> Option<&'static Xen> {
    XEN.get()
}

/// Finds Xen through CPUID and installs the hypercall page; `None` on bare
/// metal (or QEMU without Xen). Registers `SCHEDOP_shutdown` as the way
/// to stop the domain.
pub fn detect() -> Option<&'static Xen> {
    let cpuid = xen::detect::detect(|leaf, subleaf| {
        let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
        [r.eax, r.ebx, r.ecx, r.edx]
    })?;
    let page = (&raw const hypercall_page).cast_mut();
    let page = NonNull::new(page)?;
    // SAFETY: we run at CPL 0 in long mode under the Xen that `detect`
    // found, and `hypercall_msr` comes from its CPUID leaf; `hypercall_page`
    // is a page-aligned page of the image's .text (RAM, identity-mapped,
    // executable, read-only to us: Xen fills it through its own mapping),
    // used for nothing else, for the life of the domain.
    let hv =
        unsafe { HypercallPage::install(page, page.as_ptr() as u64, cpuid.hypercall_msr) }.ok()?;
    let xen = XEN.call_once(|| Xen {
        cpuid,
        hv: Hypercalls::new(hv),
    });
    power::set_hypervisor_shutdown(shutdown);
    Some(xen)
}

/// `SCHEDOP_shutdown`: poweroff on success, crash on failure, so the
/// toolstack's `on_crash` policy applies.
fn shutdown(code: ExitCode) {
    if let Some(xen) = get() {
        let reason = if code == ExitCode::Success {
            SHUTDOWN_POWEROFF
        } else {
            SHUTDOWN_CRASH
        };
        let _ = sched::shutdown(&xen.hv, reason);
    }
}

/// Logs what Xen this is.
pub fn report(xen: &Xen) {
    let (major, minor) = version::version(&xen.hv).unwrap_or((xen.cpuid.major, xen.cpuid.minor));
    let extra = version::extraversion(&xen.hv).unwrap_or_default();
    let len = extra.iter().position(|&b| b == 0).unwrap_or(extra.len());
    let extra = core::str::from_utf8(extra.get(..len).unwrap_or_default()).unwrap_or("");
    match xen.cpuid.domid {
        Some(domid) => info!("Xen {major}.{minor}{extra}, this is domain {domid}"),
        None => info!("Xen {major}.{minor}{extra}"),
    }
}

/// The services that need memory: shared_info, the upcall and the timer,
/// the PV console and XenStore. Failure to set up any of them is fatal: a driver domain
/// without events or XenStore cannot serve anyone.
#[derive(Debug)]
pub struct Services {
    /// The PV console's ring and event channel, if Xen gave one.
    pub console: Option<(&'static XenconsInterface, EvtchnPort)>,
    /// The XenStore connection.
    pub xenstore: &'static xenstore::Xenstore,
    /// Its event channel.
    pub xenstore_port: EvtchnPort,
    /// Where other domains' grants are mapped.
    pub grants: &'static GrantWindow<IdentityMapped>,
}

static SHARED_INFO: Once<&'static SharedInfo> = Once::new();

/// Sets up shared_info, the upcall vector and the timer, finds the PV
/// console and connects to XenStore.
pub fn start_services(xen: &'static Xen) -> Result<Services, &'static str> {
    let frame = memory::allocate_frame().ok_or("no frame for shared_info")?;
    xenmem::map_shared_info(&xen.hv, frame >> 12)
        .map_err(|_| "XENMEM_add_to_physmap(shared_info) failed")?;
    let page = NonNull::new(frame as *mut u8).ok_or("shared_info frame at 0")?;
    // SAFETY: Xen just put shared_info at `frame`, a RAM frame taken from
    // the allocator (so used by nothing else), identity-mapped writable for
    // the life of the domain.
    SHARED_INFO.call_once(|| unsafe { SharedInfo::from_page(page) });

    interrupts::register(UPCALL_VECTOR, ports::upcall);
    hvm::set_param(
        &xen.hv,
        HVM_PARAM_CALLBACK_IRQ,
        callback_via_vector(UPCALL_VECTOR),
    )
    .map_err(|_| "HVM_PARAM_CALLBACK_IRQ failed")?;
    alarm::start(xen)?;

    let console =
        special_page(xen, HVM_PARAM_CONSOLE_PFN, HVM_PARAM_CONSOLE_EVTCHN).map(|(page, port)| {
            // SAFETY: Xen's console page for this domain, mapped writable
            // for the life of the domain; only the console ring touches it.
            (unsafe { XenconsInterface::from_page(page) }, port)
        });
    let (page, port) =
        special_page(xen, HVM_PARAM_STORE_PFN, HVM_PARAM_STORE_EVTCHN).ok_or("no XenStore page")?;
    // SAFETY: Xen's XenStore page for this domain, mapped writable for the
    // life of the domain; only the XenStore ring touches it.
    let interface = unsafe { XenstoreDomainInterface::from_page(page) };
    Ok(Services {
        console,
        xenstore: xenstore::start(&xen.hv, interface, port),
        xenstore_port: port,
        grants: grant_window()?,
    })
}

/// Frames of our own RAM, set aside for good as the place grants are
/// mapped. The first grant mapped over a frame takes its RAM page out of
/// this domain's physmap (Xen orphans it); from then on the frame is an
/// empty slot that only ever holds grants, never RAM or MMIO, so no mapping
/// can land on a frame that is in use.
fn grant_window() -> Result<&'static GrantWindow<IdentityMapped>, &'static str> {
    let first =
        memory::allocate_frames(GRANT_FRAMES as u64).ok_or("no frames for the grant window")?;
    // SAFETY: the frames were just taken from the allocator for good, so
    // nothing else uses them; RAM is identity-mapped writable, cached, for
    // the life of the domain.
    let memory = unsafe { IdentityMapped::new() };
    let window =
        GrantWindow::new(first >> 12, GRANT_FRAMES, memory).map_err(|_| "bad grant window")?;
    Ok(Box::leak(Box::new(window)))
}

/// The shared_info page, once mapped (the upcall handler reads it).
pub fn shared_info() -> Option<&'static SharedInfo> {
    SHARED_INFO.get().copied()
}

/// A page and event channel Xen gives through a pair of HVM params,
/// mapped into the address space.
fn special_page(xen: &Xen, pfn_param: u32, port_param: u32) -> Option<(NonNull<u8>, u32)> {
    let pfn = hvm::get_param(&xen.hv, pfn_param)
        .ok()
        .filter(|&p| p != 0)?;
    let port = hvm::get_param(&xen.hv, port_param).ok()?;
    let base = pfn.checked_mul(4096)?;
    let page = memory::map_shared(base..base + 4096).ok()?;
    Some((NonNull::new(page)?, u32::try_from(port).ok()?))
}
