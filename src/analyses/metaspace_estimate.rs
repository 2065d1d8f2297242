//! The Metaspace a class and its loader pin, estimated from what a heap dump tells of them.
//!
//! A dump carries no Metaspace sizes. What it tells of a class is its fields and statics, its kind
//! (array or not), its name and its defining loader; what it does not tell are its methods and
//! constant pool, which are most of a class's metadata. So a class counts:
//!
//! - its `Klass` in class space ([`KLASS_BYTES`]; [`ARRAY_KLASS_BYTES`] for an array class);
//! - in non-class space a constant-pool base, a cost per field and per static, and a cost per
//!   method times the methods a class of its kind is taken to have: the shapes the generators make
//!   are known (a Groovy script has its `run`, `main`, constructors and call-site plumbing; a Rhino
//!   script its `call`, `exec` and a dozen accessors; a reflection accessor `invoke` and a large
//!   constant pool), an ordinary class is taken to have [`PLAIN_METHODS`].
//!
//! A loader then holds whole chunks: its class-loader data plus its classes' non-class metadata
//! rounded up to 4 KiB steps (1 KiB for reflection's `DelegatingClassLoader`s, which HotSpot gives
//! smaller chunks) and 64 KiB steps beyond 64 KiB, and their class-space part rounded up to 2 KiB
//! steps (1 KiB for reflection loaders). These are the steps `jcmd VM.classloader_stats` shows on
//! JDK 11 to 25: 6 KiB for a loader of one small class, 10 KiB for one Groovy or Rhino script,
//! 4 KiB for one reflection accessor.

use super::class_families::{Engine, FamilyKind};
use serde::Serialize;

/// An `InstanceKlass` with its vtable and itable, in class space.
pub const KLASS_BYTES: u64 = 640;
/// An `ObjArrayKlass`/`TypeArrayKlass`.
pub const ARRAY_KLASS_BYTES: u64 = 224;
/// A constant pool's fixed part and its cache.
pub const CONSTANT_POOL_BYTES: u64 = 320;
/// Per instance field: its field info and constant-pool entries.
pub const FIELD_BYTES: u64 = 48;
/// Per static: as a field, plus the initialiser's bytecode that sets it.
pub const STATIC_BYTES: u64 = 96;
/// Per method: `Method`, `ConstMethod` with a short body, and its constant-pool entries.
pub const METHOD_BYTES: u64 = 380;
/// Methods an ordinary class is taken to have.
pub const PLAIN_METHODS: u64 = 4;
/// A loader's class-loader data and its first dictionary, in non-class space.
pub const LOADER_DATA_BYTES: u64 = 256;

/// One class's metadata, split by where HotSpot puts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassMeta {
    pub non_class: u64,
    pub class_space: u64,
}

impl ClassMeta {
    pub fn total(self) -> u64 {
        self.non_class + self.class_space
    }
}

/// The methods a class of this kind, made by this engine, is taken to have.
pub fn methods_of(kind: FamilyKind, engine: Option<Engine>) -> u64 {
    match kind {
        // invoke plus a constant pool naming every type it casts to: as large as ~6 methods.
        FamilyKind::ReflectionMethodAccessor
        | FamilyKind::ReflectionConstructorAccessor
        | FamilyKind::SerializationConstructorAccessor => 6,
        FamilyKind::Lambda | FamilyKind::LambdaForm => 2,
        FamilyKind::DynamicProxy => 8,
        FamilyKind::Cglib => 20,
        FamilyKind::ByteBuddy | FamilyKind::Javassist => 10,
        FamilyKind::GroovyClosure => 6,
        _ => match engine {
            Some(Engine::Groovy) => 11,
            Some(Engine::Rhino) => 17,
            Some(Engine::Nashorn) => 12,
            Some(Engine::Aviator) => 6,
            Some(Engine::Janino) => 4,
            _ => PLAIN_METHODS,
        },
    }
}

/// The metadata of one class.
pub fn class_meta(
    is_array: bool,
    fields: u64,
    statics: u64,
    kind: FamilyKind,
    engine: Option<Engine>,
) -> ClassMeta {
    if is_array {
        return ClassMeta {
            non_class: 0,
            class_space: ARRAY_KLASS_BYTES,
        };
    }
    ClassMeta {
        non_class: CONSTANT_POOL_BYTES
            + FIELD_BYTES * fields
            + STATIC_BYTES * statics
            + METHOD_BYTES * methods_of(kind, engine),
        class_space: KLASS_BYTES,
    }
}

fn round_up(v: u64, step: u64) -> u64 {
    v.div_ceil(step) * step
}

/// The chunks a loader holds for the metadata of its classes (`used`, summed over them); 0 for a
/// loader that defined nothing (it has no chunks).
pub fn loader_chunks(used: ClassMeta, classes: u64, reflection: bool) -> u64 {
    if classes == 0 {
        return 0;
    }
    let (nc_step, cs_step) = if reflection {
        (1024, 1024)
    } else {
        (4096, 2048)
    };
    let nc = used.non_class + LOADER_DATA_BYTES;
    let nc = if nc > 64 * 1024 {
        round_up(nc, 64 * 1024)
    } else {
        round_up(nc, nc_step)
    };
    nc + round_up(used.class_space.max(1), cs_step)
}

/// How the estimate is made, for the JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Method {
    pub description: &'static str,
    pub klass_bytes: u64,
    pub array_klass_bytes: u64,
    pub constant_pool_bytes: u64,
    pub field_bytes: u64,
    pub static_bytes: u64,
    pub method_bytes: u64,
    pub plain_methods: u64,
}

impl Method {
    pub fn new() -> Method {
        Method {
            description: "estimate, not a measurement: heap dumps carry no Metaspace sizes; each class counts its Klass, a constant-pool base, a cost per field and static, and a cost per method times the methods a class of its kind has (generated classes have the shape of their generator; dumps list no methods); a loader holds its classes' metadata rounded up to whole chunks; bootstrap classes mapped from the CDS archive cost less than shown",
            klass_bytes: KLASS_BYTES,
            array_klass_bytes: ARRAY_KLASS_BYTES,
            constant_pool_bytes: CONSTANT_POOL_BYTES,
            field_bytes: FIELD_BYTES,
            static_bytes: STATIC_BYTES,
            method_bytes: METHOD_BYTES,
            plain_methods: PLAIN_METHODS,
        }
    }
}

impl Default for Method {
    fn default() -> Method {
        Method::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_steps_match_what_the_jvm_shows() {
        // A loader of one small class: 6 KiB (VM.classloader_stats on JDK 11, 17, 21, 25).
        let small = class_meta(false, 0, 0, FamilyKind::ExpressionScript, None);
        assert_eq!(loader_chunks(small, 1, false), 6 * 1024);
        // One Groovy or Rhino script: 10 KiB.
        for e in [Engine::Groovy, Engine::Rhino] {
            let m = class_meta(false, 1, 4, FamilyKind::Numbered, Some(e));
            assert_eq!(loader_chunks(m, 1, false), 10 * 1024, "{e:?}");
        }
        // One reflection accessor in its DelegatingClassLoader: 4 KiB.
        let a = class_meta(false, 0, 0, FamilyKind::ReflectionMethodAccessor, None);
        assert_eq!(loader_chunks(a, 1, true), 4 * 1024);
        assert_eq!(loader_chunks(a, 0, true), 0);
        // Large loaders: 64 KiB steps.
        let big = ClassMeta {
            non_class: 300_000,
            class_space: 64_000,
        };
        assert_eq!(loader_chunks(big, 100, false) % 1024, 0);
        assert!(loader_chunks(big, 100, false) < 400_000);
    }
}
