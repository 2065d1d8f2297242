//! Reading single objects through the index: their record, field values by name, strings, array
//! lengths. For the few objects a report shows, not for whole-heap passes.

use super::classes::{ClassIndex, NO_CLASS};
use super::index::{HeapIndex, ObjectIndex};
use super::snapshot::Snapshot;
use super::values::decode_string_value;
use crate::formats::hprof::reader::{parse_sub_record, read_id};
use crate::formats::hprof::{BasicType, SubRecord};

/// A field or array element value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Object(u64),
    Boolean(bool),
    Char(u16),
    Float(f32),
    Double(f64),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
}

impl Value {
    pub fn read(ty: BasicType, b: &[u8], id_size: u8) -> Option<Value> {
        let n = ty.hprof_size(id_size);
        let b = b.get(..n)?;
        Some(match ty {
            BasicType::Object => Value::Object(read_id(b, id_size)),
            BasicType::Boolean => Value::Boolean(b[0] != 0),
            BasicType::Char => Value::Char(u16::from_be_bytes([b[0], b[1]])),
            BasicType::Float => Value::Float(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            BasicType::Double => Value::Double(f64::from_be_bytes(b.try_into().ok()?)),
            BasicType::Byte => Value::Byte(b[0] as i8),
            BasicType::Short => Value::Short(i16::from_be_bytes([b[0], b[1]])),
            BasicType::Int => Value::Int(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            BasicType::Long => Value::Long(i64::from_be_bytes(b.try_into().ok()?)),
        })
    }

    pub fn as_object(self) -> Option<u64> {
        match self {
            Value::Object(id) if id != 0 => Some(id),
            _ => None,
        }
    }

    pub fn as_i64(self) -> Option<i64> {
        Some(match self {
            Value::Byte(v) => v as i64,
            Value::Short(v) => v as i64,
            Value::Int(v) => v as i64,
            Value::Long(v) => v,
            Value::Char(v) => v as i64,
            _ => return None,
        })
    }
}

/// One instance field with its value.
#[derive(Clone, Debug)]
pub struct FieldValue {
    pub name: String,
    /// The class that declares the field.
    pub declared_in: ClassIndex,
    pub ty: BasicType,
    pub value: Value,
}

/// A snapshot with its index: objects by number.
#[derive(Clone, Copy)]
pub struct Heap<'s, 'a> {
    pub snap: &'s Snapshot<'a>,
    pub index: &'s HeapIndex,
}

impl<'s, 'a> Heap<'s, 'a> {
    pub fn new(snap: &'s Snapshot<'a>, index: &'s HeapIndex) -> Heap<'s, 'a> {
        Heap { snap, index }
    }

    /// The snapshot's warnings and then the index's (what the graph found wrong): what every
    /// report of the graph carries.
    pub fn warnings(&self) -> Vec<crate::formats::hprof::Warning> {
        let mut w = self.snap.warnings.clone();
        w.extend(self.index.warnings());
        w
    }

    fn id_size(&self) -> u8 {
        self.snap.dir.id_size()
    }

    pub fn record(&self, o: ObjectIndex) -> Option<SubRecord<'s>> {
        let off = *self.index.offsets.get(o as usize)? as usize;
        parse_sub_record(self.snap.bytes.bytes(), off, self.id_size())
            .ok()
            .map(|(r, _)| r)
    }

    pub fn id(&self, o: ObjectIndex) -> u64 {
        self.index.id(self.snap.bytes.bytes(), o)
    }

    /// The object with this id, if the dump has one.
    pub fn find(&self, id: u64) -> Option<ObjectIndex> {
        self.index.find(self.snap.bytes.bytes(), id)
    }

    pub fn class(&self, o: ObjectIndex) -> ClassIndex {
        self.index.class_of[o as usize]
    }

    /// The Java name of the object's class (`int[]` for primitive arrays, `java.lang.Class`).
    pub fn class_name(&self, o: ObjectIndex) -> &'s str {
        let c = self.class(o);
        if c == NO_CLASS {
            // Only a primitive array's record is parsed for its name: parsing a class dump
            // (a dump without java.lang.Class) costs its field count, once per reference to it.
            let data = self.snap.bytes.bytes();
            let off = self.index.offsets.get(o as usize).map(|&x| x as usize);
            let tag = off.and_then(|x| data.get(x).copied());
            if tag == Some(0x20) {
                return "java.lang.Class";
            }
            if let Some(SubRecord::PrimitiveArray(a)) = self.record(o) {
                return prim_array_name(a.element_type);
            }
            return "?";
        }
        &self.snap.classes.get(c).name
    }

    pub fn field_name(&self, name_id: u64) -> String {
        self.snap
            .dir
            .strings
            .get(&name_id)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| format!("<field {name_id:#x}>"))
    }

    /// Every instance field with its value: the class's own fields first, then its superclasses'.
    pub fn fields(&self, o: ObjectIndex) -> Vec<FieldValue> {
        let Some(SubRecord::Instance(inst)) = self.record(o) else {
            return vec![];
        };
        let classes = &self.snap.classes;
        let Some(c) = classes.index_of(inst.class_id) else {
            return vec![];
        };
        let ids = self.id_size();
        let mut out = vec![];
        let mut pos = 0usize;
        for k in classes.ancestry(c) {
            for f in classes.get(k).dump.fields() {
                let n = f.ty.hprof_size(ids);
                let Some(value) = inst
                    .fields
                    .get(pos..)
                    .and_then(|b| Value::read(f.ty, b, ids))
                else {
                    return out;
                };
                out.push(FieldValue {
                    name: self.field_name(f.name_id),
                    declared_in: k,
                    ty: f.ty,
                    value,
                });
                pos += n;
            }
        }
        out
    }

    /// The value of the first field called `name` (the most derived class's, as Java resolves it).
    pub fn field(&self, o: ObjectIndex, name: &str) -> Option<Value> {
        let Some(SubRecord::Instance(inst)) = self.record(o) else {
            return None;
        };
        let c = self.snap.classes.index_of(inst.class_id)?;
        let (ty, b) = self
            .snap
            .classes
            .instance_field(&self.snap.dir, c, inst.fields, name)?;
        Value::read(ty, b, self.id_size())
    }

    /// The object a reference field points to.
    pub fn field_object(&self, o: ObjectIndex, name: &str) -> Option<ObjectIndex> {
        self.find(self.field(o, name)?.as_object()?)
    }

    pub fn field_int(&self, o: ObjectIndex, name: &str) -> Option<i64> {
        self.field(o, name)?.as_i64()
    }

    /// Length of an array object.
    pub fn array_length(&self, o: ObjectIndex) -> Option<u32> {
        match self.record(o)? {
            SubRecord::ObjectArray(a) => Some(a.length),
            SubRecord::PrimitiveArray(a) => Some(a.length),
            _ => None,
        }
    }

    /// Element ids of an object array.
    pub fn array_elements(&self, o: ObjectIndex) -> Vec<u64> {
        let ids = self.id_size();
        match self.record(o) {
            Some(SubRecord::ObjectArray(a)) => a
                .elements
                .chunks_exact(ids as usize)
                .map(|c| read_id(c, ids))
                .collect(),
            _ => vec![],
        }
    }

    /// Whether the object's class is `name` or a subclass of it.
    pub fn is_instance_of(&self, o: ObjectIndex, name: &str) -> bool {
        let c = self.class(o);
        c != NO_CLASS
            && self
                .snap
                .classes
                .ancestry(c)
                .any(|k| self.snap.classes.get(k).name == name)
    }

    /// The text of a `java.lang.String` (compact Latin-1 or UTF-16 `byte[]`, or JDK 8 `char[]`),
    /// cut to `max` characters.
    pub fn string(&self, o: ObjectIndex, max: usize) -> Option<String> {
        if self.class_name(o) != "java.lang.String" {
            return None;
        }
        let value = self.field_object(o, "value")?;
        let coder = match self.field(o, "coder") {
            Some(Value::Byte(b)) => b as u8,
            _ => 0,
        };
        let SubRecord::PrimitiveArray(a) = self.record(value)? else {
            return None;
        };
        let unit = if a.element_type == BasicType::Byte && coder == 0 {
            1
        } else {
            2
        };
        let data = &a.data[..a.data.len().min(max.saturating_mul(unit))];
        Some(decode_string_value(a.element_type, data, coder))
    }
}

pub fn prim_array_name(t: BasicType) -> &'static str {
    match t {
        BasicType::Boolean => "boolean[]",
        BasicType::Char => "char[]",
        BasicType::Float => "float[]",
        BasicType::Double => "double[]",
        BasicType::Byte => "byte[]",
        BasicType::Short => "short[]",
        BasicType::Int => "int[]",
        BasicType::Long => "long[]",
        BasicType::Object => "java.lang.Object[]",
    }
}
