// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FakeXen`](super::FakeXen)'s grant tables: map and unmap as an HVM caller may.
//!
//! Mapping over a frame that already holds a mapping is refused and
//! recorded as a violation (real Xen would crash the domain).

use std::sync::Arc;

use super::{Caller, Injected, Mapping, argument};
use crate::Errno;
use crate::abi::grant_table::{
    GNTMAP_HOST_MAP, GNTMAP_READONLY, GNTST_OKAY, GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE,
    GNTTABOP_UNMAP_GRANT_REF, GnttabMapGrantRef, GnttabQuerySize, GnttabUnmapGrantRef, GrantHandle,
    GrantStatus,
};
use crate::shared_page::PAGE_SIZE;

impl Caller<'_> {
    pub(super) unsafe fn grant_table(
        mut self,
        cmd: u32,
        arg: u64,
        count: u64,
        injected: Option<Injected>,
    ) -> Result<u64, Errno> {
        if count != 1 {
            return Err(Errno::EINVAL);
        }
        let forced = match injected {
            Some(Injected::GrantStatus(status)) => Some(status.raw()),
            _ => None,
        };
        // SAFETY: (all arms) `arg` points to one struct for `cmd` (count 1).
        unsafe {
            match cmd {
                GNTTABOP_MAP_GRANT_REF => {
                    let op = argument::<GnttabMapGrantRef>(arg)?;
                    op.status = match forced {
                        Some(status) => status,
                        None => match self.map_grant(op) {
                            Ok(handle) => {
                                op.handle = handle;
                                GNTST_OKAY
                            }
                            Err(status) => status.raw(),
                        },
                    };
                }
                GNTTABOP_UNMAP_GRANT_REF => {
                    let op = argument::<GnttabUnmapGrantRef>(arg)?;
                    op.status = match forced {
                        Some(status) => status,
                        None => self
                            .unmap_grant(op.host_addr, op.handle)
                            .map_or_else(GrantStatus::raw, |()| GNTST_OKAY),
                    };
                }
                GNTTABOP_QUERY_SIZE => {
                    let op = argument::<GnttabQuerySize>(arg)?;
                    self.check_self(op.dom)?;
                    (op.nr_frames, op.max_nr_frames) = (1, 64);
                    op.status = forced.unwrap_or(GNTST_OKAY);
                }
                _ => return Err(Errno::ENOSYS),
            }
        }
        Ok(0)
    }

    /// `map_grant_ref` as `hvm/grant_table.c` allows it: host mapping only,
    /// checked in Xen's order (flags, domain, reference, access, then the
    /// physmap update).
    fn map_grant(&mut self, op: &GnttabMapGrantRef) -> Result<GrantHandle, GrantStatus> {
        let readonly = match op.flags {
            GNTMAP_HOST_MAP => false,
            f if f == GNTMAP_HOST_MAP | GNTMAP_READONLY => true,
            _ => return Err(GrantStatus::GeneralError),
        };
        let me = self.domid;
        let granter = self
            .state
            .domains
            .get_mut(&op.dom)
            .ok_or(GrantStatus::BadDomain)?;
        let grant = granter
            .grants
            .get_mut(&op.ref_)
            .ok_or(GrantStatus::BadGntref)?;
        if grant.grantee != me {
            return Err(GrantStatus::BadGntref);
        }
        if grant.readonly && !readonly {
            return Err(GrantStatus::PermissionDenied);
        }
        let page = Arc::clone(&grant.page);
        if op.host_addr & (PAGE_SIZE as u64 - 1) != 0 {
            return Err(GrantStatus::GeneralError);
        }
        let gfn = op.host_addr / PAGE_SIZE as u64;
        let handle = self.state.next_handle;
        let caller = self.state.domain(me).map_err(|_| GrantStatus::BadDomain)?;
        if caller.maps.contains_key(&gfn) {
            // Real Xen crashes the domain (p2m_add_page over a grant entry).
            caller
                .violations
                .push("grant mapped over an existing grant mapping");
            return Err(GrantStatus::GeneralError);
        }
        caller.maps.insert(
            gfn,
            Mapping {
                granter: op.dom,
                gref: op.ref_,
                handle,
                page,
            },
        );
        self.state.next_handle = handle.wrapping_add(1);
        if let Some(grant) = self
            .state
            .domains
            .get_mut(&op.dom)
            .and_then(|d| d.grants.get_mut(&op.ref_))
        {
            grant.mappings += 1;
        }
        Ok(handle)
    }

    fn unmap_grant(&mut self, host_addr: u64, handle: GrantHandle) -> Result<(), GrantStatus> {
        let me = self
            .state
            .domain(self.domid)
            .map_err(|_| GrantStatus::BadDomain)?;
        let (&gfn, mapping) = me
            .maps
            .iter()
            .find(|(_, m)| m.handle == handle)
            .ok_or(GrantStatus::BadHandle)?;
        if gfn * PAGE_SIZE as u64 != host_addr {
            return Err(GrantStatus::GeneralError);
        }
        let (granter, gref) = (mapping.granter, mapping.gref);
        me.maps.remove(&gfn);
        if let Some(grant) = self
            .state
            .domains
            .get_mut(&granter)
            .and_then(|d| d.grants.get_mut(&gref))
        {
            grant.mappings = grant.mappings.saturating_sub(1);
        }
        Ok(())
    }
}
