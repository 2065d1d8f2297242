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
            .collect();
        ClassTable { classes, by_id }
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

    /// Superclass chain from `i` up (including `i`).
    pub fn ancestry(&self, i: ClassIndex) -> impl Iterator<Item = ClassIndex> + '_ {
        let mut cur = i;
        let mut guard = 0;
        std::iter::from_fn(move || {
            if cur == NO_CLASS || guard > 10_000 {
                return None;
            }
            guard += 1;
            let r = cur;
            cur = self.classes[cur as usize].super_index;
            Some(r)
        })
    }

    /// Whether class `i` is `ancestor` or a subclass of it.
    pub fn is_subclass_of(&self, i: ClassIndex, ancestor: ClassIndex) -> bool {
        self.ancestry(i).any(|c| c == ancestor)
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
