// SPDX-License-Identifier: MIT OR Apache-2.0
//! PVH entry: the Xen ELF note and the 32-bit entry that reaches 64-bit Rust.
//!
//! `entry.S` does the labelled steps in order (BSS, stack, page tables, long
//! mode, SSE, GDT) and calls `kernel_main(start_info_paddr: u64) -> !`, which
//! the image crate defines. The linker script places the sections and checks
//! the invariants the assembly relies on. On the host this crate is empty.
#![no_std]

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("entry.S"), options(att_syntax));

/// Bytes the boot page tables identity-map: the whole first 4 GiB, where Xen
/// and QEMU put the image, `hvm_start_info` and everything it points to.
pub const BOOT_IDENTITY_MAP_BYTES: u64 = 4 << 30;
