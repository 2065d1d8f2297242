//! The retained set of chosen objects when chosen references are not followed: what a GC would free
//! if those objects went away and those references did not count (Eclipse MAT's
//! `customized_retained_set -x CLASS:FIELD`).
//!
//! The usual use is the retained set "as if weak and soft references were cleared":
//! `-x java.lang.ref.WeakReference:referent -x java.lang.ref.SoftReference:referent` keeps an
//! object that only a cache's soft reference also holds inside the retained set of its owner.
//!
//! Two marking passes over the graph, as MAT makes them: first everything the GC roots reach
//! without passing through the chosen objects and without following an excluded reference;
//! then, from the chosen objects, everything not marked by the first pass. What the second pass
//! reaches is the retained set (the chosen objects included). Excluded references are excluded
//! from the first pass only: inside the retained set every reference counts.

use super::describe::hex;
use super::dump_info::DumpInfo;
use crate::formats::hprof::Warning;
use crate::heap::classes::ClassIndex;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Heap;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// References not to follow: of which objects, through which fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclusion {
    pub objects: ExcludedObjects,
    /// Field names; `None`: every reference of those objects.
    pub fields: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExcludedObjects {
    /// Instances of the class of this name and of its subclasses (every loader's class of the name).
    Class(String),
    /// One object, by id.
    Object(u64),
}

impl std::fmt::Display for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.objects {
            ExcludedObjects::Class(c) => write!(f, "{c}")?,
            ExcludedObjects::Object(id) => write!(f, "{}", hex(*id))?,
        }
        if let Some(fields) = &self.fields {
            write!(f, ":{}", fields.join(","))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Exclusion {
    type Err = String;

    /// `CLASS[:FIELD[,FIELD...]]` or `0xID[:FIELD...]`, as MAT writes them.
    fn from_str(s: &str) -> Result<Exclusion, String> {
        let (who, fields) = match s.split_once(':') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let who = who.trim();
        if who.is_empty() {
            return Err(format!(
                "{s:?}: name a class or an object id before the ':'"
            ));
        }
        let objects = match who.strip_prefix("0x").or_else(|| who.strip_prefix("0X")) {
            Some(h) => ExcludedObjects::Object(
                u64::from_str_radix(h, 16).map_err(|_| format!("{s:?}: {who} is not a hex id"))?,
            ),
            None => ExcludedObjects::Class(who.to_string()),
        };
        let fields = fields.map(|f| {
            f.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        });
        if fields.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!("{s:?}: no field names after the ':'"));
        }
        Ok(Exclusion { objects, fields })
    }
}

/// One class's share of a retained set.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClassShare {
    pub class: String,
    pub objects: u64,
    pub shallow_bytes: u64,
}

pub const SCHEMA: &str = "oomsleuth.retained/1";

/// The `oomsleuth.retained/1` document.
#[derive(Clone, Debug, Serialize)]
pub struct RetainedSet {
    pub schema: &'static str,
    pub dump: DumpInfo,
    /// The exclusions as given.
    pub excluded: Vec<String>,
    /// The chosen objects, as ids.
    pub of: Vec<String>,
    pub objects: u64,
    pub shallow_bytes: u64,
    /// Per class, biggest first.
    pub classes: Vec<ClassShare>,
    /// Exclusions that matched no class or object in the dump.
    pub unmatched: Vec<String>,
    pub warnings: Vec<Warning>,
}

/// A bit per node.
struct Marks(Vec<u64>);

impl Marks {
    fn new(n: usize) -> Marks {
        Marks(vec![0; n.div_ceil(64)])
    }
    fn get(&self, v: u32) -> bool {
        self.0[v as usize / 64] >> (v % 64) & 1 == 1
    }
    /// Sets the bit; whether it was clear.
    fn set(&mut self, v: u32) -> bool {
        let (w, b) = (v as usize / 64, 1u64 << (v % 64));
        let was_clear = self.0[w] & b == 0;
        self.0[w] |= b;
        was_clear
    }
}

/// What the exclusions come to in this dump.
struct Resolved {
    /// Classes whose instances are excluded, with the fields (`None`: all references).
    classes: Vec<(ClassIndex, Option<HashSet<String>>)>,
    objects: Vec<(ObjectIndex, Option<HashSet<String>>)>,
    unmatched: Vec<String>,
}

fn resolve(heap: &Heap<'_, '_>, exclusions: &[Exclusion]) -> Resolved {
    let classes = &heap.snap.classes;
    let mut r = Resolved {
        classes: vec![],
        objects: vec![],
        unmatched: vec![],
    };
    for x in exclusions {
        let fields = x.fields.as_ref().map(|f| f.iter().cloned().collect());
        match &x.objects {
            ExcludedObjects::Class(name) => {
                let named: Vec<ClassIndex> = (0..classes.len() as ClassIndex)
                    .filter(|&c| classes.get(c).name == *name)
                    .collect();
                if named.is_empty() {
                    r.unmatched.push(name.clone());
                }
                for c in 0..classes.len() as ClassIndex {
                    if named.iter().any(|&a| classes.is_subclass_of(c, a)) {
                        r.classes.push((c, fields.clone()));
                    }
                }
            }
            ExcludedObjects::Object(id) => match heap.find(*id) {
                Some(o) => r.objects.push((o, fields)),
                None => r.unmatched.push(hex(*id)),
            },
        }
    }
    r
}

/// The successors of `v` that its exclusions leave: all of them, none, or those some field not
/// excluded (or the object's class link) also points at.
fn followed(heap: &Heap<'_, '_>, v: ObjectIndex, fields: &Option<HashSet<String>>) -> Vec<u32> {
    let index = heap.index;
    let Some(fields) = fields else {
        return vec![];
    };
    let mut cut = HashSet::new();
    let mut kept = HashSet::new();
    for f in heap.fields(v) {
        if let Some(id) = f.value.as_object() {
            if fields.contains(&f.name) {
                cut.insert(id);
            } else {
                kept.insert(id);
            }
        }
    }
    index
        .refs
        .successors(v)
        .iter()
        .copied()
        .filter(|&w| {
            let id = heap.id(w);
            !cut.contains(&id) || kept.contains(&id) || index.class_of_object(w).is_some()
        })
        .collect()
}

/// The retained set of `of` with `exclusions` not followed from the GC roots.
pub fn retained_set(
    heap: &Heap<'_, '_>,
    of: &[ObjectIndex],
    exclusions: &[Exclusion],
) -> RetainedSet {
    let index = heap.index;
    let n = index.len();
    let resolved = resolve(heap, exclusions);
    // Per class, its exclusion's slot in `resolved.classes` (the first that names it).
    let mut class_slot = vec![usize::MAX; heap.snap.classes.len()];
    for (k, (c, _)) in resolved.classes.iter().enumerate().rev() {
        class_slot[*c as usize] = k;
    }
    let exclusion_of = |v: ObjectIndex| -> Option<&Option<HashSet<String>>> {
        if let Some((_, f)) = resolved.objects.iter().find(|(o, _)| *o == v) {
            return Some(f);
        }
        // Instances only: a class object's class is java.lang.Class, matched by that name.
        let c = index.class_of[v as usize] as usize;
        let k = *class_slot.get(c)?;
        resolved.classes.get(k).map(|(_, f)| f)
    };

    // First pass: from the roots, around the chosen objects, not through excluded references.
    let mut first = Marks::new(n + 1);
    for &o in of {
        first.set(o);
    }
    let mut stack = vec![index.virtual_root()];
    first.set(index.virtual_root());
    let mut kept = vec![];
    while let Some(v) = stack.pop() {
        // Only an excluded object's row is filtered (and its record read); the others are used in place.
        let excluded = ((v as usize) < n).then(|| exclusion_of(v)).flatten();
        let next: &[u32] = match excluded {
            Some(fields) => {
                kept = followed(heap, v, fields);
                &kept
            }
            None => index.refs.successors(v),
        };
        for &w in next {
            if first.set(w) {
                stack.push(w);
            }
        }
    }

    // Second pass: from the chosen objects, whatever the first did not reach.
    let mut second = Marks::new(n + 1);
    let mut members = vec![];
    for &o in of {
        if second.set(o) {
            members.push(o);
            stack.push(o);
        }
    }
    while let Some(v) = stack.pop() {
        for &w in index.refs.successors(v) {
            if !first.get(w) && second.set(w) {
                members.push(w);
                stack.push(w);
            }
        }
    }

    let mut per_class: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut shallow = 0;
    for &v in &members {
        let s = index.shallow(v);
        shallow += s;
        let e = per_class.entry(heap.class_name(v)).or_default();
        e.0 += 1;
        e.1 += s;
    }
    let mut classes: Vec<ClassShare> = per_class
        .into_iter()
        .map(|(class, (objects, shallow_bytes))| ClassShare {
            class: class.to_string(),
            objects,
            shallow_bytes,
        })
        .collect();
    classes.sort_by(|a, b| {
        (b.shallow_bytes, b.objects, &a.class).cmp(&(a.shallow_bytes, a.objects, &b.class))
    });
    RetainedSet {
        schema: SCHEMA,
        dump: DumpInfo::of(heap.snap),
        excluded: exclusions.iter().map(Exclusion::to_string).collect(),
        of: of.iter().map(|&o| hex(heap.id(o))).collect(),
        objects: members.len() as u64,
        shallow_bytes: shallow,
        classes,
        unmatched: resolved.unmatched,
        warnings: heap.warnings(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_parse_as_mat_writes_them() {
        let x: Exclusion = "java.lang.ref.WeakReference:referent".parse().unwrap();
        assert_eq!(
            x,
            Exclusion {
                objects: ExcludedObjects::Class("java.lang.ref.WeakReference".into()),
                fields: Some(vec!["referent".into()]),
            }
        );
        let x: Exclusion = "0x2ca48ee8:a, b".parse().unwrap();
        assert_eq!(x.objects, ExcludedObjects::Object(0x2ca48ee8));
        assert_eq!(x.fields, Some(vec!["a".into(), "b".into()]));
        assert_eq!(x.to_string(), "0x2ca48ee8:a,b");
        let x: Exclusion = "com.example.Cache".parse().unwrap();
        assert_eq!(x.fields, None);
        assert!(":referent".parse::<Exclusion>().is_err());
        assert!("0xzz:f".parse::<Exclusion>().is_err());
        assert!("A:".parse::<Exclusion>().is_err());
    }
}
