// SPDX-License-Identifier: MIT OR Apache-2.0
//! The failures a frontend's op can report: the values of `xen_pci_op.err`.
//!
//! Linux's pciback answers with a `XEN_PCI_ERR_*` code on most paths, and
//! with a raw negative Linux errno on a few (MSI-X enable, and a device
//! enable through the command register that fails). [`OpError`] holds both;
//! [`OpError::code`] turns it into the `err` field, once, at the boundary.
//! The errno numbers used here (EINVAL, ENXIO, ENOSPC, EIO) are the same in
//! Linux (x86) and Xen's `errno.h`, so they travel as [`xen::Errno`];
//! Linux's EALREADY, which Xen does not define, is [`EALREADY`].

use core::fmt;

use xen::Errno;
use xen::abi::io::pciif::{
    XEN_PCI_ERR_ACCESS_DENIED, XEN_PCI_ERR_DEV_NOT_FOUND, XEN_PCI_ERR_INVALID_OFFSET,
    XEN_PCI_ERR_NOT_IMPLEMENTED, XEN_PCI_ERR_OP_FAILED,
};

/// Linux's `EALREADY` on x86 (not in Xen's `errno.h`).
pub(crate) const EALREADY: Errno = Errno::Other(114);

/// Why an op failed, as the frontend is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpError {
    /// `XEN_PCI_ERR_dev_not_found`: no device of this frontend at that address.
    DeviceNotFound,
    /// `XEN_PCI_ERR_invalid_offset`: bad access size, alignment or offset.
    InvalidOffset,
    /// `XEN_PCI_ERR_access_denied`: a handler refused the write (Linux's
    /// `PCIBIOS_SET_FAILED`).
    AccessDenied,
    /// `XEN_PCI_ERR_not_implemented`: an op number this backend does not serve.
    NotImplemented,
    /// `XEN_PCI_ERR_op_failed`: an MSI enable that did not happen.
    OpFailed,
    /// A negative Linux errno, passed to the guest as is.
    Errno(Errno),
}

impl OpError {
    /// The value of `xen_pci_op.err` for this failure.
    pub fn code(self) -> i32 {
        match self {
            Self::DeviceNotFound => XEN_PCI_ERR_DEV_NOT_FOUND,
            Self::InvalidOffset => XEN_PCI_ERR_INVALID_OFFSET,
            Self::AccessDenied => XEN_PCI_ERR_ACCESS_DENIED,
            Self::NotImplemented => XEN_PCI_ERR_NOT_IMPLEMENTED,
            Self::OpFailed => XEN_PCI_ERR_OP_FAILED,
            Self::Errno(errno) => i32::try_from(errno.code())
                .ok()
                .and_then(i32::checked_neg)
                .unwrap_or(i32::MIN),
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeviceNotFound => f.write_str("device not found"),
            Self::InvalidOffset => f.write_str("invalid offset"),
            Self::AccessDenied => f.write_str("access denied"),
            Self::NotImplemented => f.write_str("not implemented"),
            Self::OpFailed => f.write_str("operation failed"),
            Self::Errno(errno) if *errno == EALREADY => f.write_str("EALREADY (114)"),
            Self::Errno(errno) => write!(f, "{errno}"),
        }
    }
}

impl core::error::Error for OpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_pciif_values_and_negated_errnos() {
        // include/xen/interface/io/pciif.h: XEN_PCI_ERR_* are -1 .. -5.
        let table = [
            (OpError::DeviceNotFound, -1),
            (OpError::InvalidOffset, -2),
            (OpError::AccessDenied, -3),
            (OpError::NotImplemented, -4),
            (OpError::OpFailed, -5),
            (OpError::Errno(Errno::EINVAL), -22),
            (OpError::Errno(Errno::ENXIO), -6),
            (OpError::Errno(EALREADY), -114),
        ];
        for (error, code) in table {
            assert_eq!(error.code(), code, "{error}");
        }
    }
}
