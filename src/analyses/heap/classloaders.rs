//! Class loaders and the Metaspace they pin: which loaders exist, what they defined, why each kind
//! is still alive, generated-class families, duplicate classes, reflection inflation, and the
//! class-loader suspects `analyze` reports.
//!
//! Terms:
//! - a *loader* is an instance of a subclass of `java.lang.ClassLoader`; the classes it *defined*
//!   are those whose class dump names it as loader (HPROF records the defining loader). The
//!   bootstrap loader has no object: it is a row of its own.
//! - a loader is *idle* when it defined classes and none of them has a live (strongly reachable)
//!   instance. An idle loader that is still strongly reachable is the loader-leak signature: its
//!   classes serve nobody, yet they cannot unload.
//! - *why a loader is alive*: the shortest strong path from a GC root to it that does not pass
//!   through its own classes or their instances (those would keep it alive only if something else
//!   kept them).
//!
//! Cost: one pass over the object columns (classes of objects, reachability), per-class work over
//! the class table, and one breadth-first walk from the GC roots that stops once every loader that
//! needs a path was reached; it continues over softly held objects from the referents of the
//! `SoftReference`s it reached when a loader is held only softly (the index's reachability
//! levels say which objects are). No per-object allocation: dense `Vec`s and bitmaps indexed by object number.

use super::describe::{hex, object_ref};
use super::dump_info::{Assumptions, DumpInfo};
use super::graph::Graph;
use super::metaspace_estimate::{
    carries_generator_marks, class_meta, loader_chunks, ClassMeta, Method as MetaspaceMethod,
};
use super::paths::Step;
use super::reflection::{self, Reflection};
use crate::analyses::class_families::{
    classify, engine_of_class, engine_of_loader, Engine, FamilyKind,
};
use crate::formats::hprof::Warning;
use crate::formats::logs::metaspace::JvmMetaspace;
use crate::heap::classes::{ClassIndex, ClassTable, NO_CLASS};
use crate::heap::fxhash::{new_map, FxHashMap};
use crate::heap::graph::Node;
use crate::heap::index::{HeapIndex, ObjectIndex};
use crate::heap::reachability as reach;
use serde::Serialize;

pub const SCHEMA: &str = "oomsleuth.classloaders/1";

/// Sentinel loader slots.
const BOOT: u32 = u32::MAX - 1;
const UNKNOWN: u32 = u32::MAX;
const NONE: u32 = u32::MAX;

/// Smallest family of merely numbered names that is reported.
const MIN_NUMBERED_FAMILY: u64 = 10;

/// Thresholds for class-loader suspects.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Thresholds {
    /// A loader type with more loaders than this is a suspect.
    pub loaders_per_type: u64,
    /// A class family with more classes than this is a suspect.
    pub classes_per_family: u64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            loaders_per_type: 1_000,
            classes_per_family: 5_000,
        }
    }
}

/// Options of the `classloaders` report.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub thresholds: Thresholds,
    /// At most this many families and duplicate names (the largest).
    pub max_rows: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            thresholds: Thresholds::default(),
            max_rows: 50,
        }
    }
}

/// What a loader is to the JVM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoaderRole {
    Bootstrap,
    Platform,
    App,
    /// `DelegatingClassLoader`: one per generated reflection accessor.
    Reflection,
    Other,
}

fn role_of(type_name: &str) -> LoaderRole {
    match type_name {
        "jdk.internal.loader.ClassLoaders$PlatformClassLoader"
        | "sun.misc.Launcher$ExtClassLoader" => LoaderRole::Platform,
        "jdk.internal.loader.ClassLoaders$AppClassLoader" | "sun.misc.Launcher$AppClassLoader" => {
            LoaderRole::App
        }
        t if t.ends_with(".DelegatingClassLoader") => LoaderRole::Reflection,
        _ => LoaderRole::Other,
    }
}

/// How a loader is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// The VM itself (the bootstrap loader).
    Vm,
    /// A strong path from a GC root.
    Strong,
    /// Only through `SoftReference`s: kept until the GC runs short of memory.
    SoftOnly,
    /// No GC root reaches it (garbage not yet collected, or held only weakly).
    Unreachable,
}

/// One class loader.
#[derive(Clone, Debug, Serialize)]
pub struct LoaderRow {
    /// Object id in hex, or `bootstrap`.
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub role: LoaderRole,
    /// The `parent` field: id in hex (`null` for the bootstrap loader as parent).
    pub parent: Option<String>,
    pub parent_type: Option<String>,
    /// Classes this loader defined (array classes included).
    pub classes: u64,
    /// Strongly reachable instances of those classes.
    pub live_instances: u64,
    pub retained_bytes: u64,
    /// Estimated Metaspace pinned by this loader's classes (see `metaspace_estimate`).
    pub metaspace_estimate_bytes: u64,
    pub reachability: Reachability,
    /// Defines classes, none of which has a live instance.
    pub idle: bool,
    /// Idle yet strongly reachable: the loader-leak signature.
    pub leak_signature: bool,
}

/// A path from a GC root to a loader.
#[derive(Clone, Debug, Serialize)]
pub struct LoaderPath {
    pub reachability: Reachability,
    /// From the GC root (first) to the loader (last). For a softly held loader the step whose
    /// `via` is `referent (soft)` crosses the `SoftReference`.
    pub steps: Vec<Step>,
    /// No path avoids the loader's own classes and instances: this one goes through them.
    pub through_own_classes: bool,
    /// One line: `static WatchHandler.loaders -> ArrayList.elementData[3127] -> ExprClassLoader@0x...`.
    pub summary: String,
}

/// All loaders of one type.
#[derive(Clone, Debug, Serialize)]
pub struct LoaderGroup {
    #[serde(rename = "type")]
    pub type_name: String,
    pub role: LoaderRole,
    pub loaders: u64,
    pub classes: u64,
    pub live_instances: u64,
    /// Sum of the loaders' retained sizes.
    pub retained_bytes: u64,
    pub metaspace_estimate_bytes: u64,
    /// Loaders with the leak signature (idle, strongly reachable).
    pub idle_reachable_loaders: u64,
    pub soft_only_loaders: u64,
    pub unreachable_loaders: u64,
    /// The loader the path leads to: an idle reachable one if any, else the one with most classes
    /// (of the biggest holder).
    pub representative: Option<String>,
    /// The path of the biggest holder.
    pub path: Option<LoaderPath>,
    /// Who holds these loaders, each loader by its own path: loaders below the same field of the
    /// same object are one holder. Most loaders first; at most [`MAX_HOLDERS`].
    pub holders: Vec<LoaderHolder>,
    /// Types of the loaders' `parent` loaders (most first); `<bootstrap>` for none.
    pub parent_types: Vec<TypeCount>,
}

/// Holders listed per loader type.
pub const MAX_HOLDERS: usize = 8;

/// Loaders of one type that one holder keeps: the same object and field above each of them on its
/// own path from the GC roots (beyond the loader's own classes and their instances).
#[derive(Clone, Debug, Serialize)]
pub struct LoaderHolder {
    pub loaders: u64,
    pub classes: u64,
    pub retained_bytes: u64,
    pub metaspace_estimate_bytes: u64,
    /// The loader the path leads to.
    pub representative: String,
    pub path: LoaderPath,
}

#[derive(Clone, Debug, Serialize)]
pub struct TypeCount {
    #[serde(rename = "type")]
    pub type_name: String,
    pub loaders: u64,
}

/// Classes of one name shape.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyRow {
    pub key: String,
    pub kind: FamilyKind,
    pub label: &'static str,
    pub classes: u64,
    /// Distinct defining loaders (the bootstrap loader counts as one).
    pub loaders: u64,
    pub loader_types: Vec<TypeCount>,
    pub live_instances: u64,
    pub metaspace_estimate_bytes: u64,
    pub example: String,
    /// Who holds the loaders: the path summary of the main loader type's group.
    pub holder: Option<String>,
    /// The engine that makes these classes, from their names or their main loader type.
    pub engine: Option<Engine>,
    /// For a family spanning templates: the families of one template each it merges (their
    /// keys), else empty.
    pub templates: Vec<String>,
}

/// A class name defined by more than one loader.
#[derive(Clone, Debug, Serialize)]
pub struct DuplicateRow {
    pub name: String,
    /// Classes of this name (one per defining loader).
    pub copies: u64,
    pub loader_types: Vec<TypeCount>,
    pub live_instances: u64,
    pub holder: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoaderTotals {
    /// Loader objects (the bootstrap loader not counted).
    pub loaders: u64,
    pub loader_types: u64,
    pub classes: u64,
    pub bootstrap_classes: u64,
    pub idle_reachable_loaders: u64,
    pub soft_only_loaders: u64,
    pub metaspace_estimate_bytes: u64,
}

/// The `oomsleuth.classloaders/1` document.
#[derive(Clone, Debug, Serialize)]
pub struct ClassLoaders {
    pub schema: &'static str,
    pub dump: DumpInfo,
    pub assumptions: Assumptions,
    pub metaspace_estimate: MetaspaceMethod,
    /// The loaders' Metaspace figures are the JVM's own where it listed their type (see
    /// [`classloaders_with`]).
    pub metaspace_from_jvm: bool,
    pub totals: LoaderTotals,
    /// By type, most loaders first; the bootstrap loader first of all.
    pub groups: Vec<LoaderGroup>,
    /// Every loader: bootstrap, then by classes defined (most first), then by id.
    pub loaders: Vec<LoaderRow>,
    pub families: Vec<FamilyRow>,
    pub duplicates: Vec<DuplicateRow>,
    pub reflection: Reflection,
    pub thresholds: Thresholds,
    pub suspects: Vec<ClassLoaderSuspect>,
    pub warnings: Vec<Warning>,
}

/// What a class-loader suspect is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Generated reflection accessors, one loader each (JDK 8-17 inflation).
    ReflectionInflation,
    /// An engine or compiler making a loader per call, kept by something.
    LoaderPerCall,
    /// Scripts compiled again and again: the same names in many loaders.
    RecompiledScripts,
    /// Proxy or bytecode-generation libraries making new classes over and over.
    GeneratedProxies,
    /// Lambda forms and lambdas spun at run time.
    MethodHandles,
    /// Many loaders or classes of another kind.
    ManyClasses,
}

/// Counts behind a suspect.
#[derive(Clone, Debug, Serialize)]
pub struct SuspectCounts {
    pub loaders: u64,
    pub classes: u64,
    pub live_instances: u64,
    pub idle_reachable_loaders: u64,
    pub soft_only_loaders: u64,
    pub metaspace_estimate_bytes: u64,
    /// Heap the loaders keep (the sum of their retained sizes, a parent's counted once when its
    /// child loader dominates it).
    pub retained_bytes: u64,
    /// The threshold passed (loaders for a loader type, classes for a family).
    pub threshold: u64,
}

/// Loaders of a suspect kept by one holder.
#[derive(Clone, Debug, Serialize)]
pub struct HolderShare {
    pub loaders: u64,
    pub classes: u64,
    pub retained_bytes: u64,
    pub metaspace_estimate_bytes: u64,
    pub reachability: Reachability,
    /// One line from the last static field (or GC root) to a representative loader.
    pub path_summary: String,
}

/// The parent loaders made per call with a suspect's loaders: one finding with them.
#[derive(Clone, Debug, Serialize)]
pub struct ParentLoaders {
    #[serde(rename = "type")]
    pub type_name: String,
    pub loaders: u64,
    pub classes: u64,
    pub metaspace_estimate_bytes: u64,
}

/// One class-loader finding, self-contained: `analyze` shows it as it is. Its text rendering is
/// `reports::classloaders_text::suspect` (reports render, analyses compute).
#[derive(Clone, Debug, Serialize)]
pub struct ClassLoaderSuspect {
    pub title: String,
    pub mechanism: Mechanism,
    /// What happens, in plain words.
    pub explanation: String,
    /// The usual fix.
    pub fix: String,
    pub loader_type: Option<String>,
    /// The engine recognised by the loader type or the generated names; the reports give its
    /// advice.
    pub engine: Option<Engine>,
    pub family: Option<String>,
    pub family_kind: Option<FamilyKind>,
    /// A family spanning templates: how many template families it merges.
    pub family_templates: u64,
    pub counts: SuspectCounts,
    /// Who keeps the loaders, each loader by its own path; most loaders first.
    pub holders: Vec<HolderShare>,
    /// The loaders' parents when they too were made per call (folded into this finding).
    pub parents: Option<ParentLoaders>,
    /// `counts.metaspace_estimate_bytes` is the JVM's own figure (`VM.classloader_stats` or
    /// `VM.metaspace` given beside the dump), not an estimate.
    pub metaspace_from_jvm: bool,
    pub reachability: Option<Reachability>,
    /// From a GC root to a representative loader.
    pub path: Vec<Step>,
    pub path_summary: Option<String>,
    /// For reflection inflation: the most inflated target methods (`Class.method(args)` and count).
    pub top_targets: Vec<(String, u64)>,
}

/// The class-loader suspects of a heap: what `analyze` calls.
pub fn class_loader_suspects(
    g: &Graph<'_, '_>,
    thresholds: &Thresholds,
) -> Vec<ClassLoaderSuspect> {
    class_loader_suspects_with(g, thresholds, None)
}

/// [`class_loader_suspects`] with the JVM's own Metaspace figures, when given.
pub fn class_loader_suspects_with(
    g: &Graph<'_, '_>,
    thresholds: &Thresholds,
    jvm: Option<&JvmMetaspace>,
) -> Vec<ClassLoaderSuspect> {
    let opts = Options {
        thresholds: *thresholds,
        max_rows: 0,
    };
    classloaders_with(g, &opts, jvm).suspects
}

/// Puts the JVM's Metaspace figures in place of the estimates: a loader type the JVM lists gets
/// its chunk bytes, shared among its loaders in proportion to their estimates; with totals only,
/// every estimate is scaled to the JVM's total. Whether anything was replaced.
///
/// `VM.classloader_stats` of JDK 16 to 20 prints its ChunkSz in words (8 bytes) under the same
/// header: on JDK 17 a loader of one small class shows 768 where JDK 11, 21 and 25 show 6,144, and
/// the same JVM's `VM.metaspace` agrees with words. `jdk_feature` is the dump's JDK.
fn apply_jvm_metaspace(
    jvm: &JvmMetaspace,
    jdk_feature: u32,
    types: &[(&str, &[u32])],
    l_meta: &mut [u64],
    boot_meta: &mut u64,
) -> bool {
    let unit = if jvm.source == "classloader_stats" && (16..=20).contains(&jdk_feature) {
        8
    } else {
        1
    };
    if jvm.by_type.is_empty() {
        let Some(total) = jvm.chunk_bytes else {
            return false;
        };
        let est: u64 = l_meta.iter().sum::<u64>() + *boot_meta;
        let scale = |v: u64| (v as u128 * total as u128 / est.max(1) as u128) as u64;
        for m in l_meta.iter_mut() {
            *m = scale(*m);
        }
        *boot_meta = scale(*boot_meta);
        return true;
    }
    let mut any = false;
    if let Some(b) = jvm.of_type("<bootstrap>") {
        *boot_meta = b.chunk_bytes * unit;
        any = true;
    }
    for (name, members) in types {
        let Some(t) = jvm.of_type(name) else { continue };
        let chunk = t.chunk_bytes * unit;
        // Shares by cumulative sums, so that they add up to the JVM's figure exactly.
        let est: u64 = members.iter().map(|&s| l_meta[s as usize]).sum();
        let n = members.len() as u128;
        let (mut cum, mut given) = (0u128, 0u64);
        for &s in members.iter() {
            let m = &mut l_meta[s as usize];
            cum += if est > 0 { *m as u128 } else { 1 };
            let total = if est > 0 { est as u128 } else { n };
            let upto = (chunk as u128 * cum / total.max(1)) as u64;
            *m = upto - given;
            given = upto;
        }
        any = true;
    }
    any
}

/// Per-class facts the analysis needs, from the class table.
struct ClassFacts {
    /// Defining loader slot per class (`BOOT`, `UNKNOWN` or an index into `loaders`).
    loader_slot: Vec<u32>,
    /// Metaspace estimate per class (see `metaspace_estimate`).
    meta: Vec<ClassMeta>,
}

/// Tags for the one pass over objects.
const TAG_NONE: u8 = 0;
const TAG_LOADER: u8 = 1;
const TAG_REFLECT: u8 = 2;

/// The bootstrap loader's sums: it has no object, so no slot.
#[derive(Clone, Copy, Default)]
struct BootSums {
    classes: u64,
    live: u64,
    meta: u64,
}

/// What the passes over classes and objects find, which every later phase reads: the loader
/// objects, each class's defining loader and Metaspace, and per loader slot the classes it defined,
/// their live instances and the chunks they hold.
struct Census {
    /// `java.lang.ClassLoader`, when the dump has it.
    loader_base: Option<ClassIndex>,
    /// Loader objects in object order, so a binary search finds a loader's slot.
    loaders: Vec<ObjectIndex>,
    /// Objects of reflection's plumbing classes, for [`reflection::reflection`].
    reflect_objs: Vec<ObjectIndex>,
    /// Strongly reachable instances per class.
    live: Vec<u64>,
    facts: ClassFacts,
    /// Classes whose loader object is not in the dump.
    unknown_loader_classes: u64,
    l_classes: Vec<u64>,
    l_live: Vec<u64>,
    l_meta: Vec<u64>,
    boot: BootSums,
}

impl Census {
    fn take(g: &Graph<'_, '_>) -> Census {
        let heap = &g.heap;
        let (loader_base, tag) = tag_classes(&heap.snap.classes);
        let (live, loaders, reflect_objs) = object_pass(heap.index, &tag);
        let (facts, unknown_loader_classes) = class_facts(g, &loaders);
        let mut c = Census {
            loader_base,
            loaders,
            reflect_objs,
            live,
            facts,
            unknown_loader_classes,
            l_classes: vec![],
            l_live: vec![],
            l_meta: vec![],
            boot: BootSums::default(),
        };
        c.sum_per_loader(g);
        c
    }

    /// Per loader: classes, live instances and whole chunks (none when it defined nothing).
    fn sum_per_loader(&mut self, g: &Graph<'_, '_>) {
        let nl = self.loaders.len();
        self.l_classes = vec![0u64; nl];
        self.l_live = vec![0u64; nl];
        let mut l_used = vec![ClassMeta::default(); nl];
        for (c, &slot) in self.facts.loader_slot.iter().enumerate() {
            match slot {
                BOOT => {
                    self.boot.classes += 1;
                    self.boot.live += self.live[c];
                    self.boot.meta += self.facts.meta[c].total();
                }
                UNKNOWN => {}
                s => {
                    let s = s as usize;
                    self.l_classes[s] += 1;
                    self.l_live[s] += self.live[c];
                    l_used[s].non_class += self.facts.meta[c].non_class;
                    l_used[s].class_space += self.facts.meta[c].class_space;
                }
            }
        }
        self.l_meta = (0..nl)
            .map(|s| {
                let reflection =
                    role_of(g.heap.class_name(self.loaders[s])) == LoaderRole::Reflection;
                loader_chunks(
                    l_used[s],
                    self.l_classes[s],
                    reflection,
                    g.heap.snap.vm.jdk_feature,
                )
            })
            .collect();
    }

    /// Defines classes, none of which has a live instance.
    fn idle(&self, s: usize) -> bool {
        self.l_classes[s] > 0 && self.l_live[s] == 0
    }

    /// Idle and strongly reachable: the loader-leak signature.
    fn leak_signature(&self, g: &Graph<'_, '_>, s: usize) -> bool {
        self.idle(s) && g.heap.index.level(self.loaders[s]) == reach::STRONG
    }

    /// The type of a loader slot's loader, or what stands for it.
    fn type_of_slot<'h>(&self, g: &'h Graph<'_, '_>, s: u32) -> &'h str {
        match s {
            BOOT => "<bootstrap>",
            UNKNOWN => "<unknown loader>",
            s => g.heap.class_name(self.loaders[s as usize]),
        }
    }
}

/// `java.lang.ClassLoader` and a tag per class: loader types and reflection's plumbing.
fn tag_classes(classes: &ClassTable<'_>) -> (Option<ClassIndex>, Vec<u8>) {
    let loader_base = classes.find("java.lang.ClassLoader");
    let mut tag = vec![TAG_NONE; classes.len()];
    for (c, info) in classes.classes.iter().enumerate() {
        if info.is_array() {
            continue;
        }
        if loader_base.is_some_and(|b| classes.is_subclass_of(c as ClassIndex, b)) {
            tag[c] = TAG_LOADER;
        } else if reflection::is_reflection_plumbing(&info.name) {
            tag[c] = TAG_REFLECT;
        }
    }
    (loader_base, tag)
}

/// The one pass over objects: live instances per class, loader objects and reflection objects.
fn object_pass(index: &HeapIndex, tag: &[u8]) -> (Vec<u64>, Vec<ObjectIndex>, Vec<ObjectIndex>) {
    let mut live = vec![0u64; tag.len()];
    let mut loaders: Vec<ObjectIndex> = vec![];
    let mut reflect_objs: Vec<ObjectIndex> = vec![];
    for (v, &c) in index.class_of.iter().enumerate() {
        if c == NO_CLASS {
            continue;
        }
        let v = v as ObjectIndex;
        if index.level(v) == reach::STRONG {
            live[c as usize] += 1;
        }
        match tag[c as usize] {
            TAG_LOADER => loaders.push(v),
            TAG_REFLECT => reflect_objs.push(v),
            _ => {}
        }
    }
    (live, loaders, reflect_objs)
}

/// Per class: its defining loader's slot and its Metaspace estimate; and how many classes name a
/// loader the dump lacks.
fn class_facts(g: &Graph<'_, '_>, loaders: &[ObjectIndex]) -> (ClassFacts, u64) {
    let heap = &g.heap;
    let classes = &heap.snap.classes;
    let slot_of =
        |o: ObjectIndex| -> Option<u32> { loaders.binary_search(&o).ok().map(|s| s as u32) };
    let mut facts = ClassFacts {
        loader_slot: vec![UNKNOWN; classes.len()],
        meta: vec![ClassMeta::default(); classes.len()],
    };
    let mut unknown_loader_classes = 0u64;
    for (c, info) in classes.classes.iter().enumerate() {
        facts.loader_slot[c] = if info.loader_id == 0 {
            BOOT
        } else {
            match heap.find(info.loader_id).and_then(slot_of) {
                Some(s) => s,
                None => {
                    unknown_loader_classes += 1;
                    UNKNOWN
                }
            }
        };
        let slot = facts.loader_slot[c];
        let loader_type = (slot < BOOT).then(|| heap.class_name(loaders[slot as usize]));
        let mut kind = classify(&info.name).kind;
        let mut engine =
            engine_of_class(&info.name, kind).or_else(|| loader_type.and_then(engine_of_loader));
        let statics = info.dump.statics().map(|st| heap.field_name(st.name_id));
        if !carries_generator_marks(kind, engine, loader_type, statics) {
            // Named like a generator's output but without its marks: costed as what it shows.
            (kind, engine) = (FamilyKind::Numbered, None);
        }
        facts.meta[c] = class_meta(
            info.is_array(),
            info.dump.fields().count() as u64,
            info.dump.statics().count() as u64,
            kind,
            engine,
        );
    }
    (facts, unknown_loader_classes)
}

/// A loader's strongest reachability, as the index classified it.
fn reach_of(index: &HeapIndex, o: ObjectIndex) -> Reachability {
    match index.level(o) {
        reach::STRONG => Reachability::Strong,
        reach::SOFT => Reachability::SoftOnly,
        _ => Reachability::Unreachable,
    }
}

/// The loaders of one type, as slots.
struct TypeGroup {
    class: ClassIndex,
    members: Vec<u32>,
}

/// Loaders grouped by type, in order of first appearance.
fn type_groups(index: &HeapIndex, loaders: &[ObjectIndex]) -> Vec<TypeGroup> {
    let mut group_of_type: FxHashMap<ClassIndex, usize> = new_map();
    let mut accs: Vec<TypeGroup> = vec![];
    for (s, &o) in loaders.iter().enumerate() {
        let c = index.class_of[o as usize];
        let gi = *group_of_type.entry(c).or_insert_with(|| {
            accs.push(TypeGroup {
                class: c,
                members: vec![],
            });
            accs.len() - 1
        });
        accs[gi].members.push(s as u32);
    }
    accs
}

pub fn classloaders(g: &Graph<'_, '_>, opts: &Options) -> ClassLoaders {
    classloaders_with(g, opts, None)
}

/// [`classloaders`], with the JVM's own Metaspace figures (`VM.classloader_stats` or
/// `VM.metaspace` of the same JVM) in place of the estimates where they cover a loader type.
pub fn classloaders_with(
    g: &Graph<'_, '_>,
    opts: &Options,
    jvm: Option<&JvmMetaspace>,
) -> ClassLoaders {
    let heap = &g.heap;
    let classes = &heap.snap.classes;
    let mut census = Census::take(g);
    let mut accs = type_groups(heap.index, &census.loaders);
    let metaspace_from_jvm = jvm.is_some_and(|j| {
        let types: Vec<(&str, &[u32])> = accs
            .iter()
            .map(|a| (classes.get(a.class).name.as_str(), a.members.as_slice()))
            .collect();
        apply_jvm_metaspace(
            j,
            heap.snap.vm.jdk_feature,
            &types,
            &mut census.l_meta,
            &mut census.boot.meta,
        )
    });
    // Largest groups first: they get the path searches while the budget lasts.
    accs.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.class.cmp(&b.class))
    });
    let groups = loader_groups(g, &census, &accs);
    let holder_of_type: FxHashMap<&str, String> = groups
        .iter()
        .filter_map(|gr| Some((gr.type_name.as_str(), gr.path.as_ref()?.summary.clone())))
        .collect();
    let rows = loader_rows(g, &census);
    let mut families = family_rows(g, &census, &holder_of_type);
    let mut duplicates = duplicate_rows(g, &census, &holder_of_type);
    let refl = reflection::reflection(g, &census.reflect_objs);
    let union_retained = |types: &[&str]| -> u64 {
        let members: Vec<ObjectIndex> = accs
            .iter()
            .filter(|a| types.contains(&classes.get(a.class).name.as_str()))
            .flat_map(|a| a.members.iter().map(|&s| census.loaders[s as usize]))
            .collect();
        union_retained(g, &members)
    };
    let mut suspects = suspects(
        &groups,
        &families,
        &duplicates,
        &refl,
        &opts.thresholds,
        &union_retained,
    );
    for s in suspects.iter_mut().filter(|s| s.loader_type.is_some()) {
        s.metaspace_from_jvm = metaspace_from_jvm;
    }
    if opts.max_rows > 0 {
        families.truncate(opts.max_rows);
        duplicates.truncate(opts.max_rows);
    }
    let totals = LoaderTotals {
        loaders: census.loaders.len() as u64,
        loader_types: accs.len() as u64,
        classes: classes.len() as u64,
        bootstrap_classes: census.boot.classes,
        idle_reachable_loaders: rows.iter().filter(|r| r.leak_signature).count() as u64,
        soft_only_loaders: rows
            .iter()
            .filter(|r| r.reachability == Reachability::SoftOnly)
            .count() as u64,
        metaspace_estimate_bytes: rows.iter().map(|r| r.metaspace_estimate_bytes).sum(),
    };
    ClassLoaders {
        schema: SCHEMA,
        dump: DumpInfo::of(heap.snap),
        assumptions: Assumptions::of(heap.snap),
        metaspace_estimate: MetaspaceMethod::new(),
        metaspace_from_jvm,
        totals,
        groups,
        loaders: rows,
        families,
        duplicates,
        reflection: refl,
        thresholds: opts.thresholds,
        suspects,
        warnings: census_warnings(g, &census),
    }
}

/// The dump's warnings, and what the census could not place.
fn census_warnings(g: &Graph<'_, '_>, census: &Census) -> Vec<Warning> {
    let mut warnings = g.heap.warnings();
    if census.loader_base.is_none() {
        warnings.push(Warning {
            offset: 0,
            message: "the dump has no class java.lang.ClassLoader: no loader objects can be found (is it a complete HotSpot dump?)".into(),
        });
    }
    if census.unknown_loader_classes > 0 {
        warnings.push(Warning {
            offset: 0,
            message: format!("{} classes name a loader object that is not in the dump; they are counted under no loader", census.unknown_loader_classes),
        });
    }
    warnings
}

/// One group per loader type (most loaders first, the bootstrap loader first of all), each with
/// its loaders' sums, reachability, holders (each loader by its own path) and parents.
fn loader_groups(g: &Graph<'_, '_>, census: &Census, accs: &[TypeGroup]) -> Vec<LoaderGroup> {
    let heap = &g.heap;
    let index = heap.index;
    let loaders = &census.loaders;
    // One walk reaches every loader: each loader's own holder comes from its own path.
    let mut finder = PathFinder::new(g, &census.facts, loaders);
    finder.walk(loaders);
    let reach_of = |o: ObjectIndex| reach_of(index, o);
    let mut groups: Vec<LoaderGroup> = accs
        .iter()
        .map(|a| {
            let type_name = heap.snap.classes.get(a.class).name.clone();
            let mut gr = LoaderGroup {
                role: role_of(&type_name),
                type_name,
                loaders: a.members.len() as u64,
                classes: 0,
                live_instances: 0,
                retained_bytes: 0,
                metaspace_estimate_bytes: 0,
                idle_reachable_loaders: 0,
                soft_only_loaders: 0,
                unreachable_loaders: 0,
                representative: None,
                path: None,
                holders: vec![],
                parent_types: vec![],
            };
            for &s in &a.members {
                let s = s as usize;
                let o = loaders[s];
                gr.classes += census.l_classes[s];
                gr.live_instances += census.l_live[s];
                gr.retained_bytes += g.retained(o);
                gr.metaspace_estimate_bytes += census.l_meta[s];
                match reach_of(o) {
                    Reachability::Strong if census.idle(s) => gr.idle_reachable_loaders += 1,
                    Reachability::SoftOnly => gr.soft_only_loaders += 1,
                    Reachability::Unreachable => gr.unreachable_loaders += 1,
                    _ => {}
                }
            }
            gr.holders = holders_of(&a.members, &mut finder, &reach_of, &|s| {
                (
                    census.leak_signature(g, s),
                    census.l_classes[s],
                    census.l_meta[s],
                    g.retained(loaders[s]),
                )
            });
            match gr.holders.first() {
                Some(h) => {
                    gr.representative = Some(h.representative.clone());
                    gr.path = Some(h.path.clone());
                }
                None => {
                    let o = loaders[representative(g, census, &a.members)];
                    gr.representative = Some(hex(heap.id(o)));
                    gr.path = Some(finder.path_to(o, reach_of(o)));
                }
            }
            gr.parent_types = parent_types(g, &a.members, loaders);
            gr
        })
        .collect();
    groups.sort_by(|a, b| {
        b.loaders
            .cmp(&a.loaders)
            .then(b.classes.cmp(&a.classes))
            .then(a.type_name.cmp(&b.type_name))
    });
    groups.insert(
        0,
        LoaderGroup {
            type_name: "<bootstrap>".into(),
            role: LoaderRole::Bootstrap,
            loaders: 1,
            classes: census.boot.classes,
            live_instances: census.boot.live,
            retained_bytes: 0,
            metaspace_estimate_bytes: census.boot.meta,
            idle_reachable_loaders: 0,
            soft_only_loaders: 0,
            unreachable_loaders: 0,
            representative: None,
            path: None,
            holders: vec![],
            parent_types: vec![],
        },
    );
    groups
}

/// A group's representative loader slot: an idle strongly reachable loader with most classes,
/// else the one with most classes (the first of equals).
fn representative(g: &Graph<'_, '_>, census: &Census, members: &[u32]) -> usize {
    members
        .iter()
        .map(|&s| s as usize)
        .max_by_key(|&s| {
            (
                census.leak_signature(g, s),
                census.l_classes[s],
                std::cmp::Reverse(s),
            )
        })
        .unwrap_or(0)
}

/// Every loader: the bootstrap loader, then by classes defined (most first), then by slot.
fn loader_rows(g: &Graph<'_, '_>, census: &Census) -> Vec<LoaderRow> {
    let heap = &g.heap;
    let nl = census.loaders.len();
    let mut rows: Vec<LoaderRow> = Vec::with_capacity(nl + 1);
    rows.push(LoaderRow {
        id: "bootstrap".into(),
        type_name: "<bootstrap>".into(),
        role: LoaderRole::Bootstrap,
        parent: None,
        parent_type: None,
        classes: census.boot.classes,
        live_instances: census.boot.live,
        retained_bytes: 0,
        metaspace_estimate_bytes: census.boot.meta,
        reachability: Reachability::Vm,
        idle: false,
        leak_signature: false,
    });
    let mut order: Vec<usize> = (0..nl).collect();
    order.sort_by(|&a, &b| {
        census.l_classes[b]
            .cmp(&census.l_classes[a])
            .then(a.cmp(&b))
    });
    for s in order {
        let o = census.loaders[s];
        let parent = heap.field_object(o, "parent");
        let r = reach_of(heap.index, o);
        rows.push(LoaderRow {
            id: hex(heap.id(o)),
            type_name: heap.class_name(o).to_string(),
            role: role_of(heap.class_name(o)),
            parent: parent.map(|p| hex(heap.id(p))),
            parent_type: parent.map(|p| heap.class_name(p).to_string()),
            classes: census.l_classes[s],
            live_instances: census.l_live[s],
            retained_bytes: g.retained(o),
            metaspace_estimate_bytes: census.l_meta[s],
            reachability: r,
            idle: census.idle(s),
            leak_signature: census.leak_signature(g, s),
        });
    }
    rows
}

/// A family being counted.
struct FamAcc {
    kind: FamilyKind,
    classes: u64,
    live: u64,
    meta: u64,
    example: ClassIndex,
    slots: Vec<u32>,
    /// Families of distinct templates merged into this one (empty: none).
    templates: Vec<String>,
}

/// Classes by family key (plain names left out).
fn collect_families(g: &Graph<'_, '_>, census: &Census) -> FxHashMap<String, FamAcc> {
    let mut fams: FxHashMap<String, FamAcc> = new_map();
    for (c, info) in g.heap.snap.classes.classes.iter().enumerate() {
        if info.is_array() {
            continue;
        }
        let f = classify(&info.name);
        if f.kind == FamilyKind::Plain {
            continue;
        }
        let e = fams.entry(f.key).or_insert(FamAcc {
            kind: f.kind,
            classes: 0,
            live: 0,
            meta: 0,
            example: c as ClassIndex,
            slots: vec![],
            templates: vec![],
        });
        e.classes += 1;
        e.live += census.live[c];
        e.meta += census.facts.meta[c].total();
        e.slots.push(census.facts.loader_slot[c]);
    }
    fams
}

/// Families that span templates: numbered names of one package whose classes per-call loaders of
/// one type define (`...gen.credit_note_js_<n>`, `...gen.invoice_js_<n>`: one engine's classes) are
/// one family, `...gen.*_<n>`. Only for loaders that are not the JVM's own.
fn merge_spanning_templates(
    g: &Graph<'_, '_>,
    census: &Census,
    fams: &mut FxHashMap<String, FamAcc>,
) {
    let main_slot = |slots: &[u32]| -> u32 {
        let mut m: FxHashMap<&str, (u64, u32)> = new_map();
        for &s in slots {
            let e = m.entry(census.type_of_slot(g, s)).or_insert((0, s));
            e.0 += 1;
        }
        m.into_values()
            .max_by_key(|x| (x.0, std::cmp::Reverse(x.1)))
            .map(|x| x.1)
            .unwrap_or(UNKNOWN)
    };
    let mut spans: FxHashMap<(String, &str), Vec<String>> = new_map();
    for (key, a) in fams.iter() {
        if a.kind != FamilyKind::Numbered {
            continue;
        }
        let ms = main_slot(&a.slots);
        if matches!(ms, BOOT | UNKNOWN) || role_of(census.type_of_slot(g, ms)) != LoaderRole::Other
        {
            continue;
        }
        if let Some(sk) = crate::analyses::class_families::spanning_key(key) {
            spans
                .entry((sk, census.type_of_slot(g, ms)))
                .or_default()
                .push(key.clone());
        }
    }
    for ((sk, _), mut keys) in spans {
        if keys.len() < 2 || fams.contains_key(&sk) {
            continue;
        }
        keys.sort();
        let mut merged: Option<FamAcc> = None;
        for k in &keys {
            let Some(a) = fams.remove(k) else { continue };
            match &mut merged {
                None => merged = Some(a),
                Some(m) => {
                    m.classes += a.classes;
                    m.live += a.live;
                    m.meta += a.meta;
                    m.slots.extend(a.slots);
                }
            }
        }
        if let Some(mut m) = merged {
            m.templates = keys;
            fams.insert(sk, m);
        }
    }
}

/// The distinct loader slots of `slots` and their loaders per type.
fn slot_type_counts(
    g: &Graph<'_, '_>,
    census: &Census,
    slots: &mut Vec<u32>,
) -> (u64, Vec<TypeCount>) {
    slots.sort_unstable();
    slots.dedup();
    let mut m: FxHashMap<&str, u64> = new_map();
    for &s in slots.iter() {
        *m.entry(census.type_of_slot(g, s)).or_default() += 1;
    }
    (slots.len() as u64, type_counts(m))
}

/// Generated-class families, most classes first.
fn family_rows(
    g: &Graph<'_, '_>,
    census: &Census,
    holder_of_type: &FxHashMap<&str, String>,
) -> Vec<FamilyRow> {
    let mut fams = collect_families(g, census);
    merge_spanning_templates(g, census, &mut fams);
    let mut families: Vec<FamilyRow> = fams
        .into_iter()
        // Generated kinds from two classes on; other numbered names only from ten, so that
        // `UTF_8`/`UTF_16` and `Foo$1`/`Foo$2` do not read as families.
        .filter(|(_, a)| {
            a.classes
                >= if a.kind.is_generated() {
                    2
                } else {
                    MIN_NUMBERED_FAMILY
                }
        })
        .map(|(key, mut a)| {
            let (nloaders, loader_types) = slot_type_counts(g, census, &mut a.slots);
            let holder = loader_types
                .first()
                .and_then(|t| holder_of_type.get(t.type_name.as_str()).cloned());
            let example = g.heap.snap.classes.get(a.example).name.clone();
            let engine = engine_of_class(&example, a.kind).or_else(|| {
                loader_types
                    .first()
                    .and_then(|t| engine_of_loader(&t.type_name))
            });
            FamilyRow {
                key,
                kind: a.kind,
                label: a.kind.label(),
                classes: a.classes,
                loaders: nloaders,
                loader_types,
                live_instances: a.live,
                metaspace_estimate_bytes: a.meta,
                example,
                holder,
                engine,
                templates: a.templates,
            }
        })
        .collect();
    families.sort_by(|a, b| b.classes.cmp(&a.classes).then(a.key.cmp(&b.key)));
    families
}

/// Class names defined by more than one loader, most copies first.
fn duplicate_rows(
    g: &Graph<'_, '_>,
    census: &Census,
    holder_of_type: &FxHashMap<&str, String>,
) -> Vec<DuplicateRow> {
    let mut by_name: FxHashMap<&str, Vec<ClassIndex>> = new_map();
    for (c, info) in g.heap.snap.classes.classes.iter().enumerate() {
        if !info.is_array() {
            by_name
                .entry(info.name.as_str())
                .or_default()
                .push(c as ClassIndex);
        }
    }
    let mut duplicates: Vec<DuplicateRow> = by_name
        .into_iter()
        .filter(|(_, cs)| cs.len() > 1)
        .map(|(name, cs)| {
            let mut slots: Vec<u32> = cs
                .iter()
                .map(|&c| census.facts.loader_slot[c as usize])
                .collect();
            let (_, loader_types) = slot_type_counts(g, census, &mut slots);
            let holder = loader_types
                .first()
                .and_then(|t| holder_of_type.get(t.type_name.as_str()).cloned());
            DuplicateRow {
                name: name.to_string(),
                copies: cs.len() as u64,
                loader_types,
                live_instances: cs.iter().map(|&c| census.live[c as usize]).sum(),
                holder,
            }
        })
        .collect();
    duplicates.sort_by(|a, b| b.copies.cmp(&a.copies).then(a.name.cmp(&b.name)));
    duplicates
}

/// Per-loader facts [`holders_of`] sums: (leak signature, classes, Metaspace estimate, retained).
type LoaderFacts<'f> = &'f dyn Fn(usize) -> (bool, u64, u64, u64);

/// The holders of one type's loaders (`members` are loader slots): loaders are grouped by
/// [`PathFinder::holder_key`] of their own paths, softly held and unreachable ones apart. Most
/// loaders first, at most [`MAX_HOLDERS`]; each with the path to its representative.
fn holders_of(
    members: &[u32],
    finder: &mut PathFinder<'_, '_, '_>,
    reach_of: &dyn Fn(ObjectIndex) -> Reachability,
    facts_of: LoaderFacts<'_>,
) -> Vec<LoaderHolder> {
    let mut by_key: FxHashMap<(u8, Node, Node), Vec<usize>> = new_map();
    for &s in members {
        let s = s as usize;
        let o = finder.loaders[s];
        let key = match reach_of(o) {
            Reachability::Strong => match finder.holder_key(o) {
                Some((a, b)) => (0, a, b),
                None => (1, NONE, NONE),
            },
            Reachability::SoftOnly => (2, NONE, NONE),
            _ => (3, NONE, NONE),
        };
        by_key.entry(key).or_default().push(s);
    }
    let mut parts: Vec<((u8, Node, Node), Vec<usize>)> = by_key.into_iter().collect();
    parts.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    parts.truncate(MAX_HOLDERS);
    parts
        .into_iter()
        .map(|(_, slots)| {
            let (mut classes, mut meta, mut retained) = (0, 0, 0);
            for &s in &slots {
                let (_, c, m, r) = facts_of(s);
                classes += c;
                meta += m;
                retained += r;
            }
            let rep = slots
                .iter()
                .copied()
                .max_by_key(|&s| {
                    let f = facts_of(s);
                    (f.0, f.1, std::cmp::Reverse(s))
                })
                .unwrap_or(0);
            let o = finder.loaders[rep];
            LoaderHolder {
                loaders: slots.len() as u64,
                classes,
                retained_bytes: retained,
                metaspace_estimate_bytes: meta,
                representative: hex(finder.g.heap.id(o)),
                path: finder.path_to(o, reach_of(o)),
            }
        })
        .collect()
}

/// The heap `members` keep: each one's retained size, unless another member dominates it (then it
/// is inside that one's). Dominators are looked for 64 levels up at most.
fn union_retained(g: &Graph<'_, '_>, members: &[ObjectIndex]) -> u64 {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let n = g.heap.index.len();
    sorted
        .iter()
        .filter(|&&o| {
            let mut v = o;
            for _ in 0..64 {
                match g.retention.idom(v) {
                    Some(d) if (d as usize) < n => {
                        if sorted.binary_search(&d).is_ok() {
                            return false;
                        }
                        v = d;
                    }
                    _ => return true,
                }
            }
            true
        })
        .map(|&o| g.retained(o))
        .sum()
}

/// The types of the `parent` loaders of `members` (loader slots), most first.
fn parent_types(g: &Graph<'_, '_>, members: &[u32], loaders: &[ObjectIndex]) -> Vec<TypeCount> {
    let mut m: FxHashMap<&str, u64> = new_map();
    for &s in members {
        let t = match g.heap.field_object(loaders[s as usize], "parent") {
            Some(p) => g.heap.class_name(p),
            None => "<bootstrap>",
        };
        *m.entry(t).or_default() += 1;
    }
    type_counts(m)
}

/// Loader counts per type, most loaders first (ties by name).
fn type_counts(m: FxHashMap<&str, u64>) -> Vec<TypeCount> {
    let mut v: Vec<TypeCount> = m
        .into_iter()
        .map(|(t, k)| TypeCount {
            type_name: t.to_string(),
            loaders: k,
        })
        .collect();
    v.sort_by(|a, b| {
        b.loaders
            .cmp(&a.loaders)
            .then(a.type_name.cmp(&b.type_name))
    });
    v
}

// ---------------------------------------------------------------------------------------------------
// Suspects

/// Heap a set of loaders keeps: the sum of their retained sizes, each loader that another of the
/// set dominates (a parent held only by its child) counted once, inside its dominator.
type UnionRetained<'f> = &'f dyn Fn(&[&str]) -> u64;

/// The parent group of `gr` made per call with it: most of `gr`'s loaders have a parent of that
/// type, it is a suspect by itself too, and it defines no more classes than `gr` (the children
/// define the generated classes). A loader and its parent made per call are one finding.
fn per_call_parent<'g>(
    gr: &LoaderGroup,
    groups: &'g [LoaderGroup],
    t: &Thresholds,
) -> Option<&'g LoaderGroup> {
    let pt = gr.parent_types.first()?;
    if pt.type_name == gr.type_name || pt.loaders * 2 <= gr.loaders {
        return None;
    }
    groups.iter().find(|p| {
        p.type_name == pt.type_name
            && p.role == LoaderRole::Other
            && p.loaders > t.loaders_per_type
            && p.classes <= gr.classes
    })
}

fn suspects(
    groups: &[LoaderGroup],
    families: &[FamilyRow],
    duplicates: &[DuplicateRow],
    refl: &Reflection,
    t: &Thresholds,
    union_retained: UnionRetained<'_>,
) -> Vec<ClassLoaderSuspect> {
    let mut out: Vec<(u64, ClassLoaderSuspect)> = vec![];
    let mut covered_types: Vec<&str> = vec![];
    let candidates: Vec<&LoaderGroup> = groups
        .iter()
        .filter(|g| g.role != LoaderRole::Bootstrap && g.loaders > t.loaders_per_type)
        .collect();
    // Parents folded into their children's finding.
    let folded: Vec<(&str, &LoaderGroup)> = candidates
        .iter()
        .filter_map(|g| Some((g.type_name.as_str(), per_call_parent(g, groups, t)?)))
        .collect();
    for gr in candidates {
        if folded.iter().any(|(_, p)| p.type_name == gr.type_name)
            && !folded.iter().any(|(c, _)| *c == gr.type_name)
        {
            covered_types.push(&gr.type_name);
            continue; // told with its children
        }
        let parent = folded
            .iter()
            .find(|(c, _)| *c == gr.type_name)
            .map(|(_, p)| *p);
        // The family most of this type's classes belong to.
        let fam = families
            .iter()
            .filter(|f| {
                f.loader_types
                    .first()
                    .is_some_and(|x| x.type_name == gr.type_name)
            })
            .min_by(|a, b| b.classes.cmp(&a.classes).then(a.key.cmp(&b.key)));
        let dup = duplicates
            .iter()
            .filter(|d| {
                d.loader_types
                    .first()
                    .is_some_and(|x| x.type_name == gr.type_name)
            })
            .min_by(|a, b| b.copies.cmp(&a.copies).then(a.name.cmp(&b.name)));
        let mechanism = if gr.role == LoaderRole::Reflection {
            Mechanism::ReflectionInflation
        } else if let Some(f) = fam {
            mechanism_of_kind(f.kind, dup.is_some())
        } else if dup.is_some() {
            Mechanism::RecompiledScripts
        } else {
            Mechanism::LoaderPerCall
        };
        let mut types = vec![gr.type_name.as_str()];
        types.extend(parent.map(|p| p.type_name.as_str()));
        let meta = gr.metaspace_estimate_bytes + parent.map_or(0, |p| p.metaspace_estimate_bytes);
        let mut s = make_suspect(
            mechanism,
            Some(gr),
            fam,
            dup,
            refl,
            SuspectCounts {
                loaders: gr.loaders,
                classes: gr.classes,
                live_instances: gr.live_instances,
                idle_reachable_loaders: gr.idle_reachable_loaders,
                soft_only_loaders: gr.soft_only_loaders,
                metaspace_estimate_bytes: meta,
                retained_bytes: union_retained(&types),
                threshold: t.loaders_per_type,
            },
        );
        s.parents = parent.map(|p| ParentLoaders {
            type_name: p.type_name.clone(),
            loaders: p.loaders,
            classes: p.classes,
            metaspace_estimate_bytes: p.metaspace_estimate_bytes,
        });
        covered_types.extend(types);
        out.push((s.counts.retained_bytes + meta, s));
    }
    for f in families {
        if f.classes <= t.classes_per_family {
            continue;
        }
        let main_type = f.loader_types.first().map(|x| x.type_name.as_str());
        if main_type.is_some_and(|m| covered_types.contains(&m)) {
            continue;
        }
        let gr = main_type.and_then(|m| groups.iter().find(|g| g.type_name == m));
        let dup = duplicates.iter().find(|d| classify(&d.name).key == f.key);
        let s = make_suspect(
            mechanism_of_kind(f.kind, dup.is_some()),
            gr.filter(|g| g.role != LoaderRole::Bootstrap),
            Some(f),
            dup,
            refl,
            SuspectCounts {
                loaders: f.loaders,
                classes: f.classes,
                live_instances: f.live_instances,
                idle_reachable_loaders: 0,
                soft_only_loaders: 0,
                metaspace_estimate_bytes: f.metaspace_estimate_bytes,
                retained_bytes: 0,
                threshold: t.classes_per_family,
            },
        );
        out.push((f.metaspace_estimate_bytes, s));
    }
    // Ranked by what they cost: heap plus Metaspace.
    out.sort_by_key(|x| std::cmp::Reverse(x.0));
    out.into_iter().map(|(_, s)| s).collect()
}

fn mechanism_of_kind(kind: FamilyKind, duplicated: bool) -> Mechanism {
    match kind {
        FamilyKind::ReflectionMethodAccessor
        | FamilyKind::ReflectionConstructorAccessor
        | FamilyKind::SerializationConstructorAccessor => Mechanism::ReflectionInflation,
        FamilyKind::ExpressionScript => Mechanism::LoaderPerCall,
        FamilyKind::GroovyScript | FamilyKind::GroovyClosure => Mechanism::RecompiledScripts,
        FamilyKind::DynamicProxy
        | FamilyKind::Cglib
        | FamilyKind::ByteBuddy
        | FamilyKind::Javassist => Mechanism::GeneratedProxies,
        FamilyKind::LambdaForm | FamilyKind::Lambda => Mechanism::MethodHandles,
        _ if duplicated => Mechanism::RecompiledScripts,
        _ => Mechanism::ManyClasses,
    }
}

fn make_suspect(
    mechanism: Mechanism,
    gr: Option<&LoaderGroup>,
    fam: Option<&FamilyRow>,
    dup: Option<&DuplicateRow>,
    refl: &Reflection,
    counts: SuspectCounts,
) -> ClassLoaderSuspect {
    let path = gr.and_then(|g| g.path.as_ref());
    let holder = path.map(|p| p.summary.clone());
    let what = match (gr, fam) {
        (Some(g), _) => format!("{} loaders of type {}", counts.loaders, g.type_name),
        (None, Some(f)) => format!("{} classes of family {}", counts.classes, f.key),
        _ => String::new(),
    };
    let holders: Vec<HolderShare> = gr
        .map(|g| {
            g.holders
                .iter()
                .map(|h| HolderShare {
                    loaders: h.loaders,
                    classes: h.classes,
                    retained_bytes: h.retained_bytes,
                    metaspace_estimate_bytes: h.metaspace_estimate_bytes,
                    reachability: h.path.reachability,
                    path_summary: h.path.summary.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let held = if holders.len() > 1 {
        let parts: Vec<String> = holders
            .iter()
            .map(|h| format!("{} by {}", h.loaders, h.path_summary))
            .collect();
        format!(
            " They are kept by {} holders: {}.",
            holders.len(),
            parts.join("; ")
        )
    } else {
        match path.map(|p| p.reachability) {
            Some(Reachability::SoftOnly) => {
                " They are held only through SoftReferences.".to_string()
            }
            Some(Reachability::Strong) => match &holder {
                Some(h) => format!(" They are kept by {h}."),
                None => String::new(),
            },
            _ => String::new(),
        }
    };
    let idle = if counts.idle_reachable_loaders > 0 {
        format!(
            " {} of the loaders define classes with no live instance yet stay reachable: their classes can never unload.",
            counts.idle_reachable_loaders
        )
    } else {
        String::new()
    };
    let fam_text = fam
        .map(|f| format!(" Their classes are named like {} ({}).", f.key, f.label))
        .unwrap_or_default();
    let dup_text = dup
        .map(|d| {
            format!(
                " The class {} alone is defined {} times, once per loader.",
                d.name, d.copies
            )
        })
        .unwrap_or_default();
    let targets: Vec<(String, u64)> = if mechanism == Mechanism::ReflectionInflation {
        refl.top_methods(5)
    } else {
        vec![]
    };
    let (title, explanation, fix) = match mechanism {
        Mechanism::ReflectionInflation => (
            format!("Reflection inflation: {what}"),
            format!(
                "Each reflective Method or Constructor invoked more than sun.reflect.inflationThreshold times (15) gets a generated accessor class in a DelegatingClassLoader of its own; Method objects that are dropped and looked up again are inflated again, so accessor classes pile up in Metaspace.{held}{} {}",
                if targets.is_empty() { String::new() } else { format!(" Most inflated: {}.", targets.iter().map(|(m, k)| format!("{m} ({k})")).collect::<Vec<_>>().join(", ")) },
                refl.note,
            ),
            "Cache the Method objects strongly (not in a SoftReference or WeakHashMap), or raise -Dsun.reflect.inflationThreshold (or set -Dsun.reflect.noInflation=false with a high threshold) so fewer accessors are generated; on JDK 18+ reflection uses method handles and this goes away.".to_string(),
        ),
        Mechanism::LoaderPerCall => (
            format!("Class loader per call: {what}"),
            format!("Something creates a new class loader for each call (an expression or template engine compiling every expression afresh) and something else keeps every loader, so none of their classes unload and Metaspace grows with traffic.{fam_text}{held}{idle}"),
            "Create the engine once and cache compiled expressions (e.g. AviatorEvaluator.compile(expr, true)); remove the strong reference that keeps the loaders (an agent's or registry's list: hold them weakly or drop them when done).".to_string(),
        ),
        Mechanism::RecompiledScripts => (
            format!("Scripts compiled again and again: {what}"),
            format!("The same scripts are compiled by fresh class loaders over and over (e.g. GroovyShell.parse per call or concurrent parses), so the same class names are defined many times.{dup_text}{fam_text}{held}{idle}"),
            "Compile each script once and cache the compiled Class or Script (keyed by its text), reuse one GroovyClassLoader, and call clearCache() when scripts are replaced.".to_string(),
        ),
        Mechanism::GeneratedProxies => (
            format!("Proxy classes generated over and over: {what}"),
            format!("A proxy or bytecode library (java.lang.reflect.Proxy, cglib, ByteBuddy, Javassist) generates new classes repeatedly instead of reusing them, often because each call makes a new class loader or a new callback type.{fam_text}{held}{idle}"),
            "Reuse the proxy factory (cglib Enhancer.setUseCache(true), one ByteBuddy TypeCache, Proxy.getProxyClass with a stable loader and interface set) and do not create a class loader per proxy.".to_string(),
        ),
        Mechanism::MethodHandles => (
            format!("Lambda forms or lambdas spun at run time: {what}"),
            format!("Method handles or lambdas are being spun into new hidden classes repeatedly (e.g. MethodHandles bound per call, or lambdas in classes that are themselves generated).{fam_text}{held}"),
            "Cache MethodHandles and CallSites; avoid generating classes that contain lambdas per call.".to_string(),
        ),
        Mechanism::ManyClasses => (
            format!("Many class loaders or classes: {what}"),
            format!("More loaders or classes of one kind than an application normally needs; each pins Metaspace until its loader is collected.{fam_text}{dup_text}{held}{idle}"),
            "Find who creates these loaders (the path below shows who keeps them) and reuse one loader, or release the reference so they can unload.".to_string(),
        ),
    };
    ClassLoaderSuspect {
        title,
        mechanism,
        explanation,
        fix,
        loader_type: gr.map(|g| g.type_name.clone()),
        engine: gr
            .and_then(|g| engine_of_loader(&g.type_name))
            .or_else(|| fam.and_then(|f| f.engine)),
        family: fam.map(|f| f.key.clone()),
        family_kind: fam.map(|f| f.kind),
        family_templates: fam.map_or(0, |f| f.templates.len() as u64),
        holders,
        parents: None,
        metaspace_from_jvm: false,
        reachability: path.map(|p| p.reachability),
        path: path.map(|p| p.steps.clone()).unwrap_or_default(),
        path_summary: holder,
        counts,
        top_targets: targets,
    }
}

/// How many of `v`'s `len` successors are strong edges: all but its referent (the last of its
/// row), if `v` is a reference.
fn strong_len(index: &crate::heap::index::HeapIndex, v: Node, len: usize) -> usize {
    if (v as usize) < index.len() && index.referent_strength(v).is_some() {
        len.saturating_sub(1)
    } else {
        len
    }
}

/// A bitmap over object numbers.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n / 64 + 1])
    }
    #[inline]
    fn get(&self, i: u32) -> bool {
        self.0[i as usize / 64] >> (i % 64) & 1 == 1
    }
    #[inline]
    fn set(&mut self, i: u32) {
        self.0[i as usize / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: u32) {
        self.0[i as usize / 64] &= !(1 << (i % 64));
    }
}

// ---------------------------------------------------------------------------------------------------
// Paths

/// Breadth-first paths from the GC roots to loaders.
struct PathFinder<'g, 's, 'a> {
    g: &'g Graph<'s, 'a>,
    facts: &'g ClassFacts,
    loaders: &'g [ObjectIndex],
    /// BFS parent of each node reached by the strong walk (`NONE` when not reached).
    parent: Vec<Node>,
    class_class: ClassIndex,
    /// Node visits left for the searches that avoid a loader's own classes.
    exclusion_budget: u64,
    /// Parents for those searches, allocated on first use and reset after each.
    scratch: Vec<Node>,
}

impl<'g, 's, 'a> PathFinder<'g, 's, 'a> {
    fn new(g: &'g Graph<'s, 'a>, facts: &'g ClassFacts, loaders: &'g [ObjectIndex]) -> Self {
        PathFinder {
            g,
            facts,
            loaders,
            parent: vec![],
            class_class: g
                .heap
                .snap
                .classes
                .find("java.lang.Class")
                .unwrap_or(NO_CLASS),
            // Two walks of the whole heap at most, whatever the number of groups.
            exclusion_budget: 2 * g.heap.index.len() as u64 + 1_000_000,
            scratch: vec![],
        }
    }

    /// One breadth-first walk from the virtual root that stops once every strongly or softly
    /// held target has been reached: strong edges over strongly held objects first, then, from
    /// the referents of the `SoftReference`s reached, over softly held ones (as the index
    /// classified them). A softly held target's path is thus a strong path to a `SoftReference`
    /// followed by soft referents and strong edges among softly held objects.
    fn walk(&mut self, targets: &[ObjectIndex]) {
        let index = self.g.heap.index;
        let n = index.len();
        let root = index.virtual_root();
        let mut want = Bits::new(n);
        // Targets left per level: strong, soft.
        let mut remaining = [0usize; 2];
        for &t in targets {
            let l = index.level(t);
            if (t as usize) < n && l <= reach::SOFT && !want.get(t) {
                want.set(t);
                remaining[l as usize] += 1;
            }
        }
        self.parent = vec![NONE; n + 1];
        self.parent[root as usize] = root;
        let mut queue: Vec<Node> = vec![root];
        let mut soft_seeds: Vec<Node> = vec![];
        for k in [reach::STRONG, reach::SOFT] {
            if k == reach::SOFT {
                queue = std::mem::take(&mut soft_seeds);
            }
            let mut head = 0;
            while head < queue.len() && remaining[k as usize..].iter().sum::<usize>() > 0 {
                let v = queue[head];
                head += 1;
                // Strong edges only: a referent (soft, weak, ...) is not what holds a loader.
                let succ = index.refs.successors(v);
                let strong = strong_len(index, v, succ.len());
                let soft_referent = (strong < succ.len()
                    && index.referent_strength(v) == Some(reach::SOFT))
                .then(|| succ[strong]);
                for (i, &w) in succ[..strong]
                    .iter()
                    .chain(soft_referent.iter())
                    .enumerate()
                {
                    if (w as usize) >= n || self.parent[w as usize] != NONE {
                        continue;
                    }
                    // Through a soft referent only into softly held objects.
                    let l = if i < strong { k } else { reach::SOFT };
                    if index.level(w) != l {
                        continue;
                    }
                    self.parent[w as usize] = v;
                    if want.get(w) {
                        want.clear(w);
                        remaining[l as usize] -= 1;
                    }
                    if l == k {
                        queue.push(w);
                    } else {
                        soft_seeds.push(w);
                    }
                }
            }
        }
    }

    /// Who holds `loader` on the strong walk's tree: the nearest object above it, beyond its own
    /// classes and their instances, that is a class (its statics) or a GC root's object, and the
    /// node just below that on the path (the field's value). Loaders with equal keys hang below
    /// the same field of the same object: 1,800 loaders in one cache and 16 in another are two
    /// keys, however their paths differ below the caches.
    fn holder_key(&self, loader: ObjectIndex) -> Option<(Node, Node)> {
        let root = self.g.heap.index.virtual_root();
        let slot = self.loaders.binary_search(&loader).ok()? as u32;
        let index = self.g.heap.index;
        let parent = |x: Node| self.parent.get(x as usize).copied().unwrap_or(NONE);
        let mut below = loader;
        let mut v = parent(loader);
        for _ in 0..10_000_000 {
            if v == NONE {
                return None;
            }
            let p = parent(v);
            if v == root || p == root {
                return Some((v, below));
            }
            let is_class = index.class_of.get(v as usize) == Some(&self.class_class);
            if is_class && !self.own_slot(v, slot) {
                return Some((v, below));
            }
            below = v;
            v = p;
        }
        None
    }

    /// Whether `v` is one of `loader`'s classes or an instance of one.
    fn own(&self, v: Node, loader: ObjectIndex) -> bool {
        match self.loaders.binary_search(&loader) {
            Ok(slot) => self.own_slot(v, slot as u32),
            Err(_) => false,
        }
    }

    /// [`own`](Self::own) with the loader's slot looked up already (for the hot loop).
    #[inline]
    fn own_slot(&self, v: Node, slot: u32) -> bool {
        let index = self.g.heap.index;
        let Some(&c) = index.class_of.get(v as usize) else {
            return false;
        };
        if c == NO_CLASS {
            return false;
        }
        if self.facts.loader_slot[c as usize] == slot {
            return true;
        }
        c == self.class_class
            && index
                .class_of_object(v)
                .is_some_and(|k| self.facts.loader_slot[k as usize] == slot)
    }

    /// Nodes from the virtual root (excluded) to `target`, by a BFS tree given as parents.
    fn chain(parent: impl Fn(Node) -> Node, root: Node, target: Node) -> Option<Vec<Node>> {
        let mut v = target;
        let mut out = vec![v];
        let mut guard = 0usize;
        while v != root {
            let p = parent(v);
            if p == NONE {
                return None;
            }
            if p != root {
                out.push(p);
            }
            v = p;
            guard += 1;
            if guard > 10_000_000 {
                return None;
            }
        }
        out.reverse();
        Some(out)
    }

    /// A BFS from the roots that never enters `loader`'s own classes or instances. It may walk
    /// much of the heap, so all such walks together share a budget of node visits; a walk that
    /// runs out gives up (`None`, and the caller keeps the path through the loader's classes).
    fn walk_avoiding(&mut self, loader: ObjectIndex) -> Option<Vec<Node>> {
        let index = self.g.heap.index;
        let n = index.len();
        let root = index.virtual_root();
        let slot = self.loaders.binary_search(&loader).ok()? as u32;
        if self.scratch.len() != n + 1 {
            self.scratch = vec![NONE; n + 1];
        }
        let mut queue: Vec<Node> = vec![root];
        self.scratch[root as usize] = root;
        let mut head = 0;
        let mut found = false;
        'walk: while head < queue.len() {
            if self.exclusion_budget == 0 {
                break;
            }
            self.exclusion_budget -= 1;
            let v = queue[head];
            head += 1;
            let succ = index.refs.successors(v);
            let strong = strong_len(index, v, succ.len());
            for &w in &succ[..strong] {
                if (w as usize) >= n || self.scratch[w as usize] != NONE || self.own_slot(w, slot) {
                    continue;
                }
                self.scratch[w as usize] = v;
                queue.push(w);
                if w == loader {
                    found = true;
                    break 'walk;
                }
            }
        }
        let scratch = &self.scratch;
        let path = found
            .then(|| Self::chain(|x| scratch[x as usize], root, loader))
            .flatten();
        // Reset only what this walk touched.
        for &v in &queue {
            self.scratch[v as usize] = NONE;
        }
        path
    }

    fn path_to(&mut self, loader: ObjectIndex, reach: Reachability) -> LoaderPath {
        let root = self.g.heap.index.virtual_root();
        let mut through_own = false;
        let nodes: Option<Vec<Node>> = match reach {
            Reachability::Strong => {
                let p = &self.parent;
                let tree =
                    Self::chain(|x| p.get(x as usize).copied().unwrap_or(NONE), root, loader);
                match tree {
                    Some(t) if t[..t.len() - 1].iter().any(|&v| self.own(v, loader)) => {
                        if self.exclusion_budget > 0 {
                            match self.walk_avoiding(loader) {
                                Some(p) => Some(p),
                                None => {
                                    through_own = true;
                                    Some(t)
                                }
                            }
                        } else {
                            through_own = true;
                            Some(t)
                        }
                    }
                    t => t,
                }
            }
            Reachability::SoftOnly => {
                let p = &self.parent;
                Self::chain(|x| p.get(x as usize).copied().unwrap_or(NONE), root, loader)
            }
            _ => None,
        };
        if reach == Reachability::SoftOnly {
            // Only softly held loaders are usually reached through their own classes (a
            // generated accessor's class names its DelegatingClassLoader): say so.
            through_own = nodes
                .as_ref()
                .is_some_and(|ns| ns[..ns.len() - 1].iter().any(|&v| self.own(v, loader)));
        }
        let steps = nodes.map(|ns| self.steps(&ns)).unwrap_or_default();
        let summary = summarize(&steps, reach, through_own);
        LoaderPath {
            reachability: reach,
            steps,
            through_own_classes: through_own,
            summary,
        }
    }

    fn steps(&self, nodes: &[Node]) -> Vec<Step> {
        let g = self.g;
        let root = g.heap.index.virtual_root();
        let mut prev = root;
        nodes
            .iter()
            .map(|&v| {
                let via = if g.heap.index.referent_edge(prev, v) == Some(reach::SOFT) {
                    "referent (soft)".to_string()
                } else {
                    g.edge_label(prev, v)
                };
                prev = v;
                Step {
                    object: object_ref(&g.heap, v),
                    via,
                    retained_bytes: g.retained(v),
                }
            })
            .collect()
    }
}

fn simple(class: &str) -> &str {
    let c = class.strip_prefix("class ").unwrap_or(class);
    c.rsplit('.').next().unwrap_or(c)
}

/// One line for a path: from its last static field (or its GC root) to its last object.
pub(crate) fn summarize(steps: &[Step], reach: Reachability, through_own: bool) -> String {
    let Some(last) = steps.last() else {
        return match reach {
            Reachability::Unreachable => {
                "unreachable: no GC root reaches it (garbage in a dump taken without :live)".into()
            }
            _ => "no path found".into(),
        };
    };
    // Start at the last step reached through a static field, else at the GC root.
    let start = steps
        .iter()
        .rposition(|s| s.via.starts_with("static "))
        .unwrap_or(0);
    let mut parts: Vec<String> = vec![];
    if start == 0 && !steps[0].via.starts_with("static ") {
        parts.push(format!(
            "{} ({})",
            simple(&steps[0].object.class),
            steps[0].via
        ));
    }
    for k in start.max(if parts.is_empty() { 0 } else { 1 })..steps.len() {
        let s = &steps[k];
        if s.via.starts_with('[') {
            if let Some(p) = parts.last_mut() {
                p.push_str(&s.via);
                continue;
            }
        }
        let owner = if k > 0 {
            &steps[k - 1].object
        } else {
            &s.object
        };
        let owner_name = if owner.class == "java.lang.Class" {
            simple(owner.description.as_str()).to_string()
        } else {
            simple(&owner.class).to_string()
        };
        if let Some(f) = s.via.strip_prefix("static ") {
            parts.push(format!("static {owner_name}.{f}"));
        } else {
            parts.push(format!("{owner_name}.{}", s.via));
        }
    }
    parts.push(format!("{}@{}", simple(&last.object.class), last.object.id));
    let mut line = parts.join(" -> ");
    if reach == Reachability::SoftOnly {
        line.push_str(" (held only softly)");
    }
    if through_own {
        line.push_str(" (only through its own classes or their instances)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyses::heap::describe::ObjectRef;

    fn step(class: &str, description: &str, via: &str) -> Step {
        Step {
            object: ObjectRef {
                id: "0x10".into(),
                class: class.into(),
                description: description.into(),
            },
            via: via.into(),
            retained_bytes: 0,
        }
    }

    #[test]
    fn summary_starts_at_the_last_static_field() {
        let steps = vec![
            step("a.AppLoader", "a.AppLoader", "GC root (jni-global)"),
            step("java.util.ArrayList", "java.util.ArrayList", "classes"),
            step("java.lang.Object[]", "java.lang.Object[6]", "elementData"),
            step("java.lang.Class", "class com.x.Agent$WatchHandler", "[2]"),
            step(
                "java.util.ArrayList",
                "java.util.ArrayList",
                "static loaders",
            ),
            step("java.lang.Object[]", "java.lang.Object[9]", "elementData"),
            step("com.x.EngineLoader", "com.x.EngineLoader", "[7]"),
        ];
        assert_eq!(
            summarize(&steps, Reachability::Strong, false),
            "static Agent$WatchHandler.loaders -> ArrayList.elementData[7] -> EngineLoader@0x10"
        );
    }

    #[test]
    fn summary_without_static_field_starts_at_the_root() {
        let steps = vec![
            step(
                "java.lang.Thread",
                "java.lang.Thread \"main\"",
                "GC root (thread-object)",
            ),
            step("com.x.L", "com.x.L", "contextClassLoader"),
        ];
        assert_eq!(
            summarize(&steps, Reachability::SoftOnly, true),
            "Thread (GC root (thread-object)) -> Thread.contextClassLoader -> L@0x10 (held only softly) (only through its own classes or their instances)"
        );
        assert!(summarize(&[], Reachability::Unreachable, false).starts_with("unreachable"));
    }

    #[test]
    fn roles() {
        assert_eq!(
            role_of("jdk.internal.loader.ClassLoaders$AppClassLoader"),
            LoaderRole::App
        );
        assert_eq!(
            role_of("sun.misc.Launcher$ExtClassLoader"),
            LoaderRole::Platform
        );
        assert_eq!(
            role_of("sun.reflect.DelegatingClassLoader"),
            LoaderRole::Reflection
        );
        assert_eq!(
            role_of("groovy.lang.GroovyClassLoader$InnerLoader"),
            LoaderRole::Other
        );
    }
}
