//! How strongly each object is held, as the JVM's collector sees it, and the edges the dump
//! writer leaves out.
//!
//! `java.lang.ref.Reference.referent` is an ordinary edge of the graph (so the dominator tree and
//! retained sizes count what soft, weak, final and phantom references hold, as Eclipse MAT does);
//! each live object is classified by its strongest reachability: the strongest path's weakest
//! link. One pass per strength from the GC roots, strong edges first: pass `k` follows every edge
//! except referents of references weaker than `k`, and starts from the roots (`k = 0`) or from the
//! referents of kind `k` whose reference was reached by an earlier pass.
//!
//! HotSpot's dump writer does not write the instance fields of `java.lang.Class` mirrors, so what
//! a class holds through them (`Class.reflectionData` -> `SoftReference` -> `Class$ReflectionData`
//! and its cached `Method`/`Field`/`Constructor` arrays, `annotationType`, `MemberName`s,
//! `ResolvedMethodName`s) has no referrer in the dump. Such an orphan is attached to the class its
//! members name (their `clazz` or `vmholder` field, the fields by which the JDK's reflection and
//! method-handle objects name the class they belong to), by a majority of those names. What still
//! has no referrer is *held by the JVM, not in the dump* when the object without a referrer is of
//! a JDK class that the JVM keeps from its own metadata (reflection, method handles, class data,
//! references, modules, protection domains: see [`jvm_held_class`]); else it is garbage. In a
//! `-dump:live` dump everything is live and the first kind is the whole rest; in a dump taken
//! without `:live` dead objects of those JDK classes may be counted as held by the JVM.

use super::classes::{ClassIndex, ClassTable, NO_CLASS};
use super::column::{Column, Scratch};
use super::graph::{Csr, Node};
use super::index::ObjectIndex;
use crate::formats::hprof::BasicType;

/// Reachability levels, strongest first; `level[v]` of every object.
pub const STRONG: u8 = 0;
pub const SOFT: u8 = 1;
pub const WEAK: u8 = 2;
pub const FINALIZER: u8 = 3;
pub const PHANTOM: u8 = 4;
/// No GC root reaches it and nothing in the dump refers to it: held from the JVM's metadata.
pub const HELD_BY_JVM: u8 = 5;
/// No GC root reaches it: garbage not yet collected.
pub const GARBAGE: u8 = 6;
pub const LEVELS: usize = 7;
/// Not reached yet (only while classifying).
pub const UNSEEN: u8 = u8::MAX;

/// The name of each level, as the JSON reports write it.
pub const LEVEL_NAMES: [&str; LEVELS] = [
    "strong",
    "soft",
    "weak",
    "finalizer",
    "phantom",
    "held_by_jvm",
    "garbage",
];

/// Options that shape the graph (part of the index cache's key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphOptions {
    /// Unreachable objects become roots of their own (`--keep-unreachable`).
    pub keep_unreachable: bool,
    /// Referents are not edges (`--strong-only`): what a GC under memory pressure would leave.
    pub strong_only: bool,
}

impl From<bool> for GraphOptions {
    /// `keep_unreachable` alone (the rest default).
    fn from(keep_unreachable: bool) -> GraphOptions {
        GraphOptions {
            keep_unreachable,
            ..Default::default()
        }
    }
}

/// Objects and shallow bytes per level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LevelTotals {
    pub objects: [u64; LEVELS],
    pub bytes: [u64; LEVELS],
}

/// Per class: the strength of its instances' referent (`SOFT`..`PHANTOM`), or `STRONG` for
/// classes that are not `java.lang.ref.Reference`s.
pub fn reference_strengths(classes: &ClassTable<'_>) -> Vec<u8> {
    let Some(reference) = classes.find("java.lang.ref.Reference") else {
        return vec![STRONG; classes.len()];
    };
    let kinds = [
        ("java.lang.ref.SoftReference", SOFT),
        ("java.lang.ref.WeakReference", WEAK),
        ("java.lang.ref.FinalReference", FINALIZER),
        ("java.lang.ref.PhantomReference", PHANTOM),
    ]
    .map(|(n, k)| (classes.find(n), k));
    // Per class, superclasses first: the nearest reference kind in its ancestry, and whether
    // `Reference` itself is in it.
    let found = classes.per_class(|c, sup| {
        let (kind, is_reference) = sup.copied().unwrap_or((None, false));
        let own = kinds.iter().find(|(i, _)| *i == Some(c)).map(|&(_, k)| k);
        (own.or(kind), is_reference || c == reference)
    });
    found
        .into_iter()
        .map(|(kind, is_reference)| match kind {
            Some(k) => k,
            // Another direct subclass of Reference: held no more strongly than a weak one.
            None if is_reference => WEAK,
            None => STRONG,
        })
        .collect()
}

/// Whether an object of this class with no referrer in a dump is kept by the JVM from outside
/// the Java heap: JDK (boot loader) classes of reflection, method handles, the per-class data a
/// mirror holds, references, modules and protection domains.
pub fn jvm_held_class(name: &str, loader_id: u64) -> bool {
    const PREFIXES: [&str; 10] = [
        "java.lang.reflect.",
        "jdk.internal.reflect.",
        "sun.reflect.",
        "java.lang.invoke.",
        "java.lang.ref.",
        "java.lang.Class$",
        "java.lang.ClassValue$",
        "java.lang.Module",
        "java.security.ProtectionDomain",
        "sun.reflect.annotation.",
    ];
    loader_id == 0 && PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Per class: the offset in its instance data of a field by which it names the class it belongs
/// to (`clazz`, `vmholder`), or `u32::MAX`.
pub fn naming_fields(
    classes: &ClassTable<'_>,
    dir: &crate::formats::hprof::Directory<'_>,
) -> Vec<u32> {
    let names: Vec<u64> = dir
        .strings
        .iter()
        .filter(|(_, v)| **v == b"clazz" || **v == b"vmholder")
        .map(|(k, _)| *k)
        .collect();
    let id_size = dir.id_size();
    // The first such field in record order: the class's own, else its superclass's (after the
    // class's own fields). Per class once, superclasses first.
    classes.per_class(|c, sup| {
        let mut pos = 0u32;
        for f in classes.get(c).dump.fields() {
            if f.ty == BasicType::Object && names.contains(&f.name_id) {
                return pos;
            }
            pos = pos.saturating_add(f.ty.hprof_size(id_size) as u32);
        }
        match sup {
            Some(&p) if p != u32::MAX => p.saturating_add(pos),
            _ => u32::MAX,
        }
    })
}

/// The graph as classification sees it: the edges, and which rows end with a referent edge.
pub struct ReachGraph<'g> {
    pub refs: &'g Csr,
    /// (reference object, strength of its referent), sorted: the row's last edge is the referent.
    pub referents: &'g [(ObjectIndex, u8)],
    pub class_of: &'g [ClassIndex],
    /// Per class: see [`reference_strengths`].
    pub strength_of_class: &'g [u8],
}

impl ReachGraph<'_> {
    /// The strength of `v`'s referent edge (its last), if it has one.
    #[inline]
    fn referent_strength(&self, v: Node) -> Option<u8> {
        let c = *self.class_of.get(v as usize)?;
        if c == NO_CLASS
            || self
                .strength_of_class
                .get(c as usize)
                .is_none_or(|&s| s == STRONG)
        {
            return None;
        }
        self.referents
            .binary_search_by_key(&v, |p| p.0)
            .ok()
            .map(|i| self.referents[i].1)
    }

    /// Levels `STRONG..=PHANTOM` of every object a root reaches, `UNSEEN` for the rest.
    pub fn classify(&self, scratch: &Scratch) -> Column<u8> {
        let n = self.class_of.len();
        let root = n as Node;
        let mut level: Column<u8> = scratch.hot_filled(n, UNSEEN);
        let mut stack: Vec<Node> = vec![];
        for k in STRONG..=PHANTOM {
            if k == STRONG {
                for &r in self.refs.successors(root) {
                    if (r as usize) < n && level[r as usize] == UNSEEN {
                        level[r as usize] = STRONG;
                        stack.push(r);
                    }
                }
            } else {
                for &(r, s) in self.referents {
                    if s != k || level[r as usize] >= k {
                        continue;
                    }
                    if let Some(&t) = self.refs.successors(r).last() {
                        if (t as usize) < n && level[t as usize] == UNSEEN {
                            level[t as usize] = k;
                            stack.push(t);
                        }
                    }
                }
            }
            while let Some(v) = stack.pop() {
                let mut succ = self.refs.successors(v);
                if self.referent_strength(v).is_some_and(|s| s > k) {
                    succ = &succ[..succ.len() - 1];
                }
                for &w in succ {
                    if (w as usize) < n && level[w as usize] == UNSEEN {
                        level[w as usize] = k;
                        stack.push(w);
                    }
                }
            }
        }
        level
    }

    /// Objects not reached (`UNSEEN`) that nothing unreached refers to: the tops of the
    /// unreachable parts (a reached object never refers to an unreached one).
    pub fn orphans(&self, level: &[u8]) -> Vec<Node> {
        let n = level.len();
        let mut referred = vec![false; n];
        for (v, &lv) in level.iter().enumerate() {
            if lv == UNSEEN {
                for &w in self.refs.successors(v as Node) {
                    if (w as usize) < n && w as usize != v {
                        referred[w as usize] = true;
                    }
                }
            }
        }
        (0..n as Node)
            .filter(|&v| level[v as usize] == UNSEEN && !referred[v as usize])
            .collect()
    }

    /// Gives the unreached objects their level: `HELD_BY_JVM` below an orphan for which
    /// `held(orphan)`, `GARBAGE` for the rest.
    pub fn finish(&self, level: &mut [u8], orphans: &[Node], held: impl Fn(Node) -> bool) {
        let n = level.len();
        let mut stack: Vec<Node> = vec![];
        for &o in orphans.iter().filter(|&&o| held(o)) {
            if level[o as usize] != UNSEEN {
                continue;
            }
            level[o as usize] = HELD_BY_JVM;
            stack.push(o);
            while let Some(v) = stack.pop() {
                for &w in self.refs.successors(v) {
                    if (w as usize) < n && level[w as usize] == UNSEEN {
                        level[w as usize] = HELD_BY_JVM;
                        stack.push(w);
                    }
                }
            }
        }
        for l in level.iter_mut().filter(|l| **l == UNSEEN) {
            *l = GARBAGE;
        }
    }

    /// For each orphan, the object (a class mirror) its unreached part names by a majority of
    /// `name_of(v, v is the orphan)` over its objects, if any: the edge the dump writer left
    /// out. Each part is searched up to `limit` objects.
    pub fn owners(
        &self,
        level: &[u8],
        orphans: &[Node],
        name_of: impl Fn(Node, bool) -> Option<Node>,
        limit: usize,
    ) -> Vec<(Node, Node)> {
        let n = level.len();
        let mut stamp: Vec<u32> = vec![u32::MAX; n];
        let mut out = vec![];
        let mut stack: Vec<Node> = vec![];
        let mut votes: Vec<(Node, u32)> = vec![];
        for (i, &o) in orphans.iter().enumerate() {
            let i = i as u32;
            votes.clear();
            stamp[o as usize] = i;
            stack.clear();
            stack.push(o);
            let mut seen = 1usize;
            while let Some(v) = stack.pop() {
                if let Some(c) = name_of(v, v == o) {
                    match votes.iter_mut().find(|p| p.0 == c) {
                        Some(p) => p.1 += 1,
                        None => votes.push((c, 1)),
                    }
                }
                for &w in self.refs.successors(v) {
                    if (w as usize) < n && level[w as usize] == UNSEEN && stamp[w as usize] != i {
                        stamp[w as usize] = i;
                        seen += 1;
                        if seen <= limit {
                            stack.push(w);
                        }
                    }
                }
            }
            // The most named class; on a tie the first named.
            if let Some(&(c, _)) = votes.iter().rev().max_by_key(|p| p.1) {
                out.push((c, o));
            }
        }
        out.sort_unstable();
        out
    }
}

/// Objects and bytes per level (`shallow(v)` of each object).
pub fn totals(level: &[u8], shallow: impl Fn(usize) -> u64) -> LevelTotals {
    let mut t = LevelTotals::default();
    for (v, &l) in level.iter().enumerate() {
        let l = (l as usize).min(LEVELS - 1);
        t.objects[l] += 1;
        t.bytes[l] += shallow(v);
    }
    t
}

/// Inserts `extra` (from, to) edges, sorted by `from`, into `g`'s rows in place: `targets` must
/// have room for them past `starts[last]` (it grows otherwise). Rows are moved from the back,
/// each to its final place, so nothing is overwritten before it is read.
pub fn insert_edges(g: &mut Csr, extra: &[(Node, Node)], scratch: &Scratch) {
    if extra.is_empty() {
        return;
    }
    let rows = g.starts.len() - 1;
    let used = g.starts[rows] as usize;
    let total = used + extra.len();
    if g.targets.len() < total {
        let mut t: Column<Node> = scratch.kept_zeroed(total);
        t[..used].copy_from_slice(&g.targets[..used]);
        g.targets = t;
    }
    let mut e = extra.len();
    for v in (0..rows).rev() {
        let (s, end) = (g.starts[v] as usize, g.starts[v + 1] as usize);
        let mine = extra[..e]
            .iter()
            .rev()
            .take_while(|p| p.0 as usize == v)
            .count();
        let shift = e - mine;
        // Row v moves to [s + shift, end + shift), its extra edges after it.
        g.targets.copy_within(s..end, s + shift);
        for (k, p) in extra[e - mine..e].iter().enumerate() {
            g.targets[end + shift + k] = p.1;
        }
        g.starts[v + 1] = (end + e) as u64;
        e = shift;
        if e == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(lists: &[Vec<Node>]) -> Csr {
        Csr::from_lists(lists)
    }

    #[test]
    fn the_strongest_paths_weakest_link() {
        // 0 root -> 1 (soft ref) -(referent)-> 2 -> 3; 0 -> 4 (weak ref) -(referent)-> 3;
        // 0 -> 5 (weak ref) -(referent)-> 6 ; 1 -> 7 strongly.
        // 8: unreached orphan -> 9.
        let lists = vec![
            vec![1, 4, 5],
            vec![7, 2],
            vec![3],
            vec![],
            vec![3],
            vec![6],
            vec![],
            vec![],
            vec![9],
            vec![],
            vec![0], // virtual root
        ];
        let g = graph(&lists);
        let class_of = vec![0, 1, 0, 0, 2, 2, 0, 0, 0, 0];
        let strength_of_class = vec![STRONG, SOFT, WEAK];
        let referents = vec![(1, SOFT), (4, WEAK), (5, WEAK)];
        let rg = ReachGraph {
            refs: &g,
            referents: &referents,
            class_of: &class_of,
            strength_of_class: &strength_of_class,
        };
        let mut level = rg.classify(&Scratch::memory());
        assert_eq!(
            &level[..8],
            &[STRONG, STRONG, SOFT, SOFT, STRONG, STRONG, WEAK, STRONG]
        );
        let orphans = rg.orphans(&level);
        assert_eq!(orphans, vec![8]);
        rg.finish(&mut level, &orphans, |_| true);
        assert_eq!(&level[8..], &[HELD_BY_JVM, HELD_BY_JVM]);
        let t = totals(&level, |_| 10);
        assert_eq!(t.objects, [5, 2, 1, 0, 0, 2, 0]);
        assert_eq!(t.bytes[SOFT as usize], 20);
    }

    #[test]
    fn orphans_go_to_the_class_their_members_name() {
        // 0 root -> 1 (a class mirror); 2 orphan -> 3 -> 1 (3 names 1); 4 orphan names nothing.
        let lists = vec![vec![1], vec![], vec![3], vec![1], vec![], vec![0]];
        let mut g = graph(&lists);
        let class_of = vec![0; 5];
        let strength_of_class = vec![STRONG];
        let rg = ReachGraph {
            refs: &g,
            referents: &[],
            class_of: &class_of,
            strength_of_class: &strength_of_class,
        };
        let level = rg.classify(&Scratch::memory());
        let orphans = rg.orphans(&level);
        assert_eq!(orphans, vec![2, 4]);
        let owners = rg.owners(&level, &orphans, |v, _| (v == 3).then_some(1), 100);
        assert_eq!(owners, vec![(1, 2)]);
        insert_edges(&mut g, &owners, &Scratch::memory());
        assert_eq!(g.successors(1), &[2]);
        assert_eq!(g.successors(3), &[1]);
        assert_eq!(g.successors(5), &[0]);
        let rg = ReachGraph {
            refs: &g,
            referents: &[],
            class_of: &class_of,
            strength_of_class: &strength_of_class,
        };
        let level = rg.classify(&Scratch::memory());
        assert_eq!(&level[..4], &[STRONG; 4]);
        assert_eq!(level[4], UNSEEN);
    }

    #[test]
    fn inserting_edges_keeps_every_row() {
        let lists: Vec<Vec<Node>> = vec![vec![1, 2], vec![], vec![0], vec![3, 3], vec![1]];
        let mut g = graph(&lists);
        let extra = vec![(0, 9), (0, 8), (2, 7), (4, 6)];
        insert_edges(&mut g, &extra, &Scratch::memory());
        assert_eq!(g.successors(0), &[1, 2, 9, 8]);
        assert_eq!(g.successors(1), &[] as &[Node]);
        assert_eq!(g.successors(2), &[0, 7]);
        assert_eq!(g.successors(3), &[3, 3]);
        assert_eq!(g.successors(4), &[1, 6]);
    }
}
