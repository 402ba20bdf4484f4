// SPDX-License-Identifier: MIT OR Apache-2.0
//! XenStore path and token rules, checked before a request is sent.
//!
//! As xenstored's `is_valid_nodename`: characters `A-Za-z0-9-/_@`, no `//`,
//! no trailing `/` (except the root), absolute paths at most
//! `XENSTORE_ABS_PATH_MAX` bytes and relative ones `XENSTORE_REL_PATH_MAX`.
//! Relative paths are relative to `/local/domain/<own domid>`.

use super::error::XenstoreError;
use crate::abi::io::xs_wire::{XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX};

fn valid_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'_' | b'@')
}

/// Checks a node path (absolute or relative).
pub fn validate_path(path: &str) -> Result<(), XenstoreError> {
    let bytes = path.as_bytes();
    let max = if path.starts_with('/') {
        XENSTORE_ABS_PATH_MAX
    } else {
        XENSTORE_REL_PATH_MAX
    };
    let ok = !bytes.is_empty()
        && bytes.len() <= max
        && bytes.iter().all(|&c| valid_char(c))
        // Bytes, not `contains("//")`: core's substring searcher is
        // kilobytes of code in the image, for two bytes.
        && !bytes.windows(2).any(|pair| pair == b"//")
        && (path == "/" || !path.ends_with('/'));
    if ok {
        Ok(())
    } else {
        Err(XenstoreError::InvalidPath)
    }
}

/// Checks a watch path: a node path, or a special path such as
/// `@releaseDomain`.
pub(super) fn validate_watch_path(path: &str) -> Result<(), XenstoreError> {
    match path.strip_prefix('@') {
        Some(name) if !name.is_empty() && name.bytes().all(valid_char) => Ok(()),
        Some(_) => Err(XenstoreError::InvalidPath),
        None => validate_path(path),
    }
}

/// Checks a watch token: any string without NUL.
pub fn validate_token(token: &str) -> Result<(), XenstoreError> {
    if token.contains('\0') {
        Err(XenstoreError::InvalidPath)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for good in [
            "/",
            "/local/domain/1",
            "device/pci/0/state",
            "backend/pci/2/0/dev-0",
            "a_b-c@d",
        ] {
            assert_eq!(validate_path(good), Ok(()), "{good}");
        }
        for bad in ["", "/local/", "a//b", "a b", "a\0b", "dev/pci.0", "état"] {
            assert_eq!(
                validate_path(bad),
                Err(XenstoreError::InvalidPath),
                "{bad:?}"
            );
        }
        let long_relative = "a".repeat(2049);
        assert!(validate_path(&long_relative).is_err());
        let long_absolute = std::format!("/{}", "a".repeat(3071));
        assert!(validate_path(&long_absolute).is_ok());
        assert!(validate_path(&std::format!("{long_absolute}b")).is_err());
    }

    #[test]
    fn watch_paths_and_tokens() {
        assert_eq!(validate_watch_path("@releaseDomain"), Ok(()));
        assert_eq!(validate_watch_path("backend/pci"), Ok(()));
        assert!(validate_watch_path("@").is_err());
        assert!(validate_watch_path("@bad path").is_err());
        assert_eq!(validate_token("fe-2 state"), Ok(()));
        assert!(validate_token("a\0b").is_err());
    }
}
