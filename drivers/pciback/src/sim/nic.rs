// SPDX-License-Identifier: MIT OR Apache-2.0
//! The NIC the host tests, the server's unit tests and the op-path benchmark share.
//!
//! An 82574L-like PCIe endpoint (e1000e's `8086:10d3`, the NIC of the
//! nested environment) with every kind of BAR and each capability pciback
//! virtualizes, so one device exercises every field table.

use pci::Width;
use pci::capability::{BarRegion, PortType};
use pci::register::Command;
use pci::sim::{SimBar, SimDevice};

/// Vendor ID.
pub const VENDOR: u16 = 0x8086;
/// Device ID.
pub const DEVICE: u16 = 0x10d3;
/// The command register firmware left: memory, bus master, INTx masked.
pub const FIRMWARE_COMMAND: u16 = 0x0406;
/// The interrupt line firmware programmed (INTA).
pub const LINE: u8 = 11;
/// Where the builder puts the capabilities: PM at 0x40 (8 bytes), MSI
/// 64-bit at 0x48 (14 bytes), MSI-X at 0x58 (12), PCIe at 0x64,
/// vendor-specific at 0xA0; AER at 0x100 in extended space.
pub const PM: u16 = 0x40;
/// The MSI capability.
pub const MSI: u16 = 0x48;
/// The MSI-X capability.
pub const MSIX: u16 = 0x58;
/// The PCI Express capability.
pub const PCIE: u16 = 0x64;
/// BAR 0 (32-bit memory, 128 KiB): the MSI-X table at 0x1000, PBA at 0x1800.
pub const BAR0: u64 = 0xfebc_0000;
/// The MSI-X table's offset in BAR 0 (not 0, as on real NICs and nvme).
pub const MSIX_TABLE_OFFSET: u32 = 0x1000;
/// MSI-X table entries.
pub const MSIX_VECTORS: u16 = 5;

/// The NIC: BAR 0 memory (32-bit), BAR 1 I/O, BAR 2 64-bit prefetchable
/// memory, a disabled ROM; PM (with every PME-support bit set, which
/// pciback hides), MSI (64-bit, per-vector masking), MSI-X (5 vectors in
/// BAR 0), PCIe with FLR, a vendor-specific capability and AER.
pub fn nic() -> SimDevice {
    SimDevice::endpoint(VENDOR, DEVICE, 0x02_00_00)
        .revision(3)
        .subsystem(VENDOR, 0xa01f)
        .interrupt(1, LINE)
        .command(Command::from_bits_retain(FIRMWARE_COMMAND))
        .bar(0, SimBar::memory32(0x2_0000).at(BAR0))
        .bar(1, SimBar::io(0x20).at(0xc040))
        .bar(
            2,
            SimBar::memory64(0x4000_0000)
                .prefetchable()
                .at(0x8_0000_0000),
        )
        .rom(0x8000, 0xfeb8_0000, false)
        .pm()
        .msi(1, true, false)
        .msix(
            MSIX_VECTORS,
            BarRegion {
                bir: 0,
                offset: MSIX_TABLE_OFFSET,
            },
            BarRegion {
                bir: 0,
                offset: 0x1800,
            },
        )
        .pcie(PortType::Endpoint)
        .function_level_reset()
        .vendor_specific(&[1, 2, 3, 4])
        .aer()
        .raw_register(PM + 2, Width::Word, 0xFE03)
}
