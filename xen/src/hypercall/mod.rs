// SPDX-License-Identifier: MIT OR Apache-2.0
//! The hypercall seam and the typed, safe hypercalls built on it.
//!
//! [`Hypercall`] is the raw five-argument call. `page::HypercallPage` (only
//! on the image, `target_os = "none"`) implements it through Xen's hypercall
//! page; `crate::sim::FakeXen` implements it for host tests. The submodules
//! wrap each hypercall the driver domain uses in a safe function that builds
//! the argument structure on the stack, passes a pointer to it (a guest
//! virtual address: Xen translates it through our page tables), and returns
//! `Result<_, Errno>`.

pub mod console_io;
pub mod domctl;
pub mod event_channel;
pub mod grant_table;
pub mod hvm;
pub mod memory;
#[cfg(target_os = "none")]
pub mod page;
pub mod physdev;
pub mod sched;
#[cfg(test)]
mod tests;
pub mod version;

use crate::Errno;

/// Issues hypercalls: the seam between typed calls and the machine.
///
/// # Safety
///
/// Implementation safety: an implementation must behave as Xen does for the
/// hypercall it is asked to make. In particular it may read and write memory
/// only through the pointer arguments, only within the structures those
/// arguments point to as `xen/include/public` defines them for that
/// hypercall and command, and only during the call.
pub unsafe trait Hypercall {
    /// Makes hypercall `op` with arguments `args` (in `rdi, rsi, rdx, r10,
    /// r8` order) and returns `rax`: non-negative on success, a negated
    /// [`Errno`] on failure.
    ///
    /// # Safety
    ///
    /// Every argument that hypercall `op` treats as a pointer must be the
    /// address of memory valid for reads and writes of the structure (or
    /// array) that hypercall defines for the given command, for the whole
    /// call, and not otherwise accessed during it.
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64;
}

/// Ties an argument structure to the one `(hypercall, command)` pair whose
/// argument it is, so [`command`] can pass it safely.
///
/// # Safety
///
/// Implementors must be exactly the structure that hypercall
/// [`Command::HYPERCALL`] reads and writes for command `CMD`, must contain
/// no pointers, and the hypercall must access nothing beyond it (or
/// `COUNT` of it, when set).
pub(crate) unsafe trait Command<const CMD: u32>: Sized {
    /// The hypercall number (`__HYPERVISOR_*`).
    const HYPERCALL: u32;
    /// For `grant_table_op`: the third argument is an element count.
    const COUNTED: bool = false;
}

/// The address of `arg` as a hypercall argument, with its provenance exposed
/// so a host-side fake can turn it back into a pointer.
pub(crate) fn pointer_arg<T>(arg: &mut T) -> u64 {
    core::ptr::from_mut(arg).expose_provenance() as u64
}

/// The address of a buffer Xen only reads, as a hypercall argument.
pub(crate) fn buffer_arg<T>(buffer: &[T]) -> u64 {
    buffer.as_ptr().expose_provenance() as u64
}

/// Makes `(A::HYPERCALL, CMD, &mut arg)` and checks the result.
pub(crate) fn command<const CMD: u32, H, A>(hv: &H, arg: &mut A) -> Result<u64, Errno>
where
    H: Hypercall + ?Sized,
    A: Command<CMD>,
{
    let count = u64::from(A::COUNTED);
    let args = [u64::from(CMD), pointer_arg(arg), count, 0, 0];
    // SAFETY: `A: Command<CMD>` says `arg` is exactly the structure this
    // hypercall and command access, and holds no pointers; `arg` is an
    // exclusive reference that outlives the call.
    let ret = unsafe { hv.hypercall(A::HYPERCALL, args) };
    Errno::check(ret)
}

/// Makes `(hypercall, cmd, NULL)` for commands that take no argument.
pub(crate) fn command_without_argument<H>(hv: &H, hypercall: u32, cmd: u32) -> Result<u64, Errno>
where
    H: Hypercall + ?Sized,
{
    // SAFETY: no argument is a pointer; the callers only name commands
    // (XENVER_version, SCHEDOP_yield/block) that take none.
    let ret = unsafe { hv.hypercall(hypercall, [u64::from(cmd), 0, 0, 0, 0]) };
    Errno::check(ret)
}
