//! ELF core files (`gcore`, kernel core dumps): the `PT_LOAD` segments, i.e. the process's memory.
//! 64-bit little-endian only (x86-64, aarch64), which is what HotSpot runs on; anything else is an error
//! that says so.

use std::fmt;

/// One `PT_LOAD` segment: where it was in the process and where its bytes are in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub file_offset: u64,
    /// Bytes present in the file (0 for segments the kernel did not dump).
    pub file_size: u64,
    pub mem_size: u64,
    /// `PF_X` 1, `PF_W` 2, `PF_R` 4.
    pub flags: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Error {}

const PT_LOAD: u32 = 1;
const ET_CORE: u16 = 4;

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The `PT_LOAD` segments of an ELF64 LE core file, in file order.
pub fn load_segments(b: &[u8]) -> Result<Vec<Segment>, Error> {
    if b.get(..4) != Some(b"\x7fELF") {
        return Err(Error(
            "not an ELF file (no \\x7fELF magic): give a core file written by gcore or the kernel"
                .into(),
        ));
    }
    if b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        return Err(Error(
            "only 64-bit little-endian ELF core files are supported".into(),
        ));
    }
    let e_type = u16le(b, 16).ok_or_else(|| Error("truncated ELF header".into()))?;
    if e_type != ET_CORE {
        return Err(Error(format!(
            "ELF type {e_type} is not a core file (4): this looks like a program or library"
        )));
    }
    let phoff = u64le(b, 32).ok_or_else(|| Error("truncated ELF header".into()))?;
    let phentsize = u16le(b, 54).ok_or_else(|| Error("truncated ELF header".into()))? as u64;
    let phnum = u16le(b, 56).ok_or_else(|| Error("truncated ELF header".into()))? as u64;
    if phentsize < 56 {
        return Err(Error(format!(
            "program header entries of {phentsize} bytes (expected 56)"
        )));
    }
    let mut out = Vec::new();
    for i in 0..phnum {
        let at = phoff
            .checked_add(i * phentsize)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| Error(format!("program header {i} is out of range")))?;
        let hdr = || -> Option<Segment> {
            // The whole entry first: `at` may be near usize::MAX (a corrupt e_phoff).
            let b = b.get(at..at.checked_add(56)?)?;
            let at = 0;
            let p_type = u32le(b, at)?;
            if p_type != PT_LOAD {
                return Some(Segment {
                    vaddr: 0,
                    file_offset: 0,
                    file_size: 0,
                    mem_size: 0,
                    flags: u32::MAX,
                });
            }
            Some(Segment {
                flags: u32le(b, at + 4)?,
                file_offset: u64le(b, at + 8)?,
                vaddr: u64le(b, at + 16)?,
                file_size: u64le(b, at + 32)?,
                mem_size: u64le(b, at + 40)?,
            })
        };
        let s = hdr().ok_or_else(|| {
            Error(format!(
                "program header {i} at offset {at} is truncated: the core file is incomplete"
            ))
        })?;
        if s.flags != u32::MAX {
            out.push(s);
        }
    }
    Ok(out)
}

/// The bytes of a segment that are in the file (clamped to the file: a truncated core gives what it has).
pub fn segment_bytes<'a>(b: &'a [u8], s: &Segment) -> &'a [u8] {
    let start = usize::try_from(s.file_offset)
        .unwrap_or(usize::MAX)
        .min(b.len());
    let end = usize::try_from(s.file_offset.saturating_add(s.file_size))
        .unwrap_or(usize::MAX)
        .min(b.len());
    b.get(start..end).unwrap_or(&[])
}

/// A test helper: an ELF64 LE core file holding `segments` (vaddr, bytes) as PT_LOAD segments.
pub fn write_core(segments: &[(u64, &[u8])]) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
    b[18..20].copy_from_slice(&62u16.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[52..54].copy_from_slice(&64u16.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    let mut data_off = 64 + 56 * segments.len() as u64;
    let mut headers = Vec::new();
    for (vaddr, bytes) in segments {
        let mut h = vec![0u8; 56];
        h[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        h[4..8].copy_from_slice(&6u32.to_le_bytes());
        h[8..16].copy_from_slice(&data_off.to_le_bytes());
        h[16..24].copy_from_slice(&vaddr.to_le_bytes());
        h[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        h[40..48].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        headers.extend_from_slice(&h);
        data_off += bytes.len() as u64;
    }
    b.extend_from_slice(&headers);
    for (_, bytes) in segments {
        b.extend_from_slice(bytes);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let core = write_core(&[(0x1000, b"abc"), (0x7f00_0000_0000, b"hello")]);
        let segs = load_segments(&core).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[1].vaddr, 0x7f00_0000_0000);
        assert_eq!(segment_bytes(&core, &segs[1]), b"hello");
        for n in 0..core.len() {
            let _ = load_segments(&core[..n]);
        }
        assert!(load_segments(b"JAVA PROFILE").is_err());
    }

    /// Found by `cargo fuzz run parse_core`: e_phoff = u64::MAX overflowed `at + 4`.
    #[test]
    fn fuzz_crash_phoff_at_the_end_of_the_address_space() {
        let b = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/fuzz/crash-6fa6f366f15e464980400e42cdac7ddfd4667e78"
        ))
        .unwrap();
        assert!(load_segments(&b).is_err());
    }
}
