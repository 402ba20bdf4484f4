// SPDX-License-Identifier: MIT OR Apache-2.0
//! pciback-dd: a Xen PCI driver domain.
//!
//! Boots as a PVH guest, finds the PCI bus, owns the devices it is given and
//! serves `xen-pcifront` guests. On the host this crate builds only its pure
//! logic, for unit tests.
#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;

// `error!` .. `debug!`: pciback's, the `log` macros without a location
// per call site (pciback::logging). The host build's modules log nothing.
#[cfg_attr(not(target_os = "none"), allow(unused_imports))]
#[macro_use]
extern crate pciback;

#[cfg(target_os = "none")]
mod acpi;
#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod backend;
#[cfg(target_os = "none")]
mod bus;
#[cfg(any(test, target_os = "none"))]
mod cmdline;
#[cfg(target_os = "none")]
mod commands;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod domain;
#[cfg(any(test, target_os = "none"))]
mod ecam;
#[cfg(any(test, target_os = "none"))]
mod executor;
#[cfg(target_os = "none")]
mod hypercalls;
#[cfg(target_os = "none")]
mod hypervisor;
#[cfg(any(test, target_os = "none"))]
mod line;
#[cfg(any(test, target_os = "none"))]
mod memory;
#[cfg(target_os = "none")]
mod start;
#[cfg(target_os = "none")]
mod time;
#[cfg(any(test, target_os = "none"))]
mod timer;

#[cfg(target_os = "none")]
use boot as _;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "pciback-dd is a PVH image for x86_64-unknown-none: build it with `cargo xtask build`"
    );
    std::process::exit(2);
}
