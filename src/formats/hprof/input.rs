//! Getting the dump's bytes: a plain file is memory-mapped; a gzip file (`jcmd GC.heap_dump
//! -gz=N`) is inflated into an unlinked scratch file that is then mapped, so even a dump
//! bigger than RAM stays out of anonymous memory.
//!
//! HotSpot compresses its dump as independent gzip members of a fixed block size and names the
//! size in the first member's comment (`HPROF BLOCKSIZE=1048576`): those members are found and
//! inflated in parallel. Any other gzip file is inflated as one stream.

use crate::formats::files;
use memmap2::{Mmap, MmapMut};
use rayon::prelude::*;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// How the dump's bytes were obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A plain file, mapped in place.
    Plain,
    /// A gzip file; `parallel_members` is the number of HotSpot blocks inflated in parallel
    /// (0 when the file was inflated as one stream).
    Gzip {
        compressed_bytes: u64,
        parallel_members: usize,
    },
}

/// A problem getting the bytes of a dump, with the file named.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot open: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: cannot map the file into memory: {source}")]
    Map { path: PathBuf, source: io::Error },
    #[error("{path}: cannot create a scratch file to inflate the gzip dump into (in {dir}): {source}; pass --cache-dir to a writable directory with room for the uncompressed dump")]
    Scratch {
        path: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },
    #[error("{path}: inflating needs {needed} bytes in {dir}{}: {source}; pass --cache-dir to a directory with room for the uncompressed dump", free.map(|f| format!(" ({f} free)")).unwrap_or_default())]
    NoSpace {
        path: PathBuf,
        dir: PathBuf,
        needed: u64,
        free: Option<u64>,
        source: io::Error,
    },
    #[error("{path}: not an HPROF heap dump: the gzip file holds something else: {what}")]
    NotHprof { path: PathBuf, what: String },
    #[error("{path}: corrupt gzip data at compressed byte {offset}: {what}")]
    Gzip {
        path: PathBuf,
        offset: u64,
        what: String,
    },
}

/// The dump's bytes, however they were obtained, plus what happened on the way.
pub struct DumpBytes {
    pub path: PathBuf,
    map: Option<Mmap>,
    pub source: Source,
    /// Problems that did not stop reading (a truncated gzip stream).
    pub warnings: Vec<String>,
}

impl DumpBytes {
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Opens `path`. Gzip input is inflated into a scratch file in `scratch_dir` (default: the
    /// system temporary directory).
    pub fn open(path: &Path, scratch_dir: Option<&Path>) -> Result<DumpBytes, InputError> {
        // Before opening: opening a FIFO blocks until a writer comes.
        crate::formats::files::require_regular(path).map_err(|source| InputError::Open {
            path: path.into(),
            source,
        })?;
        let file = File::open(path).map_err(|source| InputError::Open {
            path: path.into(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| InputError::Open {
                path: path.into(),
                source,
            })?
            .len();
        if len == 0 {
            return Ok(DumpBytes {
                path: path.into(),
                map: None,
                source: Source::Plain,
                warnings: vec![],
            });
        }
        // SAFETY: the map is read-only. If another process truncates the file while we read it,
        // accessing the lost pages raises SIGBUS; that is the documented risk of mapping files
        // (ripgrep takes the same one) and a dump being rewritten under us is not a case we can
        // recover from anyway. The user's file is never written.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| InputError::Map {
            path: path.into(),
            source,
        })?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::WillNeed);
        if map.len() >= 2 && map[0] == 0x1f && map[1] == 0x8b {
            return inflate(path, &map, scratch_dir);
        }
        Ok(DumpBytes {
            path: path.into(),
            map: Some(map),
            source: Source::Plain,
            warnings: vec![],
        })
    }

    /// The same as [`DumpBytes::open`] for data already in memory (fuzzing, tests): plain data
    /// is copied into an anonymous map, gzip data is inflated as a file's would be. `path` only
    /// names the data in messages.
    pub fn from_bytes(
        path: &Path,
        data: &[u8],
        scratch_dir: Option<&Path>,
    ) -> Result<DumpBytes, InputError> {
        if data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b {
            return inflate(path, data, scratch_dir);
        }
        if data.is_empty() {
            return Ok(DumpBytes {
                path: path.into(),
                map: None,
                source: Source::Plain,
                warnings: vec![],
            });
        }
        let map_err = |source| InputError::Map {
            path: path.into(),
            source,
        };
        let mut anon = MmapMut::map_anon(data.len()).map_err(map_err)?;
        anon.copy_from_slice(data);
        let map = anon.make_read_only().map_err(map_err)?;
        Ok(DumpBytes {
            path: path.into(),
            map: Some(map),
            source: Source::Plain,
            warnings: vec![],
        })
    }
}

fn scratch_file(path: &Path, dir: &Path, len: u64) -> Result<File, InputError> {
    let err = |source| InputError::Scratch {
        path: path.into(),
        dir: dir.into(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    // Owner-only, exclusive, under a random name (see `formats::files`).
    let (f, p) = files::create_unique(dir, ".oomsleuth-inflate-", 0o600).map_err(err)?;
    // Unlinked at once: the data lives as long as the mapping and never outlives the process.
    let _ = std::fs::remove_file(&p);
    f.set_len(len).map_err(err)?;
    // The inflated dump is written through a mapping: its blocks are reserved first, so a full
    // file system is this error (naming the directory and the size), not SIGBUS later.
    files::reserve(&f, 0, len).map_err(|source| InputError::NoSpace {
        path: path.into(),
        dir: dir.into(),
        needed: len,
        free: files::free_bytes(dir),
        source,
    })?;
    Ok(f)
}

#[cfg(test)]
static SCRATCH_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Inflates the first few bytes of `gz` and refuses them unless they start as HPROF does.
fn check_inflated_head(path: &Path, gz: &[u8]) -> Result<(), InputError> {
    let mut d = flate2::bufread::MultiGzDecoder::new(gz);
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < head.len() {
        match d.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    let mut walk = RecordWalk::default();
    match walk.feed(&head[..got]) {
        Err(what) if walk.pos_checked < 32 => Err(InputError::NotHprof {
            path: path.into(),
            what,
        }),
        _ if got < 13 => Err(InputError::NotHprof {
            path: path.into(),
            what: format!("it inflates to only {got} bytes"),
        }),
        _ => Ok(()),
    }
}

/// Follows the top-level record structure of an HPROF stream as it is inflated (header, then
/// tag, time and length of each record), so inflation stops where the data stops being HPROF
/// instead of filling the disk with whatever the stream holds.
#[derive(Default)]
struct RecordWalk {
    /// Bytes of the structure being read (the file header, or a record header).
    pending: Vec<u8>,
    in_records: bool,
    /// Record body bytes still to skip.
    skip: u64,
    /// Bytes seen so far.
    pos_checked: u64,
}

impl RecordWalk {
    const MAGIC: &'static [u8] = b"JAVA PROFILE ";

    /// Checks the next `chunk`; `Err` names what is wrong and where.
    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        let mut i = 0;
        while i < chunk.len() {
            if self.skip > 0 {
                let k = self.skip.min((chunk.len() - i) as u64);
                self.skip -= k;
                i += k as usize;
                self.pos_checked += k;
                continue;
            }
            self.pending.push(chunk[i]);
            i += 1;
            self.pos_checked += 1;
            if self.in_records {
                self.record_header()?;
            } else {
                self.file_header()?;
            }
        }
        Ok(())
    }

    fn file_header(&mut self) -> Result<(), String> {
        let p = &self.pending;
        let n = p.len().min(Self::MAGIC.len());
        if p[..n] != Self::MAGIC[..n] {
            let shown = String::from_utf8_lossy(p).escape_debug().to_string();
            return Err(format!(
                "it does not start with \"JAVA PROFILE 1.0.\" (found \"{shown}\")"
            ));
        }
        match p.iter().position(|&b| b == 0) {
            None if p.len() > 32 => Err("its header does not end".into()),
            Some(z) if p.len() == z + 1 + 12 => {
                self.in_records = true;
                self.pending.clear();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn record_header(&mut self) -> Result<(), String> {
        if self.pending.len() < 9 {
            return Ok(());
        }
        let tag = super::raw::Tag(self.pending[0]);
        if !tag.is_known() {
            return Err(format!(
                "the inflated data stops being HPROF at byte {} (record tag 0x{:02X})",
                self.pos_checked - 9,
                tag.0
            ));
        }
        let len = u32::from_be_bytes(self.pending[5..9].try_into().unwrap());
        self.skip = len as u64;
        self.pending.clear();
        Ok(())
    }
}

/// A parsed gzip member header.
struct MemberHeader {
    /// Offset of the deflate data.
    data_start: usize,
    comment: Option<String>,
}

fn parse_member_header(gz: &[u8], at: usize) -> Option<MemberHeader> {
    let h = gz.get(at..at + 10)?;
    if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] & 0xE0 != 0 {
        return None;
    }
    let flags = h[3];
    let mut p = at + 10;
    if flags & 0x04 != 0 {
        let x = gz.get(p..p + 2)?;
        p += 2 + u16::from_le_bytes([x[0], x[1]]) as usize;
    }
    if flags & 0x08 != 0 {
        let n = gz.get(p..)?.iter().position(|&b| b == 0)?;
        p += n + 1;
    }
    let mut comment = None;
    if flags & 0x10 != 0 {
        let n = gz.get(p..)?.iter().position(|&b| b == 0)?;
        comment = Some(String::from_utf8_lossy(&gz[p..p + n]).into_owned());
        p += n + 1;
    }
    if flags & 0x02 != 0 {
        p += 2;
    }
    (p <= gz.len()).then_some(MemberHeader {
        data_start: p,
        comment,
    })
}

fn hotspot_block_size(comment: &str) -> Option<usize> {
    let v = comment.strip_prefix("HPROF BLOCKSIZE=")?;
    let n: usize = v.trim().parse().ok()?;
    (n > 0 && n <= 1 << 30).then_some(n)
}

/// What inflating one member gave.
struct Inflated {
    /// Input bytes of deflate data consumed.
    used_in: usize,
    /// Output bytes written (also when the stream broke off: they are good data).
    used_out: usize,
    /// Why the deflate stream did not end properly, if it did not.
    error: Option<String>,
}

/// Inflates one raw deflate stream into `out`.
fn inflate_member(input: &[u8], out: &mut [u8]) -> Inflated {
    let mut d = flate2::Decompress::new(false);
    let done = |d: &flate2::Decompress, error: Option<String>| Inflated {
        used_in: d.total_in() as usize,
        used_out: d.total_out() as usize,
        error,
    };
    loop {
        let before_in = d.total_in() as usize;
        let before_out = d.total_out() as usize;
        let status = d.decompress(
            &input[before_in..],
            &mut out[before_out..],
            flate2::FlushDecompress::Finish,
        );
        match status {
            Err(e) => return done(&d, Some(e.to_string())),
            Ok(flate2::Status::StreamEnd) => return done(&d, None),
            Ok(_) => {
                if d.total_in() as usize == before_in && d.total_out() as usize == before_out {
                    if before_out == out.len() {
                        return done(
                            &d,
                            Some("member inflates to more than its block size".into()),
                        );
                    }
                    return done(&d, Some("unexpected end of compressed data".into()));
                }
            }
        }
    }
}

/// What the 8-byte trailer of a member (CRC32 and ISIZE, at `at`) says about its `data`, as a
/// warning; `None` when both agree.
fn trailer_problem(
    gz: &[u8],
    at: usize,
    data: &[u8],
    member: usize,
    start: usize,
) -> Option<String> {
    let mut c = flate2::Crc::new();
    c.update(data);
    trailer_check(
        gz.get(at..at + 8),
        c.sum(),
        data.len() as u64,
        member,
        start,
    )
}

/// Checks a member's `trailer` (CRC32 and ISIZE, the size modulo 2^32) against the CRC32 `sum`
/// and length `len` of what it inflated to.
fn trailer_check(
    trailer: Option<&[u8]>,
    sum: u32,
    len: u64,
    member: usize,
    start: usize,
) -> Option<String> {
    let Some(t) = trailer else {
        return Some(format!(
            "gzip member {member} (compressed byte {start}) has no CRC32/size trailer; its data could not be verified"
        ));
    };
    let crc = u32::from_le_bytes(t[..4].try_into().unwrap());
    let isize = u32::from_le_bytes(t[4..].try_into().unwrap());
    if sum != crc {
        return Some(format!(
            "gzip member {member} (compressed byte {start}) fails its CRC32 check: its {len} bytes are damaged"
        ));
    }
    if isize != len as u32 {
        return Some(format!(
            "gzip member {member} (compressed byte {start}) says it holds {isize} bytes but inflates to {len}; used what it inflates to"
        ));
    }
    None
}

fn inflate(path: &Path, gz: &[u8], scratch_dir: Option<&Path>) -> Result<DumpBytes, InputError> {
    let dir = scratch_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let first = parse_member_header(gz, 0).ok_or_else(|| InputError::Gzip {
        path: path.into(),
        offset: 0,
        what: "bad gzip member header".into(),
    })?;
    // The first bytes tell whether this is a heap dump at all: before a byte is written to
    // disk (a gzip of zeros inflates to gigabytes before the header check would see it).
    check_inflated_head(path, gz)?;
    if let Some(block) = first.comment.as_deref().and_then(hotspot_block_size) {
        if let Some(r) = inflate_hotspot(path, gz, block, &dir)? {
            return Ok(r);
        }
    }
    inflate_stream(path, gz, &dir)
}

/// Parallel inflation of HotSpot's members. Each member holds at most `block` uncompressed bytes
/// (HotSpot flushes a block early at the end of a segment, so most are shorter) and ends with its
/// size (ISIZE): the 4 bytes before each member header give the previous member's length, hence
/// every member's place in the output, and the members inflate independently. Returns `None` when
/// the file does not have that shape after all (the caller falls back to one stream).
fn inflate_hotspot(
    path: &Path,
    gz: &[u8],
    block: usize,
    dir: &Path,
) -> Result<Option<DumpBytes>, InputError> {
    let isize_at =
        |p: usize| u32::from_le_bytes([gz[p - 4], gz[p - 3], gz[p - 2], gz[p - 1]]) as usize;
    // Candidates: the gzip magic with a valid header, preceded by a plausible ISIZE. A false
    // candidate inside compressed data is caught below (its neighbour does not end where expected).
    let mut starts = vec![0usize];
    for p in memchr_gzip_candidates(gz) {
        if p >= 18 && (1..=block).contains(&isize_at(p)) && parse_member_header(gz, p).is_some() {
            starts.push(p);
        }
    }
    let mut lens: Vec<usize> = starts.iter().skip(1).map(|&p| isize_at(p)).collect();
    // The last member's size comes from the file's trailer; if the file is truncated it is unknown.
    let last_isize = if gz.len() >= 8 { isize_at(gz.len()) } else { 0 };
    // Deflate expands at most 1032:1: a bound for the last member when its size is unknown
    // (a bad or missing trailer), so a tiny file never reserves a whole block.
    let last_bound = (gz.len() - starts[starts.len() - 1])
        .saturating_mul(1032)
        .min(block);
    lens.push(if (1..=block).contains(&last_isize) {
        last_isize
    } else {
        last_bound
    });
    let mut offsets = Vec::with_capacity(lens.len());
    let mut total = 0usize;
    for &n in &lens {
        offsets.push(total);
        total += n;
    }
    let file = scratch_file(path, dir, total.max(1) as u64)?;
    // SAFETY: a private scratch file we created and unlinked; nobody else maps it.
    let mut out = unsafe { MmapMut::map_mut(&file) }.map_err(|source| InputError::Map {
        path: path.into(),
        source,
    })?;
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(gz.len()))
        .collect();
    // Split the output into the members' disjoint windows.
    let mut windows: Vec<&mut [u8]> = Vec::with_capacity(lens.len());
    let mut rest: &mut [u8] = &mut out[..total];
    for &n in &lens {
        let (w, r) = rest.split_at_mut(n);
        windows.push(w);
        rest = r;
    }
    let last = lens.len() - 1;
    type MemberResult = Result<(usize, usize, Option<String>, Option<String>), (u64, String)>;
    let results: Vec<MemberResult> = windows
        .into_par_iter()
        .zip(starts.par_iter().zip(ends.par_iter()))
        .enumerate()
        .map(|(i, (dst, (&s, &e)))| {
            let h = parse_member_header(gz, s)
                .ok_or((s as u64, "bad gzip member header".to_string()))?;
            // A header that runs past the next member (a false candidate) is not a member.
            let input = gz.get(h.data_start..e).ok_or((
                s as u64,
                "gzip member header overlaps the next member".to_string(),
            ))?;
            let r = inflate_member(input, dst);
            let trailer_at = h.data_start + r.used_in;
            // CRC32 and ISIZE of a member that inflated (the last may lack its trailer).
            let check = match &r.error {
                None => trailer_problem(gz, trailer_at, &dst[..r.used_out], i, s),
                Some(_) => None,
            };
            Ok((trailer_at + 8, r.used_out, r.error, check))
        })
        .collect();
    let mut warnings = vec![];
    let mut good = 0usize;
    for (i, r) in results.iter().enumerate() {
        match r {
            // The last member is followed by another that was not found (its predecessor's
            // ISIZE was wrong), or filled a window sized by a wrong ISIZE: read one by one.
            Ok((member_end, _, None, _))
                if i == last
                    && *member_end < gz.len()
                    && parse_member_header(gz, *member_end).is_some() =>
            {
                return Ok(None)
            }
            Ok((_, n, Some(_), _)) if i == last && *n == lens[i] => return Ok(None),
            Ok((member_end, n, None, check))
                if i == last || (*member_end == ends[i] && *n == lens[i]) =>
            {
                good = offsets[i] + n;
                warnings.extend(check.clone());
            }
            // Not the layout we assumed (e.g. a false candidate): inflate as one stream instead.
            _ if i < last => return Ok(None),
            Ok((_, n, Some(what), _)) => {
                if i == 0 && *n == 0 {
                    return Ok(None);
                }
                // Whatever inflated before the break is good data (a cut file keeps it).
                good = offsets[i] + n;
                warnings.push(format!("the gzip stream is truncated or corrupt at compressed byte {} (its last member: {what}); read the {good} uncompressed bytes before the break", starts[i]));
            }
            Ok(_) => {}
            Err((off, what)) => {
                if i == 0 {
                    return Ok(None);
                }
                warnings.push(format!("the gzip stream is truncated or corrupt at compressed byte {off} ({what}); read the {} uncompressed bytes before it", offsets[i]));
            }
        }
    }
    let map = finish_map(path, out, &file, good)?;
    Ok(Some(DumpBytes {
        path: path.into(),
        map,
        source: Source::Gzip {
            compressed_bytes: gz.len() as u64,
            parallel_members: starts.len(),
        },
        warnings,
    }))
}

fn finish_map(
    path: &Path,
    out: MmapMut,
    file: &File,
    len: usize,
) -> Result<Option<Mmap>, InputError> {
    drop(out);
    if len == 0 {
        return Ok(None);
    }
    file.set_len(len as u64).map_err(|source| InputError::Map {
        path: path.into(),
        source,
    })?;
    // SAFETY: as above, a private unlinked scratch file.
    let map = unsafe { Mmap::map(file) }.map_err(|source| InputError::Map {
        path: path.into(),
        source,
    })?;
    Ok(Some(map))
}

/// Offsets of `1f 8b 08` in `gz` (after the first byte).
fn memchr_gzip_candidates(gz: &[u8]) -> Vec<usize> {
    // Split the scan across threads: it reads the whole compressed file.
    let chunk = 8 << 20;
    let n = gz.len().div_ceil(chunk).max(1);
    let mut v: Vec<usize> = (0..n)
        .into_par_iter()
        .flat_map_iter(|k| {
            let s = (k * chunk).max(1);
            let e = ((k + 1) * chunk).min(gz.len());
            let mut found = vec![];
            let mut i = s;
            while i + 3 <= e.min(gz.len()) && i < e {
                if gz[i] == 0x1f && gz.get(i + 1) == Some(&0x8b) && gz.get(i + 2) == Some(&8) {
                    found.push(i);
                }
                i += 1;
            }
            found
        })
        .collect();
    v.sort_unstable();
    v
}

/// Sequential inflation of any gzip file (one or more members) into a scratch file, member by
/// member: each member's CRC32 and size are checked against its trailer, and a mismatch is a
/// warning, never the end of the data (the next member is read all the same).
fn inflate_stream(path: &Path, gz: &[u8], dir: &Path) -> Result<DumpBytes, InputError> {
    let mut out = StreamOut {
        path,
        dir,
        file: scratch_file(path, dir, 0)?,
        total: 0,
        walk: RecordWalk::default(),
        warnings: vec![],
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0usize;
    let mut member = 0usize;
    while at < gz.len() {
        let Some(h) = parse_member_header(gz, at) else {
            if member == 0 {
                return Err(InputError::Gzip {
                    path: path.into(),
                    offset: 0,
                    what: "bad gzip member header".into(),
                });
            }
            if gz[at..].iter().any(|&b| b != 0) {
                out.warnings.push(format!("the {} bytes after the last gzip member (from compressed byte {at}) are not a gzip member; ignored", gz.len() - at));
            }
            break;
        };
        let mut d = flate2::Decompress::new(false);
        let mut crc = flate2::Crc::new();
        let ended = loop {
            let in_before = d.total_in() as usize;
            let out_before = d.total_out();
            let input = &gz[h.data_start + in_before..];
            let status = d.decompress(input, &mut buf, flate2::FlushDecompress::None);
            let n = (d.total_out() - out_before) as usize;
            crc.update(&buf[..n]);
            if !out.write(&buf[..n])? {
                break Stop::NotHprof;
            }
            match status {
                Ok(flate2::Status::StreamEnd) => break Stop::MemberEnd,
                Ok(_) if n == 0 && d.total_in() as usize == in_before => {
                    break Stop::Broken("unexpected end of compressed data".into())
                }
                Ok(_) => {}
                Err(e) => break Stop::Broken(e.to_string()),
            }
        };
        match ended {
            Stop::NotHprof => break,
            Stop::Broken(what) => {
                if out.total == 0 {
                    return Err(InputError::Gzip {
                        path: path.into(),
                        offset: at as u64,
                        what,
                    });
                }
                out.warnings.push(format!("the gzip stream is truncated or corrupt at compressed byte {at} (gzip member {member}: {what}); read the {} uncompressed bytes before it", out.total));
                break;
            }
            Stop::MemberEnd => {}
        }
        let trailer_at = h.data_start + d.total_in() as usize;
        let trailer = gz.get(trailer_at..trailer_at + 8);
        let (sum, len) = (crc.sum(), d.total_out());
        out.warnings
            .extend(trailer_check(trailer, sum, len, member, at));
        at = trailer_at + 8;
        member += 1;
    }
    let StreamOut {
        file,
        total,
        warnings,
        ..
    } = out;
    let map = if total == 0 {
        None
    } else {
        // SAFETY: a private unlinked scratch file.
        Some(
            unsafe { Mmap::map(&file) }.map_err(|source| InputError::Map {
                path: path.into(),
                source,
            })?,
        )
    };
    Ok(DumpBytes {
        path: path.into(),
        map,
        source: Source::Gzip {
            compressed_bytes: gz.len() as u64,
            parallel_members: 0,
        },
        warnings,
    })
}

/// Why one member's inflation loop stopped.
enum Stop {
    MemberEnd,
    /// The inflated data stopped being HPROF (said in a warning already).
    NotHprof,
    Broken(String),
}

/// Where [`inflate_stream`] writes: the scratch file, checked as HPROF as it grows.
struct StreamOut<'p> {
    path: &'p Path,
    dir: &'p Path,
    file: File,
    total: u64,
    walk: RecordWalk,
    warnings: Vec<String>,
}

impl StreamOut<'_> {
    /// Appends `chunk`; `false` (with a warning) when the data stopped being HPROF in it, after
    /// writing what still was.
    fn write(&mut self, chunk: &[u8]) -> Result<bool, InputError> {
        let (keep, ok) = match self.walk.feed(chunk) {
            Ok(()) => (chunk.len(), true),
            Err(what) => {
                let good = (self.walk.pos_checked - self.total).saturating_sub(9) as usize;
                let good = good.min(chunk.len());
                self.warnings.push(format!(
                    "{what}; stopped inflating there and read the {} bytes before it",
                    self.total + good as u64
                ));
                (good, false)
            }
        };
        self.file
            .write_all(&chunk[..keep])
            .map_err(|source| InputError::Scratch {
                path: self.path.into(),
                dir: self.dir.into(),
                source,
            })?;
        self.total += keep as u64;
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;

    fn hotspot_like(data: &[u8], block: usize) -> Vec<u8> {
        hotspot_members(data.chunks(block), block)
    }

    fn hotspot_members<'d>(chunks: impl Iterator<Item = &'d [u8]>, block: usize) -> Vec<u8> {
        let mut out = vec![];
        for (i, chunk) in chunks.enumerate() {
            let mut b = flate2::GzBuilder::new();
            if i == 0 {
                b = b.comment(format!("HPROF BLOCKSIZE={block}"));
            }
            let mut e = b.write(Vec::new(), flate2::Compression::fast());
            e.write_all(chunk).unwrap();
            out.extend(e.finish().unwrap());
        }
        out
    }

    /// `n` bytes of HPROF: the header, then STRING records of varied bytes (inflation checks
    /// the record structure as it goes).
    fn sample(n: usize) -> Vec<u8> {
        let mut out = b"JAVA PROFILE 1.0.2\0".to_vec();
        out.extend_from_slice(&8u32.to_be_bytes());
        out.extend_from_slice(&[0; 8]);
        let mut i = 0usize;
        while out.len() + 9 < n {
            let len = (n - out.len() - 9).min(3000);
            out.push(1);
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
            for _ in 0..len {
                out.push(((i * 7919) % 251) as u8 ^ (i >> 9) as u8);
                i += 1;
            }
        }
        out.resize(n, 0);
        out
    }

    fn open_bytes(gz: &[u8]) -> DumpBytes {
        let dir = std::env::temp_dir();
        let p = dir.join(format!(
            "oomsleuth-gz-test-{}-{}",
            std::process::id(),
            SCRATCH_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&p, gz).unwrap();
        let d = DumpBytes::open(&p, None).unwrap();
        std::fs::remove_file(&p).unwrap();
        d
    }

    #[test]
    fn hotspot_members_inflate_in_parallel() {
        let data = sample(10_000 * 7 + 123);
        let d = open_bytes(&hotspot_like(&data, 10_000));
        assert_eq!(d.bytes(), &data[..]);
        assert_eq!(
            d.source,
            Source::Gzip {
                compressed_bytes: d.source_compressed(),
                parallel_members: 8
            }
        );
        assert!(d.warnings.is_empty());
    }

    /// HotSpot flushes a block early at the end of each heap dump segment: members are shorter than
    /// the block size named in the first one, each of its own length.
    #[test]
    fn hotspot_members_of_varying_length_inflate_in_parallel() {
        let data = sample(60_000);
        let mut chunks = vec![];
        let mut rest = &data[..];
        for n in [10_000, 9_791, 10_000, 3, 9_999, 7_000].into_iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (c, r) = rest.split_at(n.min(rest.len()));
            chunks.push(c);
            rest = r;
        }
        let n = chunks.len();
        let d = open_bytes(&hotspot_members(chunks.into_iter(), 10_000));
        assert_eq!(d.bytes(), &data[..]);
        assert_eq!(
            d.source,
            Source::Gzip {
                compressed_bytes: d.source_compressed(),
                parallel_members: n
            }
        );
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn plain_gzip_inflates_as_a_stream() {
        let data = sample(50_000);
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&data).unwrap();
        let d = open_bytes(&e.finish().unwrap());
        assert_eq!(d.bytes(), &data[..]);
        assert!(matches!(
            d.source,
            Source::Gzip {
                parallel_members: 0,
                ..
            }
        ));
    }

    /// Read member by member, a wrong ISIZE (or CRC) is a warning and the next member is still
    /// read; bytes after the last member that are not one are said, not silently dropped.
    #[test]
    fn a_plain_gzip_member_with_a_wrong_size_hides_nothing() {
        let data = sample(30_000);
        let mut gz = vec![];
        let mut ends = vec![];
        for chunk in data.chunks(12_000) {
            let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(chunk).unwrap();
            gz.extend(e.finish().unwrap());
            ends.push(gz.len());
        }
        let mut bad = gz.clone();
        bad[ends[0] - 4..ends[0]].fill(0);
        bad.extend_from_slice(b"garbage");
        let d = open_bytes(&bad);
        assert_eq!(d.bytes(), &data[..]);
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("member 0") && w.contains("says it holds 0 bytes")),
            "{:?}",
            d.warnings
        );
        assert!(
            d.warnings.iter().any(|w| w.contains("not a gzip member")),
            "{:?}",
            d.warnings
        );
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    }

    #[test]
    fn truncated_gzip_keeps_what_was_read() {
        let data = sample(10_000 * 5);
        let gz = hotspot_like(&data, 10_000);
        let d = open_bytes(&gz[..gz.len() - 2000]);
        assert!(!d.warnings.is_empty());
        assert!(d.bytes().len() >= 30_000, "{}", d.bytes().len());
        assert_eq!(d.bytes(), &data[..d.bytes().len()]);
    }

    impl DumpBytes {
        fn source_compressed(&self) -> u64 {
            match self.source {
                Source::Gzip {
                    compressed_bytes, ..
                } => compressed_bytes,
                Source::Plain => 0,
            }
        }
    }
}
