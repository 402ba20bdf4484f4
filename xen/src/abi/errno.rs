// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xen/include/public/errno.h`: Xen's error numbers as a typed [`Errno`].
//!
//! Hypercalls return these negated. XenStore sends the same names as strings
//! in `XS_ERROR` replies, so [`Errno::from_name`] parses those too.

use core::fmt;

/// A Xen error number (`XEN_E*`), as a hypercall returns it negated or
/// XenStore names it in an error reply.
#[allow(
    clippy::upper_case_acronyms,
    reason = "the errno names are the ABI's own names"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    /// 1: operation not permitted.
    EPERM,
    /// 2: no such file or directory.
    ENOENT,
    /// 3: no such process (or domain).
    ESRCH,
    /// 4: interrupted system call.
    EINTR,
    /// 5: I/O error.
    EIO,
    /// 6: no such device or address.
    ENXIO,
    /// 7: argument list too long.
    E2BIG,
    /// 8: exec format error.
    ENOEXEC,
    /// 9: bad file number.
    EBADF,
    /// 10: no child processes.
    ECHILD,
    /// 11: try again (`EWOULDBLOCK` is the same number).
    EAGAIN,
    /// 12: out of memory.
    ENOMEM,
    /// 13: permission denied.
    EACCES,
    /// 14: bad address.
    EFAULT,
    /// 16: device or resource busy.
    EBUSY,
    /// 17: file exists.
    EEXIST,
    /// 18: cross-device link.
    EXDEV,
    /// 19: no such device.
    ENODEV,
    /// 20: not a directory.
    ENOTDIR,
    /// 21: is a directory.
    EISDIR,
    /// 22: invalid argument.
    EINVAL,
    /// 23: file table overflow.
    ENFILE,
    /// 24: too many open files.
    EMFILE,
    /// 28: no space left on device.
    ENOSPC,
    /// 30: read-only file system.
    EROFS,
    /// 31: too many links.
    EMLINK,
    /// 33: math argument out of domain.
    EDOM,
    /// 34: math result not representable.
    ERANGE,
    /// 35: resource deadlock would occur (`EDEADLOCK` is the same number).
    EDEADLK,
    /// 36: file name too long.
    ENAMETOOLONG,
    /// 37: no record locks available.
    ENOLCK,
    /// 38: function not implemented.
    ENOSYS,
    /// 39: directory not empty.
    ENOTEMPTY,
    /// 61: no data available.
    ENODATA,
    /// 62: timer expired.
    ETIME,
    /// 74: not a data message.
    EBADMSG,
    /// 75: value too large for defined data type.
    EOVERFLOW,
    /// 84: illegal byte sequence.
    EILSEQ,
    /// 85: interrupted system call should be restarted.
    ERESTART,
    /// 88: socket operation on non-socket.
    ENOTSOCK,
    /// 90: message too large.
    EMSGSIZE,
    /// 95: operation not supported.
    EOPNOTSUPP,
    /// 98: address already in use.
    EADDRINUSE,
    /// 99: cannot assign requested address.
    EADDRNOTAVAIL,
    /// 105: no buffer space available.
    ENOBUFS,
    /// 106: transport endpoint is already connected.
    EISCONN,
    /// 107: transport endpoint is not connected.
    ENOTCONN,
    /// 110: connection timed out.
    ETIMEDOUT,
    /// 111: connection refused.
    ECONNREFUSED,
    /// A number `errno.h` does not define.
    Other(u32),
}

/// One row of `errno.h`: the variant, its number, its name, its meaning.
struct Entry(Errno, u32, &'static str, &'static str);

/// `errno.h` in order. The single source of numbers, names and messages.
const TABLE: &[Entry] = &[
    Entry(Errno::EPERM, 1, "EPERM", "operation not permitted"),
    Entry(Errno::ENOENT, 2, "ENOENT", "no such file or directory"),
    Entry(Errno::ESRCH, 3, "ESRCH", "no such process"),
    Entry(Errno::EINTR, 4, "EINTR", "interrupted system call"),
    Entry(Errno::EIO, 5, "EIO", "I/O error"),
    Entry(Errno::ENXIO, 6, "ENXIO", "no such device or address"),
    Entry(Errno::E2BIG, 7, "E2BIG", "argument list too long"),
    Entry(Errno::ENOEXEC, 8, "ENOEXEC", "exec format error"),
    Entry(Errno::EBADF, 9, "EBADF", "bad file number"),
    Entry(Errno::ECHILD, 10, "ECHILD", "no child processes"),
    Entry(Errno::EAGAIN, 11, "EAGAIN", "try again"),
    Entry(Errno::ENOMEM, 12, "ENOMEM", "out of memory"),
    Entry(Errno::EACCES, 13, "EACCES", "permission denied"),
    Entry(Errno::EFAULT, 14, "EFAULT", "bad address"),
    Entry(Errno::EBUSY, 16, "EBUSY", "device or resource busy"),
    Entry(Errno::EEXIST, 17, "EEXIST", "file exists"),
    Entry(Errno::EXDEV, 18, "EXDEV", "cross-device link"),
    Entry(Errno::ENODEV, 19, "ENODEV", "no such device"),
    Entry(Errno::ENOTDIR, 20, "ENOTDIR", "not a directory"),
    Entry(Errno::EISDIR, 21, "EISDIR", "is a directory"),
    Entry(Errno::EINVAL, 22, "EINVAL", "invalid argument"),
    Entry(Errno::ENFILE, 23, "ENFILE", "file table overflow"),
    Entry(Errno::EMFILE, 24, "EMFILE", "too many open files"),
    Entry(Errno::ENOSPC, 28, "ENOSPC", "no space left on device"),
    Entry(Errno::EROFS, 30, "EROFS", "read-only file system"),
    Entry(Errno::EMLINK, 31, "EMLINK", "too many links"),
    Entry(
        Errno::EDOM,
        33,
        "EDOM",
        "math argument out of domain of function",
    ),
    Entry(Errno::ERANGE, 34, "ERANGE", "math result not representable"),
    Entry(
        Errno::EDEADLK,
        35,
        "EDEADLK",
        "resource deadlock would occur",
    ),
    Entry(
        Errno::ENAMETOOLONG,
        36,
        "ENAMETOOLONG",
        "file name too long",
    ),
    Entry(Errno::ENOLCK, 37, "ENOLCK", "no record locks available"),
    Entry(Errno::ENOSYS, 38, "ENOSYS", "function not implemented"),
    Entry(Errno::ENOTEMPTY, 39, "ENOTEMPTY", "directory not empty"),
    Entry(Errno::ENODATA, 61, "ENODATA", "no data available"),
    Entry(Errno::ETIME, 62, "ETIME", "timer expired"),
    Entry(Errno::EBADMSG, 74, "EBADMSG", "not a data message"),
    Entry(
        Errno::EOVERFLOW,
        75,
        "EOVERFLOW",
        "value too large for defined data type",
    ),
    Entry(Errno::EILSEQ, 84, "EILSEQ", "illegal byte sequence"),
    Entry(
        Errno::ERESTART,
        85,
        "ERESTART",
        "interrupted system call should be restarted",
    ),
    Entry(
        Errno::ENOTSOCK,
        88,
        "ENOTSOCK",
        "socket operation on non-socket",
    ),
    Entry(Errno::EMSGSIZE, 90, "EMSGSIZE", "message too large"),
    Entry(
        Errno::EOPNOTSUPP,
        95,
        "EOPNOTSUPP",
        "operation not supported",
    ),
    Entry(
        Errno::EADDRINUSE,
        98,
        "EADDRINUSE",
        "address already in use",
    ),
    Entry(
        Errno::EADDRNOTAVAIL,
        99,
        "EADDRNOTAVAIL",
        "cannot assign requested address",
    ),
    Entry(Errno::ENOBUFS, 105, "ENOBUFS", "no buffer space available"),
    Entry(
        Errno::EISCONN,
        106,
        "EISCONN",
        "transport endpoint is already connected",
    ),
    Entry(
        Errno::ENOTCONN,
        107,
        "ENOTCONN",
        "transport endpoint is not connected",
    ),
    Entry(Errno::ETIMEDOUT, 110, "ETIMEDOUT", "connection timed out"),
    Entry(
        Errno::ECONNREFUSED,
        111,
        "ECONNREFUSED",
        "connection refused",
    ),
];

impl Errno {
    fn entry(self) -> Option<&'static Entry> {
        TABLE.iter().find(|e| e.0 == self)
    }

    /// The error with positive number `code`.
    pub fn from_code(code: u32) -> Self {
        TABLE
            .iter()
            .find(|e| e.1 == code)
            .map_or(Self::Other(code), |e| e.0)
    }

    /// The error XenStore names `name` (`"EINVAL"`, ...), if `errno.h` has it.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        TABLE.iter().find(|e| e.2.as_bytes() == name).map(|e| e.0)
    }

    /// The positive error number.
    pub fn code(self) -> u32 {
        match self {
            Self::Other(code) => code,
            known => known.entry().map_or(0, |e| e.1),
        }
    }

    /// The `errno.h` name (`"EINVAL"`), or `"E?"` for [`Errno::Other`].
    pub fn name(self) -> &'static str {
        self.entry().map_or("E?", |e| e.2)
    }

    /// Splits a raw hypercall return value: non-negative is success, negative
    /// is a negated error number.
    pub fn check(ret: i64) -> Result<u64, Errno> {
        match u64::try_from(ret) {
            Ok(value) => Ok(value),
            Err(_) => Err(Self::from_code(
                u32::try_from(ret.unsigned_abs()).unwrap_or(u32::MAX),
            )),
        }
    }

    /// The raw value a hypercall returns for this error (the negated number).
    pub fn to_return_value(self) -> i64 {
        // A u32 fits in an i64, and so does its negation.
        i64::from(self.code()).saturating_neg()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry() {
            Some(Entry(_, code, name, text)) => write!(f, "{name} ({code}): {text}"),
            None => write!(f, "unknown Xen error {}", self.code()),
        }
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_errno_h() {
        // Spot checks against xen/include/public/errno.h.
        assert_eq!(Errno::EPERM.code(), 1);
        assert_eq!(Errno::EAGAIN.code(), 11);
        assert_eq!(Errno::EACCES.code(), 13);
        assert_eq!(Errno::EINVAL.code(), 22);
        assert_eq!(Errno::ENOSYS.code(), 38);
        assert_eq!(Errno::ENOTEMPTY.code(), 39);
        assert_eq!(Errno::EOPNOTSUPP.code(), 95);
        assert_eq!(Errno::EISCONN.code(), 106);
        assert_eq!(Errno::ECONNREFUSED.code(), 111);
        assert_eq!(TABLE.len(), 49, "errno.h defines 49 distinct numbers");
    }

    #[test]
    fn table_has_no_duplicates() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in TABLE.iter().skip(i + 1) {
                assert_ne!(a.1, b.1, "{} and {} share a number", a.2, b.2);
                assert_ne!(a.0, b.0);
            }
            assert_eq!(Errno::from_code(a.1), a.0);
            assert_eq!(Errno::from_name(a.2.as_bytes()), Some(a.0));
            assert_eq!(a.0.name(), a.2);
        }
    }

    #[test]
    fn hypercall_return_values() {
        assert_eq!(Errno::check(0), Ok(0));
        assert_eq!(Errno::check(0x4_0011), Ok(0x4_0011));
        assert_eq!(Errno::check(-38), Err(Errno::ENOSYS));
        // -EOPNOTSUPP as seen from an unpatched assign: rc=0xffffffa1.
        assert_eq!(
            Errno::check(i64::from(0xffff_ffa1_u32 as i32)),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(Errno::check(-1000), Err(Errno::Other(1000)));
        assert_eq!(Errno::check(i64::MIN), Err(Errno::Other(u32::MAX)));
        assert_eq!(Errno::EFAULT.to_return_value(), -14);
    }

    #[test]
    fn xenstore_names() {
        assert_eq!(Errno::from_name(b"EAGAIN"), Some(Errno::EAGAIN));
        assert_eq!(Errno::from_name(b"E2BIG"), Some(Errno::E2BIG));
        assert_eq!(Errno::from_name(b"EWHATEVER"), None);
        assert_eq!(Errno::from_name(b"einval"), None);
    }

    #[test]
    fn display() {
        assert_eq!(
            Errno::EBUSY.to_string(),
            "EBUSY (16): device or resource busy"
        );
        assert_eq!(Errno::Other(200).to_string(), "unknown Xen error 200");
    }
}
