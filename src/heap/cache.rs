//! The index cache: the object graph, dominator tree and retained sizes of a dump, saved after the
//! first command so later commands on the same dump skip the expensive passes.
//!
//! File: `OOMSLEUTH-INDEX` magic, format version, a key (the dump's size, mtime and a hash of its
//! first and last 64 KiB, plus every option that changes the result), the arrays in native
//! little-endian order, and a checksum of everything before it. Written to a temporary file and
//! renamed into place, so a reader never sees half a cache. Anything that does not match or check
//! out is ignored and rebuilt, never trusted.

use super::dominators::DominatorTree;
use super::graph::Csr;
use super::index::{HeapIndex, IdLookup, Root};
use super::retained::Retention;
use super::snapshot::{Progress, Snapshot};
use crate::formats::hprof::RootKind;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const MAGIC: &[u8; 16] = b"OOMSLEUTH-INDEX\0";
/// Bumped whenever the layout of the file or the meaning of its contents changes.
const VERSION: u32 = 1;

/// Where a dump's cache lives.
#[derive(Clone, Debug)]
pub struct Location {
    pub path: PathBuf,
}

impl Location {
    /// `--cache-dir DIR`: `DIR/<name>-<hash of the dump's absolute path>.oomsleuth-index`; else
    /// beside the dump (`<dump>.oomsleuth-index`) when that directory is writable; else the user's
    /// cache directory (`$XDG_CACHE_HOME/oomsleuth` or `~/.cache/oomsleuth`).
    pub fn for_dump(dump: &Path, cache_dir: Option<&Path>) -> Location {
        let abs = fs::canonicalize(dump).unwrap_or_else(|_| dump.to_path_buf());
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dump".into());
        let tag = format!("{:016x}", fnv(abs.to_string_lossy().as_bytes()));
        let in_dir = |d: &Path| Location {
            path: d.join(format!("{name}-{tag}.oomsleuth-index")),
        };
        if let Some(d) = cache_dir {
            return in_dir(d);
        }
        if let Some(parent) = abs.parent() {
            if is_writable_dir(parent) {
                return Location {
                    path: parent.join(format!("{name}.oomsleuth-index")),
                };
            }
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        in_dir(&base.join("oomsleuth"))
    }
}

fn is_writable_dir(d: &Path) -> bool {
    let probe = d.join(format!(".oomsleuth-probe-{}", std::process::id()));
    match File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A fast 64-bit checksum over words (not cryptographic: it catches torn and corrupted files).
fn checksum(b: &[u8]) -> u64 {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 22;
    let parts: Vec<u64> = b
        .par_chunks(CHUNK)
        .map(|c| {
            let mut h: u64 = 0x9E3779B97F4A7C15 ^ c.len() as u64;
            let mut words = c.chunks_exact(8);
            for w in &mut words {
                let v = u64::from_le_bytes(w.try_into().unwrap());
                h = (h ^ v).wrapping_mul(0xff51afd7ed558ccd).rotate_left(29);
            }
            for &x in words.remainder() {
                h = (h ^ x as u64).wrapping_mul(0xc4ceb9fe1a85ec53);
            }
            h
        })
        .collect();
    parts.iter().fold(0x2545F4914F6CDD1D, |h, &p| {
        (h ^ p).wrapping_mul(0x9E3779B97F4A7C15).rotate_left(31)
    })
}

/// What a cache must match: the dump file and the options that shape the index.
fn key(snap: &Snapshot<'_>, keep_unreachable: bool) -> Vec<u8> {
    let mut k = Vec::new();
    let path = &snap.bytes.path;
    let meta = fs::metadata(path).ok();
    let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let data = snap.bytes.bytes();
    let head = &data[..data.len().min(1 << 16)];
    let tail = &data[data.len().saturating_sub(1 << 16)..];
    k.extend_from_slice(&size.to_le_bytes());
    k.extend_from_slice(&mtime.to_le_bytes());
    k.extend_from_slice(&(data.len() as u64).to_le_bytes());
    k.extend_from_slice(&fnv(head).to_le_bytes());
    k.extend_from_slice(&fnv(tail).to_le_bytes());
    let m = &snap.vm.layout;
    k.extend_from_slice(&[
        keep_unreachable as u8,
        m.compressed_oops as u8,
        m.compressed_class_pointers as u8,
    ]);
    k.extend_from_slice(&m.jdk_feature.to_le_bytes());
    k.extend_from_slice(&m.object_alignment.to_le_bytes());
    k
}

/// Loads the graph from the cache when it matches, else builds it (and saves it when a location
/// is given). Cache problems are reported on stderr and never fail the command.
pub fn load_or_build(
    snap: &Snapshot<'_>,
    at: Option<&Location>,
    keep_unreachable: bool,
    progress: &dyn Progress,
) -> (HeapIndex, Retention) {
    let key = key(snap, keep_unreachable);
    if let Some(loc) = at {
        if let Some(hit) = read(&loc.path, &key) {
            return hit;
        }
    }
    let t = Instant::now();
    progress.phase("indexing objects", snap.dir.heap_bytes());
    let mut index = HeapIndex::build(snap, &|n| progress.advance(n));
    progress.finish();
    let t_index = t.elapsed().as_secs_f64();
    let t = Instant::now();
    progress.phase("dominator tree", 0);
    let retention = Retention::compute(&mut index, keep_unreachable);
    progress.finish();
    if std::env::var_os("OOMSLEUTH_TIMINGS").is_some() {
        eprintln!("timing: index        {t_index:>8.3} s");
        eprintln!("timing: dominators   {:>8.3} s", t.elapsed().as_secs_f64());
        eprintln!(
            "timing: index memory {:>8.1} MB",
            index.memory_bytes() as f64 / 1e6
        );
    }
    if let Some(loc) = at {
        let t = Instant::now();
        if let Err(e) = write(&loc.path, &key, &index, &retention) {
            eprintln!("note: could not save the index cache {}: {e} (use --cache-dir DIR to put it elsewhere)", loc.path.display());
        } else if std::env::var_os("OOMSLEUTH_TIMINGS").is_some() {
            eprintln!("timing: cache write  {:>8.3} s", t.elapsed().as_secs_f64());
        }
    }
    (index, retention)
}

// ---- writing ---------------------------------------------------------------------------------

trait Pod: Copy + Default {}
impl Pod for u8 {}
impl Pod for u32 {}
impl Pod for u64 {}

fn bytes_of<T: Pod>(v: &[T]) -> &[u8] {
    // SAFETY: u8/u32/u64 have no padding and every bit pattern is valid; the cache is native
    // little-endian (refused on big-endian machines below).
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

struct Out {
    buf: Vec<u8>,
}

impl Out {
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn array<T: Pod>(&mut self, v: &[T]) {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(bytes_of(v));
        // Keep 8-byte alignment for the next array.
        while self.buf.len() % 8 != 0 {
            self.buf.push(0);
        }
    }
}

fn write(path: &Path, key: &[u8], index: &HeapIndex, r: &Retention) -> std::io::Result<()> {
    if cfg!(target_endian = "big") {
        return Err(std::io::Error::other(
            "the index cache is little-endian only",
        ));
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut o = Out {
        buf: Vec::with_capacity(index.memory_bytes() + r.retained.len() * 16 + 1024),
    };
    o.buf.extend_from_slice(MAGIC);
    o.u64(VERSION as u64);
    o.array(key);
    o.array(&index.ids);
    o.array(&index.offsets);
    o.array(&index.class_of);
    o.array(&index.shallow);
    let big: Vec<u64> = index
        .big_shallow
        .iter()
        .flat_map(|&(o, s)| [o as u64, s])
        .collect();
    o.array(&big);
    o.array(&index.refs.starts);
    o.array(&index.refs.targets);
    let roots: Vec<u64> = index
        .roots
        .iter()
        .flat_map(|r| {
            [
                r.object as u64,
                root_kind_code(r.kind) as u64,
                r.thread_serial.map(|t| t as u64 | 1 << 32).unwrap_or(0),
                r.frame.map(|t| t as u64 | 1 << 32).unwrap_or(0),
            ]
        })
        .collect();
    o.array(&roots);
    let class_objects: Vec<u32> = index
        .class_objects
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .collect();
    o.array(&class_objects);
    o.u64(index.dangling);
    let (min, shift, starts) = index.lookup.parts();
    o.u64(min);
    o.u64(shift as u64);
    o.array(starts);
    o.array(&r.tree.idom);
    o.array(&r.tree.preorder);
    o.u64(r.tree.root as u64);
    o.array(&r.retained);
    o.u64(r.unreachable_objects);
    o.u64(r.unreachable_bytes);
    o.u64(r.kept_unreachable as u64);
    let sum = checksum(&o.buf);
    o.u64(sum);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = BufWriter::new(File::create(&tmp)?);
        f.write_all(&o.buf)?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

// ---- reading ---------------------------------------------------------------------------------

struct In<'b> {
    b: &'b [u8],
    pos: usize,
}

impl In<'_> {
    fn u64(&mut self) -> Option<u64> {
        let v = u64::from_le_bytes(self.b.get(self.pos..self.pos + 8)?.try_into().ok()?);
        self.pos += 8;
        Some(v)
    }
    fn array<T: Pod>(&mut self) -> Option<Vec<T>> {
        let n = self.u64()? as usize;
        let size = std::mem::size_of::<T>();
        let bytes = self
            .b
            .get(self.pos..self.pos.checked_add(n.checked_mul(size)?)?)?;
        let mut v = vec![T::default(); n];
        // SAFETY: as in `bytes_of`: plain integers, any bit pattern valid.
        let dst = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, n * size) };
        dst.copy_from_slice(bytes);
        self.pos += n * size;
        self.pos = self.pos.div_ceil(8) * 8;
        Some(v)
    }
}

fn read(path: &Path, key: &[u8]) -> Option<(HeapIndex, Retention)> {
    if cfg!(target_endian = "big") {
        return None;
    }
    let mut f = File::open(path).ok()?;
    let mut b = Vec::new();
    f.read_to_end(&mut b).ok()?;
    let r = parse(&b, key);
    if r.is_none() {
        eprintln!(
            "note: ignoring the index cache {}: it is stale or damaged; rebuilding it",
            path.display()
        );
    }
    r
}

fn parse(b: &[u8], key: &[u8]) -> Option<(HeapIndex, Retention)> {
    if b.len() < 32 || &b[..16] != MAGIC {
        return None;
    }
    let body = &b[..b.len() - 8];
    if checksum(body) != u64::from_le_bytes(b[b.len() - 8..].try_into().ok()?) {
        return None;
    }
    let mut i = In { b: body, pos: 16 };
    if i.u64()? != VERSION as u64 {
        return None;
    }
    if i.array::<u8>()? != key {
        return None;
    }
    let ids: Vec<u64> = i.array()?;
    let offsets: Vec<u64> = i.array()?;
    let class_of: Vec<u32> = i.array()?;
    let shallow: Vec<u32> = i.array()?;
    let big: Vec<u64> = i.array()?;
    let starts: Vec<u64> = i.array()?;
    let targets: Vec<u32> = i.array()?;
    let roots_raw: Vec<u64> = i.array()?;
    let class_objects_raw: Vec<u32> = i.array()?;
    let dangling = i.u64()?;
    let min = i.u64()?;
    let shift = i.u64()? as u32;
    let lookup_starts: Vec<u32> = i.array()?;
    let idom: Vec<u32> = i.array()?;
    let preorder: Vec<u32> = i.array()?;
    let root = i.u64()? as u32;
    let retained: Vec<u64> = i.array()?;
    let unreachable_objects = i.u64()?;
    let unreachable_bytes = i.u64()?;
    let kept_unreachable = i.u64()? != 0;
    let n = ids.len();
    // Shapes must agree before anything indexes with them.
    let ok = offsets.len() == n
        && class_of.len() == n
        && shallow.len() == n
        && starts.len() == n + 2
        && starts.windows(2).all(|w| w[0] <= w[1])
        && starts.last().copied() == Some(targets.len() as u64)
        && targets.iter().all(|&t| (t as usize) < n + 1)
        && idom.len() == n + 1
        && retained.len() == n + 1
        && root as usize == n
        && preorder.iter().all(|&p| (p as usize) <= n)
        && idom.iter().all(|&d| d == u32::MAX || (d as usize) <= n);
    if !ok {
        return None;
    }
    let roots = roots_raw
        .chunks_exact(4)
        .map(|c| {
            let opt = |v: u64| (v >> 32 != 0).then_some(v as u32);
            Some(Root {
                object: c[0] as u32,
                kind: root_kind_from_code(c[1] as u8)?,
                thread_serial: opt(c[2]),
                frame: opt(c[3]),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if roots.iter().any(|r| r.object as usize >= n) {
        return None;
    }
    let index = HeapIndex {
        lookup: IdLookup::from_parts(min, shift, lookup_starts, n)?,
        ids,
        offsets,
        class_of,
        shallow,
        big_shallow: big.chunks_exact(2).map(|c| (c[0] as u32, c[1])).collect(),
        refs: Csr { starts, targets },
        roots,
        class_objects: class_objects_raw
            .chunks_exact(2)
            .map(|c| (c[0], c[1]))
            .collect(),
        dangling,
    };
    let retention = Retention {
        tree: DominatorTree {
            idom,
            preorder,
            root,
        },
        retained,
        unreachable_objects,
        unreachable_bytes,
        kept_unreachable,
    };
    Some((index, retention))
}

const ROOT_KINDS: [RootKind; 16] = [
    RootKind::Unknown,
    RootKind::JniGlobal,
    RootKind::JniLocal,
    RootKind::JavaFrame,
    RootKind::NativeStack,
    RootKind::StickyClass,
    RootKind::ThreadBlock,
    RootKind::MonitorUsed,
    RootKind::ThreadObject,
    RootKind::InternedString,
    RootKind::Finalizing,
    RootKind::Debugger,
    RootKind::ReferenceCleanup,
    RootKind::VmInternal,
    RootKind::JniMonitor,
    RootKind::Unreachable,
];

fn root_kind_code(k: RootKind) -> u8 {
    ROOT_KINDS.iter().position(|&x| x == k).unwrap_or(0) as u8
}

fn root_kind_from_code(c: u8) -> Option<RootKind> {
    ROOT_KINDS.get(c as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_sees_every_byte() {
        let mut b = vec![7u8; 100_003];
        let a = checksum(&b);
        b[99_999] ^= 1;
        assert_ne!(a, checksum(&b));
        b[99_999] ^= 1;
        b[100_002] ^= 1;
        assert_ne!(a, checksum(&b));
    }

    #[test]
    fn root_kinds_round_trip() {
        for k in ROOT_KINDS {
            assert_eq!(root_kind_from_code(root_kind_code(k)), Some(k));
        }
    }
}
