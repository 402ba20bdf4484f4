// SPDX-License-Identifier: MIT OR Apache-2.0
//! Enabling a function and its bus mastering: Linux's `pci_enable_device` and friends.
//!
//! What the PCI core does when a driver enables a device, as the backend
//! does it on a guest's behalf (a command-register write,
//! `config::command`) and on its own (taking and releasing a device,
//! `ownership`).

use pci::ConfigAccess;
use pci::capability::PowerState;
use pci::register::{self, Command};

use crate::Delay;
use crate::hardware::Hardware;
use crate::power;
use crate::resources::Unassigned;
use crate::state::{DeviceState, InterruptMode};

/// x86's `pci_cache_line_size`: the 64-byte CPU cache line, in dwords.
const CACHE_LINE_DWORDS: u8 = 16;
/// `pcibios_set_master`: latency timers below this are raised...
const MINIMUM_LATENCY: u8 = 16;
/// ... to this.
const DEFAULT_LATENCY: u8 = 64;

/// Rewrites the command register with `change` applied, if that changes it.
pub(crate) fn update<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    change: impl FnOnce(Command) -> Command,
) {
    let old = Command::from_bits_retain(hw.read16(register::COMMAND));
    let new = change(old);
    if new != old {
        hw.write16(register::COMMAND, new.bits());
    }
}

/// Linux's `pci_enable_device`: powers the function up, turns on the
/// decoding its resources need and, unless MSI or MSI-X is on, unmasks INTx
/// of a function that has an interrupt pin. Fails, changing nothing, when a
/// resource is unassigned.
pub(crate) async fn enable_device<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    delay: &D,
) -> Result<(), Unassigned> {
    // Linux goes on when the power change fails with -EIO, the only way it
    // can fail here (the PM registers read all ones).
    let _ = power::set_state(hw, state, delay, PowerState::D0).await;
    let decode = state.resources.decode()?;
    update(hw, |command| command.union(decode));
    if matches!(state.interrupts, InterruptMode::Intx) && state.interrupt_pin != 0 {
        update(hw, |command| command.difference(Command::INTERRUPT_DISABLE));
    }
    state.enabled = true;
    Ok(())
}

/// Linux's `pci_disable_device`: bus mastering off; decoding stays on.
pub(crate) fn disable_device<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
) {
    update(hw, |command| command.difference(Command::BUS_MASTER));
    state.enabled = false;
    state.bus_master = false;
}

/// Linux's `__pci_set_master`.
pub(crate) fn set_bus_master<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    enable: bool,
) {
    update(hw, |mut command| {
        command.set(Command::BUS_MASTER, enable);
        command
    });
    state.bus_master = enable;
}

/// Linux's `pci_set_master`, with x86's `pcibios_set_master`: a conventional
/// function's latency timer below 16 becomes 64.
pub(crate) fn set_master<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &mut DeviceState) {
    set_bus_master(hw, state, true);
    if state.pcie.is_none() && hw.read8(register::LATENCY_TIMER) < MINIMUM_LATENCY {
        hw.write8(register::LATENCY_TIMER, DEFAULT_LATENCY);
    }
}

/// Linux's `pci_set_mwi` on x86: the cache line size register must hold a
/// multiple of the CPU's line (it is set to the line if not, and must keep
/// it); then MWI is enabled. Returns whether it is.
pub(crate) fn set_memory_write_invalidate<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>) -> bool {
    let size = hw.read8(register::CACHE_LINE_SIZE);
    if size < CACHE_LINE_DWORDS || size % CACHE_LINE_DWORDS != 0 {
        hw.write8(register::CACHE_LINE_SIZE, CACHE_LINE_DWORDS);
        if hw.read8(register::CACHE_LINE_SIZE) != CACHE_LINE_DWORDS {
            return false;
        }
    }
    update(hw, |command| {
        command.union(Command::MEMORY_WRITE_INVALIDATE)
    });
    true
}
