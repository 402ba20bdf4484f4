// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Xen PCI backend: what Linux's `xen-pciback` does, without Linux.
//!
//! Pure logic over the `pci` and `xen` seams; no `unsafe`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
