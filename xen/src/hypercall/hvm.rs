// SPDX-License-Identifier: MIT OR Apache-2.0
//! `hvm_op`: reading and setting our HVM parameters.
//!
//! Wraps `__HYPERVISOR_hvm_op` (`hvm/hvm_op.h`, `hvm/params.h`).

use super::{Command, Hypercall, command};
use crate::Errno;
use crate::abi::hvm_op::{HVMOP_GET_PARAM, HVMOP_SET_PARAM, XenHvmParam};
use crate::abi::xen::{DOMID_SELF, HYPERVISOR_HVM_OP};

// SAFETY: hvm_op(HVMOP_get_param, struct xen_hvm_param *) reads domid and
// index and writes value of exactly one XenHvmParam (hvm_op.h).
unsafe impl Command<HVMOP_GET_PARAM> for XenHvmParam {
    const HYPERCALL: u32 = HYPERVISOR_HVM_OP;
}

// SAFETY: hvm_op(HVMOP_set_param, struct xen_hvm_param *) reads exactly one
// XenHvmParam (hvm_op.h).
unsafe impl Command<HVMOP_SET_PARAM> for XenHvmParam {
    const HYPERCALL: u32 = HYPERVISOR_HVM_OP;
}

/// `HVMOP_get_param` on ourselves: the value of `HVM_PARAM_*` `index`.
pub fn get_param<H: Hypercall + ?Sized>(hv: &H, index: u32) -> Result<u64, Errno> {
    let mut param = XenHvmParam {
        domid: DOMID_SELF,
        pad: 0,
        index,
        value: 0,
    };
    command::<HVMOP_GET_PARAM, _, _>(hv, &mut param)?;
    Ok(param.value)
}

/// `HVMOP_set_param` on ourselves, e.g. `HVM_PARAM_CALLBACK_IRQ` with
/// [`crate::abi::hvm_params::callback_via_vector`].
pub fn set_param<H: Hypercall + ?Sized>(hv: &H, index: u32, value: u64) -> Result<(), Errno> {
    let mut param = XenHvmParam {
        domid: DOMID_SELF,
        pad: 0,
        index,
        value,
    };
    command::<HVMOP_SET_PARAM, _, _>(hv, &mut param).map(drop)
}
