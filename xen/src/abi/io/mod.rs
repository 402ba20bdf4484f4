// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/io/`: the split-driver protocols.
//!
//! One module per header: console ring, XenStore wire format, XenBus states,
//! and the PCI frontend/backend protocol.

pub mod console;
pub mod pciif;
pub mod xenbus;
pub mod xs_wire;
