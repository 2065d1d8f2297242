//! The classes of a dump: names, hierarchy, loaders and field declarations, indexed densely.

use super::fxhash::{new_map, FxHashMap};
use super::names::java_name;
use crate::formats::hprof::{BasicType, ClassDump, Directory};

/// Dense class number (index into [`ClassTable::classes`]).
pub type ClassIndex = u32;
pub const NO_CLASS: ClassIndex = u32::MAX;

/// One class of the dump.
pub struct ClassInfo<'a> {
    pub id: u64,
    /// Java source form (`java.lang.String`, `int[]`).
    pub name: String,
    pub super_index: ClassIndex,
    pub loader_id: u64,
    pub dump: ClassDump<'a>,
    /// For array classes, the element type (`Object` for arrays of references).
    pub array_of: Option<BasicType>,
}

impl ClassInfo<'_> {
    pub fn is_array(&self) -> bool {
        self.array_of.is_some()
    }
}

/// All classes, with lookups by id.
pub struct ClassTable<'a> {
    pub classes: Vec<ClassInfo<'a>>,
    by_id: FxHashMap<u64, ClassIndex>,
    /// The superclass links with any link that closes a cycle cut (a forged dump's A -> B -> A),
    /// so every walk up ends.
    parent: Vec<ClassIndex>,
    /// Every class once, each after its superclass: per-class facts about the whole ancestry
    /// are computed in this order from the superclass's, in linear time ([`Self::per_class`]).
    order: Vec<ClassIndex>,
    /// Preorder number and subtree size of each class in the hierarchy: `is_subclass_of` in
    /// constant time.
    pre: Vec<u32>,
    subtree: Vec<u32>,
}

/// The acyclic superclass links and an order with superclasses first: each class is visited
/// once; a link back into the walk in progress (a cycle) is cut.
fn superclass_order(supers: &[ClassIndex]) -> (Vec<ClassIndex>, Vec<ClassIndex>) {
    let n = supers.len();
    let mut parent: Vec<ClassIndex> = supers
        .iter()
        .map(|&s| if (s as usize) < n { s } else { NO_CLASS })
        .collect();
    let mut state = vec![0u8; n]; // 0 new, 1 on the walk, 2 placed
    let mut order = Vec::with_capacity(n);
    let mut walk = vec![];
    for start in 0..n as ClassIndex {
        let mut c = start;
        while c != NO_CLASS && state[c as usize] == 0 {
            state[c as usize] = 1;
            walk.push(c);
            c = parent[c as usize];
        }
        if c != NO_CLASS && state[c as usize] == 1 {
            if let Some(&last) = walk.last() {
                parent[last as usize] = NO_CLASS;
            }
        }
        while let Some(c) = walk.pop() {
            state[c as usize] = 2;
            order.push(c);
        }
    }
    (parent, order)
}

/// Preorder numbers and subtree sizes of the class forest, from the superclass-first order.
fn preorder(parent: &[ClassIndex], order: &[ClassIndex]) -> (Vec<u32>, Vec<u32>) {
    let n = parent.len();
    let mut subtree = vec![1u32; n];
    for &c in order.iter().rev() {
        let p = parent[c as usize];
        if p != NO_CLASS {
            subtree[p as usize] += subtree[c as usize];
        }
    }
    let mut pre = vec![0u32; n];
    // The next free number under each class (its own number + 1 once placed).
    let mut next = vec![0u32; n];
    let mut roots = 0u32;
    for &c in order {
        let p = parent[c as usize];
        let at = if p == NO_CLASS {
            let at = roots;
            roots += subtree[c as usize];
            at
        } else {
            let at = next[p as usize];
            next[p as usize] += subtree[c as usize];
            at
        };
        pre[c as usize] = at;
        next[c as usize] = at + 1;
    }
    (pre, subtree)
}

impl<'a> ClassTable<'a> {
    pub fn build(dir: &Directory<'a>, dumps: &[ClassDump<'a>]) -> ClassTable<'a> {
        let mut names: FxHashMap<u64, u64> = new_map();
        for lc in &dir.loaded_classes {
            names.insert(lc.class_id, lc.name_id);
        }
        let mut dumps: Vec<ClassDump<'a>> = dumps.to_vec();
        dumps.sort_by_key(|d| d.id);
        dumps.dedup_by_key(|d| d.id);
        let mut by_id = new_map();
        for (i, d) in dumps.iter().enumerate() {
            by_id.insert(d.id, i as ClassIndex);
        }
        let classes = dumps
            .iter()
            .map(|d| {
                let raw = names.get(&d.id).and_then(|n| dir.string(*n));
                let name = match raw {
                    Some(r) => java_name(&r),
                    None => format!("<unnamed class 0x{:x}>", d.id),
                };
                let array_of = name.strip_suffix("[]").map(|elem| {
                    BasicType::PRIMITIVES
                        .into_iter()
                        .find(|t| t.java_name() == elem)
                        .unwrap_or(BasicType::Object)
                });
                ClassInfo {
                    id: d.id,
                    name,
                    super_index: by_id.get(&d.super_id).copied().unwrap_or(NO_CLASS),
                    loader_id: d.loader_id,
                    dump: *d,
                    array_of,
                }
            })
            .collect::<Vec<ClassInfo<'a>>>();
        let supers: Vec<ClassIndex> = classes.iter().map(|c| c.super_index).collect();
        let (parent, order) = superclass_order(&supers);
        let (pre, subtree) = preorder(&parent, &order);
        ClassTable {
            classes,
            by_id,
            parent,
            order,
            pre,
            subtree,
        }
    }

    /// Recomputes the walk order after `super_index` links were changed (cycles cut).
    pub fn refresh_hierarchy(&mut self) {
        let supers: Vec<ClassIndex> = self.classes.iter().map(|c| c.super_index).collect();
        let (parent, order) = superclass_order(&supers);
        let (pre, subtree) = preorder(&parent, &order);
        (self.parent, self.order, self.pre, self.subtree) = (parent, order, pre, subtree);
    }

    /// A value per class computed from the class and its superclass's value (`None` for a
    /// root), each class once, superclasses first: linear in the number of classes however deep
    /// the hierarchy. Indexed by class.
    pub fn per_class<T: Clone>(&self, mut f: impl FnMut(ClassIndex, Option<&T>) -> T) -> Vec<T> {
        let mut out: Vec<Option<T>> = vec![None; self.classes.len()];
        for &c in &self.order {
            let p = self.parent[c as usize];
            let v = f(
                c,
                if p == NO_CLASS {
                    None
                } else {
                    out[p as usize].as_ref()
                },
            );
            out[c as usize] = Some(v);
        }
        out.into_iter()
            .map(|v| v.expect("every class is in the order"))
            .collect()
    }

    /// The superclass of `i` as walks see it (`NO_CLASS` for a root or where a cycle was cut).
    pub fn parent(&self, i: ClassIndex) -> ClassIndex {
        self.parent.get(i as usize).copied().unwrap_or(NO_CLASS)
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    pub fn index_of(&self, id: u64) -> Option<ClassIndex> {
        self.by_id.get(&id).copied()
    }

    pub fn get(&self, i: ClassIndex) -> &ClassInfo<'a> {
        &self.classes[i as usize]
    }

    /// The first class with this Java name defined by the bootstrap loader, else any loader.
    pub fn find(&self, name: &str) -> Option<ClassIndex> {
        let mut any = None;
        for (i, c) in self.classes.iter().enumerate() {
            if c.name == name {
                if c.loader_id == 0 {
                    return Some(i as ClassIndex);
                }
                any.get_or_insert(i as ClassIndex);
            }
        }
        any
    }

    /// Superclass chain from `i` up (including `i`); finite (cycles are cut), but as long as
    /// the hierarchy is deep: per-class facts about all classes belong in [`Self::per_class`].
    pub fn ancestry(&self, i: ClassIndex) -> impl Iterator<Item = ClassIndex> + '_ {
        let mut cur = if (i as usize) < self.classes.len() {
            i
        } else {
            NO_CLASS
        };
        std::iter::from_fn(move || {
            if cur == NO_CLASS {
                return None;
            }
            let r = cur;
            cur = self.parent[cur as usize];
            Some(r)
        })
    }

    /// Whether class `i` is `ancestor` or a subclass of it (constant time).
    pub fn is_subclass_of(&self, i: ClassIndex, ancestor: ClassIndex) -> bool {
        let (i, a) = (i as usize, ancestor as usize);
        if i >= self.pre.len() || a >= self.pre.len() {
            return false;
        }
        self.pre[a] <= self.pre[i] && self.pre[i] < self.pre[a] + self.subtree[a]
    }

    /// Bytes of HPROF field data each class's own fields take in an instance record.
    pub fn own_field_bytes(&self, c: ClassIndex, id_size: u8) -> u32 {
        self.classes[c as usize]
            .dump
            .fields()
            .map(|f| f.ty.hprof_size(id_size) as u32)
            .sum()
    }

    /// Finds the value bytes of instance field `name` in an INSTANCE DUMP's field data.
    pub fn instance_field<'d>(
        &self,
        dir: &Directory<'_>,
        class: ClassIndex,
        fields: &'d [u8],
        name: &str,
    ) -> Option<(BasicType, &'d [u8])> {
        let (pos, ty) = self.field_offset(dir, class, name)?;
        Some((ty, fields.get(pos..pos + ty.hprof_size(dir.id_size()))?))
    }

    /// Where the field `name` of `class`'s instances is in an instance record's field data
    /// (the class's own fields first, then its superclasses'), and its type. Analyses that read
    /// one field of many instances look it up once per class with this.
    pub fn field_offset(
        &self,
        dir: &Directory<'_>,
        class: ClassIndex,
        name: &str,
    ) -> Option<(usize, BasicType)> {
        let ids = dir.id_size();
        let mut pos = 0usize;
        for c in self.ancestry(class) {
            for f in self.classes[c as usize].dump.fields() {
                if dir
                    .strings
                    .get(&f.name_id)
                    .is_some_and(|s| *s == name.as_bytes())
                {
                    return Some((pos, f.ty));
                }
                pos += f.ty.hprof_size(ids);
            }
        }
        None
    }

    /// A static field's object id by name.
    pub fn static_object(&self, dir: &Directory<'_>, class: ClassIndex, name: &str) -> Option<u64> {
        let ids = dir.id_size();
        self.classes[class as usize]
            .dump
            .statics()
            .find(|s| {
                dir.strings
                    .get(&s.name_id)
                    .map(|b| *b == name.as_bytes())
                    .unwrap_or(false)
            })
            .and_then(|s| s.object_id(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superclass_order_puts_parents_first_and_cuts_cycles() {
        // 0 <- 1 <- 2, 3 alone, 4 <-> 5 a cycle, 6 -> 5, 7 its own superclass.
        let supers = [NO_CLASS, 0, 1, NO_CLASS, 5, 4, 5, 7];
        let (parent, order) = superclass_order(&supers);
        assert_eq!(order.len(), supers.len());
        let at = |c: ClassIndex| order.iter().position(|&o| o == c).unwrap();
        for c in 0..supers.len() as ClassIndex {
            let p = parent[c as usize];
            if p != NO_CLASS {
                assert!(at(p) < at(c), "{c} after its superclass {p}");
            }
        }
        assert!(parent[4] == NO_CLASS || parent[5] == NO_CLASS);
        assert_eq!(parent[7], NO_CLASS);
        let (pre, subtree) = preorder(&parent, &order);
        let sub = |i: usize, a: usize| pre[a] <= pre[i] && pre[i] < pre[a] + subtree[a];
        assert!(sub(2, 0) && sub(2, 1) && sub(1, 0) && sub(0, 0));
        assert!(!sub(0, 2) && !sub(3, 0) && !sub(2, 3));
        assert!(sub(6, 5));
    }
}
