// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/io/xenbus.h`: `enum xenbus_state`.
//!
//! Mirrors the Xen 4.17.5 header. States are written to XenStore `state`
//! keys as decimal ASCII.

use core::fmt;

/// `enum xenbus_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XenbusState {
    /// 0: `XenbusStateUnknown`.
    Unknown = 0,
    /// 1: `XenbusStateInitialising`.
    Initialising = 1,
    /// 2: `XenbusStateInitWait`: early setup done, waiting for the peer or hotplug.
    InitWait = 2,
    /// 3: `XenbusStateInitialised`: waiting for the peer to connect.
    Initialised = 3,
    /// 4: `XenbusStateConnected`.
    Connected = 4,
    /// 5: `XenbusStateClosing`.
    Closing = 5,
    /// 6: `XenbusStateClosed`.
    Closed = 6,
    /// 7: `XenbusStateReconfiguring` (PCI hotplug).
    Reconfiguring = 7,
    /// 8: `XenbusStateReconfigured` (PCI hotplug).
    Reconfigured = 8,
}

const STATES: [XenbusState; 9] = [
    XenbusState::Unknown,
    XenbusState::Initialising,
    XenbusState::InitWait,
    XenbusState::Initialised,
    XenbusState::Connected,
    XenbusState::Closing,
    XenbusState::Closed,
    XenbusState::Reconfiguring,
    XenbusState::Reconfigured,
];

impl XenbusState {
    /// The state numbered `raw`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        usize::try_from(raw)
            .ok()
            .and_then(|i| STATES.get(i))
            .copied()
    }

    /// The decimal string written to a `state` key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "0",
            Self::Initialising => "1",
            Self::InitWait => "2",
            Self::Initialised => "3",
            Self::Connected => "4",
            Self::Closing => "5",
            Self::Closed => "6",
            Self::Reconfiguring => "7",
            Self::Reconfigured => "8",
        }
    }
}

/// The state's name without the `XenbusState` prefix (`Connected`), as
/// the console reports it.
impl fmt::Display for XenbusState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unknown => "Unknown",
            Self::Initialising => "Initialising",
            Self::InitWait => "InitWait",
            Self::Initialised => "Initialised",
            Self::Connected => "Connected",
            Self::Closing => "Closing",
            Self::Closed => "Closed",
            Self::Reconfiguring => "Reconfiguring",
            Self::Reconfigured => "Reconfigured",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_header() {
        assert_eq!(XenbusState::InitWait as u32, 2);
        assert_eq!(XenbusState::Connected as u32, 4);
        assert_eq!(XenbusState::Reconfigured as u32, 8);
        for state in STATES {
            assert_eq!(XenbusState::from_raw(state as u32), Some(state));
        }
        assert_eq!(XenbusState::from_raw(9), None);
    }
}
