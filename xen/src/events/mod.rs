// SPDX-License-Identifier: MIT OR Apache-2.0
//! 2-level event channels: the upcall scan, masking, and owned ports.
//!
//! Xen marks port *p* pending by setting bit *p* of `evtchn_pending`, then
//! (unless the port is masked) bit *p / 64* of the vCPU's
//! `evtchn_pending_sel`, then `evtchn_upcall_pending`, and injects the
//! callback vector. [`UpcallScanner`] undoes that in the order Xen defines;
//! [`BoundPort`] owns a port and closes it when dropped.

mod bits;
mod port;
mod scan;

pub use bits::{PortOutOfRange, clear_mask, clear_pending, is_masked, is_pending, mask, unmask};
pub use port::BoundPort;
pub use scan::UpcallScanner;
