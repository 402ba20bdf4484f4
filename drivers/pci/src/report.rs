// SPDX-License-Identifier: MIT OR Apache-2.0
//! Console reports of a [`Topology`]: an lspci-like table and a machine-readable form.
//!
//! Both come as iterators of lines (each a [`Display`](fmt::Display) without
//! the newline), so the kernel can hand them to `log` one by one, or as a
//! whole through [`write_lines`] into any [`fmt::Write`].
//!
//! The table, for people:
//!
//! ```text
//! PCI segment 0000: 3 functions, 0 anomalies
//! ADDRESS       OWNER     ID          REV  IRQ   CLASS
//! 0000:00:00.0  -         8086:29c0   02   -     Host bridge
//! 0000:00:02.0  taken     8086:10d3   00   INTA  Ethernet controller
//!               BAR0 mem32 0xfebc0000 [128K]
//!               BAR2 io 0xc000 [32]
//!               ROM 0xfeb80000 [256K] disabled
//!               caps PM MSI PCIe MSI-X ext AER
//! 0000:00:1c.0  -         1b36:000c   00   INTA  PCI bridge
//!               bus [01-01] mem 0xfe800000-0xfe9fffff
//! ```
//!
//! The machine-readable form, for tests (compared with QEMU's QMP
//! `query-pci`), one line per function then one closing line:
//!
//! ```text
//! PCIDEV <ssss:bb:dd.f> id=<vvvv:dddd> class=<bbss> progif=<pp> rev=<rr> hdr=<n>
//!        subsys=<vvvv:dddd>|- pin=<0-4> line=<ll> bars=<bar>[,<bar>...]|-
//!        rom=<0xaddress:0xsize:on|off>|- primary=<pp>|- bus=[<ss>-<uu>]|-
//!        io=<0xbase-0xlimit>|- mem=<0xbase-0xlimit>|- pref=<0xbase-0xlimit>|-
//!        caps=<hh>[,<hh>...]|- ecaps=<hhhh>[,<hhhh>...]|- anomalies=<n> owner=<token>
//! PCIEND segment=<ssss> functions=<n> anomalies=<n>
//!
//! <bar> = <index>:<io|mem32|mem64>[-pref]:0x<address>:0x<size>
//! ```
//!
//! (shown wrapped; each `PCIDEV` record is one line). Every key is always
//! present, in this order, separated by one space; `-` means none. Numbers
//! are lowercase hexadecimal: IDs, class, bus numbers and capability IDs
//! zero-padded to their width without `0x`, addresses and sizes with `0x` and
//! no padding; `pin`, `hdr` and the counts are decimal. Addresses are the
//! values programmed in the BARs, whether decoding is on or not. `bars`
//! lists implemented BARs by index; `rom` is the expansion ROM (QEMU lists
//! it as region 6). `primary`, `bus` and the windows are for bridges only;
//! a closed window is `-`. `owner` is the caller's word with whitespace
//! replaced by `_`, or `-` when empty.

use core::fmt;
use core::iter;

use crate::enumerate::{BridgeInfo, Function, Topology, Window};
use crate::{Address, Anomaly, Bar, Rom};

/// Who owns each function, for the owner column: "taken", "-", a domain...
pub trait Ownership {
    /// The owner of the function at `address`.
    fn owner(&self, address: Address) -> &str;
}

impl<F: Fn(Address) -> &'static str> Ownership for F {
    fn owner(&self, address: Address) -> &str {
        self(address)
    }
}

/// Width of the owner column.
const OWNER_WIDTH: usize = 8;
/// Indentation of a function's detail lines: the address column's width.
const DETAIL_INDENT: &str = "              ";

/// A size in bytes as lspci prints it: `32`, `4K`, `16M`, `8G`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u32, &str); 4] = [(40, "T"), (30, "G"), (20, "M"), (10, "K")];
        let unit = UNITS
            .iter()
            .find(|(shift, _)| self.0 != 0 && self.0.trailing_zeros() >= *shift);
        match unit {
            Some((shift, suffix)) => write!(f, "{}{suffix}", self.0 >> shift),
            None => write!(f, "{}", self.0),
        }
    }
}

/// An interrupt pin as lspci names it.
struct Pin(u8);

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "-",
            1 => "INTA",
            2 => "INTB",
            3 => "INTC",
            4 => "INTD",
            _ => "?",
        };
        f.pad(name)
    }
}

/// One line of the table.
#[derive(Clone, Copy, Debug)]
pub enum TableLine<'a> {
    /// The segment, function and anomaly counts.
    Heading(&'a Topology),
    /// The column names.
    Columns,
    /// A function's identity and owner.
    Function {
        /// The function.
        function: &'a Function,
        /// Its owner.
        owner: &'a str,
    },
    /// One BAR of the function above.
    Bar(&'a Bar),
    /// The expansion ROM of the function above.
    Rom(&'a Rom),
    /// The bus numbers and windows of the bridge above.
    Bridge(&'a BridgeInfo),
    /// The capabilities of the function, by short name.
    Capabilities(&'a Function),
    /// Something wrong with the function above.
    Anomaly(&'a Anomaly),
}

/// Writes `name base-limit` when the window is open.
fn window(f: &mut fmt::Formatter<'_>, name: &str, window: Option<Window>) -> fmt::Result {
    match window {
        Some(Window { base, limit }) => write!(f, " {name} {base:#x}-{limit:#x}"),
        None => Ok(()),
    }
}

impl fmt::Display for TableLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Heading(topology) => write!(
                f,
                "PCI segment {:04x}: {} functions, {} anomalies",
                topology.segment,
                topology.functions.len(),
                topology.anomaly_count()
            ),
            Self::Columns => write!(
                f,
                "{:<14}{:<OWNER_WIDTH$}  {:<12}{:<5}{:<6}CLASS",
                "ADDRESS", "OWNER", "ID", "REV", "IRQ"
            ),
            Self::Function { function, owner } => write!(
                f,
                "{}  {owner:<OWNER_WIDTH$}  {:04x}:{:04x}   {:02x}   {:<6}{}",
                function.address,
                function.vendor_id,
                function.device_id,
                function.revision,
                Pin(function.interrupt_pin),
                function.class.name()
            ),
            Self::Bar(bar) => {
                write!(f, "{DETAIL_INDENT}BAR{} {}", bar.index, bar.kind)?;
                if bar.prefetchable {
                    f.write_str(" pref")?;
                }
                write!(f, " {:#x} [{}]", bar.address, Size(bar.size))
            }
            Self::Rom(rom) => write!(
                f,
                "{DETAIL_INDENT}ROM {:#x} [{}] {}",
                rom.address,
                Size(rom.size.into()),
                if rom.enabled { "enabled" } else { "disabled" }
            ),
            Self::Bridge(bridge) => {
                write!(
                    f,
                    "{DETAIL_INDENT}bus [{:02x}-{:02x}]",
                    bridge.secondary, bridge.subordinate
                )?;
                window(f, "io", bridge.io)?;
                window(f, "mem", bridge.memory)?;
                window(f, "pref", bridge.prefetchable)
            }
            Self::Capabilities(function) => {
                f.write_str(DETAIL_INDENT)?;
                f.write_str("caps")?;
                for capability in &function.capabilities.standard {
                    write!(f, " {}", capability.id)?;
                }
                if !function.capabilities.extended.is_empty() {
                    f.write_str(" ext")?;
                    for capability in &function.capabilities.extended {
                        write!(f, " {}", capability.id)?;
                    }
                }
                Ok(())
            }
            Self::Anomaly(anomaly) => write!(f, "{DETAIL_INDENT}! {anomaly}"),
        }
    }
}

/// The lines the table shows for one function.
fn function_lines<'a>(
    function: &'a Function,
    owner: &'a str,
) -> impl Iterator<Item = TableLine<'a>> {
    let has_capabilities = !function.capabilities.standard.is_empty();
    iter::once(TableLine::Function { function, owner })
        .chain(function.bars.iter().map(TableLine::Bar))
        .chain(function.rom.iter().map(TableLine::Rom))
        .chain(function.bridge.iter().map(TableLine::Bridge))
        .chain(has_capabilities.then_some(TableLine::Capabilities(function)))
        .chain(function.anomalies.iter().map(TableLine::Anomaly))
}

/// The lspci-like table of `topology`, line by line.
pub fn table<'a, O: Ownership + ?Sized>(
    topology: &'a Topology,
    ownership: &'a O,
) -> impl Iterator<Item = TableLine<'a>> {
    [TableLine::Heading(topology), TableLine::Columns]
        .into_iter()
        .chain(
            topology.functions.iter().flat_map(move |function| {
                function_lines(function, ownership.owner(function.address))
            }),
        )
}

/// One line of the machine-readable form.
#[derive(Clone, Copy, Debug)]
pub enum MachineLine<'a> {
    /// A `PCIDEV` record.
    Function {
        /// The function.
        function: &'a Function,
        /// Its owner.
        owner: &'a str,
    },
    /// The closing `PCIEND` record.
    End(&'a Topology),
}

/// Writes `key=` then the items separated by commas, or `-` when there are none.
fn list<T>(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut fmt::Formatter<'_>, T) -> fmt::Result,
) -> fmt::Result {
    write!(f, " {key}=")?;
    let mut empty = true;
    for value in items {
        if !empty {
            f.write_str(",")?;
        }
        item(f, value)?;
        empty = false;
    }
    if empty { f.write_str("-") } else { Ok(()) }
}

/// Writes ` key=value`, or ` key=-` for `None`.
fn optional<T>(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    value: Option<T>,
    write: impl FnOnce(&mut fmt::Formatter<'_>, T) -> fmt::Result,
) -> fmt::Result {
    write!(f, " {key}=")?;
    match value {
        Some(value) => write(f, value),
        None => f.write_str("-"),
    }
}

/// Writes ` key=0xbase-0xlimit` or ` key=-`.
fn machine_window(f: &mut fmt::Formatter<'_>, key: &str, value: Option<Window>) -> fmt::Result {
    optional(f, key, value, |f, window| {
        write!(f, "{:#x}-{:#x}", window.base, window.limit)
    })
}

/// Writes the owner as one token.
fn token(f: &mut fmt::Formatter<'_>, owner: &str) -> fmt::Result {
    if owner.is_empty() {
        return f.write_str("-");
    }
    owner.chars().try_for_each(|character| {
        fmt::Write::write_char(
            f,
            if character.is_whitespace() {
                '_'
            } else {
                character
            },
        )
    })
}

impl fmt::Display for MachineLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (function, owner) = match *self {
            Self::Function { function, owner } => (function, owner),
            Self::End(topology) => {
                return write!(
                    f,
                    "PCIEND segment={:04x} functions={} anomalies={}",
                    topology.segment,
                    topology.functions.len(),
                    topology.anomaly_count()
                );
            }
        };
        write!(
            f,
            "PCIDEV {} id={:04x}:{:04x} class={} progif={:02x} rev={:02x} hdr={}",
            function.address,
            function.vendor_id,
            function.device_id,
            function.class,
            function.class.prog_if,
            function.revision,
            function.header
        )?;
        optional(f, "subsys", function.subsystem, |f, subsystem| {
            write!(f, "{:04x}:{:04x}", subsystem.vendor, subsystem.id)
        })?;
        write!(
            f,
            " pin={} line={:02x}",
            function.interrupt_pin, function.interrupt_line
        )?;
        list(f, "bars", &function.bars, |f, bar| {
            let prefetch = if bar.prefetchable { "-pref" } else { "" };
            write!(
                f,
                "{}:{}{prefetch}:{:#x}:{:#x}",
                bar.index, bar.kind, bar.address, bar.size
            )
        })?;
        optional(f, "rom", function.rom, |f, rom| {
            write!(
                f,
                "{:#x}:{:#x}:{}",
                rom.address,
                rom.size,
                if rom.enabled { "on" } else { "off" }
            )
        })?;
        optional(f, "primary", function.bridge, |f, bridge| {
            write!(f, "{:02x}", bridge.primary)
        })?;
        optional(f, "bus", function.bridge, |f, bridge| {
            write!(f, "[{:02x}-{:02x}]", bridge.secondary, bridge.subordinate)
        })?;
        machine_window(f, "io", function.bridge.and_then(|bridge| bridge.io))?;
        machine_window(f, "mem", function.bridge.and_then(|bridge| bridge.memory))?;
        machine_window(
            f,
            "pref",
            function.bridge.and_then(|bridge| bridge.prefetchable),
        )?;
        list(
            f,
            "caps",
            &function.capabilities.standard,
            |f, capability| write!(f, "{:02x}", capability.id.0),
        )?;
        list(
            f,
            "ecaps",
            &function.capabilities.extended,
            |f, capability| write!(f, "{:04x}", capability.id.0),
        )?;
        write!(f, " anomalies={} owner=", function.anomalies.len())?;
        token(f, owner)
    }
}

/// The machine-readable form of `topology`: a `PCIDEV` line per function,
/// then a `PCIEND` line.
pub fn machine<'a, O: Ownership + ?Sized>(
    topology: &'a Topology,
    ownership: &'a O,
) -> impl Iterator<Item = MachineLine<'a>> {
    topology
        .functions
        .iter()
        .map(move |function| MachineLine::Function {
            function,
            owner: ownership.owner(function.address),
        })
        .chain(iter::once(MachineLine::End(topology)))
}

/// Writes each of `lines` followed by a newline.
pub fn write_lines<W: fmt::Write + ?Sized>(
    out: &mut W,
    lines: impl IntoIterator<Item = impl fmt::Display>,
) -> fmt::Result {
    lines
        .into_iter()
        .try_for_each(|line| writeln!(out, "{line}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Width;
    use crate::capability::{BarRegion, PortType};
    use crate::enumerate;
    use crate::register;
    use crate::sim::{SimBar, SimBus, SimDevice};

    fn address(bus: u8, device: u8, function: u8) -> Address {
        Address::new(0, bus, device, function).unwrap()
    }

    /// A q35-like machine: host bridge, an e1000e with a ROM, a root port
    /// with an NVMe controller behind it, and an ISA bridge with a bad
    /// capability pointer.
    fn topology() -> Topology {
        let bus = SimBus::new()
            .device(
                address(0, 0, 0),
                SimDevice::endpoint(0x8086, 0x29c0, 0x06_00_00).revision(2),
            )
            .device(
                address(0, 2, 0),
                SimDevice::endpoint(0x8086, 0x10d3, 0x02_00_00)
                    .subsystem(0x8086, 0x0000)
                    .interrupt(1, 0x0b)
                    .bar(0, SimBar::memory32(0x2_0000).at(0xfebc_0000))
                    .bar(2, SimBar::io(0x20).at(0xc000))
                    .bar(
                        3,
                        SimBar::memory64(0x4000).prefetchable().at(0x80_0000_0000),
                    )
                    .rom(0x4_0000, 0xfeb8_0000, false)
                    .pm()
                    .msi(1, true, false)
                    .pcie(PortType::Endpoint)
                    .msix(
                        5,
                        BarRegion { bir: 3, offset: 0 },
                        BarRegion {
                            bir: 3,
                            offset: 0x2000,
                        },
                    )
                    .aer(),
            )
            .device(
                address(0, 0x1c, 0),
                SimDevice::bridge(0x1b36, 0x000c)
                    .buses(0, 1, 1)
                    .interrupt(1, 0x0a)
                    .memory_window(0xfe80_0000, 0xfe9f_ffff)
                    .pcie(PortType::RootPort),
            )
            .device(
                address(1, 0, 0),
                SimDevice::endpoint(0x1b36, 0x0010, 0x01_08_02)
                    .bar(0, SimBar::memory64(0x4000).at(0xfe80_0000)),
            )
            .device(
                address(0, 0x1f, 0),
                SimDevice::endpoint(0x8086, 0x2918, 0x06_01_00)
                    .pm()
                    .raw_register(register::CAPABILITIES_POINTER, Width::Byte, 0x20),
            );
        enumerate(&bus, 0, 0..=0xff)
    }

    fn owner(address: Address) -> &'static str {
        if address.device() == 2 { "taken" } else { "-" }
    }

    fn render<L: fmt::Display>(lines: impl Iterator<Item = L>) -> String {
        let mut text = String::new();
        write_lines(&mut text, lines).unwrap();
        text
    }

    #[test]
    fn the_table_reads_like_lspci() {
        let topology = topology();
        let expected = "\
PCI segment 0000: 5 functions, 1 anomalies
ADDRESS       OWNER     ID          REV  IRQ   CLASS
0000:00:00.0  -         8086:29c0   02   -     Host bridge
0000:00:02.0  taken     8086:10d3   00   INTA  Ethernet controller
              BAR0 mem32 0xfebc0000 [128K]
              BAR2 io 0xc000 [32]
              BAR3 mem64 pref 0x8000000000 [16K]
              ROM 0xfeb80000 [256K] disabled
              caps PM MSI PCIe MSI-X ext AER
0000:00:1c.0  -         1b36:000c   00   INTA  PCI bridge
              bus [01-01] mem 0xfe800000-0xfe9fffff
              caps PCIe
0000:00:1f.0  -         8086:2918   00   -     ISA bridge
              ! capability pointer 0x20 at 0x34 out of range
0000:01:00.0  -         1b36:0010   00   -     Non-Volatile memory controller
              BAR0 mem64 0xfe800000 [16K]
";
        assert_eq!(render(table(&topology, &owner)), expected);
    }

    #[test]
    fn the_machine_form_has_every_key_in_order() {
        let topology = topology();
        let expected = "\
PCIDEV 0000:00:00.0 id=8086:29c0 class=0600 progif=00 rev=02 hdr=0 subsys=0000:0000 pin=0 line=00 bars=- rom=- primary=- bus=- io=- mem=- pref=- caps=- ecaps=- anomalies=0 owner=-
PCIDEV 0000:00:02.0 id=8086:10d3 class=0200 progif=00 rev=00 hdr=0 subsys=8086:0000 pin=1 line=0b bars=0:mem32:0xfebc0000:0x20000,2:io:0xc000:0x20,3:mem64-pref:0x8000000000:0x4000 rom=0xfeb80000:0x40000:off primary=- bus=- io=- mem=- pref=- caps=01,05,10,11 ecaps=0001 anomalies=0 owner=taken
PCIDEV 0000:00:1c.0 id=1b36:000c class=0604 progif=00 rev=00 hdr=1 subsys=- pin=1 line=0a bars=- rom=- primary=00 bus=[01-01] io=- mem=0xfe800000-0xfe9fffff pref=- caps=10 ecaps=- anomalies=0 owner=-
PCIDEV 0000:00:1f.0 id=8086:2918 class=0601 progif=00 rev=00 hdr=0 subsys=0000:0000 pin=0 line=00 bars=- rom=- primary=- bus=- io=- mem=- pref=- caps=- ecaps=- anomalies=1 owner=-
PCIDEV 0000:01:00.0 id=1b36:0010 class=0108 progif=02 rev=00 hdr=0 subsys=0000:0000 pin=0 line=00 bars=0:mem64:0xfe800000:0x4000 rom=- primary=- bus=- io=- mem=- pref=- caps=- ecaps=- anomalies=0 owner=-
PCIEND segment=0000 functions=5 anomalies=1
";
        assert_eq!(render(machine(&topology, &owner)), expected);
    }

    #[test]
    fn owners_become_single_tokens() {
        let topology = topology();
        let spaced = |_: Address| "dom 5";
        let empty = |_: Address| "";
        assert!(render(machine(&topology, &spaced)).contains(" owner=dom_5\n"));
        assert!(render(machine(&topology, &empty)).contains(" owner=-\n"));
    }

    #[test]
    fn sizes_print_in_the_largest_whole_unit() {
        let cases = [
            (0x20, "32"),
            (0x400, "1K"),
            (0x1800, "6K"),
            (0x10_0000, "1M"),
            (0x2_0000_0000, "8G"),
            (0x100_0000_0000, "1T"),
            (0, "0"),
        ];
        for (bytes, text) in cases {
            assert_eq!(Size(bytes).to_string(), text);
        }
    }
}
