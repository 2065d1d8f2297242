//! One object in full: class, sizes, dominator, every field with its value, array elements,
//! statics of a class, and optionally who references it.

use super::describe::{describe, hex, node_ref, object_ref, quote, ObjectRef};
use super::graph::Graph;
use crate::formats::hprof::reader::read_id;
use crate::formats::hprof::{BasicType, SubRecord};
use crate::heap::graph::Csr;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Value;
use serde::Serialize;

pub const SCHEMA: &str = "oomsleuth.inspect/1";

/// How many array elements are listed.
pub const MAX_ELEMENTS: usize = 100;

#[derive(Clone, Debug, Serialize)]
pub struct FieldRow {
    pub name: String,
    /// The class declaring the field (instances), or `static` for a class's statics.
    pub declared_in: String,
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The value as text: numbers, `null`, or for references the referenced object's description.
    pub value: String,
    /// For non-null references: the object referenced.
    pub object: Option<ObjectRef>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Referrer {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub via: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    pub schema: &'static str,
    #[serde(flatten)]
    pub object: ObjectRef,
    /// `instance`, `object-array`, `primitive-array` or `class`.
    pub kind: &'static str,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    pub reachable: bool,
    /// The immediate dominator: the object whose removal frees this one (null: the GC roots).
    pub dominator: Option<ObjectRef>,
    /// Decoded text for a `java.lang.String`.
    pub string: Option<String>,
    pub array_length: Option<u32>,
    pub fields: Vec<FieldRow>,
    /// Class objects: static fields.
    pub statics: Vec<FieldRow>,
    /// Arrays: the first elements.
    pub elements: Vec<FieldRow>,
    /// GC roots this object is, by kind.
    pub gc_roots: Vec<&'static str>,
    /// With `--referrers`: objects referencing this one (strong references).
    pub referrers: Option<Vec<Referrer>>,
}

fn value_row(
    g: &Graph<'_, '_>,
    name: String,
    declared_in: String,
    ty: BasicType,
    v: Value,
) -> FieldRow {
    let (value, object) = match v {
        Value::Object(0) => ("null".to_string(), None),
        Value::Object(id) => match g.heap.find(id) {
            Some(o) => (describe(&g.heap, o), Some(object_ref(&g.heap, o))),
            None => (format!("{} (not in the dump)", hex(id)), None),
        },
        Value::Boolean(b) => (b.to_string(), None),
        Value::Char(c) => (
            quote(&char::from_u32(c as u32).unwrap_or('?').to_string(), 1),
            None,
        ),
        Value::Float(f) => (f.to_string(), None),
        Value::Double(f) => (f.to_string(), None),
        Value::Byte(x) => (x.to_string(), None),
        Value::Short(x) => (x.to_string(), None),
        Value::Int(x) => (x.to_string(), None),
        Value::Long(x) => (x.to_string(), None),
    };
    let ty = if ty == BasicType::Object {
        "reference"
    } else {
        ty.java_name()
    };
    FieldRow {
        name,
        declared_in,
        ty,
        value,
        object,
    }
}

pub fn inspect(g: &Graph<'_, '_>, o: ObjectIndex, preds: Option<&Csr>) -> Inspection {
    let heap = &g.heap;
    let classes = &heap.snap.classes;
    let ids = heap.snap.dir.id_size();
    let mut fields = vec![];
    let mut statics = vec![];
    let mut elements = vec![];
    let mut array_length = None;
    let kind = match heap.record(o) {
        Some(SubRecord::Instance(_)) => {
            for f in heap.fields(o) {
                let declared = classes.get(f.declared_in).name.clone();
                fields.push(value_row(g, f.name, declared, f.ty, f.value));
            }
            "instance"
        }
        Some(SubRecord::ObjectArray(a)) => {
            array_length = Some(a.length);
            for (k, c) in a
                .elements
                .chunks_exact(ids as usize)
                .take(MAX_ELEMENTS)
                .enumerate()
            {
                elements.push(value_row(
                    g,
                    format!("[{k}]"),
                    String::new(),
                    BasicType::Object,
                    Value::Object(read_id(c, ids)),
                ));
            }
            "object-array"
        }
        Some(SubRecord::PrimitiveArray(a)) => {
            array_length = Some(a.length);
            let size = a.element_type.hprof_size(ids);
            for (k, c) in a
                .data
                .chunks_exact(size.max(1))
                .take(MAX_ELEMENTS)
                .enumerate()
            {
                if let Some(v) = Value::read(a.element_type, c, ids) {
                    elements.push(value_row(
                        g,
                        format!("[{k}]"),
                        String::new(),
                        a.element_type,
                        v,
                    ));
                }
            }
            "primitive-array"
        }
        _ => {
            if let Some(c) = heap.index.class_of_object(o) {
                for st in classes.get(c).dump.statics() {
                    if let Some(v) = Value::read(st.ty, st.value, ids) {
                        statics.push(value_row(
                            g,
                            heap.field_name(st.name_id),
                            "static".into(),
                            st.ty,
                            v,
                        ));
                    }
                }
            }
            "class"
        }
    };
    let referrers = preds.map(|p| {
        let mut v: Vec<ObjectIndex> = p
            .successors(o)
            .iter()
            .copied()
            .filter(|&r| (r as usize) < heap.index.len())
            .collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter()
            .map(|r| Referrer {
                object: object_ref(heap, r),
                via: g.edge_label(r, o),
            })
            .collect()
    });
    let mut gc_roots: Vec<&'static str> = heap
        .index
        .roots
        .iter()
        .filter(|r| r.object == o)
        .map(|r| r.kind.name())
        .collect();
    gc_roots.sort_unstable();
    gc_roots.dedup();
    Inspection {
        schema: SCHEMA,
        object: object_ref(heap, o),
        kind,
        shallow_bytes: heap.index.shallow(o),
        retained_bytes: g.retained(o),
        reachable: g.retention.is_reachable(o),
        dominator: g
            .retention
            .idom(o)
            .filter(|&d| (d as usize) < heap.index.len())
            .map(|d| node_ref(heap, d)),
        string: heap.string(o, 10_000),
        array_length,
        fields,
        statics,
        elements,
        gc_roots,
        referrers,
    }
}
