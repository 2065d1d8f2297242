//! Memory a fix would free: duplicate strings, empty and sparse collections, boxed primitives and
//! reference arrays whose tail was never written, each with the bytes it costs, its share of the
//! heap, the classes that own it (the nearest application object above it in the dominator tree)
//! and the path from a GC root to an owner of its biggest share.
//!
//! Primitive arrays are never waste, however many zeros they hold: a zero-filled read buffer, a
//! `BufferedWriter`'s `char[]` or a pooled `byte[]` is memory in use, and nothing in the dump tells
//! a buffer waiting for data from one that is too big.

use super::collections::{Kind, Kinds};
use super::describe::quote;
use super::graph::Graph;
use crate::formats::hprof::SubRecord;
use crate::heap::classes::{ClassIndex, NO_CLASS};
use crate::heap::fxhash::{new_map, FxHashMap};
use crate::heap::graph::Node;
use crate::heap::index::ObjectIndex;
use rayon::prelude::*;
use serde::Serialize;

/// Rows listed per category.
const TOP: usize = 10;
/// Objects whose owners are looked up one by one; above this, a sample (see `Owners::rows`).
const OWNER_SAMPLE: usize = 200_000;
/// Arrays shorter than this (in bytes) are not checked for an unused tail.
const MIN_ARRAY_BYTES: u64 = 1024;

#[derive(Clone, Debug, Serialize)]
pub struct OwnerRow {
    /// The class of the nearest object above, in the dominator tree, that is not collection
    /// plumbing (`<GC roots>` when there is none). Over 200,000 objects, `objects` and
    /// `wasted_bytes` are estimated from an even sample.
    pub class: String,
    pub objects: u64,
    pub wasted_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct WasteGroup {
    pub objects: u64,
    pub wasted_bytes: u64,
    /// `wasted_bytes` as a share of the live heap.
    pub percent_of_heap: f64,
    pub owners: Vec<OwnerRow>,
    /// Path from a GC root to one owner of the biggest share (`static Config.INSTANCE ->
    /// Registry.byIp -> ...`); null when nothing is wasted or no owner is reachable.
    pub holder: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DuplicateString {
    /// The text, quoted and cut to 80 characters.
    pub value: String,
    pub copies: u64,
    pub wasted_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DuplicateStrings {
    pub strings: u64,
    pub distinct_values: u64,
    pub wasted_bytes: u64,
    /// `wasted_bytes` as a share of the live heap.
    pub percent_of_heap: f64,
    pub top: Vec<DuplicateString>,
    pub owners: Vec<OwnerRow>,
    /// As [`WasteGroup::holder`].
    pub holder: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Waste {
    pub wasted_bytes: u64,
    pub wasted_percent: f64,
    /// Strings with equal text: all copies but one could be shared (`String.intern`, dedup).
    pub duplicate_strings: DuplicateStrings,
    /// Collections with no elements but an allocated table or array.
    pub empty_collections: WasteGroup,
    /// Collections filled to less than a quarter of a capacity of 16 or more: the unused slots.
    pub sparse_collections: WasteGroup,
    /// `Integer`, `Long`, ... objects: the bytes beyond the primitive value they box.
    pub boxed_primitives: WasteGroup,
    /// Reference arrays of 1 KiB or more whose second half or more is nulls, never written, and
    /// that no collection owns (collections' tables count as sparse collections). Primitive
    /// arrays are not counted: their zeros are data or room a buffer is using.
    pub oversized_arrays: WasteGroup,
}

struct Owners<'g, 's, 'a> {
    g: &'g Graph<'s, 'a>,
    kinds: &'g Kinds,
}

impl Owners<'_, '_, '_> {
    /// The nearest object above `o` that is not plumbing, at most 8 levels up (`None`: the GC
    /// roots).
    fn owner_node(&self, o: Node) -> Option<Node> {
        let heap = &self.g.heap;
        let n = heap.index.len();
        let mut v = o;
        for _ in 0..8 {
            let p = self.g.retention.idom(v)?;
            if p as usize >= n {
                return None;
            }
            match self.kinds.object(heap, p) {
                Kind::Other => return Some(p),
                _ => v = p,
            }
        }
        Some(v)
    }

    /// The class of [`owner_node`](Self::owner_node) (`NO_CLASS` for the GC roots).
    fn owner(&self, o: Node) -> ClassIndex {
        self.owner_node(o)
            .map(|p| self.g.heap.class(p))
            .unwrap_or(NO_CLASS)
    }

    /// The path summary to an owner of the biggest share (`rows[0]`): the first item owned by
    /// that class, so one path search per category.
    fn holder(&self, items: &[(Node, u64)], rows: &[OwnerRow]) -> Option<String> {
        let top = rows.first()?;
        let classes = &self.g.heap.snap.classes;
        let owner = items.iter().find_map(|&(o, _)| {
            let p = self.owner_node(o)?;
            (classes.get(self.g.heap.class(p)).name == top.class).then_some(p)
        })?;
        let steps = super::paths::shortest_path(self.g, owner)?;
        Some(super::classloaders::summarize(
            &steps,
            super::classloaders::Reachability::Strong,
            false,
        ))
    }

    /// Owner classes by wasted bytes. Finding an owner is a walk up the dominator tree (random
    /// reads over the whole heap), so beyond `OWNER_SAMPLE` objects every k-th is walked and the
    /// totals are scaled by k: the ranking and shares hold, the figures are estimates.
    fn rows(&self, items: &[(Node, u64)]) -> Vec<OwnerRow> {
        let stride = items.len().div_ceil(OWNER_SAMPLE).max(1);
        let by: FxHashMap<ClassIndex, (u64, u64)> = items
            .par_iter()
            .step_by(stride)
            .with_min_len(1 << 12)
            .fold(
                new_map,
                |mut by: FxHashMap<ClassIndex, (u64, u64)>, &(o, bytes)| {
                    let e = by.entry(self.owner(o)).or_default();
                    e.0 += 1;
                    e.1 += bytes;
                    by
                },
            )
            .reduce(new_map, |mut a, b| {
                for (k, (n, v)) in b {
                    let e = a.entry(k).or_default();
                    e.0 += n;
                    e.1 += v;
                }
                a
            });
        let classes = &self.g.heap.snap.classes;
        let k = stride as u64;
        let mut rows: Vec<OwnerRow> = by
            .into_iter()
            .map(|(c, (objects, wasted_bytes))| (c, (objects * k, wasted_bytes * k)))
            .map(|(c, (objects, wasted_bytes))| OwnerRow {
                class: if c == NO_CLASS {
                    "<GC roots>".into()
                } else {
                    classes.get(c).name.clone()
                },
                objects,
                wasted_bytes,
            })
            .collect();
        rows.sort_unstable_by(|a, b| {
            b.wasted_bytes
                .cmp(&a.wasted_bytes)
                .then(a.class.cmp(&b.class))
        });
        rows.truncate(TOP);
        rows
    }

    fn group(&self, items: &[(Node, u64)]) -> WasteGroup {
        let owners = self.rows(items);
        let wasted_bytes = items.iter().map(|x| x.1).sum();
        WasteGroup {
            objects: items.len() as u64,
            wasted_bytes,
            percent_of_heap: self.percent(wasted_bytes),
            holder: self.holder(items, &owners),
            owners,
        }
    }

    fn percent(&self, bytes: u64) -> f64 {
        100.0 * bytes as f64 / self.g.total_retained().max(1) as f64
    }
}

/// `sizes`: (collection, size, capacity) of every reachable collection (see
/// [`super::collections::all_sizes`]).
pub fn waste(g: &Graph<'_, '_>, kinds: &Kinds, sizes: &[(ObjectIndex, u64, Option<u64>)]) -> Waste {
    let heap = &g.heap;
    let owners = Owners { g, kinds };
    let reference = heap.snap.vm.layout.oop_size() as u64;

    let mut laps = crate::heap::timing::Laps::start("waste");
    let duplicate_strings = duplicate_strings(g, &owners);
    laps.lap("strings");

    let mut empty = vec![];
    let mut sparse = vec![];
    for &(o, size, cap) in sizes {
        let Some(cap) = cap else { continue };
        if size == 0 && cap > 0 {
            empty.push((o, g.retained(o).saturating_sub(heap.index.shallow(o))));
        } else if cap >= 16 && size * 4 < cap {
            sparse.push((o, (cap - size) * reference));
        }
    }

    let classes = &heap.snap.classes;
    // Bytes of the boxed value, by class; 0 for classes that are not boxes.
    let boxed: Vec<u64> = (0..classes.len() as ClassIndex)
        .map(|c| match classes.get(c).name.as_str() {
            "java.lang.Integer" | "java.lang.Float" => 4,
            "java.lang.Long" | "java.lang.Double" => 8,
            "java.lang.Short" | "java.lang.Character" => 2,
            "java.lang.Byte" | "java.lang.Boolean" => 1,
            _ => 0,
        })
        .collect();
    let n = heap.index.len() as u32;
    let boxed_items: Vec<(Node, u64)> = (0..n)
        .into_par_iter()
        .with_min_len(1 << 15)
        .filter_map(|o| {
            let c = heap.index.class_of[o as usize];
            let prim = *boxed.get(c as usize)?;
            if prim == 0 {
                return None;
            }
            if !g.retention.is_reachable(o) || heap.index.class_of_object(o).is_some() {
                return None;
            }
            Some((o, heap.index.shallow(o).saturating_sub(prim)))
        })
        .collect();

    laps.lap("boxed");
    let oversized: Vec<(Node, u64)> = (0..n)
        .into_par_iter()
        .with_min_len(1 << 15)
        .filter_map(|o| {
            if heap.index.shallow(o) < MIN_ARRAY_BYTES || !g.retention.is_reachable(o) {
                return None;
            }
            if heap.index.class_of_object(o).is_some() {
                return None;
            }
            let c = heap.index.class_of[o as usize];
            if c != NO_CLASS && kinds.class(c) != Kind::Array {
                return None;
            }
            // A collection's own table is counted as a sparse collection.
            if let Some(d) = g.retention.idom(o) {
                if (d as usize) < heap.index.len()
                    && matches!(kinds.object(heap, d), Kind::Map | Kind::Collection)
                {
                    return None;
                }
            }
            // Only reference arrays: a primitive array's zeros are data or a buffer's room.
            let (data, unit) = match heap.record(o)? {
                SubRecord::ObjectArray(a) => (a.elements, heap.snap.dir.id_size() as usize),
                _ => return None,
            };
            let zeros = trailing_zero_bytes(data);
            let unused = zeros / unit.max(1);
            let len = data.len() / unit.max(1);
            if len == 0 || unused * 2 < len {
                return None;
            }
            let elem = heap.index.shallow(o) as f64 / len as f64;
            Some((o, (unused as f64 * elem.min(unit as f64 * 2.0)) as u64))
        })
        .collect();

    laps.lap("arrays");
    let empty_collections = owners.group(&empty);
    let sparse_collections = owners.group(&sparse);
    let boxed_primitives = owners.group(&boxed_items);
    let oversized_arrays = owners.group(&oversized);
    laps.lap("owners");
    let wasted_bytes = duplicate_strings.wasted_bytes
        + empty_collections.wasted_bytes
        + sparse_collections.wasted_bytes
        + boxed_primitives.wasted_bytes
        + oversized_arrays.wasted_bytes;
    Waste {
        wasted_bytes,
        wasted_percent: 100.0 * wasted_bytes as f64 / g.total_retained().max(1) as f64,
        duplicate_strings,
        empty_collections,
        sparse_collections,
        boxed_primitives,
        oversized_arrays,
    }
}

/// Zero bytes at the end of `data`, eight at a time.
fn trailing_zero_bytes(data: &[u8]) -> usize {
    let mut n = 0;
    let mut chunks = data.rchunks_exact(8);
    for c in &mut chunks {
        if u64::from_ne_bytes(c.try_into().unwrap_or([1; 8])) != 0 {
            return n + c.iter().rev().take_while(|&&b| b == 0).count();
        }
        n += 8;
    }
    n + chunks
        .remainder()
        .iter()
        .rev()
        .take_while(|&&b| b == 0)
        .count()
}

fn hash_bytes(b: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (b.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    for &x in chunks.remainder() {
        h = (h.rotate_left(5) ^ x as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    h ^ (h >> 31)
}

fn duplicate_strings(g: &Graph<'_, '_>, owners: &Owners<'_, '_, '_>) -> DuplicateStrings {
    let heap = &g.heap;
    let empty = DuplicateStrings {
        strings: 0,
        distinct_values: 0,
        wasted_bytes: 0,
        percent_of_heap: 0.0,
        top: vec![],
        owners: vec![],
        holder: None,
    };
    let Some(string_class) = heap.snap.classes.find("java.lang.String") else {
        return empty;
    };
    let classes = &heap.snap.classes;
    let Some((value_at, _)) = classes.field_offset(&heap.snap.dir, string_class, "value") else {
        return empty;
    };
    let coder_at = classes
        .field_offset(&heap.snap.dir, string_class, "coder")
        .map(|x| x.0);
    let ids = heap.snap.dir.id_size();
    let n = heap.index.len() as u32;
    // (hash, string, bytes the copy costs)
    let mut items: Vec<(u64, Node, u64)> = (0..n)
        .into_par_iter()
        .with_min_len(1 << 15)
        .filter_map(|o| {
            if heap.index.class_of[o as usize] != string_class || !g.retention.is_reachable(o) {
                return None;
            }
            let SubRecord::Instance(inst) = heap.record(o)? else {
                return None;
            };
            let value = crate::formats::hprof::reader::read_id(
                inst.fields.get(value_at..value_at + ids as usize)?,
                ids,
            );
            let coder = coder_at
                .and_then(|c| inst.fields.get(c).copied())
                .unwrap_or(0);
            let arr = heap.find(value)?;
            let SubRecord::PrimitiveArray(a) = heap.record(arr)? else {
                return None;
            };
            let h = hash_bytes(a.data, coder as u64 + 1);
            Some((h, o, heap.index.shallow(o) + heap.index.shallow(arr)))
        })
        .collect();
    let strings = items.len() as u64;
    items.par_sort_unstable_by_key(|x| (x.0, x.1));
    let mut groups: Vec<(u64, u64, Node)> = vec![]; // (wasted, copies, first)
    let mut wasted_items: Vec<(Node, u64)> = vec![];
    let mut distinct = 0u64;
    let mut i = 0;
    while i < items.len() {
        let mut j = i + 1;
        while j < items.len() && items[j].0 == items[i].0 {
            j += 1;
        }
        distinct += 1;
        if j - i > 1 {
            let wasted: u64 = items[i + 1..j].iter().map(|x| x.2).sum();
            groups.push((wasted, (j - i) as u64, items[i].1));
            wasted_items.extend(items[i + 1..j].iter().map(|x| (x.1, x.2)));
        }
        i = j;
    }
    groups.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    let top = groups
        .iter()
        .take(TOP)
        .map(|&(wasted, copies, o)| DuplicateString {
            value: heap
                .string(o, 81)
                .map(|s| quote(&s, 80))
                .unwrap_or_else(|| "?".into()),
            copies,
            wasted_bytes: wasted,
        })
        .collect();
    let wasted_bytes = wasted_items.iter().map(|x| x.1).sum();
    let rows = owners.rows(&wasted_items);
    DuplicateStrings {
        strings,
        distinct_values: distinct,
        wasted_bytes,
        percent_of_heap: owners.percent(wasted_bytes),
        top,
        holder: owners.holder(&wasted_items, &rows),
        owners: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::trailing_zero_bytes;

    #[test]
    fn trailing_zeros() {
        assert_eq!(trailing_zero_bytes(&[]), 0);
        assert_eq!(trailing_zero_bytes(&[0; 17]), 17);
        let mut v = vec![0u8; 40];
        v[3] = 1;
        assert_eq!(trailing_zero_bytes(&v), 36);
        v[39] = 7;
        assert_eq!(trailing_zero_bytes(&v), 0);
        let mut w = vec![0u8; 13];
        w[0] = 9;
        assert_eq!(trailing_zero_bytes(&w), 12);
    }
}
