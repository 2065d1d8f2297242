//! What the graph commands share: the heap with its dominator tree, a summary of the heap as a
//! whole, and how an edge is named in a path (`field`, `[index]`, `static NAME`).

use super::describe::hex;
use crate::heap::graph::Node;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Heap;
use crate::heap::reachability::LEVEL_NAMES;
use crate::heap::retained::Retention;
use serde::Serialize;
use std::collections::BTreeMap;

/// A heap with its dominator tree and retained sizes.
#[derive(Clone, Copy)]
pub struct Graph<'s, 'a> {
    pub heap: Heap<'s, 'a>,
    pub retention: &'s Retention,
}

/// Objects and shallow bytes of one kind of reachability.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Count {
    pub objects: u64,
    pub bytes: u64,
}

/// Objects by their strongest reachability: the weakest link of the strongest path from a GC
/// root (strong, soft, weak, finalizer, phantom); then what no GC root reaches, as held by the
/// JVM (no referrer in the dump, of a kind the JVM keeps from its own metadata) or garbage.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Reachability {
    pub strong: Count,
    pub soft: Count,
    pub weak: Count,
    pub finalizer: Count,
    pub phantom: Count,
    pub held_by_jvm: Count,
    pub garbage: Count,
    /// Edges the dump writer left out that the dump proves (a class's reflection data, found
    /// through its members' `clazz`), restored.
    pub restored_edges: u64,
}

impl Reachability {
    pub fn of(index: &crate::heap::index::HeapIndex) -> Reachability {
        let t = index.reach_totals();
        let c = |l: u8| Count {
            objects: t.objects[l as usize],
            bytes: t.bytes[l as usize],
        };
        use crate::heap::reachability as r;
        Reachability {
            strong: c(r::STRONG),
            soft: c(r::SOFT),
            weak: c(r::WEAK),
            finalizer: c(r::FINALIZER),
            phantom: c(r::PHANTOM),
            held_by_jvm: c(r::HELD_BY_JVM),
            garbage: c(r::GARBAGE),
            restored_edges: index.restored.len() as u64,
        }
    }

    /// The kinds below strong that hold anything, weakest last: (name, count).
    pub fn weaker(&self) -> Vec<(&'static str, Count)> {
        [
            ("soft", self.soft),
            ("weak", self.weak),
            ("finalizer", self.finalizer),
            ("phantom", self.phantom),
        ]
        .into_iter()
        .filter(|(_, c)| c.objects > 0)
        .collect()
    }
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
    /// What the JVM keeps: the reachable objects plus those held by the JVM, not in the dump
    /// (`reachability.held_by_jvm`); in a `-dump:live` dump, what `jmap -histo:live` counts.
    pub live_objects: u64,
    pub live_bytes: u64,
    /// Every object by its strongest reachability (see [`Reachability`]).
    pub reachability: Reachability,
    /// Whether unreachable objects were counted as roots of their own (`--keep-unreachable`).
    pub kept_unreachable: bool,
    /// Whether referents were not edges (`--strong-only`: what a GC under memory pressure leaves).
    pub strong_only: bool,
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
        let reachability = Reachability::of(index);
        let reachable_objects = r.tree.preorder.len().saturating_sub(1) as u64;
        let reachable_bytes = r.retained[root as usize];
        // With --keep-unreachable the unreachable objects are in the tree already.
        let (held, kept) = (reachability.held_by_jvm, r.kept_unreachable);
        HeapTotals {
            objects: index.len() as u64,
            reachable_objects,
            reachable_bytes,
            unreachable_objects: r.unreachable_objects,
            unreachable_bytes: r.unreachable_bytes,
            live_objects: if kept {
                reachable_objects - reachability.garbage.objects.min(reachable_objects)
            } else {
                reachable_objects + held.objects
            },
            live_bytes: if kept {
                reachable_bytes - reachability.garbage.bytes.min(reachable_bytes)
            } else {
                reachable_bytes + held.bytes
            },
            reachability,
            kept_unreachable: r.kept_unreachable,
            strong_only: index.strong_only,
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
        if let Some(k) = index.referent_edge(from, to) {
            // The step that makes the path soft, weak...: marked.
            return format!("referent ({} reference)", LEVEL_NAMES[k as usize]);
        }
        if index.is_restored(from, to) {
            return "<held by the JVM, not in the dump: named by its members>".into();
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
