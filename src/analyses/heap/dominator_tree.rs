//! The dominator tree as a report: from the virtual root (or one object) down, children by
//! retained size, cut at a depth and at a minimum share of the heap.

use super::describe::{node_ref, ObjectRef};
use super::graph::Graph;
use crate::heap::graph::Node;
use serde::Serialize;

pub const SCHEMA: &str = "oomsleuth.dominators/1";

#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    /// Retained bytes as a percentage of the reachable heap.
    pub retained_percent: f64,
    pub children: Vec<TreeNode>,
    /// Children not listed (below `--min-percent`, past `--depth` or past the per-node limit).
    pub omitted_children: u64,
    pub omitted_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DominatorReport {
    pub schema: &'static str,
    pub dump: super::dump_info::DumpInfo,
    pub heap: super::graph::HeapTotals,
    pub depth: usize,
    pub min_percent: f64,
    pub root: TreeNode,
}

pub struct Options {
    pub depth: usize,
    pub min_percent: f64,
    /// At most this many children per node.
    pub max_children: usize,
}

/// Builds the tree under `root` (the virtual root when `None`). `children` is the dominator
/// tree's child lists (`Retention::tree.children()`).
pub fn dominator_tree(
    g: &Graph<'_, '_>,
    children: &crate::heap::graph::Csr,
    root: Option<Node>,
    o: &Options,
) -> DominatorReport {
    let total = g.total_retained().max(1);
    let start = root.unwrap_or(g.heap.index.virtual_root());
    let min_bytes = (o.min_percent / 100.0 * total as f64) as u64;
    let node = build(
        g,
        children,
        start,
        o.depth,
        min_bytes,
        o.max_children,
        total,
    );
    DominatorReport {
        schema: SCHEMA,
        dump: super::dump_info::DumpInfo::of(g.heap.snap),
        heap: g.totals(),
        depth: o.depth,
        min_percent: o.min_percent,
        root: node,
    }
}

fn build(
    g: &Graph<'_, '_>,
    children: &crate::heap::graph::Csr,
    v: Node,
    depth: usize,
    min_bytes: u64,
    max_children: usize,
    total: u64,
) -> TreeNode {
    // Depth is small (a report): recursion depth is bounded by `depth`, not by the heap.
    let index = g.heap.index;
    let mut kids: Vec<Node> = children.successors(v).to_vec();
    kids.sort_by(|&a, &b| g.retained(b).cmp(&g.retained(a)).then(a.cmp(&b)));
    let mut shown = vec![];
    let mut omitted_children = 0;
    let mut omitted_bytes = 0;
    for &k in &kids {
        if depth > 0 && shown.len() < max_children && g.retained(k) >= min_bytes.max(1) {
            shown.push(build(
                g,
                children,
                k,
                depth - 1,
                min_bytes,
                max_children,
                total,
            ));
        } else {
            omitted_children += 1;
            omitted_bytes += g.retained(k);
        }
    }
    let retained = g.retained(v);
    TreeNode {
        object: node_ref(&g.heap, v),
        shallow_bytes: if (v as usize) < index.len() {
            index.shallow(v)
        } else {
            0
        },
        retained_bytes: retained,
        retained_percent: (retained as f64 * 10000.0 / total as f64).round() / 100.0,
        children: shown,
        omitted_children,
        omitted_bytes,
    }
}
