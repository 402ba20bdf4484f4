// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the loader's data through the boot identity map.

use xen::start_info::PhysicalMemory;

/// Guest-physical memory as the boot page tables map it: the first 4 GiB.
#[derive(Debug)]
pub struct BootIdentityMap;

impl PhysicalMemory for BootIdentityMap {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        let Some(end) = paddr.checked_add(buf.len() as u64) else {
            return false;
        };
        if paddr == 0 || end > boot::BOOT_IDENTITY_MAP_BYTES {
            return false;
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            let at = (paddr + i as u64) as *const u8;
            // SAFETY: `at` lies inside the boot identity map, which maps every
            // page below 4 GiB; reading memory the loader wrote has no side
            // effects. Volatile: the bytes are the loader's, not Rust's.
            *byte = unsafe { at.read_volatile() };
        }
        true
    }
}
