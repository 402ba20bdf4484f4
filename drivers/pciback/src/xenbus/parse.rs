// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore values in the formats Linux's pciback and pcifront write them.
//!
//! Linux reads them with `sscanf`; these parsers accept what the writers
//! produce (`%d`, `%u`, `%x:%x:%x.%x`, `%x:%x`) and refuse anything else,
//! including what `sscanf` would let through (leading blanks, signs on
//! unsigned numbers, `0x` prefixes, trailing garbage): the backend directory
//! is the toolstack's and the frontend directory the guest's, and neither
//! has a reason to write those. Nothing here panics on any input.

use core::fmt;

use pci::Address;
use xen::abi::io::xenbus::XenbusState;
pub(crate) use xen::xenstore::number::{signed, unsigned};

use super::MAX_DEVICES;
use crate::{RootBus, VirtualAddress};

/// Digits of a `u32` in hexadecimal.
const MAX_HEX_DIGITS: usize = 8;

/// A count (`%d`) of devices or roots: 0 to [`MAX_DEVICES`].
pub(crate) fn count(value: &[u8]) -> Option<u32> {
    signed(value)
        .and_then(|count| u32::try_from(count).ok())
        .filter(|&count| count <= MAX_DEVICES)
}

/// A `state` value as Linux's `xenbus_read_driver_state` reads it (`%d`):
/// not a number is Unknown; a number that names no state is `None` (Linux
/// hands it on, and every handler ignores it).
pub(crate) fn state(value: &[u8]) -> Option<XenbusState> {
    match signed(value) {
        Some(number) => u32::try_from(number).ok().and_then(XenbusState::from_raw),
        None => Some(XenbusState::Unknown),
    }
}

/// A hexadecimal field (`%x`): one to eight hex digits.
fn hex(value: &[u8]) -> Option<u32> {
    if value.is_empty() || value.len() > MAX_HEX_DIGITS {
        return None;
    }
    value.iter().try_fold(0u32, |total, &byte| {
        let digit = char::from(byte).to_digit(16)?;
        total.checked_mul(16)?.checked_add(digit)
    })
}

/// Splits `value` at the first `separator`.
fn split(value: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = value.iter().position(|&byte| byte == separator)?;
    Some((value.get(..at)?, value.get(at.checked_add(1)?..)?))
}

/// A function's address as `dev-N` and `vdev-N` write it
/// (`%x:%x:%x.%x`): four hex fields, not yet checked against PCI's ranges,
/// as Linux's `sscanf` hands them to the device lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bdf {
    /// Segment.
    pub(crate) domain: u32,
    /// Bus.
    pub(crate) bus: u32,
    /// Slot.
    pub(crate) slot: u32,
    /// Function.
    pub(crate) function: u32,
}

impl Bdf {
    /// Parses `ssss:bb:dd.f`.
    pub(crate) fn parse(value: &[u8]) -> Option<Self> {
        let (domain, rest) = split(value, b':')?;
        let (bus, rest) = split(rest, b':')?;
        let (slot, function) = split(rest, b'.')?;
        Some(Self {
            domain: hex(domain)?,
            bus: hex(bus)?,
            slot: hex(slot)?,
            function: hex(function)?,
        })
    }

    /// The address, if every field is in PCI's range.
    pub(crate) fn address(self) -> Option<Address> {
        Address::new(
            u16::try_from(self.domain).ok()?,
            u8::try_from(self.bus).ok()?,
            u8::try_from(self.slot).ok()?,
            u8::try_from(self.function).ok()?,
        )
    }

    /// The guest address a `vdev-N` names, if in range.
    pub(crate) fn guest(self) -> Option<VirtualAddress> {
        self.address().map(VirtualAddress)
    }
}

impl fmt::Display for Bdf {
    /// As Linux prints it in "Couldn't locate PCI device (…)": `%04x:%02x:%02x.%d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

/// A root bus as `root-N` writes it (`%x:%x`), if in range.
pub(crate) fn root(value: &[u8]) -> Option<RootBus> {
    let (segment, bus) = split(value, b':')?;
    Some(RootBus {
        segment: u16::try_from(hex(segment)?).ok()?,
        bus: u8::try_from(hex(bus)?).ok()?,
    })
}

/// What a device's `opts-N` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DeviceOpts {
    /// `permissive=<non-zero>` (libxl's).
    pub(crate) permissive: bool,
    /// `gsi=<n>`: the GSI of the device's INTx, which the toolstack read
    /// in dom0 (sysfs `irq`, once its pciback enabled the device) and this
    /// backend maps into the guest (ours: libxl reads it itself).
    pub(crate) gsi: Option<u32>,
}

/// The highest GSI a PV guest can be given: pcifront reads it from the
/// 8-bit interrupt line register and binds that number as its PIRQ.
pub(crate) const MAX_GSI: u32 = 255;

/// libxl's `opts-N` (`msitranslate=0,power_mgmt=0,permissive=1,…`), plus
/// `gsi=<n>`. libxl's own options are read as before, leniently: one that
/// does not parse asks for nothing. `gsi` is ours and names an interrupt
/// to give the guest, so it is strict: exactly one `gsi=` with a decimal
/// from 1 to [`MAX_GSI`], or the option that is not is the error.
pub(crate) fn device_options(opts: &[u8]) -> Result<DeviceOpts, &[u8]> {
    let mut parsed = DeviceOpts::default();
    for option in opts.split(|&byte| byte == b',') {
        let (key, value) = split(option, b'=').unwrap_or((option, b""));
        match key {
            b"permissive" => {
                parsed.permissive |= unsigned(value).is_some_and(|v| v != 0);
            }
            b"gsi" => {
                let gsi = unsigned(value).filter(|gsi| (1..=MAX_GSI).contains(gsi));
                match (gsi, parsed.gsi) {
                    (Some(gsi), None) => parsed.gsi = Some(gsi),
                    _ => return Err(option),
                }
            }
            _ => {}
        }
    }
    Ok(parsed)
}

/// A guest-supplied value for a log line or an `error` node: printable
/// ASCII only, at most `limit` bytes, the rest marked.
pub(crate) fn printable(value: &[u8], limit: usize) -> alloc::string::String {
    let mut text: alloc::string::String = value
        .iter()
        .take(limit)
        .map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '?'
            }
        })
        .collect();
    if value.len() > limit {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdfs_as_libxl_and_pciback_write_them() {
        let bdf = Bdf::parse(b"0000:03:00.1").unwrap();
        assert_eq!(
            bdf,
            Bdf {
                domain: 0,
                bus: 3,
                slot: 0,
                function: 1
            }
        );
        assert_eq!(bdf.address(), Address::new(0, 3, 0, 1));
        // vdev-N prints the function with two digits.
        assert_eq!(
            Bdf::parse(b"0000:00:1f.07").unwrap().guest(),
            Address::new(0, 0, 0x1f, 7).map(VirtualAddress)
        );
        // %x reads a whole unsigned int: eight digits are one field.
        assert_eq!(
            Bdf::parse(b"ffffffff:00:00.0").map(|bdf| bdf.domain),
            Some(u32::MAX)
        );
        // Parsed but out of range: Linux's lookup fails, so must ours.
        let wide = Bdf::parse(b"10000:00:20.8").unwrap();
        assert_eq!(wide.address(), None);
        assert_eq!(wide.to_string(), "10000:00:20.8");
        for junk in [
            &b""[..],
            b"0000:03:00",
            b"0000:03.00.0",
            b"03:00.0",
            b"0000:03:00.0.0",
            b"0000:03:00.",
            b"0000::00.0",
            b"0000:0x3:00.0",
            b"zz:00:00.0",
            b"0000:03:00.0 ",
            b"000000000:00:00.0",
        ] {
            assert_eq!(Bdf::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn states_as_xenbus_read_driver_state_reads_them() {
        assert_eq!(state(b"4"), Some(XenbusState::Connected));
        assert_eq!(state(b"8"), Some(XenbusState::Reconfigured));
        assert_eq!(state(b"closed"), Some(XenbusState::Unknown));
        assert_eq!(state(b""), Some(XenbusState::Unknown));
        assert_eq!(state(b"9"), None);
        assert_eq!(state(b"-1"), None);
    }

    #[test]
    fn counts_are_bounded() {
        assert_eq!(count(b"0"), Some(0));
        assert_eq!(count(b"256"), Some(256));
        assert_eq!(count(b"257"), None);
        assert_eq!(count(b"-1"), None);
        assert_eq!(count(b"2147483647"), None);
        assert_eq!(count(b"one"), None);
    }

    #[test]
    fn roots_and_options() {
        assert_eq!(root(b"0000:00"), Some(RootBus { segment: 0, bus: 0 }));
        assert_eq!(
            root(b"0001:ff"),
            Some(RootBus {
                segment: 1,
                bus: 0xff
            })
        );
        assert_eq!(root(b"0000:100"), None);
        assert_eq!(root(b"0000"), None);
    }

    #[test]
    fn device_options_as_libxl_writes_them_and_our_gsi() {
        let options = |permissive, gsi| Ok(DeviceOpts { permissive, gsi });
        assert_eq!(
            device_options(b"msitranslate=0,power_mgmt=0,permissive=1,rdm_policy=strict"),
            options(true, None)
        );
        assert_eq!(
            device_options(b"msitranslate=1,power_mgmt=0,permissive=0,rdm_policy=strict,gsi=23"),
            options(false, Some(23))
        );
        assert_eq!(device_options(b"gsi=1"), options(false, Some(1)));
        assert_eq!(device_options(b"gsi=255"), options(false, Some(255)));
        // libxl's own options stay lenient: unparseable asks for nothing.
        for lenient in [&b"permissive"[..], b"permissive=yes", b"", b"=,,=1,x"] {
            assert_eq!(device_options(lenient), options(false, None), "{lenient:?}");
        }
        // gsi is strict: the first option that is not one GSI is the error.
        for (opts, bad) in [
            (&b"permissive=1,gsi=0"[..], &b"gsi=0"[..]),
            (b"gsi=256", b"gsi=256"),
            (b"gsi=4294967296", b"gsi=4294967296"),
            (b"gsi=", b"gsi="),
            (b"gsi", b"gsi"),
            (b"gsi=0x17", b"gsi=0x17"),
            (b"gsi=-1", b"gsi=-1"),
            (b"gsi= 23", b"gsi= 23"),
            (b"gsi=23,permissive=1,gsi=23", b"gsi=23"),
            (b"gsi=23=23", b"gsi=23=23"),
        ] {
            assert_eq!(device_options(opts), Err(bad), "{opts:?}");
        }
    }

    #[test]
    fn guest_text_is_bounded_and_printable() {
        assert_eq!(printable(b"7", 8), "7");
        assert_eq!(printable(b"a\0b\xffc", 8), "a?b?c");
        assert_eq!(printable(b"0123456789", 4), "0123...");
        // Spaces are kept; exactly `limit` bytes are not marked as cut.
        assert_eq!(printable(b"a b", 8), "a b");
        assert_eq!(printable(b"0123", 4), "0123");
    }
}
