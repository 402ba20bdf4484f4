// SPDX-License-Identifier: MIT OR Apache-2.0
//! A guest's access to its devices: the hypercalls libxl makes for a PV guest's device.
//!
//! [`GuestAccess`] gives a device to a guest and takes it back as libxl's
//! `pci_add_dm_done` and `do_pci_remove` do when dom0 is the backend, from
//! the driver domain instead:
//!
//! | step | give | take back |
//! |---|---|---|
//! | IOMMU | `XEN_DOMCTL_assign_device` (from quarantine) | `XEN_DOMCTL_deassign_device` (to quarantine), last |
//! | memory BARs, ROM | `XEN_DOMCTL_iomem_permission`, the frames they cover | the same, revoked |
//! | I/O BARs | `XEN_DOMCTL_ioport_permission`, their ports (a PV guest then uses `in`/`out`, which Xen emulates for it) | the same, revoked |
//! | INTx | `PHYSDEVOP_map_pirq` of the GSI with PIRQ = GSI, as `xc_physdev_map_pirq(domid, irq, &irq)` | `PHYSDEVOP_unmap_pirq` |
//!
//! The GSI is the one the toolstack named ([`Device::gsi`]); without one
//! the guest gets no INTx (MSI and MSI-X are mapped by the op path). Linux's
//! pcifront binds the number it reads in the interrupt line register as
//! its PIRQ, which is why both are the GSI.
//!
//! Differences from libxl, on purpose:
//! - no `XEN_DOMCTL_irq_permission` after the map: Xen resolves its PIRQ in
//!   the caller's table, and a PVH hardware domain has none (`-EPERM`);
//!   `map_pirq` already grants the guest the IRQ it maps, and `unmap_pirq`
//!   revokes it;
//! - functions of one guest sharing a GSI (an INTx line) map it once and
//!   unmap it with the last of them; libxl maps it per function and unmaps
//!   it with the first;
//! - a failed step undoes the ones before it, so a refused device leaves
//!   the guest nothing;
//! - a device sharing a 4 KiB page of its BARs or ROM with a function this
//!   domain did not take, or with one another guest has, is refused before
//!   the first step (XSA-461: [`crate::record_shared_pages`]).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;
use litemap::LiteMap;

use pci::Address;
use xen::Errno;
use xen::abi::domctl::pci_sbdf;
use xen::abi::xen::DomId;
use xen::hypercall::physdev::{self, PirqSource};
use xen::hypercall::{Hypercall, domctl};

use crate::Device;
use crate::resources::Space;

/// `XC_PAGE_SHIFT`.
const PAGE_SHIFT: u32 = 12;

/// A range Xen lets a guest reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Range {
    /// Machine frames (`XEN_DOMCTL_iomem_permission`).
    Frames {
        /// The first frame.
        first: u64,
        /// How many.
        count: u64,
    },
    /// I/O ports (`XEN_DOMCTL_ioport_permission`).
    Ports {
        /// The first port.
        first: u32,
        /// How many.
        count: u32,
    },
}

impl Range {
    /// The frames `size` bytes at `address` touch, as libxl counts them.
    fn frames(address: u64, size: u64) -> Self {
        Self::Frames {
            first: address >> PAGE_SHIFT,
            count: size.div_ceil(1 << PAGE_SHIFT).max(1),
        }
    }

    /// Allows or revokes `frontend`'s access.
    fn permit<H: Hypercall + ?Sized>(
        self,
        hv: &H,
        frontend: DomId,
        allow: bool,
    ) -> Result<(), Errno> {
        match self {
            Self::Frames { first, count } => {
                domctl::iomem_permission(hv, frontend, first, count, allow)
            }
            Self::Ports { first, count } => {
                domctl::ioport_permission(hv, frontend, first, count, allow)
            }
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frames { first, count } => write!(f, "frames {first:#x}+{count:#x}"),
            Self::Ports { first, count } => write!(f, "ports {first:#x}+{count:#x}"),
        }
    }
}

/// Every range of `device`'s BARs and ROM that has an address (libxl: each
/// line of sysfs `resource` with a start).
fn ranges(device: &Device) -> Result<Vec<Range>, Errno> {
    let resources = &device.state.resources;
    let mut ranges = resources
        .assigned()
        .map(|bar| match bar.space {
            Space::Io => Ok(Range::Ports {
                first: u32::try_from(bar.address).map_err(|_| Errno::ERANGE)?,
                count: u32::try_from(bar.size).map_err(|_| Errno::ERANGE)?,
            }),
            Space::Memory32 | Space::Memory64 => Ok(Range::frames(bar.address, bar.size)),
        })
        .collect::<Result<Vec<_>, Errno>>()?;
    if let Some(rom) = resources.rom().filter(|rom| rom.address != 0) {
        ranges.push(Range::frames(rom.address.into(), rom.size.into()));
    }
    Ok(ranges)
}

/// `segment << 16 | bus << 8 | devfn`, as the assign domctls take it.
fn sbdf(address: Address) -> u32 {
    pci_sbdf(address.segment(), address.bus(), address.devfn())
}

/// Revokes `ranges` (libxl logs and goes on when one fails: so does this).
/// A domain that is gone (`ESRCH`) took its permissions with it.
fn revoke<H: Hypercall + ?Sized>(hv: &H, frontend: DomId, address: Address, ranges: &[Range]) {
    for range in ranges {
        match range.permit(hv, frontend, false) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(errno) => warn!("{address}: revoking domain {frontend}'s {range}: {errno}"),
        }
    }
}

/// Deassigns `address` from `frontend`, back to quarantine. A domain being
/// destroyed loses its devices to Xen first (4.17's `pci_release_devices`
/// deassigns each to quarantine): then Xen answers `ENODEV` (no longer that
/// domain's) or, once the domain is gone, `ESRCH`, and the device is
/// already where this puts it.
fn deassign<H: Hypercall + ?Sized>(hv: &H, frontend: DomId, address: Address) {
    match domctl::deassign_device(hv, frontend, sbdf(address)) {
        Ok(()) => info!("{address} back in quarantine from domain {frontend}"),
        Err(errno @ (Errno::ENODEV | Errno::ESRCH)) => info!(
            "{address} back in quarantine from domain {frontend}: Xen took it back as the domain died ({errno})"
        ),
        Err(errno) => warn!("{address}: deassign from domain {frontend}: {errno}"),
    }
}

/// Gives guests their devices and takes them back (see the module); one
/// per backend, as it counts the devices of each guest that share a GSI
/// and knows which guest has each device.
#[derive(Debug, Default)]
pub struct GuestAccess {
    /// How many devices given to each guest use each GSI.
    gsi_users: RefCell<LiteMap<(DomId, u32), usize>>,
    /// The guest each given device is with.
    holders: RefCell<LiteMap<Address, DomId>>,
}

impl GuestAccess {
    /// Nothing given yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives `device` to `frontend`: assigns it, lets the guest reach its
    /// BARs and ROM, maps its GSI as the guest's PIRQ. On failure nothing
    /// of it is left to the guest and the device is back in quarantine.
    /// Refused with `EPERM` if it shares a page with a function this domain
    /// did not take, `EBUSY` with one another guest has, or if its GSI is
    /// another guest's INTx (XSA-461: a guest that never acknowledges a
    /// shared level interrupt withholds it from the other).
    pub fn give<H: Hypercall + ?Sized>(
        &self,
        hv: &H,
        frontend: DomId,
        device: &Device,
    ) -> Result<(), Errno> {
        let address = device.address();
        device.sharing.check(address, frontend, |other| {
            self.holders.borrow().get(&other).copied()
        })?;
        self.check_gsi(frontend, device)?;
        let ranges = ranges(device)?;
        domctl::assign_device(hv, frontend, sbdf(address), 0)?;
        let mut granted = 0_usize;
        let result = ranges
            .iter()
            .try_for_each(|range| {
                range.permit(hv, frontend, true)?;
                granted = granted.saturating_add(1);
                Ok(())
            })
            .and_then(|()| self.map_gsi(hv, frontend, device));
        if let Err(errno) = result {
            revoke(
                hv,
                frontend,
                address,
                ranges.get(..granted).unwrap_or_default(),
            );
            deassign(hv, frontend, address);
            return Err(errno);
        }
        let intx = match device.gsi() {
            Some(gsi) => format!("INTx GSI {gsi} as PIRQ {gsi}"),
            None if device.interrupt_pin() != 0 => format!(
                "no INTx: no gsi= in its options, the guest reads line {}",
                device.irq()
            ),
            None => String::from("no interrupt pin"),
        };
        self.holders.borrow_mut().insert(address, frontend);
        let ranges: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        info!(
            "{address} assigned to domain {frontend}: {}; {intx}",
            ranges.join(", ")
        );
        Ok(())
    }

    /// Takes back what [`GuestAccess::give`] gave, in libxl's order: BARs,
    /// the GSI, then the device itself, to quarantine. Whatever fails (a
    /// dead guest's permissions went with it) is logged and the rest goes on.
    pub fn take_back<H: Hypercall + ?Sized>(&self, hv: &H, frontend: DomId, device: &Device) {
        let address = device.address();
        match ranges(device) {
            Ok(ranges) => revoke(hv, frontend, address, &ranges),
            Err(errno) => warn!("{address}: its ranges: {errno}"),
        }
        self.unmap_gsi(hv, frontend, device);
        deassign(hv, frontend, address);
        self.holders.borrow_mut().remove(&address);
    }

    /// Refuses `device` to `frontend` (`EBUSY`) if its GSI is mapped into
    /// another guest.
    fn check_gsi(&self, frontend: DomId, device: &Device) -> Result<(), Errno> {
        let Some(gsi) = device.gsi() else {
            return Ok(());
        };
        let users = self.gsi_users.borrow();
        let Some(&(holder, _)) = users
            .keys()
            .find(|&&(domid, used)| used == gsi && domid != frontend)
        else {
            return Ok(());
        };
        error!(
            "{} not given to domain {frontend}: its INTx is GSI {gsi}, which domain {holder} has (XSA-461)",
            device.address()
        );
        Err(Errno::EBUSY)
    }

    /// Maps `device`'s GSI into `frontend` unless another of its devices did.
    fn map_gsi<H: Hypercall + ?Sized>(
        &self,
        hv: &H,
        frontend: DomId,
        device: &Device,
    ) -> Result<(), Errno> {
        let Some(gsi) = device.gsi() else {
            return Ok(());
        };
        let key = (frontend, gsi);
        let users = self.gsi_users.borrow().get(&key).copied().unwrap_or(0);
        if users == 0 {
            physdev::map_pirq(hv, frontend, PirqSource::Gsi(gsi), Some(gsi))?;
        }
        self.gsi_users
            .borrow_mut()
            .insert(key, users.saturating_add(1));
        Ok(())
    }

    /// Unmaps `device`'s GSI from `frontend` if no other of its devices uses it.
    fn unmap_gsi<H: Hypercall + ?Sized>(&self, hv: &H, frontend: DomId, device: &Device) {
        let Some(gsi) = device.gsi() else {
            return;
        };
        let key = (frontend, gsi);
        let mut users = self.gsi_users.borrow_mut();
        let left = users.get(&key).map_or(0, |users| users.saturating_sub(1));
        if left > 0 {
            users.insert(key, left);
            return;
        }
        users.remove(&key);
        drop(users);
        if let Err(errno) = physdev::unmap_pirq(hv, frontend, gsi) {
            warn!(
                "{}: unmapping GSI {gsi} from domain {frontend}: {errno}",
                device.address()
            );
        }
    }
}
