// SPDX-License-Identifier: MIT OR Apache-2.0
//! The command register after XSA-120: Linux's `command_read` and `command_write`.
//!
//! The guest never writes the command register directly. A write is read
//! as a request: memory or I/O decode asked for while the device is
//! disabled enables it (`pci_enable_device`: power on, decoding for the
//! resources it has, INTx unmasked); neither asked for while enabled
//! disables it (`pci_disable_device`: bus mastering off, decoding left on,
//! since CVE-2015-8553); a bus-master change sets or clears bus mastering
//! (`pci_set_master` also raises a conventional device's latency timer
//! below 16 to 64); a Memory-Write-Invalidate change goes through
//! `pci_set_mwi`/`pci_clear_mwi`. The value written is cached, and a read
//! answers the hardware for the bits in [`GUEST`] and the cached value for
//! the others, so the guest reads back what it wrote without being able to
//! switch off decoding, SERR or parity reporting. In permissive mode the
//! [`GUEST`] bits of the write also go to the hardware.
//!
//! Linux lets INTx masking through only with `allow_interrupt_control`, a
//! sysfs switch for QEMU stub domains that PV guests never need; it is not
//! offered here, so INTX_DISABLE stays virtual.

use log::debug;
use pci::ConfigAccess;
use pci::register::{self, Command};
use xen::Errno;

use super::field::Context;
use crate::Delay;
use crate::device::DeviceState;
use crate::error::OpError;
use crate::hardware::Hardware;
use crate::interrupts::InterruptMode;
use crate::power;
use crate::resources::Unassigned;
use pci::capability::PowerState;

/// Linux's `PCI_COMMAND_GUEST`: bits a guest controls in hardware, in
/// permissive mode only.
pub(crate) const GUEST: Command = Command::BUS_MASTER
    .union(Command::SPECIAL_CYCLES)
    .union(Command::MEMORY_WRITE_INVALIDATE)
    .union(Command::VGA_PALETTE_SNOOP)
    .union(Command::WAIT_CYCLE)
    .union(Command::FAST_BACK_TO_BACK);

/// x86's `pci_cache_line_size`: the 64-byte CPU cache line, in dwords.
const CACHE_LINE_DWORDS: u8 = 16;
/// `pcibios_set_master`: latency timers below this are raised...
const MINIMUM_LATENCY: u8 = 16;
/// ... to this.
const DEFAULT_LATENCY: u8 = 64;

/// What the guest reads: hardware for [`GUEST`] bits, the cached value for the rest.
pub(super) fn read<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    offset: u16,
    cached: u16,
) -> u16 {
    (hw.read16(offset) & GUEST.bits()) | (cached & !GUEST.bits())
}

/// A guest write of `value` (Linux's `command_write`).
pub(super) async fn write<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    context: &mut Context<'_, '_, A, D>,
    offset: u16,
    cached: &mut u16,
    value: u16,
) -> Result<(), OpError> {
    let hw = context.hw;
    let state = &mut *context.state;
    let requested = Command::from_bits_retain(value);
    let mut value = value;
    if !state.enabled && requested.intersects(Command::DECODE) {
        debug!("pciback {}: enable", state.address);
        enable_device(hw, state, context.delay)
            .await
            .map_err(|_unassigned| OpError::Errno(Errno::EINVAL))?;
    } else if state.enabled && !requested.intersects(Command::DECODE) {
        debug!("pciback {}: disable", state.address);
        disable_device(hw, state);
    }

    if !state.bus_master && requested.contains(Command::BUS_MASTER) {
        set_master(hw, state);
    } else if state.bus_master && !requested.contains(Command::BUS_MASTER) {
        set_bus_master(hw, state, false);
    }

    let invalidate = Command::MEMORY_WRITE_INVALIDATE;
    let had_invalidate = Command::from_bits_retain(*cached).contains(invalidate);
    if !had_invalidate && requested.contains(invalidate) {
        if !set_memory_write_invalidate(hw) {
            debug!(
                "pciback {}: cannot enable memory-write-invalidate",
                state.address
            );
            value &= !invalidate.bits();
        }
    } else if had_invalidate && !requested.contains(invalidate) {
        update(hw, |command| command.difference(invalidate));
    }

    *cached = value;
    if !context.permissive {
        return Ok(());
    }
    let current = hw.read16(offset);
    if current != value {
        hw.write16(offset, (value & GUEST.bits()) | (current & !GUEST.bits()));
    }
    Ok(())
}

/// Rewrites the command register with `change` applied, if that changes it.
fn update<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, change: impl FnOnce(Command) -> Command) {
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
    if state.interrupts == InterruptMode::Intx && state.interrupt_pin != 0 {
        update(hw, |command| command.difference(Command::INTERRUPT_DISABLE));
    }
    state.enabled = true;
    Ok(())
}

/// Linux's `pci_disable_device`: bus mastering off; decoding stays on.
fn disable_device<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &mut DeviceState) {
    update(hw, |command| command.difference(Command::BUS_MASTER));
    state.enabled = false;
    state.bus_master = false;
}

/// Linux's `__pci_set_master`.
fn set_bus_master<A: ConfigAccess + ?Sized>(
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
fn set_master<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &mut DeviceState) {
    set_bus_master(hw, state, true);
    if state.pcie.is_none() && hw.read8(register::LATENCY_TIMER) < MINIMUM_LATENCY {
        hw.write8(register::LATENCY_TIMER, DEFAULT_LATENCY);
    }
}

/// Linux's `pci_set_mwi` on x86: the cache line size register must hold a
/// multiple of the CPU's line (it is set to the line if not, and must keep
/// it); then MWI is enabled. Returns whether it is.
fn set_memory_write_invalidate<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>) -> bool {
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

/// Leaves the function quiet for its next user (Linux's
/// `xen_pcibk_reset_device`, after interrupts are off): an endpoint is
/// disabled and loses bus mastering, a bridge loses Memory-Write-Invalidate.
///
/// Linux clears an endpoint's bus-master bit only when the device was
/// enabled; here it is cleared in any case, so a guest that set bus
/// mastering without enabling the device cannot leave DMA on.
pub(crate) fn quiesce<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &mut DeviceState) {
    if state.is_bridge {
        update(hw, |command| {
            command.difference(Command::MEMORY_WRITE_INVALIDATE)
        });
    } else {
        disable_device(hw, state);
    }
    state.bus_master = false;
}
