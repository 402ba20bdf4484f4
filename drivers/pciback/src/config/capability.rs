// SPDX-License-Identifier: MIT OR Apache-2.0
//! Capability fields: Linux's `conf_space_capability.c`.
//!
//! Linux registers four capabilities, in this order: VPD, Power Management,
//! MSI and MSI-X. For the first instance of each the device has, the 2-byte
//! ID/next header reads the hardware and ignores writes, and the registers
//! below get handlers. Every other capability (PCI Express, AER and all of
//! extended space, vendor-specific ...) has no field: reads pass through,
//! writes need permissive mode. So a guest cannot start an FLR through the
//! PCIe device control register, nor enable PMEs (they are shared).
//!
//! MSI and MSI-X message control: in permissive mode the write goes to the
//! hardware; otherwise a write that changes nothing succeeds and any other
//! is refused with `access_denied` (Linux allows the enable bits only with
//! `allow_interrupt_control`, a QEMU-stub-domain switch not offered here).
//! A PV guest enables MSI through the `enable_msi`/`enable_msix` ops instead.

use pci::ConfigAccess;
use pci::Width;
use pci::capability::CapabilityId;
use pci::register::{msi, msix, power_management as pm, vpd};

use super::field::{Context, Kind, Spec};
use crate::Delay;
use crate::error::OpError;
use crate::hardware::Hardware;
use crate::power;

/// Linux's `caplist_header`: the ID and next-pointer bytes.
pub(super) const HEADER: &[Spec] = &[Spec::new(0, Width::Word, Kind::ReadOnly)];

/// Linux's `caplist_vpd`: the guest may read VPD but not write it.
const VPD: &[Spec] = &[
    Spec::new(vpd::ADDRESS, Width::Word, Kind::VpdAddress),
    Spec::new(vpd::DATA, Width::Dword, Kind::ReadOnly),
];

/// Linux's `caplist_pm`.
const POWER_MANAGEMENT: &[Spec] = &[
    Spec::new(pm::CAPABILITIES, Width::Word, Kind::PowerCapabilities),
    Spec::new(pm::CONTROL_STATUS, Width::Word, Kind::PowerControl),
    Spec::new(pm::BRIDGE_EXTENSIONS, Width::Byte, Kind::ReadOnly),
    Spec::new(pm::DATA, Width::Byte, Kind::ReadOnly),
];

/// Linux's `caplist_msi`: message control only.
const MSI: &[Spec] = &[Spec::new(msi::CONTROL, Width::Word, Kind::MessageControl)];

/// Linux's `caplist_msix`: message control only.
const MSI_X: &[Spec] = &[Spec::new(msix::CONTROL, Width::Word, Kind::MessageControl)];

/// The capabilities with fields, in Linux's registration order
/// (`xen_pcibk_config_capability_init`).
pub(super) const TABLES: &[(CapabilityId, &[Spec])] = &[
    (CapabilityId::VPD, VPD),
    (CapabilityId::POWER_MANAGEMENT, POWER_MANAGEMENT),
    (CapabilityId::MSI, MSI),
    (CapabilityId::MSI_X, MSI_X),
];

/// Linux's `PM_OK_BITS`: the PMCSR bits a guest may change directly, PME
/// status (write 1 to clear) and data select.
const PM_OK_BITS: u16 = pm::PMCSR_PME_STATUS | pm::PMCSR_DATA_SELECT;

/// Linux's `pm_caps_read`: PMC without the PME support bits.
pub(super) fn power_capabilities<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    offset: u16,
) -> u16 {
    hw.read16(offset) & !pm::PMC_PME_SUPPORT_MASK
}

/// Linux's `pm_ctrl_init`: PME generation off while the backend owns the device.
pub(super) fn disable_pme<A: ConfigAccess + ?Sized>(hw: &Hardware<'_, A>, offset: u16) {
    let value = hw.read16(offset);
    if value & pm::PMCSR_PME_ENABLE != 0 {
        hw.write16(offset, value & !pm::PMCSR_PME_ENABLE);
    }
}

/// Linux's `pm_ctrl_write`: the [`PM_OK_BITS`] go to the hardware if they
/// differ, then the power state asked for is entered through the power
/// code (with its delays); a refused transition is `access_denied`.
pub(super) async fn write_power_control<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    context: &mut Context<'_, '_, A, D>,
    offset: u16,
    value: u16,
) -> Result<(), OpError> {
    let old = context.hw.read16(offset);
    let target = power::state_from_bits(value);
    let allowed = value & PM_OK_BITS;
    if old & PM_OK_BITS != allowed {
        context.hw.write16(offset, (old & !PM_OK_BITS) | allowed);
    }
    power::set_state(context.hw, context.state, context.delay, target)
        .await
        .map_err(|_refused| OpError::AccessDenied)
}

/// Linux's `vpd_address_write`: read requests go to the hardware, write
/// requests are refused.
pub(super) fn write_vpd_address<A: ConfigAccess + ?Sized>(
    hw: &Hardware<'_, A>,
    offset: u16,
    value: u16,
) -> Result<(), OpError> {
    if value & vpd::ADDRESS_WRITE != 0 {
        return Err(OpError::AccessDenied);
    }
    hw.write16(offset, value);
    Ok(())
}

/// Linux's `msi_msix_flags_write` without `allow_interrupt_control`.
pub(super) fn write_message_control<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    context: &mut Context<'_, '_, A, D>,
    offset: u16,
    value: u16,
) -> Result<(), OpError> {
    if context.permissive {
        context.hw.write16(offset, value);
        return Ok(());
    }
    if context.hw.read16(offset) == value {
        Ok(())
    } else {
        Err(OpError::AccessDenied)
    }
}
