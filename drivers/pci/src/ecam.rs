// SPDX-License-Identifier: MIT OR Apache-2.0
//! ECAM: PCIe enhanced configuration access through a memory-mapped window.
//!
//! Each function has 4 KiB of the window at
//! `(bus - start_bus) << 20 | device << 15 | function << 12`. Accesses are
//! single volatile loads and stores of the requested width.

use core::ops::RangeInclusive;
use core::ptr::NonNull;

use crate::Address;
use crate::access::{ConfigAccess, Width};

/// Bytes of ECAM window per bus: 32 devices × 8 functions × 4 KiB.
pub const BUS_WINDOW_SIZE: usize = 1 << 20;
/// Position of the device number in a window offset.
const DEVICE_SHIFT: u32 = 15;
/// Position of the function number in a window offset.
const FUNCTION_SHIFT: u32 = 12;

/// A mapped ECAM window covering buses `start_bus..=end_bus` of one segment.
///
/// Accesses outside the window (another segment, a bus out of range), past
/// 4 KiB or misaligned read all ones and drop writes, as the
/// [`ConfigAccess`] contract asks; none of them touches memory.
#[derive(Debug)]
pub struct Ecam {
    base: NonNull<u8>,
    segment: u16,
    start_bus: u8,
    end_bus: u8,
}

// SAFETY: `Ecam` only holds the address of device memory that `new`'s caller
// vouched for; every access is one volatile load or store that the device
// serialises, so moving the handle to another thread changes nothing.
unsafe impl Send for Ecam {}
// SAFETY: all methods take `&self` and perform single volatile accesses to
// device memory; concurrent accesses are ordered by the device, never by
// Rust references, so sharing cannot create a data race on Rust memory.
unsafe impl Sync for Ecam {}

impl Ecam {
    /// The length in bytes of the window for buses `start_bus..=end_bus`
    /// (0 when `end_bus < start_bus`).
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "at most 256 MiB, which fits any usize of 32 bits or more"
    )]
    pub const fn window_size(start_bus: u8, end_bus: u8) -> usize {
        if end_bus < start_bus {
            0
        } else {
            (end_bus.abs_diff(start_bus) as usize + 1) * BUS_WINDOW_SIZE
        }
    }

    /// An ECAM window of `segment` whose first byte, `base`, is the
    /// configuration space of `start_bus` device 0 function 0.
    ///
    /// ACPI's MCFG gives the address of bus 0 even when its start bus is
    /// not 0: pass that address plus `start_bus << 20`. When
    /// `end_bus < start_bus` the window is empty and every access misses.
    ///
    /// # Safety
    ///
    /// For as long as the returned value (and any reference to it) lives:
    /// - `base` must be valid for volatile reads and writes of
    ///   [`Ecam::window_size`]`(start_bus, end_bus)` bytes, aligned to 4 KiB;
    /// - that range must be mapped as device memory (uncached), and must be
    ///   the ECAM region of those buses of that segment, so that accesses
    ///   reach configuration space and nothing else;
    /// - no Rust reference to that range may exist anywhere.
    pub const unsafe fn new(base: NonNull<u8>, segment: u16, start_bus: u8, end_bus: u8) -> Self {
        Self {
            base,
            segment,
            start_bus,
            end_bus,
        }
    }

    /// The segment this window serves.
    pub const fn segment(&self) -> u16 {
        self.segment
    }

    /// The buses this window serves.
    pub const fn buses(&self) -> RangeInclusive<u8> {
        self.start_bus..=self.end_bus
    }

    /// Byte offset of `offset` of `address` in the window, if the access of
    /// `width` is inside the window and keeps the contract.
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "bus index < 256, device < 32, function < 8, offset < 4096: below 2^28"
    )]
    fn window_offset(&self, address: Address, offset: u16, width: Width) -> Option<usize> {
        if address.segment() != self.segment || !width.fits(offset) {
            return None;
        }
        let bus_index = address.bus().checked_sub(self.start_bus)?;
        if address.bus() > self.end_bus {
            return None;
        }
        Some(
            (usize::from(bus_index) * BUS_WINDOW_SIZE)
                | (usize::from(address.device()) << DEVICE_SHIFT)
                | (usize::from(address.function()) << FUNCTION_SHIFT)
                | usize::from(offset),
        )
    }

    /// The pointer for an access of `width` at `offset`, if it is in bounds.
    fn pointer<T>(&self, address: Address, offset: u16, width: Width) -> Option<*mut T> {
        let byte_offset = self.window_offset(address, offset, width)?;
        // `window_offset` bounds the offset by the window and aligns it to
        // `width`, the size of `T`, and `base` is 4 KiB aligned.
        Some(self.base.as_ptr().wrapping_add(byte_offset).cast::<T>())
    }

    fn read<T: Copy>(&self, address: Address, offset: u16, width: Width, missing: T) -> T {
        match self.pointer::<T>(address, offset, width) {
            // SAFETY: `pointer` returned an address inside the window that
            // `new`'s caller made valid for volatile access, aligned for `T`.
            Some(pointer) => unsafe { pointer.read_volatile() },
            None => missing,
        }
    }

    fn write<T: Copy>(&self, address: Address, offset: u16, width: Width, value: T) {
        if let Some(pointer) = self.pointer::<T>(address, offset, width) {
            // SAFETY: as in `read`: in bounds, aligned, valid for volatile access.
            unsafe { pointer.write_volatile(value) }
        }
    }
}

impl ConfigAccess for Ecam {
    fn read8(&self, address: Address, offset: u16) -> u8 {
        self.read(address, offset, Width::Byte, u8::MAX)
    }

    fn read16(&self, address: Address, offset: u16) -> u16 {
        self.read(address, offset, Width::Word, u16::MAX)
    }

    fn read32(&self, address: Address, offset: u16) -> u32 {
        self.read(address, offset, Width::Dword, u32::MAX)
    }

    fn write8(&self, address: Address, offset: u16, value: u8) {
        self.write(address, offset, Width::Byte, value);
    }

    fn write16(&self, address: Address, offset: u16, value: u16) {
        self.write(address, offset, Width::Word, value);
    }

    fn write32(&self, address: Address, offset: u16, value: u32) {
        self.write(address, offset, Width::Dword, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heap buffer standing in for two buses of ECAM (2 MiB, 4 KiB aligned).
    struct Window {
        memory: Vec<u32>,
    }

    impl Window {
        fn new(buses: usize) -> Self {
            Self {
                memory: vec![0; buses * BUS_WINDOW_SIZE / 4 + 1024],
            }
        }

        /// An `Ecam` over the 4 KiB-aligned part of the buffer.
        fn ecam(&mut self, segment: u16, start_bus: u8, end_bus: u8) -> (Ecam, *mut u8) {
            let raw = self.memory.as_mut_ptr().cast::<u8>();
            let base = raw.wrapping_add(raw.align_offset(4096));
            // SAFETY: the buffer holds the whole window past the alignment
            // padding, outlives the `Ecam` in every test, and no reference to
            // it is used while the `Ecam` lives.
            let ecam =
                unsafe { Ecam::new(NonNull::new(base).unwrap(), segment, start_bus, end_bus) };
            (ecam, base)
        }
    }

    fn address(segment: u16, bus: u8, device: u8, function: u8) -> Address {
        Address::new(segment, bus, device, function).unwrap()
    }

    #[test]
    fn window_size_counts_buses() {
        assert_eq!(Ecam::window_size(0, 255), 256 << 20);
        assert_eq!(Ecam::window_size(4, 4), 1 << 20);
        assert_eq!(Ecam::window_size(5, 4), 0);
    }

    #[test]
    fn accesses_land_at_the_ecam_offset() {
        let mut window = Window::new(2);
        let (ecam, base) = window.ecam(1, 0x10, 0x11);
        let target = address(1, 0x11, 3, 5);
        ecam.write32(target, 0x40, 0x1234_5678);
        let expected = (1 << 20) | (3 << 15) | (5 << 12) | 0x40;
        // SAFETY: in bounds of the window; read back through a raw pointer.
        let raw = unsafe { base.add(expected).cast::<u32>().read_volatile() };
        assert_eq!(raw, 0x1234_5678);
        assert_eq!(ecam.read16(target, 0x42), 0x1234);
        assert_eq!(ecam.read8(target, 0x41), 0x56);
        ecam.write8(target, 0x43, 0xAB);
        ecam.write16(target, 0x40, 0xCDEF);
        assert_eq!(ecam.read32(target, 0x40), 0xAB34_CDEF);
    }

    #[test]
    fn out_of_window_accesses_miss() {
        let mut window = Window::new(1);
        let (ecam, _) = window.ecam(0, 4, 4);
        let inside = address(0, 4, 0, 0);
        ecam.write32(inside, 0, 0);
        for (target, offset) in [
            (address(1, 4, 0, 0), 0), // other segment
            (address(0, 3, 0, 0), 0), // below the first bus
            (address(0, 5, 0, 0), 0), // above the last bus
            (inside, 0x1000),         // past 4 KiB
            (inside, 0xFFFF),         // far past
            (inside, 2),              // misaligned dword
        ] {
            assert_eq!(
                ecam.read32(target, offset),
                u32::MAX,
                "{target} {offset:#x}"
            );
            ecam.write32(target, offset, 0x5555_5555);
        }
        assert_eq!(ecam.read16(inside, 1), u16::MAX);
        assert_eq!(ecam.read8(inside, 0x1000), u8::MAX);
        assert_eq!(ecam.read32(inside, 0), 0, "dropped writes must not land");
    }

    #[test]
    fn an_empty_window_misses_everything() {
        let mut window = Window::new(1);
        let (ecam, _) = window.ecam(0, 5, 4);
        assert_eq!(ecam.read32(address(0, 4, 0, 0), 0), u32::MAX);
        assert_eq!(ecam.read32(address(0, 5, 0, 0), 0), u32::MAX);
    }
}
