//! `jcmd <pid> VM.native_memory summary|detail` and their `summary.diff` / `detail.diff` forms, any
//! `scale=` (every number carries its unit, so the scale needs no special case), JDK 8 to 25.
//!
//! ```text
//! Total: reserved=1735271KB, committed=362331KB            (diff: reserved=1870364KB +131086KB, ...)
//! -                     Class (reserved=1049194KB, committed=1386KB)
//!                             (classes #1315)
//!                             (malloc=618KB #5474) (at peak)          (JDK 25: malloc=636KB tag=Class #5586)
//!                             (mmap: reserved=1048576KB, committed=768KB)
//!                             (  Metadata:   )  (    used=3458KB)
//! Details:                                                    (detail only: malloc call sites)
//! [0x00007f668b8d0c9c] Unsafe_AllocateMemory0+0x7c
//!                              (malloc=24586KB type=Other #26) (at peak)     (JDK 25: ((malloc=... tag=Other #26) ...))
//! ```

use super::{parse_delta, parse_size, LineStats};
use serde::Serialize;

/// One `jcmd VM.native_memory` output. Sizes in bytes; `*_delta` only in `.diff` outputs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NmtReport {
    pub pid: Option<u32>,
    /// A `summary.diff` / `detail.diff` output (values are current, deltas against the baseline).
    pub diff: bool,
    /// A `detail` output (has call sites, possibly none).
    pub detail: bool,
    pub reserved: u64,
    pub committed: u64,
    pub reserved_delta: Option<i64>,
    pub committed_delta: Option<i64>,
    pub categories: Vec<Category>,
    pub sites: Vec<CallSite>,
    pub stats: LineStats,
}

/// One NMT category (`Java Heap`, `Class`, `Thread`, `Other`, ...).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Category {
    pub name: String,
    pub reserved: u64,
    pub committed: u64,
    pub reserved_delta: Option<i64>,
    pub committed_delta: Option<i64>,
    pub malloc: Option<u64>,
    pub malloc_delta: Option<i64>,
    pub malloc_count: Option<u64>,
    pub mmap_committed: Option<u64>,
    pub arena: Option<u64>,
    /// `Class`: loaded classes.
    pub classes: Option<u64>,
    pub classes_delta: Option<i64>,
    /// `Thread`: live threads.
    pub threads: Option<u64>,
    pub threads_delta: Option<i64>,
    /// `Class`, JDK 16+: Metaspace non-class and class-space bytes in use.
    pub metadata_used: Option<u64>,
    pub class_space_used: Option<u64>,
}

/// A malloc call site of a `detail` output: the native stack and what it holds.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct CallSite {
    /// Frames, innermost first, without their addresses (`Unsafe_AllocateMemory0+0x7c`); an unnamed
    /// frame is its address.
    pub frames: Vec<String>,
    pub category: Option<String>,
    pub malloc: u64,
    pub malloc_delta: Option<i64>,
    pub count: Option<u64>,
}

impl CallSite {
    /// The first named frame, without its `+0x..` offset: what a user would search for.
    pub fn top_frame(&self) -> String {
        self.frames
            .iter()
            .find(|f| !f.starts_with("0x"))
            .or(self.frames.first())
            .map(|f| f.split("+0x").next().unwrap_or(f).to_string())
            .unwrap_or_else(|| "(no frames)".into())
    }
}

#[derive(PartialEq)]
enum Section {
    Summary,
    VirtualMap,
    Details,
}

/// Parses one output; never fails (an empty report for text that is not NMT: see `stats`).
pub fn parse(text: &str) -> NmtReport {
    let mut r = NmtReport::default();
    let mut section = Section::Summary;
    let mut sub = ""; // "Metadata" / "Class space" inside Class
    let mut frames: Vec<String> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        r.stats.lines += 1;
        let line = raw.trim();
        if line.is_empty()
            || line.starts_with("Native Memory Tracking")
            || line.starts_with("(Omitting")
        {
            continue;
        }
        if r.pid.is_none() && no < 3 {
            if let Some(p) = line.strip_suffix(':').and_then(|p| p.parse().ok()) {
                r.pid = Some(p);
                continue;
            }
        }
        if line.starts_with("Virtual memory map") {
            section = Section::VirtualMap;
            r.detail = true;
            continue;
        }
        if line.starts_with("Details:") {
            section = Section::Details;
            r.detail = true;
            frames.clear();
            continue;
        }
        if let Some(rest) = line.strip_prefix("Total:") {
            let (res, rd) = value(rest, "reserved=").unwrap_or((0, None));
            let (com, cd) = value(rest, "committed=").unwrap_or((0, None));
            r.reserved = res;
            r.committed = com;
            r.reserved_delta = rd;
            r.committed_delta = cd;
            r.diff |= rd.is_some() || cd.is_some();
            continue;
        }
        if line.starts_with("malloc:") || line.starts_with("mmap:") {
            continue; // Total's breakdown
        }
        // detail.diff has no "Details:" header: its call sites follow the categories.
        if section == Section::Summary && line.starts_with("[0x") && !line.contains(" - ") {
            section = Section::Details;
            r.detail = true;
            frames.clear();
        }
        match section {
            Section::Summary => summary_line(&mut r, &mut sub, no, raw, line),
            Section::VirtualMap => {
                // Reserved/committed regions with their stacks: recognised, not needed for growth.
                if !(line.starts_with('[') || line.starts_with('(')) {
                    r.stats.skip(no, raw);
                }
            }
            Section::Details => details_line(&mut r, &mut frames, no, raw, line),
        }
    }
    r
}

/// One line of the summary part: a category (`- Class (reserved=...)`) or one of its detail lines
/// (classes, threads, malloc, mmap, arena, Metaspace used); `sub` is the Metaspace part being read.
fn summary_line(r: &mut NmtReport, sub: &mut &'static str, no: usize, raw: &str, line: &str) {
    if let Some(rest) = line.strip_prefix('-') {
        if let Some(open) = rest.find("(reserved=") {
            let name = rest.get(..open).unwrap_or("").trim().to_string();
            let body = rest.get(open..).unwrap_or("");
            let (res, rd) = value(body, "reserved=").unwrap_or((0, None));
            let (com, cd) = value(body, "committed=").unwrap_or((0, None));
            r.diff |= rd.is_some() || cd.is_some();
            r.categories.push(Category {
                name,
                reserved: res,
                committed: com,
                reserved_delta: rd,
                committed_delta: cd,
                ..Default::default()
            });
            *sub = "";
            return;
        }
    }
    let Some(c) = r.categories.last_mut() else {
        r.stats.skip(no, raw);
        return;
    };
    if !(line.starts_with('(') || line.starts_with(':')) {
        r.stats.skip(no, raw);
        return;
    }
    if line.contains("Metadata") {
        *sub = "Metadata";
    } else if line.contains("Class space") {
        *sub = "Class space";
    }
    if let Some((n, d)) = count(line, "(classes #") {
        c.classes = Some(n);
        c.classes_delta = d;
    } else if let Some((n, d)) = count(line, "(thread #").or_else(|| count(line, "(threads #")) {
        c.threads = Some(n);
        c.threads_delta = d;
    } else if line.contains("(malloc=") {
        if let Some(m) = malloc(line) {
            c.malloc = Some(m.malloc);
            c.malloc_delta = m.malloc_delta;
            c.malloc_count = m.count;
        }
    } else if line.starts_with("(mmap:") {
        c.mmap_committed = value(line, "committed=").map(|v| v.0);
    } else if line.starts_with("(arena=") {
        c.arena = value(line, "arena=").map(|v| v.0);
    } else if let Some((used, _)) = value(line, "used=") {
        match *sub {
            "Metadata" => c.metadata_used = Some(used),
            "Class space" => c.class_space_used = Some(used),
            _ => {}
        }
    }
}

/// One line of the detail part: a stack frame of the next call site, or the call site's malloc
/// line, which takes the frames read since the last site.
fn details_line(r: &mut NmtReport, frames: &mut Vec<String>, no: usize, raw: &str, line: &str) {
    if let Some(rest) = line.strip_prefix('[') {
        // "[0x00007f668b8d0c9c] Unsafe_AllocateMemory0+0x7c" (JDK 25: no space after ']').
        let (addr, sym) = match rest.find(']') {
            Some(e) => (
                rest.get(..e).unwrap_or(""),
                rest.get(e + 1..).unwrap_or("").trim(),
            ),
            None => (rest, ""),
        };
        if addr.contains(" - ") {
            // A virtual-memory region inside a detail.diff: not a call site.
            frames.clear();
            return;
        }
        frames.push(if sym.is_empty() {
            addr.to_string()
        } else {
            sym.to_string()
        });
    } else if line.contains("(malloc=") {
        if let Some(mut m) = malloc(line) {
            m.frames = std::mem::take(frames);
            r.sites.push(m);
        }
        r.diff |= r.sites.last().is_some_and(|s| s.malloc_delta.is_some());
    } else if line.starts_with('(') {
        frames.clear(); // an mmap site or a continuation: not a malloc site
    } else {
        r.stats.skip(no, raw);
    }
}

/// `key=<size> [+/-<size>]` anywhere in `s`.
fn value(s: &str, key: &str) -> Option<(u64, Option<i64>)> {
    let at = s.find(key)? + key.len();
    let rest = s.get(at..)?;
    let mut toks = rest
        .split(|c: char| c == ',' || c == ')' || c.is_whitespace())
        .filter(|t| !t.is_empty());
    let v = parse_size(toks.next()?)?;
    let d = toks.next().and_then(parse_delta);
    Some((v, d))
}

/// `(classes #1315 +2000)` -> (1315, Some(2000)).
fn count(s: &str, key: &str) -> Option<(u64, Option<i64>)> {
    let at = s.find(key)? + key.len();
    let rest = s.get(at..)?;
    let mut toks = rest
        .split(|c: char| c == ',' || c == ')' || c.is_whitespace())
        .filter(|t| !t.is_empty());
    let n = toks.next()?.parse().ok()?;
    let d = toks
        .next()
        .and_then(|t| t.parse::<i64>().ok().filter(|_| t.starts_with(['+', '-'])));
    Some((n, d))
}

/// `(malloc=144KB type=Class +125KB #2302 +2000)`: size, category, delta, count.
fn malloc(s: &str) -> Option<CallSite> {
    let at = s.find("malloc=")? + "malloc=".len();
    let rest = s.get(at..)?;
    let end = rest.find(')').unwrap_or(rest.len());
    let mut site = CallSite::default();
    let mut toks = rest
        .get(..end)?
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty());
    site.malloc = parse_size(toks.next()?)?;
    let mut after_count = false;
    for t in toks {
        if let Some(c) = t.strip_prefix("type=").or_else(|| t.strip_prefix("tag=")) {
            site.category = Some(c.to_string());
        } else if let Some(n) = t.strip_prefix('#') {
            site.count = n.parse().ok();
            after_count = true;
        } else if !after_count && site.malloc_delta.is_none() {
            site.malloc_delta = parse_delta(t);
        }
    }
    Some(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/samples/");
        std::fs::read_to_string(format!("{p}{name}")).unwrap()
    }

    fn cat<'a>(r: &'a NmtReport, n: &str) -> &'a Category {
        r.categories.iter().find(|c| c.name == n).unwrap()
    }

    #[test]
    fn jdk17_summary() {
        let r = parse(&sample("jdk17-nmt-summary.txt"));
        assert_eq!(r.pid, Some(4091));
        assert!(!r.diff && !r.detail);
        assert_eq!(r.committed, 362331 * 1024);
        let c = cat(&r, "Class");
        assert_eq!(c.classes, Some(1315));
        assert_eq!(c.malloc, Some(618 * 1024));
        assert_eq!(c.mmap_committed, Some(768 * 1024));
        assert_eq!(c.metadata_used, Some(3458 * 1024));
        assert_eq!(c.class_space_used, Some(342 * 1024));
        assert_eq!(cat(&r, "Thread").threads, Some(19));
        assert_eq!(cat(&r, "Other").committed, 24586 * 1024);
        assert_eq!(r.categories.len(), 19);
        assert_eq!(r.stats.skipped, 0, "{:?}", r.stats.skipped_examples);
    }

    #[test]
    fn jdk17_summary_scale_mb() {
        let r = parse(&sample("jdk17-nmt-summary-scaleMB.txt"));
        assert_eq!(r.committed, 354 << 20);
        assert_eq!(cat(&r, "Java Heap").committed, 256 << 20);
    }

    #[test]
    fn jdk17_summary_diff() {
        let r = parse(&sample("jdk17-nmt-summary-diff.txt"));
        assert!(r.diff);
        assert_eq!(r.committed_delta, Some(-92846 * 1024));
        let c = cat(&r, "Class");
        assert_eq!(c.classes, Some(3315));
        assert_eq!(c.classes_delta, Some(2000));
        assert_eq!(c.malloc_delta, Some(3319 * 1024));
        assert_eq!(cat(&r, "Other").committed_delta, Some(98304 * 1024));
        assert_eq!(cat(&r, "Thread").threads_delta, Some(1));
    }

    #[test]
    fn jdk25_summary_and_detail() {
        let r = parse(&sample("jdk25-nmt-summary.txt"));
        assert_eq!(cat(&r, "Class").malloc, Some(636 * 1024));
        assert_eq!(cat(&r, "Thread").threads, Some(18));
        assert_eq!(r.stats.skipped, 0, "{:?}", r.stats.skipped_examples);
        let d = parse(&sample("jdk25-nmt-detail.trimmed.txt"));
        assert!(d.detail);
        let first = &d.sites[0];
        assert_eq!(first.malloc, 24586 * 1024);
        assert_eq!(first.category.as_deref(), Some("Other"));
        assert_eq!(
            d.sites[1].top_frame(),
            "G1ConcurrentMark::G1ConcurrentMark(G1CollectedHeap*, G1RegionToSpaceMapper*)"
        );
    }

    #[test]
    fn jdk17_detail_and_diff() {
        let d = parse(&sample("jdk17-nmt-detail.trimmed.txt"));
        assert!(d.detail && !d.diff);
        assert_eq!(d.sites[0].top_frame(), "Unsafe_AllocateMemory0");
        assert_eq!(d.sites[0].count, Some(26));
        let dd = parse(&sample("jdk17-nmt-detail-diff.trimmed.txt"));
        assert!(dd.diff);
        let s = dd
            .sites
            .iter()
            .find(|s| {
                s.top_frame()
                    .starts_with("ClassLoaderData::ClassLoaderData")
            })
            .unwrap();
        assert_eq!(s.malloc_delta, Some(531 * 1024));
        assert_eq!(s.count, Some(2301));
        assert_eq!(s.category.as_deref(), Some("Class"));
    }

    #[test]
    fn jdk8_documented_shape() {
        // JDK 8's summary, from its documented shape (NMT docs, Java 8 troubleshooting guide).
        let t = "12345:\n\nNative Memory Tracking:\n\nTotal: reserved=664192KB, committed=253120KB\n\n\
-                 Java Heap (reserved=516096KB, committed=204800KB)\n                            (mmap: reserved=516096KB, committed=204800KB)\n\n\
-                     Class (reserved=6568KB, committed=4140KB)\n                            (classes #665)\n                            (malloc=424KB, #1000)\n                            (mmap: reserved=6144KB, committed=3716KB)\n\n\
-                    Thread (reserved=6868KB, committed=6868KB)\n                            (thread #15)\n                            (stack: reserved=6780KB, committed=6780KB)\n";
        let r = parse(t);
        assert_eq!(cat(&r, "Class").classes, Some(665));
        assert_eq!(cat(&r, "Class").malloc, Some(424 * 1024));
        assert_eq!(cat(&r, "Thread").threads, Some(15));
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "",
            "-",
            "- (reserved=",
            "Total:",
            "Details:\n[",
            "Details:\n(malloc=",
            "(classes #",
            "-x (reserved=1KB +",
            "\u{0}\u{ffff}",
        ] {
            let _ = parse(t);
        }
    }
}
