//! HPROF heap dumps as HotSpot (JDK 6 to 25) and Android (1.0.3) write them.
//!
//! - [`raw`]: tags and type codes;
//! - [`reader`]: zero-copy records and sub-records over a byte slice;
//! - [`directory`]: the first pass that locates heap dump bodies and reads names;
//! - [`input`]: mmap for plain files, parallel inflation for `-gz` dumps.

pub mod directory;
pub mod error;
pub mod input;
pub mod raw;
pub mod reader;

pub use directory::{Directory, HeapBody, Warning};
pub use error::HprofError;
pub use input::{DumpBytes, InputError, Source};
pub use raw::{BasicType, RootKind, SubTag, Tag};
pub use reader::{
    ClassDump, GcRoot, Header, InstanceDump, ObjectArrayDump, ObjectHeader, ObjectKind,
    PrimitiveArrayDump, SubRecord, SubRecords,
};
