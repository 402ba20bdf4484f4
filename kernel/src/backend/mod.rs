// SPDX-License-Identifier: MIT OR Apache-2.0
//! The backend's devices: seized at boot as Linux's pci_stub does, kept in
//! a pool, lent to the frontends that are given them by the XenBus backend.

mod interrupts;
pub mod platform;

use crate::bus::Bus;
use crate::time;
use alloc::vec::Vec;
use core::time::Duration;
use pciback::{Delay, Device, DeviceOptions};

/// Waits by watching the TSC. Resets and power changes wait (at most about a
/// second, for a bus reset); nothing else runs meanwhile, which is why
/// devices are taken at boot and released one at a time.
#[derive(Clone, Copy, Debug)]
pub struct TscDelay;

impl Delay for TscDelay {
    fn wait(&self, duration: Duration) {
        let ticks = time::duration_to_ticks(duration);
        let start = time::tsc();
        while time::tsc().wrapping_sub(start) < ticks {
            core::hint::spin_loop();
        }
    }
}

/// Seizes every function the hide list selected, for the backend's pool. A
/// function that cannot be taken is reported (with the reason) and left out;
/// one sharing a page of MMIO with a function not taken is reported too, and
/// will not be given to a guest (XSA-461).
pub fn take_devices(bus: &Bus, permissive: bool) -> Vec<Device> {
    let options = DeviceOptions { permissive };
    let mut devices = Vec::new();
    for &address in &bus.taken {
        let Some(segment) = bus.segment(address) else {
            continue;
        };
        match Device::take(
            &segment.ecam,
            &segment.topology,
            address,
            &options,
            &[],
            &TscDelay,
        ) {
            Ok(device) => devices.push(device),
            Err(e) => log::error!(target: "pciback", "not serving {address}: {e}"),
        }
    }
    pciback::record_shared_pages(&mut devices, |address| {
        bus.segment(address).map(|segment| &segment.topology)
    });
    log::info!(target: "pciback", "{} of {} hidden functions ready for guests", devices.len(), bus.taken.len());
    devices
}
