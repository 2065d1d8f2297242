//! Reflection inflation (JDK 8-17): which methods and constructors the generated accessor classes
//! call, and how the `Method` objects that own them are held.
//!
//! HotSpot's core reflection first calls a method through JNI (`NativeMethodAccessorImpl`); after
//! `sun.reflect.inflationThreshold` (15) calls it generates a class `GeneratedMethodAccessorN`,
//! defines it in a fresh `DelegatingClassLoader`, and points the root `Method`'s
//! `DelegatingMethodAccessorImpl.delegate` at an instance of it. A dump keeps that chain:
//! `Method.methodAccessor -> DelegatingMethodAccessorImpl.delegate -> GeneratedMethodAccessorN`
//! (or `Method.methodAccessor -> GeneratedMethodAccessorN` with `-Dsun.reflect.noInflation=true`),
//! and `NativeMethodAccessorImpl.{method, parent}` until it is dropped. The generated class has no
//! fields naming its target (the target lives in its constant pool, which dumps do not carry), so
//! the target is read from the `Method` (`clazz`, `name`, `parameterTypes`). Constructors work the
//! same way with `constructorAccessor` and `GeneratedConstructorAccessorN`.
//!
//! JDK 18+ (JEP 416) reimplements reflection on method handles: no accessor classes are generated
//! and the report says so.

use super::graph::Graph;
use crate::analyses::class_families::{classify, FamilyKind};
use crate::heap::fxhash::{new_map, FxHashMap};
use crate::heap::index::ObjectIndex;
use crate::heap::reachability as reach;
use serde::Serialize;

/// Classes whose instances the reflection analysis reads.
pub fn is_reflection_plumbing(name: &str) -> bool {
    matches!(
        name,
        "java.lang.reflect.Method" | "java.lang.reflect.Constructor"
    ) || name.ends_with(".DelegatingMethodAccessorImpl")
        || name.ends_with(".NativeMethodAccessorImpl")
        || name.ends_with(".DelegatingConstructorAccessorImpl")
        || name.ends_with(".NativeConstructorAccessorImpl")
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetMethod {
    /// `name(ParamType, ...)`; constructors are `<init>(...)`.
    pub method: String,
    /// Generated accessor classes calling it.
    pub accessors: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetClass {
    pub class: String,
    pub accessors: u64,
    /// Most accessors first.
    pub methods: Vec<TargetMethod>,
}

/// The reflection part of `oomsleuth.classloaders/1`.
#[derive(Clone, Debug, Serialize)]
pub struct Reflection {
    /// Whether inflation can happen on this JDK (8-17, or unknown version).
    pub applies: bool,
    /// The JDK feature release of the dump (0 when unknown).
    pub jdk_feature: u32,
    pub note: String,
    /// Generated accessor classes by kind.
    pub method_accessors: u64,
    pub constructor_accessors: u64,
    pub serialization_constructor_accessors: u64,
    /// Accessor classes whose target was recovered from a live `Method`/`Constructor`.
    pub resolved: u64,
    pub unresolved: u64,
    /// How the accessor instances of resolved accessors are held.
    pub strongly_held: u64,
    pub soft_only: u64,
    pub unreachable: u64,
    /// Every resolved accessor is held only through SoftReferences (the seed 003 pattern).
    pub only_softly: bool,
    /// Target classes, most accessors first.
    pub targets: Vec<TargetClass>,
}

impl Reflection {
    /// The `k` most inflated target methods as `Class.method(params)` with their accessor counts.
    pub fn top_methods(&self, k: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .targets
            .iter()
            .flat_map(|t| {
                let simple = t.class.rsplit('.').next().unwrap_or(&t.class);
                t.methods
                    .iter()
                    .map(move |m| (format!("{simple}.{}", m.method), m.accessors))
            })
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }
}

/// Reads the reflection plumbing among `objs` (instances of the classes
/// [`is_reflection_plumbing`] names). How each accessor is held is its reachability level in
/// the index.
pub fn reflection(g: &Graph<'_, '_>, objs: &[ObjectIndex]) -> Reflection {
    let heap = &g.heap;
    let classes = &heap.snap.classes;
    let feature = heap.snap.vm.jdk_feature;
    let applies = feature == 0 || feature < 18;
    let mut counts = [0u64; 3];
    for c in &classes.classes {
        if c.is_array() {
            continue;
        }
        match classify(&c.name).kind {
            FamilyKind::ReflectionMethodAccessor => counts[0] += 1,
            FamilyKind::ReflectionConstructorAccessor => counts[1] += 1,
            FamilyKind::SerializationConstructorAccessor => counts[2] += 1,
            _ => {}
        }
    }
    let is_generated = |o: ObjectIndex| {
        matches!(
            classify(heap.class_name(o)).kind,
            FamilyKind::ReflectionMethodAccessor
                | FamilyKind::ReflectionConstructorAccessor
                | FamilyKind::SerializationConstructorAccessor
        )
    };
    // Generated accessor instance -> the Method/Constructor that owns it.
    let mut owner: FxHashMap<ObjectIndex, ObjectIndex> = new_map();
    let mut delegating_owner: FxHashMap<ObjectIndex, ObjectIndex> = new_map();
    let total_accessors = counts.iter().sum::<u64>();
    if total_accessors > 0 {
        for &o in objs {
            let name = heap.class_name(o);
            let field = match name {
                "java.lang.reflect.Method" => "methodAccessor",
                "java.lang.reflect.Constructor" => "constructorAccessor",
                _ => continue,
            };
            let Some(acc) = heap.field_object(o, field) else {
                continue;
            };
            let acc_name = heap.class_name(acc);
            let gen = if acc_name.ends_with("DelegatingMethodAccessorImpl")
                || acc_name.ends_with("DelegatingConstructorAccessorImpl")
            {
                delegating_owner.entry(acc).or_insert(o);
                heap.field_object(acc, "delegate")
            } else {
                Some(acc)
            };
            if let Some(gen) = gen.filter(|&x| is_generated(x)) {
                owner.entry(gen).or_insert(o);
            }
        }
        // Native accessors still name their Method and their Delegating parent.
        for &o in objs {
            let name = heap.class_name(o);
            let field = if name.ends_with(".NativeMethodAccessorImpl") {
                "method"
            } else if name.ends_with(".NativeConstructorAccessorImpl") {
                "c"
            } else {
                continue;
            };
            let (Some(m), Some(parent)) =
                (heap.field_object(o, field), heap.field_object(o, "parent"))
            else {
                continue;
            };
            if let Some(gen) = heap
                .field_object(parent, "delegate")
                .filter(|&x| is_generated(x))
            {
                owner.entry(gen).or_insert(m);
            }
        }
    }
    // One target per generated class (a class has one instance in practice; keep the first).
    let mut by_class: FxHashMap<u32, (ObjectIndex, ObjectIndex)> = new_map();
    let mut gens: Vec<(ObjectIndex, ObjectIndex)> = owner.into_iter().collect();
    gens.sort_unstable();
    for (gen, m) in gens {
        by_class.entry(heap.class(gen)).or_insert((gen, m));
    }
    let mut held = [0u64; 3];
    let mut targets: FxHashMap<String, FxHashMap<String, u64>> = new_map();
    for &(gen, m) in by_class.values() {
        // Each accessor by its strongest reachability: strong, soft, or neither.
        match g.heap.index.level(gen) {
            reach::STRONG => held[0] += 1,
            reach::SOFT => held[1] += 1,
            _ => held[2] += 1,
        }
        let (class, method) = describe_member(g, m);
        *targets.entry(class).or_default().entry(method).or_default() += 1;
    }
    let resolved = by_class.len() as u64;
    let mut targets: Vec<TargetClass> = targets
        .into_iter()
        .map(|(class, ms)| {
            let mut methods: Vec<TargetMethod> = ms
                .into_iter()
                .map(|(method, accessors)| TargetMethod { method, accessors })
                .collect();
            methods.sort_by(|a, b| b.accessors.cmp(&a.accessors).then(a.method.cmp(&b.method)));
            TargetClass {
                accessors: methods.iter().map(|m| m.accessors).sum(),
                class,
                methods,
            }
        })
        .collect();
    targets.sort_by(|a, b| b.accessors.cmp(&a.accessors).then(a.class.cmp(&b.class)));
    let note = if feature >= 18 {
        format!("JDK {feature}: core reflection uses method handles since JDK 18 (JEP 416), so Method.invoke generates no accessor classes and reflection inflation does not apply here{}", if total_accessors > 0 { "; the accessor classes found are serialization constructor accessors or from another mechanism" } else { "" })
    } else if total_accessors == 0 {
        "no generated reflection accessor classes in this dump".into()
    } else {
        format!(
            "{resolved} of {total_accessors} generated accessor classes resolved to their target through live Method/Constructor objects{}",
            if feature == 0 { " (JDK version unknown)" } else { "" }
        )
    };
    Reflection {
        applies,
        jdk_feature: feature,
        note,
        method_accessors: counts[0],
        constructor_accessors: counts[1],
        serialization_constructor_accessors: counts[2],
        resolved,
        unresolved: total_accessors.saturating_sub(resolved),
        strongly_held: held[0],
        soft_only: held[1],
        unreachable: held[2],
        only_softly: resolved > 0 && held[1] > 0 && held[0] == 0,
        targets,
    }
}

/// (declaring class, `name(params)`) of a Method or Constructor object.
fn describe_member(g: &Graph<'_, '_>, m: ObjectIndex) -> (String, String) {
    let heap = &g.heap;
    let index = heap.index;
    let class_name = |o: Option<ObjectIndex>| -> String {
        o.and_then(|o| index.class_of_object(o))
            .map(|c| heap.snap.classes.get(c).name.clone())
            .unwrap_or_else(|| "?".into())
    };
    let class = class_name(heap.field_object(m, "clazz"));
    let name = if heap.class_name(m) == "java.lang.reflect.Constructor" {
        "<init>".to_string()
    } else {
        heap.field_object(m, "name")
            .and_then(|s| heap.string(s, 200))
            .unwrap_or_else(|| "?".into())
    };
    let params: Vec<String> = heap
        .field_object(m, "parameterTypes")
        .map(|a| {
            heap.array_elements(a)
                .into_iter()
                .map(|id| match heap.find(id) {
                    // A Class object without a class dump: a primitive type's mirror (`int`).
                    Some(o) if index.class_of_object(o).is_none() => "<primitive>".to_string(),
                    o => {
                        let full = class_name(o);
                        full.rsplit('.').next().unwrap_or(&full).to_string()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    (class, format!("{name}({})", params.join(", ")))
}
