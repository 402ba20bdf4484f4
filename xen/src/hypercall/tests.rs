// SPDX-License-Identifier: MIT OR Apache-2.0
//! The typed hypercalls against [`FakeXen`]: arguments, results, errors.
//!
//! Expected values come from the public headers and the x417 platform logs.

use super::*;
use crate::abi::domctl::{
    XEN_DOMCTL_ASSIGN_DEVICE, XEN_DOMCTL_GETDOMAININFO, XEN_DOMCTL_IOPORT_PERMISSION,
    XEN_DOMINF_HVM_GUEST, pci_sbdf,
};
use crate::abi::features::{XENFEAT_DOM0, XENFEAT_HVM_CALLBACK_VECTOR};
use crate::abi::hvm_params::{HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_STORE_PFN, callback_via_vector};
use crate::abi::physdev::{PHYSDEVOP_MAP_PIRQ, PhysdevPhysfn, XEN_PCI_DEV_PXM};
use crate::abi::sched::SHUTDOWN_CRASH;
use crate::abi::xen::{HYPERVISOR_DOMCTL, HYPERVISOR_PHYSDEV_OP};
use crate::sim::{Call, FakePirq, FakeXen, Injected};

const HWDOM: u16 = 1;
const GUEST: u16 = 2;

fn setup() -> (FakeXen, crate::sim::FakeDomain) {
    let xen = FakeXen::new();
    let hwdom = xen.add_domain(HWDOM);
    xen.add_domain(GUEST);
    (xen, hwdom)
}

#[test]
fn version_and_features() {
    let (_, hv) = setup();
    assert_eq!(version::version(&hv), Ok((4, 17)));
    assert_eq!(&version::extraversion(&hv).unwrap()[..3], b".5\0");
    assert_eq!(
        version::has_feature(&hv, XENFEAT_HVM_CALLBACK_VECTOR),
        Ok(true)
    );
    assert_eq!(version::has_feature(&hv, XENFEAT_DOM0), Ok(false));
    assert_eq!(version::features(&hv, 1), Ok(0));
}

#[test]
fn hvm_params_and_shared_info() {
    let (xen, hv) = setup();
    xen.set_hvm_param(HWDOM, HVM_PARAM_STORE_PFN, 0xfeffc);
    assert_eq!(hvm::get_param(&hv, HVM_PARAM_STORE_PFN), Ok(0xfeffc));
    hvm::set_param(&hv, HVM_PARAM_CALLBACK_IRQ, callback_via_vector(0xf3)).unwrap();
    assert_eq!(
        xen.hvm_param(HWDOM, HVM_PARAM_CALLBACK_IRQ),
        Some(0x0200_0000_0000_00f3)
    );
    memory::map_shared_info(&hv, 0x5000).unwrap();
    assert_eq!(xen.shared_info_gfn(HWDOM), Some(0x5000));
}

#[test]
fn sched_and_console() {
    let (xen, hv) = setup();
    sched::yield_now(&hv).unwrap();
    sched::block(&hv).unwrap();
    sched::poll(&hv, &[3, 4], 0).unwrap();
    assert_eq!(sched::poll(&hv, &[0; 129], 0), Err(Errno::EINVAL));
    sched::set_timer(&hv, 5_000_000).unwrap();
    assert_eq!(xen.timer(HWDOM), Some(5_000_000));
    sched::set_timer(&hv, 0).unwrap();
    assert_eq!(xen.timer(HWDOM), None);
    sched::shutdown(&hv, SHUTDOWN_CRASH).unwrap();
    assert_eq!(xen.shutdown_reason(HWDOM), Some(3));
    let long: std::vec::Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    console_io::write(&hv, &long).unwrap();
    assert_eq!(xen.console_output(HWDOM), long);
    // 10 000 bytes in chunks of 4096: three calls.
    assert_eq!(xen.count(crate::abi::xen::HYPERVISOR_CONSOLE_IO, 0), 3);
}

#[test]
fn the_hardware_domain_hands_a_device_to_a_guest() {
    // The x417 sequence: assign, map MSI and GSI pirqs, grant the BAR.
    let (xen, hv) = setup();
    let edu = pci_sbdf(0, 0, 0x10);
    let msi = physdev::PirqSource::Msi {
        segment: 0,
        bus: 0,
        devfn: 0x10,
        msix: None,
    };
    // Not assigned yet: Xen refuses MSI with -ENODEV.
    assert_eq!(physdev::map_pirq(&hv, GUEST, msi, None), Err(Errno::ENODEV));
    domctl::assign_device(&hv, GUEST, edu, 0).unwrap();
    assert_eq!(domctl::assign_device(&hv, 3, edu, 0), Err(Errno::ESRCH));
    assert_eq!(xen.assigned_devices(GUEST), [0x10]);
    let msi_pirq = physdev::map_pirq(&hv, GUEST, msi, None).unwrap();
    let gsi_pirq = physdev::map_pirq(&hv, GUEST, physdev::PirqSource::Gsi(22), Some(22)).unwrap();
    assert_eq!(gsi_pirq, 22);
    let pirqs = xen.pirqs(GUEST);
    assert_eq!(
        pirqs.get(&msi_pirq),
        Some(&FakePirq::Msi {
            sbdf: 0x10,
            entry: 0,
            table_base: 0
        })
    );
    assert_eq!(pirqs.get(&22), Some(&FakePirq::Gsi(22)));
    domctl::iomem_permission(&hv, GUEST, 0xfea00, 0x100, true).unwrap();
    domctl::irq_permission(&hv, GUEST, 22, true).unwrap();
    assert_eq!(xen.iomem_ranges(GUEST), [(0xfea00, 0x100)]);
    assert_eq!(xen.irq_permissions(GUEST), [22]);
    physdev::unmap_pirq(&hv, GUEST, msi_pirq).unwrap();
    assert_eq!(
        physdev::unmap_pirq(&hv, GUEST, msi_pirq),
        Err(Errno::EINVAL)
    );
    domctl::deassign_device(&hv, GUEST, edu).unwrap();
    assert!(xen.assigned_devices(GUEST).is_empty());
    assert_eq!(xen.count(HYPERVISOR_DOMCTL, XEN_DOMCTL_ASSIGN_DEVICE), 2);
}

#[test]
fn io_port_bars_are_granted_and_revoked_by_range() {
    // e1000e's I/O BAR in the nested machine: 32 ports at 0xc040.
    let (xen, hv) = setup();
    domctl::ioport_permission(&hv, GUEST, 0xc040, 0x20, true).unwrap();
    assert_eq!(xen.ioport_ranges(GUEST), [(0xc040, 0x20)]);
    assert_eq!(
        xen.calls().last(),
        Some(&Call {
            domain: HWDOM,
            hypercall: HYPERVISOR_DOMCTL,
            cmd: XEN_DOMCTL_IOPORT_PERMISSION
        })
    );
    domctl::ioport_permission(&hv, GUEST, 0xc040, 0x20, false).unwrap();
    assert!(xen.ioport_ranges(GUEST).is_empty());
    // Empty, past the port space, wrapping: refused as arch/x86/domctl.c does.
    for (first, count) in [(0xc040, 0), (0xfff0, 0x20), (u32::MAX, 2)] {
        assert_eq!(
            domctl::ioport_permission(&hv, GUEST, first, count, true),
            Err(Errno::EINVAL),
            "{first:#x}+{count:#x}"
        );
    }
    domctl::ioport_permission(&hv, GUEST, 0xfff0, 0x10, true).unwrap();
    assert_eq!(
        domctl::ioport_permission(&hv, 7, 0xc040, 0x20, true),
        Err(Errno::ESRCH)
    );
}

#[test]
fn msi_falls_back_to_the_segment_0_type_on_einval() {
    let (xen, hv) = setup();
    domctl::assign_device(&hv, GUEST, pci_sbdf(0, 3, 0), 0).unwrap();
    xen.fail_next(
        HYPERVISOR_PHYSDEV_OP,
        PHYSDEVOP_MAP_PIRQ,
        Injected::Errno(Errno::EINVAL),
    );
    xen.clear_calls();
    let msix = physdev::MsixVector {
        entry: 2,
        table_base: 0xfe00_0000,
    };
    let source = physdev::PirqSource::Msi {
        segment: 0,
        bus: 3,
        devfn: 0,
        msix: Some(msix),
    };
    let pirq = physdev::map_pirq(&hv, GUEST, source, None).unwrap();
    assert_eq!(xen.count(HYPERVISOR_PHYSDEV_OP, PHYSDEVOP_MAP_PIRQ), 2);
    assert_eq!(
        xen.pirqs(GUEST).get(&pirq),
        Some(&FakePirq::Msi {
            sbdf: 0x300,
            entry: 2,
            table_base: 0xfe00_0000
        })
    );
    // A non-zero segment gets no fallback.
    xen.fail_next(
        HYPERVISOR_PHYSDEV_OP,
        PHYSDEVOP_MAP_PIRQ,
        Injected::Errno(Errno::EINVAL),
    );
    let seg1 = physdev::PirqSource::Msi {
        segment: 1,
        bus: 3,
        devfn: 0,
        msix: None,
    };
    assert_eq!(
        physdev::map_pirq(&hv, GUEST, seg1, None),
        Err(Errno::EINVAL)
    );
}

#[test]
fn ecam_and_device_registration() {
    let (xen, hv) = setup();
    physdev::pci_mmcfg_reserved(&hv, 0xb000_0000, 0, 0, 0xff).unwrap();
    assert_eq!(xen.mmcfg_reserved(HWDOM), [(0xb000_0000, 0, 0, 0xff)]);
    physdev::pci_device_add(&hv, 0, 0, 0x10, 0, PhysdevPhysfn::default()).unwrap();
    assert_eq!(xen.devices_added(HWDOM), [(0, 0, 0x10)]);
    assert_eq!(
        physdev::pci_device_add(&hv, 0, 0, 0x10, XEN_PCI_DEV_PXM, PhysdevPhysfn::default()),
        Err(Errno::EINVAL)
    );
}

#[test]
fn getdomaininfo_returns_the_next_domain_on_4_17() {
    let (xen, hv) = setup();
    xen.add_domain(5);
    // Domain 3 does not exist: 4.17 describes domain 5 instead.
    assert_eq!(domctl::getdomaininfo(&hv, 3).map(|i| i.domain), Ok(5));
    assert_eq!(domctl::domain_info(&hv, 3), Ok(None));
    assert_eq!(domctl::getdomaininfo(&hv, 6).err(), Some(Errno::ESRCH));
    assert_eq!(domctl::domain_info(&hv, 6), Ok(None));
    let info = domctl::domain_info(&hv, GUEST).unwrap().unwrap();
    assert_eq!(info.domain, GUEST);
    assert_ne!(info.flags & XEN_DOMINF_HVM_GUEST, 0);
    assert_eq!(
        xen.calls().last(),
        Some(&Call {
            domain: HWDOM,
            hypercall: HYPERVISOR_DOMCTL,
            cmd: XEN_DOMCTL_GETDOMAININFO
        })
    );
}

#[test]
fn a_wrong_domctl_interface_version_is_refused() {
    let (_, hv) = setup();
    let mut op = crate::abi::domctl::XenDomctl::new(XEN_DOMCTL_GETDOMAININFO, GUEST);
    op.interface_version = 0x17;
    let args = [pointer_arg(&mut op), 0, 0, 0, 0];
    // SAFETY: a domctl with its one struct xen_domctl argument.
    let ret = unsafe { hv.hypercall(HYPERVISOR_DOMCTL, args) };
    assert_eq!(Errno::check(ret), Err(Errno::EACCES));
}

#[test]
fn unknown_hypercalls_and_missing_domains() {
    let xen = FakeXen::new();
    let ghost = xen.domain(9);
    assert_eq!(version::version(&ghost), Err(Errno::ESRCH));
    let hv = xen.add_domain(1);
    // SAFETY: no pointer arguments.
    let ret = unsafe { hv.hypercall(99, [0; 5]) };
    assert_eq!(Errno::check(ret), Err(Errno::ENOSYS));
}
