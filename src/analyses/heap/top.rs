//! The biggest objects and classes: by retained size (what freeing them would free), shallow size
//! or instance count.

use super::describe::{describe, hex};
use super::dump_info::{Assumptions, DumpInfo};
use super::graph::{Graph, HeapTotals};
use crate::formats::hprof::Warning;
use crate::heap::classes::NO_CLASS;
use crate::heap::graph::Node;
use rayon::prelude::*;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub const SCHEMA: &str = "oomsleuth.top/1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
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
    // One parallel pass over the objects: per chunk, the best `n` objects (a bounded heap, the
    // worst on top, so most objects cost one comparison) and per-class counts; then merged.
    let key = |v: Node| -> u64 {
        match by {
            TopBy::Retained | TopBy::Count => g.retained(v),
            TopBy::Shallow => index.shallow(v),
        }
    };
    let nclasses = heap.snap.classes.len();
    type Best = BinaryHeap<Reverse<(u64, Reverse<Node>)>>;
    let offer = |best: &mut Best, k: u64, v: Node| {
        let item = Reverse((k, Reverse(v)));
        if best.len() < n {
            best.push(item);
        } else if best.peek().is_some_and(|worst| item < *worst) {
            best.pop();
            best.push(item);
        }
    };
    const CHUNK: usize = 1 << 16;
    let (best, instances, shallow) = (0..count.div_ceil(CHUNK))
        .into_par_iter()
        .fold(
            || (Best::new(), vec![0u64; nclasses], vec![0u64; nclasses]),
            |(mut best, mut instances, mut shallow), k| {
                for v in (k * CHUNK) as Node..((k + 1) * CHUNK).min(count) as Node {
                    if !g.retention.is_reachable(v) {
                        continue;
                    }
                    if n > 0 {
                        offer(&mut best, key(v), v);
                    }
                    let c = index.class_of[v as usize];
                    if c != NO_CLASS {
                        instances[c as usize] += 1;
                        shallow[c as usize] += index.shallow(v);
                    }
                }
                (best, instances, shallow)
            },
        )
        .reduce(
            || (Best::new(), vec![0u64; nclasses], vec![0u64; nclasses]),
            |(mut best, mut i1, mut s1), (other, i2, s2)| {
                for Reverse((k, Reverse(v))) in other {
                    offer(&mut best, k, v);
                }
                for c in 0..nclasses {
                    i1[c] += i2[c];
                    s1[c] += s2[c];
                }
                (best, i1, s1)
            },
        );
    let mut best: Vec<Node> = best.into_iter().map(|Reverse((_, Reverse(v)))| v).collect();
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
    let retained = g.retention.class_retained(index, nclasses);
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
        warnings: heap.warnings(),
    }
}
