// SPDX-License-Identifier: MIT OR Apache-2.0
//! A simulated PCI bus with real register semantics, for host tests.
//!
//! Each function has 4 KiB of configuration space in which every bit is
//! read-only, read-write, or write-1-to-clear. BARs size themselves the way
//! hardware does (their low address bits are read-only zeros), capability
//! lists are laid out by the builder, and every write is recorded so a test
//! can check what a driver did and in which order. Functions that do not
//! exist read all ones. Raw setters let a test plant hostile data.
//!
//! ```
//! use pci::sim::{SimBar, SimBus, SimDevice};
//! use pci::{Address, ConfigAccess};
//!
//! let nic = Address::new(0, 0, 2, 0).unwrap();
//! let bus = SimBus::new().device(
//!     nic,
//!     SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00)
//!         .bar(0, SimBar::memory32(0x2_0000).at(0xfebc_0000))
//!         .bar(2, SimBar::io(0x20).at(0xc000))
//!         .pm()
//!         .msi(1, true, false),
//! );
//! assert_eq!(bus.read16(nic, 0), 0x8086);
//! ```
//!
//! Capabilities are placed in the order they are added: standard ones from
//! 0x40 up, extended ones from 0x100 up, each at the previous one's offset
//! plus its length rounded up to 4.
//!
//! One job a file: `space` holds a function's bytes and what a write does to
//! them, `device` lays out the header and BARs, `capabilities` the capability
//! lists, and `bus` puts functions at addresses behind
//! [`ConfigAccess`](crate::ConfigAccess).

mod bus;
mod capabilities;
mod device;
mod space;

pub use bus::{ConfigAccessEvent, ConfigWrite, Observer, SimBus};
pub use device::{SimBar, SimDevice};
