// SPDX-License-Identifier: MIT OR Apache-2.0
//! The builder of simulated capability lists: where each capability goes and what its registers do.
//!
//! Capabilities are placed in the order they are added: standard ones from
//! 0x40 up, extended ones from 0x100 up, each at the previous one's offset
//! plus its length rounded up to 4, and linked from the previous one's next
//! pointer. PM, MSI, MSI-X, PCI Express and AER get the writable and
//! write-1-to-clear bits their specifications give them; any other is
//! read-only bytes.

use alloc::vec::Vec;

use super::device::SimDevice;
use super::space::Plane;
use crate::access::{CONFIG_SPACE_SIZE, Width};
use crate::capability::{BarRegion, CapabilityId, ExtendedCapabilityId, LinkSpeed, PortType};
use crate::register::{
    self, Status, aer, capability as header, extended_capability as extended, msi, msix, pcie,
    power_management as pm,
};

/// PMC version field of PCI Power Management 1.2.
const PM_VERSION_1_2: u16 = 3;
/// The PCIe capability version the builder produces.
const PCIE_CAPABILITY_VERSION: u16 = 2;
/// MSI message address bits: dword aligned.
const MSI_ADDRESS_WRITABLE: u32 = !0x3;

impl SimDevice {
    /// Appends a standard capability of `length` bytes with ID `id`; returns
    /// the device and the capability's offset.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    fn add_capability(mut self, id: CapabilityId, length: u16) -> (Self, u16) {
        let offset = self.next_capability;
        let end = offset
            .checked_add(length)
            .filter(|end| *end <= register::CONVENTIONAL_SPACE_SIZE);
        let Some(end) = end else {
            panic!("sim: capability {id} does not fit below 0x100")
        };
        self.next_capability = end.next_multiple_of(4);
        let link = self
            .last_capability
            .map_or(register::CAPABILITIES_POINTER, |last| {
                last.saturating_add(header::NEXT)
            });
        self.last_capability = Some(offset);
        let device = self
            .set(Plane::Value, link, Width::Byte, offset.into())
            .set(
                Plane::Value,
                offset.saturating_add(header::ID),
                Width::Byte,
                id.0.into(),
            )
            .status(Status::CAPABILITIES_LIST);
        (device, offset)
    }

    /// Appends a standard capability with ID `id` and read-only `body` (the
    /// bytes after the ID and next pointer).
    pub fn capability(self, id: CapabilityId, body: &[u8]) -> Self {
        let length = u16::try_from(body.len())
            .unwrap_or(u16::MAX)
            .saturating_add(2);
        let (device, offset) = self.add_capability(id, length);
        device.fill(offset.saturating_add(2), body)
    }

    /// Writes read-only bytes starting at `offset`.
    fn fill(self, offset: u16, bytes: &[u8]) -> Self {
        bytes
            .iter()
            .zip(offset..)
            .fold(self, |device, (byte, offset)| {
                device.set(Plane::Value, offset, Width::Byte, (*byte).into())
            })
    }

    /// Appends a vendor-specific capability carrying `data` (after its length byte).
    pub fn vendor_specific(self, data: &[u8]) -> Self {
        let length = u8::try_from(data.len().saturating_add(3)).unwrap_or(u8::MAX);
        let body: Vec<u8> = core::iter::once(length)
            .chain(data.iter().copied())
            .collect();
        self.capability(CapabilityId::VENDOR_SPECIFIC, &body)
    }

    /// Appends a Power Management capability: PM 1.2 (version 3), D1 and D2
    /// supported, PME# from no state, now in D0, no soft reset on D3hot→D0.
    pub fn pm(self) -> Self {
        let (device, offset) = self.add_capability(CapabilityId::POWER_MANAGEMENT, pm::LENGTH);
        let at = |register: u16| offset.saturating_add(register);
        device
            .set(
                Plane::Value,
                at(pm::CAPABILITIES),
                Width::Word,
                u32::from(PM_VERSION_1_2 | pm::PMC_D1 | pm::PMC_D2),
            )
            .set(
                Plane::Value,
                at(pm::CONTROL_STATUS),
                Width::Word,
                pm::PMCSR_NO_SOFT_RESET.into(),
            )
            .set(
                Plane::Writable,
                at(pm::CONTROL_STATUS),
                Width::Word,
                u32::from(pm::PMCSR_STATE_MASK | pm::PMCSR_PME_ENABLE | pm::PMCSR_DATA_SELECT),
            )
            .set(
                Plane::WriteOneToClear,
                at(pm::CONTROL_STATUS),
                Width::Word,
                pm::PMCSR_PME_STATUS.into(),
            )
    }

    /// Appends an MSI capability asking for `vectors` vectors (1, 2, 4, … 32),
    /// with a 64-bit address if `is_64bit` and mask bits if `per_vector_masking`.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn msi(self, vectors: u8, is_64bit: bool, per_vector_masking: bool) -> Self {
        if !vectors.is_power_of_two() || vectors > 32 {
            panic!("sim: {vectors} MSI vectors is not a power of two up to 32");
        }
        let length = match (is_64bit, per_vector_masking) {
            (false, false) => msi::LENGTH_32,
            (true, false) => msi::LENGTH_64,
            (false, true) => msi::LENGTH_32_MASKABLE,
            (true, true) => msi::LENGTH_64_MASKABLE,
        };
        let (device, offset) = self.add_capability(CapabilityId::MSI, length);
        let at = |register: u16| offset.saturating_add(register);
        let mut control = u16::try_from(vectors.trailing_zeros()).unwrap_or_default()
            << msi::CONTROL_MULTIPLE_CAPABLE_SHIFT;
        if is_64bit {
            control |= msi::CONTROL_64BIT;
        }
        if per_vector_masking {
            control |= msi::CONTROL_PER_VECTOR_MASK;
        }
        let (data, mask) = if is_64bit {
            (msi::DATA_64, msi::MASK_64)
        } else {
            (msi::DATA_32, msi::MASK_32)
        };
        let device = device
            .set(Plane::Value, at(msi::CONTROL), Width::Word, control.into())
            .set(
                Plane::Writable,
                at(msi::CONTROL),
                Width::Word,
                u32::from(msi::CONTROL_ENABLE | msi::CONTROL_MULTIPLE_ENABLE),
            )
            .set(
                Plane::Writable,
                at(msi::ADDRESS_LOW),
                Width::Dword,
                MSI_ADDRESS_WRITABLE,
            )
            .set(Plane::Writable, at(data), Width::Word, 0xFFFF);
        let device = if is_64bit {
            device.set(
                Plane::Writable,
                at(msi::ADDRESS_HIGH),
                Width::Dword,
                u32::MAX,
            )
        } else {
            device
        };
        if per_vector_masking {
            let vector_bits = u32::MAX
                .checked_shr(u32::BITS.saturating_sub(vectors.into()))
                .unwrap_or_default();
            device.set(Plane::Writable, at(mask), Width::Dword, vector_bits)
        } else {
            device
        }
    }

    /// Appends an MSI-X capability with `table_size` entries (1-2048) whose
    /// table and pending bit array are at `table` and `pba`.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn msix(self, table_size: u16, table: BarRegion, pba: BarRegion) -> Self {
        let Some(size_field) = table_size
            .checked_sub(1)
            .filter(|field| *field <= msix::CONTROL_TABLE_SIZE_MASK)
        else {
            panic!("sim: MSI-X table size {table_size} is not 1-2048");
        };
        let (device, offset) = self.add_capability(CapabilityId::MSI_X, msix::LENGTH);
        let at = |register: u16| offset.saturating_add(register);
        let region = |region: BarRegion| {
            (region.offset & msix::OFFSET_MASK) | (u32::from(region.bir) & msix::BIR_MASK)
        };
        device
            .set(
                Plane::Value,
                at(msix::CONTROL),
                Width::Word,
                size_field.into(),
            )
            .set(
                Plane::Writable,
                at(msix::CONTROL),
                Width::Word,
                u32::from(msix::CONTROL_ENABLE | msix::CONTROL_FUNCTION_MASK),
            )
            .set(Plane::Value, at(msix::TABLE), Width::Dword, region(table))
            .set(Plane::Value, at(msix::PBA), Width::Dword, region(pba))
    }

    /// Appends a PCI Express capability (version 2) of `port_type`, with a
    /// 2.5 GT/s x1 link that trained to 2.5 GT/s x1 (see [`SimDevice::link`]).
    pub fn pcie(self, port_type: PortType) -> Self {
        let (device, offset) = self.add_capability(CapabilityId::PCI_EXPRESS, pcie::LENGTH_V2);
        let at = |register: u16| offset.saturating_add(register);
        let capabilities = PCIE_CAPABILITY_VERSION
            | (u16::from(port_type.raw()) << pcie::CAPABILITIES_PORT_TYPE_SHIFT);
        let device = SimDevice {
            pcie: Some(offset),
            ..device
        }
        .set(
            Plane::Value,
            at(pcie::CAPABILITIES),
            Width::Word,
            capabilities.into(),
        )
        .set(
            Plane::Writable,
            at(pcie::DEVICE_CONTROL),
            Width::Word,
            0xFFFF,
        )
        .set(
            Plane::WriteOneToClear,
            at(pcie::DEVICE_STATUS),
            Width::Word,
            pcie::DEVICE_STATUS_ERRORS.into(),
        )
        .set(Plane::Writable, at(pcie::LINK_CONTROL), Width::Word, 0xFFFF);
        device.link((LinkSpeed::Gt2_5, 1), (LinkSpeed::Gt2_5, 1))
    }

    /// Sets the PCIe link's maximum and current (speed, width).
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn link(self, max: (LinkSpeed, u8), current: (LinkSpeed, u8)) -> Self {
        let Some(offset) = self.pcie else {
            panic!("sim: link() needs pcie() first")
        };
        let encode = |(speed, width): (LinkSpeed, u8)| {
            (u32::from(speed.raw()) & pcie::LINK_SPEED_MASK)
                | ((u32::from(width) & pcie::LINK_WIDTH_MASK) << pcie::LINK_WIDTH_SHIFT)
        };
        self.set(
            Plane::Value,
            offset.saturating_add(pcie::LINK_CAPABILITIES),
            Width::Dword,
            encode(max),
        )
        .set(
            Plane::Value,
            offset.saturating_add(pcie::LINK_STATUS),
            Width::Word,
            encode(current),
        )
    }

    /// Marks the PCIe function as supporting function-level reset.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    pub fn function_level_reset(self) -> Self {
        let Some(offset) = self.pcie else {
            panic!("sim: function_level_reset() needs pcie() first")
        };
        let register = offset.saturating_add(pcie::DEVICE_CAPABILITIES);
        let current = self.space.read(register, Width::Dword).unwrap_or_default();
        self.set(
            Plane::Value,
            register,
            Width::Dword,
            current | pcie::DEVICE_CAPABILITIES_FLR,
        )
    }

    /// Appends an extended capability with ID `id`, `version` and read-only
    /// `body` (the bytes after the 4-byte header); returns it and its offset.
    #[allow(
        clippy::panic,
        reason = "a wrong builder call is a bug in the test describing the device"
    )]
    fn add_extended(mut self, id: ExtendedCapabilityId, version: u8, length: u16) -> (Self, u16) {
        let offset = self.next_extended;
        let end = offset
            .checked_add(length)
            .filter(|end| *end <= CONFIG_SPACE_SIZE);
        let Some(end) = end else {
            panic!("sim: extended capability {id} does not fit below 0x1000")
        };
        self.next_extended = end.next_multiple_of(4);
        let previous = self.last_extended.replace(offset);
        let header = u32::from(id.0)
            | ((u32::from(version) & extended::VERSION_MASK) << extended::VERSION_SHIFT);
        let device = self.set(Plane::Value, offset, Width::Dword, header);
        let device = match previous {
            Some(previous) => {
                let current = device
                    .space
                    .read(previous, Width::Dword)
                    .unwrap_or_default();
                device.set(
                    Plane::Value,
                    previous,
                    Width::Dword,
                    current | (u32::from(offset) << extended::NEXT_SHIFT),
                )
            }
            None => device,
        };
        (device, offset)
    }

    /// Appends an extended capability with read-only `body` after its header.
    pub fn extended_capability(self, id: ExtendedCapabilityId, version: u8, body: &[u8]) -> Self {
        let length = u16::try_from(body.len())
            .unwrap_or(u16::MAX)
            .saturating_add(4);
        let (device, offset) = self.add_extended(id, version, length);
        device.fill(offset.saturating_add(4), body)
    }

    /// Appends an Advanced Error Reporting capability (version 1): status
    /// registers write-1-to-clear, mask and severity registers writable.
    pub fn aer(self) -> Self {
        let (device, offset) = self.add_extended(
            ExtendedCapabilityId::ADVANCED_ERROR_REPORTING,
            1,
            aer::LENGTH,
        );
        let at = |register: u16| offset.saturating_add(register);
        [
            aer::UNCORRECTABLE_MASK,
            aer::UNCORRECTABLE_SEVERITY,
            aer::CORRECTABLE_MASK,
        ]
        .into_iter()
        .fold(device, |device, register| {
            device.set(Plane::Writable, at(register), Width::Dword, u32::MAX)
        })
        .set(
            Plane::WriteOneToClear,
            at(aer::UNCORRECTABLE_STATUS),
            Width::Dword,
            u32::MAX,
        )
        .set(
            Plane::WriteOneToClear,
            at(aer::CORRECTABLE_STATUS),
            Width::Dword,
            u32::MAX,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Address;
    use crate::access::ConfigAccess;
    use crate::sim::SimBus;

    #[test]
    fn capabilities_are_chained_from_0x40_and_0x100() {
        let function = Address::new(0, 0, 4, 0).unwrap();
        let bus = SimBus::new().device(
            function,
            SimDevice::endpoint(0x1234, 0x5678, 0)
                .pm()
                .msi(4, true, true)
                .pcie(PortType::Endpoint)
                .aer()
                .extended_capability(ExtendedCapabilityId::DEVICE_SERIAL_NUMBER, 1, &[0; 8]),
        );
        assert_ne!(
            bus.read16(function, register::STATUS) & Status::CAPABILITIES_LIST.bits(),
            0
        );
        assert_eq!(bus.read8(function, register::CAPABILITIES_POINTER), 0x40);
        assert_eq!(bus.read16(function, 0x40), 0x4801); // PM, next at 0x48 (PM is 8 bytes)
        assert_eq!(bus.read16(function, 0x48), 0x6005); // MSI 64-bit maskable: 0x18 bytes
        assert_eq!(bus.read16(function, 0x60), 0x0010); // PCIe, end of list
        assert_eq!(bus.read32(function, 0x100), 0x1481_0001); // AER v1, next at 0x148
        assert_eq!(bus.read32(function, 0x148), 0x0001_0003); // DSN v1, end
    }
}
