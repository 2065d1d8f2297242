//! Native memory over time: NMT outputs (`oomsleuth nmt`) and process maps (`oomsleuth pmap`).
//!
//! NMT: one snapshot gives the categories; a series (or a `.diff` output) gives each category's growth
//! with its rate, the category that grows, and with `detail` outputs the malloc call sites that grow.
//! Process maps (`pmap -x`, `smaps`, `smaps_rollup`): RSS over time, anonymous against file-backed, the
//! mappings that appeared or grew, and glibc malloc arenas (64 MiB reservations split into a `rw` part
//! and a `---` part) counted per snapshot.

use crate::analyses::process::series::{growth, order, Growth, OrderKey, Series, TimeSource};
use crate::formats::logs::nmt::{self, CallSite, NmtReport};
use crate::formats::logs::pmap::{self, Mapping};
use crate::formats::logs::{smaps, LineStats, LogKind};
use crate::inputs::evidence::Input;
use serde::Serialize;
use std::collections::BTreeMap;

pub const NMT_SCHEMA: &str = "oomsleuth.nmt/1";
pub const PMAP_SCHEMA: &str = "oomsleuth.pmap/1";

/// A category or call site must grow by at least this much (and in most steps) to count as growing.
pub const MIN_GROWTH: f64 = 4.0 * 1024.0 * 1024.0;
/// ... and by at least this fraction of where it started.
pub const MIN_GROWTH_REL: f64 = 0.05;

/// One input file as used: path, detected format, its time.
#[derive(Clone, Debug, Serialize)]
pub struct FileUsed {
    pub path: String,
    pub kind: LogKind,
    /// Seconds from the first file of its series (see `time_source`).
    pub t: f64,
    pub skipped_lines: u64,
    pub skipped_examples: Vec<String>,
}

/// `oomsleuth nmt`: the JSON contract.
#[derive(Clone, Debug, Serialize)]
pub struct NmtAnalysis {
    pub schema: &'static str,
    pub files: Vec<FileUsed>,
    pub time_source: TimeSource,
    /// Snapshots (summary or detail outputs) in the series; `.diff` outputs are counted in `diffs`.
    pub snapshots: usize,
    pub diffs: usize,
    /// The last snapshot's (or diff's) categories, largest committed first.
    pub latest: Vec<CategoryNow>,
    pub total_committed: u64,
    /// Growth per category, largest committed growth first (from the series, else from the last diff).
    pub growth: Vec<CategoryGrowth>,
    /// The category whose committed memory grows most, when one grows.
    pub growing_category: Option<String>,
    /// Where the growth was measured: `series` (first vs last snapshot), `diff` (against the baseline),
    /// or `none` (a single snapshot).
    pub growth_from: &'static str,
    /// Malloc call sites whose bytes grew most (detail outputs only), top 10.
    pub sites: Vec<SiteGrowth>,
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CategoryNow {
    pub name: String,
    pub reserved: u64,
    pub committed: u64,
    pub malloc: Option<u64>,
    pub malloc_count: Option<u64>,
    pub mmap_committed: Option<u64>,
    pub arena: Option<u64>,
    pub classes: Option<u64>,
    pub threads: Option<u64>,
    pub metadata_used: Option<u64>,
    pub class_space_used: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CategoryGrowth {
    pub name: String,
    pub committed_first: u64,
    pub committed_last: u64,
    pub committed_delta: i64,
    /// Bytes per hour (null without real times).
    pub per_hour: Option<f64>,
    pub growing: bool,
    pub malloc_delta: Option<i64>,
    pub classes_delta: Option<i64>,
    pub threads_delta: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SiteGrowth {
    /// The first named frame (`Unsafe_AllocateMemory0`).
    pub top_frame: String,
    pub frames: Vec<String>,
    pub category: Option<String>,
    pub malloc_first: u64,
    pub malloc_last: u64,
    pub malloc_delta: i64,
    pub count_last: Option<u64>,
}

/// The `files` row of one input of a series.
pub(crate) fn used(input: &Input, t: f64, stats: &LineStats) -> FileUsed {
    FileUsed {
        path: input.path.display().to_string(),
        kind: input.kind,
        t,
        skipped_lines: stats.skipped,
        skipped_examples: stats.skipped_examples.clone(),
    }
}

fn keys(inputs: &[&Input]) -> Vec<OrderKey> {
    keys_with(inputs, |_| None)
}

/// What orders the inputs of a series: `content(i)`, the first timestamp inside input `i` if
/// its format has one, then mtime and name (see [`order`]).
pub(crate) fn keys_with(
    inputs: &[&Input],
    content: impl Fn(usize) -> Option<f64>,
) -> Vec<OrderKey> {
    inputs
        .iter()
        .enumerate()
        .map(|(k, i)| OrderKey {
            content: content(k),
            mtime: i.mtime,
            name: i.path.display().to_string(),
        })
        .collect()
}

/// A count NMT gives for a category (classes, threads).
type CategoryCount = fn(&nmt::Category) -> Option<u64>;

/// One parsed NMT output: its input's index, its time, the report.
type Parsed = (usize, f64, NmtReport);

/// Analyses NMT outputs (any mix of summary, detail and diffs) as one series.
pub fn nmt(inputs: &[&Input]) -> NmtAnalysis {
    let (idx, time_source, times) = order(&keys(inputs));
    let parsed: Vec<Parsed> = idx
        .iter()
        .zip(&times)
        .map(|(&i, &t)| (i, t, nmt::parse(&inputs[i].text)))
        .collect();
    let files = parsed
        .iter()
        .map(|(i, t, r)| used(inputs[*i], *t, &r.stats))
        .collect();
    let mut warnings = nmt_input_warnings(inputs, &parsed);
    let snaps: Vec<&Parsed> = parsed
        .iter()
        .filter(|p| !p.2.diff && !p.2.categories.is_empty())
        .collect();
    let diffs: Vec<&Parsed> = parsed.iter().filter(|p| p.2.diff).collect();
    let latest_report = snaps.last().or(diffs.last()).map(|p| &p.2);
    let mut series = Vec::new();
    let (mut growth_rows, growth_from) = if snaps.len() >= 2 {
        let real_times = time_source != TimeSource::Name;
        let rows = growth_over_snapshots(&snaps, time_source, real_times, &mut series);
        (rows, "series")
    } else if let Some(d) = diffs.last() {
        warnings.push("growth is against the NMT baseline of the .diff output: its time is unknown, so no rate".into());
        (growth_in_diff(&d.2), "diff")
    } else {
        (vec![], "none")
    };
    growth_rows.sort_by(|a, b| {
        b.committed_delta
            .cmp(&a.committed_delta)
            .then(a.name.cmp(&b.name))
    });
    // "Java Heap" committed grows when the heap expands, which is not a leak: the heap's own trend comes
    // from GC logs. It is reported, but another growing category is preferred.
    let growing_category = growth_rows
        .iter()
        .filter(|g| g.growing)
        .max_by_key(|g| (g.name != "Java Heap", g.committed_delta))
        .map(|g| g.name.clone());
    let sites = growing_sites(&snaps, &diffs);
    if snaps.len() + diffs.len() == 1 && growth_from == "none" {
        warnings.push("one snapshot shows where memory is, not what grows: give two or more taken apart (or a summary.diff)".into());
    }
    NmtAnalysis {
        schema: NMT_SCHEMA,
        files,
        time_source,
        snapshots: snaps.len(),
        diffs: diffs.len(),
        total_committed: latest_report.map(|r| r.committed).unwrap_or(0),
        latest: latest_categories(latest_report),
        growth: growth_rows,
        growing_category,
        growth_from,
        sites,
        series,
        warnings,
    }
}

/// Outputs with no NMT in them, and outputs of more than one process.
fn nmt_input_warnings(inputs: &[&Input], parsed: &[Parsed]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, _, r) in parsed {
        if r.categories.is_empty() && r.sites.is_empty() {
            warnings.push(format!("{}: no NMT categories found (was the JVM started with -XX:NativeMemoryTracking=summary?)", inputs[*i].path.display()));
        }
    }
    let pids: std::collections::BTreeSet<u32> = parsed.iter().filter_map(|p| p.2.pid).collect();
    if pids.len() > 1 {
        warnings.push(format!(
            "the outputs come from {} different processes ({:?}): growth between them means little",
            pids.len(),
            pids
        ));
    }
    warnings
}

/// The categories of the latest output, most committed first.
fn latest_categories(latest: Option<&NmtReport>) -> Vec<CategoryNow> {
    let mut v: Vec<CategoryNow> = latest
        .map(|r| {
            r.categories
                .iter()
                .map(|c| CategoryNow {
                    name: c.name.clone(),
                    reserved: c.reserved,
                    committed: c.committed,
                    malloc: c.malloc,
                    malloc_count: c.malloc_count,
                    mmap_committed: c.mmap_committed,
                    arena: c.arena,
                    classes: c.classes,
                    threads: c.threads,
                    metadata_used: c.metadata_used,
                    class_space_used: c.class_space_used,
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| b.committed.cmp(&a.committed).then(a.name.cmp(&b.name)));
    v
}

/// Each category's growth over two or more snapshots, with the series of the total, each
/// category, and the classes and threads NMT counts.
fn growth_over_snapshots(
    snaps: &[&Parsed],
    time_source: TimeSource,
    real_times: bool,
    series: &mut Vec<Series>,
) -> Vec<CategoryGrowth> {
    let mut names: Vec<String> = Vec::new();
    for s in snaps {
        for c in &s.2.categories {
            if !names.contains(&c.name) {
                names.push(c.name.clone());
            }
        }
    }
    let total: Vec<(f64, f64)> = snaps.iter().map(|s| (s.1, s.2.committed as f64)).collect();
    let mut ts = Series::new("nmt: total committed", "bytes", time_source, &total);
    ts.growing = growth(&total, real_times, MIN_GROWTH, MIN_GROWTH_REL).growing;
    series.push(ts);
    let mut rows = Vec::new();
    for name in names {
        let get = |r: &NmtReport| r.categories.iter().find(|c| c.name == name).cloned();
        let pts: Vec<(f64, f64)> = snaps
            .iter()
            .map(|s| (s.1, get(&s.2).map(|c| c.committed).unwrap_or(0) as f64))
            .collect();
        let g: Growth = growth(&pts, real_times, MIN_GROWTH, MIN_GROWTH_REL);
        let first = snaps.first().and_then(|s| get(&s.2));
        let last = snaps.last().and_then(|s| get(&s.2));
        let d = |f: fn(&nmt::Category) -> Option<u64>| -> Option<i64> {
            Some(f(last.as_ref()?)? as i64 - f(first.as_ref()?)? as i64)
        };
        let mut s = Series::new(format!("nmt: {name} committed"), "bytes", time_source, &pts);
        s.growing = g.growing;
        series.push(s);
        let count: Option<(&str, CategoryCount)> = match name.as_str() {
            "Class" => Some(("nmt: classes loaded", |c| c.classes)),
            "Thread" => Some(("nmt: threads", |c| c.threads)),
            _ => None,
        };
        if let Some((series_name, f)) = count {
            let pts: Vec<(f64, f64)> = snaps
                .iter()
                .filter_map(|s| Some((s.1, f(&get(&s.2)?)? as f64)))
                .collect();
            if !pts.is_empty() {
                series.push(Series::new(series_name, "count", time_source, &pts));
            }
        }
        rows.push(CategoryGrowth {
            name: name.clone(),
            committed_first: g.first as u64,
            committed_last: g.last as u64,
            committed_delta: g.delta as i64,
            per_hour: g.per_hour,
            growing: g.growing,
            malloc_delta: d(|c| c.malloc),
            classes_delta: d(|c| c.classes),
            threads_delta: d(|c| c.threads),
        });
    }
    rows
}

/// Each category's growth against the baseline of a `.diff` output (no time, so no rate).
fn growth_in_diff(d: &NmtReport) -> Vec<CategoryGrowth> {
    d.categories
        .iter()
        .map(|c| {
            let delta = c.committed_delta.unwrap_or(0);
            let first = (c.committed as i64 - delta).max(0) as f64;
            CategoryGrowth {
                name: c.name.clone(),
                committed_first: first as u64,
                committed_last: c.committed,
                committed_delta: delta,
                per_hour: None,
                growing: delta as f64 >= MIN_GROWTH && delta as f64 >= MIN_GROWTH_REL * first,
                malloc_delta: c.malloc_delta,
                classes_delta: c.classes_delta,
                threads_delta: c.threads_delta,
            }
        })
        .collect()
}

/// Call sites that grew: first vs last detail snapshot, else the last detail.diff; the ten that
/// grew most.
fn growing_sites(snaps: &[&Parsed], diffs: &[&Parsed]) -> Vec<SiteGrowth> {
    let details: Vec<&&Parsed> = snaps.iter().filter(|s| s.2.detail).collect();
    let mut sites = Vec::new();
    if details.len() >= 2 {
        let (first, last) = (&details[0].2, &details[details.len() - 1].2);
        let key = |s: &CallSite| s.frames.join("\n");
        let before: BTreeMap<String, &CallSite> = first.sites.iter().map(|s| (key(s), s)).collect();
        for s in &last.sites {
            let prev = before.get(&key(s)).map(|p| p.malloc).unwrap_or(0);
            sites.push(site_growth(s, prev, s.malloc as i64 - prev as i64));
        }
    } else if let Some(d) = diffs.iter().rev().find(|d| d.2.detail) {
        for s in &d.2.sites {
            let delta = s.malloc_delta.unwrap_or(0);
            sites.push(site_growth(
                s,
                (s.malloc as i64 - delta).max(0) as u64,
                delta,
            ));
        }
    }
    sites.retain(|s| s.malloc_delta > 0);
    sites.sort_by(|a, b| {
        b.malloc_delta
            .cmp(&a.malloc_delta)
            .then(a.top_frame.cmp(&b.top_frame))
    });
    sites.truncate(10);
    sites
}

fn site_growth(s: &CallSite, first: u64, delta: i64) -> SiteGrowth {
    SiteGrowth {
        top_frame: s.top_frame(),
        frames: s.frames.clone(),
        category: s.category.clone(),
        malloc_first: first,
        malloc_last: s.malloc,
        malloc_delta: delta,
        count_last: s.count,
    }
}

/// `oomsleuth pmap`: the JSON contract.
#[derive(Clone, Debug, Serialize)]
pub struct MapsAnalysis {
    pub schema: &'static str,
    pub files: Vec<FileUsed>,
    pub time_source: TimeSource,
    pub snapshots: Vec<MapsSnapshot>,
    /// Process RSS growth, first to last snapshot.
    pub rss_growth: Option<Growth>,
    pub anon_rss_growth: Option<Growth>,
    /// Mappings that appeared or whose RSS grew, first to last (by start address), most growth first (top 20).
    pub grown: Vec<MappingGrowth>,
    /// glibc malloc arenas, first to last.
    pub arenas_first: Option<usize>,
    pub arenas_last: Option<usize>,
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MapsSnapshot {
    pub path: String,
    pub t: f64,
    pub rss: u64,
    /// Anonymous resident bytes (malloc, Java heap, stacks, Metaspace).
    pub anon_rss: u64,
    /// File-backed resident bytes (libraries, `lib/modules`, CDS archive).
    pub file_rss: u64,
    pub mappings: usize,
    /// glibc arenas found (null for smaps_rollup, which has no mappings).
    pub arenas: Option<usize>,
    /// Resident bytes in those arenas.
    pub arena_rss: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MappingGrowth {
    #[serde(serialize_with = "crate::units::serialize_hex")]
    pub start: u64,
    pub name: String,
    pub anon: bool,
    /// The mapping was not in the first snapshot.
    pub new: bool,
    /// Part of a glibc malloc arena.
    pub arena: bool,
    pub size_last: u64,
    pub rss_first: u64,
    pub rss_last: u64,
    pub rss_delta: i64,
}

const ARENA: u64 = 64 << 20;

/// Indices of the mappings that belong to glibc malloc arenas: a 64 MiB-aligned anonymous `rw` mapping
/// followed (contiguously) by an anonymous no-access one, the two exactly 64 MiB (a full arena is one
/// `rw` mapping of 64 MiB). Returns arena start indices.
pub fn arenas(maps: &[Mapping]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, m) in maps.iter().enumerate() {
        if !m.is_anon() || m.start % ARENA != 0 || !m.perms.starts_with("rw") || m.size > ARENA {
            continue;
        }
        let next = maps.get(i + 1);
        let full = m.size == ARENA;
        let split = next.is_some_and(|n| {
            n.is_anon() && n.no_access() && n.start == m.start + m.size && m.size + n.size == ARENA
        });
        if full || split {
            out.push(i);
        }
    }
    out
}

/// Analyses `pmap -x`, `smaps` and `smaps_rollup` outputs as one series (a mix is fine; growth of
/// mappings needs pmap or smaps).
pub fn maps(inputs: &[&Input]) -> MapsAnalysis {
    let (idx, time_source, times) = order(&keys(inputs));
    let real_times = time_source != TimeSource::Name;
    let mut files = Vec::new();
    let mut snapshots = Vec::new();
    let mut with_maps: Vec<(f64, Vec<Mapping>)> = Vec::new();
    let mut warnings = Vec::new();
    for (&i, &t) in idx.iter().zip(&times) {
        let input = inputs[i];
        let path = input.path.display().to_string();
        let (maps, rollup, stats) = match input.kind {
            LogKind::Pmap => {
                let p = pmap::parse(&input.text);
                (p.mappings, None, p.stats)
            }
            _ => {
                let s = smaps::parse(&input.text);
                (s.mappings, s.rollup, s.stats)
            }
        };
        files.push(used(input, t, &stats));
        let (rss, anon_rss) = match &rollup {
            Some(r) if maps.is_empty() => (r.rss, r.anonymous),
            _ => {
                let rss: u64 = maps.iter().filter_map(|m| m.rss).sum();
                let anon: u64 = maps
                    .iter()
                    .filter(|m| m.is_anon())
                    .filter_map(|m| m.rss)
                    .sum();
                (rss, anon)
            }
        };
        if maps.is_empty() && rollup.is_none() {
            warnings.push(format!("{path}: no mappings found"));
            continue;
        }
        let ar = (!maps.is_empty()).then(|| arenas(&maps));
        let arena_rss = ar.as_ref().map(|a| {
            a.iter()
                .filter_map(|&k| maps.get(k).and_then(|m| m.rss))
                .sum()
        });
        snapshots.push(MapsSnapshot {
            path,
            t,
            rss,
            anon_rss,
            file_rss: rss.saturating_sub(anon_rss),
            mappings: maps.len(),
            arenas: ar.as_ref().map(Vec::len),
            arena_rss,
        });
        if !maps.is_empty() {
            with_maps.push((t, maps));
        }
    }
    let pts = |f: fn(&MapsSnapshot) -> f64| -> Vec<(f64, f64)> {
        snapshots.iter().map(|s| (s.t, f(s))).collect()
    };
    let mut series = Vec::new();
    let mut rss_growth = None;
    let mut anon_rss_growth = None;
    if snapshots.len() >= 2 {
        let r = pts(|s| s.rss as f64);
        let a = pts(|s| s.anon_rss as f64);
        let g = growth(&r, real_times, MIN_GROWTH, MIN_GROWTH_REL);
        let ga = growth(&a, real_times, MIN_GROWTH, MIN_GROWTH_REL);
        let mut s = Series::new("maps: RSS", "bytes", time_source, &r);
        s.growing = g.growing;
        series.push(s);
        let mut s = Series::new("maps: anonymous RSS", "bytes", time_source, &a);
        s.growing = ga.growing;
        series.push(s);
        series.push(Series::new(
            "maps: file-backed RSS",
            "bytes",
            time_source,
            &pts(|s| s.file_rss as f64),
        ));
        let ar: Vec<(f64, f64)> = snapshots
            .iter()
            .filter_map(|s| Some((s.t, s.arenas? as f64)))
            .collect();
        if !ar.is_empty() {
            series.push(Series::new(
                "maps: glibc malloc arenas",
                "count",
                time_source,
                &ar,
            ));
        }
        rss_growth = Some(g);
        anon_rss_growth = Some(ga);
    }
    let mut grown = Vec::new();
    if let (Some(first), Some(last)) = (with_maps.first(), with_maps.last()) {
        if with_maps.len() >= 2 {
            let before: BTreeMap<u64, &Mapping> = first.1.iter().map(|m| (m.start, m)).collect();
            let arena_starts: std::collections::BTreeSet<u64> = arenas(&last.1)
                .iter()
                .filter_map(|&i| last.1.get(i))
                .map(|m| m.start)
                .collect();
            for m in &last.1 {
                let prev = before.get(&m.start);
                let rf = prev.and_then(|p| p.rss).unwrap_or(0);
                let rl = m.rss.unwrap_or(0);
                let delta = rl as i64 - rf as i64;
                if delta > 0 || prev.is_none() && m.size > 0 && m.rss.is_none() {
                    grown.push(MappingGrowth {
                        start: m.start,
                        name: if m.is_anon() {
                            "[anon]".into()
                        } else {
                            m.name.clone()
                        },
                        anon: m.is_anon(),
                        new: prev.is_none(),
                        arena: arena_starts.contains(&(m.start - m.start % ARENA)),
                        size_last: m.size,
                        rss_first: rf,
                        rss_last: rl,
                        rss_delta: delta,
                    });
                }
            }
            grown.sort_by(|a, b| b.rss_delta.cmp(&a.rss_delta).then(a.start.cmp(&b.start)));
            grown.truncate(20);
        }
    }
    if snapshots.len() == 1 {
        warnings.push("one snapshot: give two or more (e.g. `pmap -x PID` every 15 minutes) to see what grows".into());
    }
    MapsAnalysis {
        schema: PMAP_SCHEMA,
        files,
        time_source,
        arenas_first: snapshots.iter().find_map(|s| s.arenas),
        arenas_last: snapshots.iter().rev().find_map(|s| s.arenas),
        snapshots,
        rss_growth,
        anon_rss_growth,
        grown,
        series,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arenas_in_real_pmap() {
        let t = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/samples/jdk17-pmap-x.trimmed.txt"
        ))
        .unwrap();
        let p = pmap::parse(&t);
        let a = arenas(&p.mappings);
        let starts: Vec<u64> = a.iter().map(|&i| p.mappings[i].start).collect();
        // 7f65dc000000 (65500 + 36), 7f65e0000000 (64540 + 996), 7f65e4000000 (132 + 65404),
        // 7f65e8000000 (65484 + 52), 7f65ec000000 (23936 + 41600).
        assert_eq!(
            starts,
            vec![
                0x7f65dc000000,
                0x7f65e0000000,
                0x7f65e4000000,
                0x7f65e8000000,
                0x7f65ec000000
            ]
        );
    }
}
