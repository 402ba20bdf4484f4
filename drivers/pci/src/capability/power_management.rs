// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Power Management capability, decoded: the power states a function supports and the one it is in.
//!
//! Registers and bits are in [`crate::register::power_management`].

use core::fmt;

/// A device power state (PMCSR bits 1:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerState {
    /// Fully on.
    D0,
    /// Light sleep.
    D1,
    /// Deeper sleep.
    D2,
    /// Off, configuration space still answers.
    D3Hot,
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::D0 => "D0",
            Self::D1 => "D1",
            Self::D2 => "D2",
            Self::D3Hot => "D3hot",
        })
    }
}

/// The Power Management capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerManagement {
    /// Version of the PM specification (PMC bits 2:0; 3 is PM 1.2).
    pub version: u8,
    /// D1 supported.
    pub d1: bool,
    /// D2 supported.
    pub d2: bool,
    /// States PME# can be signalled from (PMC bits 15:11: D0, D1, D2, D3hot, D3cold).
    pub pme_support: u8,
    /// The current power state.
    pub state: PowerState,
    /// No soft reset on D3hot to D0: the function keeps its configuration.
    pub no_soft_reset: bool,
}
