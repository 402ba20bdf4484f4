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

use pci::ConfigAccess;
use pci::register::Command;
use xen::Errno;

use super::field::Context;
use crate::Delay;
use crate::enable::{
    disable_device, enable_device, set_bus_master, set_master, set_memory_write_invalidate, update,
};
use crate::error::OpError;
use crate::hardware::Hardware;

/// Linux's `PCI_COMMAND_GUEST`: bits a guest controls in hardware, in
/// permissive mode only.
pub(crate) const GUEST: Command = Command::BUS_MASTER
    .union(Command::SPECIAL_CYCLES)
    .union(Command::MEMORY_WRITE_INVALIDATE)
    .union(Command::VGA_PALETTE_SNOOP)
    .union(Command::WAIT_CYCLE)
    .union(Command::FAST_BACK_TO_BACK);

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
