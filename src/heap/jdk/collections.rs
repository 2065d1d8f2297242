//! JDK collections as Java sees them: a collection's logical size, its capacity, and its entries
//! (key and value) or elements, read from the dump across the JDK 5-25 field layouts.
//!
//! This is the only module that knows a JDK collection's private fields (as shark's
//! `OpenJdkInstanceRefReaders` and MAT's `collectionextract` are for those tools). A
//! [`CollectionModel`] decides once per class what it is ([`Kind`]) and where the fields it needs
//! are (a plan of offsets), so reading a million collections costs one record parse per object
//! touched and no allocation per object. User subclasses are recognised through the class
//! hierarchy: the nearest JDK class in a class's ancestry decides its plan, and fields are looked
//! up in that JDK class (a subclass's own field named `size` does not shadow `HashMap.size`).
//!
//! Hostile input: every walk is bounded (a chain is cut where it cycles, found with Brent's
//! algorithm; a whole walk takes at most as many steps as the dump has objects, fewer when a size
//! field says how many there are), and nothing here panics on a field of the wrong type or an
//! array that is not there.

use crate::formats::hprof::reader::read_id;
use crate::formats::hprof::{BasicType, SubRecord};
use crate::heap::classes::{ClassIndex, NO_CLASS};
use crate::heap::fxhash::FxHashMap;
use crate::heap::index::{ObjectIndex, RefPlan};
use crate::heap::objects::{Heap, Value};
use crate::heap::snapshot::Snapshot;
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
    /// Other plumbing: list nodes, tree bins, segments, counter cells, `ThreadLocalMap`.
    Internal,
    /// An array (its role depends on who holds it).
    Array,
}

/// Size and capacity of one collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// What Java's `size()` returns.
    pub size: u64,
    /// Slots allocated (hash table or array length); `None` where the type has no fixed capacity.
    pub capacity: Option<u64>,
}

/// One entry of a map, or one element of another collection (`key` is `None` then).
///
/// `None` in `key` or `value` is a null reference (or one to an object the dump lacks). Sets
/// give their elements as `value` (a `HashSet`'s elements are its map's keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// The object that holds this entry (`HashMap$Node`, `LinkedList$Node`), if there is one.
    pub node: Option<ObjectIndex>,
    pub key: Option<ObjectIndex>,
    pub value: Option<ObjectIndex>,
}

impl Item {
    /// The element a person would name: the value, else the key.
    pub fn element(&self) -> Option<ObjectIndex> {
        self.value.or(self.key)
    }
}

/// A field of a class's instances: where it is in the record's field data and its type.
#[derive(Clone, Copy, Debug)]
struct Field {
    at: u32,
    ty: BasicType,
}

/// How the elements of a linked collection are reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Links {
    /// From `first` along `next`, every node an element (`LinkedList` 7+, `LinkedBlockingDeque`).
    Plain,
    /// `LinkedList` 5-6: a circular list through a `header` sentinel that is not an element.
    Circular,
    /// `LinkedBlockingQueue`: `head` is a dummy; elements follow it.
    DummyHead,
    /// `ConcurrentLinkedQueue`/`Deque`: nodes with a null item are deleted ones; a node linked to
    /// itself was unlinked. A deque's `head` may be past the first node (rewind through `prev`).
    Lazy { rewind: bool },
}

/// How a collection's size is read.
#[derive(Clone, Copy, Debug)]
enum Count {
    /// An `int`/`long` field.
    Field(Field),
    /// An `AtomicInteger`/`AtomicLong` field (its `value`).
    Atomic(Field),
    /// Counted by walking the elements (`ConcurrentLinkedQueue`, `ConcurrentSkipListMap`).
    Walk,
}

/// Where the fields of one collection class are, decided once per class.
#[derive(Clone, Copy, Debug)]
enum Plan {
    None,
    /// A hash table of chained nodes: `HashMap`, `Hashtable`, `WeakHashMap`, `ThreadLocalMap`,
    /// JDK 5-7 `ConcurrentHashMap$Segment`.
    Chained {
        table: Field,
        size: Field,
    },
    /// JDK 8+ `ConcurrentHashMap`: `baseCount` plus its counter cells.
    Concurrent {
        table: Field,
        base: Field,
        cells: Option<Field>,
    },
    /// JDK 5-7 `ConcurrentHashMap`: an array of segments, each a chained table.
    Segmented {
        segments: Field,
    },
    /// A set over a map (`HashSet.map`, `TreeSet.m`): its elements are the map's keys.
    KeysOf {
        map: Field,
    },
    /// A wrapper or view around another collection (`Collections$Unmodifiable*`, ...).
    Delegate {
        inner: Field,
    },
    /// `IdentityHashMap`: keys and values side by side in one array.
    Identity {
        table: Field,
        size: Field,
    },
    /// `TreeMap`: a red-black tree from `root`.
    Tree {
        root: Field,
        size: Field,
    },
    /// `ConcurrentSkipListMap`: the base-level list below `head`.
    SkipList {
        head: Field,
    },
    /// The first `size` slots of an array (the whole array when there is no size field).
    Prefix {
        array: Field,
        size: Option<Field>,
    },
    /// A circular array: `ArrayDeque` (`head`, `tail`), `ArrayBlockingQueue` (`takeIndex`, `count`).
    Ring {
        array: Field,
        head: Field,
        end: Field,
        end_is_count: bool,
    },
    /// Nodes linked from `first`.
    Linked {
        first: Field,
        count: Count,
        links: Links,
    },
    /// `EnumMap`: values by ordinal, keys from the enum's constants.
    Enum {
        universe: Field,
        vals: Field,
        size: Field,
    },
    /// `RegularEnumSet` (a `long` bit set) and `JumboEnumSet` (a `long[]` and a size).
    EnumBits {
        universe: Field,
        bits: Field,
        size: Option<Field>,
    },
    /// Up to two elements in fields (`List12`, `Set12`), or one entry (`Map1`,
    /// `SingletonMap`), or one element that may be null (`SingletonList`, `fixed`).
    Slots {
        a: Field,
        b: Option<Field>,
        pairs: bool,
        fixed: bool,
    },
    /// An open-addressed table with a size field (`ImmutableCollections$SetN`, `$MapN`).
    Probe {
        table: Field,
        size: Field,
        pairs: bool,
    },
    /// Always empty (`Collections$EmptyList`, ...).
    Empty,
}

/// What a node class is to the walks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum NodeRole {
    #[default]
    None,
    /// A map entry or list node: an element.
    Entry,
    /// `ConcurrentHashMap$TreeBin`: its nodes hang from `first`.
    TreeBin,
    /// `ConcurrentHashMap$ForwardingNode`: the bin moved to `nextTable` during a resize.
    Forward,
    /// `ConcurrentHashMap$ReservationNode`: a placeholder, no entry.
    Skip,
}

/// Where the fields of a node class are.
#[derive(Clone, Copy, Debug, Default)]
struct NodePlan {
    role: NodeRole,
    key: Option<Field>,
    value: Option<Field>,
    next: Option<Field>,
    prev: Option<Field>,
    left: Option<Field>,
    right: Option<Field>,
    /// `TreeBin.first`, `ForwardingNode.nextTable`, `Index.node` (skip lists).
    link: Option<Field>,
}

/// The layouts this module knows, named by the JDK class that has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Chained,
    Concurrent,
    Segment,
    KeysOf(&'static str),
    Delegate(&'static str),
    Properties,
    Identity,
    Tree,
    SkipList,
    Prefix(&'static str, Option<&'static str>),
    Deque,
    BlockingRing,
    Linked(&'static str, Links),
    LinkedBlockingQueue,
    LinkedBlockingDeque,
    EnumMap,
    RegularEnumSet,
    JumboEnumSet,
    Slots(&'static str, Option<&'static str>, bool, bool),
    Probe(&'static str, bool),
    Empty,
    /// A node class: an entry or list node (or the special CHM bins).
    Node(NodeRole),
    /// Plumbing with no plan of its own (counter cells, skip-list indexes).
    Plumbing,
}

use Layout as L;

/// Every JDK class this module knows: its Java name, what it is, and its layout. A class not
/// listed takes the entry of its nearest listed superclass.
const KNOWN: &[(&str, Kind, Layout)] = &[
    ("java.util.HashMap", Kind::Map, L::Chained),
    ("java.util.Hashtable", Kind::Map, L::Chained),
    ("java.util.Properties", Kind::Map, L::Properties),
    ("java.util.WeakHashMap", Kind::Map, L::Chained),
    ("java.util.IdentityHashMap", Kind::Map, L::Identity),
    ("java.util.TreeMap", Kind::Map, L::Tree),
    ("java.util.EnumMap", Kind::Map, L::EnumMap),
    (
        "java.util.concurrent.ConcurrentHashMap",
        Kind::Map,
        L::Concurrent,
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$Segment",
        Kind::Internal,
        L::Segment,
    ),
    (
        "java.util.concurrent.ConcurrentSkipListMap",
        Kind::Map,
        L::SkipList,
    ),
    (
        "java.lang.ThreadLocal$ThreadLocalMap",
        Kind::Internal,
        L::Chained,
    ),
    (
        "java.util.Collections$UnmodifiableMap",
        Kind::Map,
        L::Delegate("m"),
    ),
    (
        "java.util.Collections$SynchronizedMap",
        Kind::Map,
        L::Delegate("m"),
    ),
    (
        "java.util.Collections$CheckedMap",
        Kind::Map,
        L::Delegate("m"),
    ),
    ("java.util.Collections$EmptyMap", Kind::Map, L::Empty),
    (
        "java.util.Collections$SingletonMap",
        Kind::Map,
        L::Slots("k", Some("v"), true, true),
    ),
    (
        "java.util.ImmutableCollections$Map1",
        Kind::Map,
        L::Slots("k0", Some("v0"), true, true),
    ),
    (
        "java.util.ImmutableCollections$MapN",
        Kind::Map,
        L::Probe("table", true),
    ),
    ("java.util.HashSet", Kind::Collection, L::KeysOf("map")),
    ("java.util.TreeSet", Kind::Collection, L::KeysOf("m")),
    (
        "java.util.concurrent.ConcurrentSkipListSet",
        Kind::Collection,
        L::KeysOf("m"),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$KeySetView",
        Kind::Collection,
        L::KeysOf("map"),
    ),
    (
        "java.util.Collections$SetFromMap",
        Kind::Collection,
        L::KeysOf("m"),
    ),
    (
        "java.util.concurrent.CopyOnWriteArraySet",
        Kind::Collection,
        L::Delegate("al"),
    ),
    (
        "java.util.concurrent.DelayQueue",
        Kind::Collection,
        L::Delegate("q"),
    ),
    (
        "java.util.Collections$UnmodifiableCollection",
        Kind::Collection,
        L::Delegate("c"),
    ),
    (
        "java.util.Collections$SynchronizedCollection",
        Kind::Collection,
        L::Delegate("c"),
    ),
    (
        "java.util.Collections$CheckedCollection",
        Kind::Collection,
        L::Delegate("c"),
    ),
    (
        "java.util.Collections$EmptyList",
        Kind::Collection,
        L::Empty,
    ),
    ("java.util.Collections$EmptySet", Kind::Collection, L::Empty),
    (
        "java.util.Collections$SingletonList",
        Kind::Collection,
        L::Slots("element", None, false, true),
    ),
    (
        "java.util.Collections$SingletonSet",
        Kind::Collection,
        L::Slots("element", None, false, true),
    ),
    (
        "java.util.ArrayList",
        Kind::Collection,
        L::Prefix("elementData", Some("size")),
    ),
    (
        "java.util.Vector",
        Kind::Collection,
        L::Prefix("elementData", Some("elementCount")),
    ),
    (
        "java.util.PriorityQueue",
        Kind::Collection,
        L::Prefix("queue", Some("size")),
    ),
    (
        "java.util.concurrent.PriorityBlockingQueue",
        Kind::Collection,
        L::Prefix("queue", Some("size")),
    ),
    (
        "java.util.concurrent.CopyOnWriteArrayList",
        Kind::Collection,
        L::Prefix("array", None),
    ),
    (
        "java.util.Arrays$ArrayList",
        Kind::Collection,
        L::Prefix("a", None),
    ),
    (
        "java.util.ImmutableCollections$ListN",
        Kind::Collection,
        L::Prefix("elements", None),
    ),
    (
        "java.util.ImmutableCollections$List12",
        Kind::Collection,
        L::Slots("e0", Some("e1"), false, false),
    ),
    (
        "java.util.ImmutableCollections$Set12",
        Kind::Collection,
        L::Slots("e0", Some("e1"), false, false),
    ),
    (
        "java.util.ImmutableCollections$SetN",
        Kind::Collection,
        L::Probe("elements", false),
    ),
    ("java.util.ArrayDeque", Kind::Collection, L::Deque),
    (
        "java.util.concurrent.ArrayBlockingQueue",
        Kind::Collection,
        L::BlockingRing,
    ),
    (
        "java.util.LinkedList",
        Kind::Collection,
        L::Linked("first", Links::Plain),
    ),
    (
        "java.util.concurrent.LinkedBlockingQueue",
        Kind::Collection,
        L::LinkedBlockingQueue,
    ),
    (
        "java.util.concurrent.LinkedBlockingDeque",
        Kind::Collection,
        L::LinkedBlockingDeque,
    ),
    (
        "java.util.concurrent.ConcurrentLinkedQueue",
        Kind::Collection,
        L::Linked("head", Links::Lazy { rewind: false }),
    ),
    (
        "java.util.concurrent.ConcurrentLinkedDeque",
        Kind::Collection,
        L::Linked("head", Links::Lazy { rewind: true }),
    ),
    (
        "java.util.RegularEnumSet",
        Kind::Collection,
        L::RegularEnumSet,
    ),
    ("java.util.JumboEnumSet", Kind::Collection, L::JumboEnumSet),
    // Nodes and plumbing. The most specific names first is not needed: the nearest listed
    // class in a class's ancestry wins.
    (
        "java.util.HashMap$Node",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.HashMap$Entry",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.Hashtable$Entry",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.WeakHashMap$Entry",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.TreeMap$Entry",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$Node",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$HashEntry",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$TreeBin",
        Kind::Internal,
        L::Node(NodeRole::TreeBin),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$ForwardingNode",
        Kind::Internal,
        L::Node(NodeRole::Forward),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$ReservationNode",
        Kind::Internal,
        L::Node(NodeRole::Skip),
    ),
    (
        "java.util.concurrent.ConcurrentHashMap$CounterCell",
        Kind::Internal,
        L::Plumbing,
    ),
    (
        "java.util.concurrent.ConcurrentSkipListMap$Node",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.ConcurrentSkipListMap$Index",
        Kind::Internal,
        L::Plumbing,
    ),
    (
        "java.lang.ThreadLocal$ThreadLocalMap$Entry",
        Kind::Entry,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.LinkedList$Node",
        Kind::Internal,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.LinkedList$Entry",
        Kind::Internal,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.ConcurrentLinkedQueue$Node",
        Kind::Internal,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.ConcurrentLinkedDeque$Node",
        Kind::Internal,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.LinkedBlockingQueue$Node",
        Kind::Internal,
        L::Node(NodeRole::Entry),
    ),
    (
        "java.util.concurrent.LinkedBlockingDeque$Node",
        Kind::Internal,
        L::Node(NodeRole::Entry),
    ),
];

/// How deep wrappers may nest (`unmodifiableSet(synchronizedSet(...))`) before a walk gives up.
const MAX_NESTING: u32 = 8;

/// Every class's [`Kind`] and, for collections and their nodes, where their fields are.
pub struct CollectionModel {
    id_size: u8,
    kinds: Vec<Kind>,
    plans: Vec<Plan>,
    nodes: Vec<NodePlan>,
    /// `ImmutableCollections.EMPTY`: the "no second element" marker of `List12`/`Set12` (JDK 15+).
    immutable_empty: Option<u64>,
    /// Each class's reference fields in the order the index resolved them: a field is read from
    /// its position in the object's row of edges, not by an id lookup (see [`Resolver`]).
    refs: RefPlan,
}

impl CollectionModel {
    /// Plans for every class of the dump, from the class names and their hierarchy. Analyses
    /// use the snapshot's copy, [`Snapshot::collections`](crate::heap::snapshot::Snapshot).
    pub fn of(snap: &Snapshot<'_>) -> CollectionModel {
        let classes = &snap.classes;
        let n = classes.len();
        let mut kinds = vec![Kind::Other; n];
        let mut plans = vec![Plan::None; n];
        let mut nodes = vec![NodePlan::default(); n];
        let by_name: FxHashMap<&str, usize> =
            KNOWN.iter().enumerate().map(|(k, e)| (e.0, k)).collect();
        let known: FxHashMap<ClassIndex, usize> = (0..n as ClassIndex)
            .filter_map(|c| Some((c, *by_name.get(classes.get(c).name.as_str())?)))
            .collect();
        // The nearest known class in each class's ancestry, computed superclasses first.
        let nearest: Vec<Option<(ClassIndex, usize)>> =
            classes.per_class(|c, sup| known.get(&c).map(|&e| (c, e)).or(sup.copied().flatten()));
        for c in 0..n as ClassIndex {
            if classes.get(c).is_array() {
                kinds[c as usize] = Kind::Array;
                continue;
            }
            let Some((base, entry)) = nearest[c as usize] else {
                continue;
            };
            let (_, kind, layout) = KNOWN[entry];
            kinds[c as usize] = kind;
            let f = Fields {
                snap,
                class: c,
                base,
            };
            match layout {
                L::Node(role) => nodes[c as usize] = f.node(role),
                L::Plumbing => {}
                _ => plans[c as usize] = f.plan(layout).unwrap_or(Plan::None),
            }
        }
        let immutable_empty = classes
            .find("java.util.ImmutableCollections")
            .and_then(|c| classes.static_object(&snap.dir, c, "EMPTY"))
            .filter(|&id| id != 0);
        CollectionModel {
            id_size: snap.dir.id_size(),
            kinds,
            plans,
            nodes,
            immutable_empty,
            refs: RefPlan::build(snap, false),
        }
    }

    /// The kind of a class (`Kind::Array` for primitive arrays without a class, `NO_CLASS`).
    pub fn class(&self, c: ClassIndex) -> Kind {
        if c == NO_CLASS {
            return Kind::Array;
        }
        self.kinds.get(c as usize).copied().unwrap_or(Kind::Other)
    }

    /// The kind of an object (a `java.lang.Class` mirror is `Other`).
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

    /// Whether this module can read the size and elements of instances of class `c`.
    pub fn is_readable(&self, c: ClassIndex) -> bool {
        !matches!(self.plan(c), Plan::None)
    }

    fn plan(&self, c: ClassIndex) -> Plan {
        self.plans.get(c as usize).copied().unwrap_or(Plan::None)
    }

    fn node(&self, c: ClassIndex) -> NodePlan {
        self.nodes.get(c as usize).copied().unwrap_or_default()
    }

    /// Size and capacity of a collection; `None` when `o` is not one this module can read.
    pub fn size(&self, heap: &Heap<'_, '_>, o: ObjectIndex) -> Option<Extent> {
        self.size_at(heap, o, 0)
    }

    /// Calls `f` with each entry or element of collection `o`, in Java's iteration order where
    /// that is cheap to follow, until `f` returns false. Returns how many items `f` was given, or
    /// `None` when `o` is not a collection this module can read.
    pub fn for_each(
        &self,
        heap: &Heap<'_, '_>,
        o: ObjectIndex,
        f: &mut dyn FnMut(Item) -> bool,
    ) -> Option<u64> {
        let mut w = Walk {
            m: self,
            heap,
            f,
            // No collection has more distinct nodes than the dump has objects.
            left: heap.index.len() as u64 + 16,
            spent: 0,
            given: 0,
            stopped: false,
        };
        w.collection(o, 0)?;
        Some(w.given)
    }

    /// Up to `max` entries or elements of `o` (empty when it is not a collection).
    pub fn items(&self, heap: &Heap<'_, '_>, o: ObjectIndex, max: usize) -> Vec<Item> {
        let mut out = vec![];
        self.for_each(heap, o, &mut |item| {
            out.push(item);
            out.len() < max
        });
        out
    }

    /// The key and value of a map entry node (`HashMap$Node`, `WeakHashMap$Entry`, ...).
    pub fn entry(&self, heap: &Heap<'_, '_>, node: ObjectIndex) -> Option<Item> {
        let p = self.node(heap.class(node));
        if p.role != NodeRole::Entry {
            return None;
        }
        let fields = instance(heap, node)?;
        Some(Item {
            node: Some(node),
            key: p.key.and_then(|k| self.obj(heap, fields, k)),
            value: p.value.and_then(|v| self.obj(heap, fields, v)),
        })
    }

    fn size_at(&self, heap: &Heap<'_, '_>, o: ObjectIndex, depth: u32) -> Option<Extent> {
        if depth > MAX_NESTING {
            return None;
        }
        let plan = self.plan(heap.class(o));
        if matches!(plan, Plan::None) || heap.index.class_of_object(o).is_some() {
            return None;
        }
        let f = instance(heap, o)?;
        let len = |a: Field| self.obj(heap, f, a).and_then(|t| heap.array_length(t));
        let ext = |size: i64, capacity: Option<u32>| Extent {
            size: size.max(0) as u64,
            capacity: capacity.map(u64::from),
        };
        Some(match plan {
            Plan::None => return None,
            Plan::Chained { table, size } => ext(
                num(f.fields, size, self.id_size)?,
                Some(len(table).unwrap_or(0)),
            ),
            Plan::Concurrent { table, base, cells } => {
                let cells = cells.and_then(|c| self.obj(heap, f, c));
                ext(
                    self.concurrent_size(heap, num(f.fields, base, self.id_size)?, cells),
                    Some(len(table).unwrap_or(0)),
                )
            }
            Plan::Segmented { segments } => {
                self.segmented_size(heap, self.obj(heap, f, segments), depth)
            }
            Plan::KeysOf { map: inner } | Plan::Delegate { inner } => {
                return self.size_at(heap, self.obj(heap, f, inner)?, depth + 1);
            }
            Plan::Identity { table, size } => ext(
                num(f.fields, size, self.id_size)?,
                Some(len(table).unwrap_or(0) / 2),
            ),
            Plan::Tree { size, .. } => ext(num(f.fields, size, self.id_size)?, None),
            Plan::Probe { table, size, pairs } => {
                let cap = len(table).unwrap_or(0);
                ext(
                    num(f.fields, size, self.id_size)?,
                    Some(if pairs { cap / 2 } else { cap }),
                )
            }
            Plan::Enum { vals, size, .. } => ext(
                num(f.fields, size, self.id_size)?,
                Some(len(vals).unwrap_or(0)),
            ),
            Plan::Prefix { array, size } => {
                let cap = len(array);
                let size = match size {
                    Some(s) => num(f.fields, s, self.id_size)?,
                    None => cap.unwrap_or(0) as i64,
                };
                ext(size, Some(cap.unwrap_or(0)))
            }
            Plan::Ring {
                array,
                head,
                end,
                end_is_count,
            } => {
                let cap = len(array).unwrap_or(0) as i64;
                let end = num(f.fields, end, self.id_size)?;
                let size = if end_is_count {
                    end
                } else if cap > 0 {
                    (end - num(f.fields, head, self.id_size)?).rem_euclid(cap)
                } else {
                    0
                };
                ext(size, Some(cap as u32))
            }
            Plan::Linked {
                count: Count::Field(s),
                ..
            } => ext(num(f.fields, s, self.id_size)?, None),
            Plan::Linked {
                count: Count::Atomic(s),
                ..
            } => ext(
                self.obj(heap, f, s)
                    .and_then(|a| heap.field_int(a, "value"))?,
                None,
            ),
            Plan::EnumBits {
                bits, size: None, ..
            } => ext(num(f.fields, bits, self.id_size)?.count_ones() as i64, None),
            Plan::EnumBits { size: Some(s), .. } => ext(num(f.fields, s, self.id_size)?, None),
            Plan::Empty => ext(0, None),
            Plan::Linked {
                count: Count::Walk, ..
            }
            | Plan::SkipList { .. }
            | Plan::Slots { .. } => {
                let n = self.for_each(heap, o, &mut |_| true)?;
                ext(n as i64, None)
            }
        })
    }

    /// JDK 8+ `ConcurrentHashMap.size()`: `baseCount` plus every counter cell's value.
    fn concurrent_size(&self, heap: &Heap<'_, '_>, base: i64, cells: Option<ObjectIndex>) -> i64 {
        let mut size = base;
        if let Some(cells) = cells {
            self.each_slot(heap, cells, |_, cell| {
                let v = cell.and_then(|c| heap.field_int(c, "value")).unwrap_or(0);
                size = size.saturating_add(v);
                true
            });
        }
        size
    }

    /// JDK 5-7 `ConcurrentHashMap`: the sum of its segments' counts and table lengths.
    fn segmented_size(
        &self,
        heap: &Heap<'_, '_>,
        segments: Option<ObjectIndex>,
        depth: u32,
    ) -> Extent {
        let (mut size, mut cap) = (0u64, 0u64);
        if let Some(segs) = segments {
            self.each_slot(heap, segs, |_, s| {
                if let Some(e) = s.and_then(|s| self.size_at(heap, s, depth + 1)) {
                    size = size.saturating_add(e.size);
                    cap = cap.saturating_add(e.capacity.unwrap_or(0));
                }
                true
            });
        }
        Extent {
            size,
            capacity: Some(cap),
        }
    }

    /// Reference field `f` of instance `x`: from its position in `x`'s row of resolved edges,
    /// else (a dangling reference somewhere in the dump, a field the row does not list) by id.
    fn obj(&self, heap: &Heap<'_, '_>, x: Inst<'_>, f: Field) -> Option<ObjectIndex> {
        let id = id_at(x.fields, f, self.id_size)?;
        if id == 0 {
            return None;
        }
        let by_row = heap.index.resolved_row(x.o).and_then(|row| {
            let k = self
                .refs
                .row_position(heap.class(x.o), x.fields, f.at, self.id_size)?;
            row.get(k).copied()
        });
        debug_assert!(
            by_row.is_none() || by_row == heap.find(id),
            "row of {}",
            x.o
        );
        by_row.or_else(|| heap.find(id))
    }

    /// Calls `f(slot, object)` for each slot of an object array (`None` for null or dangling),
    /// until it returns false. False when `arr` is not an object array.
    fn each_slot(
        &self,
        heap: &Heap<'_, '_>,
        arr: ObjectIndex,
        mut f: impl FnMut(usize, Option<ObjectIndex>) -> bool,
    ) -> bool {
        let Some(SubRecord::ObjectArray(a)) = heap.record(arr) else {
            return false;
        };
        let ids = self.id_size as usize;
        let mut slots = Resolver::new(heap, arr);
        for (i, c) in a.elements.chunks_exact(ids).enumerate() {
            let o = slots.next(read_id(c, self.id_size));
            if !f(i, o) {
                break;
            }
        }
        true
    }

    /// Slot `i` of an object array: `Some(None)` for a null slot, `None` out of bounds.
    fn slot(&self, heap: &Heap<'_, '_>, arr: ObjectIndex, i: usize) -> Option<Option<ObjectIndex>> {
        let Some(SubRecord::ObjectArray(a)) = heap.record(arr) else {
            return None;
        };
        let ids = self.id_size as usize;
        let b = a
            .elements
            .get(i.checked_mul(ids)?..(i + 1).checked_mul(ids)?)?;
        let id = read_id(b, self.id_size);
        Some(if id == 0 { None } else { heap.find(id) })
    }
}

/// An instance's field bytes, with its number: its reference fields resolve through its row.
#[derive(Clone, Copy)]
struct Inst<'s> {
    o: ObjectIndex,
    fields: &'s [u8],
}

impl Inst<'_> {
    /// No fields (every field reads as absent).
    fn none(o: ObjectIndex) -> Inst<'static> {
        Inst { o, fields: &[] }
    }
}

/// The field data of an instance record.
fn instance<'s>(heap: &Heap<'s, '_>, o: ObjectIndex) -> Option<Inst<'s>> {
    match heap.record(o)? {
        SubRecord::Instance(i) => Some(Inst {
            o,
            fields: i.fields,
        }),
        _ => None,
    }
}

/// Resolves an array's elements in order, each non-null one the next edge of the array's row
/// of resolved references, without an id lookup; by id when the dump has dangling references.
struct Resolver<'h, 's, 'a> {
    heap: &'h Heap<'s, 'a>,
    row: Option<&'s [ObjectIndex]>,
    next: usize,
}

impl<'h, 's, 'a> Resolver<'h, 's, 'a> {
    fn new(heap: &'h Heap<'s, 'a>, arr: ObjectIndex) -> Self {
        Resolver {
            heap,
            row: heap.index.resolved_row(arr),
            next: 0,
        }
    }

    /// The object of the next slot, whose id is `id` (0: null, which takes no edge).
    #[inline]
    fn next(&mut self, id: u64) -> Option<ObjectIndex> {
        if id == 0 {
            return None;
        }
        let by_row = self.row.and_then(|r| r.get(self.next).copied());
        self.next += 1;
        debug_assert!(by_row.is_none() || by_row == self.heap.find(id));
        by_row.or_else(|| self.heap.find(id))
    }
}

fn id_at(fields: &[u8], f: Field, id_size: u8) -> Option<u64> {
    if f.ty != BasicType::Object {
        return None;
    }
    let at = f.at as usize;
    Some(read_id(fields.get(at..at + id_size as usize)?, id_size))
}

/// An integral field's value.
fn num(fields: &[u8], f: Field, id_size: u8) -> Option<i64> {
    Value::read(f.ty, fields.get(f.at as usize..)?, id_size)?.as_i64()
}

/// Field lookups for one class, in the JDK class `base` its plan comes from (or above it).
struct Fields<'s, 'a> {
    snap: &'s Snapshot<'a>,
    class: ClassIndex,
    base: ClassIndex,
}

impl Fields<'_, '_> {
    /// Field `name` as declared by `base` or one of its superclasses, with its offset in the
    /// records of `class`.
    fn get(&self, name: &str) -> Option<Field> {
        let classes = &self.snap.classes;
        let dir = &self.snap.dir;
        let ids = dir.id_size();
        let mut pos = 0usize;
        let mut reached = false;
        for c in classes.ancestry(self.class) {
            reached |= c == self.base;
            for f in classes.get(c).dump.fields() {
                if reached
                    && dir
                        .strings
                        .get(&f.name_id)
                        .is_some_and(|s| *s == name.as_bytes())
                {
                    return Some(Field {
                        at: pos as u32,
                        ty: f.ty,
                    });
                }
                pos += f.ty.hprof_size(ids);
            }
        }
        None
    }

    /// An object-typed field.
    fn object(&self, name: &str) -> Option<Field> {
        self.get(name).filter(|f| f.ty == BasicType::Object)
    }

    /// An integral field.
    fn int(&self, name: &str) -> Option<Field> {
        self.get(name).filter(|f| {
            f.ty != BasicType::Object && f.ty != BasicType::Float && f.ty != BasicType::Double
        })
    }

    fn first_object(&self, names: &[&str]) -> Option<Field> {
        names.iter().find_map(|n| self.object(n))
    }

    fn node(&self, role: NodeRole) -> NodePlan {
        let link = match role {
            NodeRole::TreeBin => self.object("first"),
            NodeRole::Forward => self.object("nextTable"),
            _ => None,
        };
        NodePlan {
            role,
            // Weak entries keep their key as the Reference's referent.
            key: self.first_object(&["key", "referent"]),
            value: self.first_object(&["value", "val", "item", "element"]),
            // Declared by the node class itself: `Reference.next` is not a chain link.
            next: self.object("next"),
            prev: self.first_object(&["prev", "previous"]),
            left: self.object("left"),
            right: self.object("right"),
            link,
        }
    }

    fn plan(&self, layout: Layout) -> Option<Plan> {
        Some(match layout {
            L::Chained => Plan::Chained {
                table: self.object("table")?,
                size: self.int("size").or_else(|| self.int("count"))?,
            },
            L::Segment => Plan::Chained {
                table: self.object("table")?,
                size: self.int("count")?,
            },
            L::Properties => match self.object("map") {
                // JDK 9+: the entries live in a ConcurrentHashMap; the Hashtable is empty.
                Some(inner) => Plan::Delegate { inner },
                None => Plan::Chained {
                    table: self.object("table")?,
                    size: self.int("count")?,
                },
            },
            L::Concurrent => match self.int("baseCount") {
                Some(base) => Plan::Concurrent {
                    table: self.object("table")?,
                    base,
                    cells: self.object("counterCells"),
                },
                None => Plan::Segmented {
                    segments: self.object("segments")?,
                },
            },
            L::KeysOf(name) => Plan::KeysOf {
                map: self.object(name)?,
            },
            L::Delegate(name) => Plan::Delegate {
                inner: self.object(name)?,
            },
            L::Identity => Plan::Identity {
                table: self.object("table")?,
                size: self.int("size")?,
            },
            L::Tree => Plan::Tree {
                root: self.object("root")?,
                size: self.int("size")?,
            },
            L::SkipList => Plan::SkipList {
                head: self.object("head")?,
            },
            L::Prefix(array, size) => Plan::Prefix {
                array: self.object(array)?,
                size: match size {
                    Some(s) => Some(self.int(s)?),
                    None => None,
                },
            },
            L::Deque => Plan::Ring {
                array: self.object("elements")?,
                head: self.int("head")?,
                end: self.int("tail")?,
                end_is_count: false,
            },
            L::BlockingRing => Plan::Ring {
                array: self.object("items")?,
                head: self.int("takeIndex")?,
                end: self.int("count")?,
                end_is_count: true,
            },
            L::Linked(first, links) => match (self.object(first), self.int("size")) {
                (Some(first), Some(size)) => Plan::Linked {
                    first,
                    count: Count::Field(size),
                    links,
                },
                (Some(first), None) => Plan::Linked {
                    first,
                    count: Count::Walk,
                    links,
                },
                // JDK 5-6 LinkedList: a circular list through `header`.
                (None, size) => Plan::Linked {
                    first: self.object("header")?,
                    count: size.map(Count::Field).unwrap_or(Count::Walk),
                    links: Links::Circular,
                },
            },
            L::LinkedBlockingQueue => Plan::Linked {
                first: self.object("head")?,
                count: match self.int("count") {
                    Some(c) => Count::Field(c),
                    None => Count::Atomic(self.object("count")?),
                },
                links: Links::DummyHead,
            },
            L::LinkedBlockingDeque => Plan::Linked {
                first: self.object("first")?,
                count: Count::Field(self.int("count")?),
                links: Links::Plain,
            },
            L::EnumMap => Plan::Enum {
                universe: self.object("keyUniverse")?,
                vals: self.object("vals")?,
                size: self.int("size")?,
            },
            L::RegularEnumSet => Plan::EnumBits {
                universe: self.object("universe")?,
                bits: self.int("elements")?,
                size: None,
            },
            L::JumboEnumSet => Plan::EnumBits {
                universe: self.object("universe")?,
                bits: self.object("elements")?,
                size: Some(self.int("size")?),
            },
            L::Slots(a, b, pairs, fixed) => Plan::Slots {
                a: self.object(a)?,
                b: match b {
                    Some(b) => Some(self.object(b)?),
                    None => None,
                },
                pairs,
                fixed,
            },
            L::Probe(table, pairs) => Plan::Probe {
                table: self.object(table)?,
                size: self.int("size")?,
                pairs,
            },
            L::Empty => Plan::Empty,
            L::Node(_) | L::Plumbing => return None,
        })
    }
}

/// Cuts a chain where it cycles (Brent's algorithm: no memory beyond two counters).
struct ChainGuard {
    mark: ObjectIndex,
    power: u32,
    steps: u32,
}

impl ChainGuard {
    fn new(start: ObjectIndex) -> ChainGuard {
        ChainGuard {
            mark: start,
            power: 1,
            steps: 0,
        }
    }

    /// Whether moving on to `next` closes a cycle.
    fn cycles(&mut self, next: ObjectIndex) -> bool {
        if next == self.mark {
            return true;
        }
        self.steps += 1;
        if self.steps == self.power {
            self.mark = next;
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        false
    }
}

/// One walk over a collection's items, with its step budget.
struct Walk<'m, 'h, 's, 'a, 'f> {
    m: &'m CollectionModel,
    heap: &'h Heap<'s, 'a>,
    f: &'f mut dyn FnMut(Item) -> bool,
    left: u64,
    /// Steps taken so far.
    spent: u64,
    given: u64,
    /// `f` asked to stop.
    stopped: bool,
}

impl Walk<'_, '_, '_, '_, '_> {
    /// Spends one step; false when the walk is over (budget spent or `f` said stop).
    fn step(&mut self) -> bool {
        if self.stopped || self.left == 0 {
            return false;
        }
        self.left -= 1;
        self.spent += 1;
        true
    }

    fn give(&mut self, item: Item) {
        if self.stopped {
            return;
        }
        self.given += 1;
        if !(self.f)(item) {
            self.stopped = true;
        }
    }

    /// Limits the rest of the walk to about `n` more steps (a size field says how many there are).
    fn expect(&mut self, n: u64) {
        self.left = self.left.min(n.saturating_mul(2).saturating_add(64));
    }

    fn collection(&mut self, o: ObjectIndex, depth: u32) -> Option<()> {
        let (m, heap) = (self.m, self.heap);
        if depth > MAX_NESTING {
            return None;
        }
        let plan = m.plan(heap.class(o));
        if matches!(plan, Plan::None) || heap.index.class_of_object(o).is_some() {
            return None;
        }
        let f = instance(heap, o)?;
        let ids = m.id_size;
        let obj = |fd: Field| m.obj(heap, f, fd);
        match plan {
            Plan::None => return None,
            Plan::Chained { table, size } => {
                self.expect(num(f.fields, size, ids).unwrap_or(0).max(0) as u64);
                if let Some(t) = obj(table) {
                    self.table(t, true);
                }
            }
            Plan::Concurrent { table, .. } => {
                if let Some(t) = obj(table) {
                    self.table(t, true);
                }
            }
            Plan::Segmented { segments } => self.segments(obj(segments), depth),
            Plan::KeysOf { map } => self.keys_of(obj(map)?, depth)?,
            Plan::Delegate { inner } => self.collection(obj(inner)?, depth + 1)?,
            Plan::Identity { table, .. } => {
                if let Some(t) = obj(table) {
                    self.pairs(t);
                }
            }
            Plan::Probe { table, pairs, .. } => {
                if let Some(t) = obj(table) {
                    if pairs {
                        self.pairs(t);
                    } else {
                        self.elements(t, usize::MAX, false);
                    }
                }
            }
            Plan::Tree { root, size } => {
                self.expect(num(f.fields, size, ids).unwrap_or(0).max(0) as u64);
                if let Some(r) = obj(root) {
                    self.tree(r);
                }
            }
            // JDK 14+ makes the head on first insertion: none yet is an empty map.
            Plan::SkipList { head } => {
                if let Some(h) = obj(head) {
                    self.skip_list(h)?;
                }
            }
            Plan::Prefix { array, size } => {
                if let Some(a) = obj(array) {
                    let n = match size {
                        Some(s) => num(f.fields, s, ids)?.max(0) as usize,
                        None => usize::MAX,
                    };
                    self.elements(a, n, true);
                }
            }
            Plan::Ring {
                array,
                head,
                end,
                end_is_count,
            } => self.ring(
                obj(array)?,
                num(f.fields, head, ids)?,
                num(f.fields, end, ids)?,
                end_is_count,
            ),
            Plan::Linked {
                first,
                links,
                count,
            } => {
                if let Count::Field(s) = count {
                    self.expect(num(f.fields, s, ids).unwrap_or(0).max(0) as u64);
                }
                if let Some(start) = obj(first) {
                    self.linked(start, links);
                }
            }
            Plan::Enum { universe, vals, .. } => self.enum_map(obj(universe), obj(vals)?),
            Plan::EnumBits {
                universe,
                bits,
                size,
            } => self.enum_bits(f, obj(universe), bits, size.is_some())?,
            Plan::Slots { a, b, pairs, fixed } => self.slots(
                id_at(f.fields, a, ids)?,
                b.and_then(|b| id_at(f.fields, b, ids)),
                pairs,
                fixed,
            ),
            Plan::Empty => {}
        }
        Some(())
    }

    fn segments(&mut self, segs: Option<ObjectIndex>, depth: u32) {
        let Some(segs) = segs else { return };
        let mut list = vec![];
        self.m.each_slot(self.heap, segs, |_, s| {
            list.extend(s);
            list.len() < 1 << 16
        });
        for s in list {
            // Each segment limits its own walk by its count, not the others'.
            let (left, spent) = (self.left, self.spent);
            let _ = self.collection(s, depth + 1);
            self.left = left.saturating_sub(self.spent - spent);
        }
    }

    /// A set over a map: the map's keys are the set's elements.
    fn keys_of(&mut self, inner: ObjectIndex, depth: u32) -> Option<()> {
        let f = &mut *self.f;
        let mut keys = |i: Item| {
            f(Item {
                node: i.node,
                key: None,
                value: i.key,
            })
        };
        let mut sub = Walk {
            m: self.m,
            heap: self.heap,
            f: &mut keys,
            left: self.left,
            spent: 0,
            given: 0,
            stopped: false,
        };
        sub.collection(inner, depth + 1)?;
        self.given += sub.given;
        self.left = sub.left;
        self.spent += sub.spent;
        self.stopped = sub.stopped;
        Some(())
    }

    /// From the head index down to the base level, then along it; the base header has a null
    /// key, markers and deleted nodes are skipped.
    fn skip_list(&mut self, mut h: ObjectIndex) -> Option<()> {
        let (m, heap) = (self.m, self.heap);
        for _ in 0..2 {
            let class = heap.class(h);
            if m.node(class).role == NodeRole::Entry {
                break;
            }
            let node_field = Fields {
                snap: heap.snap,
                class,
                base: class,
            }
            .object("node")?;
            h = m.obj(heap, instance(heap, h)?, node_field)?;
        }
        self.chain(h, true, false);
        Some(())
    }

    /// `n` slots of a circular array from `head`; `end` is the tail slot or (`end_is_count`)
    /// the count.
    fn ring(&mut self, a: ObjectIndex, head: i64, end: i64, end_is_count: bool) {
        let (m, heap) = (self.m, self.heap);
        let cap = heap.array_length(a).unwrap_or(0) as i64;
        if cap == 0 {
            return;
        }
        let h = head.rem_euclid(cap);
        let n = if end_is_count {
            end.clamp(0, cap)
        } else {
            (end - h).rem_euclid(cap)
        };
        for k in 0..n {
            if !self.step() {
                break;
            }
            let v = m.slot(heap, a, ((h + k) % cap) as usize).flatten();
            self.give(Item {
                node: None,
                key: None,
                value: v,
            });
        }
    }

    /// `EnumMap`: the enum constant of each filled ordinal and its value.
    fn enum_map(&mut self, universe: Option<ObjectIndex>, vals: ObjectIndex) {
        let (m, heap) = (self.m, self.heap);
        let len = heap.array_length(vals).unwrap_or(0) as usize;
        for i in 0..len {
            if !self.step() {
                break;
            }
            if let Some(value) = m.slot(heap, vals, i).flatten() {
                let key = universe.and_then(|u| m.slot(heap, u, i)).flatten();
                self.give(Item {
                    node: None,
                    key,
                    value: Some(value),
                });
            }
        }
    }

    /// An enum set's bits (a `long` field, or a `long[]` when `jumbo`) as its constants.
    fn enum_bits(
        &mut self,
        f: Inst<'_>,
        universe: Option<ObjectIndex>,
        bits: Field,
        jumbo: bool,
    ) -> Option<()> {
        let (m, heap) = (self.m, self.heap);
        let mut words: Vec<u64> = vec![];
        if !jumbo {
            words.push(num(f.fields, bits, m.id_size)? as u64);
        } else if let Some(SubRecord::PrimitiveArray(a)) =
            m.obj(heap, f, bits).and_then(|b| heap.record(b))
        {
            words.extend(
                a.data
                    .chunks_exact(8)
                    .map(|c| u64::from_be_bytes(c.try_into().unwrap_or([0; 8]))),
            );
        }
        for (w, word) in words.iter().enumerate() {
            for b in 0..64 {
                if word & (1 << b) != 0 && self.step() {
                    let v = universe.and_then(|u| m.slot(heap, u, w * 64 + b)).flatten();
                    self.give(Item {
                        node: None,
                        key: None,
                        value: v,
                    });
                }
            }
        }
        Some(())
    }

    /// Elements (or one entry, `pairs`) kept in fields; `fixed`: the first is there even when
    /// null (`singletonList(null)`).
    fn slots(&mut self, x: u64, y: Option<u64>, pairs: bool, fixed: bool) {
        let (m, heap) = (self.m, self.heap);
        let find = |id: u64| if id == 0 { None } else { heap.find(id) };
        if pairs {
            self.give(Item {
                node: None,
                key: find(x),
                value: y.and_then(find),
            });
            return;
        }
        let absent = |id: u64| id == 0 || Some(id) == m.immutable_empty;
        if fixed || !absent(x) {
            self.give(Item {
                node: None,
                key: None,
                value: find(x),
            });
        }
        if let Some(y) = y.filter(|&y| !absent(y)) {
            self.give(Item {
                node: None,
                key: None,
                value: find(y),
            });
        }
    }

    /// Each bucket of a hash table, its chain followed (`first_level`: a `ForwardingNode` may
    /// send a bucket to the resized table).
    fn table(&mut self, t: ObjectIndex, first_level: bool) {
        let (m, heap) = (self.m, self.heap);
        let Some(SubRecord::ObjectArray(arr)) = heap.record(t) else {
            return;
        };
        let ids = m.id_size as usize;
        let n = arr.length as usize;
        let mut slots = Resolver::new(heap, t);
        for (i, c) in arr.elements.chunks_exact(ids).enumerate() {
            if self.stopped {
                return;
            }
            let Some(head) = slots.next(read_id(c, m.id_size)) else {
                continue;
            };
            let p = m.node(heap.class(head));
            if p.role == NodeRole::Forward {
                // The bin moved: JDK's Traverser reads slots i and i + n of nextTable.
                let next = p
                    .link
                    .and_then(|l| m.obj(heap, instance(heap, head).unwrap_or(Inst::none(head)), l));
                if let (Some(nt), true) = (next, first_level) {
                    for j in [i, i + n] {
                        if let Some(Some(h)) = m.slot(heap, nt, j) {
                            self.bin(h);
                        }
                    }
                }
                continue;
            }
            self.bin(head);
        }
    }

    /// One bucket: a chain of entries, or a tree bin's chain.
    fn bin(&mut self, head: ObjectIndex) {
        let (m, heap) = (self.m, self.heap);
        let p = m.node(heap.class(head));
        if p.role == NodeRole::TreeBin {
            let first = p
                .link
                .and_then(|l| m.obj(heap, instance(heap, head).unwrap_or(Inst::none(head)), l));
            if let Some(first) = first {
                self.chain(first, false, false);
            }
            return;
        }
        self.chain(head, false, false);
    }

    /// Entries from `start` along `next`. `live_only`: skip nodes with a null key or value
    /// (skip-list headers, markers and deleted nodes).
    fn chain(&mut self, start: ObjectIndex, live_only: bool, items_only: bool) {
        let (m, heap) = (self.m, self.heap);
        let mut guard = ChainGuard::new(start);
        let mut cur = Some(start);
        while let Some(n) = cur {
            if !self.step() {
                return;
            }
            let p = m.node(heap.class(n));
            let Some(f) = instance(heap, n) else { return };
            if p.role == NodeRole::Entry {
                let key = p.key.and_then(|k| m.obj(heap, f, k));
                let value = p.value.and_then(|v| m.obj(heap, f, v));
                let dead = (live_only && (key.is_none() || value.is_none() || value == Some(n)))
                    || (items_only && value.is_none());
                if !dead {
                    self.give(Item {
                        node: Some(n),
                        key: if items_only { None } else { key },
                        value,
                    });
                }
            }
            cur = p.next.and_then(|x| m.obj(heap, f, x));
            // A node linked to itself was unlinked (ConcurrentLinkedQueue): the chain ends. Back
            // at the start or in any other cycle, it ends too.
            if cur.is_some_and(|x| x == n || x == start || guard.cycles(x)) {
                return;
            }
        }
    }

    fn linked(&mut self, start: ObjectIndex, links: Links) {
        let (m, heap) = (self.m, self.heap);
        let next_of = |n: ObjectIndex| {
            let p = m.node(heap.class(n));
            p.next.and_then(|x| m.obj(heap, instance(heap, n)?, x))
        };
        match links {
            Links::Plain => self.list(Some(start), None),
            Links::Circular => self.list(next_of(start), Some(start)),
            Links::DummyHead => self.list(next_of(start), None),
            Links::Lazy { rewind } => {
                let mut first = start;
                if rewind {
                    let mut guard = ChainGuard::new(start);
                    while self.step() {
                        let p = m.node(heap.class(first));
                        let prev = p.prev.and_then(|x| {
                            m.obj(heap, instance(heap, first).unwrap_or(Inst::none(first)), x)
                        });
                        match prev {
                            Some(q) if q != first && !guard.cycles(q) => first = q,
                            _ => break,
                        }
                    }
                }
                // A node whose next is itself was unlinked: the chain guard ends there.
                self.chain(first, false, true);
            }
        }
    }

    /// List nodes from `cur` along `next`, each an element (null items too), until `end`.
    fn list(&mut self, mut cur: Option<ObjectIndex>, end: Option<ObjectIndex>) {
        let (m, heap) = (self.m, self.heap);
        let Some(start) = cur else { return };
        let mut guard = ChainGuard::new(start);
        while let Some(n) = cur {
            if Some(n) == end || !self.step() {
                return;
            }
            let p = m.node(heap.class(n));
            let Some(f) = instance(heap, n) else { return };
            let value = p.value.and_then(|v| m.obj(heap, f, v));
            self.give(Item {
                node: Some(n),
                key: None,
                value,
            });
            cur = p.next.and_then(|x| m.obj(heap, f, x));
            if cur.is_some_and(|x| x == n || (Some(x) != end && (x == start || guard.cycles(x)))) {
                return;
            }
        }
    }

    /// A red-black tree's entries (pre-order; the stack is bounded by the step budget).
    fn tree(&mut self, root: ObjectIndex) {
        let (m, heap) = (self.m, self.heap);
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            if !self.step() {
                return;
            }
            let p = m.node(heap.class(n));
            let Some(f) = instance(heap, n) else { continue };
            self.give(Item {
                node: Some(n),
                key: p.key.and_then(|k| m.obj(heap, f, k)),
                value: p.value.and_then(|v| m.obj(heap, f, v)),
            });
            for side in [p.right, p.left].into_iter().flatten() {
                if let Some(c) = m.obj(heap, f, side) {
                    stack.push(c);
                }
            }
        }
    }

    /// The first `n` slots of an array as elements (`nulls`: null slots count too).
    fn elements(&mut self, a: ObjectIndex, n: usize, nulls: bool) {
        let (m, heap) = (self.m, self.heap);
        let mut left = n;
        m.each_slot(heap, a, |_, v| {
            if left == 0 || !self.step() {
                return false;
            }
            left -= 1;
            if v.is_some() || nulls {
                self.give(Item {
                    node: None,
                    key: None,
                    value: v,
                });
            }
            !self.stopped
        });
    }

    /// Keys and values side by side (`IdentityHashMap.table`, `ImmutableCollections$MapN.table`).
    fn pairs(&mut self, t: ObjectIndex) {
        let (m, heap) = (self.m, self.heap);
        let Some(SubRecord::ObjectArray(arr)) = heap.record(t) else {
            return;
        };
        let ids = m.id_size as usize;
        let mut slots = Resolver::new(heap, t);
        for pair in arr.elements.chunks_exact(2 * ids) {
            if !self.step() {
                return;
            }
            let key = slots.next(read_id(&pair[..ids], m.id_size));
            let value = slots.next(read_id(&pair[ids..], m.id_size));
            if read_id(&pair[..ids], m.id_size) == 0 {
                continue;
            }
            self.give(Item {
                node: None,
                key,
                value,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ChainGuard, KNOWN};

    /// Follows `next` from 0 with the guard; returns the nodes visited before it cut the chain.
    fn visit(next: &[u32]) -> usize {
        let mut guard = ChainGuard::new(0);
        let (mut cur, mut seen) = (0u32, 1usize);
        loop {
            let n = next[cur as usize];
            if n == u32::MAX || guard.cycles(n) {
                return seen;
            }
            cur = n;
            seen += 1;
            assert!(seen < 10 * next.len(), "the guard never cut the chain");
        }
    }

    #[test]
    fn chain_guard_cuts_cycles_and_only_cycles() {
        // 0 -> 1 -> 2 -> end
        assert_eq!(visit(&[1, 2, u32::MAX]), 3);
        // 0 -> 1 -> ... -> 99 -> 40: a tail of 40 and a loop of 60, cut within a few laps.
        let mut next: Vec<u32> = (1..=100).collect();
        next[99] = 40;
        let seen = visit(&next);
        assert!((100..=400).contains(&seen), "{seen}");
        // A node linked to itself.
        assert!(visit(&[1, 1]) <= 4);
    }

    #[test]
    fn known_classes_are_listed_once() {
        let mut names: Vec<&str> = KNOWN.iter().map(|k| k.0).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
