//! One dump's dominator tree summarised by *stable paths* from the GC roots, so that dumps taken
//! apart can be compared (issue 16): object ids change between dumps (collectors move objects),
//! what an object *is* does not. A path is the root kind and class, then static and instance
//! field names, map entries by key where the key is a string or a boxed value, and array slots
//! folded (`[*]`); each step carries the class of the objects it reaches.
//!
//! Every reachable object belongs to exactly one path: the path of its immediate dominator
//! extended by one step, or its dominator's path itself when it is collection plumbing (a hash
//! table, a list node, an entry whose key is not a value), when it repeats its dominator's step (a
//! linked chain's `next`), or when it retains less than [`PathSummary::min_path_bytes`] (so a
//! map of a million small entries is one path, not a million). A path's retained bytes are the
//! shallow bytes of the objects on it and below it: exactly what its topmost objects retain.
//! Memory is one `u32` per object while the walk runs, then proportional to the paths.

use super::describe::{boxed_value, quote};
use super::dump_info::DumpInfo;
use super::graph::Graph;
use crate::analyses::class_families::family_key;
use crate::heap::classes::{ClassIndex, NO_CLASS};
use crate::heap::column::{Column, Scratch};
use crate::heap::fxhash::FxHashMap;
use crate::heap::graph::Node;
use crate::heap::index::ObjectIndex;
use crate::heap::jdk::collections::Kind;
use crate::heap::retained::reachable_instances;
use serde::Serialize;
use std::collections::BTreeMap;

/// A path gets a node of its own only above this share of the reachable heap...
pub const MIN_PATH_SHARE: f64 = 1.0 / 5_000.0;
/// ...and this many bytes.
pub const MIN_PATH_FLOOR: u64 = 1024;
/// Characters of a key shown in a path step.
const KEY_CHARS: usize = 40;

/// One path of one dump. Paths are listed parents first; `parent` indexes the same list.
#[derive(Clone, Debug, Serialize)]
pub struct PathRow {
    pub parent: Option<u32>,
    /// `GC root (sticky-class) class com.Foo`, `static CACHE`, `.table`, `["key"]`, `[*]`.
    pub step: String,
    /// The class of the objects the step reaches (`class com.Foo` for a class object).
    pub class: String,
    /// Objects that start this path (the topmost objects on it).
    pub nodes: u64,
    /// Shallow bytes and objects on this path and below it.
    pub retained_bytes: u64,
    pub retained_objects: u64,
    /// Java's `size()` summed over the topmost objects, when they are collections it can read.
    pub collection_size: Option<u64>,
    /// Whether the topmost objects are maps or collections.
    pub is_collection: bool,
    /// The objects on this path itself (not below it), by class: (class, objects, bytes).
    pub own_classes: Vec<(String, u64, u64)>,
}

/// Reachable instances, their shallow bytes and their retained bytes, for one class name.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ClassTotals {
    pub instances: u64,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
}

/// Loaders of one type and the classes they defined.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LoaderTotals {
    pub loaders: u64,
    pub classes: u64,
}

/// One dump, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct PathSummary {
    pub dump: DumpInfo,
    pub reachable_bytes: u64,
    pub reachable_objects: u64,
    pub min_path_bytes: u64,
    /// The virtual root's path (everything) first, then parents before children.
    pub paths: Vec<PathRow>,
    /// By class name (classes of one name from several loaders add up).
    pub classes: BTreeMap<String, ClassTotals>,
    /// By loader type (`<bootstrap>` for the classes of the boot loader).
    pub loaders: BTreeMap<String, LoaderTotals>,
    /// Classes per generated-class family key (`class_families::family_key`).
    pub families: BTreeMap<String, u64>,
}

impl PathSummary {
    /// The full key of path `p`: its steps with their classes, from the GC roots down.
    pub fn key(&self, p: usize) -> String {
        let mut steps = vec![];
        let mut at = Some(p as u32);
        while let Some(k) = at {
            let row = &self.paths[k as usize];
            if row.parent.is_some() {
                steps.push(format!("{} {}", row.step, row.class));
            }
            at = row.parent;
        }
        steps.reverse();
        steps.join(" → ")
    }
}

/// Builds the summary of one dump. `scratch` places the per-object array.
pub fn summarise(g: &Graph<'_, '_>, scratch: &Scratch) -> PathSummary {
    let index = g.heap.index;
    let root = index.virtual_root();
    let reachable_bytes = g.total_retained();
    let min_path_bytes = ((reachable_bytes as f64 * MIN_PATH_SHARE) as u64).max(MIN_PATH_FLOOR);
    let mut w = Walker::new(g, min_path_bytes);
    let mut path_of: Column<u32> = scratch.zeroed(index.len() + 1);
    let idom: &[Node] = &g.retention.tree.idom;
    for &v in g.retention.tree.preorder.iter() {
        if v == root {
            continue;
        }
        let d = idom[v as usize];
        let parent_path = path_of.get(d as usize).copied().unwrap_or(0);
        let p = w.path_for(d, v, parent_path);
        path_of[v as usize] = p;
        w.count(v, p, parent_path);
    }
    let reachable_objects = g.retention.tree.preorder.len().saturating_sub(1) as u64;
    let paths = w.finish();
    PathSummary {
        dump: DumpInfo::of(g.heap.snap),
        reachable_bytes,
        reachable_objects,
        min_path_bytes,
        paths,
        classes: class_totals(g),
        loaders: loader_totals(g),
        families: family_counts(g),
    }
}

/// The path of one object, as [`summarise`] would give it, from the GC roots down: for reports
/// that name objects of a dump (suspects) in the terms of a diff. Walks the dominator chain.
pub fn path_key_of(g: &Graph<'_, '_>, v: ObjectIndex, min_path_bytes: u64) -> String {
    let root = g.heap.index.virtual_root();
    let mut chain = vec![v];
    let mut at = v;
    while let Some(d) = g.retention.idom(at) {
        if d == root {
            break;
        }
        chain.push(d);
        at = d;
    }
    chain.reverse();
    let mut w = Walker::new(g, min_path_bytes);
    let mut p = 0u32;
    let mut parent = root;
    for &x in &chain {
        p = w.path_for(parent, x, p);
        parent = x;
    }
    let rows = w.finish();
    let s = PathSummary {
        dump: DumpInfo::of(g.heap.snap),
        reachable_bytes: 0,
        reachable_objects: 0,
        min_path_bytes,
        paths: rows,
        classes: BTreeMap::new(),
        loaders: BTreeMap::new(),
        families: BTreeMap::new(),
    };
    s.key(p as usize)
}

/// A path while the walk builds it.
struct Building {
    parent: Option<u32>,
    step: String,
    class: String,
    nodes: u64,
    own_bytes: u64,
    own_objects: u64,
    size: Option<u64>,
    is_collection: bool,
    key_step: bool,
}

struct Walker<'g, 's, 'a> {
    g: &'g Graph<'s, 'a>,
    min_path_bytes: u64,
    paths: Vec<Building>,
    ids: FxHashMap<(u32, String), u32>,
    own_classes: FxHashMap<(u32, ClassIndex), (u64, u64)>,
    /// The first GC root kind of each root object, by name order.
    root_kind: FxHashMap<ObjectIndex, &'static str>,
    /// Names of objects without a class index (primitive arrays), numbered down from
    /// `NO_CLASS - 1` in `own_classes`.
    unclassed: Vec<String>,
}

impl<'g, 's, 'a> Walker<'g, 's, 'a> {
    fn new(g: &'g Graph<'s, 'a>, min_path_bytes: u64) -> Self {
        let mut root_kind: FxHashMap<ObjectIndex, &'static str> = FxHashMap::default();
        for r in &g.heap.index.roots {
            let e = root_kind.entry(r.object).or_insert(r.kind.name());
            *e = (*e).min(r.kind.name());
        }
        Walker {
            g,
            min_path_bytes,
            paths: vec![Building {
                parent: None,
                step: String::new(),
                class: "<GC roots>".into(),
                nodes: 1,
                own_bytes: 0,
                own_objects: 0,
                size: None,
                is_collection: false,
                key_step: false,
            }],
            ids: FxHashMap::default(),
            own_classes: FxHashMap::default(),
            root_kind,
            unclassed: vec![],
        }
    }

    /// The path of `v`, whose immediate dominator `d` is on path `pd`.
    fn path_for(&mut self, d: Node, v: ObjectIndex, pd: u32) -> u32 {
        if self.g.retained(v) < self.min_path_bytes || self.repeats_step(d, v, pd) {
            return pd;
        }
        let Some((step, key_step)) = self.step(d, v) else {
            return pd;
        };
        let class = self.class_text(v);
        let here = &self.paths[pd as usize];
        if here.parent.is_some() && here.step == step && here.class == class {
            return pd; // a chain repeating its step: `next`, `next`, ...
        }
        // An entry below an entry of the same map (a bucket chain, a tree map's children) is
        // its sibling.
        let base = match (key_step, here.key_step, here.parent) {
            (true, true, Some(up)) if here.class == class => up,
            _ => pd,
        };
        let key = (base, format!("{step}\u{0}{class}"));
        if let Some(&p) = self.ids.get(&key) {
            return p;
        }
        let p = self.paths.len() as u32;
        let kind = self.g.heap.snap.collections().object(&self.g.heap, v);
        self.paths.push(Building {
            parent: Some(base),
            step,
            class,
            nodes: 0,
            own_bytes: 0,
            own_objects: 0,
            size: None,
            is_collection: matches!(kind, Kind::Map | Kind::Collection),
            key_step,
        });
        self.ids.insert(key, p);
        p
    }

    /// Whether `v` continues a chain on path `pd` (`next`, `next`, ...): an object of its
    /// dominator's class, not plumbing, held by exactly one field of it and by the field the
    /// path's step names, and no class object. The same answer [`step`](Self::step) and
    /// `path_for` would give, without naming every field (a linked list of a million nodes
    /// would otherwise name a million steps only to find them repeated).
    fn repeats_step(&self, d: Node, v: ObjectIndex, pd: u32) -> bool {
        let heap = &self.g.heap;
        let index = heap.index;
        let here = &self.paths[pd as usize];
        let Some(field) = here.step.strip_prefix('.') else {
            return false;
        };
        let c = heap.class(v);
        if here.parent.is_none()
            || field.contains(", ")
            || c == NO_CLASS
            || d as usize >= index.len()
            || heap.class(d as ObjectIndex) != c
            || index.class_of_object(v).is_some()
            || index.class_of_object(d as ObjectIndex).is_some()
            || here.class != heap.snap.classes.get(c).name
            || index.referent_edge(d, v).is_some()
            || index.is_restored(d, v)
            || !matches!(heap.snap.collections().object(heap, v), Kind::Other)
        {
            return false;
        }
        self.only_field_to(d as ObjectIndex, v) == Some(field.as_bytes())
    }

    /// The name of the one instance field of `d` that references `v` (`None` when none or
    /// several do), read without allocating.
    fn only_field_to(&self, d: ObjectIndex, v: ObjectIndex) -> Option<&'s [u8]> {
        let heap = &self.g.heap;
        let Some(crate::formats::hprof::reader::SubRecord::Instance(inst)) = heap.record(d) else {
            return None;
        };
        let classes = &heap.snap.classes;
        let c = classes.index_of(inst.class_id)?;
        let ids = heap.snap.dir.id_size();
        let to = heap.id(v);
        let mut found = None;
        let mut pos = 0usize;
        for k in classes.ancestry(c) {
            for f in classes.get(k).dump.fields() {
                let value = inst
                    .fields
                    .get(pos..)
                    .and_then(|b| crate::heap::objects::Value::read(f.ty, b, ids))?;
                pos += f.ty.hprof_size(ids);
                if value.as_object() == Some(to) {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(f.name_id);
                }
            }
        }
        heap.snap.dir.strings.get(&found?).map(|b| b.as_ref())
    }

    /// The step from `d` to `v` and whether it is a map key, or `None` when `v` is plumbing that
    /// stays on its dominator's path.
    fn step(&self, d: Node, v: ObjectIndex) -> Option<(String, bool)> {
        let heap = &self.g.heap;
        let index = heap.index;
        if d as usize >= index.len() {
            let kind = self.root_kind.get(&v).copied().unwrap_or("held by the JVM");
            return Some((format!("GC root ({kind})"), false));
        }
        let model = heap.snap.collections();
        match model.object(heap, v) {
            Kind::Internal => return None,
            Kind::Entry => {
                let key = model.entry(heap, v)?.key?;
                return self.key_text(key).map(|k| (format!("[{k}]"), true));
            }
            Kind::Array if self.is_collection_part(d) => return None,
            _ => {}
        }
        if index.class_of_object(d).is_none() && heap.array_length(d).is_some() {
            return Some(("[*]".into(), false));
        }
        let label = self.g.edge_label(d, v);
        if label.starts_with("-> ") {
            return Some(("(through others)".into(), false));
        }
        let plain = label
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && !label.starts_with("static ")
            && !label.starts_with("referent ");
        Some((if plain { format!(".{label}") } else { label }, false))
    }

    fn is_collection_part(&self, d: Node) -> bool {
        let heap = &self.g.heap;
        !matches!(
            heap.snap.collections().object(heap, d),
            Kind::Other | Kind::Array
        )
    }

    /// A key as a step shows it: a string quoted, a boxed value as its value; `None` for others.
    fn key_text(&self, k: ObjectIndex) -> Option<String> {
        let heap = &self.g.heap;
        let class = heap.class_name(k);
        if class == "java.lang.String" {
            return heap.string(k, KEY_CHARS + 1).map(|s| quote(&s, KEY_CHARS));
        }
        boxed_value(heap, k, class)
    }

    fn class_text(&self, v: ObjectIndex) -> String {
        let heap = &self.g.heap;
        match heap.index.class_of_object(v) {
            Some(c) => format!("class {}", heap.snap.classes.get(c).name),
            None => heap.class_name(v).to_string(),
        }
    }

    /// Counts `v` on path `p` (its dominator's path is `pd`).
    fn count(&mut self, v: ObjectIndex, p: u32, pd: u32) {
        let heap = &self.g.heap;
        let shallow = heap.index.shallow(v);
        let mut c = heap.class(v);
        if c == NO_CLASS {
            let name = heap.class_name(v);
            let k = match self.unclassed.iter().position(|n| n == name) {
                Some(k) => k,
                None => {
                    self.unclassed.push(name.to_string());
                    self.unclassed.len() - 1
                }
            };
            c = NO_CLASS - 1 - k as ClassIndex;
        }
        let b = &mut self.paths[p as usize];
        b.own_bytes += shallow;
        b.own_objects += 1;
        if p != pd {
            b.nodes += 1;
            if b.is_collection {
                if let Some(e) = heap.snap.collections().size(heap, v) {
                    b.size = Some(b.size.unwrap_or(0) + e.size);
                }
            }
        }
        let e = self.own_classes.entry((p, c)).or_default();
        e.0 += 1;
        e.1 += shallow;
    }

    /// The rows, with retained totals summed up the paths (children come after parents).
    fn finish(self) -> Vec<PathRow> {
        let n = self.paths.len();
        let mut bytes: Vec<u64> = self.paths.iter().map(|b| b.own_bytes).collect();
        let mut objects: Vec<u64> = self.paths.iter().map(|b| b.own_objects).collect();
        for p in (1..n).rev() {
            if let Some(up) = self.paths[p].parent {
                bytes[up as usize] += bytes[p];
                objects[up as usize] += objects[p];
            }
        }
        let mut own: Vec<Vec<(String, u64, u64)>> = vec![vec![]; n];
        let classes = &self.g.heap.snap.classes;
        for ((p, c), (count, b)) in self.own_classes {
            let name = if (c as usize) < classes.len() {
                classes.get(c).name.clone()
            } else {
                let k = (NO_CLASS - 1 - c) as usize;
                self.unclassed.get(k).cloned().unwrap_or_else(|| "?".into())
            };
            own[p as usize].push((name, count, b));
        }
        self.paths
            .into_iter()
            .zip(own)
            .enumerate()
            .map(|(p, (b, mut own))| {
                own.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(&y.0)));
                PathRow {
                    parent: b.parent,
                    step: b.step,
                    class: b.class,
                    nodes: b.nodes,
                    retained_bytes: bytes[p],
                    retained_objects: objects[p],
                    collection_size: b.size,
                    is_collection: b.is_collection,
                    own_classes: merge_names(own),
                }
            })
            .collect()
    }
}

/// Rows of one class name (from several loaders) added up, order kept.
fn merge_names(rows: Vec<(String, u64, u64)>) -> Vec<(String, u64, u64)> {
    let mut out: Vec<(String, u64, u64)> = Vec::with_capacity(rows.len());
    let mut at: FxHashMap<String, usize> = FxHashMap::default();
    for (name, c, b) in rows {
        if let Some(&k) = at.get(&name) {
            out[k].1 += c;
            out[k].2 += b;
        } else {
            at.insert(name.clone(), out.len());
            out.push((name, c, b));
        }
    }
    out
}

/// Reachable instances, shallow and retained bytes by class name.
fn class_totals(g: &Graph<'_, '_>) -> BTreeMap<String, ClassTotals> {
    let index = g.heap.index;
    let classes = &g.heap.snap.classes;
    let n = classes.len();
    let instances = reachable_instances(index, g.retention, n);
    let retained = g.retention.class_retained(index, n);
    let mut shallow = vec![0u64; n];
    for (v, &c) in index.class_of.iter().enumerate() {
        if c != NO_CLASS && g.retention.is_reachable(v as Node) {
            shallow[c as usize] += index.shallow(v as ObjectIndex);
        }
    }
    let mut out: BTreeMap<String, ClassTotals> = BTreeMap::new();
    // Objects without a class index (primitive arrays): by the name the heap gives them; they
    // retain only themselves.
    for (v, &c) in index.class_of.iter().enumerate() {
        if c == NO_CLASS && g.retention.is_reachable(v as Node) {
            let o = v as ObjectIndex;
            let name = g.heap.class_name(o);
            if !out.contains_key(name) {
                out.insert(name.to_string(), ClassTotals::default());
            }
            let Some(e) = out.get_mut(name) else {
                continue;
            };
            e.instances += 1;
            e.shallow_bytes += index.shallow(o);
            e.retained_bytes += index.shallow(o);
        }
    }
    for c in 0..n {
        if instances[c] == 0 {
            continue;
        }
        let e = out
            .entry(classes.get(c as ClassIndex).name.clone())
            .or_default();
        e.instances += instances[c];
        e.shallow_bytes += shallow[c];
        e.retained_bytes += retained.get(c).copied().unwrap_or(0);
    }
    out
}

/// Loader objects by type, and the classes each type defined.
fn loader_totals(g: &Graph<'_, '_>) -> BTreeMap<String, LoaderTotals> {
    let heap = &g.heap;
    let classes = &heap.snap.classes;
    let mut out: BTreeMap<String, LoaderTotals> = BTreeMap::new();
    let mut type_of_loader: FxHashMap<u64, String> = FxHashMap::default();
    for c in 0..classes.len() as ClassIndex {
        let id = classes.get(c).loader_id;
        let t = type_of_loader.entry(id).or_insert_with(|| {
            if id == 0 {
                return "<bootstrap>".to_string();
            }
            match heap.find(id) {
                Some(o) => heap.class_name(o).to_string(),
                None => "<loader not in the dump>".to_string(),
            }
        });
        out.entry(t.clone()).or_default().classes += 1;
    }
    let is_loader: Vec<bool> = (0..classes.len() as ClassIndex)
        .map(|c| {
            classes
                .ancestry(c)
                .any(|k| classes.get(k).name == "java.lang.ClassLoader")
        })
        .collect();
    let instances = reachable_instances(heap.index, g.retention, classes.len());
    for (c, &n) in instances.iter().enumerate() {
        if is_loader[c] && n > 0 {
            out.entry(classes.get(c as ClassIndex).name.clone())
                .or_default()
                .loaders += n;
        }
    }
    out
}

/// Classes per family key, for families of more than one class.
fn family_counts(g: &Graph<'_, '_>) -> BTreeMap<String, u64> {
    let classes = &g.heap.snap.classes;
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for c in 0..classes.len() as ClassIndex {
        *out.entry(family_key(&classes.get(c).name)).or_default() += 1;
    }
    out.retain(|_, n| *n > 1);
    out
}

/// Each suspect's (rank, title, path key): the path of the object its story ends at (the map or
/// collection that grows, else its holder), for following it across dumps.
pub fn suspect_keys(
    g: &Graph<'_, '_>,
    suspects: &[super::suspects::Suspect],
    min_path_bytes: u64,
) -> Vec<(usize, String, String)> {
    suspects
        .iter()
        .filter_map(|s| {
            let id = s
                .path
                .last()
                .map(|st| &st.object.id)
                .or(s.holder.as_ref().map(|h| &h.id))?;
            let v = g
                .heap
                .find(u64::from_str_radix(id.strip_prefix("0x")?, 16).ok()?)?;
            Some((s.rank, s.title.clone(), path_key_of(g, v, min_path_bytes)))
        })
        .collect()
}
