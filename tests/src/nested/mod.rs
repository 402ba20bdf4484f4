// SPDX-License-Identifier: MIT OR Apache-2.0
//! The nested QEMU + Xen environment: Xen built from Debian's source with our
//! patches, a Debian dom0 and guests, and the scenarios run in it.
