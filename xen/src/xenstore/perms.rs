// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore permissions: `n0`, `r1`, `w2`, `b3`.
//!
//! A node's permission list names its owner first: the owner (and dom0)
//! has full access, and the first entry's letter is the access of every
//! domain not listed after it. Later entries give listed domains their own
//! access.

use alloc::vec::Vec;
use core::fmt;

use crate::abi::xen::DomId;

/// What a permission entry allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `n`: nothing.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    /// The letter on the wire.
    pub fn letter(self) -> char {
        match self {
            Self::None => 'n',
            Self::Read => 'r',
            Self::Write => 'w',
            Self::Both => 'b',
        }
    }

    /// Whether reading is allowed.
    pub fn can_read(self) -> bool {
        matches!(self, Self::Read | Self::Both)
    }

    /// Whether writing is allowed.
    pub fn can_write(self) -> bool {
        matches!(self, Self::Write | Self::Both)
    }
}

/// One entry of a node's permission list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permission {
    /// The domain the entry is about.
    pub domid: DomId,
    /// Its access.
    pub access: Access,
}

impl Permission {
    /// An entry.
    pub const fn new(domid: DomId, access: Access) -> Self {
        Self { domid, access }
    }

    /// Parses one entry such as `b5` (letter, then a decimal domid).
    pub fn parse(text: &[u8]) -> Option<Self> {
        let (&letter, digits) = text.split_first()?;
        let access = match letter {
            b'n' => Access::None,
            b'r' => Access::Read,
            b'w' => Access::Write,
            b'b' => Access::Both,
            _ => return None,
        };
        if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // At most five digits: no overflow, but checked all the same.
        let value = digits.iter().try_fold(0u32, |acc, d| {
            acc.checked_mul(10)?
                .checked_add(u32::from(d.checked_sub(b'0')?))
        })?;
        Some(Self {
            domid: DomId::try_from(value).ok()?,
            access,
        })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.access.letter(), self.domid)
    }
}

/// Parses a `GET_PERMS` payload: NUL-terminated entries, at least one.
pub fn parse_permissions(payload: &[u8]) -> Option<Vec<Permission>> {
    let body = payload.strip_suffix(b"\0")?;
    let perms: Option<Vec<Permission>> = body.split(|&b| b == 0).map(Permission::parse).collect();
    perms.filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(
            Permission::parse(b"n0"),
            Some(Permission::new(0, Access::None))
        );
        assert_eq!(
            Permission::parse(b"r1"),
            Some(Permission::new(1, Access::Read))
        );
        assert_eq!(
            Permission::parse(b"b2"),
            Some(Permission::new(2, Access::Both))
        );
        assert_eq!(
            Permission::parse(b"w3"),
            Some(Permission::new(3, Access::Write))
        );
        assert_eq!(
            Permission::parse(b"b32753"),
            Some(Permission::new(0x7FF1, Access::Both))
        );
        for p in [
            Permission::new(0, Access::None),
            Permission::new(65535, Access::Both),
        ] {
            assert_eq!(Permission::parse(p.to_string().as_bytes()), Some(p));
        }
        assert_eq!(Permission::new(7, Access::Write).to_string(), "w7");
    }

    #[test]
    fn junk_is_refused() {
        for bad in [
            &b""[..],
            b"r",
            b"x1",
            b"r-1",
            b"r65536",
            b"r 1",
            b"R1",
            b"r1a",
            b"r0000000001",
        ] {
            assert_eq!(Permission::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lists() {
        assert_eq!(
            parse_permissions(b"n0\0r2\0"),
            Some(std::vec![
                Permission::new(0, Access::None),
                Permission::new(2, Access::Read)
            ])
        );
        assert_eq!(parse_permissions(b"n0"), None, "missing NUL");
        assert_eq!(parse_permissions(b"\0"), None);
        assert_eq!(parse_permissions(b""), None);
        assert_eq!(parse_permissions(b"n0\0\0"), None);
    }
}
