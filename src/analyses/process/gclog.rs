//! `oomsleuth gclog`: heap and Metaspace after each GC over time, pauses, full GCs and their causes, and
//! the trend of what is left after full GCs (live data: when it keeps rising, something leaks).

use crate::analyses::process::native::{keys_with, used, FileUsed, MIN_GROWTH, MIN_GROWTH_REL};
use crate::analyses::process::series::{growth, order, Growth, Series, TimeSource};
use crate::formats::logs::gclog::{self, GcEvent};
use crate::inputs::evidence::Input;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "oomsleuth.gclog/1";

/// The JSON contract of `oomsleuth gclog`.
#[derive(Clone, Debug, Serialize)]
pub struct GcLogAnalysis {
    pub schema: &'static str,
    pub files: Vec<FileUsed>,
    pub time_source: TimeSource,
    pub collector: Option<String>,
    pub collections: usize,
    pub full_collections: usize,
    /// Collections per cause, most frequent first.
    pub causes: Vec<CauseCount>,
    pub pause_total_ms: f64,
    pub pause_max_ms: f64,
    /// Heap after each full GC (the live set): the leak signal. Null with fewer than two full GCs.
    pub heap_after_full_gc: Option<Growth>,
    /// Heap after every collection (weaker: young GCs leave garbage in old regions).
    pub heap_after_gc: Option<Growth>,
    /// Metaspace used after each collection that reports it.
    pub metaspace_after_gc: Option<Growth>,
    /// Full GCs that freed less than a tenth of the heap they found: the heap holds live data.
    pub full_gcs_freeing_little: usize,
    /// Heap after the last full GC, as a share of the heap's capacity then (percent).
    pub last_full_gc_percent_of_capacity: Option<f64>,
    /// `OutOfMemoryError` lines found in the log.
    pub oom: Vec<String>,
    /// The last collections (at most 20), oldest first.
    pub last_collections: Vec<GcEvent>,
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CauseCount {
    pub cause: String,
    pub count: usize,
    pub full: usize,
}

/// A full GC that frees less than this share of the heap it found freed little.
const LITTLE_FREED: f64 = 0.10;

/// How many full GCs freed little, and how full the heap was after the last one (percent of
/// capacity). Full GCs that keep finding a full heap of live data are the heap OOM's signature
/// even when the live set no longer rises (it has reached the ceiling).
fn full_gc_yield(events: &[GcEvent]) -> (usize, Option<f64>) {
    let full: Vec<&GcEvent> = events.iter().filter(|e| e.full).collect();
    let little = full
        .iter()
        .filter(|e| match (e.heap_before, e.heap_after) {
            (Some(b), Some(a)) => b > 0 && (b.saturating_sub(a) as f64) < LITTLE_FREED * b as f64,
            _ => false,
        })
        .count();
    let last = full
        .iter()
        .rev()
        .find_map(|e| match (e.heap_after, e.heap_capacity) {
            (Some(a), Some(c)) if c > 0 => Some(100.0 * a as f64 / c as f64),
            _ => None,
        });
    (little, last)
}

/// Analyses GC logs (rotated parts are ordered by their first timestamp, then joined).
pub fn analyze(inputs: &[&Input]) -> GcLogAnalysis {
    let parsed: Vec<_> = inputs.iter().map(|i| gclog::parse(&i.text)).collect();
    let first_t = |p: &gclog::GcLog| p.events.first().and_then(|e| e.t);
    let (idx, time_source, _) = order(&keys_with(inputs, |k| first_t(&parsed[k])));
    let mut files = Vec::new();
    let mut events: Vec<GcEvent> = Vec::new();
    let mut oom = Vec::new();
    let mut collector = None;
    let mut warnings = Vec::new();
    for &i in &idx {
        let p = &parsed[i];
        files.push(used(inputs[i], first_t(p).unwrap_or(0.0), &p.stats));
        if p.events.is_empty() {
            warnings.push(format!(
                "{}: no collections found (was it written with -Xlog:gc* or -XX:+PrintGCDetails?)",
                inputs[i].path.display()
            ));
        }
        let offset = events.len() as f64;
        events.extend(p.events.iter().cloned().map(|mut e| {
            if e.t.is_none() {
                e.t = Some(offset + e.id as f64); // JDK 8 logs without time stamps: the event's position
            }
            e
        }));
        oom.extend(p.oom.iter().cloned());
        collector = collector.or(p.collector.clone());
    }
    let real = events.iter().all(|e| e.t.is_some()) && time_source == TimeSource::Content;
    let pts = |f: &dyn Fn(&GcEvent) -> Option<u64>, full_only: bool| -> Vec<(f64, f64)> {
        events
            .iter()
            .filter(|e| !full_only || e.full)
            .filter_map(|e| Some((e.t?, f(e)? as f64)))
            .collect()
    };
    let heap_full = pts(&|e| e.heap_after, true);
    let heap_all = pts(&|e| e.heap_after, false);
    let meta = pts(&|e| e.metaspace_after, false);
    let g = |p: &[(f64, f64)], min: usize| {
        (p.len() >= min).then(|| growth(p, real, MIN_GROWTH, MIN_GROWTH_REL))
    };
    let heap_after_full_gc = g(&heap_full, 2);
    let (full_gcs_freeing_little, last_full_gc_percent_of_capacity) = full_gc_yield(&events);
    let heap_after_gc = g(&heap_all, 2);
    let metaspace_after_gc = g(&meta, 2);
    let mut series = Vec::new();
    let t0 = events
        .iter()
        .filter_map(|e| e.t)
        .fold(f64::INFINITY, f64::min);
    let rel = |p: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        p.into_iter().map(|(t, v)| (t - t0, v)).collect()
    };
    for (name, p, gr) in [
        ("gclog: heap after GC", &heap_all, &heap_after_gc),
        ("gclog: heap after full GC", &heap_full, &heap_after_full_gc),
        ("gclog: Metaspace after GC", &meta, &metaspace_after_gc),
    ] {
        if !p.is_empty() {
            let mut s = Series::new(name, "bytes", time_source, &rel(p.clone()));
            s.growing = gr.as_ref().is_some_and(|g| g.growing);
            series.push(s);
        }
    }
    let pauses = pts(&|e| e.pause_ms.map(|m| (m * 1000.0) as u64), false);
    if !pauses.is_empty() {
        series.push(Series::new(
            "gclog: pause (µs)",
            "count",
            time_source,
            &rel(pauses),
        ));
    }
    let mut causes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in &events {
        let c = causes
            .entry(e.cause.clone().unwrap_or_else(|| "(none logged)".into()))
            .or_default();
        c.0 += 1;
        c.1 += e.full as usize;
    }
    let mut causes: Vec<CauseCount> = causes
        .into_iter()
        .map(|(cause, (count, full))| CauseCount { cause, count, full })
        .collect();
    causes.sort_by(|a, b| b.count.cmp(&a.count).then(a.cause.cmp(&b.cause)));
    if heap_full.len() < 2 {
        warnings.push("fewer than two full GCs: the heap's live-set trend is estimated from all collections, which is weaker".into());
    }
    GcLogAnalysis {
        schema: SCHEMA,
        files,
        time_source,
        collector,
        collections: events.len(),
        full_collections: events.iter().filter(|e| e.full).count(),
        causes,
        pause_total_ms: events.iter().filter_map(|e| e.pause_ms).sum(),
        pause_max_ms: events.iter().filter_map(|e| e.pause_ms).fold(0.0, f64::max),
        heap_after_full_gc,
        heap_after_gc,
        metaspace_after_gc,
        full_gcs_freeing_little,
        last_full_gc_percent_of_capacity,
        oom,
        last_collections: events.iter().rev().take(20).rev().cloned().collect(),
        series,
        warnings,
    }
}
