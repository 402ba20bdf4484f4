// SPDX-License-Identifier: MIT OR Apache-2.0
//! `console_io`: write to Xen's own console (the `(XEN)` log).
//!
//! Wraps `__HYPERVISOR_console_io` (`xen.h`). Xen allows it to the console
//! domain, or to anyone when built with `CONFIG_VERBOSE_DEBUG`; others get
//! `-EPERM`.

use super::{Hypercall, buffer_arg};
use crate::Errno;
use crate::abi::xen::{CONSOLEIO_WRITE, HYPERVISOR_CONSOLE_IO};

/// Largest chunk passed in one call (Xen's count is an `unsigned int`).
const CHUNK: usize = 4096;

/// `CONSOLEIO_write`: writes all of `bytes`, one chunk per hypercall.
pub fn write<H: Hypercall + ?Sized>(hv: &H, bytes: &[u8]) -> Result<(), Errno> {
    for chunk in bytes.chunks(CHUNK) {
        let args = [
            u64::from(CONSOLEIO_WRITE),
            chunk.len() as u64,
            buffer_arg(chunk),
            0,
            0,
        ];
        // SAFETY: for CONSOLEIO_write Xen only reads `count` (the second
        // argument) bytes at the third; that is `chunk`, which holds exactly
        // that many bytes and outlives the call.
        let ret = unsafe { hv.hypercall(HYPERVISOR_CONSOLE_IO, args) };
        Errno::check(ret)?;
    }
    Ok(())
}
