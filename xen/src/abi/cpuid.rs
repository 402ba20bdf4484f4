// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/arch-x86/cpuid.h`: the Xen CPUID leaves.
//!
//! Mirrors the Xen 4.17.5 header. Leaf numbers are offsets from the base leaf
//! found by scanning (see [`crate::detect`]).

/// First base leaf to try; Xen uses the first free 0x100-aligned base, which
/// is 0x40000100 when Viridian (Hyper-V) leaves take 0x40000000.
pub const XEN_CPUID_FIRST_LEAF: u32 = 0x4000_0000;
/// Step between candidate base leaves.
pub const XEN_CPUID_LEAF_STRIDE: u32 = 0x100;
/// First leaf past the scanned range (Mini-OS scans 0x40000000..0x40010000).
pub const XEN_CPUID_SCAN_END: u32 = 0x4001_0000;

/// Leaf base+0 EBX: `"XenV"`.
pub const XEN_CPUID_SIGNATURE_EBX: u32 = 0x566e_6558;
/// Leaf base+0 ECX: `"MMXe"`.
pub const XEN_CPUID_SIGNATURE_ECX: u32 = 0x6558_4d4d;
/// Leaf base+0 EDX: `"nVMM"`.
pub const XEN_CPUID_SIGNATURE_EDX: u32 = 0x4d4d_566e;

/// Offset of the version leaf: EAX\[31:16\] major, EAX\[15:0\] minor.
pub const LEAF_VERSION: u32 = 1;
/// Offset of the hypercall leaf: EAX pages, EBX MSR base.
pub const LEAF_HYPERCALL: u32 = 2;
/// Offset of the TSC leaf. Sub-leaf 0: ECX guest TSC kHz; sub-leaf 2: EAX
/// host TSC kHz.
pub const LEAF_TSC: u32 = 3;
/// Offset of the HVM leaf. Sub-leaf 0: EAX `XEN_HVM_CPUID_*`, EBX vCPU id,
/// ECX domain id.
pub const LEAF_HVM: u32 = 4;
/// Offset of the PV leaf.
pub const LEAF_PV: u32 = 5;

/// `XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD` (hypercall leaf ECX).
pub const XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD: u32 = 1 << 0;

/// `XEN_HVM_CPUID_APIC_ACCESS_VIRT`: virtualized APIC registers.
pub const XEN_HVM_CPUID_APIC_ACCESS_VIRT: u32 = 1 << 0;
/// `XEN_HVM_CPUID_X2APIC_VIRT`: virtualized x2APIC accesses.
pub const XEN_HVM_CPUID_X2APIC_VIRT: u32 = 1 << 1;
/// `XEN_HVM_CPUID_IOMMU_MAPPINGS`: foreign memory has IOMMU entries.
pub const XEN_HVM_CPUID_IOMMU_MAPPINGS: u32 = 1 << 2;
/// `XEN_HVM_CPUID_VCPU_ID_PRESENT`: EBX of the HVM leaf holds the vCPU id.
pub const XEN_HVM_CPUID_VCPU_ID_PRESENT: u32 = 1 << 3;
/// `XEN_HVM_CPUID_DOMID_PRESENT`: ECX of the HVM leaf holds the domain id.
pub const XEN_HVM_CPUID_DOMID_PRESENT: u32 = 1 << 4;
/// `XEN_HVM_CPUID_EXT_DEST_ID`: 15-bit APIC destination ids.
pub const XEN_HVM_CPUID_EXT_DEST_ID: u32 = 1 << 5;
/// `XEN_HVM_CPUID_UPCALL_VECTOR`: per-vCPU upcall vectors work with PIRQs.
pub const XEN_HVM_CPUID_UPCALL_VECTOR: u32 = 1 << 6;

/// `XEN_CPUID_MAX_NUM_LEAVES`.
pub const XEN_CPUID_MAX_NUM_LEAVES: u32 = 5;
