// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decimal numbers as XenStore values hold them: written with `%u` or `%d`.
//!
//! The one parser for every number read from XenStore (a `state`, a count,
//! a grant reference, a domid in a permission). It accepts exactly what
//! `printf` writes and refuses what `sscanf` would also let through
//! (leading blanks, a `+`, `0x`, trailing bytes, a NUL): the writers have
//! no reason to produce those, and a guest that does gets no benefit of the
//! doubt. Nothing here panics on any input.

/// Digits of a `u32` in decimal.
const MAX_DIGITS: usize = 10;

/// An unsigned decimal (`%u`): one to ten ASCII digits, fitting in a `u32`.
pub fn unsigned(value: &[u8]) -> Option<u32> {
    if value.is_empty() || value.len() > MAX_DIGITS {
        return None;
    }
    value.iter().try_fold(0u32, |total, &byte| {
        let digit = char::from(byte).to_digit(10)?;
        total.checked_mul(10)?.checked_add(digit)
    })
}

/// A signed decimal (`%d`): an optional `-`, then what [`unsigned`] takes,
/// fitting in an `i32`.
pub fn signed(value: &[u8]) -> Option<i32> {
    match value.split_first() {
        Some((b'-', digits)) => {
            let magnitude = i64::from(unsigned(digits)?);
            i32::try_from(magnitude.checked_neg()?).ok()
        }
        _ => i32::try_from(unsigned(value)?).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_as_printf_writes_them() {
        assert_eq!(unsigned(b"0"), Some(0));
        assert_eq!(unsigned(b"8"), Some(8));
        assert_eq!(unsigned(b"4294967295"), Some(u32::MAX));
        assert_eq!(signed(b"-2147483648"), Some(i32::MIN));
        assert_eq!(signed(b"2147483647"), Some(i32::MAX));
        assert_eq!(signed(b"-3"), Some(-3));
        for junk in [
            &b""[..],
            b"4294967296",
            b"99999999999",
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"1\0",
            b"0x10",
            b"abc",
            b"\xff",
        ] {
            assert_eq!(unsigned(junk), None, "{junk:?}");
        }
        assert_eq!(signed(b"2147483648"), None);
        assert_eq!(signed(b"-2147483649"), None);
        assert_eq!(signed(b"--1"), None);
    }
}
