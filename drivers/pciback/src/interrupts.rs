// SPDX-License-Identifier: MIT OR Apache-2.0
//! MSI and MSI-X for a frontend: the checks of Linux's `pciback_ops.c`, and
//! what Linux's MSI core then does to the device in dom0.
//!
//! This module keeps which interrupts each device has on, answers each op
//! with the `err` and `value` Linux would, and drives the capability
//! registers in Linux's order; the PIRQs themselves are mapped into the
//! frontend behind [`InterruptControl`] (`PHYSDEVOP_map_pirq`:
//! [`crate::xenbus::GuestPirqs`]).
//!
//! | op | refused when | `err`, `value` on refusal | on success |
//! |---|---|---|---|
//! | `enable_msi` | MSI or MSI-X already on, no MSI capability, not in D0, mapping failed | `op_failed`, 0 | 0, the PIRQ |
//! | `disable_msi` | never (does nothing unless MSI or MSI-X is on) | | 0, the current PIRQ |
//! | `enable_msix` | more than 128 vectors (`-EINVAL`); MSI-X on (`-EALREADY`); MSI on or memory decoding off (`-ENXIO`) | errno, the guest's count | 0, 0, a PIRQ per entry |
//! | | no vectors, not in D0, no MSI-X capability, duplicate or out-of-table entries (`-EINVAL`), more vectors than the table (`-ENOSPC`), mapping failed | errno, errno | |
//! | `disable_msix` | never | | 0, the current PIRQ |
//!
//! "The current PIRQ" is Linux's `xen_pirq_from_irq(dev->irq)`: MSI's PIRQ
//! while MSI is on, otherwise the INTx interrupt number
//! ([`crate::Device::irq`]).
//!
//! The registers, as Linux's `msi_capability_init`, `msix_capability_init`,
//! `pci_msi_shutdown` and `pci_msix_shutdown` write them:
//!
//! - MSI on: the PIRQ is mapped (Xen writes the message address and data,
//!   and leaves the enable bit to the hardware domain), INTx is disabled in
//!   the command register, then MSI is enabled with one vector.
//! - MSI-X on: Enable and Function Mask are set first (some devices decode
//!   their table only with MSI-X enabled, and no vector may fire half set
//!   up), each entry is mapped (`table_base`: the address of the BAR that
//!   holds the table, which Xen's `msix_capability_init` checks against
//!   its own reading before it adds the table's offset), INTx is disabled,
//!   then Function Mask is cleared. A failed mapping unmaps the others and
//!   turns both bits off again.
//! - Off: the enable bit is cleared, INTx is enabled again, the PIRQs are
//!   unmapped.
//!
//! A guest cannot do the INTx part itself: pciback keeps the command
//! register's Interrupt Disable virtual, so without it a device with a
//! level interrupt could hold its line asserted under MSI.
//!
//! A deliberate difference from Linux: `disable_msi` on a device in MSI-X
//! mode turns MSI-X off. Linux 6.1's `xen_pv_teardown_msi_irqs` tests
//! `dev->msix_enabled` after `pci_disable_msix` has cleared it, so a
//! guest's `pci_disable_msix` arrives as `disable_msi`; Linux's pciback
//! ignores it, leaving MSI-X on in the device (and INTx dead) and the
//! PIRQs mapped into the guest for its life. Here the device goes back to
//! INTx and the PIRQs are unmapped.

use alloc::vec::Vec;

use pci::capability::PowerState;
use pci::register::{self, Command, msi, msix};
use pci::{Address, ConfigAccess};
use xen::Errno;
use xen::abi::io::pciif::{SH_INFO_MAX_VEC, XenMsixEntry};
use xen::hypercall::physdev::MsixVector;

use crate::enable::update;
use crate::error::{EALREADY, OpError};
use crate::hardware::{Hardware, at};
use crate::power;
use crate::state::{DeviceState, InterruptMode};

/// PIRQ mapping into one frontend: `PHYSDEVOP_map_pirq` and
/// `PHYSDEVOP_unmap_pirq` with the frontend's domid
/// ([`crate::xenbus::GuestPirqs`] makes them).
///
/// `function` is the real address.
pub trait InterruptControl {
    /// Maps MSI (`msix`: `None`) or one MSI-X table entry of `function`
    /// as a PIRQ of the frontend, and returns it. Xen programs the
    /// message (and, for MSI-X, the table entry); the capability's enable
    /// bits are the caller's.
    fn map(&mut self, function: Address, msix: Option<MsixVector>) -> Result<u32, Errno>;

    /// Unmaps a PIRQ [`InterruptControl::map`] returned for `function`.
    /// A failure is the implementation's to report: the backend goes on.
    fn unmap(&mut self, function: Address, pirq: u32);
}

/// What an interrupt op answers: the result and `xen_pci_op.value`.
pub(crate) type Answer = (Result<(), OpError>, u32);

/// The PIRQ the disable ops report.
fn current_pirq(state: &DeviceState) -> u32 {
    match state.interrupts {
        InterruptMode::Msi { pirq, .. } => pirq,
        InterruptMode::Intx | InterruptMode::MsiX { .. } => state.guest_irq(),
    }
}

/// Whether the function is in D0 (MSI and MSI-X need it).
fn powered<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, state: &DeviceState) -> bool {
    power::current(hw, state) == PowerState::D0
}

/// Sets `set` and clears `clear` in the 16-bit control word of the
/// capability at `capability` (MSI's and MSI-X's are at the same place).
fn control<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, capability: u16, set: u16, clear: u16) {
    let at = at(capability, msi::CONTROL);
    let value = hw.read16(at);
    hw.write16(at, (value | set) & !clear);
}

/// INTx on or off in the command register (Linux's `pci_intx_for_msi`).
fn intx<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, enable: bool) {
    update(hw, |mut command| {
        command.set(Command::INTERRUPT_DISABLE, !enable);
        command
    });
}

/// The host address of the BAR holding the MSI-X table of the capability
/// at `capability`: what `PHYSDEVOP_map_pirq` takes as `table_base`.
fn msix_table_bar<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &DeviceState,
    capability: u16,
) -> Option<u64> {
    let bir = hw.read32(at(capability, msix::TABLE)) & msix::BIR_MASK;
    let bar = state.resources.bar(u8::try_from(bir).ok()?)?;
    bar.is_assigned().then_some(bar.address)
}

/// `XEN_PCI_OP_enable_msi` (Linux's `xen_pcibk_enable_msi`).
pub(crate) fn enable_msi<A: ConfigAccess + ?Sized, I: InterruptControl + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    interrupts: &mut I,
) -> Answer {
    let refused = |why: Errno| {
        debug!("pciback {}: MSI not enabled: {why}", state.address);
        (Err(OpError::OpFailed), 0)
    };
    match state.interrupts {
        InterruptMode::Msi { .. } => return refused(EALREADY),
        InterruptMode::MsiX { .. } => return refused(Errno::ENXIO),
        InterruptMode::Intx => {}
    }
    let Some(capability) = state.capabilities.msi else {
        return refused(Errno::EINVAL);
    };
    if !powered(hw, state) {
        return refused(Errno::EINVAL);
    }
    match interrupts.map(state.address, None) {
        Ok(pirq) => {
            intx(hw, false);
            // One vector (multiple message enable 0), then enable.
            control(
                hw,
                capability,
                msi::CONTROL_ENABLE,
                msi::CONTROL_MULTIPLE_ENABLE,
            );
            state.interrupts = InterruptMode::Msi { capability, pirq };
            (Ok(()), pirq)
        }
        Err(errno) => refused(errno),
    }
}

/// `XEN_PCI_OP_disable_msi` (Linux's `xen_pcibk_disable_msi`, and MSI-X
/// too: see the module's notes): never fails; returns the `value` to
/// report.
pub(crate) fn disable_msi<A: ConfigAccess + ?Sized, I: InterruptControl + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    interrupts: &mut I,
) -> u32 {
    turn_off(hw, state, interrupts);
    current_pirq(state)
}

/// `XEN_PCI_OP_enable_msix` (Linux's `xen_pcibk_enable_msix` and the checks
/// of `pci_enable_msix_exact`). `count` is the guest's `value`; on success
/// the PIRQs are in `entries[..count]`.
pub(crate) fn enable_msix<A: ConfigAccess + ?Sized, I: InterruptControl + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    interrupts: &mut I,
    count: u32,
    entries: &mut [XenMsixEntry; SH_INFO_MAX_VEC],
) -> Answer {
    // pciback's own checks leave `value` as the guest sent it.
    let early = |errno: Errno| (Err(OpError::Errno(errno)), count);
    let Some(entries) = usize::try_from(count)
        .ok()
        .and_then(|count| entries.get_mut(..count))
    else {
        return early(Errno::EINVAL);
    };
    let memory =
        Command::from_bits_retain(hw.read16(register::COMMAND)).contains(Command::MEMORY_SPACE);
    match state.interrupts {
        InterruptMode::MsiX { .. } => return early(EALREADY),
        InterruptMode::Msi { .. } => return early(Errno::ENXIO),
        InterruptMode::Intx if !memory => return early(Errno::ENXIO),
        InterruptMode::Intx => {}
    }
    // The MSI core's refusals come back in `value` too.
    let failed = |errno: Errno| {
        let error = OpError::Errno(errno);
        // The negative errno, as the u32 `value` carries Linux's int result.
        (Err(error), error.code() as u32)
    };
    if entries.is_empty() || !powered(hw, state) {
        return failed(Errno::EINVAL);
    }
    let Some(capability) = state.capabilities.msix else {
        return failed(Errno::EINVAL);
    };
    let duplicate = entries.iter().enumerate().any(|(index, entry)| {
        entries
            .get(index.saturating_add(1)..)
            .is_some_and(|later| later.iter().any(|other| other.entry == entry.entry))
    });
    if duplicate {
        return failed(Errno::EINVAL);
    }
    let table_size = (hw.read16(at(capability, msix::CONTROL)) & msix::CONTROL_TABLE_SIZE_MASK)
        .saturating_add(1);
    if entries.len() > usize::from(table_size) {
        return failed(Errno::ENOSPC);
    }
    if entries.iter().any(|entry| entry.entry >= table_size) {
        return failed(Errno::EINVAL);
    }
    let Some(table_base) = msix_table_bar(hw, state, capability) else {
        return failed(Errno::ENXIO);
    };
    let masked = msix::CONTROL_ENABLE | msix::CONTROL_FUNCTION_MASK;
    control(hw, capability, masked, 0);
    let mut pirqs = Vec::with_capacity(entries.len());
    for entry in entries.iter_mut() {
        let vector = MsixVector {
            entry: entry.entry,
            table_base,
        };
        let mapped = interrupts
            .map(state.address, Some(vector))
            .and_then(|pirq| {
                // The shared page has 16 bits for it.
                let vector = u16::try_from(pirq).map_err(|_| Errno::ERANGE);
                if vector.is_err() {
                    interrupts.unmap(state.address, pirq);
                }
                Ok((pirq, vector?))
            });
        match mapped {
            Ok((pirq, vector)) => {
                entry.vector = vector;
                pirqs.push(pirq);
            }
            Err(errno) => {
                debug!("pciback {}: MSI-X not enabled: {errno}", state.address);
                control(hw, capability, 0, masked);
                for pirq in pirqs {
                    interrupts.unmap(state.address, pirq);
                }
                return failed(errno);
            }
        }
    }
    intx(hw, false);
    control(hw, capability, 0, msix::CONTROL_FUNCTION_MASK);
    state.interrupts = InterruptMode::MsiX { capability, pirqs };
    (Ok(()), 0)
}

/// `XEN_PCI_OP_disable_msix` (Linux's `xen_pcibk_disable_msix`): never
/// fails; returns the `value` to report.
pub(crate) fn disable_msix<A: ConfigAccess + ?Sized, I: InterruptControl + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    interrupts: &mut I,
) -> u32 {
    if matches!(state.interrupts, InterruptMode::MsiX { .. }) {
        turn_off(hw, state, interrupts);
    }
    current_pirq(state)
}

/// Turns off whatever MSI or MSI-X is on: enable bit off, INTx back on,
/// PIRQs unmapped (Linux's `pci_msi_shutdown` and `pci_msix_shutdown`).
fn turn_off<A: ConfigAccess + ?Sized, I: InterruptControl + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    interrupts: &mut I,
) {
    let (capability, enable, pirqs) =
        match core::mem::replace(&mut state.interrupts, InterruptMode::Intx) {
            InterruptMode::Intx => return,
            InterruptMode::Msi { capability, pirq } => {
                (capability, msi::CONTROL_ENABLE, alloc::vec![pirq])
            }
            InterruptMode::MsiX { capability, pirqs } => (capability, msix::CONTROL_ENABLE, pirqs),
        };
    control(hw, capability, 0, enable);
    intx(hw, true);
    for pirq in pirqs {
        interrupts.unmap(state.address, pirq);
    }
}

/// Turns off whatever the guest left on (the MSI part of Linux's
/// `xen_pcibk_reset_device`).
pub(crate) fn release<A: ConfigAccess + ?Sized, I: InterruptControl + ?Sized>(
    hw: &Hardware<'_, A>,
    state: &mut DeviceState,
    interrupts: &mut I,
) {
    turn_off(hw, state, interrupts);
}
