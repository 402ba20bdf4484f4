// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Xen PCI backend: what Linux's `xen-pciback` does, without Linux.
//!
//! Pure logic over the `pci` and `xen` seams; no `unsafe`. Two layers:
//!
//! The op path, which does not care how an op arrived:
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
//! The XenBus backend ([`xenbus`]), which serves frontends with it: the
//! `backend/pci` directory, each frontend's state machine, the shared page
//! and event channel, the device pool.
//!
//! The machine is reached through traits: [`pci::ConfigAccess`] (physical
//! configuration space), [`InterruptControl`] (mapping MSI and MSI-X as a
//! guest's PIRQs: [`xenbus::GuestPirqs`] over the hypercall seam), [`Delay`] (the waits resets and power changes need), and
//! for the backend [`xenbus::Store`] (XenStore) and [`xenbus::Platform`]
//! (grants, event channels, device assignment).
//!
//! Where Linux's pciback is the reference, the guest sees what Linux would
//! show it; each module names the Linux functions it follows, and lists
//! the deliberate differences it makes.
//!
//! # How the kernel uses it
//!
//! - At boot, for each function the hide list selects:
//!   [`Device::take`] (enumeration's [`pci::Topology`], [`DeviceOptions`],
//!   the [`Quirk`] table). A [`TakeError`] says why a function is not taken
//!   (print it: it names the function). Then [`record_shared_pages`] over
//!   them all: a device sharing a 4 KiB page of MMIO with a function not
//!   taken is never given to a guest (XSA-461).
//! - Under Xen: [`xenbus::Backend::new`] with the taken devices, the
//!   kernel's [`xenbus::Store`] and [`xenbus::Platform`], and the
//!   [`xenbus::Options`] from the command line; spawn
//!   [`xenbus::Backend::run`] as one task. It serves every frontend.
//! - The console reads [`xenbus::Backend::frontends`] (state, devices, op
//!   counters, errors) and [`xenbus::Backend::free_devices`].
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

#[doc(hidden)]
#[macro_use]
pub mod logging;

mod config;
mod delay;
mod device;
mod enable;
mod error;
mod hardware;
mod interrupts;
mod isolation;
mod op;
mod ownership;
mod power;
mod reset;
mod resources;
mod saved;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
mod state;
mod topology;
pub mod xenbus;

pub use config::Quirk;
pub use delay::Delay;
pub use device::{Device, DeviceOptions};
pub use error::OpError;
pub use interrupts::InterruptControl;
pub use isolation::{Decoder, SharedPages, shared_pages};
pub use op::Reply;
pub use ownership::{TakeError, record_shared_pages};
pub use reset::{BusResetUnavailable, PmResetUnavailable, ResetError, ResetErrorKind, ResetMethod};
pub use topology::{
    AddError, Export, GuestDevices, Refused, RootBus, TopologyKind, VirtualAddress,
};
