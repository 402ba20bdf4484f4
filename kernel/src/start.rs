// SPDX-License-Identifier: MIT OR Apache-2.0
//! The boot sequence, from `kernel_main` to the executor's idle loop.
//!
//! Order matters: Xen detection and the console first (so everything after
//! is seen), the IDT before anything can fault, the clock before the first
//! timestamp that counts, memory before anything allocates.

use crate::arch::power::{self, ExitCode};
use crate::arch::{gdt, idle, interrupts, pic};
use crate::cmdline::{self, Options, SelfTest};
use crate::ecam::EcamWindow;
use crate::executor::Executor;
use crate::hypervisor::{self, Xen, alarm, ports};
use crate::memory::{self, physical::BootIdentityMap};
use crate::timer::TIMERS;
use crate::{backend, bus, console, domain, time};
use alloc::boxed::Box;
use pciback::TopologyKind;
use pciback::xenbus::Options as BackendOptions;
use spin::Once;
use xen::hypercall::physdev;
use xen::start_info::{MemoryKind, PhysicalMemory, StartInfo};

/// The command line, copied out of the loader's memory.
struct CommandLine {
    bytes: [u8; 2048],
    len: usize,
}

static COMMAND_LINE: Once<CommandLine> = Once::new();

/// Entered from `boot` (entry.S) on the boot stack, interrupts off.
#[unsafe(no_mangle)]
extern "C" fn kernel_main(start_info_paddr: u64) -> ! {
    let xen = hypervisor::detect();
    console::init(xen.is_some());
    console::init_logger(log::LevelFilter::Info);
    gdt::init();
    interrupts::init();
    pic::disable();
    info!(
        target: "pciback-dd",
        "version {}: Xen PCI driver domain, PVH entry",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(xen) = xen {
        hypervisor::report(xen);
    }
    let (khz, source) = time::calibrate(xen.and_then(|x| x.cpuid.tsc_khz).map(u64::from));
    info!(target: "time", "TSC {}.{:03} MHz ({source:?})", khz / 1000, khz % 1000);

    let memory = BootIdentityMap;
    let info = match StartInfo::parse(&memory, start_info_paddr) {
        Ok(info) => info,
        Err(e) => fatal(format_args!("hvm_start_info at {start_info_paddr:#x}: {e}")),
    };
    let line = COMMAND_LINE.call_once(|| {
        let mut copy = CommandLine {
            bytes: [0; 2048],
            len: 0,
        };
        match info.command_line(&mut copy.bytes) {
            Ok(text) => copy.len = text.len(),
            Err(e) => error!(target: "cmdline", "{e}; using none"),
        }
        copy
    });
    let line =
        core::str::from_utf8(line.bytes.get(..line.len).unwrap_or_default()).unwrap_or_default();
    let options = cmdline::parse(line, |problem| warn!(target: "cmdline", "{problem}"));
    if let Some(level) = options.log_level {
        log::set_max_level(level);
    }
    info!(target: "cmdline", "{line}");
    info!(
        target: "boot",
        "hvm_start_info version {} flags {:#x} at {start_info_paddr:#x}",
        info.version(),
        info.flags()
    );
    report_memory_map(&info);
    let rsdp = info.rsdp();
    let ebda = read_ebda(&memory);
    for (i, m) in info.modules().enumerate() {
        info!(target: "boot", "module {i}: {:#x} {} bytes", m.paddr, m.size);
    }

    let layout = match memory::init(info, start_info_paddr) {
        Ok(layout) => layout,
        Err(e) => fatal(format_args!("memory: {e}")),
    };
    info!(
        target: "memory",
        "heap {} KiB at {:#x}, {} KiB free in frames",
        (layout.heap.end - layout.heap.start) >> 10,
        layout.heap.start,
        layout.free >> 10
    );

    let services = xen.map(|xen| match hypervisor::start_services(xen) {
        Ok(services) => services,
        Err(e) => fatal(format_args!("Xen services: {e}")),
    });
    if let (Some(xen), Some((ring, port))) = (xen, services.as_ref().and_then(|s| s.console)) {
        console::attach_xen_console(&xen.hv, ring, port);
    }
    let reserve = |window: &EcamWindow| match xen {
        // Xen traps ECAM for the hardware domain only once it is told of it.
        Some(xen) => physdev::pci_mmcfg_reserved(
            &xen.hv,
            window.base,
            window.segment,
            window.start_bus,
            window.end_bus,
        )
        .map_err(|e| e.name()),
        None => Ok(()),
    };
    let bus: &'static bus::Bus = Box::leak(Box::new(bus::init(
        options.pci_ecam,
        rsdp,
        ebda,
        options.pciback_hide,
        &reserve,
    )));
    info!(target: "pci", "{} functions taken for guests", bus.taken.len());
    let devices = backend::take_devices(bus, options.pciback_permissive);

    run_selftest(&options);
    let done = time::tsc().saturating_sub(boot::entry_tsc());
    info!(
        target: "boot",
        "done in {} us ({done} TSC cycles since entry)",
        time::ticks_to_micros(done)
    );
    if options.poweroff {
        info!(target: "boot", "powering off as asked");
        power::stop(ExitCode::Success);
    }
    let mut executor = Executor::new();
    if let (Some(xen), Some(services)) = (xen, services) {
        let topology = match options.pciback_passthrough {
            Some(true) => TopologyKind::Passthrough,
            _ => TopologyKind::Vpci,
        };
        let backend = BackendOptions {
            topology,
            permissive: options.pciback_permissive,
            ..Default::default()
        };
        domain::spawn(&mut executor, xen, services, bus, devices, backend);
    }
    run(executor, xen)
}

/// The idle loop: wake the tasks whose ports fired or whose sleep is over,
/// run a turn, and halt with interrupts enabled only when nothing is
/// runnable, with Xen's timer set for the next sleeper. Tasks run with
/// interrupts off, so handlers never run in the middle of task code; an
/// upcall that arrives after the checks still ends the halt (`arch::idle`).
/// Without Xen there is no backend and no task sleeps.
fn run(mut executor: Executor, xen: Option<&'static Xen>) -> ! {
    loop {
        if xen.is_some() {
            ports::wake_raised();
            alarm::acknowledge();
        }
        TIMERS.wake_due();
        executor.run_turn();
        if !executor.has_ready() {
            if let Some(xen) = xen {
                alarm::set(xen, TIMERS.next_deadline());
            }
            idle::halt_until_interrupt();
        } else {
            // A task busy (polling a frontend's page): let the upcalls
            // waiting for the interrupt flag in.
            idle::take_interrupts();
        }
    }
}

/// The Extended BIOS Data Area, from the segment the BIOS data area keeps
/// at 0x40E, if it points where an EBDA can be (below the 640 KiB line).
fn read_ebda(memory: &BootIdentityMap) -> Option<u64> {
    let mut word = [0u8; 2];
    let ebda = memory
        .read(0x40e, &mut word)
        .then(|| u64::from(u16::from_le_bytes(word)) << 4)?;
    (0x8_0000..0xa_0000).contains(&ebda).then_some(ebda)
}

fn report_memory_map<M: PhysicalMemory>(info: &StartInfo<'_, M>) {
    let (mut ram, mut ram_ranges, mut other_ranges) = (0u64, 0, 0);
    for r in info.memory_map() {
        info!(target: "memory", "[{:#018x}-{:#018x}] {}", r.base, r.end() - 1, r.kind);
        if r.kind == MemoryKind::Ram {
            ram += r.size;
            ram_ranges += 1;
        } else {
            other_ranges += 1;
        }
    }
    info!(
        target: "memory",
        "{ram} bytes ({} MiB) of RAM in {ram_ranges} ranges, {other_ranges} other ranges",
        ram >> 20
    );
}

fn run_selftest(options: &Options<'_>) {
    match options.selftest {
        None => {}
        Some(SelfTest::PageFault) => {
            warn!(target: "selftest", "reading unmapped address 0x8 (page 0)");
            // SAFETY: not safe at all, on purpose: page 0 is unmapped, so
            // this read faults and the exception report stops the domain.
            let value =
                unsafe { core::ptr::read_volatile(core::ptr::without_provenance::<u64>(8)) };
            error!(target: "selftest", "page 0 read returned {value:#x}: not unmapped?");
        }
        Some(SelfTest::DoubleFault) => {
            warn!(target: "selftest", "pushing onto a stack in unmapped page 0");
            // SAFETY: not safe at all, on purpose: the stack pointer moves
            // into page 0, which is unmapped, so the push faults, delivering
            // that fault faults again, and the double fault's report runs on
            // the emergency stack and stops the domain. Nothing returns here.
            unsafe { core::arch::asm!("mov rsp, 0x1000", "push rax", options(noreturn)) }
        }
        Some(SelfTest::Panic) => panic!("selftest: panic on request"),
    }
}

/// Reports why booting cannot go on and stops with the failure status.
fn fatal(why: core::fmt::Arguments<'_>) -> ! {
    error!(target: "boot", "fatal: {why}");
    power::stop(ExitCode::Fatal);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    console::write_fmt_fatal(format_args!("\n!!! panic: {info}\n"));
    power::stop(ExitCode::Panic);
}
