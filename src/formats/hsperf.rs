//! HotSpot's performance-data file (`/tmp/hsperfdata_<user>/<pid>`): the counters `jstat` and
//! `jcmd PerfCounter.print` read, mapped by the JVM into a file so that other processes can read
//! them without attaching.
//!
//! Layout (HotSpot `perfMemory.hpp`, format version 2, JDK 1.5 to 25): a 32-byte prologue, then
//! `num_entries` entries, each a 20-byte header followed by its NUL-terminated name and its data.
//! Every integer is in the byte order the prologue names, except the magic, which is always the
//! bytes `ca fe c0 c0`. The parser borrows from the bytes (names and strings are slices of them) and
//! checks every offset against the bytes it was given: a truncated or garbage file is an error
//! naming the offset, never a panic.

use std::fmt;

/// The magic number as the file's first four bytes spell it.
pub const MAGIC: [u8; 4] = [0xca, 0xfe, 0xc0, 0xc0];
/// The prologue's size, and the smallest offset an entry can start at.
pub const PROLOGUE_LEN: usize = 32;
/// An entry header's size (before its name).
const ENTRY_HEADER_LEN: usize = 20;

/// What went wrong, and where in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsperfError {
    /// The byte offset in the file the problem was found at.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for HsperfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for HsperfError {}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, HsperfError> {
    Err(HsperfError {
        offset,
        message: message.into(),
    })
}

/// The prologue's fields, as the JVM wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prologue {
    pub big_endian: bool,
    pub major_version: u8,
    pub minor_version: u8,
    /// 0 while the JVM is still creating the file (its entries may be incomplete), 1 after.
    pub accessible: bool,
    /// Bytes of the file in use (the prologue and every entry).
    pub used: u32,
    /// Bytes of counters that did not fit (`-XX:PerfDataMemorySize` too small).
    pub overflow: u32,
    /// The JVM's tick count when an entry was last added.
    pub mod_time_stamp: i64,
    pub entry_offset: u32,
    pub num_entries: u32,
}

/// The unit a counter counts in (`PerfData::Units`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    None,
    Bytes,
    Ticks,
    Events,
    String,
    Hertz,
    Unknown(u8),
}

impl Units {
    fn from_byte(b: u8) -> Units {
        match b {
            1 => Units::None,
            2 => Units::Bytes,
            3 => Units::Ticks,
            4 => Units::Events,
            5 => Units::String,
            6 => Units::Hertz,
            other => Units::Unknown(other),
        }
    }
}

/// How a counter changes (`PerfData::Variability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variability {
    Constant,
    Monotonic,
    Variable,
    Unknown(u8),
}

impl Variability {
    fn from_byte(b: u8) -> Variability {
        match b {
            1 => Variability::Constant,
            2 => Variability::Monotonic,
            3 => Variability::Variable,
            other => Variability::Unknown(other),
        }
    }
}

/// A counter's value, borrowed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A `J` scalar.
    Long(i64),
    /// A `B` vector: a string up to its first NUL (HotSpot's string counters), as raw bytes.
    Bytes(&'a [u8]),
    /// A `J` vector (HotSpot defines them; no JDK 8-25 counter uses one): its raw bytes.
    Longs(&'a [u8]),
    /// A type this parser does not know (not `B` or `J`): the type character.
    Other(u8),
}

/// One counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Where the entry starts in the file.
    pub offset: usize,
    pub length: u32,
    pub name: &'a str,
    pub vector_length: u32,
    /// `b'J'` (jlong) or `b'B'` (jbyte), as HotSpot writes them.
    pub data_type: u8,
    /// Bit 0: the counter is "supported" (stable across releases, `jcmd PerfCounter.print` shows
    /// every counter regardless).
    pub flags: u8,
    pub units: Units,
    pub variability: Variability,
    pub data_offset: u32,
    pub value: Value<'a>,
}

impl Entry<'_> {
    /// The value as a string (string counters), lossily decoded.
    pub fn as_str(&self) -> Option<String> {
        match self.value {
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    pub fn as_long(&self) -> Option<i64> {
        match self.value {
            Value::Long(v) => Some(v),
            _ => None,
        }
    }
}

/// A parsed hsperfdata file: its prologue and every entry, borrowing from the bytes.
#[derive(Debug, Clone)]
pub struct PerfData<'a> {
    pub prologue: Prologue,
    pub entries: Vec<Entry<'a>>,
}

/// Reads integers in the file's byte order, bounds-checked.
#[derive(Clone, Copy)]
struct Reader<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn slice(&self, at: usize, len: usize, what: &str) -> Result<&'a [u8], HsperfError> {
        match at.checked_add(len) {
            Some(end) if end <= self.bytes.len() => Ok(&self.bytes[at..end]),
            _ => err(
                at,
                format!(
                    "{what} ({len} bytes) runs past the end of the file ({} bytes): truncated?",
                    self.bytes.len()
                ),
            ),
        }
    }

    fn u8(&self, at: usize, what: &str) -> Result<u8, HsperfError> {
        Ok(self.slice(at, 1, what)?[0])
    }

    fn u32(&self, at: usize, what: &str) -> Result<u32, HsperfError> {
        let b: [u8; 4] = self.slice(at, 4, what)?.try_into().expect("4 bytes");
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn i64(&self, at: usize, what: &str) -> Result<i64, HsperfError> {
        let b: [u8; 8] = self.slice(at, 8, what)?.try_into().expect("8 bytes");
        Ok(if self.big_endian {
            i64::from_be_bytes(b)
        } else {
            i64::from_le_bytes(b)
        })
    }
}

/// Reads the prologue alone (enough to tell a file being written from a complete one).
pub fn prologue(bytes: &[u8]) -> Result<Prologue, HsperfError> {
    if bytes.len() < PROLOGUE_LEN {
        return err(
            0,
            format!(
                "{} bytes: too short for the {PROLOGUE_LEN}-byte prologue of an hsperfdata file",
                bytes.len()
            ),
        );
    }
    if bytes[..4] != MAGIC {
        return err(
            0,
            format!(
                "magic {:02x}{:02x}{:02x}{:02x} is not cafec0c0: not an hsperfdata file",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        );
    }
    let big_endian = match bytes[4] {
        0 => true,
        1 => false,
        other => {
            return err(
                4,
                format!("byte order {other} is neither 0 (big) nor 1 (little)"),
            )
        }
    };
    let r = Reader { bytes, big_endian };
    let p = Prologue {
        big_endian,
        major_version: bytes[5],
        minor_version: bytes[6],
        accessible: bytes[7] != 0,
        used: r.u32(8, "used")?,
        overflow: r.u32(12, "overflow")?,
        mod_time_stamp: r.i64(16, "mod_time_stamp")?,
        entry_offset: r.u32(24, "entry_offset")?,
        num_entries: r.u32(28, "num_entries")?,
    };
    if p.major_version != 2 {
        return err(
            5,
            format!(
                "format version {}.{}: only version 2 (JDK 5 to 25) is known",
                p.major_version, p.minor_version
            ),
        );
    }
    Ok(p)
}

impl<'a> PerfData<'a> {
    /// Parses the whole file. A file whose prologue says it is not yet accessible is parsed as far
    /// as its `used` bytes go; callers should report it as being written (see [`Prologue::accessible`]).
    pub fn parse(bytes: &'a [u8]) -> Result<PerfData<'a>, HsperfError> {
        let prologue = prologue(bytes)?;
        // Entries live below `used`; a file being read while the JVM writes it may have a `used`
        // beyond what was copied, so the bytes we hold bound it too.
        let limit = (prologue.used as usize).min(bytes.len());
        let r = Reader {
            bytes: &bytes[..limit],
            big_endian: prologue.big_endian,
        };
        let mut at = prologue.entry_offset as usize;
        if at < PROLOGUE_LEN {
            return err(24, format!("entry_offset {at} lies inside the prologue"));
        }
        // Each entry takes at least its header: a count beyond what fits is garbage, not a reason
        // to reserve memory for it.
        let max_entries = limit.saturating_sub(at) / ENTRY_HEADER_LEN;
        if prologue.num_entries as usize > max_entries {
            return err(
                28,
                format!(
                    "num_entries {} cannot fit in the {limit} used bytes",
                    prologue.num_entries
                ),
            );
        }
        let mut entries = Vec::with_capacity(prologue.num_entries as usize);
        for _ in 0..prologue.num_entries {
            let e = entry(r, at)?;
            at += e.length as usize;
            entries.push(e);
        }
        Ok(PerfData { prologue, entries })
    }

    /// The entry named `name`, if the JVM has it.
    pub fn get(&self, name: &str) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// Parses the one entry starting at `at` (for reading a file's head without its rest).
pub fn entry_at<'a>(
    bytes: &'a [u8],
    prologue: &Prologue,
    at: usize,
) -> Result<Entry<'a>, HsperfError> {
    entry(
        Reader {
            bytes,
            big_endian: prologue.big_endian,
        },
        at,
    )
}

/// Parses the entry starting at `at`.
fn entry(r: Reader<'_>, at: usize) -> Result<Entry<'_>, HsperfError> {
    r.slice(at, ENTRY_HEADER_LEN, "entry header")?;
    let length = r.u32(at, "entry_length")?;
    let name_offset = r.u32(at + 4, "name_offset")?;
    let vector_length = r.u32(at + 8, "vector_length")?;
    let data_type = r.u8(at + 12, "data_type")?;
    let flags = r.u8(at + 13, "flags")?;
    let units = Units::from_byte(r.u8(at + 14, "data_units")?);
    let variability = Variability::from_byte(r.u8(at + 15, "data_variability")?);
    let data_offset = r.u32(at + 16, "data_offset")?;
    let len = length as usize;
    if len < ENTRY_HEADER_LEN {
        return err(
            at,
            format!("entry_length {length} is shorter than an entry header"),
        );
    }
    let body = r.slice(at, len, "entry")?;
    let (name_off, data_off) = (name_offset as usize, data_offset as usize);
    if name_off < ENTRY_HEADER_LEN || name_off >= len {
        return err(
            at + 4,
            format!("name_offset {name_offset} outside the entry ({length} bytes)"),
        );
    }
    let name_bytes = &body[name_off..];
    let name_len = name_bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(())
        .or_else(|_| err(at + name_off, "entry name has no terminating NUL"))?;
    let name = std::str::from_utf8(&name_bytes[..name_len])
        .or_else(|_| err(at + name_off, "entry name is not UTF-8"))?;
    let data_at = at + data_off;
    let value = match (data_type, vector_length) {
        (b'J', 0) => {
            if data_off + 8 > len {
                return err(
                    at + 16,
                    format!("data_offset {data_offset} leaves no room for a long in the entry"),
                );
            }
            Value::Long(r.i64(data_at, "long value")?)
        }
        (b'J', n) => Value::Longs(entry_data(body, at, data_off, n as usize * 8)?),
        (b'B', n) => {
            let data = entry_data(body, at, data_off, n as usize)?;
            let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
            Value::Bytes(&data[..end])
        }
        (other, _) => Value::Other(other),
    };
    Ok(Entry {
        offset: at,
        length,
        name,
        vector_length,
        data_type,
        flags,
        units,
        variability,
        data_offset,
        value,
    })
}

/// The `len` data bytes at `data_off` of the entry `body` (which starts at file offset `at`).
fn entry_data(body: &[u8], at: usize, data_off: usize, len: usize) -> Result<&[u8], HsperfError> {
    match data_off.checked_add(len) {
        Some(end) if data_off >= ENTRY_HEADER_LEN && end <= body.len() => Ok(&body[data_off..end]),
        _ => err(
            at + 16,
            format!(
                "data ({len} bytes at +{data_off}) outside the entry ({} bytes)",
                body.len()
            ),
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes an hsperfdata file as HotSpot does (for tests): `(name, value)` pairs, longs or strings.
    pub(crate) fn build(big_endian: bool, entries: &[(&str, TestValue)]) -> Vec<u8> {
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let i64b = |v: i64| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut body = Vec::new();
        for (name, value) in entries {
            let name_off = ENTRY_HEADER_LEN;
            let mut data_off = name_off + name.len() + 1;
            let (ty, vec_len, data): (u8, u32, Vec<u8>) = match value {
                TestValue::Long(v) => {
                    data_off = data_off.div_ceil(8) * 8;
                    (b'J', 0, i64b(*v).to_vec())
                }
                TestValue::Str(s) => {
                    let mut d = s.as_bytes().to_vec();
                    d.push(0);
                    (b'B', d.len() as u32, d)
                }
            };
            let len = (data_off + data.len()).div_ceil(8) * 8;
            let mut e = vec![0u8; len];
            e[0..4].copy_from_slice(&u32b(len as u32));
            e[4..8].copy_from_slice(&u32b(name_off as u32));
            e[8..12].copy_from_slice(&u32b(vec_len));
            e[12] = ty;
            e[13] = 1;
            e[14] = if ty == b'B' { 5 } else { 4 };
            e[15] = 3;
            e[16..20].copy_from_slice(&u32b(data_off as u32));
            e[name_off..name_off + name.len()].copy_from_slice(name.as_bytes());
            e[data_off..data_off + data.len()].copy_from_slice(&data);
            body.extend(e);
        }
        let mut f = MAGIC.to_vec();
        f.extend([u8::from(!big_endian), 2, 0, 1]);
        f.extend(u32b((PROLOGUE_LEN + body.len()) as u32));
        f.extend(u32b(0));
        f.extend(i64b(12345));
        f.extend(u32b(PROLOGUE_LEN as u32));
        f.extend(u32b(entries.len() as u32));
        f.extend(body);
        f
    }

    pub(crate) enum TestValue {
        Long(i64),
        Str(&'static str),
    }

    fn sample() -> Vec<(&'static str, TestValue)> {
        vec![
            ("java.cls.loadedClasses", TestValue::Long(2419)),
            ("sun.rt.javaCommand", TestValue::Str("com.example.Main arg")),
            ("sun.os.hrt.ticks", TestValue::Long(-5)),
        ]
    }

    #[test]
    fn reads_both_byte_orders() {
        for big in [false, true] {
            let bytes = build(big, &sample());
            let p = PerfData::parse(&bytes).unwrap();
            assert_eq!(p.prologue.big_endian, big);
            assert_eq!(p.prologue.num_entries, 3);
            assert_eq!(p.prologue.mod_time_stamp, 12345);
            assert!(p.prologue.accessible);
            assert_eq!(
                p.get("java.cls.loadedClasses").unwrap().as_long(),
                Some(2419)
            );
            assert_eq!(
                p.get("sun.rt.javaCommand").unwrap().as_str().as_deref(),
                Some("com.example.Main arg")
            );
            assert_eq!(p.get("sun.os.hrt.ticks").unwrap().as_long(), Some(-5));
            assert_eq!(p.get("sun.rt.javaCommand").unwrap().units, Units::String);
            assert!(p.get("absent").is_none());
        }
    }

    #[test]
    fn names_the_offset_of_bad_input() {
        let e = PerfData::parse(b"not a perf file at all, no; not at all").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.to_string().contains("not cafec0c0"), "{e}");
        let mut bytes = build(false, &sample());
        bytes[4] = 7;
        assert_eq!(PerfData::parse(&bytes).unwrap_err().offset, 4);
        let mut bytes = build(false, &sample());
        bytes[5] = 1;
        assert!(PerfData::parse(&bytes)
            .unwrap_err()
            .to_string()
            .contains("version 1.0"));
        // The second entry's length pointing past the end of the file.
        let mut bytes = build(false, &sample());
        let second = PROLOGUE_LEN + u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
        bytes[second..second + 4].copy_from_slice(&5000u32.to_le_bytes());
        let e = PerfData::parse(&bytes).unwrap_err();
        assert_eq!(e.offset, second, "{e}");
    }

    #[test]
    fn a_file_being_written_says_so() {
        let mut bytes = build(true, &sample());
        bytes[7] = 0;
        let p = PerfData::parse(&bytes).unwrap();
        assert!(!p.prologue.accessible);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = build(false, &sample());
        for n in 0..bytes.len() {
            let r = PerfData::parse(&bytes[..n]);
            assert!(r.is_err(), "{n} bytes parsed");
        }
    }

    /// The shared sample's hex head (xxd of a real JDK 17 file) read as the decoder beside it did.
    #[test]
    fn reads_the_real_jdk17_head_as_decoded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples");
        let (Ok(hex), Ok(decoded)) = (
            std::fs::read_to_string(dir.join("jdk17-hsperfdata-head.hex")),
            std::fs::read_to_string(dir.join("jdk17-hsperfdata-decoded.txt")),
        ) else {
            eprintln!("skipped: ../shared/samples/jdk17-hsperfdata-* not here");
            return;
        };
        let bytes = from_xxd(&hex);
        let p = prologue(&bytes).unwrap();
        let header = decoded.lines().next().unwrap();
        let field = |k: &str| {
            header
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("{k} in {header}"))
                .to_string()
        };
        assert_eq!(p.big_endian, field("byte_order") == "0");
        assert_eq!(
            format!("{}.{}", p.major_version, p.minor_version),
            field("version")
        );
        assert_eq!(p.accessible, field("accessible") == "1");
        assert_eq!(p.used.to_string(), field("used"));
        assert_eq!(p.overflow.to_string(), field("overflow"));
        assert_eq!(p.mod_time_stamp.to_string(), field("mod_time_stamp"));
        assert_eq!(p.entry_offset.to_string(), field("entry_offset"));
        assert_eq!(p.num_entries.to_string(), field("num_entries"));
        // The first entry line: "32 56 20 0 J 0 Events Monotonic 48 | name = value".
        let line = decoded.lines().find(|l| !l.starts_with('#')).unwrap();
        let (cols, nv) = line.split_once('|').unwrap();
        let cols: Vec<&str> = cols.split_whitespace().collect();
        let e = entry_at(&bytes, &p, p.entry_offset as usize).unwrap();
        assert_eq!(e.offset.to_string(), cols[0]);
        assert_eq!(e.length.to_string(), cols[1]);
        assert_eq!(e.vector_length.to_string(), cols[3]);
        assert_eq!((e.data_type as char).to_string(), cols[4]);
        assert_eq!(e.flags.to_string(), cols[5]);
        assert_eq!(format!("{:?}", e.units), cols[6]);
        assert_eq!(format!("{:?}", e.variability), cols[7]);
        assert_eq!(e.data_offset.to_string(), cols[8]);
        let (name, value) = nv.trim().split_once(" = ").unwrap();
        assert_eq!(e.name, name);
        assert_eq!(e.as_long().unwrap().to_string(), value);
    }

    /// Bytes from `xxd` output ("00000000: cafe c0c0 ...  ascii").
    fn from_xxd(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for line in text.lines() {
            let Some((_, rest)) = line.split_once(": ") else {
                continue;
            };
            let hex: String = rest
                .split("  ")
                .next()
                .unwrap()
                .split_whitespace()
                .collect();
            for i in (0..hex.len()).step_by(2) {
                out.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(mut bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
                                keep_magic in proptest::bool::ANY) {
            if keep_magic && bytes.len() >= 8 {
                bytes[..4].copy_from_slice(&MAGIC);
                bytes[4] = 1;
                bytes[5] = 2;
            }
            let _ = PerfData::parse(&bytes);
        }

        #[test]
        fn corrupting_a_valid_file_never_panics(at in 0usize..400, byte in proptest::num::u8::ANY) {
            let mut bytes = build(false, &sample());
            let at = at % bytes.len();
            bytes[at] = byte;
            let _ = PerfData::parse(&bytes);
        }
    }
}
