// SPDX-License-Identifier: MIT OR Apache-2.0
//! In-process doubles of Xen and xenstored for host tests.
//!
//! Built with the `sim` feature (for other crates' tests) and for this
//! crate's own tests. They use `std`: threads may drive the other side.

mod fake_xen;
mod xenstored;

pub use fake_xen::{Call, FakeDomain, FakePirq, FakeWindowMemory, FakeXen, Injected, raise_event};
pub use xenstored::SimXenstored;
