//! The index cache: the object graph, dominator tree and retained sizes of a dump, plus what the
//! census pass found, saved after the first command so later commands on the same dump skip
//! every whole-heap pass.
//!
//! File layout (version 8): the `OOMSLEUTH-INDEX` magic, the format version, a key (the dump's
//! size, mtime and a hash of every byte of it, plus every option that changes the result), a
//! table of sections, then the sections themselves, each an array of native little-endian
//! integers starting on a 64-byte boundary (in any order, with gaps of zeros), and
//! last a checksum over every byte before it. A hit maps the file and uses the arrays in place
//! ([`Column::mapped`]): loading costs the checksum (one parallel read of the file) and the shape
//! checks, nothing is copied.
//!
//! The file is built while the index is ([`KeepFile`]): the big arrays are regions of it from
//! the start, so saving only appends the small sections, the header and the checksum. It is
//! built under a temporary name and renamed into place, so a reader never sees half a cache,
//! and the mapped file never changes under a reader. Anything that does not match or check out
//! is ignored and rebuilt, never trusted.

use super::census::{Census, Counts, GapSample, ObjectShape, Unit};
use super::checks::RootFallback;
use super::column::{bytes_of, Column, KeepFile, Pod, Scratch};
use super::dominators::{DominatorTree, NONE};
use super::fxhash::new_map;
use super::graph::Csr;
use super::index::{HeapIndex, IdLookup, Root};
use super::reachability::GraphOptions;
use super::retained::Retention;
use super::snapshot::{LoadError, Progress, Snapshot};
use super::timing;
use super::vm::Overrides;
use crate::formats::files;
use crate::formats::hprof::reader::parse_sub_record;
use crate::formats::hprof::{
    BasicType, Directory, DumpBytes, GcRoot, HeapBody, RootKind, SubRecord, Warning,
};
use memmap2::Mmap;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

const MAGIC: &[u8; 16] = b"OOMSLEUTH-INDEX\0";
/// Bumped whenever the layout of the file or the meaning of its contents changes (9: a dump with
/// unreached application objects is not taken for a `:live` one, so fewer objects are held by
/// the JVM; 10: nor is one whose unreached objects outweigh its reached ones).
const VERSION: u32 = 10;
/// Sections start on this boundary (any array type is aligned, and cache lines are not shared).
const ALIGN: usize = 64;

/// Where a dump's cache lives.
#[derive(Clone, Debug)]
pub struct Location {
    pub path: PathBuf,
    /// Permissions of the cache: no wider than the dump's (see [`files::mode_for`]).
    pub mode: u32,
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
        let mode = files::mode_for(dump);
        let in_dir = |d: &Path| Location {
            path: d.join(format!("{name}-{tag}.oomsleuth-index")),
            mode,
        };
        if let Some(d) = cache_dir {
            return in_dir(d);
        }
        if let Some(parent) = abs.parent() {
            if is_writable_dir(parent) {
                return Location {
                    path: parent.join(format!("{name}.oomsleuth-index")),
                    mode,
                };
            }
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        in_dir(&base.join("oomsleuth"))
    }

    /// Scratch files for building the index go to the cache's directory: the same disk the
    /// cache will be written to. `OOMSLEUTH_SCRATCH_MIN=BYTES` changes the smallest array that
    /// gets a file (default 8 MiB; tests use 0 to exercise the file path on small dumps);
    /// `OOMSLEUTH_HEAP_BUDGET=BYTES` the heap the dominator scratch may take (default: none; see
    /// [`Location::scratch_for`]).
    pub fn scratch(&self) -> Scratch {
        let mut s = Scratch::in_dir(&self.dir());
        if let Some(m) = std::env::var("OOMSLEUTH_HEAP_BUDGET")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            s.heap_budget = m;
        }
        if let Some(m) = std::env::var("OOMSLEUTH_SCRATCH_MIN")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            s.min_file_bytes = m;
        }
        s
    }
}

impl Location {
    /// The cache of heap dump `n` (`--dump N`) of a file holding several: a file of its own
    /// (`<dump>.dump2.oomsleuth-index`), so going back and forth between dumps rebuilds
    /// neither. The key names the dump too: a cache is never the answer for another dump.
    pub fn for_heap_dump(mut self, n: Option<u32>) -> Location {
        if let Some(n) = n {
            let name = self
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = name.strip_suffix(".oomsleuth-index").unwrap_or(&name);
            self.path
                .set_file_name(format!("{stem}.dump{n}.oomsleuth-index"));
        }
        self
    }

    /// [`scratch`](Self::scratch) for a dump of `dump_bytes` bytes: the randomly written arrays
    /// of the dominator computation may take up to 40% of the dump's size on the heap (the
    /// target is anonymous memory at most half the dump) and half the memory this process may
    /// still use ([`plan::memory_budget`](super::plan::memory_budget)); the rest goes to
    /// scratch files.
    pub fn scratch_for(&self, dump_bytes: u64) -> Scratch {
        let s = self.scratch();
        if s.heap_budget > 0 {
            return s; // OOMSLEUTH_HEAP_BUDGET
        }
        s.with_heap_budget(super::plan::memory_budget(dump_bytes))
    }

    /// The directory scratch and cache files go to.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir)
    }

    /// Whether a cache file is there at all (it may still be stale).
    pub fn exists(&self) -> bool {
        self.path.exists()
    }
}

/// Whether a file can be created in `d`: by creating one, exclusively, under a random name (a
/// predictable name followed through a planted link would truncate the link's target).
fn is_writable_dir(d: &Path) -> bool {
    match files::create_unique(d, ".oomsleuth-probe-", 0o600) {
        Ok((_, probe)) => {
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

/// A fast 64-bit checksum over words (not cryptographic: it catches torn and corrupted files,
/// and a dump that differs anywhere from the one a cache was built from). Four independent
/// lanes per 4 MiB chunk, chunks in parallel: it runs at memory speed.
fn checksum(b: &[u8]) -> u64 {
    const CHUNK: usize = 1 << 22;
    let parts: Vec<u64> = b
        .par_chunks(CHUNK)
        .map(|c| {
            let mut h = [0x9E3779B97F4A7C15 ^ c.len() as u64, 1, 2, 3];
            let mut blocks = c.chunks_exact(32);
            for w in &mut blocks {
                for (lane, h) in h.iter_mut().enumerate() {
                    let v = u64::from_le_bytes(w[lane * 8..lane * 8 + 8].try_into().unwrap());
                    *h = (*h ^ v).wrapping_mul(0xff51afd7ed558ccd).rotate_left(29);
                }
            }
            let mut h = h.iter().fold(0u64, |a, &x| {
                (a ^ x).wrapping_mul(0x9E3779B97F4A7C15).rotate_left(27)
            });
            for &x in blocks.remainder() {
                h = (h ^ x as u64).wrapping_mul(0xc4ceb9fe1a85ec53);
            }
            h
        })
        .collect();
    parts.iter().fold(0x2545F4914F6CDD1D, |h, &p| {
        (h ^ p).wrapping_mul(0x9E3779B97F4A7C15).rotate_left(31)
    })
}

/// What a cache must match: the dump file and the options that shape the index. The JVM facts
/// (compressed oops, JDK) are not part of it: they follow from the dump and the overrides.
fn key(bytes: &DumpBytes, overrides: Overrides, opts: GraphOptions) -> Vec<u8> {
    let mut k = Vec::new();
    let meta = fs::metadata(&bytes.path).ok();
    let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let data = bytes.bytes();
    k.extend_from_slice(&size.to_le_bytes());
    k.extend_from_slice(&mtime.to_le_bytes());
    k.extend_from_slice(&(data.len() as u64).to_le_bytes());
    // Every byte of the (inflated) dump: a dump changed anywhere, even with its size and
    // mtime restored, never matches. One parallel pass at memory speed.
    let t = Instant::now();
    k.extend_from_slice(&checksum(data).to_le_bytes());
    timing::print("cache key", t.elapsed().as_secs_f64());
    let opt = |o: Option<u32>| o.map(|v| v as u64 | 1 << 32).unwrap_or(0);
    k.push(opts.keep_unreachable as u8 | (opts.strong_only as u8) << 1);
    k.extend_from_slice(&opt(overrides.compressed_oops.map(|b| b as u32)).to_le_bytes());
    k.extend_from_slice(&opt(overrides.jdk_feature).to_le_bytes());
    k.extend_from_slice(&opt(overrides.dump).to_le_bytes());
    k
}

/// A loaded dump with its graph: from the cache when it matches (no census, no index pass),
/// else built (with its big arrays in scratch files placed by `scratch`) and saved when a
/// location is given. Cache problems are reported on stderr and never fail the command.
pub fn open_graph<'a>(
    bytes: &'a DumpBytes,
    overrides: Overrides,
    at: Option<&Location>,
    scratch: &Scratch,
    opts: impl Into<GraphOptions>,
    progress: &dyn Progress,
) -> Result<(Snapshot<'a>, HeapIndex, Retention), LoadError> {
    let opts = opts.into();
    // The key reads the whole dump: only when there is a cache to match or write.
    let key = match at {
        Some(_) => key(bytes, overrides, opts),
        None => vec![],
    };
    let t = Instant::now();
    if let Some(loc) = at {
        remove_stale_temporaries(&loc.path);
    }
    let file = at.and_then(|loc| CacheFile::open(&loc.path, &key));
    if let Some(f) = file {
        let snap = Snapshot::load_with(bytes, overrides, progress, |dir| f.census(dir))?;
        if snap.census_from_cache {
            if let Some((index, retention)) = f.graph(&snap) {
                timing::print("cache hit", t.elapsed().as_secs_f64());
                return Ok((snap, index, retention));
            }
            note_bad(at);
            // The census came from a cache that failed later checks: read the dump again.
            let snap = Snapshot::load(bytes, overrides, progress)?;
            let (index, retention) = build_and_save(&snap, at, &key, scratch, opts, progress);
            return Ok((snap, index, retention));
        }
        // The census did not check out: it was read from the dump instead.
        note_bad(at);
        let (index, retention) = build_and_save(&snap, at, &key, scratch, opts, progress);
        return Ok((snap, index, retention));
    }
    let snap = Snapshot::load(bytes, overrides, progress)?;
    let (index, retention) = build_and_save(&snap, at, &key, scratch, opts, progress);
    Ok((snap, index, retention))
}

fn note_bad(at: Option<&Location>) {
    if let Some(loc) = at {
        eprintln!(
            "note: ignoring the index cache {}: it is stale or damaged; rebuilding it",
            loc.path.display()
        );
    }
}

/// Loads the graph from the cache when it matches, else builds it (and saves it when a location
/// is given). The snapshot is already loaded: prefer [`open_graph`], which skips the census on
/// a hit. Cache problems are reported on stderr and never fail the command.
pub fn load_or_build(
    snap: &Snapshot<'_>,
    at: Option<&Location>,
    opts: impl Into<GraphOptions>,
    progress: &dyn Progress,
) -> (HeapIndex, Retention) {
    let opts = opts.into();
    let key = match at {
        Some(_) => key(snap.bytes, snap.overrides, opts),
        None => vec![],
    };
    if let Some(loc) = at {
        remove_stale_temporaries(&loc.path);
        if let Some(f) = CacheFile::open(&loc.path, &key) {
            if let Some(hit) = f.graph(snap) {
                return hit;
            }
            note_bad(at);
        }
    }
    let scratch = at.map(Location::scratch).unwrap_or_else(Scratch::memory);
    build_and_save(snap, at, &key, &scratch, opts, progress)
}

fn build_and_save(
    snap: &Snapshot<'_>,
    at: Option<&Location>,
    key: &[u8],
    scratch: &Scratch,
    opts: GraphOptions,
    progress: &dyn Progress,
) -> (HeapIndex, Retention) {
    // The cache file is built while the index is: its big arrays are written in place.
    let keep = at.and_then(|loc| {
        let tmp = temporary_path(&loc.path);
        match KeepFile::create(&tmp, header_len(key.len()) as u64, loc.mode) {
            Ok(k) => Some(k),
            Err(e) => {
                note_unsaved(loc, &e);
                None
            }
        }
    });
    if let Some(k) = &keep {
        scratch.keep_in(k.clone());
    }
    let t = Instant::now();
    progress.phase("indexing objects", snap.dir.heap_bytes());
    let mut index = HeapIndex::build_with(snap, &|n| progress.advance(n), scratch, opts);
    progress.finish();
    let t_index = t.elapsed().as_secs_f64();
    let t = Instant::now();
    progress.phase_items("dominator tree", 4 * (index.len() as u64 + 1));
    let mut retention = Retention::compute_in(&mut index, opts.keep_unreachable, scratch, &|n| {
        progress.advance(n)
    });
    progress.finish();
    scratch.stop_keeping();
    let t_dom = t.elapsed().as_secs_f64();
    timing::print("index", t_index);
    timing::print("dominators", t_dom);
    if timing::enabled() {
        eprintln!(
            "timing: index memory {:>8.1} MB ({:.1} B/object + 4 B/reference; file-backed arrays {:.1} MB incl. unused bounds; random-access scratch in memory, peak {:.1} MB)",
            index.memory_bytes() as f64 / 1e6,
            (index.memory_bytes() - index.refs.targets.len() * 4) as f64 / index.len().max(1) as f64,
            scratch.file_bytes() as f64 / 1e6,
            scratch.heap_peak() as f64 / 1e6
        );
    }
    if let (Some(loc), Some(keep)) = (at, keep) {
        let t = Instant::now();
        // What `top` needs per class is stored too: on a hit it is not recomputed.
        progress.phase_items("retained sizes per class", 2 * index.len() as u64);
        let _ = retention
            .class_retained_memo
            .set(
                retention.class_retained_in(&index, snap.classes.len(), scratch, &|k| {
                    progress.advance(k)
                }),
            );
        progress.finish();
        timing::print("class retained", t.elapsed().as_secs_f64());
        let t = Instant::now();
        match write(&keep, key, snap, &index, &retention).and_then(|_| keep.save_as(&loc.path)) {
            Err(e) => note_unsaved(loc, &e),
            Ok(()) => {
                seal(&mut index, &mut retention, &keep);
                timing::print("cache write", t.elapsed().as_secs_f64());
            }
        }
    }
    (index, retention)
}

fn note_unsaved(loc: &Location, e: &std::io::Error) {
    eprintln!(
        "note: could not save the index cache {}: {e} (use --cache-dir DIR to put it elsewhere)",
        loc.path.display()
    );
}

/// Where the cache is built before it is renamed into place: `<cache>.tmp-<pid>-<random>`
/// (the pid tells [`remove_stale_temporaries`] whether its writer still runs; the random part
/// that nobody can plant a file or link there in advance).
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".tmp-{}-{:016x}",
        std::process::id(),
        files::random_token()
    ));
    path.with_file_name(name)
}

/// Removes temporaries of `path` left by processes that no longer run (killed while indexing):
/// each can be as big as the cache. Only where `/proc` tells which processes run. Called before
/// this process starts its own.
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let file = file.to_string_lossy();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Our own pid too: this process has not started its temporary yet (a container
        // often gives every run the same pid, and a killed run's file would block ours).
        if pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// After saving, the arrays that live in the cache file become read-only mappings of it.
fn seal(index: &mut HeapIndex, r: &mut Retention, keep: &KeepFile) {
    index.offsets.seal(keep);
    index.class_of.seal(keep);
    index.shallow.seal(keep);
    index.refs.starts.seal(keep);
    index.refs.targets.seal(keep);
    index.lookup.seal(keep);
    index.reach.seal(keep);
    r.tree.idom.seal(keep);
    r.tree.preorder.seal(keep);
    r.retained.seal(keep);
}

// ---- sections --------------------------------------------------------------------------------

/// The sections, in file order. Scalars are one `u64` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
enum Sec {
    Scalars,
    Offsets,
    ClassOf,
    Shallow,
    BigShallow,
    Starts,
    Targets,
    Roots,
    ClassObjects,
    LookupStarts,
    Idom,
    Preorder,
    Retained,
    ClassRetained,
    CensusClassDumps,
    CensusCounts,
    CensusGcRoots,
    CensusUnits,
    CensusSamples,
    CensusWarnings,
    CensusWarningText,
    Referents,
    Restored,
    Reach,
}
const SECTIONS: usize = Sec::Reach as usize + 1;

/// Scalars section: positions.
mod sc {
    pub const N: usize = 0;
    pub const DANGLING: usize = 1;
    pub const LOOKUP_MIN: usize = 2;
    pub const LOOKUP_SHIFT: usize = 3;
    pub const ROOT: usize = 4;
    pub const UNREACHABLE_OBJECTS: usize = 5;
    pub const UNREACHABLE_BYTES: usize = 6;
    pub const KEPT_UNREACHABLE: usize = 7;
    pub const CENSUS_OBJECTS: usize = 8;
    pub const CLASSES: usize = 9;
    pub const STRONG_ONLY: usize = 10;
    pub const DANGLING_ROOTS: usize = 11;
    pub const DUPLICATE_IDS: usize = 12;
    pub const ROOT_FALLBACK: usize = 13;
    pub const COUNT: usize = 14;
}

fn opt32(v: Option<u32>) -> u64 {
    v.map(|t| t as u64 | 1 << 32).unwrap_or(0)
}

fn unopt32(v: u64) -> Option<u32> {
    (v >> 32 != 0).then_some(v as u32)
}

fn counts_words(c: &Counts, out: &mut Vec<u64>) {
    out.push(c.instances);
    out.push(c.elements);
    out.extend_from_slice(&c.by_len_mod8);
}

fn counts_from(w: &[u64]) -> Counts {
    let mut by_len_mod8 = [0u64; 8];
    by_len_mod8.copy_from_slice(&w[2..10]);
    Counts {
        instances: w[0],
        elements: w[1],
        by_len_mod8,
    }
}

/// The census as words (see [`CacheFile::census`] for the reverse).
struct CensusWords {
    class_dumps: Vec<u64>,
    counts: Vec<u64>,
    gc_roots: Vec<u64>,
    units: Vec<u64>,
    samples: Vec<u64>,
    warnings: Vec<u64>,
    warning_text: Vec<u8>,
}

fn census_words(c: &Census<'_>) -> CensusWords {
    let mut counts = vec![];
    for p in &c.primitive_arrays {
        counts_words(p, &mut counts);
    }
    let mut by_class: Vec<(&u64, &Counts)> = c.by_class.iter().collect();
    by_class.sort_unstable_by_key(|p| *p.0);
    for (k, v) in by_class {
        counts.push(*k);
        counts_words(v, &mut counts);
    }
    let gc_roots = c
        .gc_roots
        .iter()
        .flat_map(|r| {
            [
                root_kind_code(r.kind) as u64,
                r.object_id,
                opt32(r.thread_serial),
                opt32(r.frame),
                r.jni_ref.is_some() as u64,
                r.jni_ref.unwrap_or(0),
            ]
        })
        .collect();
    let units = c
        .units
        .iter()
        .flat_map(|u| {
            [
                u.body.start as u64,
                u.body.end as u64,
                u.body.truncated as u64,
                u.min_id,
                u.max_id,
                u.objects,
            ]
        })
        .collect();
    let samples = c
        .gap_samples
        .iter()
        .flat_map(|g| match g.shape {
            ObjectShape::Instance { class_id } => [0, class_id, 0, g.gap],
            ObjectShape::ObjectArray { class_id, len } => [1, class_id, len as u64, g.gap],
            ObjectShape::PrimitiveArray { ty, len } => [2, ty.to_u8() as u64, len as u64, g.gap],
        })
        .collect();
    let mut warnings = vec![];
    let mut warning_text = vec![];
    for w in &c.warnings {
        warnings.push(w.offset);
        warnings.push(w.message.len() as u64);
        warning_text.extend_from_slice(w.message.as_bytes());
    }
    CensusWords {
        class_dumps: c.class_dumps.iter().map(|d| d.offset).collect(),
        counts,
        gc_roots,
        units,
        samples,
        warnings,
        warning_text,
    }
}

// ---- writing ---------------------------------------------------------------------------------

/// Bytes of the header for a key of `key_len` bytes: magic, version, key length, key (padded
/// to 8), then (offset, length) per section.
fn header_len(key_len: usize) -> usize {
    32 + key_len.div_ceil(8) * 8 + SECTIONS * 16
}

/// Completes the cache in `keep`: the sections that are not regions of it already are
/// appended, the header goes into the space reserved at the start, and the checksum of all that
/// last.
fn write(
    keep: &KeepFile,
    key: &[u8],
    snap: &Snapshot<'_>,
    index: &HeapIndex,
    r: &Retention,
) -> std::io::Result<()> {
    if cfg!(target_endian = "big") {
        return Err(std::io::Error::other(
            "the index cache is little-endian only",
        ));
    }
    let (min, shift, lookup_starts) = index.lookup.parts();
    let mut scalars = vec![0u64; sc::COUNT];
    scalars[sc::N] = index.len() as u64;
    scalars[sc::DANGLING] = index.dangling;
    scalars[sc::LOOKUP_MIN] = min;
    scalars[sc::LOOKUP_SHIFT] = shift as u64;
    scalars[sc::ROOT] = r.tree.root as u64;
    scalars[sc::UNREACHABLE_OBJECTS] = r.unreachable_objects;
    scalars[sc::UNREACHABLE_BYTES] = r.unreachable_bytes;
    scalars[sc::KEPT_UNREACHABLE] = r.kept_unreachable as u64;
    scalars[sc::CENSUS_OBJECTS] = snap.census.objects;
    scalars[sc::CLASSES] = snap.classes.len() as u64;
    scalars[sc::STRONG_ONLY] = index.strong_only as u64;
    scalars[sc::DANGLING_ROOTS] = index.dangling_roots;
    scalars[sc::DUPLICATE_IDS] = index.duplicate_ids;
    scalars[sc::ROOT_FALLBACK] = index.root_fallback as u64;
    let big: Vec<u64> = index
        .big_shallow
        .iter()
        .flat_map(|&(o, s)| [o as u64, s])
        .collect();
    let roots: Vec<u64> = index
        .roots
        .iter()
        .flat_map(|r| {
            [
                r.object as u64,
                root_kind_code(r.kind) as u64,
                opt32(r.thread_serial),
                opt32(r.frame),
            ]
        })
        .collect();
    let class_objects: Vec<u32> = index
        .class_objects
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .collect();
    let referents: Vec<u64> = index
        .referents
        .iter()
        .flat_map(|&(o, k)| [o as u64, k as u64])
        .collect();
    let restored: Vec<u32> = index.restored.iter().flat_map(|&(a, b)| [a, b]).collect();
    let class_retained: &[u64] = r.class_retained_memo.get().map_or(&[], |v| v.as_slice());
    let cw = census_words(&snap.census);
    // Each section: its bytes, and its offset when it is a region of the file already.
    let sections: [(&[u8], Option<u64>); SECTIONS] = [
        (bytes_of(&scalars), None),
        kept(&index.offsets, keep),
        kept(&index.class_of, keep),
        kept(&index.shallow, keep),
        (bytes_of(&big), None),
        kept(&index.refs.starts, keep),
        kept(&index.refs.targets, keep),
        (bytes_of(&roots), None),
        (bytes_of(&class_objects), None),
        kept(lookup_starts, keep),
        kept(&r.tree.idom, keep),
        kept(&r.tree.preorder, keep),
        kept(&r.retained, keep),
        (bytes_of(class_retained), None),
        (bytes_of(&cw.class_dumps), None),
        (bytes_of(&cw.counts), None),
        (bytes_of(&cw.gc_roots), None),
        (bytes_of(&cw.units), None),
        (bytes_of(&cw.samples), None),
        (bytes_of(&cw.warnings), None),
        (&cw.warning_text, None),
        (bytes_of(&referents), None),
        (bytes_of(&restored), None),
        kept(&index.reach, keep),
    ];
    let mut header = Vec::with_capacity(header_len(key.len()));
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&(VERSION as u64).to_le_bytes());
    header.extend_from_slice(&(key.len() as u64).to_le_bytes());
    header.extend_from_slice(key);
    header.resize(header.len().div_ceil(8) * 8, 0);
    for &(bytes, at) in &sections {
        let at = match at {
            Some(at) => at,
            None => keep.append(bytes, ALIGN as u64)?,
        };
        header.extend_from_slice(&at.to_le_bytes());
        header.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    }
    debug_assert_eq!(header.len(), header_len(key.len()));
    keep.write_at(0, &header)?;
    // The checksum goes at the next multiple of 8, and the reader sums every byte before it:
    // pad to there first (a last section of bytes, such as the reachability levels, ends
    // anywhere), so that the padding is summed too.
    let end = keep.size();
    let pad = (end.div_ceil(8) * 8 - end) as usize;
    keep.append(&[0u8; 8][..pad], 1)?;
    // Every byte before the checksum counts, gaps included: read back through the page cache
    // (the pages are all there, just written), one parallel pass.
    let sum = keep.with_contents(checksum)?;
    // No fsync: a cache torn by a crash fails its checksum and is rebuilt, and waiting for
    // gigabytes to reach the disk would double the first run.
    keep.append(&sum.to_le_bytes(), 8).map(|_| ())
}

/// A column's bytes, and its offset in `keep` when it is a region of it.
fn kept<'c, T: Pod>(c: &'c Column<T>, keep: &KeepFile) -> (&'c [u8], Option<u64>) {
    (bytes_of(c), c.kept_in(keep))
}

// ---- reading ---------------------------------------------------------------------------------

/// A cache is only used when it is ours: owned by this user (or root) and writable by nobody
/// else. Its checksum guards against damage, not forgery; someone who can plant a cache (in a
/// shared directory) could otherwise make us report their numbers for our dump.
fn trusted_owner(file: &File) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().map_err(|e| e.to_string())?;
        // SAFETY: no arguments, cannot fail.
        let me = unsafe { libc::geteuid() };
        if m.uid() != me && m.uid() != 0 {
            return Err(format!("it belongs to another user (uid {})", m.uid()));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!(
                "others may write to it (mode {:o})",
                m.mode() & 0o777
            ));
        }
    }
    let _ = file;
    Ok(())
}

/// Whether every offset points at an object sub-record (instance, array or class dump) and
/// the objects' ids ascend, as the index numbers them: one read per object of pages
/// the key's hash has just brought in.
fn objects_in_id_order(data: &[u8], offsets: &[u64], id_size: u8) -> bool {
    let id_at = |o: u64| -> Option<u64> {
        let o = o as usize;
        let tag = *data.get(o)?;
        if !(0x20..=0x23).contains(&tag) && tag != 0xC3 {
            return None;
        }
        let b = data.get(o + 1..o + 1 + id_size as usize)?;
        Some(b.iter().fold(0u64, |a, &x| a << 8 | x as u64))
    };
    if offsets.len() == 1 {
        return id_at(offsets[0]).is_some();
    }
    offsets
        .par_windows(2)
        // Equal ids only from distinct records (a dump may repeat an id).
        .all(|w| matches!((id_at(w[0]), id_at(w[1])), (Some(a), Some(b)) if a < b || (a == b && w[0] != w[1])))
}

/// Whether every node the tree reaches, except the root, is the target of some reference: a
/// tree computed from these references has that property, forged references rarely do.
fn reachable_have_referrers(idom: &[u32], targets: &[u32], root: u32) -> bool {
    let mut referred = vec![0u64; idom.len().div_ceil(64)];
    for &t in targets {
        if let Some(w) = referred.get_mut(t as usize / 64) {
            *w |= 1 << (t % 64);
        }
    }
    (0..idom.len())
        .into_par_iter()
        .all(|v| v == root as usize || idom[v] == NONE || referred[v / 64] >> (v % 64) & 1 != 0)
}

/// Whether `idom` and `preorder` form a tree rooted at `root` over `n + 1` nodes: the preorder
/// starts at the root and lists each node at most once, the root has no dominator, every
/// listed node but the root has one listed before it, and every unlisted node has none. The
/// loader walks the tree in reverse preorder, adding into each dominator's slot: a forged
/// tree must be rejected here, not fault there.
fn is_dominator_tree(idom: &[u32], preorder: &[u32], root: u32, n: usize) -> bool {
    if idom.len() != n + 1 || preorder.first() != Some(&root) || preorder.len() > n + 1 {
        return false;
    }
    let mut pos = vec![u32::MAX; n + 1];
    for (i, &v) in preorder.iter().enumerate() {
        match pos.get_mut(v as usize) {
            Some(p) if *p == u32::MAX => *p = i as u32,
            _ => return false,
        }
    }
    (0..=n).into_par_iter().all(|v| {
        let d = idom[v];
        if v == root as usize {
            return d == NONE;
        }
        if d == NONE {
            return pos[v] == u32::MAX;
        }
        pos[v] != u32::MAX && (d as usize) <= n && pos[d as usize] < pos[v]
    })
}

/// A mapped cache file whose magic, version, key and checksum matched.
struct CacheFile {
    map: Arc<Mmap>,
    sections: [(usize, usize); SECTIONS],
}

impl CacheFile {
    fn open(path: &Path, key: &[u8]) -> Option<CacheFile> {
        if cfg!(target_endian = "big") {
            return None;
        }
        let file = File::open(path).ok()?;
        if let Err(why) = trusted_owner(&file) {
            eprintln!(
                "note: not using the index cache {}: {why}; rebuilding it",
                path.display()
            );
            return None;
        }
        // SAFETY: cache files are only ever written under a temporary name and renamed into
        // place, so the file we mapped is complete and no writer modifies it afterwards (a
        // rebuild replaces the directory entry, not these bytes). Another program truncating it
        // under us could still fault, as with any mapped file.
        let map = unsafe { Mmap::map(&file) }.ok()?;
        let r = CacheFile::check(map, key);
        if r.is_none() {
            eprintln!(
                "note: ignoring the index cache {}: it is stale or damaged; rebuilding it",
                path.display()
            );
        }
        r
    }

    fn check(map: Mmap, key: &[u8]) -> Option<CacheFile> {
        let b: &[u8] = &map;
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
        };
        if b.len() < 48 || &b[..16] != MAGIC || word(16)? != VERSION as u64 {
            return None;
        }
        let klen = word(24)? as usize;
        if b.get(32..32usize.checked_add(klen)?)? != key {
            return None;
        }
        let table_at = (32 + klen).div_ceil(8) * 8;
        let header_len = table_at + SECTIONS * 16;
        let mut sections = [(0usize, 0usize); SECTIONS];
        let body_end = b.len().checked_sub(8)?;
        for (i, s) in sections.iter_mut().enumerate() {
            let off = word(table_at + i * 16)? as usize;
            let len = word(table_at + i * 16 + 8)? as usize;
            if !off.is_multiple_of(ALIGN) || off < header_len || off.checked_add(len)? > body_end {
                return None;
            }
            *s = (off, len);
        }
        if checksum(&b[..body_end]) != word(body_end)? {
            return None;
        }
        Some(CacheFile {
            map: Arc::new(map),
            sections,
        })
    }

    fn column<T: Pod>(&self, s: Sec) -> Option<Column<T>> {
        let (off, len) = self.sections[s as usize];
        let size = std::mem::size_of::<T>();
        if len % size != 0 {
            return None;
        }
        Column::mapped(self.map.clone(), off, len / size)
    }

    fn words(&self, s: Sec) -> Option<&[u64]> {
        let (off, len) = self.sections[s as usize];
        if len == 0 {
            return Some(&[]); // wherever an empty section was placed
        }
        let b = self.map.get(off..off + len)?;
        if !len.is_multiple_of(8) || !(b.as_ptr() as usize).is_multiple_of(8) {
            return None;
        }
        // SAFETY: aligned (checked), in bounds, any bit pattern is a valid u64; borrowed from
        // `self.map`, which outlives the slice.
        Some(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const u64, len / 8) })
    }

    fn bytes(&self, s: Sec) -> Option<&[u8]> {
        let (off, len) = self.sections[s as usize];
        self.map.get(off..off + len)
    }

    /// The census as it was when the cache was written; class dumps are re-read from the dump.
    fn census<'a>(&self, dir: &Directory<'a>) -> Option<Census<'a>> {
        let id_size = dir.id_size();
        let mut class_dumps = vec![];
        for &off in self.words(Sec::CensusClassDumps)? {
            match parse_sub_record(dir.data, off as usize, id_size).ok()?.0 {
                SubRecord::Class(c) => class_dumps.push(c),
                _ => return None,
            }
        }
        let counts = self.words(Sec::CensusCounts)?;
        if counts.len() < 90 || (counts.len() - 90) % 11 != 0 {
            return None;
        }
        let mut primitive_arrays = [Counts::default(); 9];
        for (i, p) in primitive_arrays.iter_mut().enumerate() {
            *p = counts_from(&counts[i * 10..i * 10 + 10]);
        }
        let mut by_class = new_map();
        for c in counts[90..].chunks_exact(11) {
            by_class.insert(c[0], counts_from(&c[1..]));
        }
        let mut gc_roots = vec![];
        let mut roots: BTreeMap<RootKind, u64> = BTreeMap::new();
        for c in self.words(Sec::CensusGcRoots)?.chunks_exact(6) {
            let kind = root_kind_from_code(c[0] as u8)?;
            *roots.entry(kind).or_default() += 1;
            gc_roots.push(GcRoot {
                kind,
                object_id: c[1],
                thread_serial: unopt32(c[2]),
                frame: unopt32(c[3]),
                jni_ref: (c[4] != 0).then_some(c[5]),
            });
        }
        let units = self
            .words(Sec::CensusUnits)?
            .chunks_exact(6)
            .map(|c| {
                let body = HeapBody {
                    start: c[0] as usize,
                    end: c[1] as usize,
                    truncated: c[2] != 0,
                };
                (body.start <= body.end && body.end <= dir.data.len()).then_some(Unit {
                    body,
                    min_id: c[3],
                    max_id: c[4],
                    objects: c[5],
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let gap_samples = self
            .words(Sec::CensusSamples)?
            .chunks_exact(4)
            .map(|c| {
                let shape = match c[0] {
                    0 => ObjectShape::Instance { class_id: c[1] },
                    1 => ObjectShape::ObjectArray {
                        class_id: c[1],
                        len: c[2] as u32,
                    },
                    2 => ObjectShape::PrimitiveArray {
                        ty: BasicType::from_u8(c[1] as u8)?,
                        len: c[2] as u32,
                    },
                    _ => return None,
                };
                Some(GapSample { shape, gap: c[3] })
            })
            .collect::<Option<Vec<_>>>()?;
        let text = self.bytes(Sec::CensusWarningText)?;
        let mut warnings = vec![];
        let mut at = 0usize;
        for c in self.words(Sec::CensusWarnings)?.chunks_exact(2) {
            let end = at.checked_add(c[1] as usize)?;
            warnings.push(Warning {
                offset: c[0],
                message: String::from_utf8(text.get(at..end)?.to_vec()).ok()?,
            });
            at = end;
        }
        let objects = self.words(Sec::Scalars)?.get(sc::CENSUS_OBJECTS).copied()?;
        // Counts are multiplied by sizes later: a forged count must not overflow them. Every
        // object and element takes at least a byte of the dump.
        let bytes = dir.data.len() as u64;
        let plausible = |c: &Counts| {
            c.instances <= bytes
                && c.elements <= bytes
                && c.by_len_mod8.iter().all(|&k| k <= bytes)
                && c.by_len_mod8.iter().sum::<u64>() <= c.instances
        };
        let all = primitive_arrays.iter().chain(by_class.values());
        let mut instances = 0u64;
        for c in all {
            if !plausible(c) {
                return None;
            }
            instances = instances.checked_add(c.instances)?;
        }
        if objects > bytes || instances > objects {
            return None;
        }
        Some(Census {
            class_dumps,
            by_class,
            primitive_arrays,
            roots,
            gc_roots,
            objects,
            units,
            gap_samples,
            warnings,
        })
    }

    /// The index and retention, mapped; `None` when any shape check fails.
    fn graph(&self, snap: &Snapshot<'_>) -> Option<(HeapIndex, Retention)> {
        let s = self.words(Sec::Scalars)?;
        if s.len() != sc::COUNT || s[sc::CLASSES] != snap.classes.len() as u64 {
            return None;
        }
        let n = s[sc::N] as usize;
        let offsets: Column<u64> = self.column(Sec::Offsets)?;
        let class_of: Column<u32> = self.column(Sec::ClassOf)?;
        let shallow: Column<u32> = self.column(Sec::Shallow)?;
        let starts: Column<u64> = self.column(Sec::Starts)?;
        let targets: Column<u32> = self.column(Sec::Targets)?;
        let idom: Column<u32> = self.column(Sec::Idom)?;
        let preorder: Column<u32> = self.column(Sec::Preorder)?;
        let retained: Column<u64> = self.column(Sec::Retained)?;
        let reach: Column<u8> = self.column(Sec::Reach)?;
        let root = s[sc::ROOT] as u32;
        let data_len = snap.bytes.bytes().len() as u64;
        let classes = snap.classes.len() as u32;
        // Shapes must agree before anything indexes with them (the checksum guards against
        // damage; these against a cache written by a buggy or different build).
        let ok = offsets.len() == n
            && class_of.len() == n
            && shallow.len() == n
            && starts.len() == n + 2
            && idom.len() == n + 1
            && retained.len() == n + 1
            && reach.len() == n
            && reach
                .par_iter()
                .all(|&l| (l as usize) < super::reachability::LEVELS)
            && root as usize == n
            && starts.last().copied() == Some(targets.len() as u64)
            && starts.par_windows(2).all(|w| w[0] <= w[1])
            && starts.first() == Some(&0)
            && targets.par_iter().all(|&t| (t as usize) <= n)
            && offsets.par_iter().all(|&o| o < data_len)
            && objects_in_id_order(snap.bytes.bytes(), &offsets, snap.dir.id_size())
            && class_of.par_iter().all(|&c| c == u32::MAX || c < classes)
            && is_dominator_tree(&idom, &preorder, root, n)
            && reachable_have_referrers(&idom, &targets, root)
            // Retained sizes only grow towards the root.
            && (0..=n).into_par_iter().all(|v| {
                let d = idom[v];
                d == NONE || retained[d as usize] >= retained[v]
            });
        if !ok {
            return None;
        }
        let roots = self
            .words(Sec::Roots)?
            .chunks_exact(4)
            .map(|c| {
                Some(Root {
                    object: c[0] as u32,
                    kind: root_kind_from_code(c[1] as u8)?,
                    thread_serial: unopt32(c[2]),
                    frame: unopt32(c[3]),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        if roots.iter().any(|r| r.object as usize >= n) {
            return None;
        }
        let class_objects: Vec<(u32, u32)> = self
            .column::<u32>(Sec::ClassObjects)?
            .chunks_exact(2)
            .map(|c| (c[0], c[1]))
            .collect();
        if class_objects
            .iter()
            .any(|&(o, c)| o as usize >= n || c >= classes)
        {
            return None;
        }
        let big_shallow: Vec<(u32, u64)> = self
            .words(Sec::BigShallow)?
            .chunks_exact(2)
            .map(|c| (c[0] as u32, c[1]))
            .collect();
        if big_shallow.iter().any(|&(o, _)| o as usize >= n)
            || big_shallow.windows(2).any(|w| w[0].0 >= w[1].0)
        {
            return None;
        }
        let referents: Vec<(u32, u8)> = self
            .words(Sec::Referents)?
            .chunks_exact(2)
            .map(|c| (c[0] as u32, c[1] as u8))
            .collect();
        let restored: Vec<(u32, u32)> = self
            .column::<u32>(Sec::Restored)?
            .chunks_exact(2)
            .map(|c| (c[0], c[1]))
            .collect();
        let sorted = |v: &[(u32, u32)]| v.windows(2).all(|w| w[0] <= w[1]);
        if referents
            .iter()
            .any(|&(o, k)| o as usize >= n || k as usize >= 5)
            || !referents.windows(2).all(|w| w[0].0 < w[1].0)
            || restored
                .iter()
                .any(|&(a, b)| a as usize >= n || b as usize >= n)
            || !sorted(&restored)
        {
            return None;
        }
        let class_retained = self.words(Sec::ClassRetained)?;
        let memo = OnceLock::new();
        if class_retained.len() == classes as usize {
            let _ = memo.set(class_retained.to_vec());
        }
        let index = HeapIndex {
            lookup: IdLookup::from_column(
                s[sc::LOOKUP_MIN],
                s[sc::LOOKUP_SHIFT] as u32,
                self.column(Sec::LookupStarts)?,
                n,
            )?,
            offsets,
            id_size: snap.dir.id_size(),
            class_of,
            shallow,
            big_shallow,
            refs: Csr { starts, targets },
            roots,
            class_objects,
            dangling: s[sc::DANGLING],
            dangling_roots: s[sc::DANGLING_ROOTS],
            duplicate_ids: s[sc::DUPLICATE_IDS],
            root_fallback: RootFallback::from_code(s[sc::ROOT_FALLBACK])?,
            referents,
            restored,
            reach,
            strong_only: s[sc::STRONG_ONLY] != 0,
            reach_totals_memo: Default::default(),
        };
        let retention = Retention {
            tree: DominatorTree {
                idom,
                preorder,
                root,
            },
            retained,
            unreachable_objects: s[sc::UNREACHABLE_OBJECTS],
            unreachable_bytes: s[sc::UNREACHABLE_BYTES],
            kept_unreachable: s[sc::KEPT_UNREACHABLE] != 0,
            class_retained_memo: memo,
            children_memo: OnceLock::new(),
        };
        Some((index, retention))
    }
}

/// Forging caches, for the regression tests and the fuzz target: a forger can recompute the
/// checksum too, so forged contents must be caught by the loader's own checks, and these let
/// the tests and the fuzzer reach them.
#[doc(hidden)]
pub mod forgery {
    use super::*;

    /// (offset, length) of each section of the cache file `b`, in [`Sec`] order.
    pub fn sections(b: &[u8]) -> Option<Vec<(usize, usize)>> {
        let word = |at: usize| -> Option<usize> {
            Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?) as usize)
        };
        let table_at = (32 + word(24)?).div_ceil(8) * 8;
        (0..SECTIONS)
            .map(|i| Some((word(table_at + i * 16)?, word(table_at + i * 16 + 8)?)))
            .collect()
    }

    /// Recomputes the trailing checksum of the cache file `b` after its bytes were changed.
    pub fn reseal(b: &mut [u8]) {
        if b.len() >= 8 {
            let end = b.len() - 8;
            let sum = checksum(&b[..end]);
            b[end..].copy_from_slice(&sum.to_le_bytes());
        }
    }

    /// Loads `dump` with the cache file `cache` as the index cache (resealed first, so any
    /// bytes reach the shape checks); when it is accepted, walks what the analyses walk.
    /// Returns whether it was accepted. Never panics on any `cache` (that is what is fuzzed).
    pub fn load(dump: &DumpBytes, cache: &[u8]) -> bool {
        let overrides = Overrides::default();
        let key = key(dump, overrides, false.into());
        let mut b = cache.to_vec();
        // The key is the dump's: put it in place so the forged sections are what is tested.
        if b.len() >= 32 + key.len() {
            b[24..32].copy_from_slice(&(key.len() as u64).to_le_bytes());
            b[32..32 + key.len()].copy_from_slice(&key);
        }
        reseal(&mut b);
        let Ok(mut anon) = memmap2::MmapMut::map_anon(b.len().max(1)) else {
            return false;
        };
        anon[..b.len()].copy_from_slice(&b);
        let Ok(map) = anon.make_read_only() else {
            return false;
        };
        let Some(f) = CacheFile::check(map, &key) else {
            return false;
        };
        let Ok(snap) =
            Snapshot::load_with(dump, overrides, &super::super::snapshot::NoProgress, |d| {
                f.census(d)
            })
        else {
            return false;
        };
        let Some((_index, retention)) = f.graph(&snap) else {
            return false;
        };
        let children = retention.children(&Scratch::memory());
        !children.starts.is_empty()
    }
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
