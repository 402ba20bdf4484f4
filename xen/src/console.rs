// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PV console: our side of `xencons_interface` (`xl console`).
//!
//! The guest produces into `out` and consumes `in`; xenconsoled in dom0 does
//! the opposite. Nothing here blocks: [`ConsoleRing::try_write`] says how
//! much fitted, and the caller notifies the console event channel
//! (`HVM_PARAM_CONSOLE_EVTCHN`) and retries the rest after the next event.

use crate::abi::io::console::XenconsInterface;
use crate::ring::{ByteRing, RingCorrupt};

/// The guest end of a PV console ring page.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleRing<'a> {
    output: ByteRing<'a>,
    input: ByteRing<'a>,
}

impl<'a> ConsoleRing<'a> {
    /// The guest end of `page` (see [`XenconsInterface::from_page`]).
    pub fn new(page: &'a XenconsInterface) -> Self {
        Self {
            output: ByteRing::new(&page.out, &page.out_cons, &page.out_prod),
            input: ByteRing::new(&page.in_, &page.in_cons, &page.in_prod),
        }
    }

    /// Queues as much of `bytes` as fits in `out`; returns how much. When it
    /// is more than 0, notify the console event channel.
    pub fn try_write(&self, bytes: &[u8]) -> Result<usize, RingCorrupt> {
        self.output.write(bytes)
    }

    /// Takes up to `buf.len()` bytes of keyboard input from `in`; returns
    /// how many. When it is more than 0, notify the console event channel.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, RingCorrupt> {
        self.input.read(buf)
    }

    /// Bytes written but not yet taken by the backend.
    pub fn unsent(&self) -> Result<usize, RingCorrupt> {
        self.output.readable()
    }
}

#[cfg(test)]
mod tests {
    use std::boxed::Box;
    use std::vec::Vec;

    use core::sync::atomic::Ordering;

    use super::*;
    use crate::abi::io::console::{XENCONS_IN_SIZE, XENCONS_OUT_SIZE};

    /// xenconsoled's end of the page.
    fn backend(page: &XenconsInterface) -> (ByteRing<'_>, ByteRing<'_>) {
        (
            ByteRing::new(&page.out, &page.out_cons, &page.out_prod),
            ByteRing::new(&page.in_, &page.in_cons, &page.in_prod),
        )
    }

    #[test]
    fn output_reaches_the_backend_in_order() {
        let page = Box::new(XenconsInterface::default());
        let console = ConsoleRing::new(&page);
        let (out, _) = backend(&page);
        assert_eq!(console.try_write(b"pciback-dd: boot\n"), Ok(17));
        assert_eq!(page.out_prod.load(Ordering::Relaxed), 17);
        let mut buf = [0; 64];
        assert_eq!(out.read(&mut buf), Ok(17));
        assert_eq!(&buf[..17], b"pciback-dd: boot\n");
        assert_eq!(page.out_cons.load(Ordering::Relaxed), 17);
    }

    #[test]
    fn full_ring_reports_what_fitted_and_accepts_the_rest_later() {
        let page = Box::new(XenconsInterface::default());
        let console = ConsoleRing::new(&page);
        let (out, _) = backend(&page);
        let log: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let first = console.try_write(&log).unwrap();
        assert_eq!(first, XENCONS_OUT_SIZE);
        assert_eq!(console.try_write(&log[first..]), Ok(0));
        let mut drained = std::vec![0; 1000];
        assert_eq!(out.read(&mut drained), Ok(1000));
        let second = console.try_write(&log[first..]).unwrap();
        assert_eq!(second, 952);
        assert_eq!(console.unsent(), Ok(XENCONS_OUT_SIZE - 1000 + 952));
        let mut rest = std::vec![0; 4096];
        let n = out.read(&mut rest).unwrap();
        drained.extend_from_slice(&rest[..n]);
        assert_eq!(drained, log);
    }

    #[test]
    fn output_indices_wrap() {
        let page = Box::new(XenconsInterface::default());
        page.out_prod.store(u32::MAX - 2, Ordering::Relaxed);
        page.out_cons.store(u32::MAX - 2, Ordering::Relaxed);
        let console = ConsoleRing::new(&page);
        assert_eq!(console.try_write(b"abcdef"), Ok(6));
        assert_eq!(page.out_prod.load(Ordering::Relaxed), 3);
        // MASK_XENCONS_IDX(u32::MAX - 2, out) = 2045.
        assert_eq!(page.out[2045].load(Ordering::Relaxed), b'a');
        assert_eq!(page.out[0].load(Ordering::Relaxed), b'd');
    }

    #[test]
    fn input_from_the_backend() {
        let page = Box::new(XenconsInterface::default());
        let console = ConsoleRing::new(&page);
        let (_, input) = backend(&page);
        assert_eq!(input.write(b"ls\r"), Ok(3));
        let mut buf = [0; 2];
        assert_eq!(console.read(&mut buf), Ok(2));
        assert_eq!(&buf, b"ls");
        assert_eq!(console.read(&mut buf), Ok(1));
        assert_eq!(buf[0], b'\r');
        assert_eq!(console.read(&mut buf), Ok(0));
        assert_eq!(input.writable(), Ok(XENCONS_IN_SIZE));
    }

    #[test]
    fn hostile_backend_indices() {
        let page = Box::new(XenconsInterface::default());
        page.in_prod.store(5000, Ordering::Relaxed);
        page.out_cons.store(9, Ordering::Relaxed);
        let console = ConsoleRing::new(&page);
        assert_eq!(
            console.read(&mut [0; 8]),
            Err(RingCorrupt {
                prod: 5000,
                cons: 0
            })
        );
        assert_eq!(
            console.try_write(b"x"),
            Err(RingCorrupt { prod: 0, cons: 9 })
        );
    }
}
