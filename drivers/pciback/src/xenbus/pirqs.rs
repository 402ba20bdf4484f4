// SPDX-License-Identifier: MIT OR Apache-2.0
//! A frontend's MSI and MSI-X PIRQs, mapped with the hypercalls a PV dom0's
//! MSI code makes for a device passed through to a guest.
//!
//! [`GuestPirqs`] is the [`InterruptControl`] of one frontend:
//! `PHYSDEVOP_map_pirq` (`MAP_PIRQ_TYPE_MSI_SEG`, the guest's domid, Xen
//! choosing the PIRQ) and `PHYSDEVOP_unmap_pirq`. The device must already
//! be assigned to the guest (Xen answers `-ENODEV` otherwise), and, for
//! MSI-X, its table prepared (`PHYSDEVOP_prepare_msix`; `-ENODATA`
//! otherwise). The capability registers are written by the op path
//! (`crate::interrupts`).

use pci::Address;
use xen::Errno;
use xen::abi::xen::DomId;
use xen::hypercall::Hypercall;
use xen::hypercall::physdev::{self, MsixVector, PirqSource};

use crate::InterruptControl;

/// PIRQ mapping into the frontend of domain `frontend`.
#[derive(Debug)]
pub struct GuestPirqs<'h, H: Hypercall + ?Sized> {
    hv: &'h H,
    frontend: DomId,
}

impl<'h, H: Hypercall + ?Sized> GuestPirqs<'h, H> {
    /// Maps into `frontend` through `hv`.
    pub fn new(hv: &'h H, frontend: DomId) -> Self {
        Self { hv, frontend }
    }
}

impl<H: Hypercall + ?Sized> InterruptControl for GuestPirqs<'_, H> {
    fn map(&mut self, function: Address, msix: Option<MsixVector>) -> Result<u32, Errno> {
        let source = PirqSource::Msi {
            segment: function.segment(),
            bus: function.bus(),
            devfn: function.devfn(),
            msix,
        };
        physdev::map_pirq(self.hv, self.frontend, source, None)
    }

    fn unmap(&mut self, function: Address, pirq: u32) {
        if let Err(error) = physdev::unmap_pirq(self.hv, self.frontend, pirq) {
            warn!(
                "pciback {function}: unmap PIRQ {pirq} of domain {}: {error}",
                self.frontend
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use xen::abi::domctl::pci_sbdf;
    use xen::hypercall::domctl;
    use xen::sim::{FakePirq, FakeXen};

    use super::*;

    const BACKEND: DomId = 1;
    const GUEST: DomId = 2;

    /// What Xen is asked: an MSI or MSI-X of the guest's device (its
    /// segment, bus and devfn), the MSI-X entry and the table's BAR as
    /// given; unmapping takes the PIRQ away from the guest.
    #[test]
    fn pirqs_are_mapped_into_the_guest_as_asked_and_unmapped() {
        let xen = FakeXen::new();
        let hv = xen.add_domain(BACKEND);
        xen.add_domain(GUEST);
        let nic = Address::new(0, 3, 0, 0).unwrap();
        domctl::assign_device(&hv, GUEST, pci_sbdf(0, 3, 0), 0).unwrap();
        let mut pirqs = GuestPirqs::new(&hv, GUEST);
        let msi = pirqs.map(nic, None).unwrap();
        let vector = MsixVector {
            entry: 4,
            table_base: 0xfebc_0000,
        };
        let msix = pirqs.map(nic, Some(vector)).unwrap();
        let mapped = xen.pirqs(GUEST);
        assert_eq!(
            mapped.get(&msi),
            Some(&FakePirq::Msi {
                sbdf: 0x300,
                entry: 0,
                table_base: 0
            })
        );
        assert_eq!(
            mapped.get(&msix),
            Some(&FakePirq::Msi {
                sbdf: 0x300,
                entry: 4,
                table_base: 0xfebc_0000
            })
        );
        pirqs.unmap(nic, msi);
        pirqs.unmap(nic, msix);
        assert!(xen.pirqs(GUEST).is_empty());
        // Not assigned to the guest: Xen refuses (-ENODEV).
        let other = Address::new(0, 4, 0, 0).unwrap();
        assert_eq!(pirqs.map(other, None), Err(Errno::ENODEV));
    }
}
