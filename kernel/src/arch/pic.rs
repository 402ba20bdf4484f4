// SPDX-License-Identifier: MIT OR Apache-2.0
//! The legacy 8259 PICs: moved off the exception vectors and masked.
//!
//! Firmware leaves IRQ 0 on vector 8 (the double-fault vector); the image
//! takes no legacy interrupts, so both PICs are remapped to 0x20..0x30 and
//! masked. Under Xen PVH there is no PIC and the writes go nowhere.

use x86_64::instructions::port::PortWriteOnly;

const MASTER_COMMAND: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_COMMAND: u16 = 0xa0;
const SLAVE_DATA: u16 = 0xa1;

/// First vector of the remapped PICs (master 0x20..0x28, slave 0x28..0x30).
const VECTOR_BASE: u8 = 0x20;

/// Remaps both PICs above the exception vectors and masks every line.
pub fn disable() {
    let writes: [(u16, u8); 10] = [
        (MASTER_COMMAND, 0x11), // ICW1: init, ICW4 follows
        (SLAVE_COMMAND, 0x11),
        (MASTER_DATA, VECTOR_BASE), // ICW2: vector base
        (SLAVE_DATA, VECTOR_BASE + 8),
        (MASTER_DATA, 0x04), // ICW3: slave on IRQ 2
        (SLAVE_DATA, 0x02),  // ICW3: cascade identity
        (MASTER_DATA, 0x01), // ICW4: 8086 mode
        (SLAVE_DATA, 0x01),
        (MASTER_DATA, 0xff), // OCW1: mask all
        (SLAVE_DATA, 0xff),
    ];
    for (port, value) in writes {
        // SAFETY: these are the 8259 ports on every PC; the sequence is the
        // standard initialisation and leaves every line masked.
        unsafe { PortWriteOnly::<u8>::new(port).write(value) };
    }
}
