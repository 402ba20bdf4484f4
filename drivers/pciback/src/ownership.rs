// SPDX-License-Identifier: MIT OR Apache-2.0
//! Taking a function for the backend and handing it back: Linux's `pci_stub.c`.
//!
//! Taking (`pcistub_init_device`): build the virtual configuration space
//! (which caches the command register and turns PME generation off), enable
//! the function (power, decoding), save its configuration, reset it,
//! restore the saved configuration, and leave it disabled without bus
//! mastering (`xen_pcibk_reset_device`). Releasing (`pcistub_put_pci_dev`):
//! reset, restore the configuration saved at take time (not the guest's),
//! turn off the guest's MSI or MSI-X, disable, and forget the guest's BAR
//! sizing. Decoding stays as it was saved (on), as Linux leaves it since
//! CVE-2015-8553: a guest that touches a BAR before enabling the device
//! must not get an Unsupported Request.
//!
//! Differences from Linux, on purpose: a function with no safe reset method
//! is taken with a warning on the console (Linux says nothing), and one
//! whose reset does not complete is not taken ([`TakeError::Reset`]);
//! before a release's reset the function
//! is brought to D0, so a guest that left it in D3hot does not defeat the PM
//! reset; and bus mastering is cleared on release whether or not the guest
//! enabled the device.

use alloc::vec::Vec;
use core::fmt;

use pci::capability::PowerState;
use pci::register::Command;
use pci::{Address, ConfigAccess, HeaderLayout, Topology};

use crate::config::{ConfigSpace, Quirk};
use crate::device::{Device, DeviceOptions};
use crate::enable::{self, disable_device, update};
use crate::hardware::Hardware;
use crate::interrupts::{self, InterruptControl};
use crate::isolation::Sharing;
use crate::reset::{self, ResetError, ResetErrorKind, ResetMethod};
use crate::resources::Unassigned;
use crate::saved::SavedState;
use crate::state::{DeviceState, Placement};
use crate::{Delay, power};

/// Why a function was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TakeError {
    /// Enumeration did not find it.
    NotFound(Address),
    /// Its header is neither type 0 nor type 1 (Linux refuses these too).
    UnsupportedHeader {
        /// The function.
        function: Address,
        /// The header layout.
        layout: u8,
    },
    /// A BAR (0-5; 6 for the ROM) has no address, so the function cannot be
    /// enabled (Linux's `pci_enable_resources`).
    UnassignedBar {
        /// The function.
        function: Address,
        /// The BAR slot, or 6 for the expansion ROM.
        index: u8,
    },
    /// The reset did not complete: the function stopped answering.
    Reset(ResetError),
}

impl fmt::Display for TakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(function) => write!(f, "{function}: no such function"),
            Self::UnsupportedHeader { function, layout } => write!(
                f,
                "{function}: header type {layout} is neither an endpoint (0) nor a bridge (1)"
            ),
            Self::UnassignedBar { function, index } => {
                write!(f, "{function}: BAR {index} has no address; can't enable")
            }
            Self::Reset(error) => write!(f, "{error}"),
        }
    }
}

impl core::error::Error for TakeError {}

/// The ROM's place in [`TakeError::UnassignedBar`].
const ROM_INDEX: u8 = 6;

impl Device {
    /// Takes the function at `address`, which enumeration found in
    /// `topology`, for the backend. `quirks` lists the quirks to apply to
    /// matching devices.
    pub async fn take<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
        access: &A,
        topology: &Topology,
        address: Address,
        options: &DeviceOptions,
        quirks: &[Quirk],
        delay: &D,
    ) -> Result<Self, TakeError> {
        let function = topology.get(address).ok_or(TakeError::NotFound(address))?;
        let is_bridge = match function.header {
            HeaderLayout::Endpoint => false,
            HeaderLayout::Bridge => true,
            other => {
                return Err(TakeError::UnsupportedHeader {
                    function: address,
                    layout: other.raw(),
                });
            }
        };
        let hw = Hardware::new(access, address);
        let mut state = DeviceState::new(&hw, function, is_bridge, options.permissive);
        let config = ConfigSpace::build(&hw, &state, quirks);
        let placement = Placement::new(topology, function);
        enable::enable_device(&hw, &mut state, delay)
            .await
            .map_err(|unassigned| TakeError::UnassignedBar {
                function: address,
                index: match unassigned {
                    Unassigned::Bar(index) => index,
                    Unassigned::Rom => ROM_INDEX,
                },
            })?;
        let saved = SavedState::save(&hw, &state);
        match reset::reset(&hw, &state, &placement, delay).await {
            Ok(method) => info!("pciback {address}: taken, reset by {method}"),
            // As Linux does, serve it anyway; unlike Linux, say so loudly.
            Err(
                error @ ResetError {
                    kind: ResetErrorKind::Unsupported { .. },
                    ..
                },
            ) => warn!(
                "pciback {address}: taken WITHOUT A RESET ({error}): what one guest leaves \
                 in the device, the next one finds"
            ),
            Err(error) => return Err(TakeError::Reset(error)),
        }
        saved.restore(&hw, &state, delay).await;
        quiesce(&hw, &mut state);
        Ok(Self {
            state,
            config,
            saved,
            placement,
            sharing: Sharing::default(),
        })
    }

    /// Hands the function back from a guest: reset, the configuration saved
    /// at take time restored, the guest's MSI or MSI-X turned off through
    /// `interrupts`, disabled, bus mastering off, its GSI forgotten. All of
    /// that happens even when the reset fails; the error says why, and is
    /// the caller's to log (once, with what it then does with the device).
    pub async fn release<
        A: ConfigAccess + ?Sized,
        I: InterruptControl + ?Sized,
        D: Delay + ?Sized,
    >(
        &mut self,
        access: &A,
        interrupts: &mut I,
        delay: &D,
    ) -> Result<ResetMethod, ResetError> {
        let hw = Hardware::new(access, self.state.address);
        if power::set_state(&hw, &self.state, delay, PowerState::D0)
            .await
            .is_err()
        {
            warn!(
                "pciback {}: could not bring it back to D0",
                self.state.address
            );
        }
        let reset = reset::reset(&hw, &self.state, &self.placement, delay).await;
        self.saved.restore(&hw, &self.state, delay).await;
        interrupts::release(&hw, &mut self.state, interrupts);
        quiesce(&hw, &mut self.state);
        self.config.reset();
        self.state.gsi = None;
        if let Ok(method) = &reset {
            info!(
                "pciback {}: released, reset by {method}",
                self.state.address
            );
        }
        reset
    }
}

/// Leaves the function quiet for its next user (Linux's
/// `xen_pcibk_reset_device`, after interrupts are off): an endpoint is
/// disabled and loses bus mastering, a bridge loses Memory-Write-Invalidate.
///
/// Linux clears an endpoint's bus-master bit only when the device was
/// enabled; here it is cleared in any case, so a guest that set bus
/// mastering without enabling the device cannot leave DMA on.
fn quiesce<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &mut DeviceState) {
    if state.is_bridge {
        update(hw, |command| {
            command.difference(Command::MEMORY_WRITE_INVALIDATE)
        });
    } else {
        disable_device(hw, state);
    }
    state.bus_master = false;
}

/// Records on each of `devices` (every function this domain took) the pages
/// it shares with other functions of its segment's enumeration
/// (`topology`), and warns about those shared with a function not taken:
/// such a device is never given to a guest (XSA-461). Call it once they
/// are all taken.
pub fn record_shared_pages<'a>(
    devices: &mut [Device],
    topology: impl Fn(Address) -> Option<&'a Topology>,
) {
    let taken: Vec<Address> = devices.iter().map(Device::address).collect();
    for device in devices.iter_mut() {
        let address = device.address();
        if let Some(topology) = topology(address) {
            device.sharing = Sharing::find(topology, address, &taken);
        }
    }
}
