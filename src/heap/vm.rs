//! What the dump tells about the JVM that wrote it: its release and the object layout settings
//! (compressed oops, compressed class pointers), each with how it was decided.

use super::census::{Census, ObjectShape};
use super::classes::ClassIndex;
use super::classes::ClassTable;
use super::jdk::release::{release_from_markers, VERSION_FIELDS};
use super::jdk::release::{LayoutConstant, UNSAFE_CLASSES, UNSAFE_LAYOUT_FIELDS};
use super::layout::{compute_sizes_probed, ClassSizes, LayoutModel, OffsetProbe};
use super::values::read_string;
use crate::formats::hprof::BasicType;
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
    for &(class, field) in VERSION_FIELDS {
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
    let has_class = |n: &str| classes.find(n).is_some();
    let has_field = |class: &str, field: &str| {
        classes.find(class).is_some_and(|c| {
            classes.get(c).dump.fields().any(|f| {
                dir.strings
                    .get(&f.name_id)
                    .is_some_and(|b| *b == field.as_bytes())
            })
        })
    };
    let (f, why) = match release_from_markers(&has_class, &has_field) {
        Some(m) => m,
        None if !classes.is_empty() => (8, "no marker of any release: assumed"),
        None => (17, "no classes in the dump: assumed"),
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

/// A static `int` or `long` field's value.
fn static_number(
    dir: &Directory<'_>,
    classes: &ClassTable<'_>,
    class: ClassIndex,
    name: &[u8],
) -> Option<i64> {
    let s = classes
        .get(class)
        .dump
        .statics()
        .find(|s| dir.strings.get(&s.name_id).is_some_and(|b| *b == name))?;
    match s.ty {
        BasicType::Int => Some(i32::from_be_bytes(s.value.try_into().ok()?) as i64),
        BasicType::Long => Some(i64::from_be_bytes(s.value.try_into().ok()?)),
        _ => None,
    }
}

/// What the JVM's `Unsafe` recorded about its own layout, each with the field it came from.
fn unsafe_constants(
    dir: &Directory<'_>,
    classes: &ClassTable<'_>,
) -> Vec<(String, LayoutConstant, i64)> {
    let mut found = vec![];
    for &class in UNSAFE_CLASSES {
        let Some(c) = classes.find(class) else {
            continue;
        };
        for &(field, what) in UNSAFE_LAYOUT_FIELDS {
            if let Some(value) = static_number(dir, classes, c, field.as_bytes()) {
                found.push((format!("{class}.{field} = {value}"), what, value));
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}

/// Whether a model agrees with one of `Unsafe`'s constants.
fn agrees(m: &LayoutModel, what: LayoutConstant, value: i64) -> bool {
    let v = match what {
        LayoutConstant::AddressSize => m.word_size,
        LayoutConstant::ReferenceScale => m.oop_size(),
        LayoutConstant::IntArrayBase => m.array_base(BasicType::Int),
    };
    i64::from(v) == value
}

/// The field offsets the JVM recorded in JDK classes: each `static long xOffset` whose class
/// declares an instance field `x` alone of its kind (so the field order the writer used does
/// not matter: HotSpot's dumper lists fields in reverse, the hprof agent in declaration order).
fn offset_probes(dir: &Directory<'_>, classes: &ClassTable<'_>) -> Vec<(OffsetProbe, String)> {
    let mut probes = vec![];
    for (i, c) in classes.classes.iter().enumerate() {
        if c.loader_id != 0 {
            continue;
        }
        for s in c.dump.statics() {
            let Some(name) = dir.strings.get(&s.name_id) else {
                continue;
            };
            let Some(field) = name.strip_suffix(b"Offset") else {
                continue;
            };
            if s.ty != BasicType::Long || field.is_empty() {
                continue;
            }
            let Some(f) = c
                .dump
                .fields()
                .find(|f| dir.strings.get(&f.name_id).is_some_and(|b| *b == field))
            else {
                continue;
            };
            let Some(value) = static_number(dir, classes, i as ClassIndex, name) else {
                continue;
            };
            if value <= 0 {
                continue;
            }
            probes.push((
                OffsetProbe::new(i as ClassIndex, f.ty, value as u64),
                format!("{}.{}", c.name, String::from_utf8_lossy(name)),
            ));
        }
    }
    probes
}

/// One candidate layout with its sizes and the evidence for it.
struct Scored {
    model: LayoutModel,
    sizes: ClassSizes,
    gaps: usize,
    /// Per probe: whether the model predicts the recorded offset (`None`: cannot tell).
    probed: Vec<Option<bool>>,
    offsets: usize,
    constants: usize,
}

/// Decides the JVM facts and returns them with the class sizes under the chosen layout.
///
/// The layout is decided from the evidence, strongest first: the constants of the JVM's own
/// `Unsafe` (JDK 7+: address size, reference scale, array base), then the field offsets it
/// recorded in JDK classes plus the address gaps between neighbouring objects. Identifier size
/// proves nothing (the hprof agent writes 4-byte ids on 64-bit JVMs), it only orders the
/// defaults when there is no evidence at all.
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
    let constants = unsafe_constants(dir, classes);
    let probes = offset_probes(dir, classes);
    let plain: Vec<OffsetProbe> = probes.iter().map(|p| p.0).collect();
    let mut scored: Vec<Scored> = allowed(candidates(feature, dir.id_size()), o.compressed_oops)
        .into_iter()
        .map(|m| {
            let (sizes, probed) = compute_sizes_probed(&m, classes, dir, &plain);
            let gaps = votes(&m, &sizes, census, classes);
            let constants = constants.iter().filter(|c| agrees(&m, c.1, c.2)).count();
            let offsets = probed.iter().filter(|p| **p == Some(true)).count();
            Scored {
                model: m,
                sizes,
                gaps,
                probed,
                offsets,
                constants,
            }
        })
        .collect();
    let total = census.gap_samples.len();
    // Stable: on a tie the earlier (default) candidate wins.
    let best = (0..scored.len())
        .max_by_key(|&i| {
            let s = &scored[i];
            (s.constants, s.offsets + s.gaps, usize::MAX - i)
        })
        .unwrap_or(0);
    // Stray gaps of tags that are not addresses can match a 64-bit layout by chance: with
    // 4-byte ids and only gaps to go by, it wins over the 32-bit default only when it explains
    // most samples, and at least 16.
    let b = &scored[best];
    let best = if b.model.word_size == 8
        && scored[0].model.word_size == 4
        && b.constants == 0
        && b.offsets <= scored[0].offsets
        && (b.gaps * 2 <= total || b.gaps < 16)
    {
        0
    } else {
        best
    };
    let chosen = scored.swap_remove(best);
    let compressed_oops_source = if o.compressed_oops.is_some() {
        "set by the user (--compressed-oops)".to_string()
    } else {
        layout_evidence(&chosen, &constants, &probes, total)
    };
    (
        VmFacts {
            jdk_version: version,
            jdk_feature: feature,
            jdk_source,
            layout: chosen.model,
            compressed_oops_source,
        },
        chosen.sizes,
    )
}

/// Says what decided the layout, in the words a user can check.
fn layout_evidence(
    chosen: &Scored,
    constants: &[(String, LayoutConstant, i64)],
    probes: &[(OffsetProbe, String)],
    gap_samples: usize,
) -> String {
    let mut parts = vec![];
    if chosen.constants > 0 {
        let agreed: Vec<&str> = constants
            .iter()
            .filter(|c| agrees(&chosen.model, c.1, c.2))
            .map(|c| c.0.as_str())
            .collect();
        parts.push(format!("the JVM's own constants ({})", agreed.join(", ")));
    }
    if chosen.offsets > 0 {
        let told = chosen.probed.iter().filter(|p| p.is_some()).count();
        let names: Vec<&str> = probes
            .iter()
            .zip(&chosen.probed)
            .filter(|(_, m)| **m == Some(true))
            .take(3)
            .map(|(p, _)| p.1.as_str())
            .collect();
        parts.push(format!(
            "field offsets the JVM recorded: {} of {told} match ({}{})",
            chosen.offsets,
            names.join(", "),
            if chosen.offsets > 3 { ", ..." } else { "" }
        ));
    }
    if chosen.gaps > 0 {
        parts.push(format!(
            "object address gaps: {} of {gap_samples} sampled neighbours match this layout exactly",
            chosen.gaps
        ));
    }
    if !parts.is_empty() {
        return parts.join("; ");
    }
    if chosen.model.word_size == 4 {
        "4-byte identifiers and no layout evidence: assumed a 32-bit JVM (the hprof agent \
         writes 4-byte identifiers on 64-bit JVMs too: --compressed-oops on|off says which)"
            .to_string()
    } else {
        "no packed objects or recorded offsets to measure: assumed the JVM default".to_string()
    }
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
