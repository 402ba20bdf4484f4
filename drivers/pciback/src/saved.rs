// SPDX-License-Identifier: MIT OR Apache-2.0
//! The configuration saved when a device is taken, restored when it is released.
//!
//! Linux's pciback saves the state once, at seize time (`pci_save_state`
//! plus `pci_store_saved_state`), and restores that same snapshot after
//! every guest (`pci_load_saved_state` and `pci_restore_state`), so no guest
//! leaves its configuration behind. Saved, as Linux saves them:
//! - the 64-byte header, restored dword by dword only where it differs,
//!   highest first, BARs before the command register; a BAR that does not
//!   take its value is retried ten times, 1 ms apart (type 0); a bridge's
//!   prefetchable window registers are always rewritten (type 1);
//! - the PCI Express control registers the function implements (device,
//!   link, slot, root; device and link control 2 from capability version 2);
//! - the PCI-X command register;
//! - AER's masks, severities and capability control (and root command on
//!   a root port), restored after clearing the error status.
//!
//! Not saved here, though Linux does when the function has them: LTR, DPC,
//! PTM, TPH, VC, resizable BAR, ATS/PRI/PASID, ACS and SR-IOV state. MSI
//! and MSI-X are not restored: they are off when a device is released.

use alloc::vec::Vec;
use core::time::Duration;

use pci::ConfigAccess;
use pci::capability::PortType;
use pci::register::{aer, pci_x, pcie};

use crate::Delay;
use crate::hardware::{Hardware, at};
use crate::state::{DeviceState, PciExpressInfo};

/// Header dwords saved: the 64-byte predefined header.
const HEADER_DWORDS: usize = 16;
/// Header restore retries for BARs that do not take their value at once.
const BAR_RETRIES: u32 = 10;
/// The pause between those retries.
const RETRY_DELAY: Duration = Duration::from_millis(1);

/// Whether the PCIe function has link registers (`pcie_cap_has_lnkctl`).
fn has_link_control(pcie: &PciExpressInfo) -> bool {
    matches!(
        pcie.port_type,
        PortType::Endpoint
            | PortType::LegacyEndpoint
            | PortType::RootPort
            | PortType::UpstreamPort
            | PortType::DownstreamPort
            | PortType::PcieToPciBridge
            | PortType::PciToPcieBridge
    )
}

/// Whether the function is a port with slot registers (`pcie_cap_has_sltctl`).
fn has_slot_control(pcie: &PciExpressInfo) -> bool {
    pcie.slot
        && matches!(
            pcie.port_type,
            PortType::RootPort | PortType::DownstreamPort | PortType::PciToPcieBridge
        )
}

/// Whether the function has root registers (`pcie_cap_has_rtctl`).
fn has_root_control(pcie: &PciExpressInfo) -> bool {
    matches!(
        pcie.port_type,
        PortType::RootPort | PortType::EventCollector
    )
}

/// The PCIe control registers (relative offsets) the function implements,
/// in Linux's save order. Linux also lists Slot Control 2, but
/// `pcie_capability_reg_implemented` never counts it as implemented, so
/// it is saved as 0 and never written back: left out here.
fn pcie_registers(pcie: &PciExpressInfo) -> impl Iterator<Item = u16> {
    let version_2 = pcie.version > 1;
    [
        (pcie::DEVICE_CONTROL, true),
        (pcie::LINK_CONTROL, has_link_control(pcie)),
        (pcie::SLOT_CONTROL, has_slot_control(pcie)),
        (pcie::ROOT_CONTROL, has_root_control(pcie)),
        (pcie::DEVICE_CONTROL_2, version_2),
        (pcie::LINK_CONTROL_2, version_2 && has_link_control(pcie)),
    ]
    .into_iter()
    .filter_map(|(register, implemented)| implemented.then_some(register))
}

/// The saved AER registers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SavedAer {
    /// The capability.
    offset: u16,
    /// A root port or event collector (root registers exist).
    root: bool,
    /// (absolute offset, value), in restore order.
    registers: Vec<(u16, u32)>,
}

/// A function's configuration at take time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SavedState {
    /// The header, dword by dword.
    header: [u32; HEADER_DWORDS],
    /// (absolute offset, value) of the PCIe control registers.
    pci_express: Vec<(u16, u16)>,
    /// (absolute offset, value) of the PCI-X command register.
    pci_x: Option<(u16, u16)>,
    /// AER.
    aer: Option<SavedAer>,
}

impl SavedState {
    /// Saves the function's configuration (Linux's `pci_save_state`).
    pub(crate) fn save<A: ConfigAccess + ?Sized>(
        hw: &Hardware<'_, A>,
        state: &DeviceState,
    ) -> Self {
        let header = core::array::from_fn(|index| {
            let offset = u16::try_from(index.saturating_mul(4)).unwrap_or(u16::MAX);
            hw.read32(offset)
        });
        let pci_express = state.pcie.as_ref().map_or(Vec::new(), |info| {
            pcie_registers(info)
                .map(|register| {
                    let offset = at(info.offset, register);
                    (offset, hw.read16(offset))
                })
                .collect()
        });
        let pci_x = state.capabilities.pci_x.map(|capability| {
            let offset = at(capability, pci_x::COMMAND);
            (offset, hw.read16(offset))
        });
        let aer = state.capabilities.aer.map(|offset| {
            let root = state.pcie.as_ref().is_some_and(has_root_control);
            let mut registers: Vec<(u16, u32)> = [
                aer::UNCORRECTABLE_MASK,
                aer::UNCORRECTABLE_SEVERITY,
                aer::CORRECTABLE_MASK,
                aer::CAPABILITIES_CONTROL,
            ]
            .into_iter()
            .map(|register| at(offset, register))
            .map(|absolute| (absolute, hw.read32(absolute)))
            .collect();
            if root {
                let absolute = at(offset, aer::ROOT_COMMAND);
                registers.push((absolute, hw.read32(absolute)));
            }
            SavedAer {
                offset,
                root,
                registers,
            }
        });
        Self {
            header,
            pci_express,
            pci_x,
            aer,
        }
    }

    /// Restores the saved configuration (Linux's `pci_restore_state`, in
    /// its order: PCIe, AER, header, PCI-X).
    pub(crate) async fn restore<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
        &self,
        hw: &Hardware<'_, A>,
        state: &DeviceState,
        delay: &D,
    ) {
        for (offset, value) in &self.pci_express {
            hw.write16(*offset, *value);
        }
        if let Some(saved) = &self.aer {
            // Linux's `pci_aer_clear_status`: write the set status bits back.
            let root_status = saved.root.then_some(aer::ROOT_STATUS);
            let status = [aer::CORRECTABLE_STATUS, aer::UNCORRECTABLE_STATUS];
            for register in root_status.into_iter().chain(status) {
                let offset = at(saved.offset, register);
                hw.write32(offset, hw.read32(offset));
            }
            for (offset, value) in &saved.registers {
                hw.write32(*offset, *value);
            }
        }
        self.restore_header(hw, state.is_bridge, delay).await;
        if let Some((offset, value)) = self.pci_x {
            hw.write16(offset, value);
        }
    }

    /// Linux's `pci_restore_config_space`: (first dword, last dword, retries,
    /// forced) ranges, each restored from its last dword down.
    async fn restore_header<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
        &self,
        hw: &Hardware<'_, A>,
        is_bridge: bool,
        delay: &D,
    ) {
        let ranges: &[(usize, usize, u32, bool)] = if is_bridge {
            &[(12, 15, 0, false), (9, 11, 0, true), (0, 8, 0, false)]
        } else {
            &[
                (10, 15, 0, false),
                (4, 9, BAR_RETRIES, false),
                (0, 3, 0, false),
            ]
        };
        for &(first, last, retries, forced) in ranges {
            for index in (first..=last).rev() {
                let Some(saved) = self.header.get(index).copied() else {
                    continue;
                };
                let offset = u16::try_from(index.saturating_mul(4)).unwrap_or(u16::MAX);
                restore_dword(hw, delay, offset, saved, retries, forced).await;
            }
        }
    }
}

/// Linux's `pci_restore_config_dword`.
async fn restore_dword<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
    hw: &Hardware<'_, A>,
    delay: &D,
    offset: u16,
    saved: u32,
    retries: u32,
    forced: bool,
) {
    if !forced && hw.read32(offset) == saved {
        return;
    }
    for attempt in 0..=retries {
        if attempt != 0 {
            delay.wait(RETRY_DELAY).await;
        }
        hw.write32(offset, saved);
        if attempt == retries || hw.read32(offset) == saved {
            return;
        }
    }
}
