//! Directed graphs as compressed sparse rows: `targets[starts[v]..starts[v + 1]]` are the
//! successors of `v`. Nodes are dense `u32`; one `u64` row start per node and one `u32` per edge.

use super::column::{Column, Scratch};

/// A node number.
pub type Node = u32;

/// Compressed sparse rows. The arrays may live in scratch files or the mapped cache
/// ([`Column`]); they deref to slices.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    pub starts: Column<u64>,
    pub targets: Column<Node>,
}

impl Csr {
    /// Builds from per-node successor lists given in node order (used by tests and small graphs).
    pub fn from_lists(lists: &[Vec<Node>]) -> Csr {
        let mut starts = Vec::with_capacity(lists.len() + 1);
        let mut targets = Vec::new();
        starts.push(0);
        for l in lists {
            targets.extend_from_slice(l);
            starts.push(targets.len() as u64);
        }
        Csr {
            starts: starts.into(),
            targets: targets.into(),
        }
    }

    pub fn node_count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    #[inline]
    pub fn successors(&self, v: Node) -> &[Node] {
        let s = self.starts[v as usize] as usize;
        let e = self.starts[v as usize + 1] as usize;
        &self.targets[s..e]
    }

    /// The transposed graph (predecessors), by counting sort: O(V + E), no per-node allocation.
    pub fn transpose(&self) -> Csr {
        self.transpose_in(&Scratch::memory())
    }

    /// [`transpose`](Self::transpose) with its arrays placed by `scratch`. Rows are filled from
    /// their ends (counts become end positions, each edge decrements its row's), so one array
    /// serves as both row starts and fill pointers.
    pub fn transpose_in(&self, scratch: &Scratch) -> Csr {
        let n = self.node_count();
        let mut starts: Column<u64> = scratch.zeroed(n + 1);
        for &t in self.targets.iter() {
            starts[t as usize] += 1;
        }
        for i in 1..=n {
            starts[i] += starts[i - 1];
        }
        let mut targets: Column<Node> = scratch.zeroed(self.targets.len());
        for v in (0..n).rev() {
            for &t in self.successors(v as Node).iter().rev() {
                let slot = &mut starts[t as usize];
                *slot -= 1;
                targets[*slot as usize] = v as Node;
            }
        }
        // Now starts[t] is the start of row t; starts[n] still holds the total.
        Csr { starts, targets }
    }
}
