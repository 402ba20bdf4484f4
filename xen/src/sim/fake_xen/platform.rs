// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FakeXen`](super::FakeXen)'s memory, HVM, scheduler, version and console calls.
//!
//! Enough of each to observe what a guest did: parameters, shutdown
//! reason, timer deadline, console bytes, where `shared_info` went.

use super::{Caller, argument};
use crate::Errno;
use crate::abi::features::{
    XENFEAT_AUTO_TRANSLATED_PHYSMAP, XENFEAT_HVM_CALLBACK_VECTOR, XENFEAT_HVM_SAFE_PVCLOCK,
};
use crate::abi::hvm_op::{HVMOP_GET_PARAM, HVMOP_SET_PARAM, XenHvmParam};
use crate::abi::memory::{
    XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO, XENMEM_ADD_TO_PHYSMAP, XenAddToPhysmap,
};
use crate::abi::sched::{
    SCHED_POLL_MAX_PORTS, SCHEDOP_BLOCK, SCHEDOP_POLL, SCHEDOP_SHUTDOWN, SCHEDOP_YIELD, SchedPoll,
    SchedShutdown,
};
use crate::abi::version::{
    XENVER_EXTRAVERSION, XENVER_GET_FEATURES, XENVER_VERSION, XenFeatureInfo,
};
use crate::abi::xen::CONSOLEIO_WRITE;

impl Caller<'_> {
    pub(super) unsafe fn memory(mut self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        if cmd != XENMEM_ADD_TO_PHYSMAP {
            return Err(Errno::ENOSYS);
        }
        // SAFETY: XENMEM_add_to_physmap takes a struct xen_add_to_physmap.
        let arg = unsafe { argument::<XenAddToPhysmap>(arg) }?;
        self.check_self(arg.domid)?;
        match (arg.space, arg.idx) {
            (XENMAPSPACE_SHARED_INFO, 0) => self.me()?.shared_info_gfn = Some(arg.gpfn),
            (XENMAPSPACE_GRANT_TABLE, _) => {}
            _ => return Err(Errno::EINVAL),
        }
        Ok(0)
    }

    pub(super) unsafe fn hvm(mut self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        // SAFETY: both parameter commands take a struct xen_hvm_param.
        let arg = unsafe { argument::<XenHvmParam>(arg) }?;
        self.check_self(arg.domid)?;
        let params = &mut self.me()?.hvm_params;
        match cmd {
            HVMOP_GET_PARAM => arg.value = params.get(&arg.index).copied().unwrap_or(0),
            HVMOP_SET_PARAM => {
                params.insert(arg.index, arg.value);
            }
            _ => return Err(Errno::ENOSYS),
        }
        Ok(0)
    }

    pub(super) unsafe fn sched(mut self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        match cmd {
            SCHEDOP_YIELD | SCHEDOP_BLOCK => {}
            SCHEDOP_SHUTDOWN => {
                // SAFETY: SCHEDOP_shutdown takes a struct sched_shutdown.
                let reason = unsafe { argument::<SchedShutdown>(arg) }?.reason;
                self.me()?.shutdown = Some(reason);
            }
            SCHEDOP_POLL => {
                // SAFETY: SCHEDOP_poll takes a struct sched_poll.
                let poll = unsafe { argument::<SchedPoll>(arg) }?;
                if poll.nr_ports > SCHED_POLL_MAX_PORTS {
                    return Err(Errno::EINVAL);
                }
            }
            _ => return Err(Errno::ENOSYS),
        }
        Ok(0)
    }

    pub(super) fn set_timer(mut self, deadline_ns: u64) -> Result<u64, Errno> {
        self.me()?.timer = (deadline_ns != 0).then_some(deadline_ns);
        Ok(0)
    }

    pub(super) unsafe fn version(self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        match cmd {
            XENVER_VERSION => Ok(4 << 16 | 17),
            XENVER_EXTRAVERSION => {
                // SAFETY: XENVER_extraversion takes a char[16].
                let extra = unsafe { argument::<[u8; 16]>(arg) }?;
                *extra = [0; 16];
                extra[..2].copy_from_slice(b".5");
                Ok(0)
            }
            XENVER_GET_FEATURES => {
                // SAFETY: XENVER_get_features takes a struct xen_feature_info.
                let info = unsafe { argument::<XenFeatureInfo>(arg) }?;
                info.submap = if info.submap_idx == 0 {
                    1 << XENFEAT_AUTO_TRANSLATED_PHYSMAP
                        | 1 << XENFEAT_HVM_CALLBACK_VECTOR
                        | 1 << XENFEAT_HVM_SAFE_PVCLOCK
                } else {
                    0
                };
                Ok(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    pub(super) unsafe fn console_io(
        mut self,
        cmd: u32,
        count: u64,
        buffer: u64,
    ) -> Result<u64, Errno> {
        if cmd != CONSOLEIO_WRITE {
            return Err(Errno::ENOSYS);
        }
        let len = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
        let address = usize::try_from(buffer).map_err(|_| Errno::EFAULT)?;
        let pointer = core::ptr::with_exposed_provenance::<u8>(address);
        if pointer.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: CONSOLEIO_write reads `count` bytes at `buffer`, which the
        // caller lent for the call.
        let bytes = unsafe { core::slice::from_raw_parts(pointer, len) };
        self.me()?.console.extend_from_slice(bytes);
        Ok(0)
    }
}
