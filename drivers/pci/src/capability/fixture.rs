// SPDX-License-Identifier: MIT OR Apache-2.0
//! The function the capability tests describe, on a simulated bus.
//!
//! One endpoint at 0000:00:03.0; each test adds the capabilities (or the
//! hostile bytes) it needs.

use crate::Address;
use crate::sim::{SimBus, SimDevice};

/// Where the function sits.
pub(super) const FUNCTION: Address = match Address::new(0, 0, 3, 0) {
    Some(address) => address,
    None => unreachable!(),
};

/// A bus with `device` at [`FUNCTION`] and nothing else.
pub(super) fn bus(device: SimDevice) -> SimBus {
    SimBus::new().device(FUNCTION, device)
}

/// An Ethernet endpoint with no capabilities yet.
pub(super) fn endpoint() -> SimDevice {
    SimDevice::endpoint(0x1af4, 0x1041, 0x02_00_00)
}
