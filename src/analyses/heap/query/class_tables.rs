//! The schema: the fixed tables and one table per class, named by its Java name
//! (`"java.lang.String"`; `"instanceof java.util.AbstractMap"` adds the subclasses' instances),
//! made when a query names it, so a dump of 50,000 classes costs nothing until asked.
//!
//! A class table's columns are id, shallow, retained, reachable, `size`/`capacity` where the JDK
//! collection model reads the class, `length` for arrays, then the instance fields, inherited
//! ones included, superclass fields first; a field a subclass shadows is named
//! `Declarer.field`. References are object ids, primitives their values.

use super::tables::{self, ColumnDef, HeapTable, Rows};
use super::HeapData;
use crate::formats::hprof::{BasicType, SubRecord};
use crate::heap::classes::ClassIndex;
use crate::heap::fxhash::{new_map, FxHashMap};
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Value;
use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, Int8Builder, StringBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::TableType;
use std::sync::Arc;

/// The tables every dump has.
pub const FIXED: [&str; 6] = ["objects", "classes", "refs", "roots", "loaders", "strings"];

/// The prefix of a table of a class's instances and its subclasses'.
pub const INSTANCEOF: &str = "instanceof ";

pub struct HeapSchema {
    data: Arc<HeapData>,
    opts: super::Options,
}

impl std::fmt::Debug for HeapSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeapSchema")
    }
}

impl HeapSchema {
    pub fn new(data: Arc<HeapData>, opts: &super::Options) -> HeapSchema {
        HeapSchema {
            data,
            opts: opts.clone(),
        }
    }

    /// The table called `name`, if there is one.
    pub fn table_named(&self, name: &str) -> Option<HeapTable> {
        let d = &self.data;
        let fixed = |cols: Vec<ColumnDef>, rows: Rows| {
            Some(HeapTable::new(Arc::clone(d), cols, rows, &self.opts))
        };
        match name {
            "objects" => return fixed(tables::objects(), Rows::Objects),
            "classes" => return fixed(tables::classes(), Rows::Classes),
            "refs" => return fixed(tables::refs(), Rows::Refs),
            "roots" => return fixed(tables::roots(), Rows::Roots),
            "loaders" => return fixed(tables::loaders(), Rows::Loaders),
            "strings" => {
                let mask = class_mask(d, d.classes_named("java.lang.String"), false);
                return fixed(tables::strings(), Rows::Instances(Arc::new(mask)));
            }
            _ => {}
        }
        let (class_name, subclasses) = match name.strip_prefix(INSTANCEOF) {
            Some(n) => (n.trim(), true),
            None => (name, false),
        };
        let named = d.classes_named(class_name);
        let &first = named.first()?;
        let mask = class_mask(d, named, subclasses);
        let cols = class_columns(d, first, &mask);
        Some(HeapTable::new(
            Arc::clone(d),
            cols,
            Rows::Instances(Arc::new(mask)),
            &self.opts,
        ))
    }
}

#[async_trait]
impl SchemaProvider for HeapSchema {
    fn table_names(&self) -> Vec<String> {
        let mut v: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
        v.extend(self.data.class_names());
        v
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self
            .table_named(name)
            .map(|t| Arc::new(t) as Arc<dyn TableProvider>))
    }

    /// Without building the table: `SHOW TABLES` lists every class.
    async fn table_type(&self, name: &str) -> DfResult<Option<TableType>> {
        Ok(self.table_exist(name).then_some(TableType::View))
    }

    fn table_exist(&self, name: &str) -> bool {
        let n = name.strip_prefix(INSTANCEOF).unwrap_or(name).trim();
        FIXED.contains(&name) || !self.data.classes_named(n).is_empty()
    }
}

/// Classes whose instances a table holds: `classes`, and with `subclasses` every class below them.
fn class_mask(d: &HeapData, classes: &[ClassIndex], subclasses: bool) -> Vec<bool> {
    let table = &d.g().heap.snap.classes;
    let mut mask = vec![false; table.len()];
    for &c in classes {
        mask[c as usize] = true;
    }
    if subclasses {
        for (k, m) in mask.iter_mut().enumerate() {
            *m = *m
                || classes
                    .iter()
                    .any(|&c| table.is_subclass_of(k as ClassIndex, c));
        }
    }
    mask
}

/// A declared instance field: who declares it, its name, its type.
#[derive(Clone, Debug, PartialEq)]
struct Declared {
    declarer: String,
    name: String,
    ty: BasicType,
}

/// The instance fields of `class`'s instances in record order (its own first, then its
/// superclasses').
fn declared_fields(d: &HeapData, class: ClassIndex) -> Vec<Declared> {
    let heap = &d.g().heap;
    let classes = &heap.snap.classes;
    let mut out = vec![];
    for k in classes.ancestry(class) {
        for f in classes.get(k).dump.fields() {
            out.push(Declared {
                declarer: classes.get(k).name.clone(),
                name: heap.field_name(f.name_id),
                ty: f.ty,
            });
        }
    }
    out
}

/// Column names for fields, unique among themselves and the table's built-in columns (`taken`):
/// the field Java's `x.name` means keeps the plain name unless a built-in has it; a shadowed
/// field, or one named like a built-in (`size`, `id`), is `SimpleDeclarer.name`, then
/// `full.Declarer.name`, then numbered, whichever is free first.
fn column_names(fields: &[Declared], taken: &[&str]) -> Vec<String> {
    let mut used: Vec<String> = taken.iter().map(|s| s.to_string()).collect();
    let mut names = vec![];
    for (i, f) in fields.iter().enumerate() {
        // `fields` is most derived first: an earlier field of the same name shadows this one.
        let shadowed = fields[..i].iter().any(|g| g.name == f.name);
        let simple = f.declarer.rsplit(['.', '$']).next().unwrap_or(&f.declarer);
        let mut candidates = vec![
            format!("{simple}.{}", f.name),
            format!("{}.{}", f.declarer, f.name),
        ];
        if !shadowed {
            candidates.insert(0, f.name.clone());
        }
        let name = candidates
            .into_iter()
            .find(|c| !used.contains(c))
            .unwrap_or_else(|| {
                let base = format!("{}.{}", f.declarer, f.name);
                (2..)
                    .map(|k| format!("{base}#{k}"))
                    .find(|c| !used.contains(c))
                    .unwrap_or(base)
            });
        used.push(name.clone());
        names.push(name);
    }
    names
}

/// Field metadata naming the Java field a column holds, on the column Java's `x.name` means
/// (the most derived declaration), whatever the column is called: how OQL finds `s.size`.
pub const JAVA_FIELD: &str = "oomsleuth.java_field";

/// The columns of the table of `first`'s name over the classes in `mask`.
fn class_columns(d: &HeapData, first: ClassIndex, mask: &[bool]) -> Vec<ColumnDef> {
    let classes = &d.g().heap.snap.classes;
    let mut cols = tables::object_columns();
    // Each row's class is named (an INSTANCEOF table holds subclasses); its id is in `objects`.
    cols.retain(|c| c.field.name() != "class_id");
    if classes.get(first).is_array() {
        cols.push(tables::length_column());
        return cols;
    }
    let model = d.g().heap.snap.collections();
    let readable = (0..mask.len()).any(|c| mask[c] && model.is_readable(c as ClassIndex));
    if readable {
        cols.push(ColumnDef::new("size", DataType::Int64, |d, k| {
            let m = d.g().heap.snap.collections();
            tables::i64s(k, |o| {
                Some(m.size(&d.g().heap, o as ObjectIndex)?.size as i64)
            })
        }));
        cols.push(ColumnDef::new("capacity", DataType::Int64, |d, k| {
            let m = d.g().heap.snap.collections();
            tables::i64s(k, |o| {
                m.size(&d.g().heap, o as ObjectIndex)?
                    .capacity
                    .map(|c| c as i64)
            })
        }));
    }
    let fields = declared_fields(d, first);
    let builtins: Vec<&str> = cols.iter().map(|c| c.field.name().as_str()).collect();
    let names = column_names(&fields, &builtins);
    // Where each field is in each class's records, by (declarer name, field name).
    let mut at: FxHashMap<ClassIndex, Vec<Option<usize>>> = new_map();
    for c in (0..mask.len()).filter(|&c| mask[c]) {
        let theirs = declared_fields(d, c as ClassIndex);
        let ids = d.g().heap.snap.dir.id_size();
        let mut pos = vec![];
        let mut p = 0usize;
        for t in &theirs {
            pos.push((t, p));
            p += t.ty.hprof_size(ids);
        }
        let offsets = fields
            .iter()
            .map(|f| {
                pos.iter()
                    .find(|(t, _)| t.name == f.name && t.declarer == f.declarer && t.ty == f.ty)
                    .map(|&(_, p)| p)
            })
            .collect();
        at.insert(c as ClassIndex, offsets);
    }
    let at = Arc::new(at);
    for i in superclass_first(&fields) {
        let ty = fields[i].ty;
        let at = Arc::clone(&at);
        let build = move |d: &HeapData, k: &[u64]| {
            field_array(
                ty,
                k.iter()
                    .map(|&o| field_value(d, &at, o as ObjectIndex, i, ty)),
            )
        };
        let mut c = if ty == BasicType::Object {
            ColumnDef::ids(&names[i], build)
        } else {
            ColumnDef::new(&names[i], arrow_type(ty), build)
        };
        c.field = c.field.with_nullable(true);
        if fields[..i].iter().all(|g| g.name != fields[i].name) {
            let mut meta = c.field.metadata().clone();
            meta.insert(JAVA_FIELD.to_string(), fields[i].name.clone());
            c.field = c.field.with_metadata(meta);
        }
        cols.push(c);
    }
    cols
}

/// Field positions in column order: the topmost superclass's fields first, each class's in
/// declaration order (`fields` is in record order: the most derived class's first).
fn superclass_first(fields: &[Declared]) -> Vec<usize> {
    let mut declarers: Vec<&str> = vec![];
    for f in fields {
        if declarers.last() != Some(&f.declarer.as_str()) {
            declarers.push(&f.declarer);
        }
    }
    let rank = |d: &str| declarers.iter().position(|x| *x == d).unwrap_or(0);
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(rank(&fields[i].declarer)), i));
    order
}

/// The value of field `i` of object `o`, read from its record at its class's offset.
fn field_value(
    d: &HeapData,
    at: &FxHashMap<ClassIndex, Vec<Option<usize>>>,
    o: ObjectIndex,
    i: usize,
    ty: BasicType,
) -> Option<Value> {
    let heap = &d.g().heap;
    let pos = (*at.get(&heap.class(o))?.get(i)?)?;
    let Some(SubRecord::Instance(inst)) = heap.record(o) else {
        return None;
    };
    Value::read(ty, inst.fields.get(pos..)?, heap.snap.dir.id_size())
}

pub(crate) fn arrow_type(ty: BasicType) -> DataType {
    match ty {
        BasicType::Object => DataType::UInt64,
        BasicType::Boolean => DataType::Boolean,
        BasicType::Char => DataType::Utf8,
        BasicType::Float => DataType::Float32,
        BasicType::Double => DataType::Float64,
        BasicType::Byte => DataType::Int8,
        BasicType::Short => DataType::Int16,
        BasicType::Int => DataType::Int32,
        BasicType::Long => DataType::Int64,
    }
}

/// An Arrow array of field values of type `ty` (null where there is none; a null reference is
/// null).
pub(crate) fn field_array(ty: BasicType, values: impl Iterator<Item = Option<Value>>) -> ArrayRef {
    macro_rules! build {
        ($b:ty, $pat:path) => {{
            let mut b = <$b>::new();
            for v in values {
                b.append_option(match v {
                    Some($pat(x)) => Some(x),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }};
    }
    match ty {
        BasicType::Object => {
            let mut b = UInt64Builder::new();
            for v in values {
                b.append_option(v.and_then(Value::as_object));
            }
            Arc::new(b.finish())
        }
        BasicType::Boolean => {
            let mut b = BooleanBuilder::new();
            for v in values {
                b.append_option(match v {
                    Some(Value::Boolean(x)) => Some(x),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        BasicType::Char => {
            let mut b = StringBuilder::new();
            for v in values {
                b.append_option(match v {
                    Some(Value::Char(c)) => {
                        Some(char::from_u32(c as u32).unwrap_or('\u{fffd}').to_string())
                    }
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        BasicType::Float => build!(Float32Builder, Value::Float),
        BasicType::Double => build!(Float64Builder, Value::Double),
        BasicType::Byte => build!(Int8Builder, Value::Byte),
        BasicType::Short => build!(Int16Builder, Value::Short),
        BasicType::Int => build!(Int32Builder, Value::Int),
        BasicType::Long => build!(Int64Builder, Value::Long),
    }
}

/// Up to `max` class names closest to `name`: same simple name or containing it first, then by
/// edit distance.
pub fn close_names(d: &HeapData, name: &str, max: usize) -> Vec<String> {
    let want = name.strip_prefix(INSTANCEOF).unwrap_or(name).to_lowercase();
    let simple = want.rsplit(['.', '$']).next().unwrap_or(&want).to_string();
    let mut scored: Vec<(usize, String)> = d
        .class_names()
        .into_iter()
        .chain(FIXED.iter().map(|s| s.to_string()))
        .filter_map(|c| {
            let l = c.to_lowercase();
            let cs = l.rsplit(['.', '$']).next().unwrap_or(&l);
            let score = if l == want {
                0
            } else if cs == simple {
                1
            } else if !simple.is_empty() && l.contains(&simple) {
                2 + l.len().abs_diff(want.len()) / 8
            } else {
                let e = edit_distance(&l, &want);
                if e > 3 {
                    return None;
                }
                4 + e
            };
            Some((score, c))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(max).map(|(_, c)| c).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(declarer: &str, name: &str) -> Declared {
        Declared {
            declarer: declarer.into(),
            name: name.into(),
            ty: BasicType::Int,
        }
    }

    #[test]
    fn shadowed_fields_are_named_by_their_declarer() {
        let fields = [f("com.A$B", "x"), f("com.A$B", "y"), f("com.Base", "x")];
        assert_eq!(column_names(&fields, &[]), ["x", "y", "Base.x"]);
        assert_eq!(superclass_first(&fields), [2, 0, 1]);
    }

    #[test]
    fn fields_named_like_built_in_columns_are_renamed() {
        let fields = [
            f("com.Box", "size"),
            f("com.Box", "id"),
            f("com.Box", "weight"),
            f("org.Box", "size"),
            f("com.Base", "retained"),
        ];
        let names = column_names(&fields, &["id", "shallow", "retained", "size", "capacity"]);
        assert_eq!(
            names,
            [
                "Box.size",
                "Box.id",
                "weight",
                "org.Box.size",
                "Base.retained"
            ]
        );
        // Whatever the collisions, no two columns share a name.
        let clash = [f("a.X", "n"), f("b.X", "n"), f("a.X", "n"), f("c.Y", "X.n")];
        let names = column_names(&clash, &["X.n"]);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(!names.contains(&"X.n".to_string()), "{names:?}");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("session", "sesion"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
