//! What the dump tells about the JVM that wrote it: its release and the object layout settings
//! (compressed oops, compressed class pointers), each with how it was decided.

use super::census::{Census, ObjectShape};
use super::classes::ClassTable;
use super::layout::{compute_sizes, ClassSizes, LayoutModel};
use super::values::read_string;
use crate::formats::hprof::Directory;
use serde::Serialize;

/// The JVM facts and the evidence for each.
#[derive(Clone, Debug, Serialize)]
pub struct VmFacts {
    /// Full version string when the dump holds it (`17.0.15`).
    pub jdk_version: Option<String>,
    pub jdk_feature: u32,
    /// How the release was decided.
    pub jdk_source: String,
    pub layout: LayoutModel,
    /// How compressed oops were decided.
    pub compressed_oops_source: String,
}

/// A user override of what detection would decide.
#[derive(Clone, Copy, Debug, Default)]
pub struct Overrides {
    pub compressed_oops: Option<bool>,
    pub jdk_feature: Option<u32>,
    /// Which heap dump of a file holding several to analyse (`--dump N`, 1-based; default the
    /// last). Not a JVM fact, but like these it changes every result, so it travels with them
    /// (and into the cache key).
    pub dump: Option<u32>,
}

/// The feature number of a version string: `1.8.0_392` -> 8, `17.0.15` -> 17, `25` -> 25.
pub fn feature_of(version: &str) -> Option<u32> {
    let v = version.trim();
    let v = v.strip_prefix("1.").unwrap_or(v);
    v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

fn detect_release(
    dir: &Directory<'_>,
    census: &Census<'_>,
    classes: &ClassTable<'_>,
) -> (Option<String>, u32, String) {
    for (class, field) in [
        ("java.lang.VersionProps", "java_version"),
        ("sun.misc.Version", "java_version"),
    ] {
        if let Some(c) = classes.find(class) {
            if let Some(id) = classes.static_object(dir, c, field) {
                if let Some(s) = read_string(dir, census, classes, id) {
                    if let Some(f) = feature_of(&s) {
                        return (Some(s), f, format!("{class}.{field} in the dump"));
                    }
                }
            }
        }
    }
    // Markers: classes and fields that appeared in known releases.
    let has = |n: &str| classes.find(n).is_some();
    let string_has = |field: &str| {
        classes
            .find("java.lang.String")
            .map(|c| {
                classes.get(c).dump.fields().any(|f| {
                    dir.strings
                        .get(&f.name_id)
                        .map(|b| *b == field.as_bytes())
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false)
    };
    let (f, why) = if has("java.lang.VirtualThread") {
        (21, "java.lang.VirtualThread is loaded")
    } else if has("java.lang.Record") {
        (17, "java.lang.Record is loaded")
    } else if string_has("hashIsZero") {
        (13, "String.hashIsZero exists")
    } else if has("java.lang.Module") {
        (11, "java.lang.Module is loaded")
    } else if !classes.is_empty() {
        (8, "no java.lang.Module class")
    } else {
        (17, "no classes in the dump: assumed")
    };
    (None, f, format!("guessed from class markers ({why})"))
}

/// Candidate layouts for a release: the defaults, then the other compressed-oops setting.
///
/// 4-byte identifiers do not prove a 32-bit JVM (the JVMTI hprof agent writes them on 64-bit
/// JVMs too), so the 64-bit layouts stay candidates and the address gaps decide; with no
/// evidence the 32-bit layout, listed first, wins the tie.
fn candidates(jdk: u32, id_size: u8) -> Vec<LayoutModel> {
    let mut v = vec![];
    if id_size == 4 {
        // 32-bit JVMs: 8-byte headers, 4-byte references (modelled as compressed ones).
        v.push(LayoutModel::hotspot_32bit(jdk));
    }
    v.push(LayoutModel::hotspot(jdk, true));
    v.push(LayoutModel::hotspot(jdk, false));
    if jdk >= 15 {
        v.push(LayoutModel {
            compressed_class_pointers: false,
            ..LayoutModel::hotspot(jdk, false)
        });
    }
    v
}

/// The candidates `--compressed-oops` allows: it names a 64-bit layout, so the 32-bit one is
/// dropped when it is given; never empty (the first candidate stays if nothing else fits).
fn allowed(all: Vec<LayoutModel>, compressed_oops: Option<bool>) -> Vec<LayoutModel> {
    let Some(c) = compressed_oops else {
        return all;
    };
    let first = all[0];
    let kept: Vec<LayoutModel> = all
        .into_iter()
        .filter(|m| m.word_size == 8 && m.compressed_oops == c)
        .collect();
    if kept.is_empty() {
        vec![first]
    } else {
        kept
    }
}

/// How many address-gap samples a model explains exactly.
fn votes(
    model: &LayoutModel,
    sizes: &ClassSizes,
    census: &Census<'_>,
    classes: &ClassTable<'_>,
) -> usize {
    census
        .gap_samples
        .iter()
        .filter(|s| {
            let predicted = match s.shape {
                ObjectShape::Instance { class_id } => classes
                    .index_of(class_id)
                    .map(|c| sizes.instance[c as usize] as u64),
                ObjectShape::ObjectArray { len, .. } => {
                    Some(model.array_size(crate::formats::hprof::BasicType::Object, len as u64))
                }
                ObjectShape::PrimitiveArray { ty, len } => Some(model.array_size(ty, len as u64)),
            };
            predicted == Some(s.gap)
        })
        .count()
}

/// Decides the JVM facts and returns them with the class sizes under the chosen layout.
pub fn detect(
    dir: &Directory<'_>,
    census: &Census<'_>,
    classes: &ClassTable<'_>,
    o: Overrides,
) -> (VmFacts, ClassSizes) {
    let (version, mut feature, mut jdk_source) = detect_release(dir, census, classes);
    if let Some(f) = o.jdk_feature {
        feature = f;
        jdk_source = "set by the user".into();
    }
    let mut scored: Vec<(LayoutModel, ClassSizes, usize)> =
        allowed(candidates(feature, dir.id_size()), o.compressed_oops)
            .into_iter()
            .map(|m| {
                let sizes = compute_sizes(&m, classes, dir);
                let v = votes(&m, &sizes, census, classes);
                (m, sizes, v)
            })
            .collect();
    let total = census.gap_samples.len();
    // Stable: on a tie the earlier (default) candidate wins.
    let best = (0..scored.len())
        .max_by_key(|&i| (scored[i].2, usize::MAX - i))
        .unwrap_or(0);
    // Stray gaps of tags that are not addresses can match a 64-bit layout by chance: with
    // 4-byte ids it wins over the 32-bit default only when it explains most samples, and at least 16.
    let best = if scored[best].0.word_size == 8
        && scored[0].0.word_size == 4
        && (scored[best].2 * 2 <= total || scored[best].2 < 16)
    {
        0
    } else {
        best
    };
    let (model, sizes, v) = scored.swap_remove(best);
    let compressed_oops_source = if o.compressed_oops.is_some() {
        "set by the user (--compressed-oops)".to_string()
    } else if total == 0 || v == 0 {
        if model.word_size == 4 {
            "4-byte identifiers and no address evidence: assumed a 32-bit JVM (the hprof agent \
             writes 4-byte identifiers on 64-bit JVMs too: --compressed-oops on|off says which)"
                .to_string()
        } else {
            "no packed objects to measure: assumed the JVM default".to_string()
        }
    } else {
        format!("object address gaps: {v} of {total} sampled neighbours match this layout exactly")
    };
    (
        VmFacts {
            jdk_version: version,
            jdk_feature: feature,
            jdk_source,
            layout: model,
            compressed_oops_source,
        },
        sizes,
    )
}

#[cfg(test)]
mod tests {
    use super::{allowed, candidates, feature_of};

    #[test]
    fn an_override_never_leaves_no_layout() {
        for id_size in [4, 8] {
            for c in [None, Some(true), Some(false)] {
                let kept = allowed(candidates(11, id_size), c);
                assert!(!kept.is_empty());
                if let Some(c) = c {
                    assert!(kept
                        .iter()
                        .all(|m| m.word_size == 8 && m.compressed_oops == c));
                }
            }
        }
        // 4-byte ids: the 32-bit layout is only the default, the 64-bit ones stay candidates.
        let four = candidates(8, 4);
        assert_eq!(four[0].word_size, 4);
        assert!(four.iter().any(|m| m.word_size == 8));
    }

    #[test]
    fn features() {
        assert_eq!(feature_of("1.8.0_392"), Some(8));
        assert_eq!(feature_of("17.0.15"), Some(17));
        assert_eq!(feature_of("25"), Some(25));
        assert_eq!(feature_of("21-ea"), Some(21));
        assert_eq!(feature_of("x"), None);
    }
}
