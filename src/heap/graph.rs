//! Directed graphs as compressed sparse rows: `targets[starts[v]..starts[v + 1]]` are the
//! successors of `v`. Nodes are dense `u32`; one `u64` row start per node and one `u32` per edge.

/// A node number.
pub type Node = u32;

/// Compressed sparse rows.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    pub starts: Vec<u64>,
    pub targets: Vec<Node>,
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
        Csr { starts, targets }
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
        let n = self.node_count();
        let mut counts = vec![0u64; n + 1];
        for &t in &self.targets {
            counts[t as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let starts = counts.clone();
        let mut fill = counts;
        let mut targets = vec![0 as Node; self.targets.len()];
        for v in 0..n {
            for &t in self.successors(v as Node) {
                let slot = &mut fill[t as usize];
                targets[*slot as usize] = v as Node;
                *slot += 1;
            }
        }
        Csr { starts, targets }
    }
}
