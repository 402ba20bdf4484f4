// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/hvm/params.h`: `HVM_PARAM_*` and the callback encoding.
//!
//! Mirrors the Xen 4.17.5 header (x86).

/// `HVM_PARAM_CALLBACK_IRQ`: how event-channel upcalls are delivered.
pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
/// `HVM_PARAM_STORE_PFN`: frame of the XenStore ring page.
pub const HVM_PARAM_STORE_PFN: u32 = 1;
/// `HVM_PARAM_STORE_EVTCHN`: local port of the XenStore event channel.
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
/// `HVM_PARAM_CONSOLE_PFN`: frame of the PV console ring page.
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
/// `HVM_PARAM_CONSOLE_EVTCHN`: local port of the PV console event channel.
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;

/// `HVM_PARAM_CALLBACK_IRQ_TYPE_MASK`: bits 63:56 of the callback value.
pub const HVM_PARAM_CALLBACK_IRQ_TYPE_MASK: u64 = 0xFF00_0000_0000_0000;
/// Shift of the type field in the callback value.
pub const HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT: u32 = 56;
/// `HVM_PARAM_CALLBACK_TYPE_GSI`: bits 55:0 are a GSI (not 0).
pub const HVM_PARAM_CALLBACK_TYPE_GSI: u64 = 0;
/// `HVM_PARAM_CALLBACK_TYPE_PCI_INTX`: bits 55:0 name a PCI INTx line.
pub const HVM_PARAM_CALLBACK_TYPE_PCI_INTX: u64 = 1;
/// `HVM_PARAM_CALLBACK_TYPE_VECTOR` (x86): bits 7:0 are an IDT vector,
/// injected while `evtchn_upcall_pending` is set, with no APIC EOI.
pub const HVM_PARAM_CALLBACK_TYPE_VECTOR: u64 = 2;

/// The `HVM_PARAM_CALLBACK_IRQ` value for delivery on IDT `vector`.
///
/// Check `XENFEAT_hvm_callback_vector` first.
pub const fn callback_via_vector(vector: u8) -> u64 {
    (HVM_PARAM_CALLBACK_TYPE_VECTOR << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) | vector as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_callback_encoding() {
        // params.h: val[63:56] = 2 (vector), val[7:0] = vector.
        assert_eq!(callback_via_vector(0xF3), 0x0200_0000_0000_00F3);
        assert_eq!(
            callback_via_vector(0x20) & HVM_PARAM_CALLBACK_IRQ_TYPE_MASK,
            2 << 56
        );
    }
}
