//! Retained sizes against the oracle: VisualVM's heap library run by `../shared/oracle/run.sh`
//! (outside the repository; `OOMSLEUTH_ORACLE=/path/to/run.sh` points elsewhere) on the JVM
//! fixtures. Skipped, with a message, only when that script is missing.
//!
//! The one systematic difference is class objects. We size each `java.lang.Class` mirror as
//! HotSpot lays it out (the `java.lang.Class` instance fields plus the class's static fields,
//! which live in the mirror since JDK 8). VisualVM reports one fixed shallow size for every class
//! object (its `java.lang.Class` row: 72 bytes on these JDKs, checked against every class object
//! it lists) but counts class objects as nothing in retained sizes: a class retains its statics
//! but not itself, an array of classes retains none of them. Measured on every fixture below:
//! the difference is exactly the sum of our mirror sizes, never the difference of the two mirror
//! sizes. So for every object the oracle lists:
//!
//!   ours - oracle == sum, over the objects our dominator tree puts under the object (itself
//!                    included), of our shallow size for class mirrors, and of (ours - the
//!                    oracle's instance size) for instances of those classes,
//!
//! and objects retaining no mirror must agree to the byte.
//!
//! A second difference: HotSpot gives a few JDK classes space the dump's field list does not
//! show: injected fields (e.g. `java.lang.Module.module_entry` on JDK 11) and `@Contended`
//! padding (`java.lang.Thread`'s ThreadLocalRandom fields up to JDK 18: 368 bytes, not 112).
//! We count it (so our histogram matches `jmap -histo`), VisualVM does not. Likewise, before
//! JDK 15, the gaps where HotSpot rounds a superclass's field block (e.g. JDK 11's
//! `java.lang.reflect.Constructor`: 80 bytes, VisualVM 72). Those instances are corrected by
//! our size minus the oracle's per-instance size for their class (from its class rows), and the
//! test asserts that only such classes (or their subclasses) differ at all.
//!
//! A third difference: edges VisualVM's graph does not have. HotSpot's dump writer leaves out
//! the instance fields of class mirrors, so what a class holds through them (e.g.
//! `Class.reflectionData` -> `SoftReference` -> `Class$ReflectionData`) has no referrer in the
//! dump; we restore the edge from the class to such an orphan (`HeapIndex::restored`, see
//! `src/heap/reachability.rs`), VisualVM does not. And we count referents of soft, weak, final
//! and phantom references as edges (`HeapIndex::referents`), VisualVM's retained sizes do not
//! (measured on JDK 11's Healthy: a `SoftReference` whose referent only it holds retains 40 B,
//! its own size, for VisualVM; 112 B for us). Every object our graph reaches only through such
//! edges (a walk from the GC roots that skips them) is counted, in the correction above, with
//! its whole shallow size. Besides the biggest objects, every instance of the reference classes
//! in `REFERENCE_CLASSES` the oracle lists is compared the same way.
//!
//! Not compared: dumps without compressed oops on JDK 15+. There VisualVM assumes a 16-byte
//! object header and 24-byte array header for 8-byte ids, while HotSpot keeps compressed class
//! pointers (12 and 16 bytes): e.g. its `HashMap$Node` is 48 bytes where the JVM's (and our)
//! histogram says 40. Our sizes match `jmap -histo` there (tests/jvm_histogram.rs).

use crate::support::jvm::{capture, repo_root, Jdk};
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::index::HeapIndex;
use oomsleuth::heap::layout;
use oomsleuth::heap::retained::Retention;
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use oomsleuth::heap::vm::Overrides;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Objects whose retained size differs from the oracle's by a few hundred bytes for a reason not
/// yet found (open, tracked in issue 4's notes): the application class loader, which retains the
/// application's classes and, since the LeakingMap fixture stopped holding its leak in a stack
/// local, the leak through `Config.INSTANCE`. The oracle retains 888 bytes more than we do after
/// the corrections above (on JDK 17 and 21, since referents became edges; 920 before; same GC
/// roots, 565 on both sides). Asserted within
/// 1 KiB and printed, so a change either way is seen.
const KNOWN_OPEN: &[&str] = &["jdk.internal.loader.ClassLoaders$AppClassLoader"];

/// Reference classes whose instances' retained sizes the oracle also lists, to compare what
/// their referents hold.
const REFERENCE_CLASSES: &[&str] = &[
    "java.lang.ref.SoftReference",
    "java.lang.ref.WeakReference",
    "java.util.WeakHashMap$Entry",
];

/// How many of the oracle's biggest objects are compared.
const TOP: usize = 15;

fn oracle_script() -> Option<PathBuf> {
    let p = std::env::var_os("OOMSLEUTH_ORACLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            repo_root()
                .join("..")
                .join("shared")
                .join("oracle")
                .join("run.sh")
        });
    p.is_file().then_some(p)
}

/// VisualVM's library writes `DUMP.hwcache` beside the dump: removed before and after each run,
/// so every run computes from scratch and the fixture directory is left as it was.
fn remove_hwcache(dump: &Path) {
    let mut p = dump.as_os_str().to_owned();
    p.push(".hwcache");
    let p = PathBuf::from(p);
    let _ = std::fs::remove_dir_all(&p);
    let _ = std::fs::remove_file(&p);
}

fn run_oracle(script: &Path, dump: &Path) -> Json {
    remove_hwcache(dump);
    let out = Command::new("bash")
        .arg(script)
        .arg(dump)
        .args(["--top", &TOP.to_string()])
        .args(REFERENCE_CLASSES.iter().flat_map(|c| ["--class", c]))
        .output()
        .expect("run the oracle");
    remove_hwcache(dump);
    assert!(
        out.status.success(),
        "{} {} failed: {}",
        script.display(),
        dump.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the oracle printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Objects a walk from the GC roots reaches, following only the edges `follow` accepts.
fn reached(index: &HeapIndex, follow: impl Fn(u32, u32) -> bool) -> Vec<bool> {
    let n = index.len();
    let mut seen = vec![false; n];
    let mut stack = vec![index.virtual_root()];
    while let Some(v) = stack.pop() {
        for &w in index.refs.successors(v) {
            if (w as usize) < n && !seen[w as usize] && follow(v, w) {
                seen[w as usize] = true;
                stack.push(w);
            }
        }
    }
    seen
}

fn check(fixture: &str, jdk: Jdk, compressed_oops: bool) {
    let Some(script) = oracle_script() else {
        eprintln!("skipped: no oracle (../shared/oracle/run.sh relative to the repository, or OOMSLEUTH_ORACLE)");
        return;
    };
    if jdk.home().is_none() {
        assert!(
            std::env::var_os("OOMSLEUTH_REQUIRE_JDKS").is_none(),
            "{jdk} is required but missing"
        );
        eprintln!("skipped: {jdk} not available");
        return;
    }
    let cap = capture(fixture, jdk, compressed_oops, false, &[]);
    let oracle = run_oracle(&script, &cap.hprof);
    let what = format!("{fixture} on {jdk} (oops {compressed_oops})");

    // The oracle's size of a class object, from its own numbers.
    let class_row = oracle["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "java.lang.Class")
        .unwrap_or_else(|| panic!("{what}: the oracle has no java.lang.Class row"));
    let (count, bytes) = (
        class_row["instances"].as_u64().unwrap(),
        class_row["shallow_bytes"].as_u64().unwrap(),
    );
    assert!(count > 0 && bytes % count == 0, "{what}: {class_row}");
    let oracle_mirror = (bytes / count) as i64;
    let biggest = oracle["biggest_by_retained"].as_array().unwrap();
    assert!(biggest.len() >= TOP.min(10), "{what}: {biggest:?}");

    // Ours, through the library: dominators and retained sizes, and for every object the sum of
    // (our mirror size - the oracle's) over the class mirrors it retains.
    let bytes = DumpBytes::open(&cap.hprof, None).unwrap();
    let snap = Snapshot::load(&bytes, Overrides::default(), &NoProgress).unwrap();
    let mut index = HeapIndex::build(&snap, &|_| {});
    let r = Retention::compute(&mut index, false);
    let n = index.len();
    // Per class, the oracle's instance size (its row's bytes / instances). Ours differ only for
    // classes where HotSpot injects fields the dump does not list (or their subclasses).
    let oracle_size: std::collections::HashMap<&str, i64> = oracle["classes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["instances"].as_i64().unwrap() > 0)
        .map(|c| {
            let (b, k) = (
                c["shallow_bytes"].as_i64().unwrap(),
                c["instances"].as_i64().unwrap(),
            );
            (
                c["name"].as_str().unwrap(),
                if b % k == 0 { b / k } else { -1 },
            )
        })
        .collect();
    let jdk_feature = snap.vm.layout.jdk_feature;
    let classes = &snap.classes;
    let mut per_class_delta: Vec<Option<i64>> = vec![None; classes.len()];
    for (c, d) in per_class_delta.iter_mut().enumerate() {
        let info = classes.get(c as u32);
        if info.array_of.is_some() {
            continue;
        }
        if let Some(&theirs) = oracle_size.get(info.name.as_str()) {
            let ours = snap.sizes.instance[c] as i64;
            if theirs >= 0 && ours != theirs {
                let hidden = classes
                    .ancestry(c as u32)
                    .any(|k| layout::has_hidden_space(jdk_feature, &classes.get(k).name));
                // Before JDK 15 each superclass's field block is rounded up to the oop size: a
                // gap of at most 8 bytes per class that a sum of field sizes does not see.
                let old_layout_gap = jdk_feature < 15 && ours > theirs && ours - theirs <= 8;
                assert!(hidden || old_layout_gap, "{what}: {} is {ours} B for us, {theirs} B for the oracle, and no hidden space (injected fields, @Contended)", info.name);
                *d = Some(ours - theirs);
            }
        }
    }
    // Objects the oracle's graph does not reach: it has neither the edges we restored (a class
    // mirror -> the orphan its members name, `HeapIndex::restored`) nor referent edges
    // (`HeapIndex::referents`), so it retains none of their bytes.
    let ours_reached = reached(&index, |_, _| true);
    let without_restored = reached(&index, |v, w| !index.is_restored(v, w));
    let oracle_reached = reached(&index, |v, w| {
        !index.is_restored(v, w) && index.referent_edge(v, w).is_none()
    });
    let hidden_from_oracle: Vec<bool> = (0..n)
        .map(|v| ours_reached[v] && !oracle_reached[v])
        .collect();
    let count = |pick: &dyn Fn(usize) -> bool| {
        (0..n).filter(|&v| pick(v)).fold((0u64, 0u64), |(k, b), v| {
            (k + 1, b + index.shallow(v as u32))
        })
    };
    let behind_restored = count(&|v| ours_reached[v] && !without_restored[v]);
    let behind_referents = count(&|v| without_restored[v] && !oracle_reached[v]);
    let mut mirror_delta = vec![0i64; n + 1];
    for (v, d) in mirror_delta.iter_mut().enumerate().take(n) {
        let v = v as u32;
        // Unseen by the oracle, or a class mirror (which it counts as nothing): all our bytes.
        if hidden_from_oracle[v as usize] || index.class_of_object(v).is_some() {
            *d = index.shallow(v) as i64;
        } else if let Some(x) = per_class_delta
            .get(index.class_of[v as usize] as usize)
            .copied()
            .flatten()
        {
            *d = x;
        }
    }
    for &v in r.tree.preorder.iter().rev() {
        if let Some(d) = r.idom(v) {
            mirror_delta[d as usize] += mirror_delta[v as usize];
        }
    }
    let delta = |v: u32| mirror_delta[v as usize];
    // Bytes each object retains that only referent edges reach (not behind a restored edge).
    let mut through_referents = vec![0u64; n + 1];
    for (v, b) in through_referents.iter_mut().enumerate().take(n) {
        if without_restored[v] && !oracle_reached[v] {
            *b = index.shallow(v as u32);
        }
    }
    for &v in r.tree.preorder.iter().rev() {
        if let Some(d) = r.idom(v) {
            through_referents[d as usize] += through_referents[v as usize];
        }
    }

    let mut explained = 0;
    for o in biggest {
        let id =
            u64::from_str_radix(o["id"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        let v = index
            .find(bytes.bytes(), id)
            .unwrap_or_else(|| panic!("{what}: the oracle's object {id:#x} is not in our index"));
        let theirs = o["retained"].as_i64().unwrap();
        let ours = r.retained[v as usize] as i64;
        assert!(r.is_reachable(v), "{what}: {o} unreachable for us");
        if index.class_of_object(v).is_none() {
            let own = per_class_delta
                .get(index.class_of[v as usize] as usize)
                .copied()
                .flatten()
                .unwrap_or(0);
            assert_eq!(
                index.shallow(v) as i64 - own,
                o["shallow"].as_i64().unwrap(),
                "{what}: shallow size of {o}"
            );
        } else {
            assert_eq!(o["shallow"].as_i64().unwrap(), oracle_mirror, "{what}: {o}");
        }
        let class = o["class"].as_str().unwrap();
        if KNOWN_OPEN.contains(&class) {
            // See KNOWN_OPEN: close, not equal; checked to stay close, and reported.
            let gap = (ours - delta(v) - theirs).abs();
            assert!(
                gap <= 1024,
                "{what}: {o}: ours {ours}, corrected {}",
                ours - delta(v)
            );
            eprintln!(
                "{what}: KNOWN OPEN difference for {class}: ours corrected {} vs oracle {theirs}",
                ours - delta(v)
            );
            continue;
        }
        assert_eq!(
            ours - delta(v),
            theirs,
            "{what}: {o}: ours {ours}, of which class mirrors differ by {}",
            delta(v)
        );
        if delta(v) != 0 {
            explained += 1;
        }
    }
    // Every reference the oracle lists (of REFERENCE_CLASSES) agrees too, after the same
    // correction: those are the objects whose referents make a difference, if any.
    let (mut references, mut holding_referents) = (0, 0);
    for o in REFERENCE_CLASSES
        .iter()
        .filter_map(|c| oracle["retained_of"][c].as_array())
        .flatten()
    {
        let id =
            u64::from_str_radix(o["id"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        let v = index
            .find(bytes.bytes(), id)
            .unwrap_or_else(|| panic!("{what}: the oracle's object {id:#x} is not in our index"));
        if !r.is_reachable(v) {
            continue;
        }
        let ours = r.retained[v as usize] as i64;
        assert_eq!(
            ours - delta(v),
            o["retained"].as_i64().unwrap(),
            "{what}: {o}: ours {ours}, of which the oracle does not see {} (referents: {})",
            delta(v),
            through_referents[v as usize]
        );
        references += 1;
        holding_referents += (through_referents[v as usize] > 0) as usize;
    }
    // The same ranking: the oracle's retained sizes are our biggest ones, once mirror sizes are
    // made the same (ties may list different objects, so sizes are compared, not ids).
    let open: Vec<u32> = biggest
        .iter()
        .filter(|o| KNOWN_OPEN.contains(&o["class"].as_str().unwrap()))
        .filter_map(|o| {
            let id = u64::from_str_radix(o["id"].as_str()?.trim_start_matches("0x"), 16).ok()?;
            index.find(bytes.bytes(), id)
        })
        .collect();
    let mut corrected: Vec<i64> = (0..n as u32)
        .filter(|&v| r.is_reachable(v) && !open.contains(&v))
        .map(|v| r.retained[v as usize] as i64 - delta(v))
        .collect();
    corrected.sort_unstable_by(|a, b| b.cmp(a));
    let theirs: Vec<i64> = biggest
        .iter()
        .filter(|o| !KNOWN_OPEN.contains(&o["class"].as_str().unwrap()))
        .map(|o| o["retained"].as_i64().unwrap())
        .collect();
    assert_eq!(&corrected[..theirs.len()], &theirs[..], "{what}: ranking");
    eprintln!(
        "{what}: {} objects and {references} references agree with the oracle ({explained} after \
         the corrections, {holding_referents} references holding referents; oracle class object \
         {oracle_mirror} B; unseen by the oracle: {} objects, {} B behind {} restored edges, {} \
         objects, {} B only behind referents)",
        biggest.len(),
        behind_restored.0,
        behind_restored.1,
        index.restored.len(),
        behind_referents.0,
        behind_referents.1,
    );
}

#[test]
fn leaking_map_jdk17_matches_the_oracle() {
    check("LeakingMap", Jdk::J17, true);
}

#[test]
fn leaking_map_jdk21_matches_the_oracle() {
    check("LeakingMap", Jdk::J21, true);
}

#[test]
fn healthy_jdk17_matches_the_oracle() {
    check("Healthy", Jdk::J17, true);
}

#[test]
fn healthy_jdk11_matches_the_oracle() {
    check("Healthy", Jdk::J11, true);
}

#[test]
fn linked_chain_jdk17_matches_the_oracle() {
    check("LinkedChain", Jdk::J17, true);
}
