//! What the graph commands share: the heap with its dominator tree, a summary of the heap as a
//! whole, and how an edge is named in a path (`field`, `[index]`, `static NAME`).

use super::describe::hex;
use crate::heap::graph::Node;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Heap;
use crate::heap::retained::Retention;
use serde::Serialize;
use std::collections::BTreeMap;

/// A heap with its dominator tree and retained sizes.
#[derive(Clone, Copy)]
pub struct Graph<'s, 'a> {
    pub heap: Heap<'s, 'a>,
    pub retention: &'s Retention,
}

/// The `heap` object of the graph reports.
#[derive(Clone, Debug, Serialize)]
pub struct HeapTotals {
    pub objects: u64,
    /// Objects reachable from GC roots, and their shallow bytes (what the JVM keeps).
    pub reachable_objects: u64,
    pub reachable_bytes: u64,
    /// Objects no GC root reaches (garbage not yet collected, e.g. in a dump without `:live`).
    pub unreachable_objects: u64,
    pub unreachable_bytes: u64,
    /// Whether unreachable objects were counted as roots of their own (`--keep-unreachable`).
    pub kept_unreachable: bool,
    pub references: u64,
    /// References to ids absent from the dump (dropped).
    pub dangling_references: u64,
    pub gc_roots: BTreeMap<&'static str, u64>,
}

impl<'s, 'a> Graph<'s, 'a> {
    pub fn totals(&self) -> HeapTotals {
        let index = self.heap.index;
        let root = index.virtual_root();
        let mut gc_roots: BTreeMap<&'static str, u64> = BTreeMap::new();
        for r in &index.roots {
            *gc_roots.entry(r.kind.name()).or_default() += 1;
        }
        let r = self.retention;
        HeapTotals {
            objects: index.len() as u64,
            reachable_objects: r.tree.preorder.len().saturating_sub(1) as u64,
            reachable_bytes: r.retained[root as usize],
            unreachable_objects: r.unreachable_objects,
            unreachable_bytes: r.unreachable_bytes,
            kept_unreachable: r.kept_unreachable,
            references: index.refs.edge_count() as u64 - index.refs.successors(root).len() as u64,
            dangling_references: index.dangling,
            gc_roots,
        }
    }

    /// Bytes all reports take percentages of: everything the virtual root retains.
    pub fn total_retained(&self) -> u64 {
        self.retention.retained[self.heap.index.virtual_root() as usize]
    }

    pub fn retained(&self, v: Node) -> u64 {
        self.retention.retained[v as usize]
    }

    /// Why `from` references `to`: field names, array indexes, class links; for the virtual root,
    /// the kinds of GC root `to` is.
    pub fn edge_label(&self, from: Node, to: ObjectIndex) -> String {
        let heap = &self.heap;
        let index = heap.index;
        if from as usize >= index.len() {
            let mut kinds: Vec<&str> = index
                .roots
                .iter()
                .filter(|r| r.object == to)
                .map(|r| r.kind.name())
                .collect();
            kinds.dedup();
            return format!("GC root ({})", kinds.join(", "));
        }
        let to_id = heap.id(to);
        if let Some(c) = index.class_of_object(from) {
            let classes = &heap.snap.classes;
            let d = &classes.get(c).dump;
            let mut names = vec![];
            for st in d.statics() {
                if st.ty == crate::formats::hprof::BasicType::Object
                    && crate::formats::hprof::reader::read_id(st.value, heap.snap.dir.id_size())
                        == to_id
                {
                    names.push(format!("static {}", heap.field_name(st.name_id)));
                }
            }
            if d.super_id == to_id {
                names.push("<superclass>".into());
            }
            if d.loader_id == to_id {
                names.push("<classloader>".into());
            }
            if d.protection_domain_id == to_id {
                names.push("<protection domain>".into());
            }
            if d.signers_id == to_id {
                names.push("<signers>".into());
            }
            if !names.is_empty() {
                return names.join(", ");
            }
        }
        let elements = heap.array_elements(from);
        if !elements.is_empty() {
            if let Some(k) = elements.iter().position(|&e| e == to_id) {
                return format!("[{k}]");
            }
        }
        let names: Vec<String> = heap
            .fields(from)
            .into_iter()
            .filter(|f| f.value.as_object() == Some(to_id))
            .map(|f| f.name)
            .collect();
        if !names.is_empty() {
            return names.join(", ");
        }
        if index.class_of_object(to).is_some() {
            return "<class>".into();
        }
        format!("-> {}", hex(to_id))
    }
}
