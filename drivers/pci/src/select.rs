// SPDX-License-Identifier: MIT OR Apache-2.0
//! Device selectors (`0000:03:00.0`, `03:00.*`, `03:*.*`) and Linux's `hide=` list syntax.
//!
//! The accepted forms are those of Linux's `xen-pciback` (`pci_stub.c`,
//! `str_to_slot` and `pcistub_init`): `ssss:bb:dd.f`, `ssss:bb:dd.*`,
//! `ssss:bb:*.*` and the same without the segment (segment 0), all fields
//! hexadecimal. A device list is a run of such selectors, each in
//! parentheses, optionally separated by whitespace:
//! `(0000:03:00.0)(04:00.*)`.
//!
//! Where this parser differs from Linux, on purpose:
//! - Linux rejects the whole list at the first bad entry; here a bad entry is
//!   reported with its byte position and skipped, and the others still apply.
//! - Linux's `sscanf("%x")` also takes a `0x` prefix, a sign and whitespace
//!   inside an entry; here a field is hexadecimal digits only.
//! - A field whose value is out of range (bus > 0xff, device > 0x1f,
//!   function > 7) is reported when parsed, not when the entry is added.
//!
//! [`Address`] parses here too, with the same grammar: an address is a
//! selector that names one function.

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::Address;

/// The functions one `hide=` entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Selector {
    /// One function: `ssss:bb:dd.f`.
    Function(Address),
    /// Every function of a device: `ssss:bb:dd.*`.
    Device {
        /// The segment.
        segment: u16,
        /// The bus.
        bus: u8,
        /// The device (slot), below 32.
        device: u8,
    },
    /// Every function on a bus: `ssss:bb:*.*`.
    Bus {
        /// The segment.
        segment: u16,
        /// The bus.
        bus: u8,
    },
}

impl Selector {
    /// Whether `address` is one of the functions this selector names.
    pub fn matches(&self, address: Address) -> bool {
        match *self {
            Self::Function(selected) => selected == address,
            Self::Device {
                segment,
                bus,
                device,
            } => (segment, bus, device) == (address.segment(), address.bus(), address.device()),
            Self::Bus { segment, bus } => (segment, bus) == (address.segment(), address.bus()),
        }
    }
}

impl fmt::Display for Selector {
    /// The long form: `ssss:bb:dd.f`, `ssss:bb:dd.*` or `ssss:bb:*.*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Function(address) => write!(f, "{address}"),
            Self::Device {
                segment,
                bus,
                device,
            } => {
                write!(f, "{segment:04x}:{bus:02x}:{device:02x}.*")
            }
            Self::Bus { segment, bus } => write!(f, "{segment:04x}:{bus:02x}:*.*"),
        }
    }
}

/// One field of a selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The segment (domain), at most 0xffff.
    Segment,
    /// The bus, at most 0xff.
    Bus,
    /// The device (slot), at most 0x1f.
    Device,
    /// The function, at most 7.
    Function,
}

impl Field {
    /// The largest value the field takes.
    const fn max(self) -> u16 {
        match self {
            Self::Segment => u16::MAX,
            Self::Bus => u8::MAX as u16,
            Self::Device => Address::MAX_DEVICE as u16,
            Self::Function => Address::MAX_FUNCTION as u16,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Segment => "segment",
            Self::Bus => "bus",
            Self::Device => "device",
            Self::Function => "function",
        })
    }
}

/// What is wrong with a selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// Nothing to parse.
    Empty,
    /// No `.` between device and function.
    MissingDot,
    /// Not `bus:device` or `segment:bus:device` before the `.`.
    FieldCount,
    /// A field with no digits.
    EmptyField(Field),
    /// A character that is not a hexadecimal digit.
    InvalidDigit(Field),
    /// A value above the field's maximum.
    OutOfRange(Field),
    /// A `*` where none is accepted: in the segment or bus, in the device when
    /// the function is a number, or anywhere in an [`Address`].
    Wildcard,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty device address"),
            Self::MissingDot => f.write_str("missing '.' before the function"),
            Self::FieldCount => {
                f.write_str("expected bus:device.function or segment:bus:device.function")
            }
            Self::EmptyField(field) => write!(f, "empty {field} field"),
            Self::InvalidDigit(field) => write!(f, "invalid hexadecimal digit in the {field}"),
            Self::OutOfRange(field) => write!(f, "{field} above {:#x}", field.max()),
            Self::Wildcard => f.write_str("wildcard not accepted here"),
        }
    }
}

/// A selector or address that does not parse, with the byte where it went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParseError {
    position: usize,
    kind: ParseErrorKind,
}

impl ParseError {
    const fn new(position: usize, kind: ParseErrorKind) -> Self {
        Self { position, kind }
    }

    /// Byte offset of the offending character or field in the parsed text.
    pub const fn position(&self) -> usize {
        self.position
    }

    /// What is wrong.
    pub const fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.position, self.kind)
    }
}

impl core::error::Error for ParseError {}

/// A parsed field: a number or `*`.
enum Part<T> {
    Number(T),
    Wildcard,
}

/// Parses one field that starts at byte `start` of the whole text.
fn parse_part<T: TryFrom<u16>>(
    text: &str,
    start: usize,
    field: Field,
) -> Result<Part<T>, ParseError> {
    if text.is_empty() {
        return Err(ParseError::new(start, ParseErrorKind::EmptyField(field)));
    }
    if text == "*" {
        return Ok(Part::Wildcard);
    }
    let out_of_range = ParseError::new(start, ParseErrorKind::OutOfRange(field));
    let mut value: u16 = 0;
    for (index, character) in text.char_indices() {
        let digit = character.to_digit(16).ok_or(ParseError::new(
            start.saturating_add(index),
            ParseErrorKind::InvalidDigit(field),
        ))?;
        value = value
            .checked_mul(16)
            .and_then(|shifted| shifted.checked_add(u16::try_from(digit).ok()?))
            .filter(|value| *value <= field.max())
            .ok_or(out_of_range)?;
    }
    T::try_from(value)
        .map(Part::Number)
        .map_err(|_| out_of_range)
}

/// The value of a field that must be a number (segment, bus).
fn number<T>(part: Part<T>, start: usize) -> Result<T, ParseError> {
    match part {
        Part::Number(value) => Ok(value),
        Part::Wildcard => Err(ParseError::new(start, ParseErrorKind::Wildcard)),
    }
}

impl FromStr for Selector {
    type Err = ParseError;

    /// Parses `ssss:bb:dd.f`, `ssss:bb:dd.*`, `ssss:bb:*.*` or the same without
    /// `ssss:` (segment 0), all hexadecimal, as Linux's `str_to_slot`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(ParseError::new(0, ParseErrorKind::Empty));
        }
        let (head, function_text) = text
            .split_once('.')
            .ok_or(ParseError::new(text.len(), ParseErrorKind::MissingDot))?;
        let function_start = head.len().saturating_add(1);

        // Up to three colon-separated fields, each with its start offset.
        let mut fields: [(usize, &str); 3] = [(0, ""); 3];
        let mut count = 0_usize;
        let mut start = 0_usize;
        for text in head.split(':') {
            let slot = fields.get_mut(count).ok_or(ParseError::new(
                start.saturating_sub(1),
                ParseErrorKind::FieldCount,
            ))?;
            *slot = (start, text);
            count = count.saturating_add(1);
            start = start.saturating_add(text.len()).saturating_add(1);
        }
        let (segment, (bus_start, bus), (device_start, device)) = match (count, fields) {
            (3, [segment, bus, device]) => (Some(segment), bus, device),
            (2, [bus, device, _]) => (None, bus, device),
            _ => return Err(ParseError::new(0, ParseErrorKind::FieldCount)),
        };

        let segment = match segment {
            Some((start, text)) => number(parse_part(text, start, Field::Segment)?, start)?,
            None => 0,
        };
        let bus = number(parse_part(bus, bus_start, Field::Bus)?, bus_start)?;
        let device = parse_part(device, device_start, Field::Device)?;
        match (
            device,
            parse_part(function_text, function_start, Field::Function)?,
        ) {
            (Part::Wildcard, Part::Wildcard) => Ok(Self::Bus { segment, bus }),
            (Part::Wildcard, Part::Number(_)) => {
                Err(ParseError::new(device_start, ParseErrorKind::Wildcard))
            }
            (Part::Number(device), Part::Wildcard) => Ok(Self::Device {
                segment,
                bus,
                device,
            }),
            (Part::Number(device), Part::Number(function)) => {
                Address::new(segment, bus, device, function)
                    .map(Self::Function)
                    .ok_or(ParseError::new(
                        device_start,
                        ParseErrorKind::OutOfRange(Field::Device),
                    ))
            }
        }
    }
}

/// An [`Address`] is a selector that names one function.
impl FromStr for Address {
    type Err = ParseError;

    /// Parses `ssss:bb:dd.f` or `bb:dd.f` (segment 0); no wildcards.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<Selector>()? {
            Selector::Function(address) => Ok(address),
            Selector::Device { .. } | Selector::Bus { .. } => Err(ParseError::new(
                text.find('*').unwrap_or_default(),
                ParseErrorKind::Wildcard,
            )),
        }
    }
}

/// What is wrong with one part of a device list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListErrorKind {
    /// Text outside parentheses that is not whitespace; skipped up to the next `(`.
    ExpectedEntry,
    /// A `(` with no `)` before the next `(` or the end.
    Unterminated,
    /// An entry whose selector does not parse.
    Entry(ParseErrorKind),
}

impl fmt::Display for ListErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExpectedEntry => f.write_str("expected '(' starting an entry"),
            Self::Unterminated => f.write_str("entry has no closing ')'"),
            Self::Entry(kind) => write!(f, "{kind}"),
        }
    }
}

/// A malformed part of a device list; the rest of the list still applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListError {
    position: usize,
    kind: ListErrorKind,
}

impl ListError {
    /// Byte offset of the problem in the whole list.
    pub const fn position(&self) -> usize {
        self.position
    }

    /// What is wrong.
    pub const fn kind(&self) -> &ListErrorKind {
        &self.kind
    }
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.position, self.kind)
    }
}

impl core::error::Error for ListError {}

/// A parsed device list: the entries that parsed and the problems found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceList {
    /// Entries that parsed, in list order.
    pub selectors: Vec<Selector>,
    /// Malformed parts, in list order.
    pub errors: Vec<ListError>,
}

impl DeviceList {
    /// Whether any entry names `address` itself (bridges above it are the
    /// caller's business: see [`crate::Topology::selects`]).
    pub fn matches(&self, address: Address) -> bool {
        self.selectors
            .iter()
            .any(|selector| selector.matches(address))
    }
}

/// Parses Linux's `xen-pciback.hide=` value: `(0000:03:00.0)(04:00.*)`.
///
/// Never fails as a whole: each malformed entry or stray text is reported in
/// [`DeviceList::errors`] with its byte position and skipped.
pub fn parse_device_list(text: &str) -> DeviceList {
    let mut list = DeviceList::default();
    let mut position = 0_usize;
    while let Some(rest) = text.get(position..) {
        let Some(first) = rest.chars().next() else {
            break;
        };
        if first.is_ascii_whitespace() {
            position = position.saturating_add(1);
            continue;
        }
        if first != '(' {
            list.errors.push(ListError {
                position,
                kind: ListErrorKind::ExpectedEntry,
            });
            position = rest
                .find('(')
                .map_or(text.len(), |next| position.saturating_add(next));
            continue;
        }
        let content_start = position.saturating_add(1);
        let content = text.get(content_start..).unwrap_or_default();
        match content
            .find(['(', ')'])
            .map(|end| (end, content.get(end..)))
        {
            Some((end, Some(close))) if close.starts_with(')') => {
                let entry = content.get(..end).unwrap_or_default();
                match entry.parse::<Selector>() {
                    Ok(selector) => list.selectors.push(selector),
                    Err(error) => list.errors.push(ListError {
                        position: content_start.saturating_add(error.position()),
                        kind: ListErrorKind::Entry(error.kind),
                    }),
                }
                position = content_start.saturating_add(end).saturating_add(1);
            }
            Some((end, _)) => {
                list.errors.push(ListError {
                    position,
                    kind: ListErrorKind::Unterminated,
                });
                position = content_start.saturating_add(end);
            }
            None => {
                list.errors.push(ListError {
                    position,
                    kind: ListErrorKind::Unterminated,
                });
                break;
            }
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn address(segment: u16, bus: u8, device: u8, function: u8) -> Address {
        Address::new(segment, bus, device, function).unwrap()
    }

    fn error(position: usize, kind: ListErrorKind) -> ListError {
        ListError { position, kind }
    }

    #[test]
    fn parses_every_form_linux_accepts() {
        let cases = [
            ("0000:03:00.0", Selector::Function(address(0, 3, 0, 0))),
            (
                "0001:03:00.*",
                Selector::Device {
                    segment: 1,
                    bus: 3,
                    device: 0,
                },
            ),
            ("0002:03:*.*", Selector::Bus { segment: 2, bus: 3 }),
            ("03:1f.7", Selector::Function(address(0, 3, 0x1f, 7))),
            (
                "04:00.*",
                Selector::Device {
                    segment: 0,
                    bus: 4,
                    device: 0,
                },
            ),
            (
                "ff:*.*",
                Selector::Bus {
                    segment: 0,
                    bus: 0xff,
                },
            ),
            // `%x` takes any number of digits, upper or lower case.
            ("00000:3:0.0", Selector::Function(address(0, 3, 0, 0))),
            (
                "FFFF:Ab:1F.7",
                Selector::Function(address(0xffff, 0xab, 0x1f, 7)),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Selector>(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn selectors_print_in_the_long_form_and_round_trip() {
        for text in ["0000:03:00.0", "0001:03:00.*", "0002:03:*.*"] {
            let selector: Selector = text.parse().unwrap();
            assert_eq!(selector.to_string(), text);
        }
        assert_eq!(
            "3:0.*".parse::<Selector>().unwrap().to_string(),
            "0000:03:00.*"
        );
    }

    #[test]
    fn rejects_malformed_selectors_with_positions() {
        let cases = [
            ("", 0, ParseErrorKind::Empty),
            ("03:00", 5, ParseErrorKind::MissingDot),
            ("03.0", 0, ParseErrorKind::FieldCount),
            ("0:0:03:00.0", 6, ParseErrorKind::FieldCount),
            (":00.0", 0, ParseErrorKind::EmptyField(Field::Bus)),
            ("03:00.", 6, ParseErrorKind::EmptyField(Field::Function)),
            ("03:0g.0", 4, ParseErrorKind::InvalidDigit(Field::Device)),
            ("0x03:00.0", 1, ParseErrorKind::InvalidDigit(Field::Bus)),
            (
                "03:00.0.1",
                7,
                ParseErrorKind::InvalidDigit(Field::Function),
            ),
            (" 03:00.0", 0, ParseErrorKind::InvalidDigit(Field::Bus)),
            ("100:00.0", 0, ParseErrorKind::OutOfRange(Field::Bus)),
            ("03:20.0", 3, ParseErrorKind::OutOfRange(Field::Device)),
            ("03:00.8", 6, ParseErrorKind::OutOfRange(Field::Function)),
            (
                "10000:03:00.0",
                0,
                ParseErrorKind::OutOfRange(Field::Segment),
            ),
            ("*:00.0", 0, ParseErrorKind::Wildcard),
            ("*:03:00.0", 0, ParseErrorKind::Wildcard),
            ("03:*.1", 3, ParseErrorKind::Wildcard),
            ("03:**.0", 3, ParseErrorKind::InvalidDigit(Field::Device)),
        ];
        for (text, position, kind) in cases {
            assert_eq!(
                text.parse::<Selector>(),
                Err(ParseError::new(position, kind)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn matches_the_functions_named() {
        let function: Selector = "0000:03:00.1".parse().unwrap();
        let device: Selector = "03:00.*".parse().unwrap();
        let bus: Selector = "03:*.*".parse().unwrap();
        assert!(function.matches(address(0, 3, 0, 1)));
        assert!(!function.matches(address(0, 3, 0, 0)));
        assert!(!function.matches(address(1, 3, 0, 1)));
        assert!((0..8).all(|f| device.matches(address(0, 3, 0, f))));
        assert!(!device.matches(address(0, 3, 1, 0)));
        assert!(bus.matches(address(0, 3, 0x1f, 7)));
        assert!(!bus.matches(address(0, 4, 0, 0)));
    }

    #[test]
    fn addresses_parse_from_the_long_and_short_forms() {
        assert_eq!("0000:03:00.0".parse(), Ok(address(0, 3, 0, 0)));
        assert_eq!("03:00.0".parse(), Ok(address(0, 3, 0, 0)));
        assert_eq!("ABCD:FE:1F.7".parse(), Ok(address(0xabcd, 0xfe, 0x1f, 7)));
    }

    #[test]
    fn addresses_round_trip_through_display() {
        let original = address(0x10, 0x80, 0x1c, 4);
        assert_eq!(original.to_string().parse(), Ok(original));
    }

    #[test]
    fn wildcards_are_not_addresses() {
        let error = "0000:03:00.*".parse::<Address>().unwrap_err();
        assert_eq!(error.kind(), &ParseErrorKind::Wildcard);
        assert_eq!(error.position(), 11);
    }

    #[test]
    fn parses_the_linux_example() {
        let list = parse_device_list("(0000:03:00.0)(04:00.*)");
        assert_eq!(
            list.selectors,
            [
                Selector::Function(address(0, 3, 0, 0)),
                Selector::Device {
                    segment: 0,
                    bus: 4,
                    device: 0
                }
            ]
        );
        assert!(list.errors.is_empty());
        assert!(list.matches(address(0, 4, 0, 5)));
        assert!(!list.matches(address(0, 3, 0, 1)));
    }

    #[test]
    fn empty_and_whitespace_lists_have_nothing() {
        for text in ["", "   ", "\t\n"] {
            assert_eq!(parse_device_list(text), DeviceList::default(), "{text:?}");
        }
    }

    #[test]
    fn whitespace_between_entries_is_accepted() {
        let list = parse_device_list(" (03:00.0)  (04:*.*) ");
        assert_eq!(list.selectors.len(), 2);
        assert!(list.errors.is_empty());
    }

    #[test]
    fn a_bad_entry_is_reported_and_the_rest_still_apply() {
        //                             0         1         2
        //                             0123456789012345678901234
        let list = parse_device_list("(03:00.0)(03:zz.0)(05:00.*)");
        assert_eq!(list.selectors.len(), 2);
        assert_eq!(
            list.errors,
            [error(
                13,
                ListErrorKind::Entry(ParseErrorKind::InvalidDigit(Field::Device))
            )]
        );
    }

    #[test]
    fn stray_text_is_skipped_up_to_the_next_entry() {
        let list = parse_device_list("junk(03:00.0),(04:00.0)tail");
        assert_eq!(list.selectors.len(), 2);
        assert_eq!(
            list.errors,
            [
                error(0, ListErrorKind::ExpectedEntry),
                error(13, ListErrorKind::ExpectedEntry),
                error(23, ListErrorKind::ExpectedEntry),
            ]
        );
    }

    #[test]
    fn unterminated_entries_do_not_swallow_the_next_one() {
        let list = parse_device_list("(03:00.0(04:00.0)(05:00.0");
        assert_eq!(list.selectors, [Selector::Function(address(0, 4, 0, 0))]);
        assert_eq!(
            list.errors,
            [
                error(0, ListErrorKind::Unterminated),
                error(17, ListErrorKind::Unterminated)
            ]
        );
    }

    #[test]
    fn hostile_lists_are_reported_not_fatal() {
        let cases = [
            ("()", error(1, ListErrorKind::Entry(ParseErrorKind::Empty))),
            (")", error(0, ListErrorKind::ExpectedEntry)),
            ("(", error(0, ListErrorKind::Unterminated)),
            (
                "(ffffffffffffffffffff:00:00.0)",
                error(
                    1,
                    ListErrorKind::Entry(ParseErrorKind::OutOfRange(Field::Segment)),
                ),
            ),
            (
                "(é:00.0)",
                error(
                    1,
                    ListErrorKind::Entry(ParseErrorKind::InvalidDigit(Field::Bus)),
                ),
            ),
            (
                "(03:00.0\0)",
                error(
                    8,
                    ListErrorKind::Entry(ParseErrorKind::InvalidDigit(Field::Function)),
                ),
            ),
        ];
        for (text, expected) in cases {
            let list = parse_device_list(text);
            assert!(list.selectors.is_empty(), "{text:?}");
            assert_eq!(list.errors, [expected], "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn device_list_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let text = String::from_utf8_lossy(&bytes);
            let list = parse_device_list(&text);
            for error in &list.errors {
                prop_assert!(error.position() <= text.len());
            }
        }

        #[test]
        fn lists_of_selector_like_text_never_panic(text in "[()0-9a-fA-F:.* x]{0,64}") {
            let list = parse_device_list(&text);
            prop_assert!(list.errors.iter().all(|error| error.position() <= text.len()));
        }

        #[test]
        fn every_address_round_trips(segment: u16, bus: u8, device in 0u8..32, function in 0u8..8) {
            let address = Address::new(segment, bus, device, function).unwrap();
            let list = parse_device_list(&format!("({address})"));
            prop_assert_eq!(list.selectors, vec![Selector::Function(address)]);
        }
    }
}
