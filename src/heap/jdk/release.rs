//! What differs between JDK releases, in one place: how to tell the release from the dump
//! (version fields, classes and fields that appeared in known releases), what the JVM's own
//! constants say about its layout (`Unsafe`'s address size and array offsets), and the fields
//! and padding HotSpot adds to JDK classes that the dump does not list. The layout code and the
//! VM detection ask here instead of testing release numbers themselves.

use crate::formats::hprof::BasicType;

/// Static `String` fields that hold the full version (`17.0.15`, `1.6.0_30`), newest first.
pub const VERSION_FIELDS: &[(&str, &str)] = &[
    ("java.lang.VersionProps", "java_version"),
    ("sun.misc.Version", "java_version"),
];

/// Classes whose statics hold the JVM's own layout constants (JDK 7+), first found wins.
pub const UNSAFE_CLASSES: &[&str] = &["jdk.internal.misc.Unsafe", "sun.misc.Unsafe"];

/// What one of `Unsafe`'s constants says about the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutConstant {
    /// Native pointer size: 4 on 32-bit JVMs, 8 on 64-bit ones.
    AddressSize,
    /// Bytes per element of an `Object[]`: the reference size.
    ReferenceScale,
    /// Offset of an `int[]`'s first element: header and length size.
    IntArrayBase,
}

/// `Unsafe`'s static fields that record the layout (`ADDRESS_SIZE = theUnsafe.addressSize()`,
/// ...), computed by the running JVM and so dumped with its values.
pub const UNSAFE_LAYOUT_FIELDS: &[(&str, LayoutConstant)] = &[
    ("ADDRESS_SIZE", LayoutConstant::AddressSize),
    ("ARRAY_OBJECT_INDEX_SCALE", LayoutConstant::ReferenceScale),
    ("ARRAY_INT_BASE_OFFSET", LayoutConstant::IntArrayBase),
];

/// The feature release told by classes and fields that appeared (or went away) in known
/// releases, when no version string is in the dump (JDK 5/6 32-bit dumps leave
/// `sun.misc.Version.java_version` null): newest marker first, with what was seen.
/// `has_class(name)`, `has_field(class, field)` ask the dump.
pub fn release_from_markers(
    has_class: &dyn Fn(&str) -> bool,
    has_field: &dyn Fn(&str, &str) -> bool,
) -> Option<(u32, &'static str)> {
    let markers: [(bool, u32, &'static str); 9] = [
        (
            has_class("java.lang.VirtualThread"),
            21,
            "java.lang.VirtualThread is loaded",
        ),
        (
            has_class("java.lang.Record"),
            17,
            "java.lang.Record is loaded",
        ),
        (
            has_field("java.lang.String", "hashIsZero"),
            13,
            "String.hashIsZero exists",
        ),
        (
            has_class("java.lang.Module"),
            11,
            "java.lang.Module is loaded",
        ),
        (
            has_field("java.lang.Class", "reflectionData"),
            8,
            "Class.reflectionData exists",
        ),
        // JDK 7 (ClassValue); 7u6-7u40 also have String.hash32.
        (
            has_field("java.lang.Class", "classValueMap"),
            7,
            "Class.classValueMap exists",
        ),
        (
            has_field("java.lang.String", "hash32"),
            7,
            "String.hash32 exists",
        ),
        // JDK 6 added LockSupport's blocker to Thread.
        (
            has_field("java.lang.Thread", "parkBlocker"),
            6,
            "Thread.parkBlocker exists",
        ),
        (
            has_field("java.lang.Thread", "eetop"),
            5,
            "Thread has no parkBlocker",
        ),
    ];
    markers
        .iter()
        .find(|m| m.0)
        .map(|&(_, release, why)| (release, why))
}

use BasicType::{Boolean as Z, Byte as B, Int as I, Long as J, Object as L, Short as S};

/// `java.lang.Class`'s injected fields on JDK 19+ (before: all but the last).
const CLASS_INJECTED: [(BasicType, &str); 8] = [
    (J, "klass"),
    (J, "array_klass"),
    (I, "oop_size"),
    (I, "static_oop_field_count"),
    (L, "protection_domain"),
    (L, "init_lock"),
    (L, "signers"),
    (L, "source_file"),
];

/// Fields HotSpot adds to JDK classes (javaClasses.hpp `*_INJECTED_FIELDS`); the dump omits
/// them. `intptr` fields are longs on 64-bit JVMs.
pub(crate) fn injected_fields(jdk: u32, class: &str) -> &'static [(BasicType, &'static str)] {
    match class {
        // JDK 19 added `source_file` at the end.
        "java.lang.Class" => match jdk {
            0..=18 => &CLASS_INJECTED[..7],
            _ => &CLASS_INJECTED,
        },
        // JDK 8's ClassLoaderData (JEP 122): JDK 5-7 inject nothing into ClassLoader.
        "java.lang.ClassLoader" if jdk >= 8 => &[(J, "loader_data")],
        "java.lang.invoke.MemberName" => match jdk {
            0..=8 => &[(L, "vmloader"), (J, "vmindex"), (J, "vmtarget")],
            9..=10 => &[(J, "vmindex"), (J, "vmtarget")],
            _ => &[(J, "vmindex")],
        },
        "java.lang.invoke.ResolvedMethodName" => &[(J, "vmtarget"), (L, "vmholder")],
        "java.lang.invoke.MethodHandleNatives$CallSiteContext" => match jdk {
            0..=10 => &[(J, "vmdependencies")],
            _ => &[(J, "vmdependencies"), (J, "last_cleanup")],
        },
        "java.lang.StackFrameInfo" => &[(S, "version")],
        // Not injected, but hidden from JVMTI (reflection's filtered fields), so dumps of the
        // JVMTI hprof agent leave them out; HotSpot's own dumper lists them (then not added).
        "java.lang.Throwable" => &[(L, "backtrace")],
        "sun.reflect.ConstantPool" => &[(L, "constantPoolOop")],
        "sun.reflect.UnsafeStaticFieldAccessorImpl" => &[(L, "base")],
        "java.lang.Module" => &[(J, "module_entry")],
        "java.lang.String" if jdk >= 17 => &[(B, "flags")],
        "java.lang.InternalError" if jdk >= 15 => &[(Z, "during_unsafe_access")],
        "java.lang.Thread" => match jdk {
            0..=18 => &[],
            19..=25 => &[
                (J, "jvmti_thread_state"),
                (I, "jvmti_VTMS_transition_disable_count"),
                (Z, "jvmti_is_in_VTMS_transition"),
                (S, "jfr_epoch"),
            ],
            // JDK 26 moved the VTMS transition state out of the Thread object.
            _ => &[(J, "jvmti_thread_state"), (S, "jfr_epoch")],
        },
        "java.lang.VirtualThread" if jdk >= 19 => &[(S, "jfr_epoch")],
        _ => &[],
    }
}

/// `@Contended` groups of JDK class fields: 0 = not contended, else a group number.
pub(crate) fn contended_group(jdk: u32, class: &str, field: &[u8]) -> u32 {
    match (class, field) {
        // JDK 19+ (virtual threads) dropped the annotation.
        (
            "java.lang.Thread",
            b"threadLocalRandomSeed"
            | b"threadLocalRandomProbe"
            | b"threadLocalRandomSecondarySeed",
        ) if jdk <= 18 => 1,
        // Offsets measured with Unsafe.objectFieldOffset on JDK 11, 17.0.15, 21.0.8 and 25.0.2.
        ("java.util.concurrent.ForkJoinPool", b"ctl") if jdk >= 9 => 1,
        ("java.util.concurrent.ForkJoinPool", b"parallelism") if jdk >= 21 => 1,
        ("java.util.concurrent.ForkJoinPool$WorkQueue", b"top" | b"source" | b"nsteals")
            if jdk >= 16 =>
        {
            1
        }
        ("java.util.concurrent.ForkJoinPool$WorkQueue", b"access") if (21..=24).contains(&jdk) => 1,
        ("java.util.concurrent.ForkJoinPool$WorkQueue", b"phase") if jdk >= 21 => 1,
        ("java.util.concurrent.ForkJoinPool$WorkQueue", b"stackPred" | b"parking") if jdk >= 25 => {
            1
        }
        _ => 0,
    }
}

/// Whether HotSpot gives instances of `class` (itself, not its superclasses) space that the
/// dump's field list does not show: injected fields or `@Contended` padding. What a tool that
/// sizes objects from the dump alone misses.
pub fn has_hidden_space(jdk: u32, class: &str) -> bool {
    !injected_fields(jdk, class).is_empty()
        || contended_class(jdk, class)
        || (class == "java.lang.Thread" && jdk <= 18)
        || matches!(
            class,
            "java.util.concurrent.ForkJoinPool" | "java.util.concurrent.ForkJoinPool$WorkQueue"
        )
}

/// JDK classes annotated `@Contended` as a whole.
pub(crate) fn contended_class(jdk: u32, class: &str) -> bool {
    match class {
        "java.util.concurrent.ConcurrentHashMap$CounterCell"
        | "java.util.concurrent.atomic.Striped64$Cell" => true,
        "java.util.concurrent.Exchanger$Node" => true,
        "java.util.concurrent.ForkJoinPool" => jdk <= 8,
        // JDK 9-15; JDK 16's rewrite annotates some of its fields instead (see contended_group).
        "java.util.concurrent.ForkJoinPool$WorkQueue" => jdk <= 15,
        _ => false,
    }
}

/// JDK 6-14 classes laid out with references first and no gap filling (hard-coded offsets).
pub(crate) const HARD_CODED_OFFSET_CLASSES: &[&str] = &[
    "java.lang.AssertionStatusDirectives",
    "java.lang.Class",
    "java.lang.ClassLoader",
    "java.lang.ref.Reference",
    "java.lang.ref.SoftReference",
    "java.lang.StackTraceElement",
    "java.lang.String",
    "java.lang.Throwable",
    "java.lang.Boolean",
    "java.lang.Character",
    "java.lang.Float",
    "java.lang.Double",
    "java.lang.Byte",
    "java.lang.Short",
    "java.lang.Integer",
    "java.lang.Long",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Field lists of `String`, `Class` and `Thread` as the JDK 5, 6, 7 and 8 peer dumps
    /// declare them tell the release apart.
    #[test]
    fn markers_tell_old_releases_apart() {
        let dumps: [(u32, &[(&str, &str)]); 4] = [
            (
                5,
                &[
                    ("java.lang.String", "offset"),
                    ("java.lang.Thread", "eetop"),
                ],
            ),
            (
                6,
                &[
                    ("java.lang.String", "offset"),
                    ("java.lang.Thread", "eetop"),
                    ("java.lang.Thread", "parkBlocker"),
                ],
            ),
            (
                7,
                &[
                    ("java.lang.String", "hash32"),
                    ("java.lang.Class", "classValueMap"),
                    ("java.lang.Thread", "parkBlocker"),
                ],
            ),
            (
                8,
                &[
                    ("java.lang.Class", "classValueMap"),
                    ("java.lang.Class", "reflectionData"),
                    ("java.lang.Thread", "parkBlocker"),
                ],
            ),
        ];
        for (release, fields) in dumps {
            let has_field = |c: &str, f: &str| fields.contains(&(c, f));
            let got = release_from_markers(&|_| false, &has_field).map(|m| m.0);
            assert_eq!(got, Some(release));
        }
        assert_eq!(release_from_markers(&|_| false, &|_, _| false), None);
        assert_eq!(
            release_from_markers(&|c| c == "java.lang.Module", &|_, _| false).map(|m| m.0),
            Some(11)
        );
    }

    #[test]
    fn class_loaders_get_loader_data_from_jdk_8() {
        assert!(injected_fields(7, "java.lang.ClassLoader").is_empty());
        assert_eq!(injected_fields(8, "java.lang.ClassLoader").len(), 1);
    }
}
