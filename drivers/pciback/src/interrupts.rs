// SPDX-License-Identifier: MIT OR Apache-2.0
//! MSI and MSI-X for a frontend: the checks of Linux's `pciback_ops.c`.
//!
//! The mapping itself (PIRQs in the frontend's space, the MSI and MSI-X
//! registers, Xen's view of the device) needs hypercalls: the kernel does it
//! behind [`InterruptControl`]. This module keeps which interrupts each
//! device has on and answers each op with the `err` and `value` Linux would:
//!
//! | op | refused when | `err`, `value` on refusal | on success |
//! |---|---|---|---|
//! | `enable_msi` | MSI or MSI-X already on, no MSI capability, not in D0, mapping failed | `op_failed`, 0 | 0, the PIRQ |
//! | `disable_msi` | never (does nothing unless MSI is on) | | 0, the current PIRQ |
//! | `enable_msix` | more than 128 vectors (`-EINVAL`); MSI-X on (`-EALREADY`); MSI on or memory decoding off (`-ENXIO`) | errno, the guest's count | 0, 0, a PIRQ per entry |
//! | | no vectors, not in D0, no MSI-X capability, duplicate or out-of-table entries (`-EINVAL`), more vectors than the table (`-ENOSPC`), mapping failed | errno, errno | |
//! | `disable_msix` | never | | 0, the current PIRQ |
//!
//! "The current PIRQ" is Linux's `xen_pirq_from_irq(dev->irq)`: MSI's PIRQ
//! while MSI is on, otherwise the INTx interrupt number
//! ([`crate::Device::irq`]).

use log::debug;
use pci::capability::PowerState;
use pci::register::{self, Command, msix};
use pci::{Address, ConfigAccess};
use xen::Errno;
use xen::abi::io::pciif::{SH_INFO_MAX_VEC, XenMsixEntry};

use crate::error::{EALREADY, OpError};
use crate::hardware::{Hardware, at};
use crate::power;
use crate::state::{DeviceState, InterruptMode};

/// Interrupt mapping for one frontend, implemented by the kernel with
/// `PHYSDEVOP_map_pirq` and friends.
///
/// `function` is the real address; `capability` the offset of the MSI or
/// MSI-X capability. Each method does what Linux's `pci_enable_msi`,
/// `pci_disable_msi`, `pci_enable_msix_exact` and `pci_disable_msix` do on
/// a Xen dom0, for the frontend this object serves.
pub trait InterruptControl {
    /// Maps one MSI vector into the frontend and enables MSI; returns the
    /// PIRQ the frontend binds.
    fn enable_msi(&mut self, function: Address, capability: u16) -> Result<u32, Errno>;

    /// Disables MSI and unmaps its PIRQ.
    fn disable_msi(&mut self, function: Address, capability: u16);

    /// Maps a PIRQ for each entry (`entry` is the MSI-X table index; the
    /// PIRQ goes into `vector`) and enables MSI-X. The entries are
    /// distinct and inside the table.
    fn enable_msix(
        &mut self,
        function: Address,
        capability: u16,
        entries: &mut [XenMsixEntry],
    ) -> Result<(), Errno>;

    /// Disables MSI-X and unmaps its PIRQs.
    fn disable_msix(&mut self, function: Address, capability: u16);
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
    match interrupts.enable_msi(state.address, capability) {
        Ok(pirq) => {
            state.interrupts = InterruptMode::Msi { capability, pirq };
            (Ok(()), pirq)
        }
        Err(errno) => refused(errno),
    }
}

/// `XEN_PCI_OP_disable_msi` (Linux's `xen_pcibk_disable_msi`): never
/// fails; returns the `value` to report.
pub(crate) fn disable_msi<I: InterruptControl + ?Sized>(
    state: &mut DeviceState,
    interrupts: &mut I,
) -> u32 {
    if let InterruptMode::Msi { capability, .. } = state.interrupts {
        interrupts.disable_msi(state.address, capability);
        state.interrupts = InterruptMode::Intx;
    }
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
    match interrupts.enable_msix(state.address, capability, entries) {
        Ok(()) => {
            state.interrupts = InterruptMode::MsiX { capability };
            (Ok(()), 0)
        }
        Err(errno) => {
            debug!("pciback {}: MSI-X not enabled: {errno}", state.address);
            failed(errno)
        }
    }
}

/// `XEN_PCI_OP_disable_msix` (Linux's `xen_pcibk_disable_msix`): never
/// fails; returns the `value` to report.
pub(crate) fn disable_msix<I: InterruptControl + ?Sized>(
    state: &mut DeviceState,
    interrupts: &mut I,
) -> u32 {
    if let InterruptMode::MsiX { capability } = state.interrupts {
        interrupts.disable_msix(state.address, capability);
        state.interrupts = InterruptMode::Intx;
    }
    current_pirq(state)
}

/// Turns off whatever the guest left on (the MSI part of Linux's
/// `xen_pcibk_reset_device`: MSI-X, then MSI).
pub(crate) fn release<I: InterruptControl + ?Sized>(state: &mut DeviceState, interrupts: &mut I) {
    disable_msix(state, interrupts);
    disable_msi(state, interrupts);
}
