// SPDX-License-Identifier: MIT OR Apache-2.0
//! The image boots straight in QEMU: it reports what it was given and stops
//! with the status that says why.

use system_tests::qemu::{ImageExit, Machine};
use system_tests::{image, log_dir};

/// The number after `key` in `line` (decimal), e.g. `heap 1234 KiB` -> 1234.
fn number_after(line: &str, key: &str) -> u64 {
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("no `{key}` in {line}"))
        + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{key}` in {line}"))
}

/// The line containing `needle`, or a failure that shows the whole log.
fn line<'a>(log: &'a str, needle: &str) -> &'a str {
    log.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{log}"))
}

#[test]
fn boots_reports_what_it_was_given_and_powers_off() {
    let command_line = "poweroff loglevel=7 xen-pciback.passthrough=1";
    let mut running = Machine::new(&image())
        .memory_mib(128)
        .append(command_line)
        .paused()
        .start(&log_dir("boot"))
        .expect("QEMU starts");
    // QEMU's own account of the guest's RAM, asked before the guest runs.
    let mut qmp = running.qmp().expect("QMP answers");
    let summary = qmp
        .execute("query-memory-size-summary")
        .expect("memory summary");
    let base_memory = summary["base-memory"]
        .as_u64()
        .expect("base-memory is a number");
    qmp.execute("cont").expect("the guest starts");
    running
        .wait_for_line("boot: done in")
        .expect("the image boots");
    let out = running.wait().expect("QEMU exits");
    let log = &out.serial;
    assert_eq!(out.exit, ImageExit::Success, "{log}");

    line(
        log,
        &format!("pciback-dd: version {}", env!("CARGO_PKG_VERSION")),
    );
    line(log, &format!("cmdline: {command_line}"));
    line(log, "hvm_start_info version 1");

    // The memory map as printed, range by range, adds up to the total line,
    // and the total is QEMU's RAM less what its firmware keeps.
    let ram_lines: u64 = log
        .lines()
        .filter(|l| l.contains("memory: [") && l.ends_with("] RAM"))
        .map(|l| {
            let range = l
                .split_once("memory: [")
                .unwrap()
                .1
                .split_once(']')
                .unwrap()
                .0;
            let (start, end) = range.split_once('-').unwrap();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            hex(end) - hex(start) + 1
        })
        .sum();
    let total = number_after(line(log, "bytes ("), "memory:");
    assert_eq!(total, ram_lines, "total RAM line disagrees with the ranges");
    assert_eq!(base_memory, 128 << 20);
    assert!(
        total <= base_memory && total > base_memory - (1 << 20),
        "RAM {total} vs {base_memory}"
    );

    // The heap is half the free RAM (at most 64 MiB); the rest stays frames.
    let heap_line = line(log, "memory: heap");
    let heap = number_after(heap_line, "heap") << 10;
    let free = number_after(heap_line, ",") << 10;
    assert!((60 << 20..=64 << 20).contains(&heap), "{heap_line}");
    assert!(
        free + heap <= total && free + heap > total - (2 << 20),
        "{heap_line}"
    );
}

#[test]
fn page_fault_is_reported_and_stops_with_the_exception_status() {
    let out = Machine::new(&image())
        .append("selftest=page-fault")
        .run(&log_dir("page-fault"))
        .expect("QEMU runs");
    let log = &out.serial;
    assert_eq!(out.exit, ImageExit::Exception, "{log}");
    line(log, "!!! exception 14 (page fault) error code 0x0");
    line(
        log,
        "CR2 0x0000000000000008: not-present page on read in supervisor mode",
    );
    let rip = line(log, "RIP 0x");
    let rip = u64::from_str_radix(&rip.trim_start()[6..22], 16).expect("RIP is hex");
    let text = executable_segment(&std::fs::read(image()).expect("image readable"));
    assert!(
        text.contains(&rip),
        "RIP {rip:#x} outside the image's code {text:x?}"
    );
    line(log, "stack:");
    assert!(
        !log.contains("boot: done"),
        "the boot went on after the fault:\n{log}"
    );
}

/// A fault with no usable stack ends in a double fault, reported from the
/// emergency stack (the IST path NMIs and machine checks take too).
#[test]
fn double_fault_is_reported_from_the_emergency_stack() {
    let out = Machine::new(&image())
        .append("selftest=double-fault")
        .run(&log_dir("double-fault"))
        .expect("QEMU runs");
    let log = &out.serial;
    assert_eq!(out.exit, ImageExit::Exception, "{log}");
    line(log, "!!! exception 8 (double fault) error code 0x0");
    // The faulting push's stack pointer, in page 0.
    line(log, "RSP 0x0000000000001000");
    assert!(
        !log.contains("boot: done"),
        "the boot went on after the fault:\n{log}"
    );
}

#[test]
fn panic_is_reported_and_stops_with_the_panic_status() {
    let out = Machine::new(&image())
        .append("selftest=panic")
        .run(&log_dir("panic"))
        .expect("QEMU runs");
    assert_eq!(out.exit, ImageExit::Panic, "{}", out.serial);
    line(&out.serial, "!!! panic: panicked at");
    line(&out.serial, "selftest: panic on request");
}

/// The address range of the ELF image's executable PT_LOAD segment.
fn executable_segment(elf: &[u8]) -> std::ops::Range<u64> {
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
    assert_eq!(&elf[..4], b"\x7fELF");
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36) as usize, u16_at(0x38));
    (0..usize::from(phnum))
        .map(|i| phoff + i * phentsize)
        .find(|&ph| u32_at(ph) == 1 && u32_at(ph + 4) & 1 != 0)
        .map(|ph| u64_at(ph + 0x10)..u64_at(ph + 0x10) + u64_at(ph + 0x28))
        .expect("an executable PT_LOAD")
}
