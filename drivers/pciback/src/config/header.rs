// SPDX-License-Identifier: MIT OR Apache-2.0
//! The predefined header's fields: Linux's `conf_space_header.c` tables.
//!
//! Registers not listed (status, revision, class code, header type, CardBus
//! CIS, subsystem IDs, capability pointer, Min_Gnt/Max_Lat, and on bridges
//! the bus numbers, windows and bridge control) have no field: they read
//! the hardware and take writes only in permissive mode.

use pci::register::{self, bridge};
use pci::{ConfigAccess, Width};

use super::field::{Kind, Spec};
use crate::hardware::Hardware;

/// Linux's `header_common`: every function.
pub(super) const COMMON: &[Spec] = &[
    Spec::new(register::VENDOR_ID, Width::Word, Kind::VendorId),
    Spec::new(register::DEVICE_ID, Width::Word, Kind::DeviceId),
    Spec::new(register::COMMAND, Width::Word, Kind::Command),
    Spec::new(register::INTERRUPT_LINE, Width::Byte, Kind::InterruptLine),
    Spec::new(register::INTERRUPT_PIN, Width::Byte, Kind::ReadOnly),
    // Linux: "Any side effects of letting driver domain control cache line?"
    Spec::new(register::CACHE_LINE_SIZE, Width::Byte, Kind::ReadWrite),
    Spec::new(register::LATENCY_TIMER, Width::Byte, Kind::ReadOnly),
    Spec::new(register::BIST, Width::Byte, Kind::Bist),
];

/// Linux's `header_0`: the six BARs and the ROM of a type-0 header.
pub(super) const ENDPOINT: &[Spec] = &[
    Spec::new(register::bar(0), Width::Dword, Kind::Bar),
    Spec::new(register::bar(1), Width::Dword, Kind::Bar),
    Spec::new(register::bar(2), Width::Dword, Kind::Bar),
    Spec::new(register::bar(3), Width::Dword, Kind::Bar),
    Spec::new(register::bar(4), Width::Dword, Kind::Bar),
    Spec::new(register::bar(5), Width::Dword, Kind::Bar),
    Spec::new(register::ROM_ADDRESS, Width::Dword, Kind::Rom),
];

/// Linux's `header_1`: the two BARs and the ROM of a type-1 (bridge) header.
pub(super) const BRIDGE: &[Spec] = &[
    Spec::new(register::bar(0), Width::Dword, Kind::Bar),
    Spec::new(register::bar(1), Width::Dword, Kind::Bar),
    Spec::new(bridge::ROM_ADDRESS, Width::Dword, Kind::Rom),
];

/// Linux's `bist_write`: the write reaches the hardware only if it changes
/// nothing but the start bit, or is exactly "start".
pub(super) fn write_bist<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, offset: u16, value: u8) {
    let current = hw.read8(offset);
    if (current & !register::BIST_START) == (value & !register::BIST_START)
        || value == register::BIST_START
    {
        hw.write8(offset, value);
    }
}
