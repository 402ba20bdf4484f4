// SPDX-License-Identifier: MIT OR Apache-2.0
//! `hvm_start_info`: what a PVH loader (Xen or QEMU) hands the image at entry.
//!
//! Mirrors `xen/include/public/arch-x86/hvm/start_info.h`. The structure and
//! everything it points to is read through [`PhysicalMemory`], bounds-checked
//! and copied, so a broken or hostile loader gets an error, never a panic.

use core::fmt;

/// `XEN_HVM_START_MAGIC_VALUE`.
pub const MAGIC: u32 = 0x336e_c578;

/// Most memory-map entries accepted: far above any real map, small enough
/// that a corrupt count cannot make the image walk gigabytes.
pub const MAX_MEMMAP_ENTRIES: u32 = 1024;

/// Most modules accepted, for the same reason.
pub const MAX_MODULES: u32 = 256;

/// `struct hvm_start_info` (version 1 layout; version 0 ends at `rsdp_paddr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HvmStartInfo {
    /// Must be [`MAGIC`].
    pub magic: u32,
    /// 0 or 1; version 0 has no memory map fields.
    pub version: u32,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Number of entries at `modlist_paddr`.
    pub nr_modules: u32,
    /// Physical address of the `hvm_modlist_entry` array, 0 if none.
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line, 0 if none.
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP, 0 if none.
    pub rsdp_paddr: u64,
    /// Physical address of the `hvm_memmap_table_entry` array (version ≥ 1).
    pub memmap_paddr: u64,
    /// Number of memory-map entries; 0 means no map (version ≥ 1).
    pub memmap_entries: u32,
    /// Must be zero.
    pub reserved: u32,
}
const _: () = assert!(size_of::<HvmStartInfo>() == 56);
const _: () = assert!(core::mem::offset_of!(HvmStartInfo, modlist_paddr) == 16);
const _: () = assert!(core::mem::offset_of!(HvmStartInfo, rsdp_paddr) == 32);
const _: () = assert!(core::mem::offset_of!(HvmStartInfo, memmap_entries) == 48);

/// Size of the version 0 structure: everything up to and including `rsdp_paddr`.
const V0_SIZE: usize = 40;

/// `struct hvm_modlist_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HvmModlistEntry {
    /// Physical address of the module.
    pub paddr: u64,
    /// Size of the module in bytes.
    pub size: u64,
    /// Physical address of the module's NUL-terminated command line, 0 if none.
    pub cmdline_paddr: u64,
    /// Must be zero.
    pub reserved: u64,
}
const _: () = assert!(size_of::<HvmModlistEntry>() == 32);

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HvmMemmapTableEntry {
    /// Base physical address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// `XEN_HVM_MEMMAP_TYPE_*`, numbered as E820.
    pub kind: u32,
    /// Must be zero.
    pub reserved: u32,
}
const _: () = assert!(size_of::<HvmMemmapTableEntry>() == 24);
const _: () = assert!(core::mem::offset_of!(HvmMemmapTableEntry, kind) == 16);

/// `XEN_HVM_MEMMAP_TYPE_*`: what a memory-map range holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// 1: usable RAM.
    Ram,
    /// 2: reserved.
    Reserved,
    /// 3: ACPI tables, reclaimable.
    Acpi,
    /// 4: ACPI non-volatile storage.
    Nvs,
    /// 5: unusable.
    Unusable,
    /// 6: disabled.
    Disabled,
    /// 7: persistent memory.
    Persistent,
    /// Any other number: treated as reserved.
    Other(u32),
}

impl MemoryKind {
    /// The kind named by a raw `type` field.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Ram,
            2 => Self::Reserved,
            3 => Self::Acpi,
            4 => Self::Nvs,
            5 => Self::Unusable,
            6 => Self::Disabled,
            7 => Self::Persistent,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ram => f.write_str("RAM"),
            Self::Reserved => f.write_str("reserved"),
            Self::Acpi => f.write_str("ACPI"),
            Self::Nvs => f.write_str("ACPI NVS"),
            Self::Unusable => f.write_str("unusable"),
            Self::Disabled => f.write_str("disabled"),
            Self::Persistent => f.write_str("persistent"),
            Self::Other(n) => write!(f, "type {n}"),
        }
    }
}

/// One validated memory-map range: `base..base + size`, never wrapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRange {
    /// First byte.
    pub base: u64,
    /// Length in bytes, at least 1.
    pub size: u64,
    /// What the range holds.
    pub kind: MemoryKind,
}

impl MemoryRange {
    /// One past the last byte (checked when parsed: a range ending at the
    /// top of the address space saturates to `u64::MAX`).
    pub const fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }
}

/// One boot module, as the loader described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module {
    /// Physical address of the module.
    pub paddr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Physical address of its command line, if any.
    pub cmdline_paddr: Option<u64>,
}

/// Reads guest-physical memory for the parser.
///
/// The kernel implements it over its identity map; tests implement it over a
/// byte vector with holes.
pub trait PhysicalMemory {
    /// Fills `buf` from `paddr..paddr + buf.len()`, or returns `false` if any
    /// byte of that range is not readable.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool;
}

/// Why a start-info structure was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartInfoError {
    /// `ebx` was 0.
    NullPointer,
    /// The named range could not be read.
    Unreadable {
        /// Which structure was being read.
        what: &'static str,
        /// Its physical address.
        paddr: u64,
    },
    /// The magic field held this value instead of [`MAGIC`].
    BadMagic(u32),
    /// Version 0 carries no memory map and the image has no other source.
    NoMemoryMap {
        /// The version the loader gave.
        version: u32,
    },
    /// More memory-map entries than [`MAX_MEMMAP_ENTRIES`].
    TooManyMemoryMapEntries(u32),
    /// More modules than [`MAX_MODULES`].
    TooManyModules(u32),
    /// A memory-map entry or module whose end overflows 64 bits.
    RangeOverflow {
        /// Which table held it.
        what: &'static str,
        /// Its index in that table.
        index: u32,
    },
    /// The command line does not fit the buffer, or has no terminating NUL.
    CommandLineTooLong,
    /// The command line holds bytes outside printable ASCII.
    CommandLineNotAscii,
}

impl fmt::Display for StartInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NullPointer => f.write_str("no hvm_start_info (ebx was 0)"),
            Self::Unreadable { what, paddr } => write!(f, "{what} at {paddr:#x} is not readable"),
            Self::BadMagic(m) => {
                write!(f, "bad hvm_start_info magic {m:#010x} (want {MAGIC:#010x})")
            }
            Self::NoMemoryMap { version } => {
                write!(f, "hvm_start_info version {version} carries no memory map")
            }
            Self::TooManyMemoryMapEntries(n) => {
                write!(f, "{n} memory-map entries (at most {MAX_MEMMAP_ENTRIES})")
            }
            Self::TooManyModules(n) => write!(f, "{n} modules (at most {MAX_MODULES})"),
            Self::RangeOverflow { what, index } => {
                write!(
                    f,
                    "{what} entry {index} wraps past the end of the address space"
                )
            }
            Self::CommandLineTooLong => f.write_str("command line too long or unterminated"),
            Self::CommandLineNotAscii => f.write_str("command line is not printable ASCII"),
        }
    }
}

impl core::error::Error for StartInfoError {}

/// A validated `hvm_start_info` and the memory it points into.
#[derive(Debug)]
pub struct StartInfo<'m, M: PhysicalMemory> {
    memory: &'m M,
    raw: HvmStartInfo,
}

impl<'m, M: PhysicalMemory> StartInfo<'m, M> {
    /// Reads and validates the structure at `paddr`: magic, version, table
    /// sizes, and that every table and range lies in readable memory without
    /// wrapping. A version newer than 1 is read as version 1, as Xen intends.
    pub fn parse(memory: &'m M, paddr: u64) -> Result<Self, StartInfoError> {
        if paddr == 0 {
            return Err(StartInfoError::NullPointer);
        }
        let mut bytes = [0u8; size_of::<HvmStartInfo>()];
        let header = bytes.get_mut(..V0_SIZE).unwrap_or(&mut []);
        if !memory.read(paddr, header) {
            return Err(StartInfoError::Unreadable {
                what: "hvm_start_info",
                paddr,
            });
        }
        let magic = le_u32(&bytes, 0);
        if magic != MAGIC {
            return Err(StartInfoError::BadMagic(magic));
        }
        let version = le_u32(&bytes, 4);
        if version == 0 {
            return Err(StartInfoError::NoMemoryMap { version });
        }
        let tail = bytes.get_mut(V0_SIZE..).unwrap_or(&mut []);
        let tail_paddr = paddr.checked_add(V0_SIZE as u64);
        if !tail_paddr.is_some_and(|p| memory.read(p, tail)) {
            return Err(StartInfoError::Unreadable {
                what: "hvm_start_info",
                paddr,
            });
        }
        let raw = HvmStartInfo {
            magic,
            version,
            flags: le_u32(&bytes, 8),
            nr_modules: le_u32(&bytes, 12),
            modlist_paddr: le_u64(&bytes, 16),
            cmdline_paddr: le_u64(&bytes, 24),
            rsdp_paddr: le_u64(&bytes, 32),
            memmap_paddr: le_u64(&bytes, 40),
            memmap_entries: le_u32(&bytes, 48),
            reserved: le_u32(&bytes, 52),
        };
        let info = Self { memory, raw };
        info.validate()?;
        Ok(info)
    }

    fn validate(&self) -> Result<(), StartInfoError> {
        let raw = &self.raw;
        if raw.memmap_entries == 0 || raw.memmap_paddr == 0 {
            return Err(StartInfoError::NoMemoryMap {
                version: raw.version,
            });
        }
        if raw.memmap_entries > MAX_MEMMAP_ENTRIES {
            return Err(StartInfoError::TooManyMemoryMapEntries(raw.memmap_entries));
        }
        if raw.nr_modules > MAX_MODULES {
            return Err(StartInfoError::TooManyModules(raw.nr_modules));
        }
        for index in 0..raw.memmap_entries {
            self.memmap_entry(index)?;
        }
        for index in 0..self.module_count() {
            self.module(index)?;
        }
        Ok(())
    }

    /// The structure as the loader wrote it.
    pub fn raw(&self) -> &HvmStartInfo {
        &self.raw
    }

    /// The structure's version.
    pub fn version(&self) -> u32 {
        self.raw.version
    }

    /// `SIF_*` flags.
    pub fn flags(&self) -> u32 {
        self.raw.flags
    }

    /// Physical address of the ACPI RSDP, if the loader gave one.
    pub fn rsdp(&self) -> Option<u64> {
        (self.raw.rsdp_paddr != 0).then_some(self.raw.rsdp_paddr)
    }

    /// Copies the command line into `buf` and returns it; empty when the
    /// loader gave none. Tabs and newlines read as spaces.
    pub fn command_line<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, StartInfoError> {
        read_c_string(self.memory, self.raw.cmdline_paddr, buf)
    }

    /// Number of memory-map entries (validated).
    pub fn memory_map_len(&self) -> u32 {
        self.raw.memmap_entries
    }

    /// The memory map, in the loader's order. Zero-sized entries are skipped.
    pub fn memory_map(&self) -> impl Iterator<Item = MemoryRange> + '_ {
        (0..self.raw.memmap_entries).filter_map(|i| self.memmap_entry(i).ok().flatten())
    }

    fn memmap_entry(&self, index: u32) -> Result<Option<MemoryRange>, StartInfoError> {
        let mut b = [0u8; size_of::<HvmMemmapTableEntry>()];
        let paddr = table_slot(self.raw.memmap_paddr, index, b.len());
        if !paddr.is_some_and(|p| self.memory.read(p, &mut b)) {
            return Err(StartInfoError::Unreadable {
                what: "memory map",
                paddr: self.raw.memmap_paddr,
            });
        }
        let (base, size) = (le_u64(&b, 0), le_u64(&b, 8));
        if base.checked_add(size).is_none() {
            return Err(StartInfoError::RangeOverflow {
                what: "memory map",
                index,
            });
        }
        let kind = MemoryKind::from_raw(le_u32(&b, 16));
        Ok((size != 0).then_some(MemoryRange { base, size, kind }))
    }

    /// Number of modules (validated); 0 when the module list is absent.
    pub fn module_count(&self) -> u32 {
        if self.raw.modlist_paddr == 0 {
            0
        } else {
            self.raw.nr_modules
        }
    }

    /// The boot modules.
    pub fn modules(&self) -> impl Iterator<Item = Module> + '_ {
        (0..self.module_count()).filter_map(|i| self.module(i).ok())
    }

    fn module(&self, index: u32) -> Result<Module, StartInfoError> {
        let mut b = [0u8; size_of::<HvmModlistEntry>()];
        let paddr = table_slot(self.raw.modlist_paddr, index, b.len());
        if !paddr.is_some_and(|p| self.memory.read(p, &mut b)) {
            return Err(StartInfoError::Unreadable {
                what: "module list",
                paddr: self.raw.modlist_paddr,
            });
        }
        let (paddr, size, cmdline) = (le_u64(&b, 0), le_u64(&b, 8), le_u64(&b, 16));
        if paddr.checked_add(size).is_none() {
            return Err(StartInfoError::RangeOverflow {
                what: "module list",
                index,
            });
        }
        Ok(Module {
            paddr,
            size,
            cmdline_paddr: (cmdline != 0).then_some(cmdline),
        })
    }

    /// The physical ranges the loader's data occupies (this structure, the
    /// command line, the tables and the modules), so the frame allocator can
    /// keep its hands off them. Command lines count as one page each. Each
    /// range ends inside the address space: the page of a command line
    /// near its top (which the loader controls and nothing validates) is
    /// cut at the top instead of wrapping to 0.
    pub fn occupied(&self, start_info_paddr: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let fixed = [
            (start_info_paddr, size_of::<HvmStartInfo>() as u64),
            (self.raw.cmdline_paddr, 4096),
            (
                self.raw.memmap_paddr,
                u64::from(self.raw.memmap_entries) * 24,
            ),
            (self.raw.modlist_paddr, u64::from(self.module_count()) * 32),
        ];
        let modules = self
            .modules()
            .flat_map(|m| [(m.paddr, m.size), (m.cmdline_paddr.unwrap_or(0), 4096)]);
        fixed
            .into_iter()
            .chain(modules)
            .filter(|&(base, size)| base != 0 && size != 0)
            // base > 0: the room left is at most u64::MAX.
            .map(|(base, size)| {
                (
                    base,
                    size.min(u64::MAX.saturating_sub(base).saturating_add(1)),
                )
            })
    }
}

/// Reads a NUL-terminated string of printable ASCII at `paddr` into `buf`.
/// `paddr == 0` is the empty string.
pub fn read_c_string<'b, M: PhysicalMemory>(
    memory: &M,
    paddr: u64,
    buf: &'b mut [u8],
) -> Result<&'b str, StartInfoError> {
    if paddr == 0 {
        return Ok("");
    }
    let mut len = 0;
    loop {
        let Some(slot) = buf.get_mut(len..=len) else {
            return Err(StartInfoError::CommandLineTooLong);
        };
        let at = paddr.checked_add(len as u64);
        if !at.is_some_and(|a| memory.read(a, slot)) {
            return Err(StartInfoError::Unreadable {
                what: "command line",
                paddr,
            });
        }
        match slot {
            [0] => break,
            [byte @ (b'\t' | b'\n' | b'\r')] => *byte = b' ',
            [0x20..=0x7e] => {}
            _ => return Err(StartInfoError::CommandLineNotAscii),
        }
        // `buf.get_mut(len..=len)` succeeded: len < buf.len().
        len = len.saturating_add(1);
    }
    let text = buf.get(..len).unwrap_or_default();
    core::str::from_utf8(text).map_err(|_| StartInfoError::CommandLineNotAscii)
}

/// Physical address of slot `index` of a table of `size`-byte entries.
fn table_slot(base: u64, index: u32, size: usize) -> Option<u64> {
    u64::from(index)
        .checked_mul(size as u64)
        .and_then(|off| base.checked_add(off))
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(src) = at.checked_add(4).and_then(|end| bytes.get(at..end)) {
        v.copy_from_slice(src);
    }
    u32::from_le_bytes(v)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(src) = at.checked_add(8).and_then(|end| bytes.get(at..end)) {
        v.copy_from_slice(src);
    }
    u64::from_le_bytes(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Guest memory with one readable window; everything else is a hole.
    #[derive(Debug)]
    struct Window {
        base: u64,
        bytes: Vec<u8>,
    }

    impl PhysicalMemory for Window {
        fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
            let Some(off) = paddr.checked_sub(self.base) else {
                return false;
            };
            let Ok(off) = usize::try_from(off) else {
                return false;
            };
            match self.bytes.get(off..).and_then(|s| s.get(..buf.len())) {
                Some(src) => {
                    buf.copy_from_slice(src);
                    true
                }
                None => false,
            }
        }
    }

    const BASE: u64 = 0x6000;

    /// What QEMU's PVH loader builds: start info, command line, a 4-entry map.
    fn qemu_like() -> Window {
        let mut w = Window {
            base: BASE,
            bytes: vec![0; 0x1000],
        };
        let mut put = |at: usize, v: &[u8]| w.bytes[at..at + v.len()].copy_from_slice(v);
        put(0, &MAGIC.to_le_bytes());
        put(4, &1u32.to_le_bytes());
        put(24, &(BASE + 0x100).to_le_bytes()); // cmdline
        put(32, &0xf_5a40u64.to_le_bytes()); // rsdp
        put(40, &(BASE + 0x200).to_le_bytes()); // memmap
        put(48, &4u32.to_le_bytes());
        put(0x100, b"loglevel=debug\tpoweroff\0");
        let map: [(u64, u64, u32); 4] = [
            (0, 0x9fc00, 1),
            (0x9fc00, 0x400, 2),
            (0x10_0000, 0x7ee_0000, 1),
            (0xfffc_0000, 0x4_0000, 2),
        ];
        for (i, (a, s, t)) in map.iter().enumerate() {
            let at = 0x200 + i * 24;
            put(at, &a.to_le_bytes());
            put(at + 8, &s.to_le_bytes());
            put(at + 16, &t.to_le_bytes());
        }
        w
    }

    fn set(w: &mut Window, at: usize, v: &[u8]) {
        w.bytes[at..at + v.len()].copy_from_slice(v);
    }

    #[test]
    fn parses_a_qemu_style_start_info() {
        let w = qemu_like();
        let info = StartInfo::parse(&w, BASE).unwrap();
        assert_eq!(info.version(), 1);
        assert_eq!(info.rsdp(), Some(0xf_5a40));
        let mut buf = [0u8; 64];
        assert_eq!(
            info.command_line(&mut buf).unwrap(),
            "loglevel=debug poweroff"
        );
        let map: Vec<_> = info.memory_map().collect();
        assert_eq!(map.len(), 4);
        assert_eq!(
            map[2],
            MemoryRange {
                base: 0x10_0000,
                size: 0x7ee_0000,
                kind: MemoryKind::Ram
            }
        );
        let ram: u64 = map
            .iter()
            .filter(|r| r.kind == MemoryKind::Ram)
            .map(|r| r.size)
            .sum();
        assert_eq!(ram, 0x9fc00 + 0x7ee_0000);
        assert_eq!(info.modules().count(), 0);
    }

    #[test]
    fn refuses_bad_magic_and_null() {
        let mut w = qemu_like();
        set(&mut w, 0, &0xdead_beefu32.to_le_bytes());
        assert_eq!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::BadMagic(0xdead_beef)
        );
        assert_eq!(
            StartInfo::parse(&w, 0).unwrap_err(),
            StartInfoError::NullPointer
        );
        assert!(matches!(
            StartInfo::parse(&w, 0x1000).unwrap_err(),
            StartInfoError::Unreadable { .. }
        ));
    }

    #[test]
    fn refuses_a_missing_memory_map() {
        let mut w = qemu_like();
        set(&mut w, 48, &0u32.to_le_bytes());
        assert_eq!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::NoMemoryMap { version: 1 }
        );
        let mut w = qemu_like();
        set(&mut w, 4, &0u32.to_le_bytes());
        assert_eq!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::NoMemoryMap { version: 0 }
        );
    }

    #[test]
    fn refuses_huge_counts_without_walking_them() {
        let mut w = qemu_like();
        set(&mut w, 48, &u32::MAX.to_le_bytes());
        assert_eq!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::TooManyMemoryMapEntries(u32::MAX)
        );
        let mut w = qemu_like();
        set(&mut w, 12, &100_000u32.to_le_bytes());
        set(&mut w, 16, &(BASE + 0x800).to_le_bytes());
        assert_eq!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::TooManyModules(100_000)
        );
    }

    #[test]
    fn refuses_tables_past_readable_memory_and_wrapping_ranges() {
        let mut w = qemu_like();
        set(&mut w, 48, &200u32.to_le_bytes()); // runs off the window
        assert!(matches!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::Unreadable { .. }
        ));
        let mut w = qemu_like();
        set(&mut w, 40, &(u64::MAX - 8).to_le_bytes()); // table address wraps
        assert!(matches!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::Unreadable { .. }
        ));
        let mut w = qemu_like();
        set(&mut w, 0x200 + 24, &u64::MAX.to_le_bytes()); // entry 1 base
        assert_eq!(
            StartInfo::parse(&w, BASE).unwrap_err(),
            StartInfoError::RangeOverflow {
                what: "memory map",
                index: 1
            }
        );
    }

    #[test]
    fn reads_modules() {
        let mut w = qemu_like();
        set(&mut w, 12, &1u32.to_le_bytes());
        set(&mut w, 16, &(BASE + 0x800).to_le_bytes());
        set(&mut w, 0x800, &0x20_0000u64.to_le_bytes());
        set(&mut w, 0x808, &0x1234u64.to_le_bytes());
        let info = StartInfo::parse(&w, BASE).unwrap();
        let m: Vec<_> = info.modules().collect();
        assert_eq!(
            m,
            [Module {
                paddr: 0x20_0000,
                size: 0x1234,
                cmdline_paddr: None
            }]
        );
        assert!(info.occupied(BASE).any(|r| r == (0x20_0000, 0x1234)));
    }

    #[test]
    fn a_command_line_at_the_top_of_memory_occupies_no_wrapping_range() {
        let mut w = qemu_like();
        let top = u64::MAX - 0x7ff;
        set(&mut w, 24, &top.to_le_bytes());
        let info = StartInfo::parse(&w, BASE).unwrap();
        assert!(info.occupied(BASE).any(|r| r == (top, 0x800)));
        assert!(
            info.occupied(BASE)
                .all(|(base, size)| base.checked_add(size - 1).is_some())
        );
    }

    #[test]
    fn command_line_must_be_terminated_ascii_and_fit() {
        let mut w = qemu_like();
        let info = StartInfo::parse(&w, BASE).unwrap();
        let mut small = [0u8; 4];
        assert_eq!(
            info.command_line(&mut small).unwrap_err(),
            StartInfoError::CommandLineTooLong
        );
        set(&mut w, 0x100, b"a\xffb\0");
        let info = StartInfo::parse(&w, BASE).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            info.command_line(&mut buf).unwrap_err(),
            StartInfoError::CommandLineNotAscii
        );
        // Unterminated at the very end of readable memory.
        let mut w = qemu_like();
        set(&mut w, 24, &(BASE + 0xffe).to_le_bytes());
        set(&mut w, 0xffe, b"ab");
        let info = StartInfo::parse(&w, BASE).unwrap();
        let mut buf = [0u8; 64];
        assert!(matches!(
            info.command_line(&mut buf).unwrap_err(),
            StartInfoError::Unreadable { .. }
        ));
    }

    proptest! {
        /// Whatever bytes sit where the loader's data should be, parsing and
        /// walking every table never panics.
        #[test]
        fn never_panics_on_arbitrary_memory(bytes in proptest::collection::vec(any::<u8>(), 0..0x1000),
                                            magic_ok: bool, count in 0u32..2000) {
            let mut w = Window { base: BASE, bytes };
            w.bytes.resize(0x1000, 0);
            if magic_ok {
                set(&mut w, 0, &MAGIC.to_le_bytes());
                set(&mut w, 48, &count.to_le_bytes());
            }
            if let Ok(info) = StartInfo::parse(&w, BASE) {
                let mut buf = [0u8; 256];
                let _ = info.command_line(&mut buf);
                let _ = info.memory_map().count();
                let _ = info.modules().count();
                let _ = info.occupied(BASE).count();
            }
        }
    }
}
