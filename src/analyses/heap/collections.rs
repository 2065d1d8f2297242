//! The largest collections by retained size, with size, capacity and fill ratio. What a
//! collection is and how to read it lives in [`crate::heap::jdk::collections`].

use super::describe::{object_ref, ObjectRef};
use super::graph::Graph;
use crate::formats::hprof::BasicType;
use crate::heap::classes::NO_CLASS;
use crate::heap::index::ObjectIndex;
use crate::heap::jdk::collections::CollectionModel;
pub use crate::heap::jdk::collections::Kind;
use crate::heap::objects::Heap;
use rayon::prelude::*;
use serde::Serialize;

/// The kinds of classes (and the plans to read collections), from
/// [`crate::heap::jdk::collections`]; the analyses' historical name for it.
pub type Kinds = CollectionModel;

/// The key and value ids of a map entry node (`HashMap$Node`, `WeakHashMap$Entry`, ...).
pub fn entry_key_value(heap: &Heap<'_, '_>, entry: ObjectIndex) -> (Option<u64>, Option<u64>) {
    match heap.snap.collections().entry(heap, entry) {
        Some(item) => (item.key.map(|k| heap.id(k)), item.value.map(|v| heap.id(v))),
        None => (None, None),
    }
}

/// One collection in the report.
#[derive(Clone, Debug, Serialize)]
pub struct CollectionRow {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub size: u64,
    /// Slots allocated (table length, array length); null when the type has no fixed capacity.
    pub capacity: Option<u64>,
    /// size / capacity, 0..1; null without a capacity.
    pub fill_ratio: Option<f64>,
    pub retained_bytes: u64,
    pub retained_percent: f64,
}

/// Size and capacity of every collection object that has them, in parallel: (object, size, capacity).
pub fn all_sizes(
    heap: &Heap<'_, '_>,
    kinds: &Kinds,
    reachable: &(dyn Fn(ObjectIndex) -> bool + Sync),
) -> Vec<(ObjectIndex, u64, Option<u64>)> {
    let n = heap.index.len() as u32;
    (0..n)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&o| {
            matches!(kinds.class(heap.class(o)), Kind::Map | Kind::Collection)
                && reachable(o)
                && heap.index.class_of_object(o).is_none()
        })
        .filter_map(|o| {
            let e = kinds.size(heap, o)?;
            Some((o, e.size, e.capacity))
        })
        .collect()
}

/// The `n` largest collections by retained size, arrays of references included (their size is
/// the number of non-null slots).
pub fn largest(
    g: &Graph<'_, '_>,
    sizes: &[(ObjectIndex, u64, Option<u64>)],
    kinds: &Kinds,
    n: usize,
) -> Vec<CollectionRow> {
    let heap = &g.heap;
    let total = g.total_retained().max(1) as f64;
    // A collection inside another one's plumbing (a HashSet's HashMap) is shown as the outer one.
    let mut cands: Vec<(u64, ObjectIndex, u64, Option<u64>)> = sizes
        .iter()
        .filter(|&&(o, _, _)| {
            g.retention
                .idom(o)
                .is_none_or(|d| (d as usize) >= heap.index.len() || !kinds.is_container(heap, d))
        })
        .map(|&(o, s, c)| (g.retained(o), o, s, c))
        .collect();
    // Object arrays not owned by a collection (a collection's table is shown as the collection).
    let count = heap.index.len() as u32;
    let object_arrays: Vec<bool> = heap
        .snap
        .classes
        .classes
        .iter()
        .map(|c| c.array_of == Some(BasicType::Object))
        .collect();
    let arrays: Vec<(u64, ObjectIndex)> = (0..count)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&o| {
            let c = heap.class(o);
            c != NO_CLASS
                && object_arrays.get(c as usize).copied().unwrap_or(false)
                && g.retention.is_reachable(o)
                && heap.index.class_of_object(o).is_none()
        })
        .filter_map(|o| {
            let d = g.retention.idom(o)?;
            if (d as usize) < heap.index.len()
                && matches!(kinds.object(heap, d), Kind::Map | Kind::Collection)
            {
                return None;
            }
            Some((g.retained(o), o))
        })
        .collect();
    let mut arrays = arrays;
    arrays.sort_unstable_by_key(|a| std::cmp::Reverse(a.0));
    arrays.truncate(n);
    for (r, o) in arrays {
        let ids = heap.array_elements(o);
        if ids.is_empty() && heap.array_length(o).unwrap_or(0) > 0 {
            continue; // a primitive array
        }
        let used = ids.iter().filter(|&&e| e != 0).count() as u64;
        cands.push((r, o, used, Some(ids.len() as u64)));
    }
    cands.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    cands.truncate(n);
    cands
        .into_iter()
        .map(|(r, o, size, cap)| CollectionRow {
            object: object_ref(heap, o),
            size,
            capacity: cap,
            fill_ratio: cap.map(|c| if c == 0 { 0.0 } else { size as f64 / c as f64 }),
            retained_bytes: r,
            retained_percent: 100.0 * r as f64 / total,
        })
        .collect()
}
