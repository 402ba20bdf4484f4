// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Xen public ABI and the guest services built on it.
//!
//! Each ABI type mirrors one struct of `xen/include/public/...` and names its
//! header. Everything here builds and tests on the host; only the hypercall
//! instructions themselves are gated on `target_os = "none"`.
//!
//! # Wiring the image
//!
//! The kernel provides the machine and calls these in order:
//!
//! 1. [`detect::detect`] with `core::arch::x86_64::__cpuid_count`.
//! 2. `hypercall::page::HypercallPage::install` with a 4 KiB-aligned,
//!    executable frame of RAM (virtual and physical address) and
//!    [`detect::XenCpuid::hypercall_msr`]. The page is the [`hypercall::Hypercall`]
//!    every other service takes.
//! 3. [`hypercall::memory::map_shared_info`] on a frame of its own, then
//!    [`abi::xen::SharedInfo::from_page`].
//! 4. An IDT vector for the upcall, announced with
//!    [`hypercall::hvm::set_param`]`(HVM_PARAM_CALLBACK_IRQ,`
//!    [`abi::hvm_params::callback_via_vector`]`(vector))`. The handler
//!    calls [`events::UpcallScanner::handle_upcall`] (no APIC EOI).
//! 5. A grant window: a range of guest frames that is neither RAM nor MMIO,
//!    identity-mapped, given to [`grant::GrantWindow::new`] with
//!    [`grant::IdentityMapped`].
//! 6. XenStore and console pages and ports from `HVM_PARAM_STORE_PFN` /
//!    `_EVTCHN` and `HVM_PARAM_CONSOLE_PFN` / `_EVTCHN`, through
//!    [`abi::io::xs_wire::XenstoreDomainInterface::from_page`] and
//!    [`abi::io::console::XenconsInterface::from_page`], driven by
//!    [`xenstore::XenstoreRing`] and [`console::ConsoleRing`]; notify with
//!    [`hypercall::event_channel::send`] whenever they report progress.
//!
//! With the `sim` feature (host only, uses `std`), `sim::FakeXen` and
//! `sim::SimXenstored` stand in for Xen and xenstored in other crates' tests.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;
#[cfg(feature = "sim")]
extern crate std;

#[allow(
    unsafe_code,
    reason = "`Plain` (byte-for-byte ABI values) is an unsafe trait, and the shared \
              pages Xen hands over are cast to their ABI types"
)]
pub mod abi;
pub mod console;
pub mod detect;
pub mod events;
#[allow(
    unsafe_code,
    reason = "grant mappings are pages of another domain mapped into the window"
)]
pub mod grant;
#[allow(
    unsafe_code,
    reason = "the hypercall page and the pointers hypercalls take"
)]
pub mod hypercall;
pub mod ring;
#[allow(
    unsafe_code,
    reason = "typed, atomic views of a page another domain writes"
)]
pub mod shared_page;
#[cfg(any(test, feature = "sim"))]
#[allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    reason = "test doubles for other crates' host tests: a fake Xen implements the \
              unsafe `Hypercall` and `WindowMemory` traits over host memory, and a \
              broken fake fails the test that uses it"
)]
pub mod sim;
pub mod start_info;
pub mod time;
pub mod xenstore;

pub use abi::errno::Errno;
