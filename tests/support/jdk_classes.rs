//! The JDK classes hand-built dumps need, defined once with the fields (in HotSpot's dump order) that
//! the analyses read, each rooted as a system class as HotSpot's dump writer roots it.

use super::hprof_writer::{HprofWriter, Root, Ty, Value};

/// Class ids of the JDK classes of a hand-built dump (each test uses some of them).
#[allow(dead_code)]
pub struct JdkClasses {
    pub object: u64,
    pub object_array: u64,
    /// `java.lang.String` as JDK 9+ lays it out: `value` (a Latin-1 `byte[]`), `coder`.
    pub string: u64,
    pub integer: u64,
    pub array_list: u64,
    pub hash_map: u64,
    pub node: u64,
    pub node_array: u64,
    /// `java.lang.ref.Reference`: `referent`, `queue`.
    pub reference: u64,
    /// `java.lang.ref.SoftReference`: `timestamp`, then Reference's.
    pub soft_reference: u64,
    pub weak_reference: u64,
}

impl JdkClasses {
    /// Defines them and roots every class the writer has so far as a system class: call it first.
    pub fn define(w: &mut HprofWriter) -> JdkClasses {
        let object = w.class("java.lang.Object").define();
        let object_array = w.array_class("[Ljava/lang/Object;", object);
        let sub = |w: &mut HprofWriter, name: &str, fields: &[(&str, Ty)]| {
            fields
                .iter()
                .fold(w.class(name).extends(object), |c, &(f, t)| c.field(f, t))
                .define()
        };
        let string = sub(
            w,
            "java.lang.String",
            &[("value", Ty::Object), ("coder", Ty::Byte)],
        );
        let integer = sub(w, "java.lang.Integer", &[("value", Ty::Int)]);
        let array_list = sub(
            w,
            "java.util.ArrayList",
            &[("size", Ty::Int), ("elementData", Ty::Object)],
        );
        let hash_map = sub(
            w,
            "java.util.HashMap",
            &[("table", Ty::Object), ("size", Ty::Int)],
        );
        let node = sub(
            w,
            "java.util.HashMap$Node",
            &[
                ("hash", Ty::Int),
                ("key", Ty::Object),
                ("value", Ty::Object),
                ("next", Ty::Object),
            ],
        );
        let node_array = w.array_class("[Ljava/util/HashMap$Node;", object);
        let reference = sub(
            w,
            "java.lang.ref.Reference",
            &[("referent", Ty::Object), ("queue", Ty::Object)],
        );
        let soft_reference = w
            .class("java.lang.ref.SoftReference")
            .extends(reference)
            .field("timestamp", Ty::Long)
            .define();
        let weak_reference = w
            .class("java.lang.ref.WeakReference")
            .extends(reference)
            .define();
        let j = JdkClasses {
            object,
            object_array,
            string,
            integer,
            array_list,
            hash_map,
            node,
            node_array,
            reference,
            soft_reference,
            weak_reference,
        };
        for obj in w.defined_classes() {
            w.root(Root::StickyClass { obj });
        }
        j
    }

    /// A string of Latin-1 text.
    pub fn string(&self, w: &mut HprofWriter, text: &str) -> u64 {
        let bytes: Vec<Value> = text.bytes().map(|b| Value::Byte(b as i8)).collect();
        let value = w.primitive_array_of(Ty::Byte, &bytes);
        w.instance_with(self.string, &[Value::Object(value), Value::Byte(0)])
    }

    /// An ArrayList of exactly these elements.
    pub fn array_list(&self, w: &mut HprofWriter, elements: &[u64]) -> u64 {
        let data = w.object_array(self.object_array, elements);
        w.instance_with(
            self.array_list,
            &[Value::Int(elements.len() as i32), Value::Object(data)],
        )
    }

    /// A class with one static field holding `value`, rooted as a system class.
    pub fn holder(&self, w: &mut HprofWriter, class: &str, field: &str, value: u64) -> u64 {
        let c = w
            .class(class)
            .extends(self.object)
            .static_field(field, Value::Object(value))
            .define();
        w.root(Root::StickyClass { obj: c });
        c
    }
}
