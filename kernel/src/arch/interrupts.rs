// SPDX-License-Identifier: MIT OR Apache-2.0
//! The IDT: exceptions are reported and stop the domain; other vectors go to
//! the handler registered for them (the Xen event-channel upcall).

use super::{gdt, power};
use crate::console;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, Segment};
use x86_64::instructions::tables::lidt;
use x86_64::registers::control::Cr2;
use x86_64::structures::DescriptorTablePointer;

core::arch::global_asm!(include_str!("vectors.S"), options(att_syntax));

unsafe extern "C" {
    /// 256 entry stubs, 16 bytes apart (vectors.S).
    static interrupt_stubs: u8;
}

const STUB_SIZE: u64 = 16;

/// Registers as `vectors.S` saves them, lowest address first.
#[repr(C)]
#[derive(Debug)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Pushed by the stub.
    pub vector: u64,
    /// Pushed by the CPU, or 0 by the stub.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}
const _: () = assert!(size_of::<TrapFrame>() == 22 * 8);

/// A 64-bit interrupt gate.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}
const _: () = assert!(size_of::<Gate>() == 16);

impl Gate {
    /// Present, DPL 0, 64-bit interrupt gate (interrupts stay off inside).
    const INTERRUPT_GATE: u8 = 0x8e;

    fn new(handler: u64, selector: u16, ist: u8) -> Self {
        Self {
            offset_low: handler as u16,
            selector,
            ist,
            attributes: Self::INTERRUPT_GATE,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

static IDT: Once<[Gate; 256]> = Once::new();

/// Handlers for vectors 32 and up, as `fn(&mut TrapFrame)` addresses.
static HANDLERS: [AtomicUsize; 224] = [const { AtomicUsize::new(0) }; 224];

/// Loads the IDT: every vector enters through its stub; the double fault,
/// NMI and machine check run on the emergency stack.
pub fn init() {
    let idt = IDT.call_once(|| {
        let stubs = (&raw const interrupt_stubs) as u64;
        let selector = CS::get_reg().0;
        core::array::from_fn(|vector| {
            let ist = match vector {
                2 | 8 | 18 => gdt::EMERGENCY_IST,
                _ => 0,
            };
            Gate::new(stubs + STUB_SIZE * vector as u64, selector, ist)
        })
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<[Gate; 256]>() - 1) as u16,
        base: VirtAddr::from_ptr(idt.as_ptr()),
    };
    // SAFETY: the table is 'static, holds 256 valid gates pointing at the
    // stubs in vectors.S, with the code selector of the loaded GDT.
    unsafe { lidt(&pointer) };
}

/// Routes `vector` (32 or above) to `handler`, which runs with interrupts off.
pub fn register(vector: u8, handler: fn(&mut TrapFrame)) {
    if let Some(slot) = usize::from(vector)
        .checked_sub(32)
        .and_then(|i| HANDLERS.get(i))
    {
        slot.store(handler as usize, Ordering::Release);
    }
}

#[unsafe(no_mangle)]
extern "C" fn interrupt_dispatch(frame: &mut TrapFrame) {
    let Some(index) = (frame.vector as usize).checked_sub(32) else {
        report_exception(frame);
    };
    super::idle::skip_halt(&mut frame.rip);
    let handler = HANDLERS.get(index).map_or(0, |h| h.load(Ordering::Acquire));
    if handler == 0 {
        warn!("unexpected interrupt on vector {}", frame.vector);
        return;
    }
    // SAFETY: only `register` stores non-zero values, and it stores the
    // address of a `fn(&mut TrapFrame)`.
    let handler: fn(&mut TrapFrame) = unsafe { core::mem::transmute(handler) };
    handler(frame);
}

/// The architectural exception names, by vector.
const EXCEPTIONS: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range exceeded",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved",
    "x87 floating-point error",
    "alignment check",
    "machine check",
    "SIMD floating-point error",
    "virtualization exception",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security exception",
    "reserved",
];

/// Prints what an administrator needs to find the fault, then stops.
fn report_exception(frame: &TrapFrame) -> ! {
    let name = EXCEPTIONS
        .get(frame.vector as usize)
        .copied()
        .unwrap_or("unknown");
    let out = console::write_fmt_fatal;
    out(format_args!(
        "\n!!! exception {} ({name}) error code {:#x}\n",
        frame.vector, frame.error_code
    ));
    if frame.vector == 14 {
        let cr2 = Cr2::read_raw();
        let e = frame.error_code;
        out(format_args!(
            "    CR2 {cr2:#018x}: {} {} in {} mode{}\n",
            if e & 1 != 0 {
                "protection violation on"
            } else {
                "not-present page on"
            },
            if e & 0x10 != 0 {
                "instruction fetch"
            } else if e & 2 != 0 {
                "write"
            } else {
                "read"
            },
            if e & 4 != 0 { "user" } else { "supervisor" },
            if e & 8 != 0 { ", reserved bit set" } else { "" },
        ));
    }
    out(format_args!(
        "    RIP {:#018x} CS {:#06x} RFLAGS {:#010x}\n    RSP {:#018x} SS {:#06x}\n",
        frame.rip, frame.cs, frame.rflags, frame.rsp, frame.ss
    ));
    out(format_args!(
        "    RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}\n    RSI {:#018x} RDI {:#018x} RBP {:#018x}\n    R8  {:#018x} R9  {:#018x} R10 {:#018x} R11 {:#018x}\n    R12 {:#018x} R13 {:#018x} R14 {:#018x} R15 {:#018x}\n",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx,
        frame.rsi,
        frame.rdi,
        frame.rbp,
        frame.r8,
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12,
        frame.r13,
        frame.r14,
        frame.r15
    ));
    dump_stack(frame.rsp);
    power::stop(power::ExitCode::Exception);
}

/// Prints up to 16 words from the interrupted stack, if it is a stack the
/// image knows (a wild RSP must not fault again inside the report).
fn dump_stack(rsp: u64) {
    const WORDS: u64 = 16;
    let known = [boot::stack(), gdt::emergency_stack()];
    let Some(stack) = known.iter().find(|s| s.contains(&rsp)) else {
        console::write_fmt_fatal(format_args!("    stack: RSP outside the image's stacks\n"));
        return;
    };
    let end = stack.end.min(rsp.saturating_add(WORDS * 8)) & !7;
    console::write_fmt_fatal(format_args!("    stack:\n"));
    let mut at = rsp & !7;
    while at < end {
        // SAFETY: `at` lies inside one of the image's own stacks, which are
        // mapped, aligned and readable for the life of the domain.
        let word = unsafe { (at as *const u64).read_volatile() };
        console::write_fmt_fatal(format_args!("    {at:#018x}: {word:#018x}\n"));
        at += 8;
    }
}
