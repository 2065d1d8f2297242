//! Shortest strong paths from GC roots to an object: several, through distinct roots first.
//!
//! A breadth-first search backwards from the object over inbound references (weak referents are
//! not edges) reaches the GC roots nearest to it; each root found gives one shortest path.

use super::describe::{object_ref, ObjectRef};
use super::graph::Graph;
use crate::heap::graph::{Csr, Node};
use crate::heap::index::ObjectIndex;
use serde::Serialize;
use std::collections::VecDeque;

pub const SCHEMA: &str = "oomsleuth.path/1";

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    #[serde(flatten)]
    pub object: ObjectRef,
    /// How the previous step references this object: a field name, `[index]`, `static NAME`,
    /// or for the first step the kinds of GC root it is.
    pub via: String,
    pub retained_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RootPath {
    /// From the GC root (first) to the target (last).
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PathReport {
    pub schema: &'static str,
    pub target: ObjectRef,
    pub reachable: bool,
    pub paths: Vec<RootPath>,
}

/// Up to `max` shortest paths from distinct GC roots to `target`. `preds` is the transposed graph.
pub fn paths(g: &Graph<'_, '_>, preds: &Csr, target: ObjectIndex, max: usize) -> PathReport {
    let index = g.heap.index;
    let n = index.len();
    let root = index.virtual_root();
    let is_root = {
        let mut v = vec![false; n];
        for &r in index.refs.successors(root) {
            if (r as usize) < n {
                v[r as usize] = true;
            }
        }
        v
    };
    // BFS backwards from the target: next[v] is the step from v towards the target.
    let mut next: Vec<Node> = vec![Node::MAX; n];
    let mut queue = VecDeque::new();
    next[target as usize] = target;
    queue.push_back(target);
    let mut found: Vec<Node> = vec![];
    while let Some(v) = queue.pop_front() {
        if is_root[v as usize] {
            found.push(v);
            if found.len() >= max {
                break;
            }
        }
        for &p in preds.successors(v) {
            if (p as usize) < n && next[p as usize] == Node::MAX {
                next[p as usize] = v;
                queue.push_back(p);
            }
        }
    }
    let paths = found
        .into_iter()
        .map(|r| {
            let mut steps = vec![Step {
                object: object_ref(&g.heap, r),
                via: g.edge_label(root, r),
                retained_bytes: g.retained(r),
            }];
            let mut v = r;
            while v != target {
                let w = next[v as usize];
                steps.push(Step {
                    object: object_ref(&g.heap, w),
                    via: g.edge_label(v, w),
                    retained_bytes: g.retained(w),
                });
                v = w;
            }
            RootPath { steps }
        })
        .collect();
    PathReport {
        schema: SCHEMA,
        target: object_ref(&g.heap, target),
        reachable: g.retention.is_reachable(target),
        paths,
    }
}
