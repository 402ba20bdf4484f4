// SPDX-License-Identifier: MIT OR Apache-2.0
//! Configuration-space register offsets and bit layouts (PCI Local Bus 3.0, PCIe Base).
//!
//! Offsets are byte offsets into one function's configuration space. Every
//! register names its access direction: RO (read-only), RW (read-write),
//! RW1C (read, write 1 to clear).
//!
//! ```text
//!          31            16 15             0
//!   0x00  | Device ID      | Vendor ID      |
//!   0x04  | Status         | Command        |
//!   0x08  | Class code (3 bytes)  | Rev ID  |
//!   0x0C  | BIST | Header | Latency | Cache |
//!   0x10  | BAR0 .. BAR5 (type 0), BAR0, BAR1 + bus numbers and windows (type 1)
//!   0x2C  | Subsystem ID   | Subsys vendor  |  (type 0)
//!   0x30  | Expansion ROM base address      |  (type 0; type 1 has it at 0x38)
//!   0x34  |                       | CapPtr  |
//!   0x3C  | MaxLat | MinGnt | Pin | Line    |  (type 1: Bridge Control in the high half)
//! ```

use bitflags::bitflags;

/// Vendor ID (RO, 16 bits); 0xFFFF when no function answers.
pub const VENDOR_ID: u16 = 0x00;
/// Device ID (RO, 16 bits).
pub const DEVICE_ID: u16 = 0x02;
/// Command register (RW, 16 bits): see [`Command`].
pub const COMMAND: u16 = 0x04;
/// Status register (RO and RW1C, 16 bits): see [`Status`].
pub const STATUS: u16 = 0x06;
/// Revision ID (RO, 8 bits).
pub const REVISION_ID: u16 = 0x08;
/// Programming interface, the low byte of the class code (RO, 8 bits).
pub const PROG_IF: u16 = 0x09;
/// Sub-class, the middle byte of the class code (RO, 8 bits).
pub const SUBCLASS: u16 = 0x0A;
/// Base class, the high byte of the class code (RO, 8 bits).
pub const BASE_CLASS: u16 = 0x0B;
/// Cache line size (RW, 8 bits).
pub const CACHE_LINE_SIZE: u16 = 0x0C;
/// Latency timer (RW, 8 bits).
pub const LATENCY_TIMER: u16 = 0x0D;
/// Header type (RO, 8 bits): layout in bits 6:0, multifunction in bit 7.
pub const HEADER_TYPE: u16 = 0x0E;
/// Built-in self test (RW, 8 bits).
pub const BIST: u16 = 0x0F;
/// First base address register (RW, 32 bits); BAR `n` is at `BAR0 + 4 * n`.
pub const BAR0: u16 = 0x10;
/// CardBus CIS pointer (RO, 32 bits, type 0).
pub const CARDBUS_CIS: u16 = 0x28;
/// Subsystem vendor ID (RO, 16 bits, type 0).
pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
/// Subsystem ID (RO, 16 bits, type 0).
pub const SUBSYSTEM_ID: u16 = 0x2E;
/// Expansion ROM base address (RW, 32 bits, type 0): see [`ROM_ENABLE`].
pub const ROM_ADDRESS: u16 = 0x30;
/// Capabilities pointer (RO, 8 bits); valid when [`Status::CAPABILITIES_LIST`] is set.
pub const CAPABILITIES_POINTER: u16 = 0x34;
/// Interrupt line (RW, 8 bits): the platform's routing, not used by the device.
pub const INTERRUPT_LINE: u16 = 0x3C;
/// Interrupt pin (RO, 8 bits): 0 none, 1-4 INTA#-INTD#.
pub const INTERRUPT_PIN: u16 = 0x3D;
/// Min_Gnt (RO, 8 bits, type 0).
pub const MIN_GNT: u16 = 0x3E;
/// Max_Lat (RO, 8 bits, type 0).
pub const MAX_LAT: u16 = 0x3F;

/// Number of BARs in a type-0 (endpoint) header.
pub const ENDPOINT_BAR_COUNT: u8 = 6;
/// Number of BARs in a type-1 (PCI-PCI bridge) header.
pub const BRIDGE_BAR_COUNT: u8 = 2;

/// Offset of BAR `index` (0-5). The caller keeps `index` below 6.
#[allow(clippy::arithmetic_side_effects, reason = "0x10 + 4 * 255 fits in u16")]
pub const fn bar(index: u8) -> u16 {
    BAR0 + 4 * index as u16
}

/// Size of the predefined header; capabilities live at or above it.
pub const HEADER_SIZE: u16 = 0x40;
/// BIST bit 6: start the built-in self test.
pub const BIST_START: u8 = 0x40;
/// Size of conventional (PCI 3.0) configuration space; PCIe extended space follows.
pub const CONVENTIONAL_SPACE_SIZE: u16 = 0x100;

/// Type-1 (PCI-PCI bridge) header registers.
pub mod bridge {
    /// Primary bus number (RW, 8 bits): the bus the bridge sits on.
    pub const PRIMARY_BUS: u16 = 0x18;
    /// Secondary bus number (RW, 8 bits): the bus directly behind the bridge.
    pub const SECONDARY_BUS: u16 = 0x19;
    /// Subordinate bus number (RW, 8 bits): the highest bus behind the bridge.
    pub const SUBORDINATE_BUS: u16 = 0x1A;
    /// Secondary latency timer (RW, 8 bits).
    pub const SECONDARY_LATENCY_TIMER: u16 = 0x1B;
    /// I/O base (RW, 8 bits): address bits 15:12 in bits 7:4, decode width in bits 3:0.
    pub const IO_BASE: u16 = 0x1C;
    /// I/O limit (RW, 8 bits): as [`IO_BASE`].
    pub const IO_LIMIT: u16 = 0x1D;
    /// Secondary status (RW1C, 16 bits).
    pub const SECONDARY_STATUS: u16 = 0x1E;
    /// Memory base (RW, 16 bits): address bits 31:20 in bits 15:4.
    pub const MEMORY_BASE: u16 = 0x20;
    /// Memory limit (RW, 16 bits): as [`MEMORY_BASE`].
    pub const MEMORY_LIMIT: u16 = 0x22;
    /// Prefetchable memory base (RW, 16 bits): address bits 31:20 in 15:4, width in 3:0.
    pub const PREFETCHABLE_BASE: u16 = 0x24;
    /// Prefetchable memory limit (RW, 16 bits): as [`PREFETCHABLE_BASE`].
    pub const PREFETCHABLE_LIMIT: u16 = 0x26;
    /// Prefetchable base, address bits 63:32 (RW, 32 bits).
    pub const PREFETCHABLE_BASE_UPPER: u16 = 0x28;
    /// Prefetchable limit, address bits 63:32 (RW, 32 bits).
    pub const PREFETCHABLE_LIMIT_UPPER: u16 = 0x2C;
    /// I/O base, address bits 31:16 (RW, 16 bits).
    pub const IO_BASE_UPPER: u16 = 0x30;
    /// I/O limit, address bits 31:16 (RW, 16 bits).
    pub const IO_LIMIT_UPPER: u16 = 0x32;
    /// Expansion ROM base address of a bridge (RW, 32 bits).
    pub const ROM_ADDRESS: u16 = 0x38;
    /// Bridge control (RW, 16 bits).
    pub const BRIDGE_CONTROL: u16 = 0x3E;
    /// Bridge Control bit 6: secondary bus reset.
    pub const BRIDGE_CONTROL_BUS_RESET: u16 = 1 << 6;

    /// Window register low bits: the address-width field.
    pub const WINDOW_WIDTH_MASK: u16 = 0x000F;
    /// Width field value: the window decodes 32-bit (I/O) or 64-bit (prefetchable) addresses.
    pub const WINDOW_WIDTH_WIDE: u16 = 0x0001;
    /// I/O base/limit bits 7:4: address bits 15:12.
    pub const IO_WINDOW_ADDRESS_MASK: u16 = 0x00F0;
    /// Shift from the I/O base/limit field to the address.
    pub const IO_WINDOW_SHIFT: u32 = 8;
    /// Shift from the I/O base/limit upper registers to the address (bits 31:16).
    pub const IO_UPPER_SHIFT: u32 = 16;
    /// Memory base/limit bits 15:4: address bits 31:20.
    pub const MEMORY_WINDOW_ADDRESS_MASK: u16 = 0xFFF0;
    /// Shift from the memory base/limit field to the address.
    pub const MEMORY_WINDOW_SHIFT: u32 = 16;
    /// I/O window granularity: 4 KiB.
    pub const IO_WINDOW_GRANULARITY: u64 = 0x1000;
    /// Memory window granularity: 1 MiB.
    pub const MEMORY_WINDOW_GRANULARITY: u64 = 0x10_0000;
}

/// The header layout, bits 6:0 of [`HEADER_TYPE`].
pub const HEADER_LAYOUT_MASK: u8 = 0x7F;
/// Bit 7 of [`HEADER_TYPE`] on function 0: the device has functions 1-7.
pub const HEADER_MULTIFUNCTION: u8 = 0x80;

/// BAR bit 0: 1 for an I/O BAR, 0 for a memory BAR.
pub const BAR_IO_SPACE: u32 = 0x1;
/// Memory BAR bits 2:1: the address width.
pub const BAR_MEMORY_TYPE_MASK: u32 = 0x6;
/// Memory type: 32-bit address.
pub const BAR_MEMORY_TYPE_32: u32 = 0x0;
/// Memory type: below 1 MiB (PCI 2.x; reserved since PCI 3.0).
pub const BAR_MEMORY_TYPE_BELOW_1M: u32 = 0x2;
/// Memory type: 64-bit address, the next BAR holds bits 63:32.
pub const BAR_MEMORY_TYPE_64: u32 = 0x4;
/// Memory BAR bit 3: prefetchable.
pub const BAR_PREFETCHABLE: u32 = 0x8;
/// Address bits of a memory BAR.
pub const BAR_MEMORY_ADDRESS_MASK: u32 = !0xF;
/// Address bits of an I/O BAR.
pub const BAR_IO_ADDRESS_MASK: u32 = !0x3;
/// Expansion ROM bit 0: the ROM decodes (when memory space is enabled too).
pub const ROM_ENABLE: u32 = 0x1;
/// Address bits of an expansion ROM BAR.
pub const ROM_ADDRESS_MASK: u32 = !0x7FF;

bitflags! {
    /// The command register (offset 0x04, RW, 16 bits).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Command: u16 {
        /// Bit 0: respond to I/O space accesses.
        const IO_SPACE = 1 << 0;
        /// Bit 1: respond to memory space accesses.
        const MEMORY_SPACE = 1 << 1;
        /// Bit 2: may act as a bus master (issue DMA and MSI writes).
        const BUS_MASTER = 1 << 2;
        /// Bit 3: monitor special cycles.
        const SPECIAL_CYCLES = 1 << 3;
        /// Bit 4: may use Memory Write and Invalidate.
        const MEMORY_WRITE_INVALIDATE = 1 << 4;
        /// Bit 5: VGA palette snooping.
        const VGA_PALETTE_SNOOP = 1 << 5;
        /// Bit 6: respond to parity errors.
        const PARITY_ERROR_RESPONSE = 1 << 6;
        /// Bit 7: IDSEL stepping / wait cycle control (hardwired 0 since PCI 3.0).
        const WAIT_CYCLE = 1 << 7;
        /// Bit 8: may report system errors.
        const SERR_ENABLE = 1 << 8;
        /// Bit 9: fast back-to-back transactions to different targets.
        const FAST_BACK_TO_BACK = 1 << 9;
        /// Bit 10: INTx# assertion disabled.
        const INTERRUPT_DISABLE = 1 << 10;
        /// Memory and I/O decoding: both are off while BARs are sized.
        const DECODE = Self::IO_SPACE.bits() | Self::MEMORY_SPACE.bits();
    }
}

bitflags! {
    /// The status register (offset 0x06, 16 bits; RO except the RW1C error bits).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Status: u16 {
        /// Bit 0 (RO): immediate readiness.
        const IMMEDIATE_READINESS = 1 << 0;
        /// Bit 3 (RO): an INTx interrupt is pending.
        const INTERRUPT_STATUS = 1 << 3;
        /// Bit 4 (RO): the capabilities pointer at 0x34 is valid.
        const CAPABILITIES_LIST = 1 << 4;
        /// Bit 5 (RO): 66 MHz capable.
        const MHZ_66 = 1 << 5;
        /// Bit 7 (RO): fast back-to-back capable.
        const FAST_BACK_TO_BACK = 1 << 7;
        /// Bit 8 (RW1C): master data parity error.
        const MASTER_DATA_PARITY_ERROR = 1 << 8;
        /// Bits 10:9 (RO): DEVSEL timing.
        const DEVSEL_TIMING = 0b11 << 9;
        /// Bit 11 (RW1C): signaled target abort.
        const SIGNALED_TARGET_ABORT = 1 << 11;
        /// Bit 12 (RW1C): received target abort.
        const RECEIVED_TARGET_ABORT = 1 << 12;
        /// Bit 13 (RW1C): received master abort.
        const RECEIVED_MASTER_ABORT = 1 << 13;
        /// Bit 14 (RW1C): signaled system error.
        const SIGNALED_SYSTEM_ERROR = 1 << 14;
        /// Bit 15 (RW1C): detected parity error.
        const DETECTED_PARITY_ERROR = 1 << 15;
        /// Every RW1C bit.
        const WRITE_ONE_TO_CLEAR = Self::MASTER_DATA_PARITY_ERROR.bits()
            | Self::SIGNALED_TARGET_ABORT.bits()
            | Self::RECEIVED_TARGET_ABORT.bits()
            | Self::RECEIVED_MASTER_ABORT.bits()
            | Self::SIGNALED_SYSTEM_ERROR.bits()
            | Self::DETECTED_PARITY_ERROR.bits();
    }
}

/// Offsets inside a standard capability, relative to its start.
pub mod capability {
    /// Capability ID (RO, 8 bits).
    pub const ID: u16 = 0x0;
    /// Next capability pointer (RO, 8 bits); 0 ends the list.
    pub const NEXT: u16 = 0x1;
    /// The bits of a next pointer that are an offset; the low two are reserved.
    pub const POINTER_MASK: u8 = 0xFC;
}

/// Extended capability header (PCIe, at 0x100 and above).
pub mod extended_capability {
    /// First extended capability, always at this offset when there is one.
    pub const FIRST: u16 = 0x100;
    /// Header bits 15:0: capability ID.
    pub const ID_MASK: u32 = 0xFFFF;
    /// Header bits 19:16: capability version.
    pub const VERSION_SHIFT: u32 = 16;
    /// Capability version mask, after the shift.
    pub const VERSION_MASK: u32 = 0xF;
    /// Header bits 31:20: next offset.
    pub const NEXT_SHIFT: u32 = 20;
    /// Next offset mask after the shift; the low two bits are reserved.
    pub const NEXT_MASK: u32 = 0xFFC;
}

/// Power Management capability (ID 0x01) registers, relative to the capability.
pub mod power_management {
    /// Power management capabilities, PMC (RO, 16 bits).
    pub const CAPABILITIES: u16 = 0x2;
    /// Control/status, PMCSR (RW and RW1C, 16 bits).
    pub const CONTROL_STATUS: u16 = 0x4;
    /// Bridge support extensions (RO, 8 bits).
    pub const BRIDGE_EXTENSIONS: u16 = 0x6;
    /// Data (RO, 8 bits).
    pub const DATA: u16 = 0x7;
    /// Capability length in bytes.
    pub const LENGTH: u16 = 0x8;

    /// PMC bits 2:0: version of the PM specification.
    pub const PMC_VERSION_MASK: u16 = 0x0007;
    /// PMC bit 9: D1 supported.
    pub const PMC_D1: u16 = 1 << 9;
    /// PMC bit 10: D2 supported.
    pub const PMC_D2: u16 = 1 << 10;
    /// PMC bits 15:11: the states PME# can be asserted from.
    pub const PMC_PME_SUPPORT_SHIFT: u16 = 11;
    /// PMC bits 15:11: the states PME can be signalled from.
    pub const PMC_PME_SUPPORT_MASK: u16 = 0xF800;
    /// PMCSR bits 1:0: power state (RW).
    pub const PMCSR_STATE_MASK: u16 = 0x0003;
    /// PMCSR bit 3: no soft reset on D3hot to D0 (RO).
    pub const PMCSR_NO_SOFT_RESET: u16 = 1 << 3;
    /// PMCSR bit 8: PME enable (RW).
    pub const PMCSR_PME_ENABLE: u16 = 1 << 8;
    /// PMCSR bits 12:9: data select (RW).
    pub const PMCSR_DATA_SELECT: u16 = 0xF << 9;
    /// PMCSR bit 15: PME status (RW1C).
    pub const PMCSR_PME_STATUS: u16 = 1 << 15;
}

/// MSI capability (ID 0x05) registers, relative to the capability.
pub mod msi {
    /// Message control (16 bits).
    pub const CONTROL: u16 = 0x2;
    /// Message address, bits 31:0 (RW, 32 bits).
    pub const ADDRESS_LOW: u16 = 0x4;
    /// Message address, bits 63:32 (RW, 32 bits, 64-bit capable functions).
    pub const ADDRESS_HIGH: u16 = 0x8;
    /// Message data of a 32-bit capability (RW, 16 bits).
    pub const DATA_32: u16 = 0x8;
    /// Message data of a 64-bit capability (RW, 16 bits).
    pub const DATA_64: u16 = 0xC;
    /// Mask bits of a 32-bit capability (RW, 32 bits, per-vector masking).
    pub const MASK_32: u16 = 0xC;
    /// Mask bits of a 64-bit capability (RW, 32 bits, per-vector masking).
    pub const MASK_64: u16 = 0x10;
    /// Pending bits of a 32-bit capability (RO, 32 bits, per-vector masking).
    pub const PENDING_32: u16 = 0x10;
    /// Pending bits of a 64-bit capability (RO, 32 bits, per-vector masking).
    pub const PENDING_64: u16 = 0x14;
    /// Length of a 32-bit capability without per-vector masking.
    pub const LENGTH_32: u16 = 0x0A;
    /// Length of a 64-bit capability without per-vector masking.
    pub const LENGTH_64: u16 = 0x0E;
    /// Length of a 32-bit capability with per-vector masking.
    pub const LENGTH_32_MASKABLE: u16 = 0x14;
    /// Length of a 64-bit capability with per-vector masking.
    pub const LENGTH_64_MASKABLE: u16 = 0x18;

    /// Control bit 0: MSI enable (RW).
    pub const CONTROL_ENABLE: u16 = 1 << 0;
    /// Control bits 3:1: multiple message capable, log2 of the vectors (RO).
    pub const CONTROL_MULTIPLE_CAPABLE_SHIFT: u16 = 1;
    /// Control bits 6:4: multiple message enable (RW).
    pub const CONTROL_MULTIPLE_ENABLE: u16 = 0x7 << 4;
    /// Three-bit field mask for the two multiple-message fields, after the shift.
    pub const CONTROL_MULTIPLE_MASK: u16 = 0x7;
    /// Control bit 7: 64-bit address capable (RO).
    pub const CONTROL_64BIT: u16 = 1 << 7;
    /// Control bit 8: per-vector masking capable (RO).
    pub const CONTROL_PER_VECTOR_MASK: u16 = 1 << 8;
    /// The largest valid multiple-message-capable value: 32 vectors.
    pub const MAX_MULTIPLE_CAPABLE: u8 = 5;
}

/// MSI-X capability (ID 0x11) registers, relative to the capability.
pub mod msix {
    /// Message control (16 bits).
    pub const CONTROL: u16 = 0x2;
    /// Table offset and BIR (RO, 32 bits).
    pub const TABLE: u16 = 0x4;
    /// Pending bit array offset and BIR (RO, 32 bits).
    pub const PBA: u16 = 0x8;
    /// Capability length in bytes.
    pub const LENGTH: u16 = 0xC;

    /// Control bits 10:0: table size minus one (RO).
    pub const CONTROL_TABLE_SIZE_MASK: u16 = 0x07FF;
    /// Control bit 14: function mask (RW).
    pub const CONTROL_FUNCTION_MASK: u16 = 1 << 14;
    /// Control bit 15: MSI-X enable (RW).
    pub const CONTROL_ENABLE: u16 = 1 << 15;
    /// Table/PBA register bits 2:0: the BAR indicator.
    pub const BIR_MASK: u32 = 0x7;
    /// Table/PBA register bits 31:3: the offset into that BAR.
    pub const OFFSET_MASK: u32 = !0x7;
}

/// PCI Express capability (ID 0x10) registers, relative to the capability.
pub mod pcie {
    /// PCI Express capabilities register (RO, 16 bits).
    pub const CAPABILITIES: u16 = 0x2;
    /// Device capabilities (RO, 32 bits).
    pub const DEVICE_CAPABILITIES: u16 = 0x4;
    /// Device control (RW, 16 bits).
    pub const DEVICE_CONTROL: u16 = 0x8;
    /// Device status (RW1C, 16 bits).
    pub const DEVICE_STATUS: u16 = 0xA;
    /// Link capabilities (RO, 32 bits).
    pub const LINK_CAPABILITIES: u16 = 0xC;
    /// Link control (RW, 16 bits).
    pub const LINK_CONTROL: u16 = 0x10;
    /// Link status (RO, 16 bits).
    pub const LINK_STATUS: u16 = 0x12;
    /// Bytes from the capability's start through the link status register.
    pub const LENGTH_THROUGH_LINK: u16 = 0x14;
    /// Length of a version 1 capability.
    pub const LENGTH_V1: u16 = 0x24;
    /// Length of a version 2 capability.
    pub const LENGTH_V2: u16 = 0x3C;
    /// Slot capabilities (RO, 32 bits; ports with a slot).
    pub const SLOT_CAPABILITIES: u16 = 0x14;
    /// Slot control (RW, 16 bits; ports with a slot).
    pub const SLOT_CONTROL: u16 = 0x18;
    /// Root capabilities (RO, 16 bits; root ports and event collectors).
    pub const ROOT_CAPABILITIES: u16 = 0x1E;
    /// Device capabilities 2 (RO, 32 bits; capability version 2).
    pub const DEVICE_CAPABILITIES_2: u16 = 0x24;
    /// Link capabilities 2 (RO, 32 bits; capability version 2).
    pub const LINK_CAPABILITIES_2: u16 = 0x2C;
    /// Slot capabilities 2 (RO, 32 bits; capability version 2).
    pub const SLOT_CAPABILITIES_2: u16 = 0x34;
    /// Root control (RW, 16 bits; root ports and event collectors).
    pub const ROOT_CONTROL: u16 = 0x1C;
    /// Device control 2 (RW, 16 bits; capability version 2).
    pub const DEVICE_CONTROL_2: u16 = 0x28;
    /// Link control 2 (RW, 16 bits; capability version 2).
    pub const LINK_CONTROL_2: u16 = 0x30;

    /// Capabilities bits 3:0: capability version.
    pub const CAPABILITIES_VERSION_MASK: u16 = 0xF;
    /// Capabilities bits 7:4: device/port type.
    pub const CAPABILITIES_PORT_TYPE_SHIFT: u16 = 4;
    /// Device/port type mask, after the shift.
    pub const CAPABILITIES_PORT_TYPE_MASK: u16 = 0xF;
    /// Device capabilities bit 28: function-level reset supported.
    pub const DEVICE_CAPABILITIES_FLR: u32 = 1 << 28;
    /// PCIe capabilities register bit 8: a slot is implemented.
    pub const CAPABILITIES_SLOT: u16 = 1 << 8;
    /// Device control bit 15: initiate function-level reset.
    pub const DEVICE_CONTROL_INITIATE_FLR: u16 = 1 << 15;
    /// Device status bit 5: transactions pending.
    pub const DEVICE_STATUS_TRANSACTIONS_PENDING: u16 = 1 << 5;
    /// Device status bits 3:0 (RW1C): error detected bits.
    pub const DEVICE_STATUS_ERRORS: u16 = 0xF;
    /// Link capabilities and status bits 3:0: link speed.
    pub const LINK_SPEED_MASK: u32 = 0xF;
    /// Link capabilities and status bits 9:4: link width.
    pub const LINK_WIDTH_SHIFT: u32 = 4;
    /// Link width mask, after the shift.
    pub const LINK_WIDTH_MASK: u32 = 0x3F;
}

/// Advanced Error Reporting extended capability (ID 0x0001), relative to it.
pub mod aer {
    /// Uncorrectable error status (RW1C, 32 bits).
    pub const UNCORRECTABLE_STATUS: u16 = 0x4;
    /// Uncorrectable error mask (RW, 32 bits).
    pub const UNCORRECTABLE_MASK: u16 = 0x8;
    /// Uncorrectable error severity (RW, 32 bits).
    pub const UNCORRECTABLE_SEVERITY: u16 = 0xC;
    /// Correctable error status (RW1C, 32 bits).
    pub const CORRECTABLE_STATUS: u16 = 0x10;
    /// Correctable error mask (RW, 32 bits).
    pub const CORRECTABLE_MASK: u16 = 0x14;
    /// Advanced error capabilities and control (RW, 32 bits).
    pub const CAPABILITIES_CONTROL: u16 = 0x18;
    /// Root error command (RW, 32 bits; root ports and event collectors).
    pub const ROOT_COMMAND: u16 = 0x2C;
    /// Root error status (RW1C, 32 bits; root ports and event collectors).
    pub const ROOT_STATUS: u16 = 0x30;
    /// Length of the capability of an endpoint.
    pub const LENGTH: u16 = 0x48;
}

/// Device Serial Number extended capability (ID 0x0003), relative to it.
pub mod dsn {
    /// The 64-bit serial number (RO), low dword first.
    pub const SERIAL: u16 = 0x4;
    /// Length of the capability.
    pub const LENGTH: u16 = 0xC;
}

/// PCI-X capability (ID 0x07), relative to it.
pub mod pci_x {
    /// Command register (RW, 16 bits).
    pub const COMMAND: u16 = 0x2;
}

/// Vital Product Data capability (ID 0x03), relative to it.
pub mod vpd {
    /// VPD address register (RW, 16 bits).
    pub const ADDRESS: u16 = 0x2;
    /// VPD data register (RW, 32 bits).
    pub const DATA: u16 = 0x4;
    /// Address bit 15: the access is a write (set by software), done (cleared by the device).
    pub const ADDRESS_WRITE: u16 = 0x8000;
}

/// Advanced Features capability (ID 0x13; conventional PCI FLR), relative to it.
pub mod advanced_features {
    /// AF capabilities (RO, 8 bits).
    pub const CAPABILITIES: u16 = 0x3;
    /// AF control (RW, 8 bits); AF status is the next byte.
    pub const CONTROL: u16 = 0x4;
    /// AF capabilities bit 0: the transactions-pending bit is supported.
    pub const CAPABILITY_TRANSACTIONS_PENDING: u8 = 0x01;
    /// AF capabilities bit 1: function-level reset supported.
    pub const CAPABILITY_FLR: u8 = 0x02;
    /// AF control bit 0: initiate function-level reset.
    pub const CONTROL_FLR: u8 = 0x01;
    /// AF status bit 0 (transactions pending), as a 16-bit read of
    /// [`CONTROL`] sees it.
    pub const STATUS_TRANSACTIONS_PENDING_WORD: u16 = 0x0100;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_offsets_follow_the_header_layout() {
        let offsets: [u16; 6] = core::array::from_fn(|i| bar(i as u8));
        assert_eq!(offsets, [0x10, 0x14, 0x18, 0x1C, 0x20, 0x24]);
        assert_eq!(CARDBUS_CIS, bar(ENDPOINT_BAR_COUNT));
        assert_eq!(bridge::PRIMARY_BUS, bar(BRIDGE_BAR_COUNT));
    }

    #[test]
    fn status_write_one_to_clear_bits_are_8_and_11_to_15() {
        assert_eq!(Status::WRITE_ONE_TO_CLEAR.bits(), 0xF900);
        assert_eq!(Command::DECODE.bits(), 0x0003);
    }
}
