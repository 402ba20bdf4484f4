// SPDX-License-Identifier: MIT OR Apache-2.0
//! Capability IDs: the standard and extended ones the PCI-SIG assigns, with lspci's short names.
//!
//! An ID is a newtype over its raw value, so an ID this crate does not name
//! still round-trips; it prints as hexadecimal.

use core::fmt;

/// Declares a capability ID newtype with named constants and short names.
macro_rules! capability_ids {
    ($(#[$meta:meta])* $name:ident($raw:ty) { $($(#[$doc:meta])* $constant:ident = $value:literal, $short:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $raw);

        impl $name {
            $($(#[$doc])* pub const $constant: Self = Self($value);)*

            /// The short name lspci-like reports use, if the ID is known.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($short),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            /// The short name, or the ID in hexadecimal when unknown.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{:#x}", self.0),
                }
            }
        }
    };
}

capability_ids! {
    /// A standard capability ID (PCI Code and ID Assignment, "Capability IDs").
    CapabilityId(u8) {
        /// PCI Power Management.
        POWER_MANAGEMENT = 0x01, "PM";
        /// Accelerated Graphics Port.
        AGP = 0x02, "AGP";
        /// Vital Product Data.
        VPD = 0x03, "VPD";
        /// Slot identification.
        SLOT_ID = 0x04, "SlotID";
        /// Message Signaled Interrupts.
        MSI = 0x05, "MSI";
        /// CompactPCI hot swap.
        HOT_SWAP = 0x06, "HotSwap";
        /// PCI-X.
        PCI_X = 0x07, "PCI-X";
        /// HyperTransport.
        HYPERTRANSPORT = 0x08, "HT";
        /// Vendor specific.
        VENDOR_SPECIFIC = 0x09, "Vendor";
        /// Debug port.
        DEBUG_PORT = 0x0A, "Debug";
        /// CompactPCI central resource control.
        CENTRAL_RESOURCE_CONTROL = 0x0B, "CRC";
        /// PCI standard hot-plug controller.
        HOT_PLUG = 0x0C, "SHPC";
        /// Bridge subsystem vendor ID.
        SUBSYSTEM_VENDOR = 0x0D, "SSVID";
        /// AGP 8x.
        AGP_8X = 0x0E, "AGP3";
        /// Secure device.
        SECURE_DEVICE = 0x0F, "Secure";
        /// PCI Express.
        PCI_EXPRESS = 0x10, "PCIe";
        /// MSI-X.
        MSI_X = 0x11, "MSI-X";
        /// Serial ATA data/index configuration.
        SATA = 0x12, "SATA";
        /// Advanced features (conventional PCI function-level reset).
        ADVANCED_FEATURES = 0x13, "AF";
        /// Enhanced allocation.
        ENHANCED_ALLOCATION = 0x14, "EA";
        /// Flattening portal bridge.
        FLATTENING_PORTAL_BRIDGE = 0x15, "FPB";
    }
}

capability_ids! {
    /// A PCIe extended capability ID (PCI Code and ID Assignment, "Extended Capability IDs").
    ExtendedCapabilityId(u16) {
        /// Advanced Error Reporting.
        ADVANCED_ERROR_REPORTING = 0x0001, "AER";
        /// Virtual channel.
        VIRTUAL_CHANNEL = 0x0002, "VC";
        /// Device serial number.
        DEVICE_SERIAL_NUMBER = 0x0003, "DSN";
        /// Power budgeting.
        POWER_BUDGETING = 0x0004, "PwrBudget";
        /// Root complex link declaration.
        ROOT_COMPLEX_LINK_DECLARATION = 0x0005, "RCLD";
        /// Root complex internal link control.
        ROOT_COMPLEX_INTERNAL_LINK = 0x0006, "RCILC";
        /// Root complex event collector endpoint association.
        ROOT_COMPLEX_EVENT_COLLECTOR = 0x0007, "RCEC";
        /// Multi-function virtual channel.
        MULTI_FUNCTION_VIRTUAL_CHANNEL = 0x0008, "MFVC";
        /// Virtual channel (alternative ID).
        VIRTUAL_CHANNEL_9 = 0x0009, "VC";
        /// Root complex register block.
        ROOT_COMPLEX_REGISTER_BLOCK = 0x000A, "RCRB";
        /// Vendor specific extended capability.
        VENDOR_SPECIFIC = 0x000B, "VSEC";
        /// Configuration access correlation.
        CONFIGURATION_ACCESS_CORRELATION = 0x000C, "CAC";
        /// Access control services.
        ACCESS_CONTROL_SERVICES = 0x000D, "ACS";
        /// Alternative routing-ID interpretation.
        ALTERNATIVE_ROUTING_ID = 0x000E, "ARI";
        /// Address translation services.
        ADDRESS_TRANSLATION_SERVICES = 0x000F, "ATS";
        /// Single root I/O virtualization.
        SINGLE_ROOT_IO_VIRTUALIZATION = 0x0010, "SR-IOV";
        /// Multi-root I/O virtualization.
        MULTI_ROOT_IO_VIRTUALIZATION = 0x0011, "MR-IOV";
        /// Multicast.
        MULTICAST = 0x0012, "MCast";
        /// Page request interface.
        PAGE_REQUEST = 0x0013, "PRI";
        /// Resizable BAR.
        RESIZABLE_BAR = 0x0015, "ReBAR";
        /// Dynamic power allocation.
        DYNAMIC_POWER_ALLOCATION = 0x0016, "DPA";
        /// TLP processing hints.
        TLP_PROCESSING_HINTS = 0x0017, "TPH";
        /// Latency tolerance reporting.
        LATENCY_TOLERANCE_REPORTING = 0x0018, "LTR";
        /// Secondary PCI Express.
        SECONDARY_PCI_EXPRESS = 0x0019, "SecPCIe";
        /// Protocol multiplexing.
        PROTOCOL_MULTIPLEXING = 0x001A, "PMUX";
        /// Process address space ID.
        PROCESS_ADDRESS_SPACE_ID = 0x001B, "PASID";
        /// Lightweight notification requester.
        LIGHTWEIGHT_NOTIFICATION = 0x001C, "LNR";
        /// Downstream port containment.
        DOWNSTREAM_PORT_CONTAINMENT = 0x001D, "DPC";
        /// L1 PM substates.
        L1_PM_SUBSTATES = 0x001E, "L1SS";
        /// Precision time measurement.
        PRECISION_TIME_MEASUREMENT = 0x001F, "PTM";
        /// Designated vendor specific extended capability.
        DESIGNATED_VENDOR_SPECIFIC = 0x0023, "DVSEC";
        /// VF resizable BAR.
        VF_RESIZABLE_BAR = 0x0024, "VFReBAR";
        /// Data link feature.
        DATA_LINK_FEATURE = 0x0025, "DLF";
        /// Physical layer 16.0 GT/s.
        PHYSICAL_LAYER_16 = 0x0026, "16GT";
        /// Lane margining at the receiver.
        LANE_MARGINING = 0x0027, "LMR";
        /// Hierarchy ID.
        HIERARCHY_ID = 0x0028, "HierID";
        /// Native PCIe enclosure management.
        ENCLOSURE_MANAGEMENT = 0x0029, "NPEM";
        /// Physical layer 32.0 GT/s.
        PHYSICAL_LAYER_32 = 0x002A, "32GT";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_unknown_ids_print_in_hex() {
        assert_eq!(CapabilityId::MSI_X.to_string(), "MSI-X");
        assert_eq!(CapabilityId(0x42).to_string(), "0x42");
        assert_eq!(
            ExtendedCapabilityId::ADVANCED_ERROR_REPORTING.to_string(),
            "AER"
        );
        assert_eq!(ExtendedCapabilityId(0x0100).to_string(), "0x100");
    }
}
