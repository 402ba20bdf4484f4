// SPDX-License-Identifier: MIT OR Apache-2.0
//! Time since boot, from the TSC.
//!
//! Boot time counts from the image's first instruction (`boot::entry_tsc`).
//! The TSC frequency comes from Xen when running under it (PVH guests have
//! no PIT), else from CPUID leaf 0x15, else from timing the PIT.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use x86_64::instructions::port::Port;

/// TSC ticks per millisecond; 0 until calibrated (timestamps read 0).
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);

/// Reads the time-stamp counter.
pub fn tsc() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear (we run in ring 0).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// How the frequency was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Xen's TSC leaf.
    Xen,
    /// CPUID leaf 0x15 (crystal clock ratio).
    Cpuid,
    /// Timed against the PIT.
    Pit,
}

/// Finds the TSC frequency and starts the clock. `xen_khz` is the frequency
/// Xen reports, if running under Xen.
pub fn calibrate(xen_khz: Option<u64>) -> (u64, Source) {
    let (khz, source) = match xen_khz.filter(|&k| k != 0) {
        Some(khz) => (khz, Source::Xen),
        None => match cpuid_khz() {
            Some(khz) => (khz, Source::Cpuid),
            None => (pit_khz(), Source::Pit),
        },
    };
    TSC_KHZ.store(khz.max(1), Ordering::Relaxed);
    (khz, source)
}

/// Ticks per millisecond (0 before calibration).
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Microseconds since the image's first instruction.
pub fn since_boot_micros() -> u64 {
    ticks_to_micros(tsc().saturating_sub(boot::entry_tsc()))
}

/// Converts TSC ticks to microseconds (0 before calibration).
pub fn ticks_to_micros(ticks: u64) -> u64 {
    match tsc_khz() {
        0 => 0,
        khz => u64::try_from(u128::from(ticks) * 1000 / u128::from(khz)).unwrap_or(u64::MAX),
    }
}

/// TSC ticks in `duration` (saturating).
pub fn duration_to_ticks(duration: Duration) -> u64 {
    let ticks = duration.as_micros() * u128::from(tsc_khz()) / 1000;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// CPUID.15H: TSC = crystal * EBX / EAX, crystal in ECX (Hz).
fn cpuid_khz() -> Option<u64> {
    let max = core::arch::x86_64::__cpuid(0).eax;
    if max < 0x15 {
        return None;
    }
    let leaf = core::arch::x86_64::__cpuid(0x15);
    let (den, num, crystal_hz) = (leaf.eax, leaf.ebx, leaf.ecx);
    if den == 0 || num == 0 || crystal_hz == 0 {
        return None;
    }
    Some(u64::from(crystal_hz) * u64::from(num) / u64::from(den) / 1000)
}

/// Times PIT channel 2 counting down 10 ms (mode 0, gate through port 0x61)
/// and counts TSC ticks meanwhile, as Linux's `pit_calibrate_tsc` does.
fn pit_khz() -> u64 {
    const PIT_HZ: u64 = 1_193_182;
    const MS: u64 = 10;
    const LATCH: u16 = (PIT_HZ * MS / 1000) as u16;
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: ports 0x42/0x43/0x61 are the PIT's channel 2 and its gate on
    // every PC; channel 2 drives only the speaker, which stays off (bit 1).
    let ticks = unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01);
        command.write(0b1011_0000); // channel 2, lobyte/hibyte, mode 0, binary
        channel2.write(LATCH as u8);
        channel2.write((LATCH >> 8) as u8);
        let start = tsc();
        // OUT2 (bit 5) rises when the count reaches zero. Bounded: a
        // machine without a PIT reads 0xFF and ends at once.
        for _ in 0..10_000_000u32 {
            if gate.read() & 0x20 != 0 {
                break;
            }
        }
        tsc().wrapping_sub(start)
    };
    ticks / MS
}
