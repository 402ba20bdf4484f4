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

    /// Parses a XenStore `state` value: decimal digits, as Linux writes them
    /// (`"%d"`); a trailing NUL is tolerated.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let digits = value.strip_suffix(b"\0").unwrap_or(value);
        if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let raw = digits.iter().try_fold(0u32, |acc, d| {
            acc.checked_mul(10)?
                .checked_add(u32::from(d.checked_sub(b'0')?))
        })?;
        Self::from_raw(raw)
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

impl fmt::Display for XenbusState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
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
            assert_eq!(XenbusState::parse(state.as_str().as_bytes()), Some(state));
        }
        assert_eq!(XenbusState::from_raw(9), None);
    }

    #[test]
    fn parse_rejects_junk() {
        assert_eq!(XenbusState::parse(b"4\0"), Some(XenbusState::Connected));
        for junk in [
            &b""[..],
            b"-1",
            b"9",
            b" 4",
            b"4 ",
            b"0x4",
            b"99999999999",
            b"\xff",
        ] {
            assert_eq!(XenbusState::parse(junk), None, "{junk:?}");
        }
    }
}
