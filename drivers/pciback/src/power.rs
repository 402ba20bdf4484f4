// SPDX-License-Identifier: MIT OR Apache-2.0
//! Power-state changes: Linux's `pci_set_power_state` for D0-D3hot.
//!
//! Going to D0 is always allowed; from D3hot it takes 10 ms, from D2
//! 200 µs, and a function that resets itself on D3hot→D0 (PMCSR
//! No_Soft_Reset clear) gets its BARs written back. Going to a low-power
//! state is allowed only deeper than the current one, and to D1 or D2 only
//! if the function supports them; entering D3hot takes 10 ms, D2 200 µs.
//! The current state is read from the hardware (Linux caches it).

use core::time::Duration;

use pci::ConfigAccess;
use pci::capability::PowerState;
use pci::register::power_management as pm;

use crate::Delay;
use crate::hardware::{Hardware, at};
use crate::state::DeviceState;

/// PCI PM 1.2: the wait after entering or leaving D3hot (`PCI_PM_D3HOT_WAIT`).
const D3HOT_DELAY: Duration = Duration::from_millis(10);
/// PCI PM 1.2: the wait after entering or leaving D2 (`PCI_PM_D2_DELAY`).
const D2_DELAY: Duration = Duration::from_micros(200);

/// Why a power-state change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PowerError {
    /// Linux's `-EINVAL`: from a low-power state only D0 or deeper.
    InvalidTransition,
    /// Linux's `-EIO`: the state is not supported, or the registers read all ones.
    Unsupported,
}

/// The state PMCSR bits 1:0 of `pmcsr` name.
pub(crate) fn state_from_bits(pmcsr: u16) -> PowerState {
    match pmcsr & pm::PMCSR_STATE_MASK {
        0 => PowerState::D0,
        1 => PowerState::D1,
        2 => PowerState::D2,
        _ => PowerState::D3Hot,
    }
}

/// PMCSR bits 1:0 for `state`.
fn bits(state: PowerState) -> u16 {
    match state {
        PowerState::D0 => 0,
        PowerState::D1 => 1,
        PowerState::D2 => 2,
        PowerState::D3Hot => 3,
    }
}

/// The wait after entering or leaving `state`.
pub(crate) fn transition_delay(state: PowerState) -> Duration {
    match state {
        PowerState::D3Hot => D3HOT_DELAY,
        PowerState::D2 => D2_DELAY,
        PowerState::D0 | PowerState::D1 => Duration::ZERO,
    }
}

/// The function's current power state (D0 without a PM capability).
pub(crate) fn current<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
) -> PowerState {
    state
        .capabilities
        .power_management
        .map_or(PowerState::D0, |offset| {
            state_from_bits(hw.read16(at(offset, pm::CONTROL_STATUS)))
        })
}

/// Puts the function in `target` (Linux's `pci_set_power_state`).
pub(crate) async fn set_state<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
    delay: &D,
    target: PowerState,
) -> Result<(), PowerError> {
    let Some(capability) = state.capabilities.power_management else {
        // Without PM, D0 is where the function always is.
        return if target == PowerState::D0 {
            Ok(())
        } else {
            Err(PowerError::Unsupported)
        };
    };
    let register = at(capability, pm::CONTROL_STATUS);
    let pmcsr = hw.read16(register);
    if pmcsr == u16::MAX {
        return Err(PowerError::Unsupported);
    }
    let from = state_from_bits(pmcsr);
    if from == target {
        return Ok(());
    }
    if target != PowerState::D0 {
        if from != PowerState::D0 && bits(from) > bits(target) {
            return Err(PowerError::InvalidTransition);
        }
        let supported = match target {
            PowerState::D1 => state.power_support.d1,
            PowerState::D2 => state.power_support.d2,
            PowerState::D0 | PowerState::D3Hot => true,
        };
        if !supported {
            return Err(PowerError::Unsupported);
        }
    }
    hw.write16(register, (pmcsr & !pm::PMCSR_STATE_MASK) | bits(target));
    let wait = if target == PowerState::D0 {
        transition_delay(from)
    } else {
        transition_delay(target)
    };
    if !wait.is_zero() {
        delay.wait(wait).await;
    }
    let after = hw.read16(register);
    let reached = state_from_bits(after);
    if reached != target {
        debug!(
            "pciback {}: refused to change power state from {from} to {target}",
            state.address
        );
    } else if from == PowerState::D3Hot && after & pm::PMCSR_NO_SOFT_RESET == 0 {
        // D3hot→D0 reset the function ("D0 uninitialized"): give it its BARs back.
        state.resources.restore(hw);
    }
    Ok(())
}
