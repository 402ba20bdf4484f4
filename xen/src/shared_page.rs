// SPDX-License-Identifier: MIT OR Apache-2.0
//! Bounds-checked, atomic access to a page another domain can change.
//!
//! A [`PageFrame`] is 4096 `AtomicU8`s, so a shared reference to it stays
//! sound while the other side writes: nothing here ever hands out a plain
//! reference into the page. Reads copy out ([`SharedPage::read`] copies a
//! whole [`Plain`] struct once, the way a backend must take a request
//! before validating it), and handshake words are reached as `AtomicU32`.
//! Use the same access width as the other side for any one word.

use core::fmt;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use crate::abi::Plain;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;

/// One 4 KiB page of memory shared with another domain.
#[repr(C, align(4096))]
pub struct PageFrame([AtomicU8; PAGE_SIZE]);
const _: () = assert!(size_of::<PageFrame>() == PAGE_SIZE);

impl Default for PageFrame {
    /// A zeroed page.
    fn default() -> Self {
        Self(core::array::from_fn(|_| AtomicU8::new(0)))
    }
}

impl fmt::Debug for PageFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageFrame@{:p}", self)
    }
}

/// Why an access to a shared page was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// `offset..offset + len` is not inside the page.
    OutOfBounds {
        /// Requested offset.
        offset: usize,
        /// Requested length.
        len: usize,
    },
    /// A word access at an offset not aligned to the word.
    Misaligned {
        /// Requested offset.
        offset: usize,
    },
    /// A write to a page mapped read-only.
    ReadOnly,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfBounds { offset, len } => {
                write!(f, "{len} bytes at offset {offset:#x} run past the page")
            }
            Self::Misaligned { offset } => {
                write!(f, "word access at misaligned offset {offset:#x}")
            }
            Self::ReadOnly => f.write_str("write to a read-only mapping"),
        }
    }
}

impl core::error::Error for AccessError {}

/// A view of a shared page: bounds-checked byte, word and struct access.
#[derive(Clone, Copy, Debug)]
pub struct SharedPage<'a> {
    frame: &'a PageFrame,
    writable: bool,
}

impl<'a> SharedPage<'a> {
    /// A read-write view of `frame`.
    pub fn new(frame: &'a PageFrame) -> Self {
        Self {
            frame,
            writable: true,
        }
    }

    /// A view of `frame` that refuses writes (for read-only grant mappings:
    /// writing one would fault the domain).
    pub fn read_only(frame: &'a PageFrame) -> Self {
        Self {
            frame,
            writable: false,
        }
    }

    /// Whether writes are allowed.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    fn bytes(&self, offset: usize, len: usize) -> Result<&'a [AtomicU8], AccessError> {
        offset
            .checked_add(len)
            .and_then(|end| self.frame.0.get(offset..end))
            .ok_or(AccessError::OutOfBounds { offset, len })
    }

    fn check_writable(&self) -> Result<(), AccessError> {
        if self.writable {
            Ok(())
        } else {
            Err(AccessError::ReadOnly)
        }
    }

    /// Copies `dst.len()` bytes from `offset`.
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        let src = self.bytes(offset, dst.len())?;
        for (d, s) in dst.iter_mut().zip(src) {
            *d = s.load(Ordering::Relaxed);
        }
        Ok(())
    }

    /// Copies `src` to `offset`.
    pub fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<(), AccessError> {
        self.check_writable()?;
        let dst = self.bytes(offset, src.len())?;
        for (d, s) in dst.iter().zip(src) {
            d.store(*s, Ordering::Relaxed);
        }
        Ok(())
    }

    fn word(&self, offset: usize) -> Result<&'a AtomicU32, AccessError> {
        let bytes = self.bytes(offset, size_of::<u32>())?;
        if !offset.is_multiple_of(align_of::<AtomicU32>()) {
            return Err(AccessError::Misaligned { offset });
        }
        // SAFETY: `bytes` is 4 in-page bytes at a 4-aligned offset of a
        // 4096-aligned page, so the pointer is aligned for AtomicU32, which
        // has the size and layout of [AtomicU8; 4]; the memory is only ever
        // accessed atomically and lives for 'a.
        Ok(unsafe { &*bytes.as_ptr().cast::<AtomicU32>() })
    }

    /// Reads the little-endian `u32` at 4-aligned `offset` in one atomic load.
    pub fn read_u32(&self, offset: usize) -> Result<u32, AccessError> {
        Ok(self.word(offset)?.load(Ordering::Relaxed))
    }

    /// Writes the `u32` at 4-aligned `offset` in one atomic store.
    pub fn write_u32(&self, offset: usize, value: u32) -> Result<(), AccessError> {
        self.check_writable()?;
        self.word(offset)?.store(value, Ordering::Relaxed);
        Ok(())
    }

    /// The word at 4-aligned `offset` as an atomic, for handshake flags
    /// (e.g. `xen_pci_sharedinfo.flags`). Refused on read-only views, since
    /// every read-modify-write is a write.
    pub fn atomic_u32(&self, offset: usize) -> Result<&'a AtomicU32, AccessError> {
        self.check_writable()?;
        self.word(offset)
    }

    /// Copies a whole `T` out of the page at `offset`, once. Validate the
    /// copy; the page may change right after.
    pub fn read<T: Plain>(&self, offset: usize) -> Result<T, AccessError> {
        let mut value = MaybeUninit::<T>::zeroed();
        // SAFETY: `value` is zero-initialised, so viewing its size_of::<T>()
        // bytes as a byte slice is sound.
        let bytes = unsafe {
            core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), size_of::<T>())
        };
        self.read_bytes(offset, bytes)?;
        // SAFETY: T: Plain accepts every bit pattern, and all bytes are set.
        Ok(unsafe { value.assume_init() })
    }

    /// Copies `value` into the page at `offset`.
    pub fn write<T: Plain>(&self, offset: usize, value: &T) -> Result<(), AccessError> {
        // SAFETY: T: Plain has no padding, so all size_of::<T>() bytes of
        // `value` are initialised; the borrow outlives the slice.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(value).cast::<u8>(), size_of::<T>())
        };
        self.write_bytes(offset, bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::boxed::Box;

    use super::*;
    use crate::abi::io::pciif::{
        FLAGS_OFFSET, OP_OFFSET, XEN_PCI_OP_CONF_READ, XEN_PCIF_ACTIVE, XenPciOp,
    };

    #[test]
    fn bounds_are_checked() {
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        assert_eq!(page.write_bytes(4090, &[1; 6]), Ok(()));
        assert_eq!(
            page.write_bytes(4091, &[1; 6]),
            Err(AccessError::OutOfBounds {
                offset: 4091,
                len: 6
            })
        );
        assert_eq!(
            page.read_bytes(usize::MAX, &mut [0; 2]),
            Err(AccessError::OutOfBounds {
                offset: usize::MAX,
                len: 2
            })
        );
        assert_eq!(page.read_u32(4092), Ok(0x0101_0101));
        assert_eq!(
            page.read_u32(4096),
            Err(AccessError::OutOfBounds {
                offset: 4096,
                len: 4
            })
        );
        assert_eq!(page.read_u32(2), Err(AccessError::Misaligned { offset: 2 }));
        assert!(page.read::<XenPciOp>(4096 - 547).is_err());
    }

    #[test]
    fn words_are_little_endian() {
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        page.write_u32(8, 0x1122_3344).unwrap();
        let mut bytes = [0; 4];
        page.read_bytes(8, &mut bytes).unwrap();
        assert_eq!(bytes, [0x44, 0x33, 0x22, 0x11]);
    }

    #[test]
    fn read_only_views_refuse_every_write() {
        let frame = Box::new(PageFrame::default());
        SharedPage::new(&frame).write_u32(0, 7).unwrap();
        let page = SharedPage::read_only(&frame);
        assert_eq!(page.read_u32(0), Ok(7));
        assert_eq!(page.write_u32(0, 1), Err(AccessError::ReadOnly));
        assert_eq!(page.write_bytes(0, &[1]), Err(AccessError::ReadOnly));
        assert_eq!(page.write(0, &5u32), Err(AccessError::ReadOnly));
        assert_eq!(page.atomic_u32(0).err(), Some(AccessError::ReadOnly));
    }

    #[test]
    fn pci_op_round_trip_at_the_header_offsets() {
        let frame = Box::new(PageFrame::default());
        let page = SharedPage::new(&frame);
        let op = XenPciOp {
            cmd: XEN_PCI_OP_CONF_READ,
            bus: 0,
            devfn: 0x10,
            offset: 4,
            size: 2,
            ..Default::default()
        };
        page.write(OP_OFFSET, &op).unwrap();
        page.atomic_u32(FLAGS_OFFSET)
            .unwrap()
            .fetch_or(XEN_PCIF_ACTIVE, Ordering::Release);
        // Byte layout per pciif.h: devfn at op+16, offset at op+20.
        assert_eq!(page.read_u32(4 + 16), Ok(0x10));
        assert_eq!(page.read_u32(4 + 20), Ok(4));
        assert_eq!(page.read_u32(0), Ok(1));
        assert_eq!(page.read::<XenPciOp>(OP_OFFSET), Ok(op));
    }
}
