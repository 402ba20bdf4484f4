// SPDX-License-Identifier: MIT OR Apache-2.0
//! The real addresses: Linux's `passthrough.c`.
//!
//! The guest sees each device where it really is. The root buses to scan
//! are the buses of the devices none of whose upstream bridges is exported
//! too (a guest given a bridge finds what is behind it by scanning), in
//! the order the devices were added, each once.

use alloc::vec::Vec;

use super::{Export, RootBus, VirtualAddress};
use crate::Device;

/// The devices, in the order they were added.
#[derive(Debug, Default)]
pub(super) struct Passthrough {
    devices: Vec<Device>,
}

impl Passthrough {
    /// Linux's `__xen_pcibk_add_pci_dev`: always room.
    pub(super) fn add(&mut self, device: Device) -> VirtualAddress {
        let guest = VirtualAddress(device.address());
        self.devices.push(device);
        guest
    }

    /// The position of the device at `guest`: an exact match.
    fn find(&self, guest: VirtualAddress) -> Option<usize> {
        self.devices
            .iter()
            .position(|device| device.address() == guest.0)
    }

    /// Linux's `__xen_pcibk_get_pci_dev`.
    pub(super) fn get(&self, guest: VirtualAddress) -> Option<&Device> {
        self.devices.get(self.find(guest)?)
    }

    /// As [`Passthrough::get`], mutable.
    pub(super) fn get_mut(&mut self, guest: VirtualAddress) -> Option<&mut Device> {
        let position = self.find(guest)?;
        self.devices.get_mut(position)
    }

    /// Linux's `__xen_pcibk_release_pci_dev`, without the release itself.
    pub(super) fn remove(&mut self, guest: VirtualAddress) -> Option<Device> {
        let position = self.find(guest)?;
        (position < self.devices.len()).then(|| self.devices.remove(position))
    }

    /// Every device.
    pub(super) fn drain(&mut self) -> Vec<Device> {
        self.devices.drain(..).collect()
    }

    /// Every device at its real address.
    pub(super) fn exports(&self) -> Vec<Export> {
        self.devices
            .iter()
            .map(|device| Export {
                guest: VirtualAddress(device.address()),
                device: device.address(),
            })
            .collect()
    }

    /// Linux's `__xen_pcibk_publish_pci_roots`, with the duplicates its
    /// `xen_pcibk_publish_pci_root` skips left out.
    pub(super) fn roots(&self) -> Vec<RootBus> {
        let mut roots: Vec<RootBus> = Vec::new();
        for device in &self.devices {
            let behind_exported_bridge = device
                .upstream_bridges()
                .iter()
                .any(|bridge| self.devices.iter().any(|other| other.address() == *bridge));
            let root = RootBus {
                segment: device.address().segment(),
                bus: device.address().bus(),
            };
            if !behind_exported_bridge && !roots.contains(&root) {
                roots.push(root);
            }
        }
        roots
    }
}
