//! A small HPROF writer for tests: says what a dump contains, produces its bytes.
//!
//! Tag and type numbers are written out here from the format description (HotSpot's
//! `heapDumper.cpp`, Android's `hprof.cc`), not taken from the crate, so a wrong constant in the
//! reader cannot be mirrored by the writer.
//!
//! ```ignore
//! use crate::support::hprof_writer::{Grouping, HprofWriter, Ty};
//!
//! let mut w = HprofWriter::hotspot(8);
//! let object = w.class("java.lang.Object").define();
//! let foo = w.class("com.Foo").extends(object).field("a", Ty::Int).field("b", Ty::Long).field("c", Ty::Object).define();
//! w.instances(foo, 10);
//! let bytes = w.finish(&Grouping::Single);
//! let gz = hotspot_gzip(&bytes, 4096); // as `jcmd GC.heap_dump -gz=1` writes it
//! ```
//!
//! Ids (objects, classes and strings alike) come from one counter, so they never collide. The
//! step between ids is 20 by default: not a multiple of 8, so no object's address gap ever looks
//! like a real object size, and layout detection falls back to the JVM default. A test that wants
//! packed addresses sets its own ids with [`HprofWriter::set_next_id`] and [`HprofWriter::set_id_step`].

// Each test module uses some helpers and not others.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An HPROF basic type: a field, constant, static or array element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    Object,
    Boolean,
    Char,
    Float,
    Double,
    Byte,
    Short,
    Int,
    Long,
}

impl Ty {
    pub const ALL: [Ty; 9] = [
        Ty::Object,
        Ty::Boolean,
        Ty::Char,
        Ty::Float,
        Ty::Double,
        Ty::Byte,
        Ty::Short,
        Ty::Int,
        Ty::Long,
    ];
    pub const PRIMITIVES: [Ty; 8] = [
        Ty::Boolean,
        Ty::Char,
        Ty::Float,
        Ty::Double,
        Ty::Byte,
        Ty::Short,
        Ty::Int,
        Ty::Long,
    ];

    /// The type code in the file.
    pub fn code(self) -> u8 {
        match self {
            Ty::Object => 2,
            Ty::Boolean => 4,
            Ty::Char => 5,
            Ty::Float => 6,
            Ty::Double => 7,
            Ty::Byte => 8,
            Ty::Short => 9,
            Ty::Int => 10,
            Ty::Long => 11,
        }
    }

    /// Bytes of one value in the file.
    pub fn size(self, id_size: u8) -> usize {
        match self {
            Ty::Object => id_size as usize,
            Ty::Boolean | Ty::Byte => 1,
            Ty::Char | Ty::Short => 2,
            Ty::Float | Ty::Int => 4,
            Ty::Double | Ty::Long => 8,
        }
    }

    /// The Java name: `int`, `long`, ..., `java.lang.Object`.
    pub fn java_name(self) -> &'static str {
        match self {
            Ty::Object => "java.lang.Object",
            Ty::Boolean => "boolean",
            Ty::Char => "char",
            Ty::Float => "float",
            Ty::Double => "double",
            Ty::Byte => "byte",
            Ty::Short => "short",
            Ty::Int => "int",
            Ty::Long => "long",
        }
    }

    /// The JVM's name of the one-dimensional array class: `[I`, `[J`, ...
    pub fn array_descriptor(self) -> &'static str {
        match self {
            Ty::Object => "[Ljava/lang/Object;",
            Ty::Boolean => "[Z",
            Ty::Char => "[C",
            Ty::Float => "[F",
            Ty::Double => "[D",
            Ty::Byte => "[B",
            Ty::Short => "[S",
            Ty::Int => "[I",
            Ty::Long => "[J",
        }
    }
}

/// A value of a field, static, constant pool entry or array element.
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
    pub fn ty(&self) -> Ty {
        match self {
            Value::Object(_) => Ty::Object,
            Value::Boolean(_) => Ty::Boolean,
            Value::Char(_) => Ty::Char,
            Value::Float(_) => Ty::Float,
            Value::Double(_) => Ty::Double,
            Value::Byte(_) => Ty::Byte,
            Value::Short(_) => Ty::Short,
            Value::Int(_) => Ty::Int,
            Value::Long(_) => Ty::Long,
        }
    }

    /// The zero (or null) value of a type.
    pub fn zero(ty: Ty) -> Value {
        match ty {
            Ty::Object => Value::Object(0),
            Ty::Boolean => Value::Boolean(false),
            Ty::Char => Value::Char(0),
            Ty::Float => Value::Float(0.0),
            Ty::Double => Value::Double(0.0),
            Ty::Byte => Value::Byte(0),
            Ty::Short => Value::Short(0),
            Ty::Int => Value::Int(0),
            Ty::Long => Value::Long(0),
        }
    }

    fn put(&self, out: &mut Vec<u8>, id_size: u8) {
        match *self {
            Value::Object(id) => put_id(out, id, id_size),
            Value::Boolean(b) => out.push(b as u8),
            Value::Char(c) => out.extend_from_slice(&c.to_be_bytes()),
            Value::Float(f) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
            Value::Double(d) => out.extend_from_slice(&d.to_bits().to_be_bytes()),
            Value::Byte(b) => out.push(b as u8),
            Value::Short(s) => out.extend_from_slice(&s.to_be_bytes()),
            Value::Int(i) => out.extend_from_slice(&i.to_be_bytes()),
            Value::Long(l) => out.extend_from_slice(&l.to_be_bytes()),
        }
    }
}

fn put_id(out: &mut Vec<u8>, id: u64, id_size: u8) {
    if id_size == 8 {
        out.extend_from_slice(&id.to_be_bytes());
    } else {
        assert!(id <= u32::MAX as u64, "id 0x{id:x} does not fit in 4 bytes");
        out.extend_from_slice(&(id as u32).to_be_bytes());
    }
}

fn put_u2(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u4(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// A GC root sub-record, every kind HotSpot and Android write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    Unknown {
        obj: u64,
    },
    JniGlobal {
        obj: u64,
        jni_ref: u64,
    },
    JniLocal {
        obj: u64,
        thread: u32,
        frame: u32,
    },
    JavaFrame {
        obj: u64,
        thread: u32,
        frame: u32,
    },
    NativeStack {
        obj: u64,
        thread: u32,
    },
    StickyClass {
        obj: u64,
    },
    ThreadBlock {
        obj: u64,
        thread: u32,
    },
    MonitorUsed {
        obj: u64,
    },
    ThreadObject {
        obj: u64,
        thread: u32,
        stack_trace: u32,
    },
    // Android (1.0.3).
    InternedString {
        obj: u64,
    },
    Finalizing {
        obj: u64,
    },
    Debugger {
        obj: u64,
    },
    ReferenceCleanup {
        obj: u64,
    },
    VmInternal {
        obj: u64,
    },
    JniMonitor {
        obj: u64,
        thread: u32,
        frame: u32,
    },
    Unreachable {
        obj: u64,
    },
}

impl Root {
    /// One root of every kind for `obj`: the nine HotSpot ones, then the seven Android ones.
    pub fn every_kind(obj: u64) -> Vec<Root> {
        vec![
            Root::Unknown { obj },
            Root::JniGlobal {
                obj,
                jni_ref: obj + 1,
            },
            Root::JniLocal {
                obj,
                thread: 1,
                frame: 0,
            },
            Root::JavaFrame {
                obj,
                thread: 1,
                frame: 2,
            },
            Root::NativeStack { obj, thread: 1 },
            Root::StickyClass { obj },
            Root::ThreadBlock { obj, thread: 1 },
            Root::MonitorUsed { obj },
            Root::ThreadObject {
                obj,
                thread: 1,
                stack_trace: 1,
            },
            Root::InternedString { obj },
            Root::Finalizing { obj },
            Root::Debugger { obj },
            Root::ReferenceCleanup { obj },
            Root::VmInternal { obj },
            Root::JniMonitor {
                obj,
                thread: 1,
                frame: 3,
            },
            Root::Unreachable { obj },
        ]
    }

    /// Whether only Android writes this kind.
    pub fn is_android(&self) -> bool {
        self.tag() >= 0x89 && self.tag() != 0xFF
    }

    pub fn tag(&self) -> u8 {
        match self {
            Root::Unknown { .. } => 0xFF,
            Root::JniGlobal { .. } => 0x01,
            Root::JniLocal { .. } => 0x02,
            Root::JavaFrame { .. } => 0x03,
            Root::NativeStack { .. } => 0x04,
            Root::StickyClass { .. } => 0x05,
            Root::ThreadBlock { .. } => 0x06,
            Root::MonitorUsed { .. } => 0x07,
            Root::ThreadObject { .. } => 0x08,
            Root::InternedString { .. } => 0x89,
            Root::Finalizing { .. } => 0x8A,
            Root::Debugger { .. } => 0x8B,
            Root::ReferenceCleanup { .. } => 0x8C,
            Root::VmInternal { .. } => 0x8D,
            Root::JniMonitor { .. } => 0x8E,
            Root::Unreachable { .. } => 0x90,
        }
    }

    /// The name oomsleuth's JSON gives this kind in `dump.gc_roots` (its documented contract).
    pub fn json_name(&self) -> &'static str {
        match self {
            Root::Unknown { .. } => "unknown",
            Root::JniGlobal { .. } => "jni-global",
            Root::JniLocal { .. } => "jni-local",
            Root::JavaFrame { .. } => "java-frame",
            Root::NativeStack { .. } => "native-stack",
            Root::StickyClass { .. } => "system-class",
            Root::ThreadBlock { .. } => "thread-block",
            Root::MonitorUsed { .. } => "busy-monitor",
            Root::ThreadObject { .. } => "thread",
            Root::InternedString { .. } => "interned-string",
            Root::Finalizing { .. } => "finalizing",
            Root::Debugger { .. } => "debugger",
            Root::ReferenceCleanup { .. } => "reference-cleanup",
            Root::VmInternal { .. } => "vm-internal",
            Root::JniMonitor { .. } => "jni-monitor",
            Root::Unreachable { .. } => "unreachable",
        }
    }

    fn put(&self, out: &mut Vec<u8>, ids: u8) {
        out.push(self.tag());
        match *self {
            Root::Unknown { obj }
            | Root::StickyClass { obj }
            | Root::MonitorUsed { obj }
            | Root::InternedString { obj }
            | Root::Finalizing { obj }
            | Root::Debugger { obj }
            | Root::ReferenceCleanup { obj }
            | Root::VmInternal { obj }
            | Root::Unreachable { obj } => put_id(out, obj, ids),
            Root::JniGlobal { obj, jni_ref } => {
                put_id(out, obj, ids);
                put_id(out, jni_ref, ids);
            }
            Root::JniLocal { obj, thread, frame }
            | Root::JavaFrame { obj, thread, frame }
            | Root::JniMonitor { obj, thread, frame } => {
                put_id(out, obj, ids);
                put_u4(out, thread);
                put_u4(out, frame);
            }
            Root::NativeStack { obj, thread } | Root::ThreadBlock { obj, thread } => {
                put_id(out, obj, ids);
                put_u4(out, thread);
            }
            Root::ThreadObject {
                obj,
                thread,
                stack_trace,
            } => {
                put_id(out, obj, ids);
                put_u4(out, thread);
                put_u4(out, stack_trace);
            }
        }
    }
}

/// How heap dump sub-records are grouped into top-level records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// One HEAP DUMP record holding every sub-record, no HEAP DUMP END (HotSpot before JDK 6,
    /// version 1.0.1).
    Single,
    /// HEAP DUMP SEGMENT records whose bodies hold at most `max_body` bytes (a bigger sub-record
    /// gets a segment of its own), then HEAP DUMP END: HotSpot 1.0.2 with a 1 MiB `max_body`.
    Segments { max_body: usize },
    /// A HEAP DUMP SEGMENT starts before each listed sub-record index (sorted; a repeated index
    /// gives an empty segment), then HEAP DUMP END.
    SplitBefore(Vec<usize>),
}

/// What [`HprofWriter::write`] produced, with where things are.
#[derive(Clone, Debug)]
pub struct Written {
    pub bytes: Vec<u8>,
    /// File offset of each heap dump sub-record's tag byte, in the order they were added.
    pub sub_offsets: Vec<u64>,
    /// File offset of each top-level record's tag byte, in file order, with its tag.
    pub records: Vec<(u8, u64)>,
}

/// How class names are written in STRING records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameStyle {
    /// HotSpot: `com.Foo` is written `com/Foo`; array names are given as descriptors (`[I`).
    HotSpot,
    /// As given (Android writes `java.lang.String` and `int[]`).
    Verbatim,
}

struct ClassDef {
    name: String,
    super_id: u64,
    fields: Vec<(String, Ty)>,
}

/// Builds an HPROF file: a header, top-level records in the order added, then the heap dump
/// sub-records grouped as [`Grouping`] says.
pub struct HprofWriter {
    pub version: u8,
    pub id_size: u8,
    pub timestamp_ms: u64,
    pub name_style: NameStyle,
    next_id: u64,
    id_step: u64,
    next_class_serial: u32,
    next_trace_serial: u32,
    records: Vec<(u8, Vec<u8>)>,
    subs: Vec<Vec<u8>>,
    classes: HashMap<u64, ClassDef>,
    strings: HashMap<String, u64>,
}

impl HprofWriter {
    /// A writer for `JAVA PROFILE 1.0.<version>` with identifiers of `id_size` (4 or 8) bytes.
    pub fn new(version: u8, id_size: u8) -> HprofWriter {
        assert!(id_size == 4 || id_size == 8);
        HprofWriter {
            version,
            id_size,
            timestamp_ms: 1_700_000_000_000,
            name_style: if version == 3 {
                NameStyle::Verbatim
            } else {
                NameStyle::HotSpot
            },
            next_id: 0x1000,
            id_step: 20,
            next_class_serial: 1,
            next_trace_serial: 1,
            records: vec![],
            subs: vec![],
            classes: HashMap::new(),
            strings: HashMap::new(),
        }
    }

    /// HotSpot's format: 1.0.2.
    pub fn hotspot(id_size: u8) -> HprofWriter {
        HprofWriter::new(2, id_size)
    }

    /// Android's format: 1.0.3, 4-byte ids, names as `java.lang.String`.
    pub fn android() -> HprofWriter {
        HprofWriter::new(3, 4)
    }

    pub fn set_next_id(&mut self, id: u64) {
        self.next_id = id;
    }

    pub fn set_id_step(&mut self, step: u64) {
        self.id_step = step;
    }

    /// A fresh id.
    pub fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += self.id_step;
        id
    }

    // ---- top-level records -------------------------------------------------------------------

    /// A top-level record with any tag and body.
    pub fn raw_record(&mut self, tag: u8, body: Vec<u8>) {
        self.records.push((tag, body));
    }

    /// The id of a STRING record holding `s`, written on first use.
    pub fn string(&mut self, s: &str) -> u64 {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.alloc_id();
        self.string_with_id(id, s.as_bytes());
        self.strings.insert(s.to_string(), id);
        id
    }

    /// A STRING record with a given id and (not necessarily UTF-8) bytes.
    pub fn string_with_id(&mut self, id: u64, bytes: &[u8]) {
        let mut b = vec![];
        put_id(&mut b, id, self.id_size);
        b.extend_from_slice(bytes);
        self.raw_record(0x01, b);
    }

    /// A LOAD CLASS record; returns the class serial number.
    pub fn load_class(&mut self, class_id: u64, name_id: u64) -> u32 {
        let serial = self.next_class_serial;
        self.next_class_serial += 1;
        let mut b = vec![];
        put_u4(&mut b, serial);
        put_id(&mut b, class_id, self.id_size);
        put_u4(&mut b, 0);
        put_id(&mut b, name_id, self.id_size);
        self.raw_record(0x02, b);
        serial
    }

    /// A STACK FRAME record; returns the frame id.
    pub fn stack_frame(
        &mut self,
        method: &str,
        signature: &str,
        source_file: &str,
        class_serial: u32,
        line: i32,
    ) -> u64 {
        let frame = self.alloc_id();
        let (m, s, f) = (
            self.string(method),
            self.string(signature),
            self.string(source_file),
        );
        let mut b = vec![];
        for id in [frame, m, s, f] {
            put_id(&mut b, id, self.id_size);
        }
        put_u4(&mut b, class_serial);
        put_u4(&mut b, line as u32);
        self.raw_record(0x04, b);
        frame
    }

    /// A STACK TRACE record; returns its serial number.
    pub fn stack_trace(&mut self, thread_serial: u32, frames: &[u64]) -> u32 {
        let serial = self.next_trace_serial;
        self.next_trace_serial += 1;
        let mut b = vec![];
        put_u4(&mut b, serial);
        put_u4(&mut b, thread_serial);
        put_u4(&mut b, frames.len() as u32);
        for &f in frames {
            put_id(&mut b, f, self.id_size);
        }
        self.raw_record(0x05, b);
        serial
    }

    // ---- heap dump sub-records ---------------------------------------------------------------

    /// Number of sub-records so far (the index the next one will get).
    pub fn sub_record_count(&self) -> usize {
        self.subs.len()
    }

    /// Reorders the sub-records: the new `i`th is the old `order[i]`th (a permutation).
    pub fn permute_sub_records(&mut self, order: &[usize]) {
        assert_eq!(order.len(), self.subs.len());
        let old = std::mem::take(&mut self.subs);
        self.subs = order.iter().map(|&i| old[i].clone()).collect();
    }

    /// A sub-record given as raw bytes (its tag first).
    pub fn raw_sub_record(&mut self, bytes: Vec<u8>) {
        self.subs.push(bytes);
    }

    pub fn root(&mut self, root: Root) {
        let mut b = vec![];
        root.put(&mut b, self.id_size);
        self.subs.push(b);
    }

    /// Starts a class: a LOAD CLASS record, its name's STRING record and a CLASS DUMP.
    pub fn class(&mut self, name: &str) -> ClassBuilder<'_> {
        ClassBuilder {
            w: self,
            name: name.to_string(),
            id: None,
            super_id: 0,
            loader: 0,
            stack_serial: 0,
            fields: vec![],
            statics: vec![],
            constants: vec![],
            load_class: true,
            instance_size: None,
        }
    }

    /// An array class (`[I`, `[Ljava/lang/String;`) extending `super_id` (`java.lang.Object`).
    pub fn array_class(&mut self, descriptor: &str, super_id: u64) -> u64 {
        self.class(descriptor).extends(super_id).define()
    }

    /// The instance field values of `class` in dump order: the class's own fields first, then
    /// its superclass's, up the chain. Unknown classes have none.
    pub fn field_types(&self, class: u64) -> Vec<Ty> {
        let mut out = vec![];
        let mut cur = class;
        let mut guard = 0;
        while let Some(c) = self.classes.get(&cur) {
            out.extend(c.fields.iter().map(|f| f.1));
            cur = c.super_id;
            guard += 1;
            if guard > 10_000 {
                break;
            }
        }
        out
    }

    /// The ids of every class defined with this writer so far, in id order.
    pub fn defined_classes(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.classes.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Name of a class defined with this writer.
    pub fn class_name(&self, class: u64) -> Option<&str> {
        self.classes.get(&class).map(|c| c.name.as_str())
    }

    /// An instance of `class` with every field zero; returns its id.
    pub fn instance(&mut self, class: u64) -> u64 {
        let values: Vec<Value> = self
            .field_types(class)
            .into_iter()
            .map(Value::zero)
            .collect();
        self.instance_with(class, &values)
    }

    /// `n` instances of `class`.
    pub fn instances(&mut self, class: u64, n: usize) -> Vec<u64> {
        (0..n).map(|_| self.instance(class)).collect()
    }

    /// An instance with field values in dump order (see [`HprofWriter::field_types`]). The
    /// values are not checked against the class: tests of bad input may want a mismatch.
    pub fn instance_with(&mut self, class: u64, values: &[Value]) -> u64 {
        let id = self.alloc_id();
        let mut data = vec![];
        for v in values {
            v.put(&mut data, self.id_size);
        }
        let mut b = vec![0x21];
        put_id(&mut b, id, self.id_size);
        put_u4(&mut b, 0);
        put_id(&mut b, class, self.id_size);
        put_u4(&mut b, data.len() as u32);
        b.extend_from_slice(&data);
        self.subs.push(b);
        id
    }

    /// An OBJECT ARRAY DUMP of `array_class` holding `elements`.
    pub fn object_array(&mut self, array_class: u64, elements: &[u64]) -> u64 {
        let id = self.alloc_id();
        let mut b = vec![0x22];
        put_id(&mut b, id, self.id_size);
        put_u4(&mut b, 0);
        put_u4(&mut b, elements.len() as u32);
        put_id(&mut b, array_class, self.id_size);
        for &e in elements {
            put_id(&mut b, e, self.id_size);
        }
        self.subs.push(b);
        id
    }

    /// A PRIMITIVE ARRAY DUMP of `len` zero elements of `ty`.
    pub fn primitive_array(&mut self, ty: Ty, len: u32) -> u64 {
        let values = vec![Value::zero(ty); len as usize];
        self.primitive_array_of(ty, &values)
    }

    /// A PRIMITIVE ARRAY DUMP with the given elements (all of type `ty`).
    pub fn primitive_array_of(&mut self, ty: Ty, values: &[Value]) -> u64 {
        assert!(ty != Ty::Object, "primitive arrays hold primitives");
        let id = self.alloc_id();
        let mut b = vec![0x23];
        put_id(&mut b, id, self.id_size);
        put_u4(&mut b, 0);
        put_u4(&mut b, values.len() as u32);
        b.push(ty.code());
        for v in values {
            v.put(&mut b, self.id_size);
        }
        self.subs.push(b);
        id
    }

    /// The header of a PRIMITIVE ARRAY DUMP without its data (for arrays too big to build in
    /// memory: the caller supplies the `len * size` data bytes some other way).
    pub fn primitive_array_header(&self, id: u64, ty: Ty, len: u32) -> Vec<u8> {
        let mut b = vec![0x23];
        put_id(&mut b, id, self.id_size);
        put_u4(&mut b, 0);
        put_u4(&mut b, len);
        b.push(ty.code());
        b
    }

    /// Android's PRIMITIVE ARRAY NODATA: an array's length and type without its elements.
    pub fn primitive_array_nodata(&mut self, ty: Ty, len: u32) -> u64 {
        let id = self.alloc_id();
        let mut b = vec![0xC3];
        put_id(&mut b, id, self.id_size);
        put_u4(&mut b, 0);
        put_u4(&mut b, len);
        b.push(ty.code());
        self.subs.push(b);
        id
    }

    /// Android's HEAP DUMP INFO: the heap (`app`, `image`, `zygote`) the next objects are in.
    pub fn heap_dump_info(&mut self, heap_type: u32, name: &str) {
        let name_id = self.string(name);
        let mut b = vec![0xFE];
        put_u4(&mut b, heap_type);
        put_id(&mut b, name_id, self.id_size);
        self.subs.push(b);
    }

    // ---- output -------------------------------------------------------------------------------

    /// The file header: magic, id size, timestamp.
    pub fn header(&self) -> Vec<u8> {
        let mut b = format!("JAVA PROFILE 1.0.{}\0", self.version).into_bytes();
        put_u4(&mut b, self.id_size as u32);
        put_u4(&mut b, (self.timestamp_ms >> 32) as u32);
        put_u4(&mut b, self.timestamp_ms as u32);
        b
    }

    /// The header and every top-level record added so far (no heap dump records).
    pub fn header_and_records(&self) -> Vec<u8> {
        let mut out = self.header();
        for (tag, body) in &self.records {
            put_record(&mut out, *tag, body.len() as u32, body);
        }
        out
    }

    /// The sub-records concatenated: a heap dump record body.
    pub fn heap_body(&self) -> Vec<u8> {
        self.subs.concat()
    }

    /// The sub-record bytes added so far, one entry each.
    pub fn sub_records(&self) -> &[Vec<u8>] {
        &self.subs
    }

    pub fn finish(&self, grouping: &Grouping) -> Vec<u8> {
        self.write(grouping).bytes
    }

    pub fn write(&self, grouping: &Grouping) -> Written {
        let mut out = self.header();
        let mut records = vec![];
        for (tag, body) in &self.records {
            records.push((*tag, out.len() as u64));
            put_record(&mut out, *tag, body.len() as u32, body);
        }
        // Segment boundaries as sub-record index ranges.
        let ranges: Vec<(usize, usize)> = match grouping {
            Grouping::Single => vec![(0, self.subs.len())],
            Grouping::Segments { max_body } => {
                let mut v = vec![];
                let (mut start, mut size) = (0, 0);
                for (i, s) in self.subs.iter().enumerate() {
                    if i > start && size + s.len() > *max_body {
                        v.push((start, i));
                        start = i;
                        size = 0;
                    }
                    size += s.len();
                }
                if start < self.subs.len() || v.is_empty() {
                    v.push((start, self.subs.len()));
                }
                v
            }
            Grouping::SplitBefore(points) => {
                let mut v = vec![];
                let mut start = 0;
                for &p in points {
                    let p = p.clamp(start, self.subs.len());
                    v.push((start, p));
                    start = p;
                }
                v.push((start, self.subs.len()));
                v
            }
        };
        let tag = if *grouping == Grouping::Single {
            0x0C
        } else {
            0x1C
        };
        let mut sub_offsets = vec![0u64; self.subs.len()];
        for (s, e) in ranges {
            let len: usize = self.subs[s..e].iter().map(Vec::len).sum();
            records.push((tag, out.len() as u64));
            put_record_header(&mut out, tag, len as u32);
            for (i, sub) in self.subs[s..e].iter().enumerate() {
                sub_offsets[s + i] = out.len() as u64;
                out.extend_from_slice(sub);
            }
        }
        if *grouping != Grouping::Single {
            records.push((0x2C, out.len() as u64));
            put_record_header(&mut out, 0x2C, 0);
        }
        Written {
            bytes: out,
            sub_offsets,
            records,
        }
    }
}

/// A record header: tag, time (0), length.
pub fn put_record_header(out: &mut Vec<u8>, tag: u8, len: u32) {
    out.push(tag);
    put_u4(out, 0);
    put_u4(out, len);
}

fn put_record(out: &mut Vec<u8>, tag: u8, len: u32, body: &[u8]) {
    put_record_header(out, tag, len);
    out.extend_from_slice(body);
}

/// A class being declared; [`ClassBuilder::define`] writes it.
pub struct ClassBuilder<'w> {
    w: &'w mut HprofWriter,
    name: String,
    id: Option<u64>,
    super_id: u64,
    loader: u64,
    stack_serial: u32,
    fields: Vec<(String, Ty)>,
    statics: Vec<(String, Value)>,
    constants: Vec<(u16, Value)>,
    load_class: bool,
    instance_size: Option<u32>,
}

impl ClassBuilder<'_> {
    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    pub fn extends(mut self, super_id: u64) -> Self {
        self.super_id = super_id;
        self
    }

    /// The defining class loader's object id (0, the default, is the bootstrap loader).
    pub fn loader(mut self, loader: u64) -> Self {
        self.loader = loader;
        self
    }

    pub fn field(mut self, name: &str, ty: Ty) -> Self {
        self.fields.push((name.to_string(), ty));
        self
    }

    pub fn fields(mut self, fields: &[(&str, Ty)]) -> Self {
        self.fields
            .extend(fields.iter().map(|(n, t)| (n.to_string(), *t)));
        self
    }

    pub fn static_field(mut self, name: &str, value: Value) -> Self {
        self.statics.push((name.to_string(), value));
        self
    }

    pub fn constant(mut self, index: u16, value: Value) -> Self {
        self.constants.push((index, value));
        self
    }

    /// Writes no LOAD CLASS record, so the class has no name in the dump.
    pub fn without_load_class(mut self) -> Self {
        self.load_class = false;
        self
    }

    /// Overrides the instance size field (by default the sum of the field sizes up the chain).
    pub fn instance_size(mut self, size: u32) -> Self {
        self.instance_size = Some(size);
        self
    }

    /// Writes the LOAD CLASS record, the strings and the CLASS DUMP; returns the class id.
    pub fn define(self) -> u64 {
        let w = self.w;
        let ids = w.id_size;
        let id = self.id.unwrap_or_else(|| w.alloc_id());
        if self.load_class {
            let written = match w.name_style {
                NameStyle::HotSpot => self.name.replace('.', "/"),
                NameStyle::Verbatim => self.name.clone(),
            };
            let name_id = w.string(&written);
            w.load_class(id, name_id);
        }
        w.classes.insert(
            id,
            ClassDef {
                name: self.name.clone(),
                super_id: self.super_id,
                fields: self.fields.clone(),
            },
        );
        let instance_size = self
            .instance_size
            .unwrap_or_else(|| w.field_types(id).iter().map(|t| t.size(ids) as u32).sum());
        let mut b = vec![0x20];
        put_id(&mut b, id, ids);
        put_u4(&mut b, self.stack_serial);
        for v in [self.super_id, self.loader, 0, 0, 0, 0] {
            put_id(&mut b, v, ids);
        }
        put_u4(&mut b, instance_size);
        put_u2(&mut b, self.constants.len() as u16);
        for (index, v) in &self.constants {
            put_u2(&mut b, *index);
            b.push(v.ty().code());
            v.put(&mut b, ids);
        }
        put_u2(&mut b, self.statics.len() as u16);
        for (name, v) in &self.statics {
            let n = w.string(name);
            put_id(&mut b, n, ids);
            b.push(v.ty().code());
            v.put(&mut b, ids);
        }
        put_u2(&mut b, self.fields.len() as u16);
        for (name, ty) in &self.fields {
            let n = w.string(name);
            put_id(&mut b, n, ids);
            b.push(ty.code());
        }
        w.subs.push(b);
        id
    }
}

// ---- compression ---------------------------------------------------------------------------

/// Gzip as HotSpot writes `-gz` dumps: independent members of `block` uncompressed bytes each
/// (the last may be shorter), the first with the comment `HPROF BLOCKSIZE=<block>`.
pub fn hotspot_gzip(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = vec![];
    for (i, chunk) in data.chunks(block).enumerate() {
        let mut b = flate2::GzBuilder::new();
        if i == 0 {
            b = b.comment(format!("HPROF BLOCKSIZE={block}"));
        }
        let mut e = b.write(Vec::new(), flate2::Compression::fast());
        e.write_all(chunk).unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

/// One plain gzip stream (`gzip dump.hprof`).
pub fn plain_gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

// ---- files ---------------------------------------------------------------------------------

/// A directory under the system temp dir, removed with its contents on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("oomsleuth-test-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to `name` in this directory; returns the path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
