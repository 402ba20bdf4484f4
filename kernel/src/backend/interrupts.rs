// SPDX-License-Identifier: MIT OR Apache-2.0
//! A frontend's MSI and MSI-X, on Xen: PIRQs mapped into the guest with
//! `PHYSDEVOP_map_pirq`, the capability enabled through ECAM.
//!
//! Xen writes the message address and data when it maps an MSI; it leaves
//! the enable bit to the hardware domain (seen on 4.17, X417 §2c), as Linux
//! dom0's `pci_enable_msi` sets it. Bus mastering is the guest's to turn on,
//! through the command register.

use crate::bus::Bus;
use crate::hypervisor::Xen;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use pci::register::{msi, msix};
use pci::{Address, ConfigAccess};
use pciback::InterruptControl;
use xen::Errno;
use xen::abi::io::pciif::XenMsixEntry;
use xen::abi::xen::DomId;
use xen::hypercall::physdev::{self, MsixVector, PirqSource};

/// Interrupt mapping for the frontend of domain `domid`.
#[derive(Debug)]
pub struct GuestInterrupts {
    xen: &'static Xen,
    bus: &'static Bus,
    domid: DomId,
    /// PIRQs mapped for each function, to unmap on disable.
    mapped: BTreeMap<Address, Vec<u32>>,
}

impl GuestInterrupts {
    /// Mapping for guest `domid`.
    pub fn new(xen: &'static Xen, bus: &'static Bus, domid: DomId) -> Self {
        Self {
            xen,
            bus,
            domid,
            mapped: BTreeMap::new(),
        }
    }

    fn map(&mut self, function: Address, msix: Option<MsixVector>) -> Result<u32, Errno> {
        let source = PirqSource::Msi {
            segment: function.segment(),
            bus: function.bus(),
            devfn: function.devfn(),
            msix,
        };
        let pirq = physdev::map_pirq(&self.xen.hv, self.domid, source, None)?;
        self.mapped.entry(function).or_default().push(pirq);
        Ok(pirq)
    }

    fn unmap_all(&mut self, function: Address) {
        for pirq in self.mapped.remove(&function).unwrap_or_default() {
            if let Err(e) = physdev::unmap_pirq(&self.xen.hv, self.domid, pirq) {
                log::warn!(target: "pciback", "{function}: unmap PIRQ {pirq} of domain {}: {e}", self.domid);
            }
        }
    }

    /// Sets or clears `bits` in the 16-bit control word of `capability`.
    fn control(&self, function: Address, capability: u16, set: u16, clear: u16) {
        let Some(ecam) = self.bus.access(function) else {
            return;
        };
        let at = capability.saturating_add(msi::CONTROL);
        let value = ecam.read16(function, at);
        ecam.write16(function, at, (value | set) & !clear);
    }

    /// Host physical address of the MSI-X table: the BAR its BIR names,
    /// plus the offset.
    fn msix_table(&self, function: Address, capability: u16) -> Option<u64> {
        let ecam = self.bus.access(function)?;
        let table = ecam.read32(function, capability.saturating_add(msix::TABLE));
        let bir = u8::try_from(table & msix::BIR_MASK).ok()?;
        let bar = self
            .bus
            .function(function)?
            .bars
            .iter()
            .find(|b| b.index == bir)?;
        bar.address
            .checked_add(u64::from(table & msix::OFFSET_MASK))
    }
}

impl InterruptControl for GuestInterrupts {
    fn enable_msi(&mut self, function: Address, capability: u16) -> Result<u32, Errno> {
        let pirq = self.map(function, None)?;
        // One vector (multiple message enable 0), then enable.
        self.control(
            function,
            capability,
            msi::CONTROL_ENABLE,
            msi::CONTROL_MULTIPLE_ENABLE,
        );
        Ok(pirq)
    }

    fn disable_msi(&mut self, function: Address, capability: u16) {
        self.control(function, capability, 0, msi::CONTROL_ENABLE);
        self.unmap_all(function);
    }

    fn enable_msix(
        &mut self,
        function: Address,
        capability: u16,
        entries: &mut [XenMsixEntry],
    ) -> Result<(), Errno> {
        let table_base = self.msix_table(function, capability).ok_or(Errno::ENXIO)?;
        for entry in entries.iter_mut() {
            let vector = MsixVector {
                entry: entry.entry,
                table_base,
            };
            match self
                .map(function, Some(vector))
                .and_then(|p| u16::try_from(p).map_err(|_| Errno::ERANGE))
            {
                Ok(pirq) => entry.vector = pirq,
                Err(e) => {
                    self.unmap_all(function);
                    return Err(e);
                }
            }
        }
        self.control(
            function,
            capability,
            msix::CONTROL_ENABLE,
            msix::CONTROL_FUNCTION_MASK,
        );
        Ok(())
    }

    fn disable_msix(&mut self, function: Address, capability: u16) {
        self.control(function, capability, 0, msix::CONTROL_ENABLE);
        self.unmap_all(function);
    }
}
