//! Errors of the HPROF reader. Each variant carries the evidence (byte offset, record tag, what
//! was expected) so that a message can point at the exact byte; the file name is added by
//! [`crate::formats::hprof::DumpError`], one level up, where it is known.

use super::raw::{SubTag, Tag};
use std::fmt;

/// Where in the record structure a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Header,
    Record(Tag),
    SubRecord(SubTag),
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Header => write!(f, "file header"),
            Context::Record(t) => write!(f, "record tag {t}"),
            Context::SubRecord(t) => write!(f, "heap dump sub-record tag {t}"),
        }
    }
}

/// A parse error: small and `Copy` so the record loops stay cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HprofError {
    /// The file does not start with `JAVA PROFILE 1.0.x`.
    #[error("not an HPROF heap dump: the file does not start with \"JAVA PROFILE 1.0.\" (found {found})")]
    NotHprof { found: Found },
    /// The data ends before a structure that was started is complete.
    #[error("truncated at byte {offset}: {context} needs {needed} more byte(s) for {expected}")]
    Truncated {
        offset: u64,
        context: Context,
        expected: &'static str,
        needed: u64,
    },
    /// A byte that should be a tag or type code is not one.
    #[error("corrupt at byte {offset}: {context}: expected {expected}, found byte 0x{found:02X}")]
    Corrupt {
        offset: u64,
        context: Context,
        expected: &'static str,
        found: u8,
    },
    /// A length field that cannot be right (e.g. a sub-record running past its record).
    #[error("corrupt at byte {offset}: {context}: {what}")]
    BadLength {
        offset: u64,
        context: Context,
        what: &'static str,
    },
    /// The identifier size in the header is not 4 or 8.
    #[error("unsupported identifier size {size} at byte {offset} (HPROF uses 4 or 8)")]
    UnsupportedIdSize { offset: u64, size: u32 },
    /// `--dump N` names a heap dump the file does not hold.
    #[error("there is no heap dump {asked} in the file: it holds {dumps} (choose one of 1 to {dumps} with --dump N)")]
    NoSuchDump { asked: u32, dumps: u32 },
}

impl HprofError {
    /// The byte offset the error points at.
    pub fn offset(&self) -> u64 {
        match *self {
            HprofError::NotHprof { .. } | HprofError::NoSuchDump { .. } => 0,
            HprofError::Truncated { offset, .. }
            | HprofError::Corrupt { offset, .. }
            | HprofError::BadLength { offset, .. }
            | HprofError::UnsupportedIdSize { offset, .. } => offset,
        }
    }

    pub fn is_truncation(&self) -> bool {
        matches!(self, HprofError::Truncated { .. })
    }
}

/// The first bytes of a file that is not HPROF, shown printable, kept `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    bytes: [u8; 12],
    len: u8,
}

impl Found {
    pub fn new(data: &[u8]) -> Found {
        let mut bytes = [0u8; 12];
        let len = data.len().min(12);
        bytes[..len].copy_from_slice(&data[..len]);
        Found {
            bytes,
            len: len as u8,
        }
    }
}

/// IBM's Portable Heap Dump starts with a 2-byte length and "portable heap dump".
pub fn is_phd_start(b: &[u8]) -> bool {
    b.len() >= 12 && &b[2..12] == b"portable h"
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.bytes[..self.len as usize];
        if b.is_empty() {
            return write!(f, "an empty file");
        }
        if b.starts_with(&[0x1f, 0x8b]) {
            return write!(f, "gzip data");
        }
        if b.starts_with(b"PK\x03\x04") {
            return write!(f, "a zip archive");
        }
        if is_phd_start(b) {
            return write!(f, "an IBM Portable Heap Dump (PHD), which oomsleuth does not read: open it with IBM's tools (Eclipse MAT with IBM DTFJ), or on HotSpot take an HPROF dump with `jcmd <pid> GC.heap_dump FILE`");
        }
        if b.starts_with(b"\x7fELF") {
            return write!(f, "an ELF file (a core dump? try `oomsleuth scan`)");
        }
        write!(f, "\"")?;
        for &c in b {
            if c.is_ascii_graphic() || c == b' ' {
                write!(f, "{}", c as char)?;
            } else {
                write!(f, "\\x{c:02x}")?;
            }
        }
        write!(f, "\"")
    }
}
