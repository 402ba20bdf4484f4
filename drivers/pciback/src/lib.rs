// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Xen PCI backend: what Linux's `xen-pciback` does, without Linux.
//!
//! Pure logic over the `pci` and `xen` seams; no `unsafe`. The XenBus state
//! machine, the shared page and the event channel live above this crate;
//! this crate is the part that does not care how an op arrived:
//!
//! - [`Device`]: a function this domain owns. [`Device::take`] seizes it the
//!   way Linux's `pcistub_init_device` does (virtual configuration space
//!   built once, decoding enabled, state saved, reset, restored, disabled);
//!   [`Device::release`] hands it back (reset, restore, interrupts and bus
//!   mastering off).
//! - [`GuestDevices`]: the devices one frontend sees, renumbered onto a
//!   virtual bus ([`TopologyKind::Vpci`], Linux's default) or at their real
//!   addresses ([`TopologyKind::Passthrough`]); it owns its devices, so an op
//!   can only ever reach a device of that frontend.
//! - [`GuestDevices::handle`]: one `xen_pci_op`, already copied out of the
//!   shared page, in; the result fields ([`Reply`]) out.
//!
//! The machine is reached through three traits: [`pci::ConfigAccess`]
//! (physical configuration space), [`InterruptControl`] (PIRQ mapping, which
//! needs hypercalls) and [`Delay`] (the waits resets and power changes need).
//!
//! Where Linux's pciback is the reference, the guest sees what Linux would
//! show it; each module names the Linux functions it follows, and lists
//! the deliberate differences it makes.
//!
//! # How the layer above uses it
//!
//! - At boot, for each function the hide list selects:
//!   [`Device::take`] (enumeration's [`pci::Topology`], [`DeviceOptions`],
//!   the [`Quirk`] table); keep the devices in a pool. A [`TakeError`] says
//!   why a function is not taken (print it: it names the function).
//! - Per frontend: [`GuestDevices::new`] with the `passthrough` and
//!   `permissive` settings. For each `dev-N`: move the pool's device in
//!   with [`GuestDevices::add`] and write the returned [`VirtualAddress`]
//!   as `vdev-N`; then publish [`GuestDevices::roots`] as `root-N`.
//! - Per op: copy `xen_pci_op` out of the shared page once, call
//!   [`GuestDevices::handle`] with the frontend's [`InterruptControl`],
//!   write back [`Reply::err`], [`Reply::value`] and the vectors of
//!   [`Reply::msix_entries`], then clear `_XEN_PCIF_active`.
//! - Hot-unplug (`state-N` = 5): parse `vdev-N`, [`GuestDevices::remove`],
//!   then [`Device::release`] and back to the pool. Frontend gone:
//!   [`GuestDevices::drain`], and release each.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;
#[cfg(feature = "sim")]
extern crate std;

mod config;
mod delay;
mod device;
mod error;
mod hardware;
mod interrupts;
mod op;
mod ownership;
mod power;
mod reset;
mod resources;
mod saved;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
mod topology;
pub mod xenbus;

pub use config::Quirk;
pub use delay::Delay;
pub use device::{Device, DeviceOptions};
pub use error::OpError;
pub use interrupts::InterruptControl;
pub use op::Reply;
pub use ownership::TakeError;
pub use reset::{BusResetUnavailable, PmResetUnavailable, ResetError, ResetErrorKind, ResetMethod};
pub use topology::{
    AddError, Export, GuestDevices, Refused, RootBus, TopologyKind, VirtualAddress,
};
