//! `oomsleuth diff`: what grew between dumps taken apart (issue 16). Paths of each dump's
//! dominator tree ([`path_summary`](super::path_summary)) are matched across dumps by what they
//! are (steps and classes from the GC roots), never by object id; so are classes (by name), loader
//! types and generated-class families. A leak is what grows; with three dumps or more, what grew
//! on *every* step (monotone) is told apart from what grew once (a cache that filled).

use super::path_summary::{PathRow, PathSummary};
use crate::heap::fxhash::FxHashMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub const SCHEMA: &str = "oomsleuth.diff/1";

/// How many rows each list keeps.
#[derive(Clone, Debug)]
pub struct Options {
    pub top: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { top: 20 }
    }
}

/// How a series of values moved from the first dump to the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Grew on every step (three dumps or more): the shape of a leak.
    Monotone,
    /// Grew on exactly one step and held still on the others (three dumps or more): a cache
    /// that filled.
    GrewOnce,
    /// Grew, not on every step (or only two dumps).
    Grew,
    Stable,
    Shrank,
    /// Grew on some steps and shrank on others.
    Fluctuating,
}

impl Trend {
    pub fn grew(self) -> bool {
        matches!(self, Trend::Monotone | Trend::GrewOnce | Trend::Grew)
    }

    pub fn label(self) -> &'static str {
        match self {
            Trend::Monotone => "grew on every step",
            Trend::GrewOnce => "grew once",
            Trend::Grew => "grew",
            Trend::Stable => "stable",
            Trend::Shrank => "shrank",
            Trend::Fluctuating => "fluctuating",
        }
    }
}

/// The trend of `values`, a step counting as growth (or shrinkage) when it moves by more than
/// `tolerance(larger of its two values)`.
pub fn trend(values: &[u64], tolerance: impl Fn(u64) -> u64) -> Trend {
    let (mut up, mut down, mut steps) = (0, 0, 0);
    for w in values.windows(2) {
        steps += 1;
        let tol = tolerance(w[0].max(w[1])) as i128;
        let d = w[1] as i128 - w[0] as i128;
        if d > tol {
            up += 1;
        } else if d < -tol {
            down += 1;
        }
    }
    match (up, down) {
        (0, 0) => Trend::Stable,
        (u, 0) if u == steps && steps >= 2 => Trend::Monotone,
        (1, 0) if steps >= 2 => Trend::GrewOnce,
        (_, 0) => Trend::Grew,
        (0, _) => Trend::Shrank,
        _ => Trend::Fluctuating,
    }
}

/// Bytes that move by less than this (or 1% of the value) between dumps are noise.
pub const BYTES_TOLERANCE: u64 = 1024;

fn bytes_tolerance(v: u64) -> u64 {
    (v / 100).max(BYTES_TOLERANCE)
}

/// One dump as a column of the diff.
#[derive(Clone, Debug, Serialize)]
pub struct DumpColumn {
    /// The file, with `#N` when it holds several heap dumps (the N-th was read).
    pub path: String,
    /// The HPROF header's dump time, milliseconds since the epoch.
    pub timestamp_ms: u64,
    pub reachable_bytes: u64,
    pub reachable_objects: u64,
    /// Paths retaining less than this in this dump are counted on their parent path.
    pub min_path_bytes: u64,
    pub truncated: bool,
}

/// A class that accounts for growth below a path: its objects and bytes in each dump.
#[derive(Clone, Debug, Serialize)]
pub struct ElementGrowth {
    pub class: String,
    pub objects: Vec<u64>,
    pub bytes: Vec<u64>,
    pub growth_objects: i64,
    pub growth_bytes: i64,
}

/// A path matched across the dumps, with its figures in each (0 where a dump lacks it).
#[derive(Clone, Debug, Serialize)]
pub struct PathGrowth {
    /// Steps from the GC roots, each with the class it reaches.
    pub path: Vec<String>,
    pub class: String,
    pub trend: Trend,
    pub retained_bytes: Vec<u64>,
    pub retained_objects: Vec<u64>,
    /// Java's `size()` in each dump, for collections (`null` where the dump has no such path).
    pub collection_size: Vec<Option<u64>>,
    /// The trend of `collection_size` (exact counts), for collections.
    pub size_trend: Option<Trend>,
    pub growth_bytes: i64,
    /// `growth_bytes` per hour between the first and last dump's timestamps.
    pub growth_bytes_per_hour: Option<f64>,
    pub growth_objects: i64,
    /// Classes below the path by growth of their bytes (most first).
    pub elements: Vec<ElementGrowth>,
}

/// Instances, shallow and retained bytes of one class in each dump.
#[derive(Clone, Debug, Serialize)]
pub struct ClassGrowth {
    pub class: String,
    pub instances: Vec<u64>,
    pub shallow_bytes: Vec<u64>,
    pub retained_bytes: Vec<u64>,
    pub growth_instances: i64,
    pub growth_shallow_bytes: i64,
    pub growth_retained_bytes: i64,
    pub trend: Trend,
}

/// A class loader type that appeared or grew.
#[derive(Clone, Debug, Serialize)]
pub struct LoaderGrowth {
    #[serde(rename = "type")]
    pub type_name: String,
    pub loaders: Vec<u64>,
    pub classes: Vec<u64>,
    /// Absent (no loader, no class) in the first dump.
    pub appeared: bool,
    pub trend: Trend,
}

/// A family of classes of one name shape that appeared or grew.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyGrowth {
    pub family: String,
    pub classes: Vec<u64>,
    pub appeared: bool,
    pub trend: Trend,
}

/// The heap as a whole.
#[derive(Clone, Debug, Serialize)]
pub struct HeapGrowth {
    pub reachable_bytes: Vec<u64>,
    pub reachable_objects: Vec<u64>,
    pub growth_bytes: i64,
    pub growth_bytes_per_hour: Option<f64>,
    pub trend: Trend,
}

/// The `oomsleuth.diff/1` document.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    pub schema: &'static str,
    /// Oldest first, as given.
    pub dumps: Vec<DumpColumn>,
    /// Hours from the first dump to the last, when their timestamps say the later is later.
    pub hours: Option<f64>,
    pub heap: HeapGrowth,
    /// Where the growth is: the outermost containers (collections, arrays) that grew, and
    /// other paths whose own objects grew; monotone ones first (three dumps or more), then by
    /// growth.
    pub growth: Vec<PathGrowth>,
    /// Collections matched by path: those that grew first (by elements gained), then the
    /// largest of the others.
    pub collections: Vec<PathGrowth>,
    /// Classes whose retained or shallow bytes changed most.
    pub classes: Vec<ClassGrowth>,
    pub class_loaders: Vec<LoaderGrowth>,
    pub class_families: Vec<FamilyGrowth>,
    /// Paths found in every dump, and those of them that did not grow.
    pub matched_paths: u64,
    pub stable_paths: u64,
    pub warnings: Vec<String>,
}

/// A path of the union of the dumps: its step and where it is in each dump.
struct Matched {
    parent: Option<u32>,
    step: String,
    class: String,
    at: Vec<Option<u32>>,
}

struct Matcher<'s> {
    dumps: &'s [PathSummary],
    paths: Vec<Matched>,
    children: Vec<Vec<u32>>,
    hours: Option<f64>,
}

/// Compares summaries, oldest first (two or more).
pub fn diff(dumps: &[PathSummary], opts: &Options) -> DiffReport {
    let hours = hours_between(dumps);
    let m = Matcher::new(dumps, hours);
    let growth = m.growth_points(opts.top);
    let collections = m.collections(opts.top);
    let (matched_paths, stable_paths) = m.matched_and_stable();
    let mut warnings = vec![];
    if hours.is_none() && dumps.len() > 1 {
        warnings.push("the dumps' timestamps do not increase from the first to the last: no growth per hour (are they in the order they were taken?)".to_string());
    }
    for d in dumps.iter().filter(|d| d.dump.truncated) {
        warnings.push(format!(
            "{}: the dump is truncated or damaged; its figures cover what could be read",
            d.dump.path
        ));
    }
    let bytes: Vec<u64> = dumps.iter().map(|d| d.reachable_bytes).collect();
    let heap_growth = change(&bytes);
    DiffReport {
        schema: SCHEMA,
        dumps: dumps.iter().map(column).collect(),
        hours,
        heap: HeapGrowth {
            trend: trend(&bytes, bytes_tolerance),
            reachable_objects: dumps.iter().map(|d| d.reachable_objects).collect(),
            growth_bytes: heap_growth,
            growth_bytes_per_hour: per_hour(heap_growth, hours),
            reachable_bytes: bytes,
        },
        growth,
        collections,
        classes: class_growth(dumps, opts.top.max(1) * 2),
        class_loaders: loader_growth(dumps),
        class_families: family_growth(dumps, opts.top.max(1) * 2),
        matched_paths,
        stable_paths,
        warnings,
    }
}

fn column(d: &PathSummary) -> DumpColumn {
    DumpColumn {
        // `FILE#N` when the file holds several heap dumps, as the command line names them.
        path: match d.dump.analysed_dump {
            Some(n) if d.dump.heap_dumps.len() > 1 => format!("{}#{n}", d.dump.path),
            _ => d.dump.path.clone(),
        },
        timestamp_ms: d.dump.timestamp_ms,
        reachable_bytes: d.reachable_bytes,
        reachable_objects: d.reachable_objects,
        min_path_bytes: d.min_path_bytes,
        truncated: d.dump.truncated,
    }
}

fn hours_between(dumps: &[PathSummary]) -> Option<f64> {
    let a = dumps.first()?.dump.timestamp_ms;
    let b = dumps.last()?.dump.timestamp_ms;
    (b > a && a > 0).then(|| (b - a) as f64 / 3_600_000.0)
}

fn per_hour(growth: i64, hours: Option<f64>) -> Option<f64> {
    hours.map(|h| (growth as f64 / h * 10.0).round() / 10.0)
}

/// Last minus first.
fn change(values: &[u64]) -> i64 {
    match (values.first(), values.last()) {
        (Some(&a), Some(&b)) => {
            (b as i128 - a as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
        }
        _ => 0,
    }
}

impl<'s> Matcher<'s> {
    fn new(dumps: &'s [PathSummary], hours: Option<f64>) -> Matcher<'s> {
        let n = dumps.len();
        let mut paths = vec![Matched {
            parent: None,
            step: String::new(),
            class: "<GC roots>".into(),
            at: vec![None; n],
        }];
        let mut ids: FxHashMap<(u32, String), u32> = FxHashMap::default();
        for (k, d) in dumps.iter().enumerate() {
            // Local path -> matched path; parents come before children.
            let mut global: Vec<u32> = Vec::with_capacity(d.paths.len());
            for row in &d.paths {
                let g = match row.parent {
                    None => 0,
                    Some(up) => {
                        let gp = global[up as usize];
                        let key = (gp, format!("{}\u{0}{}", row.step, row.class));
                        *ids.entry(key).or_insert_with(|| {
                            paths.push(Matched {
                                parent: Some(gp),
                                step: row.step.clone(),
                                class: row.class.clone(),
                                at: vec![None; n],
                            });
                            paths.len() as u32 - 1
                        })
                    }
                };
                paths[g as usize].at[k] = Some(global.len() as u32);
                global.push(g);
            }
        }
        let mut children = vec![vec![]; paths.len()];
        for (g, p) in paths.iter().enumerate() {
            if let Some(up) = p.parent {
                children[up as usize].push(g as u32);
            }
        }
        Matcher {
            dumps,
            paths,
            children,
            hours,
        }
    }

    fn row(&self, g: u32, k: usize) -> Option<&PathRow> {
        let local = self.paths[g as usize].at[k]?;
        self.dumps[k].paths.get(local as usize)
    }

    fn bytes(&self, g: u32) -> Vec<u64> {
        (0..self.dumps.len())
            .map(|k| self.row(g, k).map_or(0, |r| r.retained_bytes))
            .collect()
    }

    fn growth(&self, g: u32) -> i64 {
        change(&self.bytes(g))
    }

    fn is_collection(&self, g: u32) -> bool {
        (0..self.dumps.len()).any(|k| self.row(g, k).is_some_and(|r| r.is_collection))
    }

    fn steps(&self, g: u32) -> Vec<String> {
        let mut out = vec![];
        let mut at = Some(g);
        while let Some(x) = at {
            let p = &self.paths[x as usize];
            if p.parent.is_some() {
                out.push(format!("{} {}", p.step, p.class));
            }
            at = p.parent;
        }
        out.reverse();
        out
    }

    /// The smallest growth a path must show to be reported: the largest per-dump path size
    /// below which paths are folded (so folding cannot make growth up).
    fn min_growth(&self) -> i64 {
        self.dumps
            .iter()
            .map(|d| d.min_path_bytes)
            .max()
            .unwrap_or(0)
            .max(BYTES_TOLERANCE) as i64
    }

    /// Paths that grew: from the GC roots down, into every child that grew by at least
    /// [`min_growth`](Self::min_growth), stopping at containers (collections and arrays: what
    /// grows inside one is its growth); a path whose own objects grew that much is reported too.
    fn growth_points(&self, top: usize) -> Vec<PathGrowth> {
        let min = self.min_growth();
        let mut found = vec![];
        let mut stack = vec![0u32];
        while let Some(x) = stack.pop() {
            let g = self.growth(x);
            if g < min {
                continue;
            }
            if x != 0 && (self.is_collection(x) || self.paths[x as usize].class.ends_with("[]")) {
                found.push(x);
                continue;
            }
            let kids: Vec<(i64, u32)> = self.children[x as usize]
                .iter()
                .map(|&c| (self.growth(c), c))
                .collect();
            let below: i64 = kids.iter().map(|k| k.0).sum();
            if x != 0 && g - below >= min {
                found.push(x);
            }
            stack.extend(kids.iter().filter(|k| k.0 >= min).map(|k| k.1));
        }
        let mut rows: Vec<PathGrowth> = found.into_iter().map(|g| self.path_growth(g)).collect();
        let monotone_first = self.dumps.len() >= 3;
        rows.sort_by(|a, b| {
            let rank = |r: &PathGrowth| monotone_first && r.trend == Trend::Monotone;
            rank(b)
                .cmp(&rank(a))
                .then(b.growth_bytes.cmp(&a.growth_bytes))
                .then(a.path.cmp(&b.path))
        });
        rows.truncate(top);
        rows
    }

    /// Collections: those that gained elements first (most first), then by bytes gained, then
    /// the largest.
    fn collections(&self, top: usize) -> Vec<PathGrowth> {
        let last = self.dumps.len().saturating_sub(1);
        let mut cols: Vec<(i64, i64, u64, u32)> = (1..self.paths.len() as u32)
            .filter(|&g| self.is_collection(g))
            .map(|g| {
                let sizes: Vec<u64> = (0..self.dumps.len())
                    .map(|k| self.row(g, k).and_then(|r| r.collection_size).unwrap_or(0))
                    .collect();
                let bytes = self.bytes(g);
                (change(&sizes), change(&bytes), bytes[last], g)
            })
            .collect();
        cols.sort_by(|a, b| {
            (b.0 > 0)
                .cmp(&(a.0 > 0))
                .then(b.0.cmp(&a.0))
                .then(b.1.cmp(&a.1))
                .then(b.2.cmp(&a.2))
                .then(a.3.cmp(&b.3))
        });
        cols.into_iter()
            .take(top)
            .map(|c| self.path_growth(c.3))
            .collect()
    }

    fn path_growth(&self, g: u32) -> PathGrowth {
        let n = self.dumps.len();
        let bytes = self.bytes(g);
        let objects: Vec<u64> = (0..n)
            .map(|k| self.row(g, k).map_or(0, |r| r.retained_objects))
            .collect();
        let sizes: Vec<Option<u64>> = (0..n)
            .map(|k| self.row(g, k).and_then(|r| r.collection_size))
            .collect();
        let is_collection = self.is_collection(g);
        let size_trend = is_collection.then(|| {
            let s: Vec<u64> = sizes.iter().map(|s| s.unwrap_or(0)).collect();
            trend(&s, |_| 0)
        });
        let growth = change(&bytes);
        PathGrowth {
            path: self.steps(g),
            class: self.paths[g as usize].class.clone(),
            trend: trend(&bytes, bytes_tolerance),
            growth_bytes: growth,
            growth_bytes_per_hour: per_hour(growth, self.hours),
            growth_objects: change(&objects),
            retained_bytes: bytes,
            retained_objects: objects,
            collection_size: sizes,
            size_trend,
            elements: self.elements(g),
        }
    }

    /// Classes of the objects on and below `g` in each dump, those that grew most first.
    fn elements(&self, g: u32) -> Vec<ElementGrowth> {
        let n = self.dumps.len();
        let mut by_class: BTreeMap<&str, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
        for k in 0..n {
            let Some(root) = self.paths[g as usize].at[k] else {
                continue;
            };
            let rows = &self.dumps[k].paths;
            let mut inside = vec![false; rows.len()];
            for (p, row) in rows.iter().enumerate().skip(root as usize) {
                inside[p] = p == root as usize || row.parent.is_some_and(|up| inside[up as usize]);
                if !inside[p] {
                    continue;
                }
                for (class, objects, bytes) in &row.own_classes {
                    let e = by_class
                        .entry(class.as_str())
                        .or_insert_with(|| (vec![0; n], vec![0; n]));
                    e.0[k] += objects;
                    e.1[k] += bytes;
                }
            }
        }
        let mut out: Vec<ElementGrowth> = by_class
            .into_iter()
            .map(|(class, (objects, bytes))| ElementGrowth {
                class: class.to_string(),
                growth_objects: change(&objects),
                growth_bytes: change(&bytes),
                objects,
                bytes,
            })
            .filter(|e| e.growth_bytes > 0 || e.growth_objects > 0)
            .collect();
        out.sort_by(|a, b| {
            b.growth_bytes
                .cmp(&a.growth_bytes)
                .then(a.class.cmp(&b.class))
        });
        out.truncate(5);
        out
    }

    /// Paths present in every dump, and how many of them kept their size.
    fn matched_and_stable(&self) -> (u64, u64) {
        let mut matched = 0;
        let mut stable = 0;
        for (g, p) in self.paths.iter().enumerate() {
            if p.at.iter().all(|a| a.is_some()) {
                matched += 1;
                if trend(&self.bytes(g as u32), bytes_tolerance) == Trend::Stable {
                    stable += 1;
                }
            }
        }
        (matched, stable)
    }
}

/// A frame of the growth view's flame graph: one path of the newest dump, with its retained
/// bytes in every dump (matched by path), so the page can size frames by the newest dump or by
/// growth and colour them by growth.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthFrame {
    /// The step and the class it reaches (the label).
    pub n: String,
    /// Retained bytes in each dump, oldest first (0 where a dump lacks the path).
    pub b: Vec<u64>,
    /// Java's `size()` in the newest dump, for collections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<u64>,
    pub c: Vec<GrowthFrame>,
}

/// Frames below this share of the newest dump's reachable bytes are left out of the flame graph
/// unless they grew by at least the diff's smallest reported growth.
const FLAME_MIN_SHARE: f64 = 1.0 / 2_000.0;
/// Deeper paths are cut (the page draws at most 60 rows anyway).
const FLAME_MAX_DEPTH: usize = 100;

/// The newest dump's paths as a flame graph, each frame carrying its bytes in every dump.
pub fn growth_flame(dumps: &[PathSummary]) -> GrowthFrame {
    let m = Matcher::new(dumps, None);
    let last = dumps.len().saturating_sub(1);
    let floor = dumps
        .last()
        .map_or(0, |d| (d.reachable_bytes as f64 * FLAME_MIN_SHARE) as u64);
    let min_growth = m.min_growth();
    let keep = |g: u32| {
        let b = m.bytes(g);
        m.row(g, last).is_some() && (b[last] >= floor || change(&b) >= min_growth)
    };
    m.frame(0, &keep, 0)
}

impl Matcher<'_> {
    fn frame(&self, g: u32, keep: &dyn Fn(u32) -> bool, depth: usize) -> GrowthFrame {
        let last = self.dumps.len().saturating_sub(1);
        let mut kids: Vec<u32> = if depth < FLAME_MAX_DEPTH {
            self.children[g as usize]
                .iter()
                .copied()
                .filter(|&c| keep(c))
                .collect()
        } else {
            vec![]
        };
        let b = self.bytes(g);
        kids.sort_by_key(|&c| std::cmp::Reverse(self.bytes(c)[last]));
        let p = &self.paths[g as usize];
        GrowthFrame {
            n: if g == 0 {
                "all GC roots".to_string()
            } else {
                format!("{} {}", p.step, p.class)
            },
            b,
            s: self.row(g, last).and_then(|r| r.collection_size),
            c: kids
                .into_iter()
                .map(|c| self.frame(c, keep, depth + 1))
                .collect(),
        }
    }
}

/// A suspect of the newest dump, followed along its path through every dump.
#[derive(Clone, Debug, Serialize)]
pub struct SuspectGrowth {
    /// Its rank among the newest dump's suspects.
    pub rank: usize,
    pub title: String,
    /// The path of the object its story ends at, as in `growth`.
    pub path: Vec<String>,
    /// Retained bytes of that path in each dump (0 where a dump lacks it).
    pub retained_bytes: Vec<u64>,
    pub collection_size: Vec<Option<u64>>,
    pub trend: Trend,
    pub growth_bytes: i64,
    pub growth_bytes_per_hour: Option<f64>,
    /// It did not grow: big, but not what makes the heap grow.
    pub stable: bool,
}

/// The newest dump's suspects ranked by their growth across the dumps (`analyze OLD NEW`).
#[derive(Clone, Debug, Serialize)]
pub struct SuspectHistory {
    pub dumps: Vec<DumpColumn>,
    pub hours: Option<f64>,
    /// Monotone growth first (three dumps or more), then by growth, then by rank.
    pub suspects: Vec<SuspectGrowth>,
}

/// Follows each suspect (rank, title, path key in [`PathSummary::key`] form) through `dumps`
/// (oldest first, the suspects' dump last).
pub fn suspect_history(
    dumps: &[PathSummary],
    suspects: &[(usize, String, String)],
) -> SuspectHistory {
    let hours = hours_between(dumps);
    let index: Vec<FxHashMap<String, usize>> = dumps.iter().map(keys_of).collect();
    let mut rows: Vec<SuspectGrowth> = suspects
        .iter()
        .map(|(rank, title, key)| {
            let at: Vec<Option<&PathRow>> = dumps
                .iter()
                .zip(&index)
                .map(|(d, ix)| ix.get(key).and_then(|&p| d.paths.get(p)))
                .collect();
            let bytes: Vec<u64> = at
                .iter()
                .map(|r| r.map_or(0, |r| r.retained_bytes))
                .collect();
            let t = trend(&bytes, bytes_tolerance);
            let growth = change(&bytes);
            SuspectGrowth {
                rank: *rank,
                title: title.clone(),
                path: key.split(" → ").map(str::to_string).collect(),
                collection_size: at
                    .iter()
                    .map(|r| r.and_then(|r| r.collection_size))
                    .collect(),
                stable: !t.grew(),
                trend: t,
                growth_bytes: growth,
                growth_bytes_per_hour: per_hour(growth, hours),
                retained_bytes: bytes,
            }
        })
        .collect();
    let monotone_first = dumps.len() >= 3;
    rows.sort_by(|a, b| {
        let m = |r: &SuspectGrowth| monotone_first && r.trend == Trend::Monotone;
        m(b).cmp(&m(a))
            .then(b.trend.grew().cmp(&a.trend.grew()))
            .then(b.growth_bytes.cmp(&a.growth_bytes))
            .then(a.rank.cmp(&b.rank))
    });
    SuspectHistory {
        dumps: dumps.iter().map(column).collect(),
        hours,
        suspects: rows,
    }
}

/// Path key -> path, for one dump (keys built parents first).
fn keys_of(d: &PathSummary) -> FxHashMap<String, usize> {
    let mut keys: Vec<String> = Vec::with_capacity(d.paths.len());
    let mut out = FxHashMap::default();
    for (p, row) in d.paths.iter().enumerate() {
        let key = match row.parent {
            None => String::new(),
            Some(up) => {
                let parent = &keys[up as usize];
                let step = format!("{} {}", row.step, row.class);
                if parent.is_empty() {
                    step
                } else {
                    format!("{parent} → {step}")
                }
            }
        };
        out.insert(key.clone(), p);
        keys.push(key);
    }
    out
}

fn class_growth(dumps: &[PathSummary], top: usize) -> Vec<ClassGrowth> {
    let names: BTreeSet<&str> = dumps
        .iter()
        .flat_map(|d| d.classes.keys().map(|k| k.as_str()))
        .collect();
    let mut out: Vec<ClassGrowth> = names
        .into_iter()
        .map(|name| {
            let get = |f: fn(&super::path_summary::ClassTotals) -> u64| -> Vec<u64> {
                dumps
                    .iter()
                    .map(|d| d.classes.get(name).map_or(0, f))
                    .collect()
            };
            let instances = get(|c| c.instances);
            let shallow = get(|c| c.shallow_bytes);
            let retained = get(|c| c.retained_bytes);
            ClassGrowth {
                class: name.to_string(),
                growth_instances: change(&instances),
                growth_shallow_bytes: change(&shallow),
                growth_retained_bytes: change(&retained),
                trend: trend(&shallow, bytes_tolerance),
                instances,
                shallow_bytes: shallow,
                retained_bytes: retained,
            }
        })
        .filter(|c| c.growth_instances != 0 || c.growth_shallow_bytes != 0)
        .collect();
    out.sort_by(|a, b| {
        b.growth_retained_bytes
            .cmp(&a.growth_retained_bytes)
            .then(b.growth_shallow_bytes.cmp(&a.growth_shallow_bytes))
            .then(a.class.cmp(&b.class))
    });
    out.truncate(top);
    out
}

fn loader_growth(dumps: &[PathSummary]) -> Vec<LoaderGrowth> {
    let types: BTreeSet<&str> = dumps
        .iter()
        .flat_map(|d| d.loaders.keys().map(|k| k.as_str()))
        .collect();
    let mut out: Vec<LoaderGrowth> = types
        .into_iter()
        .map(|t| {
            let loaders: Vec<u64> = dumps
                .iter()
                .map(|d| d.loaders.get(t).map_or(0, |l| l.loaders))
                .collect();
            let classes: Vec<u64> = dumps
                .iter()
                .map(|d| d.loaders.get(t).map_or(0, |l| l.classes))
                .collect();
            LoaderGrowth {
                type_name: t.to_string(),
                appeared: dumps.first().is_some_and(|d| !d.loaders.contains_key(t)),
                trend: trend(&loaders, |_| 0),
                loaders,
                classes,
            }
        })
        .filter(|l| change(&l.loaders) > 0 || change(&l.classes) > 0)
        .collect();
    out.sort_by(|a, b| {
        change(&b.loaders)
            .cmp(&change(&a.loaders))
            .then(change(&b.classes).cmp(&change(&a.classes)))
            .then(a.type_name.cmp(&b.type_name))
    });
    out
}

fn family_growth(dumps: &[PathSummary], top: usize) -> Vec<FamilyGrowth> {
    let keys: BTreeSet<&str> = dumps
        .iter()
        .flat_map(|d| d.families.keys().map(|k| k.as_str()))
        .collect();
    let mut out: Vec<FamilyGrowth> = keys
        .into_iter()
        .map(|f| {
            let classes: Vec<u64> = dumps
                .iter()
                .map(|d| d.families.get(f).copied().unwrap_or(0))
                .collect();
            FamilyGrowth {
                family: f.to_string(),
                appeared: dumps.first().is_some_and(|d| !d.families.contains_key(f)),
                trend: trend(&classes, |_| 0),
                classes,
            }
        })
        .filter(|f| change(&f.classes) > 0)
        .collect();
    out.sort_by(|a, b| {
        change(&b.classes)
            .cmp(&change(&a.classes))
            .then(a.family.cmp(&b.family))
    });
    out.truncate(top);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyses::heap::dump_info::DumpInfo;

    #[test]
    fn trends_tell_monotone_from_grew_once() {
        let exact = |_| 0;
        assert_eq!(trend(&[1, 2, 3], exact), Trend::Monotone);
        assert_eq!(trend(&[1, 5, 5], exact), Trend::GrewOnce);
        assert_eq!(trend(&[1, 1, 5], exact), Trend::GrewOnce);
        assert_eq!(trend(&[1, 2, 2, 3], exact), Trend::Grew);
        assert_eq!(trend(&[1, 2], exact), Trend::Grew);
        assert_eq!(trend(&[4, 4, 4], exact), Trend::Stable);
        assert_eq!(trend(&[4, 3, 2], exact), Trend::Shrank);
        assert_eq!(trend(&[4, 9, 2], exact), Trend::Fluctuating);
        assert_eq!(trend(&[7], exact), Trend::Stable);
        assert_eq!(trend(&[], exact), Trend::Stable);
        // Within the tolerance, a step is no change.
        assert_eq!(
            trend(&[100_000, 100_500, 101_000], bytes_tolerance),
            Trend::Stable
        );
        assert_eq!(trend(&[0, u64::MAX], exact), Trend::Grew);
    }

    fn summary(timestamp_ms: u64, rows: &[(Option<u32>, &str, u64)]) -> PathSummary {
        PathSummary {
            dump: DumpInfo {
                path: format!("dump-{timestamp_ms}"),
                bytes: 0,
                compressed_bytes: None,
                format: String::new(),
                identifier_size: 8,
                timestamp_ms,
                objects: 0,
                classes: 0,
                gc_roots: Default::default(),
                heap_records: 0,
                heap_dumps: vec![],
                analysed_dump: None,
                truncated: false,
            },
            reachable_bytes: rows[0].2,
            reachable_objects: 0,
            min_path_bytes: 1024,
            paths: rows
                .iter()
                .map(|&(parent, step, retained_bytes)| PathRow {
                    parent,
                    step: step.to_string(),
                    class: "C".into(),
                    nodes: 1,
                    retained_bytes,
                    retained_objects: 1,
                    collection_size: None,
                    is_collection: false,
                    own_classes: vec![],
                })
                .collect(),
            classes: Default::default(),
            loaders: Default::default(),
            families: Default::default(),
        }
    }

    /// The flame graph is the newest dump's paths, matched by steps (in any order per dump),
    /// each with its bytes in every dump; a path the newest lacks is left out, a tiny one too.
    #[test]
    fn growth_flame_matches_paths_and_keeps_the_newest() {
        let old = summary(
            1,
            &[
                (None, "", 1_000_000),
                (Some(0), "static A", 100_000),
                (Some(0), "static GONE", 50_000),
            ],
        );
        let new = summary(
            2,
            &[
                (None, "", 2_000_000),
                (Some(0), "static B", 900_000),
                (Some(0), "static A", 1_000_000),
                (Some(0), "static TINY", 10),
            ],
        );
        let f = growth_flame(&[old, new]);
        assert_eq!(f.b, vec![1_000_000, 2_000_000]);
        let kids: Vec<(&str, &[u64])> = f.c.iter().map(|c| (c.n.as_str(), &c.b[..])).collect();
        assert_eq!(
            kids,
            vec![
                ("static A C", &[100_000, 1_000_000][..]),
                ("static B C", &[0, 900_000][..])
            ]
        );
    }

    #[test]
    fn change_saturates() {
        assert_eq!(change(&[0, u64::MAX]), i64::MAX);
        assert_eq!(change(&[5, 3]), -2);
        assert_eq!(change(&[]), 0);
    }
}
