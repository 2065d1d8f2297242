//! The heap index: every object numbered densely in address order, with its class, shallow size,
//! file offset and outgoing references (compressed sparse rows), and the GC roots.
//!
//! Built in parallel passes over the mapped dump with flat arrays only: 8 bytes per object for its
//! id (sorted, for id -> number lookups), 8 for its file offset, 4 for its class, 4 for its
//! shallow size, 8 for its row start, about 2 for the id lookup table, and 4 per reference.
//! Nothing per object is allocated. With a [`Scratch`] directory these arrays are scratch-file
//! mappings ([`Column`]), so they take page cache, not anonymous memory; references are produced
//! a window of objects at a time, so the anonymous memory of the build stays a few MB.
//!
//! Edges follow what keeps an object alive in HotSpot, as MAT models it: instance fields,
//! array elements, each object's class, and for a class its superclass, loader, signers,
//! protection domain and static fields. `java.lang.ref.Reference.referent` is an edge too (the
//! last of its object's row, listed in [`HeapIndex::referents`]) unless the graph is built
//! strong-only; so are the edges the dump writer leaves out that the dump proves
//! ([`HeapIndex::restored`], see [`super::reachability`]). A virtual root (node `len()`) points
//! at every GC root.

use super::checks::{fallback_roots, RootEvidence, RootFallback};
use super::classes::{ClassIndex, ClassTable, NO_CLASS};
use super::column::{Column, Scratch};
use super::graph::{Csr, Node};
use super::reachability::{self as reach, GraphOptions, LevelTotals, ReachGraph};
use super::snapshot::Snapshot;
use crate::formats::hprof::raw::object_layout as L;
use crate::formats::hprof::reader::read_id;
use crate::formats::hprof::{BasicType, RootKind, SubTag};
use rayon::prelude::*;

/// Dense object number, in address order.
pub type ObjectIndex = u32;

/// A GC root: the object, why it is a root, and for thread-related roots the thread's serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Root {
    pub object: ObjectIndex,
    pub kind: RootKind,
    pub thread_serial: Option<u32>,
    pub frame: Option<u32>,
}

/// id -> object number: the sorted ids plus a bucket table over the address range, so a lookup is
/// one table read and a binary search over the few objects of one bucket.
#[derive(Clone, Debug, Default)]
pub struct IdLookup {
    min: u64,
    shift: u32,
    /// `starts[b]`: the first object whose bucket is >= b; one extra entry at the end.
    starts: Column<u32>,
}

impl IdLookup {
    pub fn build(ids: &[u64]) -> IdLookup {
        IdLookup::build_in(ids, &Scratch::memory())
    }

    /// [`build`](Self::build) with the table placed by `scratch`.
    pub fn build_in(ids: &[u64], scratch: &Scratch) -> IdLookup {
        let (Some(&min), Some(&max)) = (ids.first(), ids.last()) else {
            return IdLookup {
                min: 0,
                shift: 0,
                starts: vec![0, 0].into(),
            };
        };
        let span = max - min + 1;
        // About two objects per bucket on a dense heap, at most one bucket per object on a sparse one.
        let target = (ids.len() as u64 / 2).max(1);
        let mut shift = 3;
        while (span >> shift) > target && shift < 63 {
            shift += 1;
        }
        let buckets = ((span - 1) >> shift) as usize + 1;
        let mut starts: Column<u32> = scratch.hot_zeroed(buckets + 1);
        let mut b = 0usize;
        for (i, &id) in ids.iter().enumerate() {
            let ib = ((id - min) >> shift) as usize;
            while b <= ib {
                starts[b] = i as u32;
                b += 1;
            }
        }
        while b <= buckets {
            starts[b] = ids.len() as u32;
            b += 1;
        }
        IdLookup { min, shift, starts }
    }

    #[inline]
    pub fn find(&self, ids: &[u64], id: u64) -> Option<ObjectIndex> {
        self.find_with(id, |i| ids[i])
    }

    /// [`find`](Self::find) where `id_at(i)` gives the id of object `i` (ids ascending).
    #[inline]
    pub fn find_with(&self, id: u64, id_at: impl Fn(usize) -> u64) -> Option<ObjectIndex> {
        if id < self.min {
            return None;
        }
        let b = ((id - self.min) >> self.shift) as usize;
        if b + 1 >= self.starts.len() {
            return None;
        }
        let (mut lo, mut hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match id_at(mid).cmp(&id) {
                std::cmp::Ordering::Equal => return Some(mid as ObjectIndex),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    pub fn memory_bytes(&self) -> usize {
        self.starts.len() * 4
    }

    /// (min, shift, starts), for the index cache.
    pub fn parts(&self) -> (u64, u32, &Column<u32>) {
        (self.min, self.shift, &self.starts)
    }

    /// The table as a column the index cache keeps (see [`Scratch::kept_copy`]).
    pub fn kept_copy(self, scratch: &Scratch) -> IdLookup {
        IdLookup {
            starts: scratch.kept_copy(self.starts),
            ..self
        }
    }

    /// See [`Column::seal`].
    pub fn seal(&mut self, keep: &crate::heap::column::KeepFile) {
        self.starts.seal(keep);
    }

    /// Rebuilds a lookup from [`parts`](Self::parts), checking it fits `n` objects.
    pub fn from_parts(min: u64, shift: u32, starts: Vec<u32>, n: usize) -> Option<IdLookup> {
        IdLookup::from_column(min, shift, starts.into(), n)
    }

    /// [`from_parts`](Self::from_parts) over a column (e.g. mapped from the cache).
    pub fn from_column(min: u64, shift: u32, starts: Column<u32>, n: usize) -> Option<IdLookup> {
        let ok = shift < 64
            && !starts.is_empty()
            && starts.windows(2).all(|w| w[0] <= w[1])
            && starts.iter().all(|&s| s as usize <= n);
        ok.then_some(IdLookup { min, shift, starts })
    }
}

/// What kind of record an object came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKindTag {
    Instance,
    ObjectArray,
    PrimitiveArray,
    Class,
}

/// The object graph of one dump.
pub struct HeapIndex {
    /// File offset of each object's sub-record (in the inflated dump for `.gz` input), in the
    /// order of the objects' ids (ascending): the position is the object's number. The ids
    /// themselves are not kept (8 bytes an object): every record starts with its tag and id,
    /// so [`id`](Self::id) reads it from the dump.
    pub offsets: Column<u64>,
    /// Id size of the dump (4 or 8).
    pub id_size: u8,
    /// Class of each object: its class for instances and arrays (primitive arrays: the `int[]`-like
    /// class when the dump has it, else `NO_CLASS`), `java.lang.Class` for class objects.
    pub class_of: Column<ClassIndex>,
    /// Shallow size in the JVM's heap, saturated at `u32::MAX` (see [`HeapIndex::shallow`]).
    pub shallow: Column<u32>,
    /// Sizes of the rare arrays over 4 GiB.
    pub big_shallow: Vec<(ObjectIndex, u64)>,
    /// Outgoing references; node `len()` is the virtual root whose successors are the GC roots.
    pub refs: Csr,
    pub roots: Vec<Root>,
    pub lookup: IdLookup,
    /// For class objects: object number -> class index (sorted by object number).
    pub class_objects: Vec<(ObjectIndex, ClassIndex)>,
    /// References to ids that are not in the dump (dropped).
    pub dangling: u64,
    /// GC root records naming ids that are not in the dump (dropped).
    pub dangling_roots: u64,
    /// Object records beyond the first with the same id (the first is kept).
    pub duplicate_ids: u64,
    /// The roots of last resort taken when the dump's own name no object in it.
    pub root_fallback: RootFallback,
    /// `java.lang.ref.Reference` objects whose row ends with their referent, with the referent's
    /// strength (`reachability::SOFT`..`PHANTOM`), sorted by object.
    pub referents: Vec<(ObjectIndex, u8)>,
    /// Edges restored from what the dump proves (a class mirror -> what its members name it
    /// owner of), sorted; also in `refs`.
    pub restored: Vec<(ObjectIndex, ObjectIndex)>,
    /// Each object's reachability level (`reachability::STRONG`..`GARBAGE`).
    pub reach: Column<u8>,
    /// Built with referents left out (`--strong-only`).
    pub strong_only: bool,
    /// Objects and bytes per level, once counted.
    pub reach_totals_memo: std::sync::OnceLock<LevelTotals>,
}

impl HeapIndex {
    /// What building the index found wrong with the dump (roots to missing objects, duplicate
    /// ids, the roots of last resort), one warning each.
    pub fn warnings(&self) -> Vec<crate::formats::hprof::Warning> {
        super::checks::index_warnings(self.dangling_roots, self.duplicate_ids, self.root_fallback)
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// The virtual root's node number.
    pub fn virtual_root(&self) -> Node {
        self.offsets.len() as Node
    }

    /// The id of object `o`, from its record in `data` (the dump's bytes).
    #[inline]
    pub fn id(&self, data: &[u8], o: ObjectIndex) -> u64 {
        let at = self.offsets[o as usize] as usize + 1;
        data.get(at..at + self.id_size as usize)
            .map_or(0, |b| read_id(b, self.id_size))
    }

    /// The object with this id, if the dump has one (`data`: the dump's bytes).
    #[inline]
    pub fn find(&self, data: &[u8], id: u64) -> Option<ObjectIndex> {
        self.lookup
            .find_with(id, |i| self.id(data, i as ObjectIndex))
    }

    pub fn shallow(&self, o: ObjectIndex) -> u64 {
        let s = self.shallow[o as usize];
        if s == u32::MAX {
            if let Ok(i) = self.big_shallow.binary_search_by_key(&o, |&(k, _)| k) {
                return self.big_shallow[i].1;
            }
        }
        s as u64
    }

    /// The class index this class object stands for, if `o` is a class object.
    pub fn class_of_object(&self, o: ObjectIndex) -> Option<ClassIndex> {
        self.class_objects
            .binary_search_by_key(&o, |&(k, _)| k)
            .ok()
            .map(|i| self.class_objects[i].1)
    }

    pub fn kind(&self, data: &[u8], o: ObjectIndex) -> ObjectKindTag {
        match SubTag(data[self.offsets[o as usize] as usize]) {
            SubTag::INSTANCE_DUMP => ObjectKindTag::Instance,
            SubTag::OBJECT_ARRAY_DUMP => ObjectKindTag::ObjectArray,
            SubTag::PRIMITIVE_ARRAY_DUMP => ObjectKindTag::PrimitiveArray,
            _ => ObjectKindTag::Class,
        }
    }

    /// The strength of `v`'s referent edge (the last of its row), if `v` is a reference with one.
    pub fn referent_strength(&self, v: ObjectIndex) -> Option<u8> {
        self.referents
            .binary_search_by_key(&v, |p| p.0)
            .ok()
            .map(|i| self.referents[i].1)
    }

    /// Whether the edge `from -> to` is `from`'s referent, and then its strength.
    pub fn referent_edge(&self, from: Node, to: Node) -> Option<u8> {
        if from as usize >= self.len() {
            return None;
        }
        let s = self.referent_strength(from)?;
        (self.refs.successors(from).last() == Some(&to)).then_some(s)
    }

    /// Object `o`'s references as the index resolved them, in dump order (an instance's non-null
    /// reference fields, an array's non-null elements, then its class), when that order names
    /// every non-null reference of the record: only if no reference of the dump dangles.
    /// Reading a field through its position here costs no id lookup.
    #[inline]
    pub fn resolved_row(&self, o: ObjectIndex) -> Option<&[Node]> {
        (self.dangling == 0 && (o as usize) < self.len()).then(|| self.refs.successors(o))
    }

    /// Whether `from -> to` is an edge the dump left out and the index restored.
    pub fn is_restored(&self, from: Node, to: Node) -> bool {
        self.restored.binary_search(&(from, to)).is_ok()
    }

    /// The reachability level of `v` (`reachability::STRONG`..`GARBAGE`).
    pub fn level(&self, v: ObjectIndex) -> u8 {
        self.reach
            .get(v as usize)
            .copied()
            .unwrap_or(reach::GARBAGE)
    }

    /// Objects and shallow bytes per reachability level.
    pub fn reach_totals(&self) -> LevelTotals {
        *self
            .reach_totals_memo
            .get_or_init(|| reach::totals(&self.reach, |v| self.shallow(v as ObjectIndex)))
    }

    /// Approximate memory held by the index, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.offsets.len() * 8
            + self.class_of.len() * 4
            + self.shallow.len() * 4
            + self.refs.starts.len() * 8
            + self.refs.targets.len() * 4
            + self.lookup.memory_bytes()
    }

    /// Builds the index of a loaded snapshot (every array on the heap).
    pub fn build(s: &Snapshot<'_>, progress: &(dyn Fn(u64) + Sync)) -> HeapIndex {
        HeapIndex::build_in(s, progress, &Scratch::memory())
    }

    /// Builds the index with its arrays placed by `scratch` (scratch files for big dumps).
    /// `progress` is called with bytes of the dump done.
    pub fn build_in(
        s: &Snapshot<'_>,
        progress: &(dyn Fn(u64) + Sync),
        scratch: &Scratch,
    ) -> HeapIndex {
        HeapIndex::build_with(s, progress, scratch, GraphOptions::default())
    }

    /// [`build_in`](Self::build_in) with the options that shape the graph (`strong_only`).
    pub fn build_with(
        s: &Snapshot<'_>,
        progress: &(dyn Fn(u64) + Sync),
        scratch: &Scratch,
        opts: GraphOptions,
    ) -> HeapIndex {
        let data = s.bytes.bytes();
        let id_size = s.dir.id_size();
        // 1. Id and offset of every object: instances and arrays per heap body (in parallel),
        //    then class objects.
        let mut laps = super::timing::Laps::start("index");
        // The ids are searched for every reference: in anonymous (huge) pages while indexing,
        // then dropped (the index reads them from the dump).
        let (ids, offsets, duplicate_ids) = object_table(s, progress, scratch);
        laps.lap("objects");
        let lookup = IdLookup::build_in(&ids, scratch);
        laps.lap("lookup");
        let n = ids.len();

        // 2. Per class: where its instances hold references (offsets into the field data).
        let plan = RefPlan::build(s, !opts.strong_only);
        let class_class = s.classes.find("java.lang.Class").unwrap_or(NO_CLASS);
        let mut prim_class = [NO_CLASS; 9];
        for (i, c) in s.classes.classes.iter().enumerate() {
            if let Some(t) = c.array_of {
                if t != BasicType::Object && (prim_class[t.index()] == NO_CLASS || c.loader_id == 0)
                {
                    prim_class[t.index()] = i as ClassIndex;
                }
            }
        }

        // 3. Parallel passes in object order, a window of objects at a time: class, shallow size
        //    and references of each object. Each window's references are copied into `targets`
        //    before the next starts, so only one window's worth is ever in anonymous memory.
        //    Every reference is an id-sized field of a heap dump body, which bounds their number
        //    (the scratch file is sparse: the bound costs address space, not memory).
        const CHUNK: usize = 1 << 16;
        const WINDOW: usize = 32 * CHUNK;
        let mut class_of: Column<ClassIndex> = scratch.kept_filled(n, NO_CLASS);
        let mut shallow: Column<u32> = scratch.kept_zeroed(n);
        let mut degree: Column<u64> = scratch.kept_zeroed(n + 2);
        let bound = s.dir.heap_bytes() as usize / id_size as usize + 1;
        let mut targets: Column<Node> = scratch.kept_zeroed(bound);
        let mut cursor = 0usize;
        let mut dangling = 0;
        let mut big_shallow = vec![];
        let mut referents = vec![];
        let ctx = EdgeCtx {
            s,
            data,
            id_size,
            ids: &ids,
            lookup: &lookup,
            plan: &plan,
            class_class,
            prim_class: &prim_class,
        };
        let bytes_per_object = (data.len() as u64 / n.max(1) as u64).max(1);
        let mut w = 0;
        while w < n {
            let wend = (w + WINDOW).min(n);
            let chunks: Vec<ChunkOut> = class_of[w..wend]
                .par_chunks_mut(CHUNK)
                .zip(shallow[w..wend].par_chunks_mut(CHUNK))
                .zip(degree[w + 1..wend + 1].par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(k, ((cls, sh), deg))| {
                    let first = w + k * CHUNK;
                    let mut out = ChunkOut::default();
                    for j in 0..cls.len() {
                        let before = out.targets.len();
                        let off = offsets[first + j] as usize;
                        let (c, size) = ctx.object((first + j) as ObjectIndex, off, &mut out);
                        cls[j] = c;
                        if size >= u32::MAX as u64 {
                            sh[j] = u32::MAX;
                            out.big.push(((first + j) as ObjectIndex, size));
                        } else {
                            sh[j] = size as u32;
                        }
                        deg[j] = (out.targets.len() - before) as u64;
                    }
                    progress(cls.len() as u64 * 3 / 4 * bytes_per_object);
                    out
                })
                .collect();
            for c in chunks {
                let end = cursor + c.targets.len();
                if end > targets.len() {
                    // Cannot happen for a well-formed dump (see the bound above); grow anyway.
                    let mut t: Column<Node> = scratch.kept_zeroed(end.max(targets.len() * 2));
                    t[..cursor].copy_from_slice(&targets[..cursor]);
                    targets = t;
                }
                targets[cursor..end].copy_from_slice(&c.targets);
                cursor = end;
                dangling += c.dangling;
                big_shallow.extend(c.big);
                referents.extend(c.referents);
            }
            w = wend;
        }
        laps.lap("references");
        let class_objects = {
            let mut v: Vec<(ObjectIndex, ClassIndex)> = s
                .classes
                .classes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((lookup.find(&ids, c.id)?, i as ClassIndex)))
                .collect();
            v.sort_unstable();
            v
        };
        // 4. Roots, as edges of the virtual root (each object once, in root order); when none
        //    names an object of the dump, MAT's roots of last resort.
        let mut roots = Vec::new();
        let mut dangling_roots = 0;
        // A root naming id 0 names no object (the hprof agent writes threads without one so):
        // not dangling.
        for r in s.census.gc_roots.iter().filter(|r| r.object_id != 0) {
            match lookup.find(&ids, r.object_id) {
                Some(o) => roots.push(Root {
                    object: o,
                    kind: r.kind,
                    thread_serial: r.thread_serial,
                    frame: r.frame,
                }),
                None => dangling_roots += 1,
            }
        }
        let mut root_fallback = RootFallback::None;
        if roots.is_empty() && n > 0 {
            (roots, root_fallback) = fallback_roots(&RootEvidence {
                classes: &s.classes,
                class_of: &class_of,
                class_objects: &class_objects,
                targets: &targets[..cursor],
            });
        }
        let mut first_seen: Vec<(ObjectIndex, u32)> = roots
            .iter()
            .enumerate()
            .map(|(k, r)| (r.object, k as u32))
            .collect();
        first_seen.sort_unstable();
        first_seen.dedup_by_key(|p| p.0);
        first_seen.sort_unstable_by_key(|p| p.1);
        let root_targets: Vec<Node> = first_seen.into_iter().map(|p| p.0).collect();
        degree[n + 1] = root_targets.len() as u64;
        if cursor + root_targets.len() > targets.len() {
            let mut t: Column<Node> = scratch.kept_zeroed(cursor + root_targets.len());
            t[..cursor].copy_from_slice(&targets[..cursor]);
            targets = t;
        }
        targets[cursor..cursor + root_targets.len()].copy_from_slice(&root_targets);
        // Row starts: prefix sums of the degrees.
        let mut acc = 0u64;
        for d in degree.iter_mut() {
            acc += *d;
            *d = acc;
        }
        laps.lap("rest");
        let mut refs = Csr {
            starts: degree,
            targets,
        };
        let held = Held {
            s,
            data,
            id_size,
            ids: &ids,
            lookup: &lookup,
            offsets: &offsets,
            class_of: &class_of,
            class_objects: &class_objects,
            shallow: &shallow,
            big_shallow: &big_shallow,
        };
        let (reach, restored) = held.classify(&mut refs, &referents, scratch);
        // The bound above is far too big: the cache file gets its unused tail back.
        let used = refs.starts[n + 1] as usize;
        refs.targets.truncate(used);
        let reach = scratch.kept_copy(reach);
        laps.lap("reachability");
        // The bucket table was searched at random for every reference: in anonymous (huge)
        // pages until now, kept by one copy.
        let lookup = lookup.kept_copy(scratch);
        drop(ids);
        HeapIndex {
            offsets,
            id_size,
            class_of,
            shallow,
            big_shallow,
            refs,
            roots,
            lookup,
            class_objects,
            dangling,
            dangling_roots,
            duplicate_ids,
            root_fallback,
            referents,
            restored,
            reach,
            strong_only: opts.strong_only,
            reach_totals_memo: Default::default(),
        }
    }
}

/// What classification needs of the dump beyond the graph: the fields by which objects name
/// their class, and which objects without a referrer the JVM holds.
struct Held<'s, 'a> {
    s: &'s Snapshot<'a>,
    data: &'s [u8],
    id_size: u8,
    ids: &'s [u64],
    lookup: &'s IdLookup,
    offsets: &'s [u64],
    class_of: &'s [ClassIndex],
    class_objects: &'s [(ObjectIndex, ClassIndex)],
    shallow: &'s [u32],
    big_shallow: &'s [(ObjectIndex, u64)],
}

impl Held<'_, '_> {
    /// Shallow size of `o`, as [`HeapIndex::shallow`] gives it.
    fn shallow(&self, o: Node) -> u64 {
        match self.shallow[o as usize] {
            u32::MAX => self
                .big_shallow
                .binary_search_by_key(&o, |&(k, _)| k)
                .map_or(u32::MAX as u64, |i| self.big_shallow[i].1),
            s => s as u64,
        }
    }

    /// Levels of every object, restoring (into `refs`) the edges from a class mirror to the
    /// orphans its members name. Returns the levels and the restored edges.
    fn classify(
        &self,
        refs: &mut Csr,
        referents: &[(ObjectIndex, u8)],
        scratch: &Scratch,
    ) -> (Column<u8>, Vec<(ObjectIndex, ObjectIndex)>) {
        let classes = &self.s.classes;
        let strength_of_class = reach::reference_strengths(classes);
        let naming = reach::naming_fields(classes, &self.s.dir);
        let held_class: Vec<bool> = classes
            .classes
            .iter()
            .map(|c| reach::jvm_held_class(&c.name, c.loader_id))
            .collect();
        fn with<'g>(
            refs: &'g Csr,
            referents: &'g [(ObjectIndex, u8)],
            class_of: &'g [ClassIndex],
            strength_of_class: &'g [u8],
        ) -> ReachGraph<'g> {
            ReachGraph {
                refs,
                referents,
                class_of,
                strength_of_class,
            }
        }
        let mut level = with(refs, referents, self.class_of, &strength_of_class).classify(scratch);
        let orphans = with(refs, referents, self.class_of, &strength_of_class).orphans(&level);
        if orphans.is_empty() {
            return (level, vec![]);
        }
        let restored = with(refs, referents, self.class_of, &strength_of_class).owners(
            &level,
            &orphans,
            |v, top| {
                self.named_class(v, &naming)
                    .or_else(|| top.then(|| self.element_class(v)).flatten())
            },
            1 << 16,
        );
        let mut orphans = orphans;
        if !restored.is_empty() {
            reach::insert_edges(refs, &restored, scratch);
            level = with(refs, referents, self.class_of, &strength_of_class).classify(scratch);
            orphans = with(refs, referents, self.class_of, &strength_of_class).orphans(&level);
        }
        let is_class = |o: Node| self.class_objects.binary_search_by_key(&o, |p| p.0).is_ok();
        let class_of = |o: Node| self.class_of[o as usize] as usize;
        let jdk_class = |o: Node| {
            classes
                .classes
                .get(class_of(o))
                .is_some_and(|c| c.loader_id == 0)
        };
        // Taken with `:live`: nothing but JDK objects is left unreached (a dump with garbage in
        // it has dead application objects too, with or without a referrer: a dead order and its
        // line items refer to each other).
        // What the JVM holds outside the dump's roots (mirrors' metadata, constant pools'
        // resolved references, interned strings) is a small part of a heap: when what no root
        // reaches outweighs what roots reach (a HeapDumpOnOutOfMemoryError dump, taken without
        // a GC, full of dropped byte[]s), the dump was not taken with `:live`.
        let unreached_outweighs = || {
            let (mut reached, mut unreached) = (0u64, 0u64);
            for (o, &l) in level.iter().enumerate() {
                let size = self.shallow(o as Node);
                if l == reach::UNSEEN {
                    unreached += size;
                } else {
                    reached += size;
                }
            }
            unreached > reached
        };
        let live_dump = orphans.iter().all(|&o| is_class(o) || jdk_class(o))
            && (0..level.len() as Node)
                .filter(|&o| level[o as usize] == reach::UNSEEN)
                .all(|o| is_class(o) || jdk_class(o))
            && !unreached_outweighs();
        with(refs, referents, self.class_of, &strength_of_class).finish(
            &mut level,
            &orphans,
            |o| live_dump || is_class(o) || held_class.get(class_of(o)).copied().unwrap_or(false),
        );
        (level, restored)
    }

    /// For an array `C[]` whose elements are all instances of `C` (as `Class.enumConstants`
    /// holds), the mirror of `C`.
    fn element_class(&self, v: Node) -> Option<Node> {
        let off = self.offsets[v as usize] as usize;
        if SubTag(*self.data.get(off)?) != SubTag::OBJECT_ARRAY_DUMP {
            return None;
        }
        let classes = &self.s.classes;
        let array = classes.get(*self.class_of.get(v as usize)?);
        let ids = self.id_size as usize;
        let len = u32::from_be_bytes(
            self.data
                .get(off + L::array_length(ids)..off + L::array_length(ids) + 4)?
                .try_into()
                .ok()?,
        );
        let start = off + L::object_array_elements(ids);
        let mut element = NO_CLASS;
        for k in 0..len as usize {
            let at = start + k * ids;
            let id = read_id(self.data.get(at..at + ids)?, self.id_size);
            let c = self.class_of[self.lookup.find(self.ids, id)? as usize];
            if c == NO_CLASS || (element != NO_CLASS && c != element) {
                return None;
            }
            element = c;
        }
        if element == NO_CLASS {
            return None;
        }
        let e = classes.get(element);
        let named = array.name.strip_suffix("[]") == Some(e.name.as_str())
            && array.loader_id == e.loader_id;
        named.then(|| self.lookup.find(self.ids, e.id)).flatten()
    }

    /// The class mirror an instance names by its `clazz`-like field (see
    /// [`reach::naming_fields`]), if any.
    fn named_class(&self, v: Node, naming: &[u32]) -> Option<Node> {
        let c = *self.class_of.get(v as usize)?;
        let fo = *naming.get(c as usize)? as usize;
        if fo == u32::MAX as usize {
            return None;
        }
        let off = self.offsets[v as usize] as usize;
        if SubTag(*self.data.get(off)?) != SubTag::INSTANCE_DUMP {
            return None;
        }
        let ids = self.id_size as usize;
        let len = u32::from_be_bytes(
            self.data
                .get(off + L::instance_length(ids)..off + L::instance_fields(ids))?
                .try_into()
                .ok()?,
        ) as usize;
        if fo + ids > len {
            return None;
        }
        let at = off + L::instance_fields(ids) + fo;
        let id = read_id(self.data.get(at..at + ids)?, self.id_size);
        let t = self.lookup.find(self.ids, id)?;
        self.class_objects
            .binary_search_by_key(&t, |p| p.0)
            .is_ok()
            .then_some(t)
    }
}

/// Ids (ascending, distinct, non-zero) and record offsets of every object. HotSpot writes the
/// objects of each body in address order and the bodies in address order, with the class dumps
/// apart: then the objects are already sorted and the (few) class objects are merged in from
/// the back, in place. Anything else (truncated bodies, other writers) is sorted.
fn object_table(
    s: &Snapshot<'_>,
    progress: &(dyn Fn(u64) + Sync),
    scratch: &Scratch,
) -> (Column<u64>, Column<u64>, u64) {
    let data = s.bytes.bytes();
    let id_size = s.dir.id_size();
    let mut units: Vec<_> = s
        .census
        .units
        .iter()
        .filter(|u| u.objects > 0)
        .copied()
        .collect();
    units.sort_by_key(|u| u.min_id);
    let objects: usize = units.iter().map(|u| u.objects as usize).sum();
    let total = objects + s.classes.len();
    let mut ids: Column<u64> = scratch.hot_zeroed(total);
    let mut offsets: Column<u64> = scratch.kept_zeroed(total);
    {
        let mut slices: Vec<(&mut [u64], &mut [u64])> = Vec::with_capacity(units.len());
        let mut rest_i: &mut [u64] = &mut ids[..objects];
        let mut rest_o: &mut [u64] = &mut offsets[..objects];
        for u in &units {
            let (a, b) = rest_i.split_at_mut(u.objects as usize);
            let (c, d) = rest_o.split_at_mut(u.objects as usize);
            slices.push((a, c));
            rest_i = b;
            rest_o = d;
        }
        slices
            .into_par_iter()
            .zip(units.par_iter())
            .for_each(|((out_id, out_off), u)| {
                let mut subs =
                    crate::formats::hprof::SubRecords::new(data, u.body.start, u.body.end, id_size);
                let mut i = 0;
                while i < out_id.len() {
                    let pos = subs.position();
                    let h = if id_size == 4 {
                        subs.next_object::<4>()
                    } else {
                        subs.next_object::<8>()
                    };
                    match h {
                        Some(h) => {
                            out_id[i] = h.id;
                            out_off[i] = pos;
                            i += 1;
                        }
                        None => match subs.next_sub_record() {
                            Ok(Some(_)) => {}
                            _ => break,
                        },
                    }
                }
                // A body that ended early (truncation) leaves zero ids: removed below.
                progress((u.body.end - u.body.start) as u64 / 4);
            });
    }
    let mut classes: Vec<(u64, u64)> = s
        .classes
        .classes
        .iter()
        .map(|c| (c.id, c.dump.offset))
        .collect();
    classes.sort_unstable();
    let sorted = ids[..objects].par_windows(2).all(|w| w[0] < w[1])
        && ids.first().is_none_or(|&i| i != 0)
        && classes.windows(2).all(|w| w[0].0 < w[1].0)
        && classes.first().is_none_or(|c| c.0 != 0);
    let sorted = sorted && {
        // Merge from the back: the largest remaining of either list goes to the end.
        let (mut i, mut j, mut k) = (objects, classes.len(), total);
        let mut ok = true;
        while j > 0 {
            k -= 1;
            if i > 0 && ids[i - 1] > classes[j - 1].0 {
                ids[k] = ids[i - 1];
                offsets[k] = offsets[i - 1];
                i -= 1;
            } else {
                if i > 0 && ids[i - 1] == classes[j - 1].0 {
                    ok = false; // a class id that is also an object id: take the slow path
                    break;
                }
                ids[k] = classes[j - 1].0;
                offsets[k] = classes[j - 1].1;
                j -= 1;
            }
        }
        ok
    };
    if sorted {
        return (ids, offsets, 0);
    }
    // The general case: sort (id, offset) pairs, drop duplicates and the zero ids of bodies
    // that ended early.
    let mut pairs: Vec<(u64, u64)> = (0..objects).map(|k| (ids[k], offsets[k])).collect();
    pairs.extend(classes);
    pairs.par_sort_unstable_by_key(|p| p.0);
    // Zero ids (bodies that ended early) are not duplicates: they are dropped below.
    let zeros = pairs.iter().take_while(|p| p.0 == 0).count();
    let before = pairs.len() - zeros.saturating_sub(1);
    pairs.dedup_by_key(|p| p.0);
    let duplicates = (before - pairs.len()) as u64;
    if pairs.first().is_some_and(|p| p.0 == 0) {
        pairs.remove(0);
    }
    // As many or fewer than before: back into the same columns.
    for (k, p) in pairs.iter().enumerate() {
        ids[k] = p.0;
        offsets[k] = p.1;
    }
    ids.truncate(pairs.len());
    offsets.truncate(pairs.len());
    (ids, offsets, duplicates)
}

#[derive(Default)]
struct ChunkOut {
    targets: Vec<Node>,
    dangling: u64,
    big: Vec<(ObjectIndex, u64)>,
    referents: Vec<(ObjectIndex, u8)>,
}

/// Byte offsets of reference fields in each class's instance data, flattened; the referent
/// apart.
pub struct RefPlan {
    /// `offsets[starts[c]..starts[c + 1]]` for class index `c`.
    starts: Vec<u32>,
    offsets: Vec<u32>,
    /// Per class: the offset of `Reference.referent` (`u32::MAX`: none, or not an edge) and its
    /// strength.
    referent_at: Vec<(u32, u8)>,
}

/// Per class: the bytes of field data in its instance records (its own fields and all its
/// superclasses'), and the nearest class in its ancestry (itself included) that declares a field
/// `wanted` picks, or `NO_CLASS`. Computed once per class, superclasses first, so walks that
/// visit only the classes holding such fields cost what they find, not the hierarchy's depth.
pub fn ancestry_fields(
    classes: &crate::heap::classes::ClassTable<'_>,
    id_size: u8,
    wanted: impl Fn(&crate::formats::hprof::reader::FieldDecl) -> bool,
) -> Vec<(u32, ClassIndex)> {
    classes.per_class(|c, sup| {
        let (inherited, nearest) = sup.copied().unwrap_or((0u32, NO_CLASS));
        let has = classes.get(c).dump.fields().any(|f| wanted(&f));
        (
            inherited.saturating_add(classes.own_field_bytes(c, id_size)),
            if has { c } else { nearest },
        )
    })
}

impl RefPlan {
    /// `with_referents`: whether `Reference.referent` is an edge (not in the strong-only view).
    pub fn build(s: &Snapshot<'_>, with_referents: bool) -> RefPlan {
        let ids = s.dir.id_size() as u32;
        let classes = &s.classes;
        let reference = classes.find("java.lang.ref.Reference");
        let referent = s
            .dir
            .strings
            .iter()
            .find(|(_, v)| **v == b"referent")
            .map(|(k, _)| *k);
        let strength = reach::reference_strengths(classes);
        let mut starts = Vec::with_capacity(classes.len() + 1);
        let mut offsets = Vec::new();
        let mut referent_at = Vec::with_capacity(classes.len());
        starts.push(0);
        let facts = ancestry_fields(classes, ids as u8, |f| f.ty == BasicType::Object);
        for i in 0..classes.len() as ClassIndex {
            let mut at = u32::MAX;
            // Only classes with instances get a plan: its size is then bounded by theirs.
            let has_instances = s
                .census
                .by_class
                .get(&classes.get(i).id)
                .is_some_and(|c| c.instances > 0);
            let total = facts[i as usize].0;
            let mut k = if has_instances {
                facts[i as usize].1
            } else {
                NO_CLASS
            };
            while k != NO_CLASS {
                // Own fields first, then the superclasses': k's start after the part below it.
                let mut pos = total.saturating_sub(facts[k as usize].0);
                let is_reference = Some(k) == reference;
                for f in classes.get(k).dump.fields() {
                    if f.ty == BasicType::Object {
                        if is_reference && Some(f.name_id) == referent {
                            at = pos;
                        } else {
                            offsets.push(pos);
                        }
                    }
                    pos = pos.saturating_add(f.ty.hprof_size(ids as u8) as u32);
                }
                let p = classes.parent(k);
                k = if p == NO_CLASS {
                    NO_CLASS
                } else {
                    facts[p as usize].1
                };
            }
            let s = strength[i as usize];
            referent_at.push(if with_referents && s != reach::STRONG {
                (at, s)
            } else {
                (u32::MAX, reach::STRONG)
            });
            starts.push(offsets.len() as u32);
        }
        RefPlan {
            starts,
            offsets,
            referent_at,
        }
    }

    fn of(&self, c: ClassIndex) -> &[u32] {
        if c == NO_CLASS || c as usize + 1 >= self.starts.len() {
            return &[];
        }
        &self.offsets[self.starts[c as usize] as usize..self.starts[c as usize + 1] as usize]
    }

    /// Where the reference field at byte `at` of an instance of class `c` (field bytes `fields`)
    /// is in the instance's row of references: after the non-null reference fields before it,
    /// in the order [`EdgeCtx::object`] pushes them. Exact when no reference of the dump is
    /// dangling ([`HeapIndex::dangling`] is 0). `None` when `at` is none of the class's
    /// reference fields (`Reference.referent` is pushed last, after the class).
    pub fn row_position(
        &self,
        c: ClassIndex,
        fields: &[u8],
        at: u32,
        id_size: u8,
    ) -> Option<usize> {
        let ids = id_size as usize;
        let mut k = 0;
        for &fo in self.of(c) {
            if fo == at {
                return Some(k);
            }
            let f = fo as usize;
            if f + ids <= fields.len() && read_id(&fields[f..f + ids], id_size) != 0 {
                k += 1;
            }
        }
        None
    }
}

struct EdgeCtx<'s, 'a> {
    s: &'s Snapshot<'a>,
    data: &'s [u8],
    id_size: u8,
    ids: &'s [u64],
    lookup: &'s IdLookup,
    plan: &'s RefPlan,
    class_class: ClassIndex,
    prim_class: &'s [ClassIndex; 9],
}

impl EdgeCtx<'_, '_> {
    /// Pushes the edge to `id` (if not null); whether it was pushed.
    #[inline]
    fn push(&self, id: u64, out: &mut ChunkOut) -> bool {
        if id == 0 {
            return false;
        }
        match self.lookup.find(self.ids, id) {
            Some(t) => {
                out.targets.push(t);
                true
            }
            None => {
                out.dangling += 1;
                false
            }
        }
    }

    #[inline]
    fn id_at(&self, at: usize) -> u64 {
        match self.data.get(at..at + self.id_size as usize) {
            Some(b) => read_id(b, self.id_size),
            None => 0,
        }
    }

    fn u32_at(&self, at: usize) -> u32 {
        self.data
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0)
    }

    /// Class and shallow size of object `o`, whose record starts at `off`; pushes its references
    /// (a reference's referent last).
    fn object(&self, o: ObjectIndex, off: usize, out: &mut ChunkOut) -> (ClassIndex, u64) {
        let ids = self.id_size as usize;
        let classes: &ClassTable<'_> = &self.s.classes;
        let model = &self.s.vm.layout;
        match SubTag(self.data[off]) {
            SubTag::INSTANCE_DUMP => {
                let class_id = self.id_at(off + L::instance_class(ids));
                let len = self.u32_at(off + L::instance_length(ids)) as usize;
                let start = off + L::instance_fields(ids);
                let c = classes.index_of(class_id).unwrap_or(NO_CLASS);
                for &fo in self.plan.of(c) {
                    if (fo as usize) + ids <= len {
                        self.push(self.id_at(start + fo as usize), out);
                    }
                }
                self.push(class_id, out);
                if let Some(&(at, strength)) = self.plan.referent_at.get(c as usize) {
                    if at != u32::MAX
                        && (at as usize) + ids <= len
                        && self.push(self.id_at(start + at as usize), out)
                    {
                        out.referents.push((o, strength));
                    }
                }
                let size = if c == NO_CLASS {
                    0
                } else {
                    self.s.sizes.instance[c as usize] as u64
                };
                (c, size)
            }
            SubTag::OBJECT_ARRAY_DUMP => {
                let len = self.u32_at(off + L::array_length(ids)) as usize;
                let class_id = self.id_at(off + L::object_array_class(ids));
                let start = off + L::object_array_elements(ids);
                for k in 0..len {
                    self.push(self.id_at(start + k * ids), out);
                }
                self.push(class_id, out);
                let c = classes.index_of(class_id).unwrap_or(NO_CLASS);
                (c, model.array_size(BasicType::Object, len as u64))
            }
            SubTag::PRIMITIVE_ARRAY_DUMP => {
                let len = self.u32_at(off + L::array_length(ids)) as u64;
                let ty = BasicType::from_u8(self.data[off + L::primitive_array_type(ids)])
                    .unwrap_or(BasicType::Byte);
                (self.prim_class[ty.index()], model.array_size(ty, len))
            }
            _ => {
                // A class object: its mirror, with super, loader, signers, protection domain, statics.
                let id = self.id_at(off + L::ID);
                let Some(c) = classes.index_of(id) else {
                    return (self.class_class, 0);
                };
                let d = &classes.get(c).dump;
                for r in [
                    d.super_id,
                    d.loader_id,
                    d.signers_id,
                    d.protection_domain_id,
                ] {
                    self.push(r, out);
                }
                for st in d.statics() {
                    if st.ty == BasicType::Object {
                        self.push(read_id(st.value, self.id_size), out);
                    }
                }
                (self.class_class, self.s.sizes.mirror[c as usize] as u64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_every_id_and_nothing_else() {
        let mut ids: Vec<u64> = (0..10_000u64)
            .map(|i| 0x1000 + i * 24 + (i % 7) * 8)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.push(0x7f00_0000_0000);
        ids.push(0x7f00_0000_0010);
        let l = IdLookup::build(&ids);
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(l.find(&ids, id), Some(i as u32), "{id:#x}");
            assert_eq!(l.find(&ids, id + 1), None);
        }
        assert_eq!(l.find(&ids, 0), None);
        assert_eq!(l.find(&ids, u64::MAX), None);
        assert!(l.starts.len() <= ids.len() + 2);
        let empty = IdLookup::build(&[]);
        assert_eq!(empty.find(&[], 5), None);
    }
}
