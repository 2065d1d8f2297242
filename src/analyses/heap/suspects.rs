//! Leak suspects: what holds a large share of the heap, where the memory piles up, through which
//! path, and what sets the piled-up objects apart.
//!
//! The method follows Eclipse MAT's leak suspects, with more of the story filled in:
//! 1. Start at the top of the dominator tree. Every subtree retaining at least the threshold is a
//!    candidate. Walk down from it while one child keeps most (70%) of its parent's retained size:
//!    where that stops (the "big drop"), memory fans out. That node is the *accumulation point*.
//! 2. If it fans out into many objects of one class, or is one huge object, it is a suspect; if
//!    it fans out into a few unrelated things (a class with several static caches), each of those
//!    above the threshold becomes a candidate of its own: nothing is reported for merely holding
//!    several normal structures at once.
//! 3. Top-level objects of one class that only together pass the threshold (pooled threads with
//!    thread-locals, many small caches) are one suspect, shown through their biggest member.
//! 4. For each suspect: the shortest strong path from a GC root, the owning class and field, the
//!    class and count of what accumulates, the keys of the map it goes through ranked by what they
//!    retain, and the field whose values set the accumulated objects apart from the other instances
//!    of their class.

use super::classloaders::ClassLoaderSuspect;
use super::collections::{entry_key_value, Kind, Kinds};
use super::describe::{boxed_value, describe, hex, object_ref, quote, ObjectRef};
use super::graph::Graph;
use super::paths::{shortest_path_nodes, steps, Step};
use crate::heap::classes::{ClassIndex, NO_CLASS};
use crate::heap::fxhash::{new_map, FxHashMap};
use crate::heap::graph::{Csr, Node};
use crate::heap::index::ObjectIndex;
use crate::heap::objects::{Heap, Value};
use serde::Serialize;

/// Where the walk down the dominator tree stops: the biggest child keeps less than this share.
const BIG_DROP: f64 = 0.7;
/// At least this many similar objects make a fan-out.
const MIN_FAN_OUT: u64 = 8;
/// How many accumulated objects the discriminator looks at (and of the class's other instances).
const DISCRIMINATOR_SAMPLE: usize = 100_000;
/// Map keys listed per suspect.
const MAP_KEYS: usize = 10;
/// Examples of accumulated objects per suspect.
const EXAMPLES: usize = 3;

#[derive(Clone, Debug)]
pub struct Options {
    /// Share of the reachable heap a suspect retains at least, in percent.
    pub threshold_percent: f64,
    /// Bytes a suspect retains at least, whatever the share: in a small heap an ordinary cache
    /// easily passes 10%.
    pub min_retained: u64,
    pub max_suspects: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threshold_percent: 10.0,
            min_retained: 1 << 20,
            max_suspects: 10,
        }
    }
}

/// What kind of leak a suspect looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// A map whose one key holds most of what it retains.
    MapKey,
    /// A collection (or array, or linked structure) of many similar objects.
    Collection,
    /// Values of `ThreadLocal`s on long-lived (pooled) threads.
    ThreadLocal,
    /// Listeners, callbacks or observers registered and never removed.
    Listeners,
    /// One very large object.
    LargeObject,
    /// Many top-level objects of one class that together retain a large share.
    ManyInstances,
    /// Class loaders or generated classes piling up (Metaspace): see `class_loader`.
    ClassLoaders,
}

#[derive(Clone, Debug, Serialize)]
pub struct AccumulationPoint {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub retained_bytes: u64,
    pub retained_percent: f64,
    /// The collection the accumulation point belongs to (a `HashSet` for its `HashMap$Node[]`).
    pub container: Option<ObjectRef>,
}

/// The owning class and field: where to look in the code.
#[derive(Clone, Debug, Serialize)]
pub struct Owner {
    pub class: String,
    pub field: String,
    pub is_static: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Example {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub retained_bytes: u64,
}

/// What piles up at the accumulation point.
#[derive(Clone, Debug, Serialize)]
pub struct Accumulated {
    pub class: String,
    pub count: u64,
    pub retained_bytes: u64,
    /// Share of the suspect's retained size.
    pub percent_of_suspect: f64,
    pub examples: Vec<Example>,
    /// All objects found at the accumulation point, of every class.
    pub total_objects: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MapKey {
    /// The key as text (strings quoted).
    pub key: String,
    /// The value's description (`java.util.HashSet (size 6,000 / capacity 8,192)`).
    pub value: String,
    /// Bytes this entry keeps alive alone: the entry, and its key and value where the map
    /// dominates them.
    pub retained_bytes: u64,
    pub percent_of_map: f64,
}

/// The keys of the map the memory goes through, ranked by the bytes they keep alive.
#[derive(Clone, Debug, Serialize)]
pub struct MapKeys {
    pub map: ObjectRef,
    pub entries: u64,
    pub retained_bytes: u64,
    pub keys: Vec<MapKey>,
}

/// The field whose values set the accumulated objects apart.
#[derive(Clone, Debug, Serialize)]
pub struct Discriminator {
    pub class: String,
    pub field: String,
    pub value: String,
    /// Accumulated objects (of those examined) with that value, and how many were examined.
    pub count: u64,
    pub examined: u64,
    pub percent: f64,
    /// The same among the class's instances elsewhere in the heap (null when there are none).
    pub elsewhere_count: Option<u64>,
    pub elsewhere_examined: Option<u64>,
    pub elsewhere_percent: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Suspect {
    pub rank: usize,
    pub pattern: Pattern,
    /// One line saying what was found.
    pub title: String,
    pub retained_bytes: u64,
    pub retained_percent: f64,
    /// The object at the top of the suspect's dominator subtree (for a group: its biggest member);
    /// for a class-loader suspect, the representative loader.
    pub holder: Option<ObjectRef>,
    /// Objects the suspect stands for: 1, or the members of a group.
    pub instances: u64,
    /// Null for class-loader suspects.
    pub accumulation_point: Option<AccumulationPoint>,
    /// Shortest strong path from a GC root to the map or collection that grows (or to the
    /// accumulation point).
    pub path: Vec<Step>,
    pub owner: Option<Owner>,
    pub accumulated: Option<Accumulated>,
    pub map: Option<MapKeys>,
    pub discriminator: Option<Discriminator>,
    /// What is happening, in plain words.
    pub explanation: String,
    /// What to look at in the code.
    pub look_at: String,
    /// For `class_loaders` suspects: the loader type or class family, counts, Metaspace
    /// estimate and mechanism (see `oomsleuth.classloaders/1`); null otherwise.
    pub class_loader: Option<ClassLoaderSuspect>,
}

impl Suspect {
    /// A class-loader finding as a suspect of the report.
    pub fn from_class_loaders(rank: usize, c: ClassLoaderSuspect) -> Suspect {
        Suspect {
            rank,
            pattern: Pattern::ClassLoaders,
            title: c.title.clone(),
            // The heap the loaders keep; their Metaspace is in `class_loader.counts`.
            retained_bytes: c.counts.retained_bytes,
            retained_percent: 0.0,
            holder: c.path.last().map(|s| s.object.clone()),
            instances: c.counts.loaders,
            accumulation_point: None,
            path: c.path.clone(),
            owner: None,
            accumulated: None,
            map: None,
            discriminator: None,
            explanation: c.explanation.clone(),
            look_at: c.fix.clone(),
            class_loader: Some(c),
        }
    }
}

/// The owner and what accumulates of a class-loader finding, read off its path from a GC root: the
/// last named collection on the path is where the loaders pile up (each held through one element),
/// the field holding it is the owner, and the elements are the collection's entries of the class the
/// path goes through. `None` when the loaders are not held through a collection.
pub fn loader_accumulation(
    g: &Graph<'_, '_>,
    kinds: &Kinds,
    path: &[Step],
    suspect_retained: u64,
) -> Option<(Owner, Accumulated)> {
    let heap = &g.heap;
    let nodes: Vec<Option<ObjectIndex>> = path
        .iter()
        .map(|s| {
            let id = u64::from_str_radix(s.object.id.trim_start_matches("0x"), 16).ok()?;
            heap.find(id)
        })
        .collect();
    let is_container = |i: usize| nodes[i].is_some_and(|o| kinds.is_container(heap, o));
    let at = (1..nodes.len()).rev().find(|&i| is_container(i))?;
    let holder = nodes[at - 1]?;
    let via = &path[at].via;
    let field = |v: &str| v.split(',').next().unwrap_or(v).trim().to_string();
    let owner = match heap.index.class_of_object(holder) {
        Some(c) => Owner {
            class: heap.snap.classes.get(c).name.clone(),
            field: field(via.strip_prefix("static ")?),
            is_static: true,
        },
        None if !via.starts_with('[') && !via.starts_with('<') => Owner {
            class: heap.class_name(holder).to_string(),
            field: field(via),
            is_static: false,
        },
        None => return None,
    };
    // The first object past the collection's own plumbing (tables, entries, nodes) is an element.
    let element = (at + 1..nodes.len()).filter_map(|i| nodes[i]).find(|&o| {
        kinds.object(heap, o) == Kind::Other && heap.index.class_of_object(o).is_none()
    })?;
    let element_class = heap.class_name(element).to_string();
    let (mut count, mut total, mut bytes, mut examples) = (0u64, 0u64, 0u64, vec![]);
    kinds.for_each(heap, nodes[at]?, &mut |item| {
        total += 1;
        if let Some(e) = item
            .element()
            .filter(|&e| heap.class_name(e) == element_class)
        {
            count += 1;
            bytes += g.retained(e);
            if examples.len() < 3 {
                examples.push(Example {
                    object: object_ref(heap, e),
                    retained_bytes: g.retained(e),
                });
            }
        }
        true
    })?;
    let accumulated = Accumulated {
        class: element_class,
        count,
        retained_bytes: bytes,
        percent_of_suspect: 100.0 * bytes as f64 / suspect_retained.max(1) as f64,
        examples,
        total_objects: total,
    };
    Some((owner, accumulated))
}

/// The analysis context shared by the steps.
struct Ctx<'g, 's, 'a> {
    g: &'g Graph<'s, 'a>,
    heap: Heap<'s, 'a>,
    children: &'g Csr,
    kinds: &'g Kinds,
    total: u64,
    n: usize,
    /// Per class index, the first class index of the same name: one class loaded by many loaders (a
    /// class loader per call) is one kind of element.
    canon: Vec<ClassIndex>,
}

/// A suspect before its details are filled in.
struct Found {
    holder: Node,
    members: Vec<Node>,
    retained: u64,
    descent: Vec<Node>,
    shape: Shape,
    grouped: bool,
}

enum Shape {
    Leaf,
    FanOut(Elements),
}

/// Objects at an accumulation point, grouped by class.
struct Elements {
    /// (class, count, retained, biggest few) sorted by retained, biggest first.
    groups: Vec<(ClassIndex, u64, u64)>,
    /// Members of the biggest group (capped).
    top: Vec<Node>,
    total: u64,
}

pub fn find(g: &Graph<'_, '_>, children: &Csr, kinds: &Kinds, opts: &Options) -> Vec<Suspect> {
    let total = g.total_retained();
    let cx = Ctx {
        g,
        heap: g.heap,
        children,
        kinds,
        total,
        n: g.heap.index.len(),
        canon: canonical_classes(&g.heap),
    };
    if total == 0 {
        return vec![];
    }
    let t = ((opts.threshold_percent / 100.0) * total as f64).ceil() as u64;
    let t = t.max(opts.min_retained).max(1);
    let root = g.heap.index.virtual_root();

    // 1-2: candidates from the top of the tree, split where memory spreads over a few things.
    let (found, pool) = cx.candidates(root, t);
    // Object suspects of one shape (pooled threads, each with its thread-local) become one, and
    // smaller objects of the same shape (the other pooled threads) join them.
    let mut found = cx.merge_alike(found);
    let pool = cx.join_alike(&mut found, pool, t);
    // 3: top-level objects of one class that only together pass the threshold.
    found.extend(cx.class_groups(&pool, t));

    let mut found = cx.outermost(found);
    found.sort_by_key(|f| std::cmp::Reverse(f.retained));
    found.truncate(opts.max_suspects);
    let mut suspects: Vec<Suspect> = found
        .into_iter()
        .enumerate()
        .map(|(i, f)| cx.detail(i + 1, f))
        .collect();
    // Ranked by the size of what each names.
    suspects.sort_by_key(|s| std::cmp::Reverse(s.retained_bytes));
    for (i, s) in suspects.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    suspects
}

impl<'g, 's, 'a> Ctx<'g, 's, 'a> {
    /// Nodes below the virtual root that retain `t` or more and have a shape, descending into
    /// those without one (memory spread over a few things); and the top-level objects below `t`.
    fn candidates(&self, root: Node, t: u64) -> (Vec<Found>, Vec<Node>) {
        let g = self.g;
        let mut found: Vec<Found> = vec![];
        let mut pool: Vec<Node> = vec![];
        let mut stack: Vec<Node> = vec![root];
        let mut splits = 0usize;
        while let Some(v) = stack.pop() {
            for &c in self.children.successors(v) {
                if g.retained(c) >= t {
                    match self.found_at(c) {
                        Ok(f) => found.push(f),
                        Err(a) => {
                            splits += 1;
                            if splits < 10_000 {
                                stack.push(a);
                            }
                        }
                    }
                } else if (c as usize) < self.n {
                    pool.push(c);
                }
            }
        }
        (found, pool)
    }

    /// A candidate at `c`: its descent to the accumulation point and that point's shape, or
    /// the point when it has no shape (the walk splits there).
    fn found_at(&self, c: Node) -> Result<Found, Node> {
        let descent = self.descend(c);
        let a = *descent.last().unwrap_or(&c);
        let Some(shape) = self.shape(a) else {
            return Err(a);
        };
        Ok(Found {
            holder: c,
            members: vec![c],
            retained: self.g.retained(c),
            descent,
            shape,
            grouped: false,
        })
    }

    /// Candidates of one signature as one group, held by its biggest member.
    fn merge_alike(&self, found: Vec<Found>) -> Vec<Found> {
        let g = self.g;
        let mut merged: Vec<Found> = vec![];
        for f in found {
            let sig = self.signature(&f);
            if let Some(m) = merged.iter_mut().find(|m| self.signature(m) == sig) {
                m.members.push(f.holder);
                m.retained += f.retained;
                m.grouped = true;
                if g.retained(f.holder) > g.retained(m.holder) {
                    m.holder = f.holder;
                    m.descent = f.descent;
                    m.shape = f.shape;
                }
            } else {
                merged.push(f);
            }
        }
        merged
    }

    /// Top-level objects below the threshold (at least 1% of it) that have a suspect's class and
    /// signature join that suspect; the others are returned.
    fn join_alike(&self, merged: &mut [Found], pool: Vec<Node>, t: u64) -> Vec<Node> {
        let g = self.g;
        let mut left: Vec<Node> = vec![];
        for p in pool {
            let class = self.class_of(p);
            let joins = g.retained(p) >= t / 100
                && self.heap.index.class_of_object(p).is_none()
                && merged.iter().any(|m| self.class_of(m.holder) == class)
                && self.found_at(p).is_ok_and(|f| {
                    let sig = self.signature(&f);
                    match merged.iter_mut().find(|m| self.signature(m) == sig) {
                        Some(m) => {
                            m.members.push(p);
                            m.retained += f.retained;
                            m.grouped = true;
                            true
                        }
                        None => false,
                    }
                });
            if !joins {
                left.push(p);
            }
        }
        left
    }

    /// Top-level objects of one class that pass the threshold only together, as groups.
    fn class_groups(&self, pool: &[Node], t: u64) -> Vec<Found> {
        let g = self.g;
        let mut by_class: FxHashMap<ClassIndex, (u64, Vec<Node>)> = new_map();
        for &c in pool {
            let class = self.heap.class(c);
            if class == NO_CLASS || self.heap.index.class_of_object(c).is_some() {
                continue;
            }
            let e = by_class.entry(class).or_default();
            e.0 += g.retained(c);
            e.1.push(c);
        }
        let mut found = vec![];
        for (class, (sum, mut members)) in by_class {
            if sum < t || (members.len() as u64) < 2 {
                continue;
            }
            let avg = sum / members.len() as u64;
            // Many small objects of the JDK at the top of the tree (strings, boxes, arrays) are
            // what the JVM keeps for itself, not one structure that grows.
            if avg < 1024 && self.is_jdk_class(class) {
                continue;
            }
            members.sort_unstable_by_key(|&m| std::cmp::Reverse(g.retained(m)));
            let holder = members[0];
            let descent = self.descend(holder);
            let a = *descent.last().unwrap_or(&holder);
            let shape = self.shape(a).unwrap_or(Shape::Leaf);
            found.push(Found {
                holder,
                members,
                retained: sum,
                descent,
                shape,
                grouped: true,
            });
        }
        found
    }

    /// Suspects inside one another are one suspect: drops each whose holder lies in the dominator
    /// subtree of another's holder or member.
    fn outermost(&self, found: Vec<Found>) -> Vec<Found> {
        let mut owner_of: FxHashMap<Node, usize> = new_map();
        for (i, f) in found.iter().enumerate() {
            for &m in f.members.iter().chain([&f.holder]) {
                owner_of.insert(m, i);
            }
        }
        let inside = |i: usize, f: &Found| {
            let mut v = f.holder;
            for _ in 0..100_000 {
                match self.g.retention.idom(v) {
                    Some(p) if owner_of.get(&p).is_some_and(|&j| j != i) => return true,
                    Some(p) => v = p,
                    None => return false,
                }
            }
            false
        };
        let keep: Vec<bool> = found
            .iter()
            .enumerate()
            .map(|(i, f)| !inside(i, f))
            .collect();
        found
            .into_iter()
            .zip(keep)
            .filter_map(|(f, k)| k.then_some(f))
            .collect()
    }

    fn retained(&self, v: Node) -> u64 {
        self.g.retained(v)
    }

    fn class_of(&self, v: Node) -> ClassIndex {
        if v as usize >= self.n {
            NO_CLASS
        } else {
            self.heap.class(v)
        }
    }

    fn kind(&self, v: Node) -> Kind {
        if v as usize >= self.n {
            return Kind::Other;
        }
        self.kinds.object(&self.heap, v)
    }

    fn is_jdk_class(&self, c: ClassIndex) -> bool {
        if c == NO_CLASS {
            return true;
        }
        let info = self.heap.snap.classes.get(c);
        info.loader_id == 0
            && ["java.", "javax.", "jdk.", "sun.", "com.sun."]
                .iter()
                .any(|p| info.name.starts_with(p))
            || info.is_array() && !info.name.contains('.')
    }

    fn biggest_child(&self, v: Node) -> Option<Node> {
        self.children
            .successors(v)
            .iter()
            .copied()
            .max_by_key(|&c| (self.retained(c), std::cmp::Reverse(c)))
    }

    /// From `start` down while one child keeps most of the memory; stops at the head of a chain
    /// of objects of one class (a linked list or tree), whose nodes are the fan-out.
    fn descend(&self, start: Node) -> Vec<Node> {
        let mut path = vec![start];
        let mut v = start;
        while let Some(b) = self.biggest_child(v) {
            if (self.retained(b) as f64) < BIG_DROP * self.retained(v) as f64 {
                break;
            }
            if self.class_of(b) == self.class_of(v)
                && self.class_of(v) != NO_CLASS
                && !self.is_bucket_link(v, b)
            {
                break; // v heads a chain: the chain is the fan-out
            }
            path.push(b);
            v = b;
            if path.len() > 1_000_000 {
                break;
            }
        }
        path
    }

    /// Whether `b` is the next entry of `v`'s hash bucket (`HashMap$Node.next` and the like): a
    /// bucket is a few colliding entries, not a fan-out, so the walk goes on to the entry that
    /// holds the memory (the one big key's entry may sit behind another in its bucket).
    fn is_bucket_link(&self, v: Node, b: Node) -> bool {
        (v as usize) < self.n
            && self.kind(v) == Kind::Entry
            && self.heap.field(v, "hash").is_some()
            && self.heap.field_object(v, "next") == Some(b)
    }

    /// Leaf, fan-out into similar objects, or `None` when memory spreads over a few unrelated
    /// things (split further).
    fn shape(&self, a: Node) -> Option<Shape> {
        let r = self.retained(a);
        let own = if (a as usize) < self.n {
            self.heap.index.shallow(a)
        } else {
            0
        };
        if (a as usize) < self.n && own.saturating_mul(2) >= r {
            return Some(Shape::Leaf);
        }
        let e = self.elements(a);
        let (_, count, bytes) = *e.groups.first()?;
        // Classes are distinct things, each holding its own statics: a loader's class list, or many
        // classes each with a cache of its own, is the shape of every application. Split them.
        if e.top
            .first()
            .is_some_and(|&x| self.heap.index.class_of_object(x).is_some())
        {
            return None;
        }
        if count >= MIN_FAN_OUT && bytes.saturating_mul(2) >= r.saturating_sub(own) {
            Some(Shape::FanOut(e))
        } else {
            None
        }
    }

    /// The objects accumulated below `a`: its dominator children, looking through collection
    /// plumbing (tables, entries, nodes, references) to what the collection logically holds, and
    /// through chains of `a`'s own class.
    fn elements(&self, a: Node) -> Elements {
        if let Some(e) = self.collection_elements(a) {
            return e;
        }
        // An application object heading a chain of its own class (a hand-written linked list).
        let chain_class = if self.kind(a) == Kind::Other {
            self.class_of(a)
        } else {
            NO_CLASS
        };
        // From the collection that owns the plumbing `a` is part of: its head and tail links
        // (a queue's `tail`) hold elements that are not below `a`.
        let start = if chain_class == NO_CLASS {
            self.innermost_container(a).unwrap_or(a)
        } else {
            a
        };
        let mut region = vec![start];
        let mut chain: Vec<Node> = vec![a];
        let mut items: Vec<Node> = vec![];
        let mut k = 0;
        while k < region.len() {
            let v = region[k];
            k += 1;
            // A map entry is one logical entry: its value, or its key in a set (whose value is
            // shared); the key of a map entry is part of the entry, not a second element.
            let entry_element = (self.kind(v) == Kind::Entry).then(|| self.entry_element(v));
            for &c in self.children.successors(v) {
                if region.len() >= 20_000_000 {
                    items.push(c);
                } else if entry_element.is_some_and(|e| e != Some(c)) && !self.is_plumbing(c) {
                    continue;
                } else if chain_class != NO_CLASS && self.class_of(c) == chain_class {
                    region.push(c);
                    chain.push(c);
                } else if self.is_plumbing(c)
                    || v == start && start != a && self.kind(c) == Kind::Array
                {
                    // The container's own arrays (`elementData`, `table`) are plumbing too.
                    region.push(c);
                } else {
                    items.push(c);
                }
            }
        }
        // A chain's own nodes are the elements when they hold nothing of note themselves; each
        // counts for what it retains without the rest of the chain.
        let mut in_chain = false;
        if chain.len() as u64 >= MIN_FAN_OUT && chain.len() > items.len() {
            items = chain;
            in_chain = true;
        }
        let own = |e: Node| -> u64 {
            if !in_chain {
                return self.retained(e);
            }
            let below: u64 = self
                .children
                .successors(e)
                .iter()
                .filter(|&&c| self.class_of(c) == chain_class)
                .map(|&c| self.retained(c))
                .sum();
            self.retained(e).saturating_sub(below)
        };
        self.grouped(items, own)
    }

    /// The elements of the JDK collection that `a` is or is the plumbing of, as Java counts
    /// them (for a map, per entry the larger of key and value); `None` when `a` belongs to none.
    fn collection_elements(&self, a: Node) -> Option<Elements> {
        let c = self.container(a)?;
        let mut items: Vec<Node> = vec![];
        self.kinds.for_each(&self.heap, c, &mut |i| {
            let pick = match (i.key, i.value) {
                (Some(k), Some(v)) if self.retained(k) > self.retained(v) => k,
                (k, v) => match v.or(k) {
                    Some(x) => x,
                    None => return true,
                },
            };
            items.push(self.through_reference(pick));
            items.len() < 20_000_000
        })?;
        Some(self.grouped(items, |e| self.retained(e)))
    }

    /// A soft or weak cache's element is the referent its `Reference` alone keeps (when the
    /// dominator tree follows referents), else the reference itself.
    fn through_reference(&self, x: Node) -> Node {
        if self.kind(x) != Kind::Other || !self.heap.is_instance_of(x, "java.lang.ref.Reference") {
            return x;
        }
        match self.heap.field_object(x, "referent") {
            Some(r) if self.g.retention.idom(r) == Some(x) => r,
            _ => x,
        }
    }

    /// Items grouped by class, biggest group (by `own` bytes) first.
    fn grouped(&self, items: Vec<Node>, own: impl Fn(Node) -> u64) -> Elements {
        let mut groups: FxHashMap<ClassIndex, (u64, u64)> = new_map();
        for &e in &items {
            let g = groups.entry(self.group_of(e)).or_default();
            g.0 += 1;
            g.1 += own(e);
        }
        let mut groups: Vec<(ClassIndex, u64, u64)> =
            groups.into_iter().map(|(c, (n, b))| (c, n, b)).collect();
        groups.sort_unstable_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)));
        let top_class = groups.first().map(|g| g.0);
        let top: Vec<Node> = items
            .iter()
            .copied()
            .filter(|&e| Some(self.group_of(e)) == top_class)
            .collect();
        Elements {
            groups,
            top,
            total: items.len() as u64,
        }
    }

    /// What a map entry holds as its element: the value when the entry dominates it, else the key
    /// (a set's element, its value being one shared marker).
    fn entry_element(&self, e: Node) -> Option<Node> {
        let heap = &self.heap;
        let item = heap.snap.collections().entry(heap, e)?;
        if let Some(v) = item.value.filter(|&v| self.g.retention.idom(v) == Some(e)) {
            return Some(v);
        }
        item.key
    }

    /// The nearest collection above `a` when `a` and everything between are its plumbing.
    fn innermost_container(&self, a: Node) -> Option<Node> {
        let mut v = a;
        for _ in 0..8 {
            if matches!(self.kind(v), Kind::Map | Kind::Collection) {
                return Some(v);
            }
            if !self.is_plumbing(v) && self.kind(v) != Kind::Array {
                return None;
            }
            v = self
                .g
                .retention
                .idom(v)
                .filter(|&p| (p as usize) < self.n)?;
        }
        None
    }

    /// The class an element is counted under: one name is one class, whichever loader defined it.
    fn group_of(&self, v: Node) -> ClassIndex {
        let c = self.class_of(v);
        self.canon.get(c as usize).copied().unwrap_or(c)
    }

    /// Whether `v` is part of how a collection stores its elements rather than an element: map
    /// entries, list and tree nodes, tables of entries, and the `Reference` objects of soft and
    /// weak caches (their referent is the element).
    fn is_plumbing(&self, v: Node) -> bool {
        match self.kind(v) {
            Kind::Entry | Kind::Internal => true,
            Kind::Array => {
                let name = self.heap.class_name(v);
                name.starts_with("java.util.") && name.ends_with("[]")
            }
            Kind::Other => {
                (v as usize) < self.n && self.heap.is_instance_of(v, "java.lang.ref.Reference")
            }
            _ => false,
        }
    }

    /// Object suspects with the same signature are one suspect with several members.
    fn signature(&self, f: &Found) -> (ClassIndex, ClassIndex, ClassIndex) {
        let a = *f.descent.last().unwrap_or(&f.holder);
        let elem = match &f.shape {
            Shape::FanOut(e) => e.groups.first().map(|g| g.0).unwrap_or(NO_CLASS),
            Shape::Leaf => NO_CLASS,
        };
        // Distinct object suspects of the same class stay apart unless they are roots of the
        // same kind of thing (threads, pooled objects): equal signatures and top-level holders.
        // Holders below a split (two fields of one object, two statics) are distinct things held
        // in distinct places, and classes are too: a class's statics are never one of many alike.
        let top_level = self
            .g
            .retention
            .idom(f.holder)
            .is_none_or(|p| p as usize >= self.n);
        if (f.holder as usize) < self.n
            && (!top_level || self.heap.index.class_of_object(f.holder).is_some())
        {
            return (NO_CLASS, f.holder, NO_CLASS);
        }
        (self.group_of(f.holder), self.group_of(a), elem)
    }

    /// Climbs from the accumulation point to the collection that owns it (`HashMap$Node[]` ->
    /// `HashMap` -> `HashSet`).
    fn container(&self, a: Node) -> Option<Node> {
        let mut v = a;
        let mut found = None;
        if self.kinds.is_container(&self.heap, a) {
            found = Some(a);
        }
        for _ in 0..6 {
            let Some(p) = self.g.retention.idom(v) else {
                break;
            };
            if p as usize >= self.n {
                break;
            }
            let pk = self.kind(p);
            let vk = self.kind(v);
            let v_is_plumbing = matches!(vk, Kind::Array | Kind::Internal | Kind::Entry)
                || self.kinds.is_container(&self.heap, v);
            if matches!(pk, Kind::Map | Kind::Collection) && v_is_plumbing {
                found = Some(p);
                v = p;
            } else if matches!(pk, Kind::Internal) && found.is_none() {
                v = p;
            } else {
                break;
            }
        }
        found
    }

    /// The outermost map on the way down whose single entry keeps most of it.
    fn map_hop(&self, descent: &[Node]) -> Option<(Node, Node)> {
        for (i, &e) in descent.iter().enumerate() {
            if self.kind(e) != Kind::Entry {
                continue;
            }
            // Behind this entry in its bucket: the memory is under the next one's key.
            if descent
                .get(i + 1)
                .is_some_and(|&b| self.is_bucket_link(e, b))
            {
                continue;
            }
            let map = descent[..i]
                .iter()
                .rev()
                .copied()
                .find(|&m| self.kind(m) == Kind::Map)?;
            if self.retained(e) as f64 >= 0.5 * self.retained(map) as f64 {
                return Some((map, e));
            }
        }
        None
    }

    /// Where a map on the path from the GC roots holds the suspect though it does not dominate it
    /// (a stack local holds the value too, say): the map and its entry, within a few steps of the
    /// end. The map still tells which key the memory is under.
    fn path_map_hop(&self, path_nodes: &[Node]) -> Option<(Node, Node)> {
        let k = path_nodes.len();
        let entry = (k.saturating_sub(5)..k)
            .rev()
            .find(|&i| self.kind(path_nodes[i]) == Kind::Entry);
        entry.and_then(|i| {
            let m = (0..i)
                .rev()
                .take(4)
                .find(|&j| self.kind(path_nodes[j]) == Kind::Map)?;
            Some((path_nodes[m], path_nodes[i]))
        })
    }

    /// What accumulates below accumulation point `a`: the largest class of the fan-out's elements,
    /// or for one large object, the object itself, once.
    fn accumulated(&self, f: &Found, a: Node) -> Option<Accumulated> {
        let heap = &self.heap;
        match &f.shape {
            Shape::FanOut(e) => e.groups.first().map(|&(c, count, bytes)| {
                let mut ex: Vec<Node> = e.top.clone();
                ex.sort_unstable_by_key(|&x| std::cmp::Reverse(self.retained(x)));
                ex.truncate(EXAMPLES);
                Accumulated {
                    class: self.class_name(c, e.top.first().copied()),
                    count,
                    retained_bytes: bytes,
                    percent_of_suspect: 100.0 * bytes as f64
                        / self.retained(f.holder).max(1) as f64,
                    examples: ex
                        .into_iter()
                        .map(|x| Example {
                            object: object_ref(heap, x),
                            retained_bytes: self.retained(x),
                        })
                        .collect(),
                    total_objects: e.total,
                }
            }),
            // One large object: it is what accumulates, once.
            Shape::Leaf if !f.grouped => Some(Accumulated {
                class: heap.class_name(a).to_string(),
                count: 1,
                retained_bytes: self.retained(a),
                percent_of_suspect: 100.0 * self.retained(a) as f64
                    / self.retained(f.holder).max(1) as f64,
                examples: vec![Example {
                    object: object_ref(heap, a),
                    retained_bytes: self.retained(a),
                }],
                total_objects: 1,
            }),
            Shape::Leaf => None,
        }
    }

    /// A group's accumulation over its members: those that accumulate the same class (the pool's
    /// threads with the leaking thread-local, not every thread of the JVM) become the group.
    fn count_group(&self, f: &mut Found, acc: &mut Accumulated) {
        let top_class = match &f.shape {
            Shape::FanOut(e) => e.groups.first().map(|g| g.0),
            Shape::Leaf => None,
        };
        let (mut count, mut bytes, mut total) = (0u64, 0u64, 0u64);
        let mut alike: Vec<Node> = vec![];
        for &m in f.members.iter().take(10_000) {
            let d = self.descend(m);
            let a = *d.last().unwrap_or(&m);
            let e = self.elements(a);
            if let Some(g) = e.groups.iter().find(|g| Some(g.0) == top_class) {
                count += g.1;
                bytes += g.2;
                total += e.total;
                alike.push(m);
            }
        }
        // The group is the members that accumulate the same thing (the pool's threads with
        // the leaking thread-local, not every thread of the JVM).
        if !alike.is_empty() {
            f.retained = alike.iter().map(|&m| self.retained(m)).sum();
            f.members = alike;
        }
        acc.count = count;
        acc.retained_bytes = bytes;
        acc.total_objects = total;
        acc.percent_of_suspect = 100.0 * bytes as f64 / f.retained.max(1) as f64;
    }

    fn detail(&self, rank: usize, mut f: Found) -> Suspect {
        let heap = &self.heap;
        let a = *f.descent.last().unwrap_or(&f.holder);
        let pct = |b: u64| 100.0 * b as f64 / self.total.max(1) as f64;
        let container = self.container(a);
        let hop = self.map_hop(&f.descent);
        // The map the memory goes through, or the accumulation point's own map.
        let map_obj = hop
            .map(|(m, _)| m)
            .or_else(|| container.filter(|&c| self.kind(c) == Kind::Map));
        let focus = hop.map(|(m, _)| m).or(container).unwrap_or(a);
        // `path_nodes[i]` is the object of `path[i]` (the virtual root left out).
        let nodes = shortest_path_nodes(self.g, focus).unwrap_or_default();
        let path = steps(self.g, &nodes);
        let path_nodes: &[Node] = nodes.get(1..).unwrap_or_default();
        // Held through a map entry without the map dominating it (a stack local holds the value
        // too, say): the map on the path still tells which key it is under.
        let path_hop = if hop.is_none() {
            self.path_map_hop(path_nodes)
        } else {
            None
        };
        let map_obj = map_obj.or(path_hop.map(|h| h.0));
        let owner = self.owner(path_nodes, &path);
        let mut accumulated = self.accumulated(&f, a);
        // A group's members each accumulate their own share: count them all.
        if let (Some(acc), true) = (accumulated.as_mut(), f.members.len() > 1) {
            self.count_group(&mut f, acc);
        }
        let map = map_obj.map(|m| self.map_keys(m));
        let discriminator = match &f.shape {
            Shape::FanOut(e) if !e.top.is_empty() => self.discriminator(&e.top, path_nodes),
            _ => None,
        };
        let on_thread_local = f
            .descent
            .iter()
            .copied()
            .chain(path_nodes.iter().copied())
            .any(|v| {
                (v as usize) < self.n
                    && heap.class_name(v) == "java.lang.ThreadLocal$ThreadLocalMap"
            });
        let fan_out = matches!(f.shape, Shape::FanOut(_));
        let listeners = fan_out && looks_like_listeners(accumulated.as_ref(), owner.as_ref());
        let dominant_key = map.as_ref().is_some_and(|m| {
            m.keys.first().is_some_and(|k| k.percent_of_map >= 50.0) && m.entries >= 1
        });
        let pattern = if on_thread_local {
            Pattern::ThreadLocal
        } else if (hop.is_some() || path_hop.is_some()) && dominant_key {
            Pattern::MapKey
        } else if listeners {
            Pattern::Listeners
        } else if f.grouped && f.members.len() > 1 && !fan_out {
            Pattern::ManyInstances
        } else if matches!(f.shape, Shape::Leaf) {
            Pattern::LargeObject
        } else {
            Pattern::Collection
        };
        // A thread-local is fixed where the ThreadLocal is declared, not in the thread.
        let owner = if on_thread_local {
            let entries = f.descent.iter().chain(path_nodes.iter()).copied();
            self.thread_local_owner(entries).or(owner)
        } else {
            owner
        };
        let holder = object_ref(heap, f.holder);
        let acc_point = AccumulationPoint {
            object: object_ref(heap, a),
            retained_bytes: self.retained(a),
            retained_percent: pct(self.retained(a)),
            container: container.filter(|&c| c != a).map(|c| object_ref(heap, c)),
        };
        let focus_desc = match (pattern, map_obj) {
            (Pattern::MapKey, Some(m)) => describe(heap, m),
            _ => describe(heap, focus),
        };
        // The size of what the suspect names (the map, the collection), not of the object the
        // walk started from (the application class loader above it, say); a group's is its sum.
        let named = if f.grouped {
            f.retained
        } else {
            self.retained(focus).min(f.retained)
        };
        let mut s = Suspect {
            rank,
            pattern,
            title: String::new(),
            retained_bytes: named,
            retained_percent: pct(named),
            holder: Some(holder),
            instances: f.members.len() as u64,
            accumulation_point: Some(acc_point),
            path,
            owner,
            accumulated,
            map,
            discriminator,
            explanation: String::new(),
            look_at: String::new(),
            class_loader: None,
        };
        let key = hop.or(path_hop).and_then(|(_, e)| {
            s.map.as_ref().and_then(|m| {
                let (k, _) = entry_key_value(heap, e);
                let text = k.and_then(|k| heap.find(k)).map(|k| key_text(heap, k))?;
                m.keys.iter().find(|x| x.key == text).cloned()
            })
        });
        write_story(&mut s, &focus_desc, key.as_ref(), heap, f.holder);
        s
    }

    /// The static (or field) that declares the `ThreadLocal` of the first thread-local map entry
    /// among `nodes`: the end of the shortest path to the `ThreadLocal` (an entry's referent).
    fn thread_local_owner(&self, nodes: impl Iterator<Item = Node>) -> Option<Owner> {
        let heap = &self.heap;
        let entry = nodes
            .filter(|&v| (v as usize) < self.n)
            .find(|&v| heap.class_name(v) == "java.lang.ThreadLocal$ThreadLocalMap$Entry")?;
        let tl = heap.field_object(entry, "referent")?;
        // The static that declares it, even when a task object on the thread holds it too.
        for &(co, ci) in &heap.index.class_objects {
            if heap.index.refs.successors(co).contains(&tl) {
                let label = self.g.edge_label(co, tl);
                if let Some(name) = label.strip_prefix("static ") {
                    return Some(Owner {
                        class: heap.snap.classes.get(ci).name.clone(),
                        field: name.split(',').next().unwrap_or(name).to_string(),
                        is_static: true,
                    });
                }
            }
        }
        let nodes = shortest_path_nodes(self.g, tl)?;
        let path = steps(self.g, &nodes);
        self.owner(nodes.get(1..).unwrap_or_default(), &path)
    }

    fn class_name(&self, c: ClassIndex, example: Option<Node>) -> String {
        if c == NO_CLASS {
            return example
                .map(|e| self.heap.class_name(e).to_string())
                .unwrap_or_else(|| "?".into());
        }
        self.heap.snap.classes.get(c).name.clone()
    }

    /// The last field on the path that belongs to an application object (not collection
    /// plumbing): the field to look at in the code.
    fn owner(&self, nodes: &[Node], path: &[Step]) -> Option<Owner> {
        let heap = &self.heap;
        let mut best = None;
        for (from, w) in nodes.iter().zip(path.windows(2)) {
            let from = *from;
            let via = &w[1].via;
            if via.starts_with('[') || via.starts_with('<') || via.starts_with("->") {
                continue;
            }
            if let Some(c) = heap.index.class_of_object(from) {
                if let Some(name) = via.strip_prefix("static ") {
                    best = Some(Owner {
                        class: heap.snap.classes.get(c).name.clone(),
                        field: name.split(',').next().unwrap_or(name).to_string(),
                        is_static: true,
                    });
                }
                continue;
            }
            if self.kind(from) == Kind::Other {
                best = Some(Owner {
                    class: heap.class_name(from).to_string(),
                    field: via.split(',').next().unwrap_or(via).trim().to_string(),
                    is_static: false,
                });
            }
        }
        best
    }

    /// Every entry of a map, ranked by what it alone keeps alive.
    fn map_keys(&self, m: Node) -> MapKeys {
        let heap = &self.heap;
        let entries = self.kinds.items(heap, m, 2_000_000);
        let mut rows: Vec<(u64, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut bytes = item.node.map(|e| heap.index.shallow(e)).unwrap_or(0);
                if let Some(k) = item.key {
                    // The key counts when this entry (or the map, for node-less maps) owns it.
                    if self.g.retention.idom(k) == Some(item.node.unwrap_or(m)) {
                        bytes += self.retained(k);
                    }
                }
                // The value's own subtree, even when something else holds it too.
                if let Some(v) = item.value {
                    bytes += self.retained(v);
                }
                (bytes, i)
            })
            .collect();
        rows.sort_unstable_by(|a, b| {
            let node = |i: usize| entries[i].node.or(entries[i].key);
            b.0.cmp(&a.0).then(node(a.1).cmp(&node(b.1)))
        });
        let map_retained = rows.iter().map(|r| r.0).sum::<u64>().max(1);
        let keys = rows
            .iter()
            .take(MAP_KEYS)
            .map(|&(bytes, i)| {
                let item = entries[i];
                MapKey {
                    key: item
                        .key
                        .map(|k| key_text(heap, k))
                        .unwrap_or_else(|| "null".into()),
                    value: item
                        .value
                        .map(|v| describe(heap, v))
                        .unwrap_or_else(|| "null".into()),
                    retained_bytes: bytes,
                    percent_of_map: 100.0 * bytes as f64 / map_retained as f64,
                }
            })
            .collect();
        MapKeys {
            map: object_ref(heap, m),
            entries: entries.len() as u64,
            retained_bytes: self.retained(m),
            keys,
        }
    }

    /// The fields of `o` as (name, value text, how telling: see [`value_text`]), and one level
    /// into the application objects it references (`clientNode.ip`): what sets leaked objects
    /// apart is often a field of the object they describe.
    fn field_values(&self, o: Node, on_path: &[u64]) -> Vec<(String, String, u8)> {
        let heap = &self.heap;
        let mut out = vec![];
        let mut nested = vec![];
        for f in heap.fields(o) {
            let (text, pref) = value_text(heap, f.value, on_path);
            if pref == 3 {
                let inner = f.value.as_object().and_then(|id| heap.find(id));
                if let Some(x) = inner.filter(|&x| {
                    self.kind(x) == Kind::Other && heap.index.class_of_object(x).is_none()
                }) {
                    for g in heap.fields(x) {
                        let (t, p) = value_text(heap, g.value, on_path);
                        nested.push((format!("{}.{}", f.name, g.name), t, p));
                    }
                }
            }
            out.push((f.name, text, pref));
        }
        // Direct fields first: on a tie they are the simpler story.
        out.extend(nested);
        out
    }

    /// The field of the accumulated objects whose most common value is most typical of them and
    /// least of the same class's instances elsewhere.
    fn discriminator(&self, elems: &[Node], path: &[Node]) -> Option<Discriminator> {
        let heap = &self.heap;
        let class = heap.class(*elems.first()?);
        if class == NO_CLASS || heap.index.class_of_object(elems[0]).is_some() {
            return None;
        }
        let step = (elems.len() / DISCRIMINATOR_SAMPLE).max(1);
        let sample: Vec<Node> = elems.iter().copied().step_by(step).collect();
        let on_path: Vec<u64> = path.iter().map(|&v| heap.id(v)).collect();
        // field name -> (value -> count), and each field's kind of value.
        let mut counts: Vec<(String, u8, FxHashMap<String, u64>)> = vec![];
        let mut slot: FxHashMap<String, usize> = new_map();
        for &o in &sample {
            for (name, text, pref) in self.field_values(o, &on_path) {
                let i = *slot.entry(name.clone()).or_insert_with(|| {
                    counts.push((name, 0, new_map()));
                    counts.len() - 1
                });
                counts[i].1 = counts[i].1.max(pref);
                *counts[i].2.entry(text).or_default() += 1;
            }
        }
        // The class's other instances, for contrast.
        let mut in_set = crate::heap::fxhash::new_map::<Node, ()>();
        for &e in elems {
            in_set.insert(e, ());
        }
        let mut elsewhere: Vec<Node> = vec![];
        for (o, &c) in heap.index.class_of.iter().enumerate() {
            if c == class
                && !in_set.contains_key(&(o as Node))
                && self.g.retention.is_reachable(o as Node)
            {
                elsewhere.push(o as Node);
                if elsewhere.len() >= DISCRIMINATOR_SAMPLE {
                    break;
                }
            }
        }
        let n = sample.len() as u64;
        // Fields that name one same object for (nearly) every element: what is found through them
        // (`logLevel.resourceBundleName` of a shared `Level.ALL`) describes that object, not them.
        let shared: Vec<&str> = counts
            .iter()
            .filter(|(_, pref, map)| {
                *pref == 3 && map.values().max().is_some_and(|&c| c * 10 >= n * 9)
            })
            .map(|(name, _, _)| name.as_str())
            .collect();
        // The other instances' values, read once (not once per field that is a candidate).
        let elsewhere_values: std::cell::OnceCell<Vec<Vec<(String, String, u8)>>> =
            std::cell::OnceCell::new();
        let mut best: Option<(f64, u8, Discriminator)> = None;
        for (name, pref, map) in counts.iter() {
            if *pref >= 3 {
                continue; // identity of other objects, or back-references up the path
            }
            if name
                .split_once('.')
                .is_some_and(|(parent, _)| shared.contains(&parent))
            {
                continue;
            }
            let Some((value, &count)) = map.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            else {
                continue;
            };
            let share = count as f64 / n.max(1) as f64;
            if share < 0.5 || (map.len() as u64) == n && n > 1 {
                continue;
            }
            let (ec, en) = if elsewhere.is_empty() {
                (None, None)
            } else {
                let mut hits = 0u64;
                let all = elsewhere_values.get_or_init(|| {
                    elsewhere
                        .iter()
                        .map(|&o| self.field_values(o, &on_path))
                        .collect()
                });
                for values in all {
                    if values.iter().any(|(n, t, _)| n == name && t == value) {
                        hits += 1;
                    }
                }
                (Some(hits), Some(elsewhere.len() as u64))
            };
            let score = match (ec, en) {
                (Some(h), Some(t)) => share - h as f64 / t.max(1) as f64,
                // Nothing to contrast with: only a state written as text (a status string, an
                // enum constant) on the objects themselves describes them; a flag or a null that
                // every one of them has (`errorManager.reported == false`) does not.
                _ if *pref > 0 || name.contains('.') => continue,
                _ => share - 0.5,
            };
            if score <= 0.25 {
                continue;
            }
            let d = Discriminator {
                class: heap.snap.classes.get(class).name.clone(),
                field: name.clone(),
                value: value.clone(),
                count,
                examined: n,
                percent: 100.0 * share,
                elsewhere_count: ec,
                elsewhere_examined: en,
                elsewhere_percent: ec.zip(en).map(|(h, t)| 100.0 * h as f64 / t.max(1) as f64),
            };
            let better = match &best {
                None => true,
                Some((s, p, _)) => score > *s + 1e-9 || ((score - *s).abs() <= 1e-9 && *pref < *p),
            };
            if better {
                best = Some((score, *pref, d));
            }
        }
        best.map(|b| b.2)
    }
}

/// Per class index, the first index of a class with the same name.
fn canonical_classes(heap: &Heap<'_, '_>) -> Vec<ClassIndex> {
    let classes = &heap.snap.classes;
    let mut first: FxHashMap<&str, ClassIndex> = new_map();
    (0..classes.len() as ClassIndex)
        .map(|c| *first.entry(classes.get(c).name.as_str()).or_insert(c))
        .collect()
}

/// A key as a person reads it: strings quoted, boxed numbers as numbers, else a description.
fn key_text(heap: &Heap<'_, '_>, k: ObjectIndex) -> String {
    if let Some(s) = heap.string(k, 81) {
        return quote(&s, 80);
    }
    describe(heap, k)
}

/// A field value as text for counting, and how telling such a value is: 0 text (strings, enum
/// constants, boxed numbers), 1 primitives, 2 null, 3 identity of an object (not compared),
/// 4 a back-reference to an object on the path.
fn value_text(heap: &Heap<'_, '_>, v: Value, on_path: &[u64]) -> (String, u8) {
    match v {
        Value::Object(0) => ("null".into(), 2),
        Value::Object(id) => {
            if on_path.contains(&id) {
                return (hex(id), 4);
            }
            let Some(o) = heap.find(id) else {
                return (hex(id), 3);
            };
            if let Some(s) = heap.string(o, 61) {
                return (quote(&s, 60), 0);
            }
            if heap.is_instance_of(o, "java.lang.Enum") {
                if let Some(n) = heap
                    .field_object(o, "name")
                    .and_then(|n| heap.string(n, 61))
                {
                    return (format!("{}.{}", heap.class_name(o), n), 0);
                }
            }
            if let Some(b) = boxed_value(heap, o, heap.class_name(o)) {
                return (b, 0);
            }
            (hex(id), 3)
        }
        Value::Boolean(b) => (b.to_string(), 1),
        Value::Char(c) => (
            quote(&char::from_u32(c as u32).unwrap_or('?').to_string(), 1),
            1,
        ),
        Value::Float(x) => (x.to_string(), 1),
        Value::Double(x) => (x.to_string(), 1),
        Value::Byte(x) => (x.to_string(), 1),
        Value::Short(x) => (x.to_string(), 1),
        Value::Int(x) => (x.to_string(), 1),
        Value::Long(x) => (x.to_string(), 1),
    }
}

/// Whether what accumulates reads as registered callbacks: its class is named like one, or the
/// field that owns the collection is a listener list.
fn looks_like_listeners(accumulated: Option<&Accumulated>, owner: Option<&Owner>) -> bool {
    let listener_class = accumulated.is_some_and(|acc| {
        let simple = acc.class.rsplit(['.', '$']).next().unwrap_or("");
        [
            "Listener",
            "Callback",
            "Observer",
            "Handler",
            "Subscriber",
            "Watcher",
        ]
        .iter()
        .any(|w| simple.contains(w))
    });
    let listener_field = owner.is_some_and(|o| o.field.to_ascii_lowercase().contains("listener"));
    listener_class || listener_field
}

/// Fills in the title, the explanation and what to look at.
fn write_story(
    s: &mut Suspect,
    focus: &str,
    key: Option<&MapKey>,
    heap: &Heap<'_, '_>,
    holder: Node,
) {
    use crate::units::{human_bytes, thousands};
    let size = human_bytes(s.retained_bytes);
    let pct = format!("{:.1}%", s.retained_percent);
    let owner = s.owner.as_ref().map(|o| {
        let simple = o.class.rsplit('.').next().unwrap_or(&o.class);
        if o.is_static {
            format!("static {simple}.{}", o.field)
        } else {
            format!("{simple}.{}", o.field)
        }
    });
    let owner_full = s.owner.as_ref().map(|o| format!("{}.{}", o.class, o.field));
    let what = s
        .accumulated
        .as_ref()
        .map(|a| format!("{} {}", thousands(a.count), a.class));
    let disc = s.discriminator.as_ref().map(|d| {
        let elsewhere = match (d.elsewhere_count, d.elsewhere_examined) {
            (Some(h), Some(t)) => format!(
                ", against {:.1}% of the {} other {} instances",
                100.0 * h as f64 / t.max(1) as f64,
                thousands(t),
                short(&d.class)
            ),
            _ => String::new(),
        };
        format!(
            "{:.1}% have {} == {}{elsewhere}",
            d.percent, d.field, d.value
        )
    });
    let holder_desc = s
        .holder
        .as_ref()
        .map(|h| h.description.clone())
        .unwrap_or_default();
    let point_desc = s
        .accumulation_point
        .as_ref()
        .map(|a| a.object.description.clone())
        .unwrap_or_default();
    let via = owner
        .clone()
        .map(|o| format!(" held by {o}"))
        .unwrap_or_default();
    match s.pattern {
        Pattern::MapKey => {
            let k = key
                .map(|k| k.key.clone())
                .unwrap_or_else(|| "one key".into());
            let kp = key
                .map(|k| format!("{:.1}%", k.percent_of_map))
                .unwrap_or_default();
            s.title = format!(
                "{focus}{via} retains {size} ({pct}); key {k} alone keeps {kp} of it{}",
                what.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
            );
            s.explanation = format!(
                "The map {focus}{via} keeps {size}, {pct} of the heap, and almost all of it sits \
                 under a single key, {k}, whose value is {}. Entries keep being added under that key \
                 and are never removed: typically a key computed from state that changes (an address \
                 cleared on close, a default used when the real key is unknown), so the code that \
                 removes entries looks under another key and misses them.{}",
                key.map(|k| k.value.clone()).unwrap_or_default(),
                disc.as_ref().map(|d| format!(" Of the accumulated objects, {d}.")).unwrap_or_default()
            );
            s.look_at = format!(
                "The code that adds to and removes from {}: why do entries end up under {k}, and \
                 what removes them?",
                owner_full.clone().unwrap_or_else(|| focus.to_string())
            );
        }
        Pattern::ThreadLocal => {
            let threads = if s.instances > 1 {
                format!("{} threads like {holder_desc}", thousands(s.instances))
            } else {
                holder_desc.clone()
            };
            s.title = format!(
                "{threads} keep {size} ({pct}) in thread-local values{}",
                what.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
            );
            s.explanation = format!(
                "{threads} keep {size}, {pct} of the heap, through their ThreadLocalMap. A value \
                 set in a ThreadLocal on a long-lived (pooled) thread stays until the thread dies \
                 or remove() is called; pools reuse threads forever, so each task's value \
                 accumulates or is never released.{}",
                disc.as_ref()
                    .map(|d| format!(" Of the accumulated objects, {d}."))
                    .unwrap_or_default()
            );
            s.look_at = format!(
                "Where {} is set on worker threads: call ThreadLocal.remove() in a finally block \
                 after each task (or don't keep large values in thread-locals).",
                s.accumulated
                    .as_ref()
                    .map(|a| a.class.clone())
                    .unwrap_or_else(|| point_desc.clone())
            );
        }
        Pattern::Listeners => {
            s.title = format!(
                "{focus}{via} retains {size} ({pct}){}",
                what.as_ref()
                    .map(|w| format!(": {w} registered and never removed"))
                    .unwrap_or_default()
            );
            s.explanation = format!(
                "{focus}{via} keeps {size}, {pct} of the heap, in {}. Listeners (callbacks, \
                 observers) are added and never removed, so each one keeps everything it \
                 references alive for as long as the object it listens to.{}",
                what.clone().unwrap_or_else(|| "its elements".into()),
                disc.as_ref()
                    .map(|d| format!(" Of them, {d}."))
                    .unwrap_or_default()
            );
            s.look_at = format!(
                "Where listeners are added to {}: each add needs a matching remove (on close or \
                 unsubscribe), or use weak listeners.",
                owner_full.clone().unwrap_or_else(|| focus.to_string())
            );
        }
        Pattern::Collection => {
            s.title = format!(
                "{focus}{via} retains {size} ({pct}){}",
                what.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
            );
            s.explanation = format!(
                "{focus}{via} keeps {size}, {pct} of the heap, in {}{}. A collection that \
                 only grows: objects are added and never removed, or it is a cache without a \
                 bound.{}",
                what.clone().unwrap_or_else(|| "its elements".into()),
                s.accumulated
                    .as_ref()
                    .map(|a| format!(" (together {})", human_bytes(a.retained_bytes)))
                    .unwrap_or_default(),
                disc.as_ref()
                    .map(|d| format!(" Of them, {d}."))
                    .unwrap_or_default()
            );
            s.look_at = format!(
                "Who adds to {} and what removes from it; if it is a cache, give it a size \
                 limit or an expiry.",
                owner_full.clone().unwrap_or_else(|| focus.to_string())
            );
        }
        Pattern::LargeObject => {
            s.title = format!("{focus}{via} alone is {size} ({pct})");
            s.explanation = format!(
                "One object, {focus}{via}, takes {size}, {pct} of the heap. Large buffers and \
                 arrays are fine when sized on purpose; one that grows with input or is never \
                 released is the problem."
            );
            s.look_at = format!(
                "Where {} is allocated or grown, and why it is still referenced.",
                owner_full.clone().unwrap_or_else(|| focus.to_string())
            );
        }
        Pattern::ManyInstances => {
            let class = heap.class_name(holder).to_string();
            s.title = format!(
                "{} instances of {} retain {size} ({pct}) together",
                thousands(s.instances),
                class
            );
            s.explanation = format!(
                "{} objects of class {class} at the top of the heap keep {size}, {pct} of it, \
                 together; none is large alone. The biggest is {holder_desc}, with its memory in \
                 {}.",
                thousands(s.instances),
                point_desc
            );
            s.look_at = format!("What creates {class} objects and what keeps them alive.");
        }
        Pattern::ClassLoaders => {}
    }
}

fn short(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}
