//! Short descriptions of objects, as a person wants to read them in a report:
//! `java.util.HashMap (size 262,144)`, `java.lang.String "abc"`, `java.util.ArrayList (size 12 /
//! capacity 16)`, `class com.foo.Bar`, `java.lang.Thread "main"`, `int[1,024]`.

use crate::heap::graph::Node;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Heap;
use serde::Serialize;

/// How many characters of a string a description shows.
const STRING_CHARS: usize = 60;

/// An object as reports name it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ObjectRef {
    /// The object's id in the dump, in hex (`0x7f3a...`).
    pub id: String,
    pub class: String,
    /// Class plus what matters about this object (size of a collection, text of a string, ...).
    pub description: String,
}

pub use crate::units::hex;
use crate::units::thousands;

pub fn object_ref(heap: &Heap<'_, '_>, o: ObjectIndex) -> ObjectRef {
    ObjectRef {
        id: hex(heap.id(o)),
        class: heap.class_name(o).to_string(),
        description: describe(heap, o),
    }
}

/// The virtual root's stand-in in reports.
pub fn virtual_root_ref() -> ObjectRef {
    ObjectRef {
        id: "root".into(),
        class: "<GC roots>".into(),
        description: "all GC roots".into(),
    }
}

pub fn node_ref(heap: &Heap<'_, '_>, v: Node) -> ObjectRef {
    if v as usize >= heap.index.len() {
        virtual_root_ref()
    } else {
        object_ref(heap, v)
    }
}

/// Quotes a string for a one-line report: control characters escaped, cut with an ellipsis.
pub fn quote(s: &str, max: usize) -> String {
    let mut out = String::from("\"");
    for (i, ch) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn describe(heap: &Heap<'_, '_>, o: ObjectIndex) -> String {
    let class = heap.class_name(o);
    if let Some(c) = heap.index.class_of_object(o) {
        return format!("class {}", heap.snap.classes.get(c).name);
    }
    if let Some(len) = heap.array_length(o) {
        let base = class.strip_suffix("[]").unwrap_or(class);
        return format!("{base}[{}]", thousands(len as u64));
    }
    if class == "java.lang.String" {
        return match heap.string(o, STRING_CHARS + 1) {
            Some(s) => format!("java.lang.String {}", quote(&s, STRING_CHARS)),
            None => class.to_string(),
        };
    }
    if let Some(extra) = collection_summary(heap, o) {
        return format!("{class} ({extra})");
    }
    if heap.is_instance_of(o, "java.lang.Thread") {
        let name = heap
            .field_object(o, "name")
            .and_then(|s| heap.string(s, STRING_CHARS + 1))
            .or_else(|| {
                // JDK 19+: the name stays on Thread; older JDK 8 dumps keep it in a char[].
                let arr = heap.field_object(o, "name")?;
                match heap.record(arr)? {
                    crate::formats::hprof::SubRecord::PrimitiveArray(a) => Some(
                        crate::heap::values::decode_string_value(a.element_type, a.data, 0),
                    ),
                    _ => None,
                }
            });
        if let Some(n) = name {
            return format!("{class} {}", quote(&n, STRING_CHARS));
        }
    }
    if heap.is_instance_of(o, "java.lang.ClassLoader") {
        if let Some(n) = heap
            .field_object(o, "name")
            .and_then(|s| heap.string(s, STRING_CHARS + 1))
        {
            return format!("{class} {}", quote(&n, STRING_CHARS));
        }
    }
    if let Some(v) = boxed_value(heap, o, class) {
        return format!("{class} {v}");
    }
    class.to_string()
}

/// The value of a boxed primitive (`Integer`, `Long`, ...) as text; `None` for other classes.
pub fn boxed_value(heap: &Heap<'_, '_>, o: ObjectIndex, class: &str) -> Option<String> {
    use crate::heap::objects::Value;
    match class {
        "java.lang.Integer"
        | "java.lang.Long"
        | "java.lang.Short"
        | "java.lang.Byte"
        | "java.lang.Boolean"
        | "java.lang.Character"
        | "java.lang.Float"
        | "java.lang.Double" => {}
        _ => return None,
    }
    Some(match heap.field(o, "value")? {
        Value::Int(v) => v.to_string(),
        Value::Long(v) => v.to_string(),
        Value::Short(v) => v.to_string(),
        Value::Byte(v) => v.to_string(),
        Value::Boolean(v) => v.to_string(),
        Value::Char(v) => quote(&char::from_u32(v as u32).unwrap_or('?').to_string(), 1),
        Value::Float(v) => v.to_string(),
        Value::Double(v) => v.to_string(),
        Value::Object(_) => return None,
    })
}

/// Size (and capacity where it means something) of a JDK collection.
pub fn collection_summary(heap: &Heap<'_, '_>, o: ObjectIndex) -> Option<String> {
    let e = heap.snap.collections().size(heap, o)?;
    let size = thousands(e.size);
    Some(match e.capacity {
        Some(c) => format!("size {size} / capacity {}", thousands(c)),
        None => format!("size {size}"),
    })
}
