// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86-64 specifics: descriptor tables, interrupts and exceptions, stopping.

pub mod gdt;
pub mod idle;
pub mod interrupts;
pub mod pic;
pub mod power;
