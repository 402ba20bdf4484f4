// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/io/xs_wire.h`: XenStore messages and the ring page.
//!
//! Mirrors the Xen 4.17.5 header. 4.17 ends the message types at
//! `XS_DIRECTORY_PART` (22) and the ring page at `error` (2076 bytes); newer
//! headers add `XS_GET_FEATURE`..`XS_SET_QUOTA` (23..26) and `evtchn_port`.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, AtomicU32};

use crate::abi::errno::Errno;

/// `enum xsd_sockmsg_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XsdSockmsgType {
    /// 0 `XS_CONTROL` (alias `XS_DEBUG`).
    Control = 0,
    /// 1 `XS_DIRECTORY`.
    Directory = 1,
    /// 2 `XS_READ`.
    Read = 2,
    /// 3 `XS_GET_PERMS`.
    GetPerms = 3,
    /// 4 `XS_WATCH`.
    Watch = 4,
    /// 5 `XS_UNWATCH`.
    Unwatch = 5,
    /// 6 `XS_TRANSACTION_START`.
    TransactionStart = 6,
    /// 7 `XS_TRANSACTION_END`.
    TransactionEnd = 7,
    /// 8 `XS_INTRODUCE`.
    Introduce = 8,
    /// 9 `XS_RELEASE`.
    Release = 9,
    /// 10 `XS_GET_DOMAIN_PATH`.
    GetDomainPath = 10,
    /// 11 `XS_WRITE`.
    Write = 11,
    /// 12 `XS_MKDIR`.
    Mkdir = 12,
    /// 13 `XS_RM`.
    Rm = 13,
    /// 14 `XS_SET_PERMS`.
    SetPerms = 14,
    /// 15 `XS_WATCH_EVENT`: asynchronous, `path\0token\0`.
    WatchEvent = 15,
    /// 16 `XS_ERROR`: the payload is an errno name.
    Error = 16,
    /// 17 `XS_IS_DOMAIN_INTRODUCED`.
    IsDomainIntroduced = 17,
    /// 18 `XS_RESUME`.
    Resume = 18,
    /// 19 `XS_SET_TARGET`.
    SetTarget = 19,
    /// 21 `XS_RESET_WATCHES` (20 was `XS_RESTRICT`, removed).
    ResetWatches = 21,
    /// 22 `XS_DIRECTORY_PART`.
    DirectoryPart = 22,
}

/// `XS_TYPE_COUNT` in Xen 4.17.
pub const XS_TYPE_COUNT: u32 = 23;
/// `XS_INVALID`: guaranteed never to be a valid type.
pub const XS_INVALID: u32 = 0xffff;

impl XsdSockmsgType {
    /// The type numbered `raw`, if Xen 4.17 defines it.
    pub fn from_raw(raw: u32) -> Option<Self> {
        use XsdSockmsgType::*;
        Some(match raw {
            0 => Control,
            1 => Directory,
            2 => Read,
            3 => GetPerms,
            4 => Watch,
            5 => Unwatch,
            6 => TransactionStart,
            7 => TransactionEnd,
            8 => Introduce,
            9 => Release,
            10 => GetDomainPath,
            11 => Write,
            12 => Mkdir,
            13 => Rm,
            14 => SetPerms,
            15 => WatchEvent,
            16 => Error,
            17 => IsDomainIntroduced,
            18 => Resume,
            19 => SetTarget,
            21 => ResetWatches,
            22 => DirectoryPart,
            _ => return None,
        })
    }
}

/// `xsd_errors[]`: the errno names xenstored sends, in the header's order.
pub const XSD_ERRORS: [Errno; 16] = [
    Errno::EINVAL,
    Errno::EACCES,
    Errno::EEXIST,
    Errno::EISDIR,
    Errno::ENOENT,
    Errno::ENOMEM,
    Errno::ENOSPC,
    Errno::EIO,
    Errno::ENOTEMPTY,
    Errno::ENOSYS,
    Errno::EROFS,
    Errno::EBUSY,
    Errno::EAGAIN,
    Errno::EISCONN,
    Errno::E2BIG,
    Errno::EPERM,
];

/// `struct xsd_sockmsg`: the 16-byte header in front of every message.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XsdSockmsg {
    /// `XS_*` type.
    pub type_: u32,
    /// Request id, echoed in the reply.
    pub req_id: u32,
    /// Transaction id, 0 for none.
    pub tx_id: u32,
    /// Payload bytes that follow.
    pub len: u32,
}
const _: () = assert!(size_of::<XsdSockmsg>() == 16);
const _: () = assert!(core::mem::offset_of!(XsdSockmsg, req_id) == 4);
const _: () = assert!(core::mem::offset_of!(XsdSockmsg, tx_id) == 8);
const _: () = assert!(core::mem::offset_of!(XsdSockmsg, len) == 12);

/// `XENSTORE_RING_SIZE`: bytes in each direction's ring.
pub const XENSTORE_RING_SIZE: usize = 1024;
/// `XENSTORE_PAYLOAD_MAX`: most payload bytes of one message, both directions.
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// `XENSTORE_ABS_PATH_MAX`.
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// `XENSTORE_REL_PATH_MAX`.
pub const XENSTORE_REL_PATH_MAX: usize = 2048;

/// `XENSTORE_SERVER_FEATURE_RECONNECTION`.
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// `XENSTORE_SERVER_FEATURE_ERROR`.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;
/// `XENSTORE_CONNECTED`.
pub const XENSTORE_CONNECTED: u32 = 0;
/// `XENSTORE_RECONNECT`.
pub const XENSTORE_RECONNECT: u32 = 1;
/// `XENSTORE_ERROR_NONE`.
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// `XENSTORE_ERROR_COMM`.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// `XENSTORE_ERROR_RINGIDX`.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// `XENSTORE_ERROR_PROTO`.
pub const XENSTORE_ERROR_PROTO: u32 = 3;

/// `struct xenstore_domain_interface` (2076 bytes in Xen 4.17).
///
/// The guest produces `req` and consumes `rsp`; xenstored (in another
/// domain) writes `rsp`, `req_cons`, `rsp_prod` and the status words at any
/// time, so every field is atomic.
#[repr(C)]
#[derive(Debug)]
pub struct XenstoreDomainInterface {
    /// Requests to xenstored. Written by the guest.
    pub req: [AtomicU8; XENSTORE_RING_SIZE],
    /// Replies and watch events. Written by xenstored.
    pub rsp: [AtomicU8; XENSTORE_RING_SIZE],
    /// Request consumer index. Written by xenstored.
    pub req_cons: AtomicU32,
    /// Request producer index. Written by the guest.
    pub req_prod: AtomicU32,
    /// Response consumer index. Written by the guest.
    pub rsp_cons: AtomicU32,
    /// Response producer index. Written by xenstored.
    pub rsp_prod: AtomicU32,
    /// `XENSTORE_SERVER_FEATURE_*`. Written by xenstored.
    pub server_features: AtomicU32,
    /// `XENSTORE_CONNECTED` / `XENSTORE_RECONNECT`. Written by both.
    pub connection: AtomicU32,
    /// `XENSTORE_ERROR_*`. Written by xenstored.
    pub error: AtomicU32,
}
const _: () = assert!(size_of::<XenstoreDomainInterface>() == 2076);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, rsp) == 1024);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, req_cons) == 2048);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, req_prod) == 2052);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, rsp_cons) == 2056);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, rsp_prod) == 2060);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, server_features) == 2064);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, connection) == 2068);
const _: () = assert!(core::mem::offset_of!(XenstoreDomainInterface, error) == 2072);

impl Default for XenstoreDomainInterface {
    /// All zero, as the toolstack hands out the page.
    fn default() -> Self {
        Self {
            req: core::array::from_fn(|_| AtomicU8::new(0)),
            rsp: core::array::from_fn(|_| AtomicU8::new(0)),
            req_cons: AtomicU32::new(0),
            req_prod: AtomicU32::new(0),
            rsp_cons: AtomicU32::new(0),
            rsp_prod: AtomicU32::new(0),
            server_features: AtomicU32::new(0),
            connection: AtomicU32::new(0),
            error: AtomicU32::new(0),
        }
    }
}

impl XenstoreDomainInterface {
    /// The XenStore ring in the page at `page` (from `HVM_PARAM_STORE_PFN`).
    ///
    /// # Safety
    ///
    /// `page` must point to the 4 KiB-aligned XenStore ring page, mapped
    /// readable and writable for `'a`, and the guest must access that page
    /// only through the returned reference.
    pub unsafe fn from_page<'a>(page: NonNull<u8>) -> &'a XenstoreDomainInterface {
        // SAFETY: the caller guarantees the mapping for 'a; every field is an
        // atomic, so xenstored's concurrent writes are sound, and page
        // alignment covers the atomics' 4-byte alignment.
        unsafe { page.cast::<XenstoreDomainInterface>().as_ref() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_numbers_match_header() {
        assert_eq!(XsdSockmsgType::Read as u32, 2);
        assert_eq!(XsdSockmsgType::Write as u32, 11);
        assert_eq!(XsdSockmsgType::WatchEvent as u32, 15);
        assert_eq!(XsdSockmsgType::Error as u32, 16);
        assert_eq!(XsdSockmsgType::ResetWatches as u32, 21);
        for raw in 0..XS_TYPE_COUNT {
            match XsdSockmsgType::from_raw(raw) {
                Some(t) => assert_eq!(t as u32, raw),
                None => assert_eq!(raw, 20, "only XS_RESTRICT's 20 is a hole"),
            }
        }
        assert_eq!(XsdSockmsgType::from_raw(XS_TYPE_COUNT), None);
        assert_eq!(XsdSockmsgType::from_raw(XS_INVALID), None);
    }

    #[test]
    fn error_table_is_the_headers() {
        let names: [&str; 16] = XSD_ERRORS.map(Errno::name);
        assert_eq!(
            names,
            [
                "EINVAL",
                "EACCES",
                "EEXIST",
                "EISDIR",
                "ENOENT",
                "ENOMEM",
                "ENOSPC",
                "EIO",
                "ENOTEMPTY",
                "ENOSYS",
                "EROFS",
                "EBUSY",
                "EAGAIN",
                "EISCONN",
                "E2BIG",
                "EPERM"
            ]
        );
    }
}
