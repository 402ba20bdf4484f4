// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where ECAM is: a window as ACPI's MCFG or `pci.ecam=` describes it.

use core::fmt;

/// ECAM for buses `start_bus..=end_bus` of `segment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamWindow {
    /// Physical address of bus 0's configuration space (even when
    /// `start_bus` is not 0, as MCFG defines it).
    pub base: u64,
    /// PCI segment group.
    pub segment: u16,
    /// First bus decoded.
    pub start_bus: u8,
    /// Last bus decoded.
    pub end_bus: u8,
}

impl EcamWindow {
    /// The physical range holding the configuration space of its buses.
    pub fn range(&self) -> core::ops::Range<u64> {
        let bus = |b: u8| self.base + (u64::from(b) << 20);
        bus(self.start_bus)..bus(self.end_bus) + (1 << 20)
    }
}

impl fmt::Display for EcamWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "segment {:04x} buses {:02x}-{:02x} at {:#x}",
            self.segment, self.start_bus, self.end_bus, self.base
        )
    }
}

/// Parses `pci.ecam=ADDR[,SEGMENT[,START-END]]`. Numbers are decimal, or hex
/// with `0x`; segment and buses default to 0 and 0-255. The address must be
/// 1 MiB aligned, as ECAM is.
pub fn parse(value: &str) -> Result<EcamWindow, &'static str> {
    let mut fields = value.split(',');
    let base = fields.next().map(number).ok_or("needs an address")??;
    let segment = match fields.next() {
        Some(s) => u16::try_from(number(s)?).map_err(|_| "segment is above 0xffff")?,
        None => 0,
    };
    let (start_bus, end_bus) = match fields.next() {
        Some(buses) => {
            let (start, end) = buses.split_once('-').ok_or("buses are START-END")?;
            let bus = |s| u8::try_from(number(s)?).map_err(|_| "bus is above 255");
            (bus(start)?, bus(end)?)
        }
        None => (0, 255),
    };
    if fields.next().is_some() {
        return Err("takes ADDR[,SEGMENT,START-END]");
    }
    if base % (1 << 20) != 0 || base == 0 {
        return Err("address must be non-zero and 1 MiB aligned");
    }
    if end_bus < start_bus {
        return Err("end bus is below start bus");
    }
    if base.checked_add((u64::from(end_bus) + 1) << 20).is_none() {
        return Err("window runs past the address space");
    }
    Ok(EcamWindow {
        base,
        segment,
        start_bus,
        end_bus,
    })
}

fn number(text: &str) -> Result<u64, &'static str> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| "not a number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any value either parses into a window that fits the address
        /// space, or is refused; never a panic.
        #[test]
        fn parse_never_panics(value in "[0-9a-fxX,\\-]{0,40}") {
            if let Ok(w) = parse(&value) {
                prop_assert!(w.start_bus <= w.end_bus);
                prop_assert!(w.range().start < w.range().end);
            }
        }
    }

    #[test]
    fn parses_the_full_and_short_forms() {
        let w = parse("0xb0000000,0,0-255").unwrap();
        assert_eq!(
            w,
            EcamWindow {
                base: 0xb000_0000,
                segment: 0,
                start_bus: 0,
                end_bus: 255
            }
        );
        assert_eq!(w.range(), 0xb000_0000..0xc000_0000);
        assert_eq!(parse("0xb0000000").unwrap(), w);
        let w = parse("0xe0000000,1,0x10-0x1f").unwrap();
        assert_eq!((w.segment, w.start_bus, w.end_bus), (1, 0x10, 0x1f));
        assert_eq!(w.range(), 0xe100_0000..0xe200_0000);
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            "",
            "0x",
            "b0000000",
            "0xb0000001",
            "0",
            "0xb0000000,0,5",
            "0xb0000000,0,9-8",
            "0xb0000000,0,0-256",
            "0xb0000000,65536,0-1",
            "0xb0000000,0,0-1,7",
            "0xfffffffffff00000,0,0-255",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
