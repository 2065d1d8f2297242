//! Dominator tree and retained sizes of the heap graph, from a virtual root above all GC roots
//! (as Eclipse MAT does).
//!
//! The retained size of an object is the total shallow size of its dominator subtree: what the
//! GC would free if that one object went away. The retained size of a class is the sum over its
//! instances that no other instance of the class dominates, so nothing is counted twice: the
//! dominator-based figure MAT shows as a quick approximation (a lower bound of what freeing all
//! instances at once would free).

use super::classes::NO_CLASS;
use super::column::{Column, Scratch};
use super::dominators::{dominators_in, DominatorTree, NONE};
use super::graph::{Csr, Node};
use super::index::HeapIndex;
use std::sync::OnceLock;

/// Dominators and retained sizes of every object.
pub struct Retention {
    pub tree: DominatorTree,
    /// Retained bytes per node; the last node is the virtual root (the whole reachable heap).
    pub retained: Column<u64>,
    /// Objects not reachable from any GC root (before `--keep-unreachable` made them roots).
    pub unreachable_objects: u64,
    pub unreachable_bytes: u64,
    /// Whether unreachable objects were kept (made roots of their own).
    pub kept_unreachable: bool,
    /// Retained bytes per class once computed (or loaded from the index cache).
    pub class_retained_memo: OnceLock<Vec<u64>>,
    /// The dominator tree's child lists once built (see [`children`](Self::children)).
    pub children_memo: OnceLock<Csr>,
}

impl Retention {
    pub fn compute(index: &mut HeapIndex, keep_unreachable: bool) -> Retention {
        Retention::compute_in(index, keep_unreachable, &Scratch::memory(), &|_| {})
    }

    /// [`compute`](Self::compute) with its arrays placed by `scratch`; `progress` counts nodes
    /// (four steps of `index.len()` per dominator pass, plus one for the sizes).
    pub fn compute_in(
        index: &mut HeapIndex,
        keep_unreachable: bool,
        scratch: &Scratch,
        progress: &dyn Fn(u64),
    ) -> Retention {
        let root = index.virtual_root();
        // With --keep-unreachable this first tree is usually replaced: not in the cache file.
        let paused = keep_unreachable.then(|| scratch.stop_keeping()).flatten();
        let mut tree = dominators_in(&index.refs, root, scratch, progress);
        if let Some(k) = paused {
            scratch.keep_in(k);
        }
        let n = index.len();
        let unreachable: Vec<Node> = (0..n as Node).filter(|&v| !tree.is_reachable(v)).collect();
        let unreachable_objects = unreachable.len() as u64;
        let unreachable_bytes = unreachable.iter().map(|&v| index.shallow(v)).sum();
        if keep_unreachable && !unreachable.is_empty() {
            // Each unreachable object not reached from an earlier one becomes a root: a walk
            // from every candidate in address order marks what it reaches.
            let mut seen: Column<u8> = scratch.zeroed(n);
            let mut extra: Vec<Node> = vec![];
            let mut stack: Vec<Node> = vec![];
            for &u in &unreachable {
                if seen[u as usize] != 0 {
                    continue;
                }
                extra.push(u);
                seen[u as usize] = 1;
                stack.push(u);
                while let Some(v) = stack.pop() {
                    for &w in index.refs.successors(v) {
                        if (w as usize) < n && seen[w as usize] == 0 && !tree.is_reachable(w) {
                            seen[w as usize] = 1;
                            stack.push(w);
                        }
                    }
                }
            }
            // (An object that reaches an earlier candidate is a root too; the earlier one then
            // has two roots above it and the virtual root as its dominator, as in MAT.)
            drop(seen);
            add_root_edges(&mut index.refs, &extra, scratch);
            drop(tree);
            tree = dominators_in(&index.refs, root, scratch, progress);
        }
        let retained = tree.accumulate_in(scratch, |v| {
            if (v as usize) < n {
                index.shallow(v)
            } else {
                0
            }
        });
        Retention {
            tree,
            retained,
            unreachable_objects,
            unreachable_bytes,
            kept_unreachable: keep_unreachable,
            class_retained_memo: OnceLock::new(),
            children_memo: OnceLock::new(),
        }
    }

    pub fn is_reachable(&self, v: Node) -> bool {
        self.tree.is_reachable(v)
    }

    pub fn idom(&self, v: Node) -> Option<Node> {
        let d = self.tree.idom[v as usize];
        (d != NONE).then_some(d)
    }

    /// Retained bytes per class, each instance counted unless another instance of the same class
    /// dominates it. Indexed by class index. Computed once per `Retention` (a walk of the whole
    /// tree), then remembered; the index cache stores it.
    pub fn class_retained(&self, index: &HeapIndex, class_count: usize) -> Vec<u64> {
        match self.class_retained_memo.get() {
            Some(v) if v.len() == class_count => v.clone(),
            _ => {
                let v = self.class_retained_in(index, class_count, &Scratch::memory(), &|_| {});
                let _ = self.class_retained_memo.set(v.clone());
                v
            }
        }
    }

    /// The dominator tree's child lists, built once (placed by `scratch` then) and kept: the
    /// per-class walk and the analyses use the same lists, so asking for both costs one build.
    pub fn children(&self, scratch: &Scratch) -> &Csr {
        self.children_memo
            .get_or_init(|| self.tree.children_in(scratch))
    }

    /// [`class_retained`](Self::class_retained) without the memo, with the tree's children
    /// placed by `scratch` (if not built yet).
    /// `progress` counts nodes: two steps of `index.len()` (child lists, walk).
    pub fn class_retained_in(
        &self,
        index: &HeapIndex,
        class_count: usize,
        scratch: &Scratch,
        progress: &dyn Fn(u64),
    ) -> Vec<u64> {
        let mut laps = super::timing::Laps::start("class retained");
        let children = self.children(scratch);
        progress(index.len() as u64);
        laps.lap("children");
        let r = self.class_retained_walk(index, class_count, children, progress);
        laps.lap("walk");
        r
    }

    fn class_retained_walk(
        &self,
        index: &HeapIndex,
        class_count: usize,
        children: &Csr,
        progress: &dyn Fn(u64),
    ) -> Vec<u64> {
        const STEP: u64 = 1 << 16;
        let mut entered = 0u64;
        let n = index.len();
        let mut out = vec![0u64; class_count];
        let mut active = vec![0u32; class_count];
        // Iterative DFS over the dominator tree with enter/exit events.
        let mut stack: Vec<(Node, bool)> = vec![(self.tree.root, false)];
        while let Some((v, exiting)) = stack.pop() {
            let c = if (v as usize) < n {
                index.class_of[v as usize]
            } else {
                NO_CLASS
            };
            if exiting {
                if c != NO_CLASS {
                    active[c as usize] -= 1;
                }
                continue;
            }
            if c != NO_CLASS {
                if active[c as usize] == 0 {
                    out[c as usize] += self.retained[v as usize];
                }
                active[c as usize] += 1;
            }
            entered += 1;
            if entered.is_multiple_of(STEP) {
                progress(STEP);
            }
            stack.push((v, true));
            for &w in children.successors(v) {
                stack.push((w, false));
            }
        }
        out
    }
}

/// Class index -> number of reachable instances, for reports.
pub fn reachable_instances(index: &HeapIndex, r: &Retention, class_count: usize) -> Vec<u64> {
    let mut out = vec![0u64; class_count];
    for (v, &c) in index.class_of.iter().enumerate() {
        if c != NO_CLASS && r.is_reachable(v as Node) {
            out[c as usize] += 1;
        }
    }
    out
}

/// Appends `extra` to the virtual root's row (the last row of the graph). The old edge array is
/// dropped; when it was a region of the cache file being built, that region stays unused (only
/// with `--keep-unreachable`, and only when something is unreachable).
fn add_root_edges(g: &mut Csr, extra: &[Node], scratch: &Scratch) {
    let old = g.targets.len();
    let mut targets: Column<Node> = scratch.kept_zeroed(old + extra.len());
    targets[..old].copy_from_slice(&g.targets);
    targets[old..].copy_from_slice(extra);
    g.targets = targets;
    let last = g.starts.len() - 1;
    g.starts[last] += extra.len() as u64;
}
