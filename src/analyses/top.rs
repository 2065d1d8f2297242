//! The biggest objects and classes: by retained size (what freeing them would free), shallow size
//! or instance count.

use super::describe::{describe, hex};
use super::dump_info::{Assumptions, DumpInfo};
use super::graph::{Graph, HeapTotals};
use crate::formats::hprof::Warning;
use crate::heap::classes::NO_CLASS;
use crate::heap::graph::Node;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub const SCHEMA: &str = "oomsleuth.top/1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TopBy {
    #[default]
    Retained,
    Shallow,
    Count,
}

#[derive(Clone, Debug, Serialize)]
pub struct TopObject {
    pub id: String,
    pub class: String,
    pub description: String,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    /// Retained bytes as a percentage of the reachable heap.
    pub retained_percent: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TopClass {
    pub name: String,
    /// Reachable instances (all instances with `--keep-unreachable`).
    pub instances: u64,
    pub shallow_bytes: u64,
    /// Bytes retained by the instances together, each counted once (see `docs/json.md`).
    pub retained_bytes: u64,
    pub retained_percent: f64,
}

/// The `oomsleuth.top/1` document.
#[derive(Clone, Debug, Serialize)]
pub struct Top {
    pub schema: &'static str,
    pub dump: DumpInfo,
    pub assumptions: Assumptions,
    pub heap: HeapTotals,
    pub by: TopBy,
    pub objects: Vec<TopObject>,
    pub classes: Vec<TopClass>,
    pub warnings: Vec<Warning>,
}

pub fn top(g: &Graph<'_, '_>, by: TopBy, n: usize) -> Top {
    let heap = &g.heap;
    let index = heap.index;
    let total = g.total_retained().max(1) as f64;
    let pct = |b: u64| (b as f64 * 10000.0 / total).round() / 100.0;
    let count = index.len();
    // Objects: a bounded selection, not a sort of the whole heap.
    let key = |v: Node| -> u64 {
        match by {
            TopBy::Retained | TopBy::Count => g.retained(v),
            TopBy::Shallow => index.shallow(v),
        }
    };
    // A heap of the best `n` so far (the worst on top): no array over all objects.
    let mut heap_n: BinaryHeap<Reverse<(u64, Reverse<Node>)>> = BinaryHeap::with_capacity(n + 1);
    for v in 0..count as Node {
        if !g.retention.is_reachable(v) {
            continue;
        }
        heap_n.push(Reverse((key(v), Reverse(v))));
        if heap_n.len() > n {
            heap_n.pop();
        }
    }
    let mut best: Vec<Node> = heap_n
        .into_iter()
        .map(|Reverse((_, Reverse(v)))| v)
        .collect();
    best.sort_by(|&a, &b| key(b).cmp(&key(a)).then(a.cmp(&b)));
    let objects = best
        .iter()
        .map(|&v| TopObject {
            id: hex(heap.id(v)),
            class: heap.class_name(v).to_string(),
            description: describe(heap, v),
            shallow_bytes: index.shallow(v),
            retained_bytes: g.retained(v),
            retained_percent: pct(g.retained(v)),
        })
        .collect();
    // Classes.
    let nclasses = heap.snap.classes.len();
    let retained = g.retention.class_retained(index, nclasses);
    let mut instances = vec![0u64; nclasses];
    let mut shallow = vec![0u64; nclasses];
    for v in 0..count {
        let c = index.class_of[v];
        if c != NO_CLASS && g.retention.is_reachable(v as Node) {
            instances[c as usize] += 1;
            shallow[c as usize] += index.shallow(v as Node);
        }
    }
    let mut rows: Vec<TopClass> = (0..nclasses)
        .filter(|&c| instances[c] > 0)
        .map(|c| TopClass {
            name: heap.snap.classes.get(c as u32).name.clone(),
            instances: instances[c],
            shallow_bytes: shallow[c],
            retained_bytes: retained[c],
            retained_percent: pct(retained[c]),
        })
        .collect();
    match by {
        TopBy::Retained => rows.sort_by(|a, b| {
            b.retained_bytes
                .cmp(&a.retained_bytes)
                .then(a.name.cmp(&b.name))
        }),
        TopBy::Shallow => rows.sort_by(|a, b| {
            b.shallow_bytes
                .cmp(&a.shallow_bytes)
                .then(a.name.cmp(&b.name))
        }),
        TopBy::Count => {
            rows.sort_by(|a, b| b.instances.cmp(&a.instances).then(a.name.cmp(&b.name)))
        }
    }
    rows.truncate(n);
    Top {
        schema: SCHEMA,
        dump: DumpInfo::of(heap.snap),
        assumptions: Assumptions::of(heap.snap),
        heap: g.totals(),
        by,
        objects,
        classes: rows,
        warnings: heap.snap.warnings.clone(),
    }
}
