// SPDX-License-Identifier: MIT OR Apache-2.0
//! `start_info`: `hvm_start_info` as a loader (or a hostile toolstack) lays it out.
//!
//! The fuzzer's bytes are physical memory: a few readable regions at
//! addresses it chooses (the structure itself, a memory map, a module
//! list, command-line strings), the rest unreadable; `ebx` is an address
//! it chooses too, near a region or anywhere.
//!
//! Invariants: parsing never reads outside readable memory and never
//! panics; a structure it accepts has the right magic, a version of at
//! least 1, a memory map of 1 to the maximum entries (the empty ones
//! skipped when iterating), every entry and
//! module inside the address space without wrapping; iterating the map,
//! the modules and the occupied ranges yields the counts it reported
//! (the map, at most), each range non-empty and not wrapping; the command line, when
//! there is one, is a NUL-free string that fits the buffer.

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use xen::start_info::{PhysicalMemory, StartInfo};

/// `XEN_HVM_START_MAGIC_VALUE`.
const MAGIC: u32 = 0x336e_c578;

/// Readable regions of physical memory.
#[derive(Default)]
struct Memory {
    regions: BTreeMap<u64, Vec<u8>>,
}

impl PhysicalMemory for Memory {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        let Some((start, bytes)) = self.regions.range(..=paddr).next_back() else {
            return false;
        };
        let Some(offset) = paddr
            .checked_sub(*start)
            .and_then(|o| usize::try_from(o).ok())
        else {
            return false;
        };
        match offset
            .checked_add(buf.len())
            .and_then(|end| bytes.get(offset..end))
        {
            Some(source) => {
                buf.copy_from_slice(source);
                true
            }
            None => false,
        }
    }
}

/// An address: small, page-ish, or anywhere (the top of the space too).
fn address(u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => u.int_in_range(0..=0x10_000)?,
        1 => u64::from(u.int_in_range(0..=64_u32)?) << 12,
        2 => u64::MAX - u.int_in_range(0..=0x100)?,
        _ => u.arbitrary()?,
    })
}

/// A region's bytes: mostly the fields the parser reads, with the magic
/// where a start-info goes.
fn region(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(0..=512_usize)?.min(u.len());
    let mut bytes = u.bytes(len)?.to_vec();
    if u.ratio(1, 2)? && bytes.len() >= 8 {
        bytes[..4].copy_from_slice(&MAGIC.to_le_bytes());
        let version: u32 = u.int_in_range(0..=2)?;
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
    }
    Ok(bytes)
}

/// Whether `size` bytes from `base` end inside the 64-bit space.
fn ends_in_space(base: u64, size: u64) -> bool {
    size == 0 || base.checked_add(size - 1).is_some()
}

/// The target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut memory = Memory::default();
    let mut starts = Vec::new();
    let count = u.int_in_range(1..=6_usize).unwrap_or(1);
    for _ in 0..count {
        let (Ok(at), Ok(bytes)) = (address(&mut u), region(&mut u)) else {
            break;
        };
        starts.push(at);
        memory.regions.insert(at, bytes);
    }
    let paddr = match (u.ratio(3, 4), u.choose(&starts)) {
        (Ok(true), Ok(start)) => *start,
        _ => address(&mut u).unwrap_or(0),
    };
    let Ok(info) = StartInfo::parse(&memory, paddr) else {
        return;
    };
    let raw = *info.raw();
    assert_eq!(raw.magic, MAGIC);
    assert!(info.version() >= 1);
    // Zero-sized entries are skipped (documented): at most the count.
    let entries = info.memory_map().count();
    assert!(
        entries <= info.memory_map_len() as usize,
        "memory map count"
    );
    assert!(info.memory_map_len() >= 1, "accepted without a memory map");
    for range in info.memory_map() {
        assert!(range.size >= 1, "{range:?} is empty");
        assert!(ends_in_space(range.base, range.size), "{range:?} wraps");
    }
    let modules = info.modules().count();
    assert_eq!(modules, info.module_count() as usize, "module count");
    for module in info.modules() {
        assert!(ends_in_space(module.paddr, module.size), "{module:?} wraps");
    }
    for (base, size) in info.occupied(paddr) {
        assert!(size != 0 && base != 0, "occupied {base:#x}+{size:#x}");
        assert!(
            ends_in_space(base, size),
            "occupied {base:#x}+{size:#x} wraps: the frame allocator would misread it"
        );
    }
    let mut buf = [0; 256];
    if let Ok(line) = info.command_line(&mut buf) {
        assert!(!line.contains('\0'), "NUL inside the command line");
        assert!(line.len() <= buf.len());
    }
}
