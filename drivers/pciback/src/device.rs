// SPDX-License-Identifier: MIT OR Apache-2.0
//! A function this domain owns: its state, virtual configuration space and saved configuration.

use crate::Delay;
use crate::config::{Access, ConfigSpace};
use crate::error::OpError;
use crate::hardware::Hardware;
use crate::isolation::Sharing;
use crate::saved::SavedState;
use crate::state::{DeviceState, Placement};
use pci::{Address, ConfigAccess};

/// Choices for one device, made when it is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Writes to registers without a field reach the hardware (Linux's
    /// per-device `permissive` attribute). It can also be turned on later
    /// ([`Device::set_permissive`]), never off.
    pub permissive: bool,
}

/// A function this domain owns: its virtual configuration space, its
/// state, and the configuration saved when it was taken.
///
/// Made by [`Device::take`], handed back by [`Device::release`]; between
/// the two it can be given to one frontend at a time
/// ([`crate::GuestDevices::add`]). It is not `Clone`: one value per
/// function, so only one frontend can hold it.
#[derive(Debug)]
pub struct Device {
    pub(crate) state: DeviceState,
    pub(crate) config: ConfigSpace,
    pub(crate) saved: SavedState,
    pub(crate) placement: Placement,
    /// The pages it shares with other functions (XSA-461), recorded by
    /// [`crate::record_shared_pages`] once every device is taken.
    pub(crate) sharing: Sharing,
}

impl Device {
    /// The function's real address.
    pub fn address(&self) -> Address {
        self.state.address
    }

    /// Whether writes to registers without a field reach the hardware for
    /// this device (the global setting aside).
    pub fn is_permissive(&self) -> bool {
        self.state.permissive
    }

    /// Lets writes to registers without a field reach the hardware (Linux's
    /// per-device `permissive` attribute, e.g. from a guest's
    /// `permissive=1`). As in Linux, there is no way back but releasing the
    /// device and taking it again.
    pub fn set_permissive(&mut self) {
        self.state.permissive = true;
    }

    /// The interrupt number the guest sees: the GSI named for it
    /// ([`Device::set_gsi`]), else the line firmware programmed (0 without
    /// an interrupt pin).
    pub fn irq(&self) -> u32 {
        self.state.guest_irq()
    }

    /// The function's interrupt pin (1-4 for INTA-INTD; 0: none).
    pub fn interrupt_pin(&self) -> u8 {
        self.state.interrupt_pin
    }

    /// The GSI of the function's INTx for the guest that has it, if one was
    /// named ([`Device::set_gsi`]).
    pub fn gsi(&self) -> Option<u32> {
        self.state.gsi
    }

    /// Names the GSI of the function's INTx for the guest it is given to
    /// next: the guest reads it as its interrupt line and binds it as its
    /// PIRQ (Linux's pcifront, `xen_pcifront_enable_irq`), so the platform
    /// maps it as that PIRQ ([`crate::xenbus::Platform::assign`]). Only the
    /// toolstack knows it: the ACPI GSI its dom0 routed the pin to, not the
    /// PIC line firmware left in the register. `None` (and
    /// [`Device::release`]): no INTx, the guest reads the firmware's line.
    pub fn set_gsi(&mut self, gsi: Option<u32>) {
        self.state.gsi = gsi;
    }

    /// The bridges above the function, nearest first.
    pub(crate) fn upstream_bridges(&self) -> &[Address] {
        &self.placement.upstream
    }

    /// A guest read.
    pub(crate) fn read<A: ConfigAccess + ?Sized>(&self, access: &A, request: Access) -> u32 {
        self.read_through(&access, request)
    }

    /// A guest read, not generic: generic code is compiled by the crate
    /// that instantiates it, which for the image is the kernel, built for
    /// size; this keeps the commonest op (and the config-space walk under
    /// it) compiled here, at `pciback`'s opt-level, for one indirect call
    /// per register access.
    #[inline(never)]
    fn read_through(&self, access: &dyn ConfigAccess, request: Access) -> u32 {
        let hw = Hardware::new(access, self.state.address);
        self.config.read(&hw, &self.state, request)
    }

    /// A guest write; `permissive` is the global setting.
    pub(crate) async fn write<A: ConfigAccess + ?Sized, D: Delay + ?Sized>(
        &mut self,
        access: &A,
        delay: &D,
        request: Access,
        value: u32,
        permissive: bool,
    ) -> Result<(), OpError> {
        let hw = Hardware::new(access, self.state.address);
        let permissive = permissive || self.state.permissive;
        self.config
            .write(&hw, &mut self.state, delay, request, value, permissive)
            .await
    }
}
