//! `oomsleuth analyze`: everything a person needs from one dump, in one document — the heap
//! summary, leak suspects with their stories, the largest collections, wasted memory, and (for
//! the HTML report) an aggregated dominator tree and the details of every object it mentions.

use crate::analyses::heap::classloaders::{class_loader_suspects_with, Thresholds};
use crate::analyses::heap::collections::{self, CollectionRow};
use crate::analyses::heap::describe::{node_ref, object_ref, ObjectRef};
use crate::analyses::heap::dump_info::{Assumptions, DumpInfo};
use crate::analyses::heap::graph::{Graph, HeapTotals};
use crate::analyses::heap::histogram;
use crate::analyses::heap::inspect::{inspect, FieldRow};
use crate::analyses::heap::paths::{shortest_path, Step};
use crate::analyses::heap::suspects::{self, Suspect};
use crate::analyses::heap::waste::{self, Waste};
use crate::formats::hprof::Warning;
use crate::heap::classes::NO_CLASS;
use crate::heap::fxhash::new_map;
use crate::heap::graph::{Csr, Node};
use crate::heap::retained::reachable_instances;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "oomsleuth.report/1";

#[derive(Clone, Debug)]
pub struct Options {
    pub suspects: suspects::Options,
    /// When loader types and class families become suspects.
    pub class_loaders: Thresholds,
    /// Rows in the histogram, collections and dominator lists.
    pub rows: usize,
    /// Build the flame graph and object details (for the HTML report).
    pub details: bool,
    /// The JVM's own Metaspace per loader type (`VM.classloader_stats`/`VM.metaspace` given
    /// beside the dump): class-loader suspects use it instead of estimates.
    pub jvm_metaspace: Option<crate::formats::logs::metaspace::JvmMetaspace>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            suspects: suspects::Options::default(),
            class_loaders: Thresholds::default(),
            rows: 20,
            details: false,
            jvm_metaspace: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub jdk: Option<String>,
    pub identifier_size: u8,
    pub compressed_oops: bool,
    /// Bytes of all reachable objects (what the JVM's heap held, live).
    pub heap_bytes: u64,
    pub objects: u64,
    pub classes: u64,
    /// Live objects that are class loaders, and distinct loaders that defined classes.
    pub class_loaders: u64,
    pub defining_loaders: u64,
    pub gc_roots: BTreeMap<&'static str, u64>,
    pub unreachable_objects: u64,
    pub unreachable_bytes: u64,
    /// Reachable plus held by the JVM, not in the dump (see `heap.live_bytes`).
    pub live_objects: u64,
    pub live_bytes: u64,
    pub reachability: crate::analyses::heap::graph::Reachability,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClassRow {
    pub name: String,
    pub instances: u64,
    pub shallow_bytes: u64,
    /// Bytes the class's reachable instances retain together, each counted once.
    pub retained_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dominator {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    pub retained_percent: f64,
}

/// The `oomsleuth.report/1` document.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub dump: DumpInfo,
    pub assumptions: Assumptions,
    pub heap: HeapTotals,
    pub summary: Summary,
    pub threshold_percent: f64,
    pub min_retained_bytes: u64,
    /// Most important first.
    pub suspects: Vec<Suspect>,
    /// Classes by shallow bytes (as `jmap -histo`), with retained bytes.
    pub histogram: Vec<ClassRow>,
    /// The biggest objects right below the GC roots.
    pub dominators: Vec<Dominator>,
    pub collections: Vec<CollectionRow>,
    pub waste: Waste,
    pub warnings: Vec<Warning>,
    /// When logs, NMT, pmap or jstat outputs were given beside the dump: which memory area grows
    /// (`{"area": "heap|metaspace|native|threads|direct|none", ...}`, as in `oomsleuth.verdict/1`).
    pub verdict: Option<crate::analyses::process::verdict::Verdict>,
    /// The full `oomsleuth.verdict/1` analysis of those files (time series, per-file findings).
    pub native: Option<crate::analyses::process::verdict::VerdictReport>,
    /// With older dumps given before this one (`analyze OLD NEW`): the suspects ranked by their
    /// growth across the dumps (`oomsleuth.diff/1`'s terms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::analyses::heap::growth::SuspectHistory>,
    /// For the HTML report only.
    #[serde(skip)]
    pub flame: Option<FlameNode>,
    #[serde(skip)]
    pub objects: BTreeMap<String, ObjectDetail>,
}

/// A frame of the dominator-tree flame graph: one object, or a group of small siblings.
#[derive(Clone, Debug, Serialize)]
pub struct FlameNode {
    /// Label shown in the frame.
    pub n: String,
    /// Object id (hex) or empty for groups.
    pub id: String,
    /// Retained bytes (frame width).
    pub v: u64,
    pub c: Vec<FlameNode>,
}

/// What the HTML report shows when an object is clicked.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectDetail {
    pub description: String,
    pub class: String,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    pub path: Vec<Step>,
    pub fields: Vec<FieldRow>,
}

/// Frames in the flame graph at most; smaller siblings are grouped by class.
const FLAME_NODES: usize = 25_000;
/// Objects whose details the HTML report carries.
const DETAILED_OBJECTS: usize = 200;

/// Laps of the analysis (`OOMSLEUTH_TIMINGS=1`) that also advance the progress bar by one part
/// each.
struct Clock<'p>(
    crate::heap::timing::Laps,
    &'p dyn crate::heap::snapshot::Progress,
);

impl<'p> Clock<'p> {
    fn new(progress: &'p dyn crate::heap::snapshot::Progress) -> Clock<'p> {
        Clock(crate::heap::timing::Laps::start(""), progress)
    }
    fn lap(&mut self, what: &str) {
        self.1.advance(1);
        self.0.lap(what);
    }
}

/// The class-loader findings after the heap suspects, while there is room, each with the owner
/// and accumulation its path shows.
fn append_loader_suspects(g: &Graph<'_, '_>, opts: &Options, suspects: &mut Vec<Suspect>) {
    let kinds = g.heap.snap.collections();
    let total = g.total_retained();
    let pct = |b: u64| 100.0 * b as f64 / total.max(1) as f64;
    // Metaspace findings (class loaders, generated classes) follow the heap suspects.
    for c in class_loader_suspects_with(g, &opts.class_loaders, opts.jvm_metaspace.as_ref()) {
        if suspects.len() >= opts.suspects.max_suspects {
            break;
        }
        let mut s = Suspect::from_class_loaders(suspects.len() + 1, c);
        s.retained_percent = pct(s.retained_bytes);
        if let Some((owner, accumulated)) =
            suspects::loader_accumulation(g, kinds, &s.path, s.retained_bytes)
        {
            s.owner = Some(owner);
            s.accumulated = Some(accumulated);
        }
        suspects.push(s);
    }
}

/// The `rows` classes with most shallow bytes, with their retained sizes.
fn histogram_rows(g: &Graph<'_, '_>, rows_wanted: usize) -> Vec<ClassRow> {
    let heap = &g.heap;
    let snap = heap.snap;
    // Memoised (from the cache or an earlier walk); a walk uses the child lists Retention keeps,
    // the ones the CLI passes as `children`.
    let class_retained = g.retention.class_retained(heap.index, snap.classes.len());
    let mut rows = histogram::rows(snap);
    histogram::sort_rows(&mut rows, histogram::SortBy::Bytes);
    rows.truncate(rows_wanted);
    rows.into_iter()
        .map(|r| {
            let retained = snap
                .classes
                .find(&r.name)
                .map(|c| class_retained[c as usize])
                .unwrap_or(r.shallow_bytes);
            ClassRow {
                name: r.name,
                instances: r.instances,
                shallow_bytes: r.shallow_bytes,
                retained_bytes: retained,
            }
        })
        .collect()
}

/// The heap summary: JVM, sizes, classes and loaders, roots, reachability.
fn summary_of(g: &Graph<'_, '_>, totals: &HeapTotals) -> Summary {
    let heap = &g.heap;
    let snap = heap.snap;
    let ncls = snap.classes.len();
    let instances = reachable_instances(heap.index, g.retention, ncls);
    let class_loaders = match snap.classes.find("java.lang.ClassLoader") {
        Some(lc) => (0..ncls as u32)
            .filter(|&c| snap.classes.is_subclass_of(c, lc))
            .map(|c| instances[c as usize])
            .sum(),
        None => 0,
    };
    let mut loaders: Vec<u64> = snap.classes.classes.iter().map(|c| c.loader_id).collect();
    loaders.sort_unstable();
    loaders.dedup();
    Summary {
        jdk: snap.vm.jdk_version.clone(),
        identifier_size: snap.dir.id_size(),
        compressed_oops: snap.vm.layout.compressed_oops,
        heap_bytes: totals.reachable_bytes,
        objects: totals.reachable_objects,
        classes: ncls as u64,
        class_loaders,
        defining_loaders: loaders.len() as u64,
        gc_roots: totals.gc_roots.clone(),
        unreachable_objects: totals.unreachable_objects,
        unreachable_bytes: totals.unreachable_bytes,
        live_objects: totals.live_objects,
        live_bytes: totals.live_bytes,
        reachability: totals.reachability,
    }
}

/// Runs every analysis of the report; `progress` counts its parts (the index and dominators,
/// built before, have their own phases).
pub fn analyze(
    g: &Graph<'_, '_>,
    children: &Csr,
    opts: &Options,
    progress: &dyn crate::heap::snapshot::Progress,
) -> Report {
    progress.phase_items("analysing", if opts.details { 9 } else { 7 });
    let mut clock = Clock::new(progress);
    let heap = &g.heap;
    let snap = heap.snap;
    let kinds = heap.snap.collections();
    let total = g.total_retained();
    let pct = |b: u64| 100.0 * b as f64 / total.max(1) as f64;

    clock.lap("kinds");
    let mut suspects = suspects::find(g, children, kinds, &opts.suspects);
    clock.lap("suspects");
    append_loader_suspects(g, opts, &mut suspects);
    clock.lap("classloaders");

    let histogram = histogram_rows(g, opts.rows);
    let root = heap.index.virtual_root();
    let mut tops: Vec<Node> = children.successors(root).to_vec();
    tops.sort_unstable_by_key(|&v| (std::cmp::Reverse(g.retained(v)), v));
    tops.truncate(opts.rows);
    let dominators = tops
        .iter()
        .map(|&v| Dominator {
            object: object_ref(heap, v),
            shallow_bytes: heap.index.shallow(v),
            retained_bytes: g.retained(v),
            retained_percent: pct(g.retained(v)),
        })
        .collect();
    clock.lap("histogram");
    let r = g.retention;
    let sizes = collections::all_sizes(heap, kinds, &|o| r.is_reachable(o));
    clock.lap("sizes");
    let collections = collections::largest(g, &sizes, kinds, opts.rows);
    clock.lap("collections");
    let waste = waste::waste(g, kinds, &sizes);
    clock.lap("waste");

    let totals = g.totals();
    let summary = summary_of(g, &totals);

    let mut report = Report {
        schema: SCHEMA,
        dump: DumpInfo::of(snap),
        assumptions: Assumptions::of(snap),
        heap: totals,
        summary,
        threshold_percent: opts.suspects.threshold_percent,
        min_retained_bytes: opts.suspects.min_retained,
        suspects,
        histogram,
        dominators,
        collections,
        waste,
        warnings: g.heap.warnings(),
        verdict: None,
        native: None,
        history: None,
        flame: None,
        objects: BTreeMap::new(),
    };
    if opts.details {
        report.flame = Some(flame(g, children));
        clock.lap("flame");
        report.objects = details(g, &report, &tops);
        clock.lap("details");
    }
    progress.finish();
    report
}

/// The dominator tree, aggregated for drawing: children retaining at least 1/4000 of the heap
/// are frames of their own (at most 40 per parent), smaller ones are grouped by class.
pub fn flame(g: &Graph<'_, '_>, children: &Csr) -> FlameNode {
    let heap = &g.heap;
    let root = heap.index.virtual_root();
    let total = g.total_retained();
    let min = (total / 4000).max(1);
    let mut budget = FLAME_NODES;
    // Iterative construction: (node, path of child indexes from the root frame).
    let mut top = FlameNode {
        n: "all GC roots".into(),
        id: String::new(),
        v: total,
        c: vec![],
    };
    let mut stack: Vec<(Node, Vec<usize>, usize)> = vec![(root, vec![], 0)];
    while let Some((v, at, depth)) = stack.pop() {
        let mut kids: Vec<Node> = children.successors(v).to_vec();
        kids.sort_unstable_by_key(|&k| (std::cmp::Reverse(g.retained(k)), k));
        let mut frames: Vec<FlameNode> = vec![];
        let mut follow: Vec<(Node, usize)> = vec![];
        let mut rest = new_map::<u32, (u64, u64)>();
        for (i, &k) in kids.iter().enumerate() {
            let big = g.retained(k) >= min && i < 40 && depth < 60 && budget > 0;
            if big {
                budget -= 1;
                follow.push((k, frames.len()));
                frames.push(FlameNode {
                    n: node_ref(heap, k).description,
                    id: node_ref(heap, k).id,
                    v: g.retained(k),
                    c: vec![],
                });
            } else {
                let c = heap.class(k);
                let e = rest.entry(c).or_default();
                e.0 += 1;
                e.1 += g.retained(k);
            }
        }
        let mut groups: Vec<(u32, (u64, u64))> = rest.into_iter().collect();
        groups.sort_unstable_by_key(|x| (std::cmp::Reverse(x.1 .1), x.0));
        for (c, (count, bytes)) in groups.into_iter().take(20) {
            if bytes < min || budget == 0 {
                continue;
            }
            budget -= 1;
            let name = if c == NO_CLASS {
                "objects".to_string()
            } else {
                heap.snap.classes.get(c).name.clone()
            };
            frames.push(FlameNode {
                n: format!("{count} × {name}"),
                id: String::new(),
                v: bytes,
                c: vec![],
            });
        }
        let node = frame_at(&mut top, &at);
        node.c = frames;
        for (k, idx) in follow.into_iter().rev() {
            let mut p = at.clone();
            p.push(idx);
            stack.push((k, p, depth + 1));
        }
    }
    top
}

fn frame_at<'t>(top: &'t mut FlameNode, at: &[usize]) -> &'t mut FlameNode {
    let mut node = top;
    for &i in at {
        node = &mut node.c[i];
    }
    node
}

/// Paths and fields of the objects the report names, biggest first, for the HTML report.
fn details(g: &Graph<'_, '_>, r: &Report, tops: &[Node]) -> BTreeMap<String, ObjectDetail> {
    let heap = &g.heap;
    let mut ids: Vec<String> = vec![];
    for s in &r.suspects {
        ids.extend(s.holder.iter().map(|h| h.id.clone()));
        ids.extend(s.accumulation_point.iter().map(|a| a.object.id.clone()));
        ids.extend(s.path.iter().map(|p| p.object.id.clone()));
        if let Some(a) = &s.accumulated {
            ids.extend(a.examples.iter().map(|e| e.object.id.clone()));
        }
        if let Some(m) = &s.map {
            ids.push(m.map.id.clone());
        }
    }
    ids.extend(r.collections.iter().map(|c| c.object.id.clone()));
    ids.extend(
        tops.iter()
            .map(|&v| heap.id(v))
            .map(crate::analyses::heap::describe::hex),
    );
    if let Some(f) = &r.flame {
        let mut stack = vec![f];
        let mut frames: Vec<&FlameNode> = vec![];
        while let Some(x) = stack.pop() {
            if !x.id.is_empty() {
                frames.push(x);
            }
            stack.extend(x.c.iter());
        }
        frames.sort_by_key(|x| std::cmp::Reverse(x.v));
        ids.extend(frames.iter().map(|x| x.id.clone()));
    }
    // Objects on a suspect's path: their path is a prefix of it.
    let mut known: BTreeMap<String, Vec<Step>> = BTreeMap::new();
    for s in &r.suspects {
        for k in 0..s.path.len() {
            known
                .entry(s.path[k].object.id.clone())
                .or_insert_with(|| s.path[..=k].to_vec());
        }
    }
    let mut out = BTreeMap::new();
    for id in ids {
        if out.len() >= DETAILED_OBJECTS {
            break;
        }
        if out.contains_key(&id) {
            continue;
        }
        let Some(o) = id
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .and_then(|x| heap.find(x))
        else {
            continue;
        };
        let ins = inspect(g, o, None);
        let mut fields = ins.fields;
        fields.extend(ins.statics);
        fields.extend(ins.elements.into_iter().take(50));
        fields.truncate(80);
        let path = match known.get(&id) {
            Some(p) => p.clone(),
            None => shortest_path(g, o).unwrap_or_default(),
        };
        out.insert(
            id,
            ObjectDetail {
                description: ins.object.description,
                class: ins.object.class,
                shallow_bytes: ins.shallow_bytes,
                retained_bytes: ins.retained_bytes,
                path,
                fields,
            },
        );
    }
    out
}
