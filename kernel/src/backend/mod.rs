// SPDX-License-Identifier: MIT OR Apache-2.0
//! The backend's devices: seized at boot as Linux's pci_stub does, kept in
//! a pool, lent to the frontends that are given them by the XenBus backend.

pub mod platform;

use crate::bus::Bus;
use crate::hypervisor::xenstore::Xenstore;
use crate::time;
use crate::timer::TIMERS;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use pciback::xenbus::Backend;
use pciback::{Delay, Device, DeviceOptions};

/// The PCI backend, as the tasks share it.
pub type PciBackend = Backend<&'static Xenstore, platform::XenPlatform>;

/// Waits on the executor's timers: the task sleeps, the other frontends run
/// (a release's FLR, a guest's power-state change). At boot, before there
/// is an executor, [`at_boot`] polls the sleep until it is over.
#[derive(Clone, Copy, Debug)]
pub struct TimerDelay;

impl Delay for TimerDelay {
    fn wait(&self, duration: Duration) -> impl Future<Output = ()> {
        TIMERS.sleep_until(
            TIMERS
                .now()
                .saturating_add(time::duration_to_ticks(duration)),
        )
    }
}

/// Runs `future` at boot: polls it until it completes, so a [`TimerDelay`]
/// wait spins on the clock (nothing else runs yet). Taking devices with the
/// backend's own access and delay types lets the image share one copy of
/// the reset, restore and enable code between boot and the backend (5 KiB).
fn at_boot<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            return output;
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
        match at_boot(Device::take(
            bus,
            &segment.topology,
            address,
            &options,
            &[],
            &TimerDelay,
        )) {
            Ok(device) => devices.push(device),
            Err(e) => error!(target: "pciback", "not serving {address}: {e}"),
        }
    }
    pciback::record_shared_pages(&mut devices, |address| {
        bus.segment(address).map(|segment| &segment.topology)
    });
    info!(target: "pciback", "{} of {} hidden functions ready for guests", devices.len(), bus.taken.len());
    devices
}
