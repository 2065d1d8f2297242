//! What building the index of a dump will need (memory, disk, time), said before the first pass
//! over the dump, so that a run that cannot finish stops at once instead of after an hour.
//!
//! The object and reference counts are estimated from a sample: 64 windows of 256 KiB spread
//! evenly over the heap dump records' bytes. The index
//! costs are the ones measured on generated and JVM dumps (bench/README.md): 25.6 bytes an object
//! and 4 a reference in the index, 41 and 4 in the cache file, about 22 bytes an object of
//! randomly written dominator scratch, kept in memory within the budget and in files beyond it.

use super::column::Scratch;
use crate::formats::hprof::reader::{parse_sub_record, SubRecord};
use crate::formats::hprof::Directory;
use std::path::{Path, PathBuf};

const SAMPLE_WINDOWS: usize = 64;
const WINDOW_BYTES: usize = 256 << 10;
const INDEX_PER_OBJECT: f64 = 25.6;
const CACHE_PER_OBJECT: f64 = 41.0;
const PER_REFERENCE: f64 = 4.0;
const HOT_PER_OBJECT: f64 = 22.0;
/// Seconds per million objects for index, dominators and analyses on one core (measured on this
/// project's 2-core machine: 130M objects in about 5 minutes with both cores).
const SECONDS_PER_MILLION_OBJECTS_ONE_CORE: f64 = 4.0;

/// The estimate for one dump.
#[derive(Clone, Debug)]
pub struct ResourcePlan {
    pub dump_bytes: u64,
    pub objects: u64,
    pub references: u64,
    /// Windows of the heap dump records sampled.
    pub sampled: usize,
    /// The index's arrays.
    pub index_bytes: u64,
    /// The anonymous memory the dominator scratch may take (the rest goes to files).
    pub memory_budget: u64,
    /// Memory available to this process: MemAvailable, or what the cgroup still allows.
    pub memory_available: Option<u64>,
    /// Whether the cgroup's limit is what bounds `memory_available`.
    pub cgroup_limited: bool,
    /// The index cache file, when one is written.
    pub cache_bytes: u64,
    /// Disk the run needs in `dir`: the cache file or the index's scratch files, and the
    /// dominator scratch beyond the memory budget.
    pub disk_needed: u64,
    pub disk_free: Option<u64>,
    pub dir: PathBuf,
    pub seconds: f64,
}

impl ResourcePlan {
    /// Estimates what indexing `data` needs with scratch and cache files in `dir`.
    pub fn estimate(
        data: &[u8],
        dir: &Path,
        with_cache: bool,
        scratch: &Scratch,
    ) -> Option<ResourcePlan> {
        let d = Directory::read(data).ok()?;
        let (objects, references, sampled) = sample(&d, data)?;
        let index_bytes =
            (objects as f64 * INDEX_PER_OBJECT + references as f64 * PER_REFERENCE) as u64;
        let cache_bytes = if with_cache {
            (objects as f64 * CACHE_PER_OBJECT + references as f64 * PER_REFERENCE) as u64
        } else {
            0
        };
        let (available, cgroup_limited) = available_memory();
        let hot = (objects as f64 * HOT_PER_OBJECT) as u64;
        let memory_budget = scratch.heap_budget.min(hot);
        let disk_needed = cache_bytes.max(index_bytes) + hot.saturating_sub(memory_budget);
        let cores = rayon::current_num_threads().clamp(1, 2) as f64;
        Some(ResourcePlan {
            dump_bytes: data.len() as u64,
            objects,
            references,
            sampled,
            index_bytes,
            memory_budget,
            memory_available: available,
            cgroup_limited,
            cache_bytes,
            disk_needed,
            disk_free: free_disk(dir),
            dir: dir.to_path_buf(),
            seconds: objects as f64 / 1e6 * SECONDS_PER_MILLION_OBJECTS_ONE_CORE / cores,
        })
    }

    /// An error naming what to do when the disk cannot hold what the run needs.
    pub fn check(&self) -> Result<(), String> {
        match self.disk_free {
            Some(free) if free < self.disk_needed => Err(format!(
                "indexing this dump needs about {} of disk in {} (the index cache and scratch files) but only {} is free; free some space, pass --cache-dir on a bigger disk, or --no-cache (about {} of scratch files)",
                gb(self.disk_needed),
                self.dir.display(),
                gb(free),
                gb(self.index_bytes + (self.objects as f64 * HOT_PER_OBJECT) as u64 - self.memory_budget.min((self.objects as f64 * HOT_PER_OBJECT) as u64)),
            )),
            _ => Ok(()),
        }
    }

    /// One paragraph for stderr.
    pub fn describe(&self) -> String {
        let avail = match self.memory_available {
            Some(a) if self.cgroup_limited => format!(" of {} the cgroup allows", gb(a)),
            Some(a) => format!(" of {} available", gb(a)),
            None => String::new(),
        };
        let cache = if self.cache_bytes > 0 {
            format!(", index cache about {}", gb(self.cache_bytes))
        } else {
            String::new()
        };
        let free = self
            .disk_free
            .map(|f| format!(" ({} free)", gb(f)))
            .unwrap_or_default();
        format!(
            "plan: about {:.0}M objects and {:.0}M references (sampled {} windows); index about {}, dominator scratch up to {} in memory{avail}, the rest in files{cache}; disk needed about {} in {}{free}; roughly {}",
            self.objects as f64 / 1e6,
            self.references as f64 / 1e6,
            self.sampled,
            gb(self.index_bytes),
            gb(self.memory_budget),
            gb(self.disk_needed),
            self.dir.display(),
            minutes(self.seconds),
        )
    }
}

fn gb(b: u64) -> String {
    crate::units::human_bytes(b)
}

fn minutes(s: f64) -> String {
    if s < 90.0 {
        format!("{:.0} s", s.max(1.0))
    } else {
        format!("{:.0} min", s / 60.0)
    }
}

/// Objects and references per byte in windows spread evenly over the heap dump records'
/// bytes, scaled to all of them. A window starts inside a record, at the first offset from
/// which a chain of sub-records parses (see [`sync`]).
fn sample(d: &Directory<'_>, data: &[u8]) -> Option<(u64, u64, usize)> {
    let bodies = &d.heap_bodies;
    let total: u64 = bodies.iter().map(|b| (b.end - b.start) as u64).sum();
    if total == 0 {
        return None;
    }
    let id_size = d.id_size();
    let (mut read, mut objects, mut refs, mut n) = (0u64, 0u64, 0u64, 0usize);
    let (mut body, mut body_from) = (0usize, 0u64);
    for k in 0..SAMPLE_WINDOWS {
        // The window's place in the concatenated bodies, then in the file.
        let at = total / SAMPLE_WINDOWS as u64 * k as u64;
        while body_from + ((bodies[body].end - bodies[body].start) as u64) <= at {
            body_from += (bodies[body].end - bodies[body].start) as u64;
            body += 1;
        }
        let b = &bodies[body];
        let start = b.start + (at - body_from) as usize;
        let Some(mut pos) = sync(data, start, b.end, id_size) else {
            continue;
        };
        let from = pos;
        let end = b.end.min(pos + WINDOW_BYTES);
        while pos < end {
            let Ok((rec, next)) = parse_sub_record(&data[..b.end], pos, id_size) else {
                break;
            };
            let (o, r) = counts(&rec, id_size);
            objects += o;
            refs += r;
            pos = next;
        }
        read += (pos - from) as u64;
        n += 1;
    }
    if read == 0 {
        return None;
    }
    let scale = total as f64 / read as f64;
    Some((
        (objects as f64 * scale) as u64,
        (refs as f64 * scale) as u64,
        n,
    ))
}

/// Objects and (estimated) references of one sub-record. Instances: about 3 in 4 of the non-zero
/// id-sized words of their fields are references (measured on JDK classes), plus the edge to
/// their class.
fn counts(rec: &SubRecord<'_>, id_size: u8) -> (u64, u64) {
    let nonzero_words = |bytes: &[u8]| {
        bytes
            .chunks_exact(id_size as usize)
            .filter(|w| w.iter().any(|&x| x != 0))
            .count() as u64
    };
    match rec {
        SubRecord::Instance(i) => (1, 1 + nonzero_words(i.fields) * 3 / 4),
        SubRecord::ObjectArray(a) => (1, 1 + nonzero_words(a.elements)),
        SubRecord::PrimitiveArray(_) | SubRecord::Class(_) => (1, 0),
        _ => (0, 0),
    }
}

/// The first offset at or after `from` (within 64 KiB) from which 32 sub-records in a row
/// parse and stay inside the record: a sub-record boundary, with a false match as unlikely as
/// 32 valid tags landing where lengths say.
fn sync(data: &[u8], from: usize, end: usize, id_size: u8) -> Option<usize> {
    let body = &data[..end];
    (from..end.min(from + (64 << 10))).find(|&q| {
        let mut pos = q;
        for _ in 0..32 {
            match parse_sub_record(body, pos, id_size) {
                Ok((_, next)) if next > pos && next <= end => pos = next,
                _ => return false,
            }
            if pos == end {
                return true;
            }
        }
        true
    })
}

/// MemAvailable, or what the cgroup (v2) still allows if that is less; and whether the cgroup
/// is the bound.
pub fn available_memory() -> (Option<u64>, bool) {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let cgroup = cgroup_room();
    match (meminfo, cgroup) {
        (Some(m), Some(c)) if c < m => (Some(c), true),
        (Some(m), _) => (Some(m), false),
        (None, Some(c)) => (Some(c), true),
        (None, None) => (None, false),
    }
}

/// `memory.max - memory.current` of this process's cgroup (v2), when it has a limit.
fn cgroup_room() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    // The tightest limit on the way up to the root.
    let mut room: Option<u64> = None;
    let mut at = Some(dir.as_path());
    while let Some(d) = at {
        let max = std::fs::read_to_string(d.join("memory.max")).ok();
        let cur = std::fs::read_to_string(d.join("memory.current")).ok();
        if let (Some(max), Some(cur)) = (max, cur) {
            if let (Ok(max), Ok(cur)) = (max.trim().parse::<u64>(), cur.trim().parse::<u64>()) {
                let r = max.saturating_sub(cur);
                room = Some(room.map_or(r, |x| x.min(r)));
            }
        }
        if d == Path::new("/sys/fs/cgroup") {
            break;
        }
        at = d.parent();
    }
    room
}

/// Free bytes on the file system holding `dir` (or its nearest existing parent).
fn free_disk(dir: &Path) -> Option<u64> {
    let mut d = dir;
    while !d.exists() {
        d = d.parent()?;
    }
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(d.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct it is given; `c` is a valid NUL-terminated path.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

/// The dominator scratch budget: at most 40% of the dump (the anonymous memory target is half
/// the dump) and at most half of the memory this process may still use, so that a run inside a
/// container or a small machine pages file-backed arrays instead of being killed.
pub fn memory_budget(dump_bytes: u64) -> u64 {
    let by_dump = dump_bytes / 5 * 2;
    match available_memory().0 {
        Some(a) => by_dump.min(a / 2),
        None => by_dump,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_from_this_machine() {
        let (a, _) = available_memory();
        assert!(a.is_some_and(|a| a > 0));
        assert!(memory_budget(1 << 40) <= a.unwrap() / 2);
        assert_eq!(memory_budget(1000), 400);
    }

    #[test]
    fn free_disk_is_found_from_a_missing_directory() {
        let free = free_disk(Path::new("/tmp/does/not/exist/yet"));
        assert!(free.is_some_and(|f| f > 0));
    }

    #[test]
    fn a_disk_too_small_is_an_error_saying_what_to_do() {
        let p = ResourcePlan {
            dump_bytes: 40 << 30,
            objects: 600_000_000,
            references: 1_200_000_000,
            sampled: 32,
            index_bytes: 20 << 30,
            memory_budget: 6 << 30,
            memory_available: Some(20 << 30),
            cgroup_limited: false,
            cache_bytes: 30 << 30,
            disk_needed: 37 << 30,
            disk_free: Some(10 << 30),
            dir: PathBuf::from("/var/cache"),
            seconds: 1200.0,
        };
        let e = p.check().unwrap_err();
        assert!(
            e.contains("/var/cache") && e.contains("--cache-dir") && e.contains("--no-cache"),
            "{e}"
        );
        assert!(p.describe().contains("600M objects"));
        let fits = ResourcePlan {
            disk_free: Some(40 << 30),
            ..p
        };
        assert!(fits.check().is_ok());
    }
}
