//! Eclipse MAT's `TestInstanceSizes` on its JDK 5/6 test dumps (`../shared/peer-dumps`): every
//! plain class's instance size, and every array class's total size when the instance count
//! matches, must equal what `jmap -histo` of the same JVM printed (the oracle is the JVM, in
//! `expected/eclipse-mat/`). Covers 32-bit JVMs, 64-bit with and without compressed oops, and
//! the JVMTI hprof agent's 4-byte-id dumps of 64-bit JVMs (which MAT only reports as INFO).

use oomsleuth::formats::hprof::{BasicType, DumpBytes};
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use std::collections::HashMap;
use std::path::PathBuf;

/// Eclipse MAT's test dumps, `../shared/peer-dumps`, if they are there.
fn peer_dumps() -> Option<PathBuf> {
    crate::support::shared_dir("peer-dumps")
}

/// `jmap -histo`'s class name in Java source form: `[Ljava.lang.String;` -> `java.lang.String[]`,
/// `[[I` -> `int[][]` (as MAT's test converts them).
fn java_name(jmap: &str) -> String {
    let dims = jmap.bytes().take_while(|&b| b == b'[').count();
    if dims == 0 {
        return jmap.to_string();
    }
    let elem = &jmap[dims..];
    let base = match elem {
        "Z" => "boolean".to_string(),
        "B" => "byte".into(),
        "C" => "char".into(),
        "S" => "short".into(),
        "I" => "int".into(),
        "J" => "long".into(),
        "F" => "float".into(),
        "D" => "double".into(),
        _ => elem
            .strip_prefix('L')
            .and_then(|e| e.strip_suffix(';'))
            .unwrap_or(elem)
            .to_string(),
    };
    base + &"[]".repeat(dims)
}

/// The classes whose size differs from the histogram's, each with (jmap, ours), compared as
/// MAT does: `<...>` pseudo-classes and `java.lang.Class` skipped, classes absent from the dump
/// skipped, the first class of a name taken.
/// `reference_arrays`: whether to compare arrays of references too (not on hprof-agent dumps,
/// whose object arrays end at their last non-null element: their length is not in the dump).
fn mismatches(dump: &str, histogram: &str, reference_arrays: bool) -> Vec<(String, u64, u64)> {
    let dir = peer_dumps().unwrap();
    let bytes = DumpBytes::open(&dir.join(dump), None).unwrap();
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
    let h = oomsleuth::analyses::heap::histogram::histogram(&snap, &Default::default());
    let mut rows: HashMap<&str, (u64, u64)> = HashMap::new();
    for r in &h.classes {
        rows.entry(r.name.as_str())
            .or_insert((r.instances, r.shallow_bytes));
    }
    let text = std::fs::read_to_string(dir.join("expected/eclipse-mat").join(histogram)).unwrap();
    let mut wrong = vec![];
    for line in text.lines() {
        let mut t = line.split_whitespace().filter(|t| !t.ends_with(':'));
        let (Some(count), Some(bytes), Some(name)) = (t.next(), t.next(), t.next()) else {
            continue;
        };
        let (count, bytes): (u64, u64) = (count.parse().unwrap(), bytes.parse().unwrap());
        let name = java_name(name);
        if name.starts_with('<') || name == "java.lang.Class" {
            continue;
        }
        let Some(class) = snap.classes.find(&name) else {
            continue;
        };
        let info = snap.classes.get(class);
        if info.is_array() {
            if !reference_arrays && info.array_of == Some(BasicType::Object) {
                continue;
            }
            let (instances, total) = rows.get(name.as_str()).copied().unwrap_or((0, 0));
            if instances == count && total != bytes {
                wrong.push((name, bytes, total));
            }
        } else {
            let ours = u64::from(snap.sizes.instance[class as usize]);
            if ours != bytes / count {
                wrong.push((name, bytes / count, ours));
            }
        }
    }
    wrong
}

#[test]
fn mat_instance_sizes_equal_jmap_histograms() {
    let Some(dir) = peer_dumps() else {
        eprintln!("skipped: ../shared/peer-dumps is absent (Eclipse MAT's test dumps)");
        return;
    };
    // (dump, jmap histogram, mismatches tolerated). On sun_jdk5_13_x32 the histogram's byte[]
    // total is 8 bytes below the dump's: every byte[] there is exactly as long as the address
    // of the object after it says, so a buffer changed between jmap and the dump (MAT
    // tolerates the same one mismatch); nothing else may differ.
    let cases = [
        (
            "sun_jdk5_13_x32.hprof",
            "histogram_sun_jdk5_13_x32.txt",
            &["byte[]"][..],
        ),
        (
            "sun_jdk6_18_x32.hprof",
            "histogram_sun_jdk6_18_x32.txt",
            &[],
        ),
        (
            "sun_jdk6_18_x64.hprof",
            "histogram_sun_jdk6_18_x64.txt",
            &[],
        ),
        (
            "sun_jdk6_30_x64_compressedOops.hprof",
            "sun_jdk6_30_x64_compressedOops.notes.txt",
            &[],
        ),
        (
            "sun_jdk6_30_x64_nocompressedOops.hprof",
            "sun_jdk6_30_x64_nocompressedOops.notes.txt",
            &[],
        ),
        // 4-byte ids written by the hprof agent on a 64-bit JVM: not a 32-bit layout.
        (
            "sun_jdk6_31_hprofagent_compressedOops.hprof",
            "sun_jdk6_31_hprofagent_compressedOops.txt",
            &[],
        ),
        (
            "sun_jdk6_31_hprofagent_nocompressedOops.hprof",
            "sun_jdk6_31_hprofagent_nocompressedOops.txt",
            &[],
        ),
    ];
    let mut failures = vec![];
    for (dump, histogram, tolerated) in cases {
        if !dir.join(dump).is_file() {
            eprintln!("skipped: {dump} is absent");
            continue;
        }
        // The hprof agent writes one dump per request (the last is analysed) and drops each
        // object array's trailing nulls; its plain classes and primitive arrays are compared.
        let agent = dump.contains("hprofagent");
        let wrong: Vec<_> = mismatches(dump, histogram, !agent)
            .into_iter()
            .filter(|w| !tolerated.contains(&w.0.as_str()))
            .collect();
        if !wrong.is_empty() {
            failures.push(format!("{dump}: (class, jmap, ours) {wrong:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each dump names its layout as the evidence says, the same way in every report: 32-bit
/// JVMs are not "compressed oops on", the hprof agent's 4-byte ids on a 64-bit JVM are 64-bit,
/// and the JDK 5/6 dumps without a version string get their release from class markers.
#[test]
fn old_dumps_layout_and_release_decided_from_evidence() {
    let Some(dir) = peer_dumps() else {
        eprintln!("skipped: ../shared/peer-dumps is absent (Eclipse MAT's test dumps)");
        return;
    };
    // (dump, address bytes, reference bytes, feature release); the README says which JVM.
    let cases = [
        ("sun_jdk5_13_x32.hprof", 4, 4, 5),
        ("sun_jdk6_18_x32.hprof", 4, 4, 6),
        ("sun_jdk6_32bit.hprof", 4, 4, 6),
        ("sun_jdk6_18_x64.hprof", 8, 8, 6),
        ("sun_jdk6_30_x64_compressedOops.hprof", 8, 4, 6),
        ("sun_jdk6_30_x64_nocompressedOops.hprof", 8, 8, 6),
        ("sun_jdk6_31_hprofagent_compressedOops.hprof", 8, 4, 6),
        ("sun_jdk6_31_hprofagent_nocompressedOops.hprof", 8, 8, 6),
        ("oracle_jdk7_21_hprofagent.hprof", 8, 4, 7),
        ("oracle_jdk7_21_x64.hprof", 8, 4, 7),
        ("oracle_jdk8_05_x64.hprof", 8, 4, 8),
    ];
    for (dump, address, reference, feature) in cases {
        let path = dir.join(dump);
        if !path.is_file() {
            eprintln!("skipped: {dump} is absent");
            continue;
        }
        let bytes = DumpBytes::open(&path, None).unwrap();
        let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
        let a = oomsleuth::analyses::heap::dump_info::Assumptions::of(&snap);
        let what = format!("{dump}: {a:?}");
        assert_eq!(a.address_bytes, address, "{what}");
        assert_eq!(a.reference_bytes, reference, "{what}");
        assert_eq!(a.jdk_feature, feature, "{what}");
        if address == 4 {
            assert!(!a.compressed_oops, "{what}");
            assert_eq!(a.layout_label(), "32-bit", "{what}");
        }
        // The histogram's and analyze's headers print the same release and layout.
        let p = path.to_str().unwrap();
        let histogram = crate::synthetic::oomsleuth(["histogram", "-q", "-n", "1", p]);
        let analyze = crate::synthetic::oomsleuth(["analyze", "-q", "--no-cache", p]);
        let said = format!("JDK {}, ", a.jdk_label());
        for (command, run) in [("histogram", &histogram), ("analyze", &analyze)] {
            assert!(
                run.stdout.contains(&said),
                "{command} {dump}: {}",
                run.stdout
            );
            assert!(
                run.stdout.contains(a.layout_label()),
                "{command} {dump}: {}",
                run.stdout
            );
        }
    }
}
