// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where the linker put the image (symbols from `linker.ld`).

use core::ops::Range;

unsafe extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
}

fn symbol(s: *const u8) -> u64 {
    s as u64
}

/// The whole image, `.text` through `.bss`.
pub fn image() -> Range<u64> {
    symbol(&raw const __image_start)..symbol(&raw const __image_end)
}

/// Code: mapped read-only and executable.
pub fn text() -> Range<u64> {
    symbol(&raw const __image_start)..symbol(&raw const __text_end)
}

/// Read-only data and notes: mapped read-only, not executable.
pub fn rodata() -> Range<u64> {
    symbol(&raw const __text_end)..symbol(&raw const __rodata_end)
}

/// Data and BSS: mapped writable, not executable.
pub fn data() -> Range<u64> {
    symbol(&raw const __rodata_end)..symbol(&raw const __image_end)
}
