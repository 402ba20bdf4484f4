// SPDX-License-Identifier: MIT OR Apache-2.0
//! The virtual bus: Linux's `vpci.c`.
//!
//! Bus 0 of segment 0 has 32 slots. A device joins the first slot whose
//! first device is the same real slot (same segment, bus and device
//! number): the functions of a multifunction device stay together. Any
//! other device takes the lowest empty slot. The function number is the
//! real one. Linux also keeps an SR-IOV virtual function 0 alone in its
//! slot; this backend does not enumerate virtual functions. Linux means to
//! refuse bridges here, but its test (`class >> 24`) never matches, so it
//! accepts them, and so does this one.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::array;

use pci::Address;

use super::{AddError, Export, Refused, VirtualAddress};
use crate::Device;

/// Slots on the virtual bus (`PCI_SLOT_MAX`).
const SLOTS: usize = 32;

/// The devices on the virtual bus, by slot, in the order they joined it.
#[derive(Debug)]
pub(super) struct Vpci {
    slots: Box<[Vec<Device>; SLOTS]>,
}

impl Default for Vpci {
    fn default() -> Self {
        Self {
            slots: Box::new(array::from_fn(|_| Vec::new())),
        }
    }
}

/// The guest address of `device` in `slot`.
fn guest_address(slot: usize, device: &Device) -> Option<VirtualAddress> {
    let slot = u8::try_from(slot).ok()?;
    Address::new(0, 0, slot, device.address().function()).map(VirtualAddress)
}

/// Whether two functions belong to the same real device.
fn same_device(one: Address, other: Address) -> bool {
    (one.segment(), one.bus(), one.device()) == (other.segment(), other.bus(), other.device())
}

impl Vpci {
    /// Linux's `__xen_pcibk_add_pci_dev`.
    pub(super) fn add(&mut self, device: Device) -> Result<VirtualAddress, Refused> {
        let joined = self.slots.iter().position(|slot| {
            slot.first()
                .is_some_and(|first| same_device(first.address(), device.address()))
        });
        let free = || self.slots.iter().position(Vec::is_empty);
        let index = joined.or_else(free);
        let guest = index.and_then(|index| guest_address(index, &device));
        match (guest, index.and_then(|index| self.slots.get_mut(index))) {
            (Some(guest), Some(slot)) => {
                slot.push(device);
                Ok(guest)
            }
            _ => Err(Refused {
                error: AddError::NoFreeSlot,
                device: Box::new(device),
            }),
        }
    }

    /// The slot and position of the device at `guest`: segment and bus 0,
    /// then the function within the slot.
    fn find(&self, guest: VirtualAddress) -> Option<(usize, usize)> {
        let address = guest.0;
        if address.segment() != 0 || address.bus() != 0 {
            return None;
        }
        let slot = usize::from(address.device());
        let position = self
            .slots
            .get(slot)?
            .iter()
            .position(|device| device.address().function() == address.function())?;
        Some((slot, position))
    }

    /// Linux's `__xen_pcibk_get_pci_dev`.
    pub(super) fn get(&self, guest: VirtualAddress) -> Option<&Device> {
        let (slot, position) = self.find(guest)?;
        self.slots.get(slot)?.get(position)
    }

    /// As [`Vpci::get`], mutable.
    pub(super) fn get_mut(&mut self, guest: VirtualAddress) -> Option<&mut Device> {
        let (slot, position) = self.find(guest)?;
        self.slots.get_mut(slot)?.get_mut(position)
    }

    /// Linux's `__xen_pcibk_release_pci_dev`, without the release itself.
    pub(super) fn remove(&mut self, guest: VirtualAddress) -> Option<Device> {
        let (slot, position) = self.find(guest)?;
        let slot = self.slots.get_mut(slot)?;
        (position < slot.len()).then(|| slot.remove(position))
    }

    /// Every device, slot by slot.
    pub(super) fn drain(&mut self) -> Vec<Device> {
        self.slots
            .iter_mut()
            .flat_map(|slot| slot.drain(..))
            .collect()
    }

    /// Every device with its guest address (Linux's `__xen_pcibk_get_pcifront_dev`).
    pub(super) fn exports(&self) -> Vec<Export> {
        self.slots
            .iter()
            .enumerate()
            .flat_map(|(index, slot)| {
                slot.iter().filter_map(move |device| {
                    Some(Export {
                        guest: guest_address(index, device)?,
                        device: device.address(),
                    })
                })
            })
            .collect()
    }
}
