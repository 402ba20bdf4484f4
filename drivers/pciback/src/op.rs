// SPDX-License-Identifier: MIT OR Apache-2.0
//! One frontend op in, its result fields out: Linux's `xen_pcibk_do_one_op`.
//!
//! The caller copies `xen_pci_op` out of the shared page once (XSA-155) and
//! passes the copy; nothing here reads guest memory. The device is looked
//! up first (anything not this frontend's: `dev_not_found`), then the op
//! number is dispatched: configuration reads and writes to the virtual
//! configuration space, MSI and MSI-X to [`crate::InterruptControl`], any
//! other number (the AER numbers included: those travel backend to
//! frontend in `aer_op`, never as requests) `not_implemented`. The caller
//! writes back only what [`Reply`] holds.

use pci::ConfigAccess;
use xen::abi::io::pciif::{
    XEN_PCI_ERR_SUCCESS, XEN_PCI_OP_CONF_READ, XEN_PCI_OP_CONF_WRITE, XEN_PCI_OP_DISABLE_MSI,
    XEN_PCI_OP_DISABLE_MSIX, XEN_PCI_OP_ENABLE_MSI, XEN_PCI_OP_ENABLE_MSIX, XenMsixEntry, XenPciOp,
};

use crate::config::Access;
use crate::error::OpError;
use crate::hardware::Hardware;
use crate::interrupts::{self, Answer, InterruptControl};
use crate::{Delay, GuestDevices};

/// The result fields of one op, to write back to the shared page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'op> {
    /// `xen_pci_op.err`: 0 or a `XEN_PCI_ERR_*` code or a negative errno.
    pub err: i32,
    /// `xen_pci_op.value`.
    pub value: u32,
    /// The entries whose `vector` goes back to `msix_entries[i].vector`,
    /// same index: after a successful `enable_msix`, the first `value`
    /// entries the guest sent; otherwise none.
    pub msix_entries: &'op [XenMsixEntry],
}

impl Reply<'_> {
    /// A reply with no MSI-X entries.
    fn new(answer: Answer) -> Self {
        let (result, value) = answer;
        Self {
            err: result.map_or_else(OpError::code, |()| XEN_PCI_ERR_SUCCESS),
            value,
            msix_entries: &[],
        }
    }
}

impl GuestDevices {
    /// Serves one op: `op` is the frontend's request, copied out of the
    /// shared page; `access`, `interrupts` and `delay` reach the machine.
    pub async fn handle<'op, A, I, D>(
        &mut self,
        op: &'op mut XenPciOp,
        access: &A,
        interrupts: &mut I,
        delay: &D,
    ) -> Reply<'op>
    where
        A: ConfigAccess + ?Sized,
        I: InterruptControl + ?Sized,
        D: Delay + ?Sized,
    {
        let permissive = self.permissive();
        let Some(device) = self.lookup_mut(op.domain, op.bus, op.devfn) else {
            return Reply::new((Err(OpError::DeviceNotFound), op.value));
        };
        let answer = match op.cmd {
            XEN_PCI_OP_CONF_READ => match Access::new(op.offset, op.size) {
                Ok(request) => (Ok(()), device.read(access, request)),
                Err(error) => (Err(error), 0),
            },
            XEN_PCI_OP_CONF_WRITE => {
                let result = match Access::new(op.offset, op.size) {
                    Ok(request) => {
                        device
                            .write(access, delay, request, op.value, permissive)
                            .await
                    }
                    Err(error) => Err(error),
                };
                (result, op.value)
            }
            XEN_PCI_OP_ENABLE_MSI => {
                let hw = Hardware::new(access, device.address());
                interrupts::enable_msi(&hw, &mut device.state, interrupts)
            }
            XEN_PCI_OP_DISABLE_MSI => {
                let hw = Hardware::new(access, device.address());
                (
                    Ok(()),
                    interrupts::disable_msi(&hw, &mut device.state, interrupts),
                )
            }
            XEN_PCI_OP_ENABLE_MSIX => {
                let hw = Hardware::new(access, device.address());
                let count = op.value;
                let answer = interrupts::enable_msix(
                    &hw,
                    &mut device.state,
                    interrupts,
                    count,
                    &mut op.msix_entries,
                );
                if answer.0.is_ok() {
                    let op: &'op XenPciOp = op;
                    let written = usize::try_from(count).unwrap_or_default();
                    return Reply {
                        msix_entries: op.msix_entries.get(..written).unwrap_or_default(),
                        ..Reply::new(answer)
                    };
                }
                answer
            }
            XEN_PCI_OP_DISABLE_MSIX => {
                let hw = Hardware::new(access, device.address());
                (
                    Ok(()),
                    interrupts::disable_msix(&hw, &mut device.state, interrupts),
                )
            }
            _ => (Err(OpError::NotImplemented), op.value),
        };
        Reply::new(answer)
    }
}
