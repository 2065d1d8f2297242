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

use super::column::{Column, Scratch};
use super::graph::{Csr, Node};

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
        let mut acc: Column<u64> = scratch.zeroed(n);
        for (v, a) in acc.iter_mut().enumerate() {
            *a = own(v as Node);
        }
        for &v in self.preorder.iter().rev() {
            let d = self.idom[v as usize];
            if d != NONE {
                acc[d as usize] += acc[v as usize];
            }
        }
        acc
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
        let mut starts: Column<u64> = scratch.zeroed(n + 1);
        for &v in self.preorder.iter() {
            let d = self.idom[v as usize];
            if d != NONE {
                starts[d as usize] += 1;
            }
        }
        for i in 1..=n {
            starts[i] += starts[i - 1];
        }
        let mut targets: Column<Node> = scratch.zeroed(self.preorder.len().saturating_sub(1));
        for &v in self.preorder.iter().rev() {
            let d = self.idom[v as usize];
            if d != NONE {
                starts[d as usize] -= 1;
                targets[starts[d as usize] as usize] = v;
            }
        }
        Csr { starts, targets }
    }
}

/// Computes the dominator tree of `graph` from `root`.
pub fn dominators(graph: &Csr, root: Node) -> DominatorTree {
    dominators_in(graph, root, &Scratch::memory(), &|_| {})
}

/// [`dominators`] with its arrays (final and scratch) placed by `scratch`, reporting progress
/// in nodes: four steps of `node_count` each.
pub fn dominators_in(
    graph: &Csr,
    root: Node,
    scratch: &Scratch,
    progress: &dyn Fn(u64),
) -> DominatorTree {
    const STEP: usize = 1 << 16;
    let n = graph.node_count();
    // 1. Iterative DFS: preorder numbers and DFS-tree parents (in preorder numbers).
    let mut pre_of: Column<Node> = scratch.hot_filled(n, NONE);
    let mut preorder: Column<Node> = scratch.zeroed(n);
    let mut parent: Column<Node> = scratch.hot_zeroed(n);
    let mut m = 0usize;
    let mut stack: Vec<(Node, u64)> = Vec::new();
    if (root as usize) < n {
        pre_of[root as usize] = 0;
        preorder[0] = root;
        parent[0] = NONE;
        m = 1;
        stack.push((root, graph.starts[root as usize]));
    }
    while let Some(top) = stack.last_mut() {
        let (v, next) = *top;
        let end = graph.starts[v as usize + 1];
        if next == end {
            stack.pop();
            continue;
        }
        top.1 += 1;
        let w = graph.targets[next as usize];
        if pre_of[w as usize] == NONE {
            pre_of[w as usize] = m as Node;
            parent[m] = pre_of[v as usize];
            preorder[m] = w;
            m += 1;
            if m.is_multiple_of(STEP) {
                progress(STEP as u64);
            }
            stack.push((w, graph.starts[w as usize]));
        }
    }
    drop(stack);
    progress((n - m / STEP * STEP) as u64);
    preorder.truncate(m);
    parent.truncate(m);
    // 2. Predecessors of reachable nodes, in preorder numbers. Counts become row ends, then
    //    each edge (taken backwards) decrements its row's: one array for starts and fill.
    let mut pred_starts: Column<u64> = scratch.hot_zeroed(m + 1);
    for &v in preorder.iter() {
        for &w in graph.successors(v) {
            let pw = pre_of[w as usize];
            if pw != NONE {
                pred_starts[pw as usize] += 1;
            }
        }
    }
    for i in 1..=m {
        pred_starts[i] += pred_starts[i - 1];
    }
    let mut preds: Column<Node> = scratch.hot_zeroed(pred_starts[m] as usize);
    for pv in (0..m).rev() {
        for &w in graph.successors(preorder[pv]) {
            let pw = pre_of[w as usize];
            if pw != NONE {
                pred_starts[pw as usize] -= 1;
                preds[pred_starts[pw as usize] as usize] = pv as Node;
            }
        }
        if pv.is_multiple_of(STEP) {
            progress(STEP as u64);
        }
    }
    drop(pre_of);
    progress((n - m / STEP * STEP) as u64);
    // 3. Semi-dominators, in reverse preorder, with a path-compressed forest (`ancestor`,
    //    `label`) over the nodes already processed. For a predecessor v of w: if v < w, v is a
    //    candidate itself (Lemma: semi(w) = min{v : v -> w, v < w} ∪ {semi(u) : u > w ancestor
    //    of a predecessor in the forest}); `eval` returns v itself for unprocessed nodes,
    //    whose semi is still their own number, so both cases are one expression.
    let mut semi: Column<Node> = scratch.hot_zeroed(m);
    let mut label: Column<Node> = scratch.hot_zeroed(m);
    for i in 0..m {
        semi[i] = i as Node;
        label[i] = i as Node;
    }
    let mut ancestor: Column<Node> = scratch.hot_filled(m, NONE);
    let mut path: Vec<Node> = Vec::new();
    for w in (1..m).rev() {
        let mut s = semi[w];
        for &v in &preds[pred_starts[w] as usize..pred_starts[w + 1] as usize] {
            let u = eval(v, &mut ancestor, &mut label, &semi, &mut path);
            s = s.min(semi[u as usize]);
        }
        semi[w] = s;
        ancestor[w] = parent[w];
        if w.is_multiple_of(STEP) {
            progress(STEP as u64);
        }
    }
    drop(ancestor);
    drop(preds);
    drop(pred_starts);
    progress((n - m / STEP * STEP) as u64);
    // 4. Immediate dominators (Semi-NCA): idom(w) = NCA(parent(w), semi(w)) in the dominator
    //    tree built so far; walking up from parent(w) while above semi(w) finds it, because
    //    every node on that path was numbered before w and already has its idom. `label` is
    //    no longer needed: its memory holds the idoms in preorder numbers.
    let mut idom_pre = label;
    if m > 0 {
        idom_pre[0] = NONE;
    }
    for w in 1..m {
        let mut d = parent[w];
        while d > semi[w] {
            d = idom_pre[d as usize];
        }
        idom_pre[w] = d;
        if w.is_multiple_of(STEP) {
            progress(STEP as u64);
        }
    }
    drop(semi);
    drop(parent);
    let mut idom: Column<Node> = scratch.filled(n, NONE);
    for w in 1..m {
        idom[preorder[w] as usize] = preorder[idom_pre[w] as usize];
    }
    progress((n - m / STEP * STEP) as u64);
    DominatorTree {
        idom,
        preorder,
        root,
    }
}

/// Lengauer–Tarjan EVAL with iterative path compression: the node of minimum `semi` on the
/// forest path from `v` up to (excluding) its tree root; `v` itself if `v` is a root.
#[inline]
fn eval(
    v: Node,
    ancestor: &mut [Node],
    label: &mut [Node],
    semi: &[Node],
    path: &mut Vec<Node>,
) -> Node {
    if ancestor[v as usize] == NONE {
        return v;
    }
    // Collect the path whose ancestors are not roots, then compress it top-down.
    path.clear();
    let mut x = v;
    while ancestor[ancestor[x as usize] as usize] != NONE {
        path.push(x);
        x = ancestor[x as usize];
    }
    while let Some(y) = path.pop() {
        let a = ancestor[y as usize];
        if semi[label[a as usize] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[a as usize];
        }
        ancestor[y as usize] = ancestor[a as usize];
    }
    label[v as usize]
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
        }
    }
}
