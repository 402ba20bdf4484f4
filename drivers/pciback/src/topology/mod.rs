// SPDX-License-Identifier: MIT OR Apache-2.0
//! The devices one frontend sees, and at which addresses.
//!
//! Linux's pciback has two layouts, chosen for the whole backend by
//! `xen-pciback.passthrough`: `vpci` (the default, `vpci.c`) renumbers the
//! devices onto bus 0 of segment 0, and `passthrough` (`passthrough.c`)
//! shows them at their real addresses. [`GuestDevices`] is one frontend's
//! set, in either layout; it owns its [`Device`]s, so a frontend's op can
//! only ever reach its own devices.
//!
//! Both layouts are published the same way: for each device `vdev-N` with
//! its address in the guest ([`VirtualAddress`], printed as Linux prints
//! it), and the root buses the guest scans (`root-N`, [`RootBus`]).

mod passthrough;
mod vpci;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use pci::Address;

use crate::Device;
use passthrough::Passthrough;
use vpci::Vpci;

/// Which layout a frontend's devices get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TopologyKind {
    /// A virtual bus 0 in segment 0, one slot per real device (Linux's default).
    #[default]
    Vpci,
    /// The real addresses (`xen-pciback.passthrough=1`).
    Passthrough,
}

/// A function's address as the guest sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualAddress(pub Address);

impl VirtualAddress {
    /// The address `xen_pci_op` names, if it is a valid one: segment below
    /// 0x10000, bus below 0x100, devfn below 0x100.
    pub fn from_op(domain: u32, bus: u32, devfn: u32) -> Option<Self> {
        let devfn = u8::try_from(devfn).ok()?;
        Address::new(
            u16::try_from(domain).ok()?,
            u8::try_from(bus).ok()?,
            devfn >> 3,
            devfn & 0x7,
        )
        .map(Self)
    }
}

impl fmt::Display for VirtualAddress {
    /// `ssss:bb:dd.ff`: the `vdev-N` format, whose two-digit function Linux
    /// marks as part of the PV protocol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = self.0;
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:02x}",
            address.segment(),
            address.bus(),
            address.device(),
            address.function()
        )
    }
}

/// A bus the guest scans for devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RootBus {
    /// Segment.
    pub segment: u16,
    /// Bus.
    pub bus: u8,
}

impl fmt::Display for RootBus {
    /// `ssss:bb`, the `root-N` format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:02x}", self.segment, self.bus)
    }
}

/// One device as published: where the guest sees it, what it really is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Export {
    /// Its address in the guest (`vdev-N`).
    pub guest: VirtualAddress,
    /// Its real address.
    pub device: Address,
}

/// Why a device could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddError {
    /// All 32 slots of the virtual bus are taken (Linux: "No more space on
    /// root virtual PCI bus").
    NoFreeSlot,
}

impl fmt::Display for AddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFreeSlot => f.write_str("no more space on root virtual PCI bus"),
        }
    }
}

impl core::error::Error for AddError {}

/// A device that could not be added, handed back.
#[derive(Debug)]
pub struct Refused {
    /// Why.
    pub error: AddError,
    /// The device, still owned by the caller.
    pub device: Box<Device>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.device.address(), self.error)
    }
}

impl core::error::Error for Refused {}

#[derive(Debug)]
enum Layout {
    Vpci(Vpci),
    Passthrough(Passthrough),
}

/// The devices one frontend sees.
#[derive(Debug)]
pub struct GuestDevices {
    layout: Layout,
    /// Global permissive mode (`xen-pciback.permissive`).
    permissive: bool,
}

impl GuestDevices {
    /// An empty set in layout `kind`; `permissive` is the global
    /// `xen-pciback.permissive` setting.
    pub fn new(kind: TopologyKind, permissive: bool) -> Self {
        let layout = match kind {
            TopologyKind::Vpci => Layout::Vpci(Vpci::default()),
            TopologyKind::Passthrough => Layout::Passthrough(Passthrough::default()),
        };
        Self { layout, permissive }
    }

    /// The layout.
    pub fn kind(&self) -> TopologyKind {
        match self.layout {
            Layout::Vpci(_) => TopologyKind::Vpci,
            Layout::Passthrough(_) => TopologyKind::Passthrough,
        }
    }

    /// Whether every device is in permissive mode.
    pub(crate) fn permissive(&self) -> bool {
        self.permissive
    }

    /// Gives `device` to this frontend; returns where the guest sees it.
    pub fn add(&mut self, device: Device) -> Result<VirtualAddress, Refused> {
        match &mut self.layout {
            Layout::Vpci(vpci) => vpci.add(device),
            Layout::Passthrough(passthrough) => Ok(passthrough.add(device)),
        }
    }

    /// Takes back the device the guest sees at `guest` (hot-unplug; the
    /// caller then releases it).
    pub fn remove(&mut self, guest: VirtualAddress) -> Option<Device> {
        match &mut self.layout {
            Layout::Vpci(vpci) => vpci.remove(guest),
            Layout::Passthrough(passthrough) => passthrough.remove(guest),
        }
    }

    /// Takes back every device (the frontend is gone).
    pub fn drain(&mut self) -> Vec<Device> {
        match &mut self.layout {
            Layout::Vpci(vpci) => vpci.drain(),
            Layout::Passthrough(passthrough) => passthrough.drain(),
        }
    }

    /// The device the guest sees at `guest`.
    pub fn get(&self, guest: VirtualAddress) -> Option<&Device> {
        match &self.layout {
            Layout::Vpci(vpci) => vpci.get(guest),
            Layout::Passthrough(passthrough) => passthrough.get(guest),
        }
    }

    /// The device at the address an op names, if this frontend has one
    /// there (Linux's `xen_pcibk_get_pci_dev`).
    pub(crate) fn lookup_mut(&mut self, domain: u32, bus: u32, devfn: u32) -> Option<&mut Device> {
        let guest = VirtualAddress::from_op(domain, bus, devfn)?;
        match &mut self.layout {
            Layout::Vpci(vpci) => vpci.get_mut(guest),
            Layout::Passthrough(passthrough) => passthrough.get_mut(guest),
        }
    }

    /// Every device with its guest address (`vdev-N`), in slot (vpci) or
    /// insertion (passthrough) order.
    pub fn exports(&self) -> Vec<Export> {
        match &self.layout {
            Layout::Vpci(vpci) => vpci.exports(),
            Layout::Passthrough(passthrough) => passthrough.exports(),
        }
    }

    /// Where the guest sees the device at real address `device`, if it has it.
    pub fn guest_address(&self, device: Address) -> Option<VirtualAddress> {
        self.exports()
            .into_iter()
            .find(|export| export.device == device)
            .map(|export| export.guest)
    }

    /// The root buses the guest must scan (`root-N`), without duplicates.
    pub fn roots(&self) -> Vec<RootBus> {
        match &self.layout {
            Layout::Vpci(_) => Vec::from([RootBus { segment: 0, bus: 0 }]),
            Layout::Passthrough(passthrough) => passthrough.roots(),
        }
    }

    /// Number of devices.
    pub fn len(&self) -> usize {
        self.exports().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
