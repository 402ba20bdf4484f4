// SPDX-License-Identifier: MIT OR Apache-2.0
//! Test doubles for what the kernel provides, and a simulated guest (feature `sim`).
//!
//! - [`FakeDelay`], [`FakeInterrupts`]: the op path's traits.
//! - [`nic`]: the NIC most tests use.
//! - [`SimWorld`]: `FakeXen` and `SimXenstored` joined up: each domain
//!   gets a XenStore connection ([`SimStore`], a [`crate::xenbus::Store`]);
//!   event-channel ports can be waited on; a virtual clock.
//! - [`SimPlatform`]: the backend's [`crate::xenbus::Platform`] over the
//!   world and a `pci::sim::SimBus`.
//! - [`SimExecutor`]: a single-threaded executor that runs tasks, pumps
//!   xenstored and delivers events between them, and lets virtual time
//!   pass when nothing else can happen.
//! - [`SimPcifront`]: a guest's `xen-pcifront`, as Linux's behaves (same
//!   keys, same states, same op handshake); [`Toolstack`]: dom0 writing
//!   the nodes as libxl lays them out, for a driver-domain backend.

#[cfg(feature = "sim")]
mod executor;
mod fakes;
pub mod nic;
#[cfg(feature = "sim")]
mod pcifront;
#[cfg(feature = "sim")]
mod platform;
#[cfg(feature = "sim")]
mod toolstack;
#[cfg(feature = "sim")]
mod world;

#[cfg(feature = "sim")]
pub use executor::SimExecutor;
pub use fakes::{FakeDelay, FakeInterrupts, InterruptCall, at_once};
#[cfg(feature = "sim")]
pub use pcifront::SimPcifront;
#[cfg(feature = "sim")]
pub use platform::{Assignment, SimPlatform, SimPort};
#[cfg(feature = "sim")]
pub use toolstack::{PciDevice, Toolstack};
#[cfg(feature = "sim")]
pub use world::{SimStore, SimWorld};
