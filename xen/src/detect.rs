// SPDX-License-Identifier: MIT OR Apache-2.0
//! Xen detection from CPUID: base leaf, version, hypercall MSR, domid, TSC.
//!
//! [`detect`] is pure: it takes the CPUID instruction as a closure, so host
//! tests script the leaves and the kernel passes `core::arch::x86_64::__cpuid_count`.

use crate::abi::cpuid::{
    LEAF_HVM, LEAF_HYPERCALL, LEAF_TSC, LEAF_VERSION, XEN_CPUID_FIRST_LEAF, XEN_CPUID_LEAF_STRIDE,
    XEN_CPUID_SCAN_END, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX,
    XEN_HVM_CPUID_DOMID_PRESENT, XEN_HVM_CPUID_VCPU_ID_PRESENT,
};
use crate::abi::xen::{DOMID_FIRST_RESERVED, DomId};

/// Registers EAX, EBX, ECX, EDX of one CPUID query, in that order.
pub type CpuidRegisters = [u32; 4];

const EAX: usize = 0;
const EBX: usize = 1;
const ECX: usize = 2;
const EDX: usize = 3;

/// What CPUID says about the Xen we run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenCpuid {
    /// The base leaf (0x40000000, or 0x40000100 beside Viridian).
    pub base_leaf: u32,
    /// The highest Xen leaf (EAX of the base leaf).
    pub max_leaf: u32,
    /// Xen major version (base+1 EAX\[31:16\]).
    pub major: u16,
    /// Xen minor version (base+1 EAX\[15:0\]).
    pub minor: u16,
    /// Number of hypercall pages the MSR can fill (base+2 EAX, at least 1).
    pub hypercall_pages: u32,
    /// The MSR that installs a hypercall page (base+2 EBX).
    pub hypercall_msr: u32,
    /// HVM leaf flags (base+4 sub-leaf 0 EAX, `XEN_HVM_CPUID_*`), 0 if the
    /// leaf is absent.
    pub hvm_features: u32,
    /// Our own domain id (base+4 sub-leaf 0 ECX), when
    /// `XEN_HVM_CPUID_DOMID_PRESENT` says it is there.
    pub domid: Option<DomId>,
    /// This vCPU's id (base+4 sub-leaf 0 EBX), when
    /// `XEN_HVM_CPUID_VCPU_ID_PRESENT` says it is there.
    pub vcpu_id: Option<u32>,
    /// The guest TSC frequency in kHz: ECX of the TSC leaf (base+3),
    /// sub-leaf 0, when the leaf exists and reports a non-zero value.
    pub tsc_khz: Option<u32>,
}

/// Scans 0x40000000..0x40010000 in 0x100 steps for the `"XenVMMXenVMM"`
/// signature and reads the Xen leaves under the first match that has at
/// least the hypercall leaf (as Mini-OS does: `max_leaf - base >= 2`).
///
/// `cpuid(leaf, subleaf)` returns `[eax, ebx, ecx, edx]`. `None` means not
/// running on Xen (or on a Xen too broken to use).
pub fn detect(cpuid: impl Fn(u32, u32) -> CpuidRegisters) -> Option<XenCpuid> {
    let mut base = XEN_CPUID_FIRST_LEAF;
    while base < XEN_CPUID_SCAN_END {
        let regs = cpuid(base, 0);
        let signed = regs[EBX] == XEN_CPUID_SIGNATURE_EBX
            && regs[ECX] == XEN_CPUID_SIGNATURE_ECX
            && regs[EDX] == XEN_CPUID_SIGNATURE_EDX;
        let max_leaf = regs[EAX];
        if signed
            && max_leaf
                .checked_sub(base)
                .is_some_and(|n| n >= LEAF_HYPERCALL)
        {
            return Some(read_leaves(&cpuid, base, max_leaf));
        }
        base = base.saturating_add(XEN_CPUID_LEAF_STRIDE);
    }
    None
}

fn read_leaves(cpuid: &impl Fn(u32, u32) -> CpuidRegisters, base: u32, max_leaf: u32) -> XenCpuid {
    let has = |offset: u32| max_leaf.saturating_sub(base) >= offset;
    // base is at most 0x4001_0000: the leaves cannot overflow.
    let leaf = |offset: u32| base.saturating_add(offset);
    let version = cpuid(leaf(LEAF_VERSION), 0)[EAX];
    let hypercall = cpuid(leaf(LEAF_HYPERCALL), 0);
    let tsc_khz = if has(LEAF_TSC) {
        Some(cpuid(leaf(LEAF_TSC), 0)[ECX]).filter(|&khz| khz != 0)
    } else {
        None
    };
    let hvm = if has(LEAF_HVM) {
        cpuid(leaf(LEAF_HVM), 0)
    } else {
        [0; 4]
    };
    let hvm_features = hvm[EAX];
    let domid = if hvm_features & XEN_HVM_CPUID_DOMID_PRESENT != 0 {
        DomId::try_from(hvm[ECX])
            .ok()
            .filter(|&d| d < DOMID_FIRST_RESERVED)
    } else {
        None
    };
    let vcpu_id = (hvm_features & XEN_HVM_CPUID_VCPU_ID_PRESENT != 0).then_some(hvm[EBX]);
    XenCpuid {
        base_leaf: base,
        max_leaf,
        major: (version >> 16) as u16,
        minor: (version & 0xFFFF) as u16,
        hypercall_pages: hypercall[EAX],
        hypercall_msr: hypercall[EBX],
        hvm_features,
        domid,
        vcpu_id,
        tsc_khz,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SIGNATURE: [u32; 3] = [0x566e_6558, 0x6558_4d4d, 0x4d4d_566e];

    /// A scripted CPU: unknown leaves read as zero, as on real hardware
    /// beyond the hypervisor range.
    struct Cpu(BTreeMap<(u32, u32), CpuidRegisters>);

    impl Cpu {
        fn new() -> Self {
            Self(BTreeMap::new())
        }

        fn leaf(mut self, leaf: u32, subleaf: u32, regs: CpuidRegisters) -> Self {
            self.0.insert((leaf, subleaf), regs);
            self
        }

        /// Xen 4.17 at `base`, as a PVH guest with domid 1 sees it.
        fn xen(self, base: u32, max_offset: u32) -> Self {
            let [b, c, d] = SIGNATURE;
            self.leaf(base, 0, [base + max_offset, b, c, d])
                .leaf(base + 1, 0, [0x0004_0011, 0, 0, 0])
                .leaf(base + 2, 0, [1, 0x4000_0000, 0, 0])
                .leaf(base + 3, 0, [0, 0, 2_000_000, 0])
                .leaf(base + 3, 2, [3_000_000, 0, 0, 0])
                .leaf(base + 4, 0, [0x1c, 0, 1, 0])
        }

        fn cpuid(&self) -> impl Fn(u32, u32) -> CpuidRegisters + '_ {
            |leaf, subleaf| self.0.get(&(leaf, subleaf)).copied().unwrap_or([0; 4])
        }
    }

    #[test]
    fn finds_xen_at_the_first_base() {
        let cpu = Cpu::new().xen(0x4000_0000, 5);
        let xen = detect(cpu.cpuid()).expect("Xen");
        assert_eq!(
            xen,
            XenCpuid {
                base_leaf: 0x4000_0000,
                max_leaf: 0x4000_0005,
                major: 4,
                minor: 17,
                hypercall_pages: 1,
                hypercall_msr: 0x4000_0000,
                hvm_features: 0x1c,
                domid: Some(1),
                vcpu_id: Some(0),
                tsc_khz: Some(2_000_000),
            }
        );
    }

    #[test]
    fn skips_viridian_at_0x40000000() {
        // Hyper-V signature "Microsoft Hv" at the first base; Xen moves up
        // and its MSR base moves to 0x40000200.
        let cpu = Cpu::new()
            .leaf(
                0x4000_0000,
                0,
                [0x4000_0006, 0x7263_694d, 0x666f_736f, 0x7648_2074],
            )
            .xen(0x4000_0100, 5)
            .leaf(0x4000_0102, 0, [1, 0x4000_0200, 0, 0]);
        let xen = detect(cpu.cpuid()).expect("Xen");
        assert_eq!(xen.base_leaf, 0x4000_0100);
        assert_eq!(xen.hypercall_msr, 0x4000_0200);
        assert_eq!(xen.domid, Some(1));
    }

    #[test]
    fn no_signature_means_no_xen() {
        assert_eq!(detect(Cpu::new().cpuid()), None);
        // A KVM signature is not Xen.
        let kvm = Cpu::new().leaf(
            0x4000_0000,
            0,
            [0x4000_0001, 0x4b4d_564b, 0x564b_4d56, 0x4d],
        );
        assert_eq!(detect(kvm.cpuid()), None);
    }

    #[test]
    fn signature_beyond_the_scan_range_is_ignored() {
        let cpu = Cpu::new().xen(0x4001_0000, 5);
        assert_eq!(detect(cpu.cpuid()), None);
        let last = Cpu::new().xen(0x4000_ff00, 5);
        assert_eq!(detect(last.cpuid()).map(|x| x.base_leaf), Some(0x4000_ff00));
    }

    #[test]
    fn truncated_max_leaf() {
        // Only base+1: no hypercall leaf, unusable: keep scanning, find none.
        assert_eq!(detect(Cpu::new().xen(0x4000_0000, 1).cpuid()), None);
        // A max leaf below the base (garbage) is not usable either.
        let garbage = Cpu::new().leaf(
            0x4000_0000,
            0,
            [0x10, SIGNATURE[0], SIGNATURE[1], SIGNATURE[2]],
        );
        assert_eq!(detect(garbage.cpuid()), None);
        // base+2: usable, but no TSC or HVM leaf, so no domid even though
        // the scripted CPU would answer those leaves.
        let xen = detect(Cpu::new().xen(0x4000_0000, 2).cpuid()).expect("Xen");
        assert_eq!(
            (xen.tsc_khz, xen.domid, xen.vcpu_id, xen.hvm_features),
            (None, None, None, 0)
        );
        // base+3: TSC but no domid.
        let xen = detect(Cpu::new().xen(0x4000_0000, 3).cpuid()).expect("Xen");
        assert_eq!((xen.tsc_khz, xen.domid), (Some(2_000_000), None));
    }

    #[test]
    fn unusable_first_match_falls_through_to_a_later_one() {
        let cpu = Cpu::new().xen(0x4000_0000, 1).xen(0x4000_0100, 4);
        assert_eq!(detect(cpu.cpuid()).map(|x| x.base_leaf), Some(0x4000_0100));
    }

    #[test]
    fn domid_only_when_flagged() {
        let cpu = Cpu::new()
            .xen(0x4000_0000, 5)
            .leaf(0x4000_0004, 0, [0x08, 3, 7, 0]);
        let xen = detect(cpu.cpuid()).expect("Xen");
        assert_eq!((xen.domid, xen.vcpu_id), (None, Some(3)));
        // A reserved id in ECX is not a domid.
        let cpu = Cpu::new()
            .xen(0x4000_0000, 5)
            .leaf(0x4000_0004, 0, [0x10, 0, 0x7FF0, 0]);
        assert_eq!(detect(cpu.cpuid()).expect("Xen").domid, None);
    }

    #[test]
    fn zero_tsc_frequency_is_unknown() {
        let cpu = Cpu::new()
            .xen(0x4000_0000, 5)
            .leaf(0x4000_0003, 0, [0, 0, 0, 0]);
        assert_eq!(detect(cpu.cpuid()).expect("Xen").tsc_khz, None);
    }
}
