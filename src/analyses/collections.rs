//! JDK collections: which classes are collections or their internals (decided once per class,
//! not per object), how full each one is, and the largest of them by retained size.
//!
//! Suspects use the kinds to look through a collection's plumbing (`HashMap` -> `table` ->
//! `HashMap$Node` -> key) at what it holds; the report lists the largest collections with size,
//! capacity and fill ratio.

use super::describe::{collection_size, object_ref, ObjectRef};
use super::graph::Graph;
use crate::formats::hprof::{BasicType, SubRecord};
use crate::heap::classes::{ClassIndex, NO_CLASS};
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Heap;
use rayon::prelude::*;
use serde::Serialize;

/// What a class is to a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Not part of a collection.
    Other,
    /// A map: `HashMap`, `ConcurrentHashMap`, `TreeMap`, `Hashtable`, ...
    Map,
    /// A set, list, queue or deque.
    Collection,
    /// A map entry with a key and a value field (`HashMap$Node`, `TreeMap$Entry`, ...).
    Entry,
    /// Other plumbing: list nodes, tables of entries, tree bins, `ThreadLocalMap`.
    Internal,
    /// An array (its role depends on who holds it).
    Array,
}

const MAPS: &[&str] = &[
    "java.util.HashMap",
    "java.util.Hashtable",
    "java.util.WeakHashMap",
    "java.util.IdentityHashMap",
    "java.util.TreeMap",
    "java.util.EnumMap",
    "java.util.concurrent.ConcurrentHashMap",
    "java.util.concurrent.ConcurrentSkipListMap",
    "java.util.Collections$SynchronizedMap",
    "java.util.Collections$UnmodifiableMap",
];

const COLLECTIONS: &[&str] = &[
    "java.util.HashSet",
    "java.util.TreeSet",
    "java.util.ArrayList",
    "java.util.Vector",
    "java.util.LinkedList",
    "java.util.ArrayDeque",
    "java.util.PriorityQueue",
    "java.util.concurrent.CopyOnWriteArrayList",
    "java.util.concurrent.CopyOnWriteArraySet",
    "java.util.concurrent.ConcurrentLinkedQueue",
    "java.util.concurrent.ConcurrentLinkedDeque",
    "java.util.concurrent.LinkedBlockingQueue",
    "java.util.concurrent.LinkedBlockingDeque",
    "java.util.concurrent.ArrayBlockingQueue",
    "java.util.concurrent.PriorityBlockingQueue",
    "java.util.concurrent.ConcurrentSkipListSet",
    "java.util.Collections$SynchronizedCollection",
    "java.util.Collections$UnmodifiableCollection",
];

const ENTRIES: &[&str] = &[
    "java.util.HashMap$Node",
    "java.util.Hashtable$Entry",
    "java.util.TreeMap$Entry",
    "java.util.WeakHashMap$Entry",
    "java.util.concurrent.ConcurrentHashMap$Node",
    "java.util.concurrent.ConcurrentSkipListMap$Node",
    "java.lang.ThreadLocal$ThreadLocalMap$Entry",
];

const INTERNALS: &[&str] = &[
    "java.util.LinkedList$Node",
    "java.util.concurrent.ConcurrentHashMap$TreeBin",
    "java.util.concurrent.ConcurrentHashMap$CounterCell",
    "java.util.concurrent.ConcurrentLinkedQueue$Node",
    "java.util.concurrent.ConcurrentLinkedDeque$Node",
    "java.util.concurrent.LinkedBlockingQueue$Node",
    "java.util.concurrent.LinkedBlockingDeque$Node",
    "java.util.concurrent.ConcurrentSkipListMap$Index",
    "java.lang.ThreadLocal$ThreadLocalMap",
];

/// The kind of every class, by class index: computed once from the class names and superclasses.
pub struct Kinds {
    kinds: Vec<Kind>,
}

impl Kinds {
    pub fn of(heap: &Heap<'_, '_>) -> Kinds {
        let classes = &heap.snap.classes;
        let kinds = (0..classes.len() as ClassIndex)
            .map(|c| {
                let info = classes.get(c);
                if info.is_array() {
                    return Kind::Array;
                }
                for k in classes.ancestry(c) {
                    let name = classes.get(k).name.as_ref();
                    if MAPS.contains(&name) {
                        return Kind::Map;
                    }
                    if COLLECTIONS.contains(&name) {
                        return Kind::Collection;
                    }
                    if ENTRIES.contains(&name) {
                        return Kind::Entry;
                    }
                    if INTERNALS.contains(&name) {
                        return Kind::Internal;
                    }
                }
                Kind::Other
            })
            .collect();
        Kinds { kinds }
    }

    pub fn class(&self, c: ClassIndex) -> Kind {
        if c == NO_CLASS {
            // Primitive arrays without a class record.
            return Kind::Array;
        }
        self.kinds.get(c as usize).copied().unwrap_or(Kind::Other)
    }

    pub fn object(&self, heap: &Heap<'_, '_>, o: ObjectIndex) -> Kind {
        if heap.index.class_of_object(o).is_some() {
            return Kind::Other;
        }
        self.class(heap.class(o))
    }

    /// Whether the object is a map or collection a person would name (not its plumbing).
    pub fn is_container(&self, heap: &Heap<'_, '_>, o: ObjectIndex) -> bool {
        matches!(self.object(heap, o), Kind::Map | Kind::Collection)
    }
}

/// Names of the key and value fields of a map entry (`ConcurrentHashMap$Node` calls it `val`).
pub fn entry_key_value(heap: &Heap<'_, '_>, entry: ObjectIndex) -> (Option<u64>, Option<u64>) {
    let key = heap
        .field(entry, "key")
        .or_else(|| heap.field(entry, "referent"))
        .and_then(|v| v.as_object())
        .filter(|&k| k != 0);
    let value = heap
        .field(entry, "value")
        .or_else(|| heap.field(entry, "val"))
        .and_then(|v| v.as_object())
        .filter(|&v| v != 0);
    (key, value)
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

/// How to read a collection's size and capacity from its fields, decided once per class.
#[derive(Clone, Copy, Debug)]
enum SizePlan {
    /// A size field, and an array whose length is the capacity (`HashMap.table`).
    Fields { size: usize, table: Option<usize> },
    /// A wrapper around another collection (`HashSet.map`, `TreeSet.m`).
    Inner { inner: usize },
    /// `ConcurrentHashMap`: `baseCount` plus its counter cells; `table`.
    Concurrent {
        base: usize,
        cells: usize,
        table: usize,
    },
    /// `ArrayDeque`: `elements`, `head`, `tail`.
    Deque {
        elements: usize,
        head: usize,
        tail: usize,
    },
    /// Anything else: the slower generic reading.
    Generic,
}

fn plan_for(heap: &Heap<'_, '_>, c: ClassIndex) -> SizePlan {
    let classes = &heap.snap.classes;
    let is = |n: &str| classes.ancestry(c).any(|k| classes.get(k).name == n);
    let at = |n: &str| {
        heap.snap
            .classes
            .field_offset(&heap.snap.dir, c, n)
            .map(|x| x.0)
    };
    let plan = if is("java.util.concurrent.ConcurrentHashMap") {
        (|| {
            Some(SizePlan::Concurrent {
                base: at("baseCount")?,
                cells: at("counterCells")?,
                table: at("table")?,
            })
        })()
    } else if is("java.util.HashSet") {
        at("map").map(|inner| SizePlan::Inner { inner })
    } else if is("java.util.TreeSet") {
        at("m").map(|inner| SizePlan::Inner { inner })
    } else if is("java.util.ArrayDeque") {
        (|| {
            Some(SizePlan::Deque {
                elements: at("elements")?,
                head: at("head")?,
                tail: at("tail")?,
            })
        })()
    } else if is("java.util.HashMap") || is("java.util.WeakHashMap") {
        at("size").map(|size| SizePlan::Fields {
            size,
            table: at("table"),
        })
    } else if is("java.util.Hashtable") {
        at("count").map(|size| SizePlan::Fields {
            size,
            table: at("table"),
        })
    } else if is("java.util.ArrayList") {
        at("size").map(|size| SizePlan::Fields {
            size,
            table: at("elementData"),
        })
    } else if is("java.util.Vector") {
        at("elementCount").map(|size| SizePlan::Fields {
            size,
            table: at("elementData"),
        })
    } else if is("java.util.TreeMap")
        || is("java.util.LinkedList")
        || is("java.util.IdentityHashMap")
    {
        at("size").map(|size| SizePlan::Fields { size, table: None })
    } else {
        None
    };
    plan.unwrap_or(SizePlan::Generic)
}

/// Reads sizes of collections fast: one record parse per object, fields at known offsets.
pub struct Sizer<'h, 's, 'a> {
    heap: &'h Heap<'s, 'a>,
    plans: Vec<Option<SizePlan>>,
}

impl<'h, 's, 'a> Sizer<'h, 's, 'a> {
    pub fn new(heap: &'h Heap<'s, 'a>, kinds: &Kinds) -> Self {
        let plans = (0..heap.snap.classes.len() as ClassIndex)
            .map(|c| {
                matches!(kinds.class(c), Kind::Map | Kind::Collection).then(|| plan_for(heap, c))
            })
            .collect();
        Sizer { heap, plans }
    }

    fn int_at(fields: &[u8], at: usize) -> Option<i64> {
        let b = fields.get(at..at + 4)?;
        Some(i32::from_be_bytes(b.try_into().ok()?) as i64)
    }

    fn long_at(fields: &[u8], at: usize) -> Option<i64> {
        let b = fields.get(at..at + 8)?;
        Some(i64::from_be_bytes(b.try_into().ok()?))
    }

    fn obj_at(&self, fields: &[u8], at: usize) -> Option<ObjectIndex> {
        let ids = self.heap.snap.dir.id_size();
        let id = crate::formats::hprof::reader::read_id(fields.get(at..at + ids as usize)?, ids);
        if id == 0 {
            return None;
        }
        self.heap.find(id)
    }

    fn len_of(&self, o: Option<ObjectIndex>) -> i64 {
        o.and_then(|a| self.heap.array_length(a)).unwrap_or(0) as i64
    }

    /// (size, capacity) of a collection, or `None` when it is not one or cannot be read.
    pub fn size(&self, o: ObjectIndex, depth: u32) -> Option<(i64, Option<i64>)> {
        let heap = self.heap;
        let plan = (*self.plans.get(heap.class(o) as usize)?)?;
        let SubRecord::Instance(inst) = heap.record(o)? else {
            return None;
        };
        let f = inst.fields;
        match plan {
            SizePlan::Fields { size, table } => Some((
                Self::int_at(f, size)?,
                table.map(|t| self.len_of(self.obj_at(f, t))),
            )),
            SizePlan::Inner { inner } if depth < 3 => self.size(self.obj_at(f, inner)?, depth + 1),
            SizePlan::Inner { .. } => None,
            SizePlan::Concurrent { base, cells, table } => {
                let mut size = Self::long_at(f, base)?;
                if let Some(cells) = self.obj_at(f, cells) {
                    for id in heap.array_elements(cells) {
                        if let Some(cell) = heap.find(id) {
                            size += heap.field_int(cell, "value").unwrap_or(0);
                        }
                    }
                }
                Some((size, Some(self.len_of(self.obj_at(f, table)))))
            }
            SizePlan::Deque {
                elements,
                head,
                tail,
            } => {
                let cap = self.len_of(self.obj_at(f, elements));
                let (h, t) = (Self::int_at(f, head)?, Self::int_at(f, tail)?);
                let size = if cap > 0 { (t - h).rem_euclid(cap) } else { 0 };
                Some((size, Some(cap)))
            }
            SizePlan::Generic => collection_size(heap, o),
        }
    }
}

/// Size and capacity of every collection object that has them, in parallel: (object, size, capacity).
pub fn all_sizes(
    heap: &Heap<'_, '_>,
    kinds: &Kinds,
    reachable: &(dyn Fn(ObjectIndex) -> bool + Sync),
) -> Vec<(ObjectIndex, u64, Option<u64>)> {
    let n = heap.index.len() as u32;
    let sizer = Sizer::new(heap, kinds);
    (0..n)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&o| {
            matches!(kinds.class(heap.class(o)), Kind::Map | Kind::Collection)
                && reachable(o)
                && heap.index.class_of_object(o).is_none()
        })
        .filter_map(|o| {
            let (size, cap) = sizer.size(o, 0)?;
            Some((o, size.max(0) as u64, cap.map(|c| c.max(0) as u64)))
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
