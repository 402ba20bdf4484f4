// SPDX-License-Identifier: MIT OR Apache-2.0
//! The byte ring shared by the XenStore and console protocols.
//!
//! A power-of-two array plus free-running 32-bit producer and consumer
//! indices; byte *x* lives at `x & (size - 1)`. One side produces, the other
//! consumes; either may be in another domain, so indices are checked
//! (`prod - cons` never above the size) before they are trusted.

use core::fmt;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};

/// The peer left the indices in an impossible state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingCorrupt {
    /// The producer index found.
    pub prod: u32,
    /// The consumer index found.
    pub cons: u32,
}

impl fmt::Display for RingCorrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ring indices corrupt: prod {:#x} - cons {:#x} exceeds the ring size",
            self.prod, self.cons
        )
    }
}

impl core::error::Error for RingCorrupt {}

/// One direction of a shared byte ring.
#[derive(Clone, Copy, Debug)]
pub struct ByteRing<'a> {
    data: &'a [AtomicU8],
    cons: &'a AtomicU32,
    prod: &'a AtomicU32,
}

impl<'a> ByteRing<'a> {
    /// The ring made of `data` and its indices.
    pub const fn new<const N: usize>(
        data: &'a [AtomicU8; N],
        cons: &'a AtomicU32,
        prod: &'a AtomicU32,
    ) -> Self {
        const {
            assert!(
                N.is_power_of_two() && N <= 1 << 31,
                "ring size must be a power of two"
            );
        }
        Self { data, cons, prod }
    }

    fn size(&self) -> u32 {
        // `new` bounds the length by 2^31.
        self.data.len() as u32
    }

    /// Bytes between `cons` and `prod`, checked against the ring size.
    fn used(&self, prod: u32, cons: u32) -> Result<u32, RingCorrupt> {
        let used = prod.wrapping_sub(cons);
        if used > self.size() {
            return Err(RingCorrupt { prod, cons });
        }
        Ok(used)
    }

    /// The data byte `index` (free-running) lands on: the mask keeps it
    /// below the power-of-two length `new` checked.
    fn slot(&self, index: u32) -> Option<&AtomicU8> {
        let mask = self.data.len().saturating_sub(1);
        self.data.get(index as usize & mask)
    }

    /// Producer side: copies as much of `src` as fits and publishes it.
    /// Returns the number of bytes written (0 when the ring is full).
    pub fn write(&self, src: &[u8]) -> Result<usize, RingCorrupt> {
        // Acquire: the consumer released `cons` after it finished reading the
        // bytes before it, so those slots are free to overwrite.
        let cons = self.cons.load(Ordering::Acquire);
        // Relaxed: only this side writes `prod`.
        let prod = self.prod.load(Ordering::Relaxed);
        // `used` is at most the size.
        let free = self.size().saturating_sub(self.used(prod, cons)?);
        let n = src.len().min(free as usize);
        if n == 0 {
            return Ok(0);
        }
        let mut index = prod;
        for &byte in src.iter().take(n) {
            self.slot(index)
                .ok_or(RingCorrupt { prod, cons })?
                .store(byte, Ordering::Relaxed);
            index = index.wrapping_add(1);
        }
        // Release: the bytes above are published before the new `prod`.
        self.prod.store(index, Ordering::Release);
        Ok(n)
    }

    /// Consumer side: copies up to `dst.len()` available bytes and frees
    /// their space. Returns the number of bytes read (0 when empty).
    pub fn read(&self, dst: &mut [u8]) -> Result<usize, RingCorrupt> {
        // Acquire: the producer released `prod` after writing the bytes
        // before it, so they are visible now.
        let prod = self.prod.load(Ordering::Acquire);
        // Relaxed: only this side writes `cons`.
        let cons = self.cons.load(Ordering::Relaxed);
        let available = self.used(prod, cons)?;
        let n = dst.len().min(available as usize);
        if n == 0 {
            return Ok(0);
        }
        let mut index = cons;
        for byte in dst.iter_mut().take(n) {
            *byte = self
                .slot(index)
                .ok_or(RingCorrupt { prod, cons })?
                .load(Ordering::Relaxed);
            index = index.wrapping_add(1);
        }
        // Release: our reads of those bytes complete before the producer
        // sees their space as free.
        self.cons.store(index, Ordering::Release);
        Ok(n)
    }

    /// Bytes the consumer could read now.
    pub fn readable(&self) -> Result<usize, RingCorrupt> {
        let prod = self.prod.load(Ordering::Acquire);
        let cons = self.cons.load(Ordering::Acquire);
        Ok(self.used(prod, cons)? as usize)
    }

    /// Bytes the producer could write now.
    pub fn writable(&self) -> Result<usize, RingCorrupt> {
        // `readable` is at most the size.
        Ok(self.data.len().saturating_sub(self.readable()?))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    struct Shared {
        data: [AtomicU8; 16],
        cons: AtomicU32,
        prod: AtomicU32,
    }

    impl Shared {
        fn at(index: u32) -> Self {
            Self {
                data: core::array::from_fn(|_| AtomicU8::new(0xEE)),
                cons: AtomicU32::new(index),
                prod: AtomicU32::new(index),
            }
        }

        fn ring(&self) -> ByteRing<'_> {
            ByteRing::new(&self.data, &self.cons, &self.prod)
        }
    }

    #[test]
    fn partial_write_when_nearly_full() {
        let shared = Shared::at(0);
        let ring = shared.ring();
        assert_eq!(ring.write(&[1; 10]), Ok(10));
        assert_eq!(ring.write(&[2; 10]), Ok(6));
        assert_eq!(ring.write(&[3]), Ok(0));
        assert_eq!(ring.writable(), Ok(0));
        let mut buf = [0; 4];
        assert_eq!(ring.read(&mut buf), Ok(4));
        assert_eq!(buf, [1; 4]);
        assert_eq!(ring.write(&[4; 8]), Ok(4));
        assert_eq!(shared.prod.load(Ordering::Relaxed), 20);
        assert_eq!(shared.cons.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn wraps_around_the_array_and_the_index() {
        // Indices near u32::MAX: both the byte position and the index wrap.
        let shared = Shared::at(u32::MAX - 5);
        let ring = shared.ring();
        let message: Vec<u8> = (0..14).collect();
        assert_eq!(ring.write(&message), Ok(14));
        assert_eq!(shared.prod.load(Ordering::Relaxed), 8);
        assert_eq!(ring.readable(), Ok(14));
        let mut buf = [0; 14];
        assert_eq!(ring.read(&mut buf), Ok(14));
        assert_eq!(&buf[..], &message[..]);
        // Byte 0 of the message went to slot (u32::MAX - 5) & 15 = 10.
        assert_eq!(shared.data[10].load(Ordering::Relaxed), 0);
        assert_eq!(shared.data[15].load(Ordering::Relaxed), 5);
        assert_eq!(shared.data[0].load(Ordering::Relaxed), 6);
    }

    #[test]
    fn corrupt_indices_are_refused() {
        let shared = Shared::at(0);
        shared.prod.store(17, Ordering::Relaxed);
        let ring = shared.ring();
        let corrupt = Err(RingCorrupt { prod: 17, cons: 0 });
        assert_eq!(ring.read(&mut [0; 4]), corrupt);
        assert_eq!(ring.write(&[0; 4]), corrupt);
        assert_eq!(ring.readable(), corrupt);
        // Consumer ahead of producer is just as impossible.
        shared.prod.store(0, Ordering::Relaxed);
        shared.cons.store(1, Ordering::Relaxed);
        assert!(ring.read(&mut [0; 4]).is_err());
    }

    proptest! {
        /// Any interleaving of partial writes and reads, from any start
        /// index, delivers the bytes in order, like a bounded queue.
        #[test]
        fn behaves_like_a_bounded_queue(
            start in any::<u32>(),
            ops in proptest::collection::vec((any::<bool>(), 0usize..24), 0..64),
        ) {
            let shared = Shared::at(start);
            let ring = shared.ring();
            let mut model = VecDeque::new();
            let mut next = 0u8;
            for (is_write, len) in ops {
                if is_write {
                    let bytes: Vec<u8> = (0..len).map(|i| next.wrapping_add(i as u8)).collect();
                    let n = ring.write(&bytes).unwrap();
                    prop_assert_eq!(n, len.min(16 - model.len()));
                    model.extend(&bytes[..n]);
                    next = next.wrapping_add(n as u8);
                } else {
                    let mut buf = std::vec![0; len];
                    let n = ring.read(&mut buf).unwrap();
                    prop_assert_eq!(n, len.min(model.len()));
                    let expected: Vec<u8> = model.drain(..n).collect();
                    prop_assert_eq!(&buf[..n], &expected[..]);
                }
                prop_assert_eq!(ring.readable().unwrap(), model.len());
            }
        }
    }
}
