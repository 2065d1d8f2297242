//! Shortest paths from GC roots to an object, strongest first: several, through distinct roots.
//!
//! A breadth-first search backwards from the object over inbound references reaches the GC
//! roots nearest to it; each root found gives one shortest path. Only paths as strong as the
//! object's reachability are taken: for a strongly reachable object no step goes through a
//! referent; for one that only a soft (weak...) reference keeps, the step through that referent
//! is marked (`via` "referent (soft reference)").

use super::describe::{object_ref, ObjectRef};
use super::graph::Graph;
use crate::heap::graph::{Csr, Node};
use crate::heap::index::ObjectIndex;
use crate::heap::reachability::{GARBAGE, LEVEL_NAMES};
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
    /// The target's strongest reachability (`strong`, `soft`, `weak`, `finalizer`, `phantom`;
    /// `held_by_jvm` or `garbage` when no GC root reaches it).
    pub reachability: &'static str,
    pub paths: Vec<RootPath>,
}

/// Whether a path to an object of reachability `level` may take the edge `from -> to`: not
/// through a referent weaker than `level` (so a strong object gets a strong path).
fn allowed(g: &Graph<'_, '_>, from: Node, to: Node, level: u8) -> bool {
    g.heap
        .index
        .referent_edge(from, to)
        .is_none_or(|k| k <= level)
}

/// Up to `max` shortest paths from distinct GC roots to `target`. `preds` is the transposed graph.
pub fn paths(g: &Graph<'_, '_>, preds: &Csr, target: ObjectIndex, max: usize) -> PathReport {
    let index = g.heap.index;
    let n = index.len();
    let root = index.virtual_root();
    let level = index.level(target);
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
            if (p as usize) < n
                && next[p as usize] == Node::MAX
                && index.level(p) <= level
                && allowed(g, p, v, level)
            {
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
        reachability: LEVEL_NAMES[level.min(GARBAGE) as usize],
        paths,
    }
}

/// Roots that last only as long as a method call (stack locals, JNI locals, blocked stacks).
fn transient_kind(k: crate::formats::hprof::RootKind) -> bool {
    use crate::formats::hprof::RootKind;
    matches!(
        k,
        RootKind::JavaFrame | RootKind::JniLocal | RootKind::NativeStack | RootKind::ThreadBlock
    )
}

/// Whether every GC root record of `v` is a transient one.
fn is_transient_root(g: &Graph<'_, '_>, v: Node) -> bool {
    let mut any = false;
    for r in g.heap.index.roots.iter().filter(|r| r.object == v) {
        any = true;
        if !transient_kind(r.kind) {
            return false;
        }
    }
    any
}

/// How far the search for a lasting holder of a stack-held object may go before the stack
/// local is taken as the root of the path.
const PREFERENCE_VISIT_LIMIT: usize = 300_000;

/// How many nodes one segment search may visit before giving up (it then falls back to the
/// dominator chain itself for that segment).
const SEGMENT_VISIT_LIMIT: usize = 4_000_000;

/// One shortest strong path from a GC root to `target`, without the transposed graph.
///
/// Every path from the roots to `target` passes through each of its dominators, in dominator
/// order, so a shortest path is the concatenation of shortest paths between consecutive
/// dominators; each of those is a short forward breadth-first search that stops at its target.
/// That makes one path cheap on a heap of any size (the reverse search of [`paths`] needs
/// inbound references for the whole heap). `None` when `target` is unreachable.
pub fn shortest_path(g: &Graph<'_, '_>, target: ObjectIndex) -> Option<Vec<Step>> {
    shortest_path_nodes(g, target).map(|nodes| steps(g, &nodes))
}

/// The nodes of [`shortest_path`], from the virtual root (first) to `target` (last).
pub fn shortest_path_nodes(g: &Graph<'_, '_>, target: ObjectIndex) -> Option<Vec<Node>> {
    use crate::heap::fxhash::new_map;
    let index = g.heap.index;
    let root = index.virtual_root();
    if !g.retention.is_reachable(target) || target == root {
        return None;
    }
    let level = index.level(target);
    let mut chain = vec![target];
    let mut v = target;
    while let Some(d) = g.retention.idom(v) {
        chain.push(d);
        v = d;
        if chain.len() > 50_000_000 {
            return None;
        }
    }
    chain.reverse(); // root first
    if chain.first() != Some(&root) {
        return None;
    }
    let mut nodes: Vec<Node> = vec![root];
    let mut parent = new_map::<Node, Node>();
    let mut queue = VecDeque::new();
    for w in chain.windows(2) {
        let (from, to) = (w[0], w[1]);
        // A map grown by one big search would make every later clear() cost its capacity.
        if parent.capacity() > 1 << 16 {
            parent = new_map();
        } else {
            parent.clear();
        }
        queue.clear();
        let mut limit = SEGMENT_VISIT_LIMIT;
        if from == root && is_transient_root(g, to) {
            // Held by a stack local (or a JNI local) and maybe also by something lasting: the
            // lasting holder tells the story, so search from lasting roots first.
            let mut lasting = new_map::<Node, bool>();
            for r in &index.roots {
                *lasting.entry(r.object).or_default() |= !transient_kind(r.kind);
            }
            for &r in index.refs.successors(root) {
                if r != to && lasting.get(&r) == Some(&true) && parent.insert(r, from).is_none() {
                    queue.push_back(r);
                }
            }
            limit = PREFERENCE_VISIT_LIMIT;
        } else if index.refs.successors(from).contains(&to) && allowed(g, from, to, level) {
            nodes.push(to);
            continue;
        }
        if queue.is_empty() {
            queue.push_back(from);
        }
        parent.insert(from, from);
        let mut found = false;
        'bfs: while let Some(x) = queue.pop_front() {
            for &y in index.refs.successors(x) {
                if parent.contains_key(&y) || !allowed(g, x, y, level) {
                    continue;
                }
                parent.insert(y, x);
                if y == to {
                    found = true;
                    break 'bfs;
                }
                queue.push_back(y);
            }
            if parent.len() > limit {
                break;
            }
        }
        if found {
            let mut seg = vec![to];
            let mut x = to;
            while let Some(&p) = parent.get(&x) {
                if p == from {
                    break;
                }
                seg.push(p);
                x = p;
            }
            seg.reverse();
            nodes.extend(seg);
        } else {
            nodes.push(to);
        }
    }
    Some(nodes)
}

/// A path of nodes (the virtual root first) as report steps: each object after the root, with
/// how the one before references it.
pub fn steps(g: &Graph<'_, '_>, nodes: &[Node]) -> Vec<Step> {
    nodes
        .windows(2)
        .map(|w| Step {
            object: object_ref(&g.heap, w[1]),
            via: g.edge_label(w[0], w[1]),
            retained_bytes: g.retained(w[1]),
        })
        .collect()
}
