//! Dominator tree of a graph from one root, by the Semi-NCA algorithm.
//!
//! Terms: `d` *dominates* `v` when every path from the root to `v` passes through `d`; the
//! *immediate dominator* `idom(v)` is the closest strict dominator. In a heap, `idom(v)` is the
//! object whose removal frees `v`, and the dominator subtree of `o` is what `o` retains.
//!
//! Semi-NCA (Georgiadis, "Linear-Time Algorithms for Dominators and Related Problems", 2005;
//! also used by LLVM): compute semi-dominators as Lengauer–Tarjan does (reverse preorder,
//! path-compressed forest), then each `idom(w)` is the nearest common ancestor, in the tree being
//! built, of `parent(w)` and `semi(w)`: walk up from `parent(w)` while the ancestor's preorder
//! number exceeds `semi(w)`. O(E log V) worst case, close to linear on heaps.
//!
//! Everything is iterative: a linked list ten million objects long must not overflow the stack.

use super::column::{Column, Pod, Scratch};
use super::graph::{Csr, Node};
use super::timing::Laps;

/// Marks "none" in node arrays.
pub const NONE: Node = Node::MAX;

/// The dominator tree, in node numbers of the input graph.
pub struct DominatorTree {
    /// Immediate dominator of each node; `NONE` for the root and for unreachable nodes.
    pub idom: Column<Node>,
    /// Reachable nodes in DFS preorder (the root first). A dominator always comes before the
    /// nodes it dominates, so reverse preorder is a bottom-up order of the tree.
    pub preorder: Column<Node>,
    pub root: Node,
}

impl DominatorTree {
    pub fn is_reachable(&self, v: Node) -> bool {
        v == self.root || self.idom[v as usize] != NONE
    }

    /// Sums a per-node value up the tree: `retained[v] = own[v] + sum of retained[children]`.
    /// Unreachable nodes keep their own value.
    pub fn accumulate(&self, own: impl Fn(Node) -> u64) -> Vec<u64> {
        self.accumulate_in(&Scratch::memory(), own).into_vec()
    }

    /// [`accumulate`](Self::accumulate) into a column placed by `scratch`.
    pub fn accumulate_in(&self, scratch: &Scratch, own: impl Fn(Node) -> u64) -> Column<u64> {
        let n = self.idom.len();
        let mut col: Column<u64> = scratch.hot_zeroed(n);
        let acc: &mut [u64] = &mut col;
        for (v, a) in acc.iter_mut().enumerate() {
            *a = own(v as Node);
        }
        let idom: &[Node] = &self.idom;
        for &v in self.preorder.iter().rev() {
            let d = idom[v as usize];
            if d != NONE {
                acc[d as usize] += acc[v as usize];
            }
        }
        scratch.kept_copy(col)
    }

    /// Children lists as CSR over the tree (children in preorder).
    pub fn children(&self) -> Csr {
        self.children_in(&Scratch::memory())
    }

    /// [`children`](Self::children) with its arrays placed by `scratch`.
    pub fn children_in(&self, scratch: &Scratch) -> Csr {
        let n = self.idom.len();
        // Counts become row ends, then each child (taken in reverse preorder) decrements its
        // parent's: one array is both the row starts and the fill pointers.
        // Both arrays are written at random: on the heap while the budget allows.
        let mut starts_col: Column<u64> = scratch.hot_zeroed(n + 1);
        let starts: &mut [u64] = &mut starts_col;
        let idom: &[Node] = &self.idom;
        for &d in idom {
            if d != NONE {
                starts[d as usize] += 1;
            }
        }
        for i in 1..=n {
            starts[i] += starts[i - 1];
        }
        let mut targets_col: Column<Node> =
            scratch.hot_zeroed(self.preorder.len().saturating_sub(1));
        let targets: &mut [Node] = &mut targets_col;
        for &v in self.preorder.iter().rev() {
            let d = idom[v as usize];
            if d != NONE {
                starts[d as usize] -= 1;
                targets[starts[d as usize] as usize] = v;
            }
        }
        let (starts, targets) = (starts_col, targets_col);
        Csr { starts, targets }
    }
}

/// Computes the dominator tree of `graph` from `root`.
pub fn dominators(graph: &Csr, root: Node) -> DominatorTree {
    dominators_in(graph, root, &Scratch::memory(), &|_| {})
}

/// [`dominators`] with its arrays (final and scratch) placed by `scratch`, reporting progress
/// in nodes: four steps of `node_count` each.
///
/// Heaps are big and their graphs shallow in structure but not in memory: every step is bound
/// by cache misses, so the passes are arranged to read sequentially where they can:
///
/// - the DFS counts each node's predecessors as it meets the edges and writes, beside each
///   edge, its target's preorder number, so the predecessor lists are filled by one sequential
///   pass over the edges in node order (no second lookup of every target); beyond the memory
///   budget that array is left out and the pass reads the targets' numbers, prefetched;
/// - a node with one predecessor (most objects: one field points to them) has that predecessor,
///   its DFS parent, as semi-dominator and immediate dominator, and gets no predecessor list;
/// - a predecessor numbered below the node being processed is not yet in the forest, so it is
///   its own candidate without touching memory; the forest keeps each node's ancestor and the
///   best semi-dominator on its compressed path side by side (one cache line per step).
pub fn dominators_in(
    graph: &Csr,
    root: Node,
    scratch: &Scratch,
    progress: &dyn Fn(u64),
) -> DominatorTree {
    // Predecessor counts and row starts fit 4 bytes unless the graph has 4 billion edges.
    if graph.edge_count() < u32::MAX as usize {
        dominators_counting::<u32>(graph, root, scratch, progress)
    } else {
        dominators_counting::<u64>(graph, root, scratch, progress)
    }
}

/// An unsigned integer wide enough for the graph's edge count.
trait Count: Pod + Ord {
    fn from_u64(v: u64) -> Self;
    fn get(self) -> u64;
}

impl Count for u32 {
    #[inline]
    fn from_u64(v: u64) -> Self {
        v as u32
    }
    #[inline]
    fn get(self) -> u64 {
        self as u64
    }
}

impl Count for u64 {
    #[inline]
    fn from_u64(v: u64) -> Self {
        v
    }
    #[inline]
    fn get(self) -> u64 {
        self
    }
}

fn dominators_counting<C: Count>(
    graph: &Csr,
    root: Node,
    scratch: &Scratch,
    progress: &dyn Fn(u64),
) -> DominatorTree {
    const STEP: usize = 1 << 16;
    let n = graph.node_count();
    let mut laps = Laps::start("dominators");
    // 1. Iterative DFS: preorder numbers, DFS-tree parents (in preorder numbers), predecessor
    //    counts, and while the memory budget allows, the preorder number of each edge's target
    //    (`edge_pre`, by edge position): it spares the predecessor pass its random reads, at 4
    //    bytes a reference, the largest part of the peak. Beyond the budget that pass reads them.
    let mut pre_of_col: Column<Node> = scratch.hot_filled(n, NONE);
    let mut preorder: Column<Node> = scratch.kept_zeroed(n);
    let mut parent_col: Column<Node> = scratch.hot_zeroed(n);
    let mut pred_count: Column<C> = scratch.hot_zeroed(n + 1);
    let edges = graph.edge_count();
    let mut edge_pre_col: Option<Column<Node>> = scratch
        .hot_fits(edges as u64 * std::mem::size_of::<Node>() as u64)
        .then(|| scratch.hot_filled(edges, NONE));
    let starts: &[u64] = &graph.starts;
    let targets: &[Node] = &graph.targets;
    let mut m = 0usize;
    {
        let pre_of: &mut [Node] = &mut pre_of_col;
        let order: &mut [Node] = &mut preorder;
        let parent: &mut [Node] = &mut parent_col;
        let count: &mut [C] = &mut pred_count;
        let mut edge_pre: Option<&mut [Node]> = edge_pre_col.as_deref_mut();
        // (node, its preorder number, next edge, end of its edges)
        let mut stack: Vec<(Node, Node, usize, usize)> = Vec::new();
        let pre_of_at = pre_of.as_ptr();
        let enter = |w: Node, pw: Node, stack: &mut Vec<(Node, Node, usize, usize)>| {
            let (s, e) = (starts[w as usize] as usize, starts[w as usize + 1] as usize);
            // Ask for the targets' preorder numbers now: the loads overlap instead of
            // missing the cache one after another as the DFS reaches them.
            for &t in &targets[s..e.min(s + 8)] {
                prefetch(pre_of_at.wrapping_add(t as usize));
            }
            stack.push((w, pw, s, e));
        };
        if (root as usize) < n {
            pre_of[root as usize] = 0;
            order[0] = root;
            parent[0] = NONE;
            m = 1;
            enter(root, 0, &mut stack);
        }
        while let Some(top) = stack.last_mut() {
            let (_, pv, next, end) = *top;
            if next == end {
                stack.pop();
                continue;
            }
            top.2 += 1;
            let w = targets[next];
            let mut pw = pre_of[w as usize];
            if pw == NONE {
                pw = m as Node;
                pre_of[w as usize] = pw;
                parent[m] = pv;
                order[m] = w;
                m += 1;
                if m.is_multiple_of(STEP) {
                    progress(STEP as u64);
                }
                enter(w, pw, &mut stack);
            }
            if let Some(ep) = edge_pre.as_deref_mut() {
                ep[next] = pw;
            }
            count[pw as usize] = C::from_u64(count[pw as usize].get() + 1);
        }
    }
    progress((n - m / STEP * STEP) as u64);
    preorder.truncate(m);
    parent_col.truncate(m);
    laps.lap("dfs");
    // 2. Predecessor lists of the nodes with more than one, in preorder numbers. Counts become
    //    row ends, then each edge decrements its row's: one array for starts and fill. A node
    //    with one predecessor keeps the count 1 in `single` and an empty row.
    let mut single_col: Column<u8> = scratch.hot_zeroed(m);
    let single: &mut [u8] = &mut single_col;
    let mut total = 0u64;
    for (pw, c) in pred_count[..m].iter_mut().enumerate() {
        let mut k = c.get();
        if k == 1 {
            single[pw] = 1;
            k = 0;
        }
        total += k;
        *c = C::from_u64(total);
    }
    pred_count[m] = C::from_u64(total);
    let mut pred_starts_col = pred_count;
    let pred_starts: &mut [C] = &mut pred_starts_col;
    let mut preds_col: Column<Node> = scratch.hot_zeroed(total as usize);
    let preds: &mut [Node] = &mut preds_col;
    {
        // The edges in order, each target's preorder number read at random: prefetched this
        // many edges ahead so that the reads overlap.
        const AHEAD: usize = 32;
        let pre_of: &[Node] = &pre_of_col;
        let pre_of_at = pre_of.as_ptr();
        for v in 0..n {
            let pv = pre_of[v];
            if pv == NONE {
                continue;
            }
            let (s, e) = (starts[v] as usize, starts[v + 1] as usize);
            for i in s..e {
                let pw = match edge_pre_col.as_deref() {
                    Some(ep) => ep[i],
                    None => {
                        if let Some(&t) = targets.get(i + AHEAD) {
                            prefetch(pre_of_at.wrapping_add(t as usize));
                        }
                        // Every target of a reached node was reached.
                        pre_of[targets[i] as usize]
                    }
                };
                if single[pw as usize] == 0 {
                    let slot = &mut pred_starts[pw as usize];
                    *slot = C::from_u64(slot.get() - 1);
                    preds[slot.get() as usize] = pv;
                }
            }
            if v.is_multiple_of(STEP) {
                progress(STEP as u64);
            }
        }
    }
    drop(edge_pre_col);
    drop(pre_of_col);
    progress((n - n / STEP * STEP) as u64);
    laps.lap("predecessors");
    // 3. Semi-dominators, in reverse preorder, with a path-compressed forest over the nodes
    //    already processed (those numbered above `w`). For a predecessor v of w: if v <= w, v is
    //    a candidate itself; else the smallest semi on v's forest path below its root is
    //    (Lengauer–Tarjan). Only that smallest semi is ever used, so the forest keeps it instead
    //    of the node holding it: `forest[x] = ancestor | best << 32`.
    let parent: &[Node] = &parent_col;
    // Written once per node in descending order and read at random only after the forest is
    // gone: a (file-backed) column written in sequence, not hot scratch, so that the forest,
    // parents and predecessor lists are the only random-access arrays of this pass.
    let mut semi_col: Column<Node> = scratch.zeroed(m);
    let semi: &mut [Node] = &mut semi_col;
    let mut forest_col: Column<u64> = scratch.hot_zeroed(m);
    let forest: &mut [u64] = &mut forest_col;
    let mut path: Vec<Node> = Vec::new();
    for w in (1..m).rev() {
        let p = parent[w];
        let mut s = p;
        if single[w] == 0 {
            let row = pred_starts[w].get() as usize..pred_starts[w + 1].get() as usize;
            for &v in &preds[row] {
                let c = if v <= w as Node {
                    v
                } else {
                    eval(v, w as Node, forest, &mut path)
                };
                s = s.min(c);
            }
        }
        semi[w] = s;
        forest[w] = p as u64 | (s as u64) << 32;
        if w.is_multiple_of(STEP) {
            progress(STEP as u64);
        }
    }
    drop(forest_col);
    drop(preds_col);
    drop(pred_starts_col);
    drop(single_col);
    progress((n - m / STEP * STEP) as u64);
    laps.lap("semi");
    // 4. Immediate dominators (Semi-NCA): idom(w) = NCA(parent(w), semi(w)) in the dominator
    //    tree built so far; walking up from parent(w) while above semi(w) finds it, because
    //    every node on that path was numbered before w and already has its idom. Each idom
    //    overwrites its node's semi, which is read just before.
    let idom_pre = semi;
    if m > 0 {
        idom_pre[0] = NONE;
    }
    for w in 1..m {
        let s = idom_pre[w];
        let mut d = parent[w];
        while d > s {
            d = idom_pre[d as usize];
        }
        idom_pre[w] = d;
        if w.is_multiple_of(STEP) {
            progress(STEP as u64);
        }
    }
    // In node numbers: written at random, so filled in a hot column and kept by one copy.
    let mut idom_col: Column<Node> = scratch.hot_filled(n, NONE);
    {
        let idom: &mut [Node] = &mut idom_col;
        let order: &[Node] = &preorder;
        for w in 1..m {
            idom[order[w] as usize] = order[idom_pre[w] as usize];
        }
    }
    drop(semi_col);
    drop(parent_col);
    let idom = scratch.kept_copy(idom_col);
    progress((n - m / STEP * STEP) as u64);
    laps.lap("idom");
    DominatorTree {
        idom,
        preorder,
        root,
    }
}

/// Hints the CPU to load the cache line at `p` (a no-op where there is no such instruction).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Lengauer–Tarjan EVAL with iterative path compression, for a node `v` already in the forest
/// while `w` is processed (the nodes numbered above `w` are in it; those at or below are roots):
/// the smallest semi-dominator on the forest path from `v` up to, excluding, its root.
#[inline]
fn eval(v: Node, w: Node, forest: &mut [u64], path: &mut Vec<Node>) -> Node {
    let anc = |f: u64| f as u32;
    let best = |f: u64| (f >> 32) as u32;
    let fv = forest[v as usize];
    if anc(fv) <= w {
        return best(fv);
    }
    // Collect the path whose ancestors are not roots, then compress it top-down.
    path.clear();
    let mut x = v;
    let mut fx = fv;
    while anc(fx) > w {
        path.push(x);
        x = anc(fx);
        fx = forest[x as usize];
    }
    // `x` is the top of the path (its ancestor is the root): its best stays.
    let mut above = fx;
    while let Some(y) = path.pop() {
        let fy = forest[y as usize];
        let b = best(fy).min(best(above));
        let f = anc(above) as u64 | (b as u64) << 32;
        forest[y as usize] = f;
        above = f;
    }
    best(above)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: d dominates v iff v is unreachable from root once d is removed.
    fn naive_idom(g: &Csr, root: Node) -> Vec<Node> {
        let n = g.node_count();
        let reach = |skip: Node| {
            let mut seen = vec![false; n];
            if root == skip {
                return seen;
            }
            let mut st = vec![root];
            seen[root as usize] = true;
            while let Some(v) = st.pop() {
                for &w in g.successors(v) {
                    if w != skip && !seen[w as usize] {
                        seen[w as usize] = true;
                        st.push(w);
                    }
                }
            }
            seen
        };
        let all = reach(NONE);
        let mut doms: Vec<Vec<Node>> = vec![vec![]; n];
        for d in 0..n as Node {
            let r = reach(d);
            for v in 0..n {
                if all[v] && !r[v] && v as Node != d {
                    doms[v].push(d);
                }
            }
        }
        // idom = the strict dominator dominated by all others (the one with most dominators).
        (0..n)
            .map(|v| {
                if v as Node == root || !all[v] {
                    return NONE;
                }
                *doms[v]
                    .iter()
                    .max_by_key(|&&d| doms[d as usize].len())
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn paper_example() {
        // Lengauer–Tarjan's example graph: R=0 A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 J=10 K=11 L=12
        let g = Csr::from_lists(&[
            vec![1, 2, 3],
            vec![4],
            vec![1, 4, 5],
            vec![6, 7],
            vec![12],
            vec![8],
            vec![9],
            vec![9, 10],
            vec![5, 11],
            vec![11],
            vec![9],
            vec![0, 9],
            vec![8],
        ]);
        let t = dominators(&g, 0);
        let expect = [NONE, 0, 0, 0, 0, 0, 3, 3, 0, 0, 7, 0, 4];
        assert_eq!(t.idom, expect);
        assert_eq!(t.idom, naive_idom(&g, 0));
    }

    #[test]
    fn long_chain_does_not_recurse() {
        let n = 10_000_000u32;
        let lists: Vec<Vec<Node>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        let g = Csr::from_lists(&lists);
        let t = dominators(&g, 0);
        assert_eq!(t.idom[(n - 1) as usize], n - 2);
        let r = t.accumulate(|_| 1);
        assert_eq!(r[0], n as u64);
    }

    #[test]
    fn random_graphs_match_brute_force() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut rnd = move |k: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % k
        };
        let dir = std::env::temp_dir().join(format!("oomsleuth-dom-{}", std::process::id()));
        let mut lean = Scratch::in_dir(&dir).with_heap_budget(0);
        lean.min_file_bytes = 1;
        for _ in 0..300 {
            let n = 2 + rnd(30) as usize;
            let e = rnd(3 * n as u64) as usize;
            let mut lists = vec![vec![]; n];
            for _ in 0..e {
                let a = rnd(n as u64) as usize;
                let b = rnd(n as u64) as Node;
                lists[a].push(b);
            }
            let g = Csr::from_lists(&lists);
            let t = dominators(&g, 0);
            assert_eq!(t.idom, naive_idom(&g, 0), "graph {lists:?}");
            // The wide counters (graphs of 4 billion edges and more) give the same tree.
            let wide = dominators_counting::<u64>(&g, 0, &Scratch::memory(), &|_| {});
            assert_eq!(wide.idom, t.idom, "graph {lists:?}");
            // No memory budget: no per-edge preorder numbers, every array in a file.
            let lean = dominators_in(&g, 0, &lean, &|_| {});
            assert_eq!(lean.idom, t.idom, "graph {lists:?}");
            assert_eq!(lean.preorder, t.preorder, "graph {lists:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
