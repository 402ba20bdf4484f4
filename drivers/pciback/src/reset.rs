// SPDX-License-Identifier: MIT OR Apache-2.0
//! Resetting a function with the strongest method it supports, or refusing.
//!
//! Linux's `__pci_reset_function_locked` tries, in order, the methods that
//! do not need ACPI or device-specific code:
//! 1. PCIe function-level reset (Device Capabilities bit 28): wait for
//!    pending transactions, set Device Control "initiate FLR", wait 100 ms;
//! 2. Advanced Features FLR (conventional PCI), the same through the AF
//!    capability;
//! 3. PM reset: D3hot then D0, 10 ms each, when PMCSR No_Soft_Reset is
//!    clear (otherwise the function keeps its state across D3hot);
//! 4. secondary bus reset through the parent bridge's Bridge Control, when
//!    the function is alone on its bus and is not itself a bridge: assert
//!    2 ms, release, then wait 100 ms below a PCIe port, 1.1 s below a
//!    conventional bridge.
//!
//! After FLR, PM and PCIe bus resets the function may still answer
//! configuration reads with retry status (all ones): it is polled, waiting
//! 1, 2, 4 ... ms, for up to 60 s. A function with Immediate Readiness
//! needs no wait after FLR.
//!
//! Where Linux goes on without a reset when no method applies, this backend
//! refuses with a [`ResetError`] naming why each fallback was unusable: a
//! device that cannot be reset is not handed to a guest. Differences in the
//! waits: below a PCIe-to-PCI bridge (a conventional secondary bus) the
//! bus-reset wait is the conventional 1.1 s, where Linux waits nothing;
//! above 5 GT/s Linux also waits for the link to come up, which the
//! readiness poll covers here.

use core::fmt;
use core::time::Duration;

use pci::capability::PowerState;
use pci::register::{self, advanced_features as af, bridge, pcie, power_management as pm};
use pci::{Address, ConfigAccess};

use crate::Delay;
use crate::hardware::{Hardware, at};
use crate::power;
use crate::state::{DeviceState, Placement};

/// How long a function may take to finish an FLR (PCIe r4.0, 6.6.2).
const FLR_DELAY: Duration = Duration::from_millis(100);
/// How long the bus reset is asserted (PCI 3.0 Trst, doubled as Linux does).
const BUS_RESET_ASSERT: Duration = Duration::from_millis(2);
/// The wait after a bus reset below a PCIe port (`PCI_PM_D3COLD_WAIT`).
const PCIE_BUS_RESET_DELAY: Duration = Duration::from_millis(100);
/// The wait after a bus reset of a conventional bus (Tpvrh + Trhfa).
const CONVENTIONAL_BUS_RESET_DELAY: Duration = Duration::from_millis(1100);
/// The longest the readiness poll waits (`PCIE_RESET_READY_POLL_MS`).
const READY_TIMEOUT_MS: u64 = 60_000;
/// Polls of the transactions-pending bit before an FLR (`pci_wait_for_pending`).
const PENDING_POLLS: u32 = 4;
/// The first wait between those polls; each next one doubles.
const PENDING_POLL_DELAY_MS: u64 = 100;

/// How a function was reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetMethod {
    /// PCIe function-level reset.
    FunctionLevel,
    /// Advanced Features function-level reset (conventional PCI).
    AdvancedFeatures,
    /// D3hot then D0.
    PowerManagement,
    /// Secondary bus reset through `bridge`.
    SecondaryBus {
        /// The parent bridge.
        bridge: Address,
    },
}

impl fmt::Display for ResetMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FunctionLevel => f.write_str("function-level reset"),
            Self::AdvancedFeatures => f.write_str("AF function-level reset"),
            Self::PowerManagement => f.write_str("PM reset (D3hot to D0)"),
            Self::SecondaryBus { bridge } => write!(f, "secondary bus reset through {bridge}"),
        }
    }
}

/// Why a PM reset cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PmResetUnavailable {
    /// The function has no Power Management capability.
    NoCapability,
    /// PMCSR No_Soft_Reset is set: D3hot→D0 keeps the function's state.
    NoSoftReset,
}

impl fmt::Display for PmResetUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCapability => "no power management capability",
            Self::NoSoftReset => "D3hot to D0 does not reset it (No_Soft_Reset)",
        })
    }
}

/// Why a secondary bus reset cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BusResetUnavailable {
    /// The function sits on a root bus: no bridge to reset it through.
    RootBus,
    /// The function is a bridge: the reset would hit the bus behind it.
    Bridge,
    /// `neighbour` shares the bus and would be reset too.
    SharedBus {
        /// Another function on the bus.
        neighbour: Address,
    },
}

impl fmt::Display for BusResetUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RootBus => f.write_str("on a root bus"),
            Self::Bridge => f.write_str("it is a bridge"),
            Self::SharedBus { neighbour } => write!(f, "{neighbour} shares its bus"),
        }
    }
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetErrorKind {
    /// No method is safe: no FLR, and the fallbacks are unusable for these reasons.
    Unsupported {
        /// Why not a PM reset.
        power_management: PmResetUnavailable,
        /// Why not a secondary bus reset.
        secondary_bus: BusResetUnavailable,
    },
    /// The function still answered all ones `waited` after `method`.
    NotReady {
        /// The reset done.
        method: ResetMethod,
        /// How long it was polled.
        waited: Duration,
    },
}

/// A function could not be reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResetError {
    /// The function.
    pub function: Address,
    /// Why.
    pub kind: ResetErrorKind,
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ResetErrorKind::Unsupported {
                power_management,
                secondary_bus,
            } => write!(
                f,
                "{}: no safe reset: no function-level reset, no PM reset ({power_management}), \
                 no bus reset ({secondary_bus})",
                self.function
            ),
            ResetErrorKind::NotReady { method, waited } => write!(
                f,
                "{}: not ready {} ms after {method}",
                self.function,
                // In u64: formatting a u128 costs the image a kilobyte.
                u64::try_from(waited.as_millis()).unwrap_or(u64::MAX)
            ),
        }
    }
}

impl core::error::Error for ResetError {}

/// Resets the function with the first method it supports.
pub(crate) async fn reset<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
    placement: &Placement,
    delay: &D,
) -> Result<ResetMethod, ResetError> {
    let not_ready = |method: ResetMethod| {
        move |waited| ResetError {
            function: state.address,
            kind: ResetErrorKind::NotReady { method, waited },
        }
    };
    if let Some(info) = state.pcie.filter(|info| info.function_level_reset) {
        let method = ResetMethod::FunctionLevel;
        wait_for_pending(
            hw,
            delay,
            at(info.offset, pcie::DEVICE_STATUS),
            pcie::DEVICE_STATUS_TRANSACTIONS_PENDING,
        )
        .await;
        let control = at(info.offset, pcie::DEVICE_CONTROL);
        hw.write16(
            control,
            hw.read16(control) | pcie::DEVICE_CONTROL_INITIATE_FLR,
        );
        return after_flr(hw, state, delay)
            .await
            .map(|()| method)
            .map_err(not_ready(method));
    }
    if let Some(capability) = state.capabilities.advanced_features {
        let flags = hw.read8(at(capability, af::CAPABILITIES));
        let needed = af::CAPABILITY_TRANSACTIONS_PENDING | af::CAPABILITY_FLR;
        if flags & needed == needed {
            let method = ResetMethod::AdvancedFeatures;
            let control = at(capability, af::CONTROL);
            wait_for_pending(hw, delay, control, af::STATUS_TRANSACTIONS_PENDING_WORD).await;
            hw.write8(control, af::CONTROL_FLR);
            return after_flr(hw, state, delay)
                .await
                .map(|()| method)
                .map_err(not_ready(method));
        }
    }
    let power_management = match pm_reset_register(hw, state) {
        Ok(register) => {
            let method = ResetMethod::PowerManagement;
            return pm_reset(hw, delay, register)
                .await
                .map(|()| method)
                .map_err(not_ready(method));
        }
        Err(reason) => reason,
    };
    let secondary_bus = match bus_reset_bridge(state, placement) {
        Ok(bridge) => {
            let method = ResetMethod::SecondaryBus { bridge };
            return bus_reset(hw, placement, delay, bridge)
                .await
                .map(|()| method)
                .map_err(not_ready(method));
        }
        Err(reason) => reason,
    };
    Err(ResetError {
        function: state.address,
        kind: ResetErrorKind::Unsupported {
            power_management,
            secondary_bus,
        },
    })
}

/// Linux's `pci_wait_for_pending`: polls `mask` in the word at `offset`
/// until clear, up to four times; a timeout is only reported.
async fn wait_for_pending<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    delay: &D,
    offset: u16,
    mask: u16,
) {
    for poll in 0..PENDING_POLLS {
        if poll != 0 {
            let wait_ms = PENDING_POLL_DELAY_MS << poll.saturating_sub(1);
            delay.wait(Duration::from_millis(wait_ms)).await;
        }
        if hw.read16(offset) & mask == 0 {
            return;
        }
    }
    warn!(
        "pciback {}: transactions still pending; resetting anyway",
        hw.address()
    );
}

/// The wait after an FLR: none with Immediate Readiness, else 100 ms and the poll.
async fn after_flr<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
    delay: &D,
) -> Result<(), Duration> {
    if state.immediate_readiness {
        return Ok(());
    }
    delay.wait(FLR_DELAY).await;
    wait_until_ready(hw, delay, READY_TIMEOUT_MS).await
}

/// The PMCSR to reset through, or why a PM reset does not apply.
fn pm_reset_register<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
) -> Result<u16, PmResetUnavailable> {
    let capability = state
        .capabilities
        .power_management
        .ok_or(PmResetUnavailable::NoCapability)?;
    let register = at(capability, pm::CONTROL_STATUS);
    if hw.read16(register) & pm::PMCSR_NO_SOFT_RESET != 0 {
        return Err(PmResetUnavailable::NoSoftReset);
    }
    Ok(register)
}

/// Linux's `pci_pm_reset`.
async fn pm_reset<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    delay: &D,
    register: u16,
) -> Result<(), Duration> {
    let settle = power::transition_delay(PowerState::D3Hot);
    let others = hw.read16(register) & !pm::PMCSR_STATE_MASK;
    hw.write16(register, others | pm::PMCSR_STATE_MASK);
    delay.wait(settle).await;
    hw.write16(register, others);
    delay.wait(settle).await;
    wait_until_ready(hw, delay, READY_TIMEOUT_MS).await
}

/// The bridge to reset the function's bus through, or why not (Linux's
/// `pci_parent_bus_reset` conditions).
fn bus_reset_bridge(
    state: &DeviceState,
    placement: &Placement,
) -> Result<Address, BusResetUnavailable> {
    let bridge = *placement
        .upstream
        .first()
        .ok_or(BusResetUnavailable::RootBus)?;
    if state.is_bridge {
        return Err(BusResetUnavailable::Bridge);
    }
    if let Some(neighbour) = placement.neighbour {
        return Err(BusResetUnavailable::SharedBus { neighbour });
    }
    Ok(bridge)
}

/// Linux's `pci_reset_secondary_bus` and `pci_bridge_wait_for_secondary_bus`.
async fn bus_reset<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    placement: &Placement,
    delay: &D,
    bridge: Address,
) -> Result<(), Duration> {
    let parent = hw.other(bridge);
    let control = parent.read16(bridge::BRIDGE_CONTROL);
    parent.write16(
        bridge::BRIDGE_CONTROL,
        control | bridge::BRIDGE_CONTROL_BUS_RESET,
    );
    delay.wait(BUS_RESET_ASSERT).await;
    parent.write16(
        bridge::BRIDGE_CONTROL,
        control & !bridge::BRIDGE_CONTROL_BUS_RESET,
    );
    if placement.parent_is_downstream_port {
        delay.wait(PCIE_BUS_RESET_DELAY).await;
        let waited_ms = u64::try_from(PCIE_BUS_RESET_DELAY.as_millis()).unwrap_or(u64::MAX);
        wait_until_ready(hw, delay, READY_TIMEOUT_MS.saturating_sub(waited_ms)).await
    } else {
        delay.wait(CONVENTIONAL_BUS_RESET_DELAY).await;
        Ok(())
    }
}

/// Linux's `pci_dev_wait`: polls the command register until it reads
/// something other than all ones, waiting 1, 2, 4 ... ms, giving up once the
/// next wait would pass `timeout_ms`. Fails with the time waited.
async fn wait_until_ready<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    delay: &D,
    timeout_ms: u64,
) -> Result<(), Duration> {
    let mut wait_ms: u64 = 1;
    let mut waited_ms: u64 = 0;
    while hw.read32(register::COMMAND) == u32::MAX {
        if wait_ms > timeout_ms {
            return Err(Duration::from_millis(waited_ms));
        }
        delay.wait(Duration::from_millis(wait_ms)).await;
        waited_ms = waited_ms.saturating_add(wait_ms);
        wait_ms = wait_ms.saturating_mul(2);
    }
    Ok(())
}
