// SPDX-License-Identifier: MIT OR Apache-2.0
//! The image's own GDT and TSS, replacing the boot GDT.
//!
//! The TSS exists for its interrupt stack table: a double fault (say, from a
//! stack overflow), an NMI or a machine check runs on a stack of its own, so
//! its report can still be printed.

use core::ops::Range;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot (1-based, as the IDT encodes it) of the emergency stack.
pub const EMERGENCY_IST: u8 = 1;

const EMERGENCY_STACK_SIZE: usize = 16 * 1024;

#[repr(align(16))]
struct Stack(
    #[expect(dead_code, reason = "only the CPU touches the bytes")] [u8; EMERGENCY_STACK_SIZE],
);

/// Written only by the CPU, through the TSS; Rust code takes its address only.
/// `mut` keeps it out of read-only data.
static mut EMERGENCY_STACK: Stack = Stack([0; EMERGENCY_STACK_SIZE]);
static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, SegmentSelector, SegmentSelector)> = Once::new();

/// The emergency stack, for the exception report's stack dump.
pub fn emergency_stack() -> Range<u64> {
    let bottom = (&raw const EMERGENCY_STACK) as u64;
    bottom..bottom + EMERGENCY_STACK_SIZE as u64
}

/// Loads the GDT (kernel code and data, TSS) and the TSS.
pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        tss.interrupt_stack_table[usize::from(EMERGENCY_IST - 1)] =
            VirtAddr::new(emergency_stack().end);
        tss
    });
    let (gdt, code, tss_selector) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        let tss_selector = gdt.append(Descriptor::tss_segment(tss));
        (gdt, code, tss_selector)
    });
    gdt.load();
    // SAFETY: the selectors name descriptors of the GDT just loaded, which
    // is 'static; null data segments are valid in 64-bit mode at CPL 0.
    unsafe {
        CS::set_reg(*code);
        SS::set_reg(SegmentSelector(0));
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(*tss_selector);
    }
}
