// SPDX-License-Identifier: MIT OR Apache-2.0
//! XSA-461: never give a guest a page of MMIO it shares with a device it was not given.
//!
//! Xen grants a guest its device's BARs and ROM by the 4 KiB page
//! (`XEN_DOMCTL_iomem_permission`), so a BAR smaller than a page, or not
//! page aligned, gives the guest the whole page: the registers of any other
//! function decoding in it included. Xen declared such sharing
//! security-unsupported (XSA-461, CVE-2024-31146); this backend refuses it.
//!
//! - At boot, once every function is taken (which others are taken is not
//!   known while one is), [`crate::record_shared_pages`] finds for each the pages
//!   it shares with other functions ([`shared_pages`]), warns about those
//!   shared with a function this domain did not take (that device is never
//!   given), and records them on the [`crate::Device`]. Only what it recorded is
//!   checked later.
//! - When a device is given ([`crate::xenbus::GuestAccess::give`]), it is
//!   refused if it shares a page with a function not taken, or with one
//!   another guest has; sharing with a function the same guest has, or
//!   one no guest has yet, is allowed (both functions of a multifunction
//!   device to one guest, one after the other). A free function sharing a
//!   page with a given one then goes to no other guest while that one has
//!   it; that guest can reach its registers meanwhile, so when the guest
//!   lets its device go, the free functions sharing its pages are reset
//!   with it ([`Sharing::neighbours`]).
//!
//! What counts: memory BARs and the expansion ROM, with an address. A
//! disabled ROM counts too: a guest is granted its device's ROM whatever
//! the enable bit, and may turn it on. I/O BARs are ports, not pages, and a
//! bridge's windows are not decoders of its own (its BARs are).

use alloc::vec::Vec;
use core::fmt;

use pci::{Address, BarKind, Function, Topology};
use xen::Errno;
use xen::abi::xen::DomId;

/// The bits of an address within its 4 KiB page.
const PAGE_OFFSET_MASK: u64 = 0xfff;

/// One address decoder of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decoder {
    /// BAR `index` (0-5).
    Bar(u8),
    /// The expansion ROM.
    Rom,
}

impl fmt::Display for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bar(index) => write!(f, "BAR{index}"),
            Self::Rom => f.write_str("ROM"),
        }
    }
}

/// Pages that a decoder of one function and a decoder of another both touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SharedPages {
    /// The function's decoder.
    pub decoder: Decoder,
    /// The other function.
    pub other: Address,
    /// The other function's decoder.
    pub other_decoder: Decoder,
    /// The address of the first page both touch.
    pub first: u64,
    /// The address of the last page both touch (`first` for one page).
    pub last: u64,
}

impl fmt::Display for SharedPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} shares ", self.decoder)?;
        if self.first == self.last {
            write!(f, "page {:#x}", self.first)?;
        } else {
            write!(f, "pages {:#x}-{:#x}", self.first, self.last)?;
        }
        write!(f, " with {} {}", self.other, self.other_decoder)
    }
}

/// The first and last page `size` bytes at `address` touch.
fn pages(address: u64, size: u64) -> (u64, u64) {
    let end = address.saturating_add(size.saturating_sub(1));
    (address & !PAGE_OFFSET_MASK, end & !PAGE_OFFSET_MASK)
}

/// The pages each memory decoder of `function` with an address touches.
fn decoders(function: &Function) -> impl Iterator<Item = (Decoder, (u64, u64))> + '_ {
    let bars = function
        .bars
        .iter()
        .filter(|bar| bar.kind != BarKind::Io && bar.address != 0 && bar.size != 0)
        .map(|bar| (Decoder::Bar(bar.index), pages(bar.address, bar.size)));
    let rom = function
        .rom
        .filter(|rom| rom.address != 0)
        .map(|rom| (Decoder::Rom, pages(rom.address.into(), rom.size.into())));
    bars.chain(rom)
}

/// Every page the memory BARs and ROM of the function at `address` share
/// with those of another function of `topology`, one entry per pair of
/// decoders (none if enumeration did not find it).
pub fn shared_pages(topology: &Topology, address: Address) -> Vec<SharedPages> {
    let Some(function) = topology.get(address) else {
        return Vec::new();
    };
    let own: Vec<_> = decoders(function).collect();
    let mut shared = Vec::new();
    for other in topology.functions.iter().filter(|f| f.address != address) {
        for (other_decoder, (other_first, other_last)) in decoders(other) {
            for &(decoder, (own_first, own_last)) in &own {
                let (first, last) = (own_first.max(other_first), own_last.min(other_last));
                if first <= last {
                    shared.push(SharedPages {
                        decoder,
                        other: other.address,
                        other_decoder,
                        first,
                        last,
                    });
                }
            }
        }
    }
    shared
}

/// What a taken device shares, as [`crate::record_shared_pages`] found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sharing {
    /// With functions this domain did not take: the device is never given.
    untaken: Vec<SharedPages>,
    /// With functions it took: given only where no other guest has one.
    taken: Vec<SharedPages>,
}

impl Sharing {
    /// Whether the device at `address` may go to `frontend`, `holder`
    /// saying which guest has each function; the reason is logged.
    pub(crate) fn check(
        &self,
        address: Address,
        frontend: DomId,
        holder: impl Fn(Address) -> Option<DomId>,
    ) -> Result<(), Errno> {
        let mut refusal = Ok(());
        for shared in &self.untaken {
            error!(
                "{address} not given to domain {frontend}: its {shared}, which this domain \
                 did not take (XSA-461)"
            );
            refusal = Err(Errno::EPERM);
        }
        for shared in &self.taken {
            if let Some(other) = holder(shared.other).filter(|&other| other != frontend) {
                error!(
                    "{address} not given to domain {frontend}: its {shared}, which domain \
                     {other} has (XSA-461)"
                );
                refusal = refusal.and(Err(Errno::EBUSY));
            }
        }
        refusal
    }

    /// The taken functions it shares a page with, once each and in address
    /// order: whoever has it can reach their registers.
    pub(crate) fn neighbours(&self) -> Vec<Address> {
        let mut neighbours = Vec::new();
        for shared in &self.taken {
            if let Err(at) = neighbours.binary_search(&shared.other) {
                neighbours.insert(at, shared.other);
            }
        }
        neighbours
    }
}

impl Sharing {
    /// What the function at `address` shares with the other functions of
    /// its segment's enumeration (`topology`), `taken` naming every
    /// function this domain took; logs a warning for each page shared with
    /// a function not taken (the device is then never given to a guest).
    pub(crate) fn find(topology: &Topology, address: Address, taken: &[Address]) -> Self {
        let (with_taken, untaken): (Vec<_>, Vec<_>) = shared_pages(topology, address)
            .into_iter()
            .partition(|shared| taken.contains(&shared.other));
        for shared in &untaken {
            warn!(
                "pciback {address}: its {shared}, which this domain did not take: {address} \
                 will not be given to a guest, which would reach {}'s registers (XSA-461)",
                shared.other
            );
        }
        for shared in &with_taken {
            info!(
                "pciback {address}: its {shared}, also taken: while a guest has either, \
                 the other goes to no other guest (XSA-461)"
            );
        }
        Self {
            untaken,
            taken: with_taken,
        }
    }
}
