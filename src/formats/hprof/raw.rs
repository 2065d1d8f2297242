//! HPROF constants: record tags, heap-dump sub-record tags and basic types, as HotSpot's
//! `heapDumper.cpp` and Android's `hprof.cc` write them. Parsing lives in `reader.rs`.
//!
//! Tags are open newtypes rather than enums so that an unknown tag stays representable and can be
//! named in an error message.

use std::fmt;

/// A top-level record tag.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub u8);

impl Tag {
    pub const STRING: Tag = Tag(0x01);
    pub const LOAD_CLASS: Tag = Tag(0x02);
    pub const UNLOAD_CLASS: Tag = Tag(0x03);
    pub const STACK_FRAME: Tag = Tag(0x04);
    pub const STACK_TRACE: Tag = Tag(0x05);
    pub const ALLOC_SITES: Tag = Tag(0x06);
    pub const HEAP_SUMMARY: Tag = Tag(0x07);
    pub const START_THREAD: Tag = Tag(0x0A);
    pub const END_THREAD: Tag = Tag(0x0B);
    pub const HEAP_DUMP: Tag = Tag(0x0C);
    pub const CPU_SAMPLES: Tag = Tag(0x0D);
    pub const CONTROL_SETTINGS: Tag = Tag(0x0E);
    pub const HEAP_DUMP_SEGMENT: Tag = Tag(0x1C);
    pub const HEAP_DUMP_END: Tag = Tag(0x2C);

    /// The HPROF spec name of the tag, or `None` for a tag no known writer produces.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Tag::STRING => "STRING",
            Tag::LOAD_CLASS => "LOAD CLASS",
            Tag::UNLOAD_CLASS => "UNLOAD CLASS",
            Tag::STACK_FRAME => "STACK FRAME",
            Tag::STACK_TRACE => "STACK TRACE",
            Tag::ALLOC_SITES => "ALLOC SITES",
            Tag::HEAP_SUMMARY => "HEAP SUMMARY",
            Tag::START_THREAD => "START THREAD",
            Tag::END_THREAD => "END THREAD",
            Tag::HEAP_DUMP => "HEAP DUMP",
            Tag::CPU_SAMPLES => "CPU SAMPLES",
            Tag::CONTROL_SETTINGS => "CONTROL SETTINGS",
            Tag::HEAP_DUMP_SEGMENT => "HEAP DUMP SEGMENT",
            Tag::HEAP_DUMP_END => "HEAP DUMP END",
            _ => return None,
        })
    }

    pub fn is_known(self) -> bool {
        self.name().is_some()
    }

    pub fn is_heap_dump(self) -> bool {
        self == Tag::HEAP_DUMP || self == Tag::HEAP_DUMP_SEGMENT
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "0x{:02X} ({n})", self.0),
            None => write!(f, "0x{:02X} (unknown)", self.0),
        }
    }
}

/// Where the fields of the three object sub-records sit, in bytes from the tag, for identifier size
/// `id`: the one statement of their layout, which the reader's fast path and the heap index's
/// reference extraction both use.
///
/// ```text
/// INSTANCE DUMP         tag id stack:u4 class:id length:u4 fields[length]
/// OBJECT ARRAY DUMP     tag id stack:u4 length:u4 class:id elements[length * id]
/// PRIMITIVE ARRAY DUMP  tag id stack:u4 length:u4 type:u1 elements[length * size(type)]
/// ```
pub mod object_layout {
    /// The object's id, in every object sub-record.
    pub const ID: usize = 1;
    /// INSTANCE DUMP: the class id.
    pub const fn instance_class(id: usize) -> usize {
        5 + id
    }
    /// INSTANCE DUMP: the length of the field data.
    pub const fn instance_length(id: usize) -> usize {
        5 + 2 * id
    }
    /// INSTANCE DUMP: the field data.
    pub const fn instance_fields(id: usize) -> usize {
        9 + 2 * id
    }
    /// OBJECT and PRIMITIVE ARRAY DUMP: the number of elements.
    pub const fn array_length(id: usize) -> usize {
        5 + id
    }
    /// OBJECT ARRAY DUMP: the array class id.
    pub const fn object_array_class(id: usize) -> usize {
        9 + id
    }
    /// OBJECT ARRAY DUMP: the elements.
    pub const fn object_array_elements(id: usize) -> usize {
        9 + 2 * id
    }
    /// PRIMITIVE ARRAY DUMP: the element type.
    pub const fn primitive_array_type(id: usize) -> usize {
        9 + id
    }
    /// PRIMITIVE ARRAY DUMP: the elements.
    pub const fn primitive_array_elements(id: usize) -> usize {
        10 + id
    }
}

/// A heap-dump sub-record tag (inside HEAP DUMP / HEAP DUMP SEGMENT records).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubTag(pub u8);

impl SubTag {
    pub const ROOT_UNKNOWN: SubTag = SubTag(0xFF);
    pub const ROOT_JNI_GLOBAL: SubTag = SubTag(0x01);
    pub const ROOT_JNI_LOCAL: SubTag = SubTag(0x02);
    pub const ROOT_JAVA_FRAME: SubTag = SubTag(0x03);
    pub const ROOT_NATIVE_STACK: SubTag = SubTag(0x04);
    pub const ROOT_STICKY_CLASS: SubTag = SubTag(0x05);
    pub const ROOT_THREAD_BLOCK: SubTag = SubTag(0x06);
    pub const ROOT_MONITOR_USED: SubTag = SubTag(0x07);
    pub const ROOT_THREAD_OBJECT: SubTag = SubTag(0x08);
    pub const CLASS_DUMP: SubTag = SubTag(0x20);
    pub const INSTANCE_DUMP: SubTag = SubTag(0x21);
    pub const OBJECT_ARRAY_DUMP: SubTag = SubTag(0x22);
    pub const PRIMITIVE_ARRAY_DUMP: SubTag = SubTag(0x23);
    // Android (hprof 1.0.3) additions.
    pub const ROOT_INTERNED_STRING: SubTag = SubTag(0x89);
    pub const ROOT_FINALIZING: SubTag = SubTag(0x8A);
    pub const ROOT_DEBUGGER: SubTag = SubTag(0x8B);
    pub const ROOT_REFERENCE_CLEANUP: SubTag = SubTag(0x8C);
    pub const ROOT_VM_INTERNAL: SubTag = SubTag(0x8D);
    pub const ROOT_JNI_MONITOR: SubTag = SubTag(0x8E);
    pub const UNREACHABLE: SubTag = SubTag(0x90);
    pub const PRIMITIVE_ARRAY_NODATA: SubTag = SubTag(0xC3);
    pub const HEAP_DUMP_INFO: SubTag = SubTag(0xFE);

    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            SubTag::ROOT_UNKNOWN => "ROOT UNKNOWN",
            SubTag::ROOT_JNI_GLOBAL => "ROOT JNI GLOBAL",
            SubTag::ROOT_JNI_LOCAL => "ROOT JNI LOCAL",
            SubTag::ROOT_JAVA_FRAME => "ROOT JAVA FRAME",
            SubTag::ROOT_NATIVE_STACK => "ROOT NATIVE STACK",
            SubTag::ROOT_STICKY_CLASS => "ROOT STICKY CLASS",
            SubTag::ROOT_THREAD_BLOCK => "ROOT THREAD BLOCK",
            SubTag::ROOT_MONITOR_USED => "ROOT MONITOR USED",
            SubTag::ROOT_THREAD_OBJECT => "ROOT THREAD OBJECT",
            SubTag::CLASS_DUMP => "CLASS DUMP",
            SubTag::INSTANCE_DUMP => "INSTANCE DUMP",
            SubTag::OBJECT_ARRAY_DUMP => "OBJECT ARRAY DUMP",
            SubTag::PRIMITIVE_ARRAY_DUMP => "PRIMITIVE ARRAY DUMP",
            SubTag::ROOT_INTERNED_STRING => "ROOT INTERNED STRING",
            SubTag::ROOT_FINALIZING => "ROOT FINALIZING",
            SubTag::ROOT_DEBUGGER => "ROOT DEBUGGER",
            SubTag::ROOT_REFERENCE_CLEANUP => "ROOT REFERENCE CLEANUP",
            SubTag::ROOT_VM_INTERNAL => "ROOT VM INTERNAL",
            SubTag::ROOT_JNI_MONITOR => "ROOT JNI MONITOR",
            SubTag::UNREACHABLE => "UNREACHABLE",
            SubTag::PRIMITIVE_ARRAY_NODATA => "PRIMITIVE ARRAY NODATA",
            SubTag::HEAP_DUMP_INFO => "HEAP DUMP INFO",
            _ => return None,
        })
    }
}

impl fmt::Debug for SubTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SubTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "0x{:02X} ({n})", self.0),
            None => write!(f, "0x{:02X} (unknown)", self.0),
        }
    }
}

/// The kind of GC root a root sub-record declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RootKind {
    Unknown,
    JniGlobal,
    JniLocal,
    JavaFrame,
    NativeStack,
    StickyClass,
    ThreadBlock,
    MonitorUsed,
    ThreadObject,
    InternedString,
    Finalizing,
    Debugger,
    ReferenceCleanup,
    VmInternal,
    JniMonitor,
    Unreachable,
}

impl RootKind {
    pub fn name(self) -> &'static str {
        match self {
            RootKind::Unknown => "unknown",
            RootKind::JniGlobal => "jni-global",
            RootKind::JniLocal => "jni-local",
            RootKind::JavaFrame => "java-frame",
            RootKind::NativeStack => "native-stack",
            RootKind::StickyClass => "system-class",
            RootKind::ThreadBlock => "thread-block",
            RootKind::MonitorUsed => "busy-monitor",
            RootKind::ThreadObject => "thread",
            RootKind::InternedString => "interned-string",
            RootKind::Finalizing => "finalizing",
            RootKind::Debugger => "debugger",
            RootKind::ReferenceCleanup => "reference-cleanup",
            RootKind::VmInternal => "vm-internal",
            RootKind::JniMonitor => "jni-monitor",
            RootKind::Unreachable => "unreachable",
        }
    }
}

/// A field or array element type, encoded as in HPROF (2 = object, 4 = boolean, ... 11 = long).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum BasicType {
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

impl BasicType {
    pub fn from_u8(v: u8) -> Option<BasicType> {
        Some(match v {
            2 => BasicType::Object,
            4 => BasicType::Boolean,
            5 => BasicType::Char,
            6 => BasicType::Float,
            7 => BasicType::Double,
            8 => BasicType::Byte,
            9 => BasicType::Short,
            10 => BasicType::Int,
            11 => BasicType::Long,
            _ => return None,
        })
    }

    pub fn to_u8(self) -> u8 {
        match self {
            BasicType::Object => 2,
            BasicType::Boolean => 4,
            BasicType::Char => 5,
            BasicType::Float => 6,
            BasicType::Double => 7,
            BasicType::Byte => 8,
            BasicType::Short => 9,
            BasicType::Int => 10,
            BasicType::Long => 11,
        }
    }

    /// Size of a value of this type in the HPROF file (objects take the identifier size).
    pub fn hprof_size(self, id_size: u8) -> usize {
        match self {
            BasicType::Object => id_size as usize,
            other => other.java_size().unwrap_or(0) as usize,
        }
    }

    /// Size of a primitive value in the Java heap; `None` for references (layout decides).
    pub fn java_size(self) -> Option<u32> {
        Some(match self {
            BasicType::Boolean | BasicType::Byte => 1,
            BasicType::Char | BasicType::Short => 2,
            BasicType::Float | BasicType::Int => 4,
            BasicType::Double | BasicType::Long => 8,
            BasicType::Object => return None,
        })
    }

    /// The Java source name of the primitive type (`int`, `byte`, ...), `Object` for references.
    pub fn java_name(self) -> &'static str {
        match self {
            BasicType::Object => "java.lang.Object",
            BasicType::Boolean => "boolean",
            BasicType::Char => "char",
            BasicType::Float => "float",
            BasicType::Double => "double",
            BasicType::Byte => "byte",
            BasicType::Short => "short",
            BasicType::Int => "int",
            BasicType::Long => "long",
        }
    }

    /// The JVM descriptor letter (`I`, `B`, ... `L` for references).
    pub fn descriptor(self) -> char {
        match self {
            BasicType::Object => 'L',
            BasicType::Boolean => 'Z',
            BasicType::Char => 'C',
            BasicType::Float => 'F',
            BasicType::Double => 'D',
            BasicType::Byte => 'B',
            BasicType::Short => 'S',
            BasicType::Int => 'I',
            BasicType::Long => 'J',
        }
    }

    pub const PRIMITIVES: [BasicType; 8] = [
        BasicType::Boolean,
        BasicType::Char,
        BasicType::Float,
        BasicType::Double,
        BasicType::Byte,
        BasicType::Short,
        BasicType::Int,
        BasicType::Long,
    ];

    /// Dense index 0..9 (object first), for per-type tables.
    pub fn index(self) -> usize {
        match self {
            BasicType::Object => 0,
            BasicType::Boolean => 1,
            BasicType::Char => 2,
            BasicType::Float => 3,
            BasicType::Double => 4,
            BasicType::Byte => 5,
            BasicType::Short => 6,
            BasicType::Int => 7,
            BasicType::Long => 8,
        }
    }
}

/// The magic every HPROF file starts with, up to the version digits.
pub const MAGIC_PREFIX: &[u8] = b"JAVA PROFILE 1.0.";
