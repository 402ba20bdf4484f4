// SPDX-License-Identifier: MIT OR Apache-2.0
//! Taking a device back from a guest: Linux's `pcistub_put_pci_dev`, as a future of its own.
//!
//! [`release`] deassigns the device, resets it and puts it back in the
//! pool, then does the same for the free functions that share a page of
//! MMIO with it (XSA-461). The reset waits: 100 ms after an FLR, 1.1 s
//! after a conventional bus reset, up to 60 s of readiness polling. So the
//! future borrows nothing of the frontend: it owns the device (already
//! off the guest's list, as Linux's `__xen_pcibk_release_pci_dev` takes it
//! off before the reset) and its own PIRQ mapping, and the frontend keeps
//! answering the guest's other ops while it runs (pcifront waits 2 s for
//! an answer).
//!
//! How it ends, whatever happens: deassigned from the guest (in Xen's
//! quarantine), then either back in the pool, reset, or, if the reset did
//! not complete, kept out of it, in quarantine, so no guest gets a device
//! in an unknown state. Each way is logged once.

use super::platform::Platform;
use super::store::Store;
use super::{Backend, FrontendKey};
use crate::{Device, ResetError, ResetErrorKind};

/// Takes `device` back from the guest of `key`, resets it and returns it
/// to the pool; then resets the free functions that share a page of MMIO
/// with it, whose registers the guest could reach, before anyone else gets
/// them (XSA-461).
pub(super) async fn release<S: Store, P: Platform>(
    backend: &Backend<S, P>,
    key: FrontendKey,
    device: Device,
) {
    backend.platform.deassign(key.domid, &device);
    let (address, neighbours) = (device.address(), device.sharing.neighbours());
    reset_into_pool(backend, key, device).await;
    for neighbour in neighbours {
        // One with a guest is reset when that guest lets it go.
        let Some(free) = backend.take(neighbour) else {
            continue;
        };
        info!(
            "{}: resetting {neighbour}, which shares a page with {address} (XSA-461)",
            key.dir()
        );
        reset_into_pool(backend, key, free).await;
    }
}

/// Resets a device no guest has and returns it to the pool. A device with
/// no safe reset method goes back too: it was taken and served that way
/// (with a warning, as Linux serves it). Only one whose reset did not
/// complete stays out, in quarantine.
async fn reset_into_pool<S: Store, P: Platform>(
    backend: &Backend<S, P>,
    key: FrontendKey,
    mut device: Device,
) {
    let platform = &backend.platform;
    // The frontend's mapping is its domid alone: this one unmaps the
    // PIRQs the guest still has while the frontend's maps others.
    let mut interrupts = platform.interrupts(key.domid);
    match device
        .release(platform.config(), &mut interrupts, platform.delay())
        .await
    {
        Ok(_) => backend.give_back(device),
        Err(
            reset @ ResetError {
                kind: ResetErrorKind::Unsupported { .. },
                ..
            },
        ) => {
            warn!(
                "{}: released WITHOUT A RESET ({reset}); back in the pool as it was taken",
                key.dir()
            );
            backend.give_back(device);
        }
        Err(reset) => error!(
            "{}: {} could not be reset ({reset}); kept out of the pool, in quarantine",
            key.dir(),
            device.address()
        ),
    }
}
