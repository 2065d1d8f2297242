//! `oomsleuth histogram` against the JVM's own class histogram (`jmap -histo:live`), on real dumps of
//! the fixture programs, for JDK 11, 17, 21 and 25 with compressed oops on and off.
//!
//! Only classes whose row held still between the histogram taken before the dump and the one taken
//! after it are compared (a `jmap` attach allocates a little of its own).
//!
//! Known, explained differences:
//! - `java.lang.Class` with CDS (the default archive is mapped on JDK 12+ when compressed oops are on):
//!   the JVM counts the mirrors of archived classes that were never loaded ("dormant" mirrors in the
//!   archive's heap region), the dump does not list them. So for `java.lang.Class` we assert
//!   ours <= JVM, and equality when the JDK has no archived heap objects in use.
//! - Hidden classes are printed `Foo$$Lambda$12/0x...` by the JVM and named `Foo$$Lambda$12+0x...` in the
//!   dump (JDK 11 dumps name its anonymous classes without the suffix): names are compared without it,
//!   rows that share a name being summed.

use std::collections::HashMap;

use oomsleuth::analyses::heap::histogram::{histogram, Options};
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use oomsleuth::heap::vm::Overrides;

use crate::support::jvm::{capture, have, Capture, HistoRow, Jdk};

/// Hidden and VM-anonymous classes lose their address suffix (`/0x...` as the JVM prints it, `+0x...`
/// in the dump, none at all for JDK 11's anonymous lambda classes in its dumps).
fn normalise(name: &str) -> String {
    match name.rfind(['/', '+']) {
        Some(i) if name[i + 1..].starts_with("0x") => name[..i].to_string(),
        _ => name.to_string(),
    }
}

/// Our histogram of `path`, by normalised class name, summed over loaders.
fn ours(path: &std::path::Path) -> (HashMap<String, (u64, u64)>, serde_json::Value) {
    let bytes = DumpBytes::open(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let snap = Snapshot::load(&bytes, Overrides::default(), &NoProgress)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let h = histogram(&snap, &Options::default());
    let mut map: HashMap<String, (u64, u64)> = HashMap::new();
    for row in &h.classes {
        let e = map.entry(normalise(&row.name)).or_default();
        e.0 += row.instances;
        e.1 += row.shallow_bytes;
    }
    let json = serde_json::to_value(&h).unwrap();
    (map, json)
}

struct Comparison {
    compared: usize,
    count_mismatches: Vec<String>,
    byte_mismatches: Vec<String>,
}

fn compare(cap: &Capture, path: &std::path::Path) -> Comparison {
    let (ours, json) = ours(path);
    // The dump's own facts must agree with the JVM it came from.
    let oops = json["assumptions"]["compressed_oops"].as_bool();
    assert_eq!(
        oops,
        Some(cap.compressed_oops),
        "{}: assumptions {}",
        path.display(),
        json["assumptions"]
    );
    // The JVM's stable rows, grouped by normalised name; a group with any unstable member is skipped.
    let mut all: HashMap<String, usize> = HashMap::new();
    for row in &cap.histo_before.rows {
        *all.entry(normalise(&row.name)).or_default() += 1;
    }
    let mut jvm: HashMap<String, (usize, HistoRow)> = HashMap::new();
    for row in cap.stable_rows() {
        let name = normalise(&row.name);
        let rows_of_name = cap
            .histo_before
            .rows
            .iter()
            .filter(|r| r.name == row.name)
            .count();
        let e = jvm.entry(name.clone()).or_insert((
            0,
            HistoRow {
                name,
                instances: 0,
                bytes: 0,
            },
        ));
        e.0 += rows_of_name;
        e.1.instances += row.instances;
        e.1.bytes += row.bytes;
    }
    let mut stable: Vec<HistoRow> = jvm
        .into_values()
        .filter(|(n, r)| all.get(&r.name) == Some(n))
        .map(|(_, r)| r)
        .collect();
    stable.sort_by(|a, b| a.name.cmp(&b.name));
    let mut c = Comparison {
        compared: 0,
        count_mismatches: vec![],
        byte_mismatches: vec![],
    };
    for row in &stable {
        let name = row.name.clone();
        let (n, b) = ours.get(&name).copied().unwrap_or((0, 0));
        c.compared += 1;
        if name == "java.lang.Class" {
            // See the module comment: dormant CDS mirrors are counted by the JVM only.
            assert!(
                n <= row.instances,
                "java.lang.Class: ours {n} > JVM {}",
                row.instances
            );
            if n < row.instances {
                continue;
            }
        }
        if n != row.instances {
            c.count_mismatches
                .push(format!("{name}: instances ours {n}, JVM {}", row.instances));
        } else if b != row.bytes {
            c.byte_mismatches.push(format!(
                "{name}: bytes ours {b}, JVM {} ({n} instances)",
                row.bytes
            ));
        }
    }
    c
}

fn check(cap: &Capture, path: &std::path::Path) {
    let c = compare(cap, path);
    let label = format!("{} ({} classes compared)", path.display(), c.compared);
    assert!(c.compared > 150, "{label}: too few stable classes");
    assert!(
        c.count_mismatches.is_empty(),
        "{label}: instance counts differ:\n{}",
        c.count_mismatches.join("\n")
    );
    let allowed = c.compared / 200; // 99.5%
    assert!(
        c.byte_mismatches.len() <= allowed,
        "{label}: {} classes differ in bytes (at most {allowed} allowed):\n{}",
        c.byte_mismatches.len(),
        c.byte_mismatches.join("\n")
    );
    if !c.byte_mismatches.is_empty() {
        eprintln!(
            "{label}: bytes differ for:\n{}",
            c.byte_mismatches.join("\n")
        );
    }
}

fn layouts_on(jdk: Jdk) {
    if !have(jdk) {
        return;
    }
    for oops in [true, false] {
        let cap = capture("Layouts", jdk, oops, false, &[]);
        check(&cap, &cap.hprof);
    }
}

#[test]
fn layouts_match_jmap_histo_on_jdk11() {
    layouts_on(Jdk::J11);
}

#[test]
fn layouts_match_jmap_histo_on_jdk17() {
    layouts_on(Jdk::J17);
}

#[test]
fn layouts_match_jmap_histo_on_jdk21() {
    layouts_on(Jdk::J21);
}

#[test]
fn layouts_match_jmap_histo_on_jdk25() {
    layouts_on(Jdk::J25);
}

/// `jcmd GC.heap_dump -gz=1` writes independent gzip members; the histogram of the .gz equals the
/// JVM's, like the plain dump's.
#[test]
fn gzipped_dump_from_jcmd_matches_jmap_histo() {
    if !have(Jdk::J17) {
        return;
    }
    let cap = capture("Layouts", Jdk::J17, true, true, &[]);
    let gz = cap.hprof_gz.clone().expect("JDK 17 writes -gz dumps");
    check(&cap, &gz);
}

/// A linked list a million objects long (the dominator tree's worst case later) counts exactly.
#[test]
fn million_object_chain_matches_jmap_histo() {
    if !have(Jdk::J17) {
        return;
    }
    let cap = capture("LinkedChain", Jdk::J17, true, false, &[]);
    assert_eq!(cap.histo_before.instances("Node"), 1_000_000);
    check(&cap, &cap.hprof);
}

#[test]
fn leaking_map_and_healthy_match_jmap_histo() {
    if !have(Jdk::J17) {
        return;
    }
    for fixture in ["LeakingMap", "Healthy"] {
        for oops in [true, false] {
            let cap = capture(fixture, Jdk::J17, oops, false, &[]);
            check(&cap, &cap.hprof);
        }
    }
}

/// Healthy runs thread pools, a ForkJoinPool and concurrent collections: JDK classes with `@Contended`
/// padding and injected fields, on every JDK.
#[test]
fn healthy_matches_jmap_histo_on_every_jdk() {
    for jdk in [Jdk::J11, Jdk::J21, Jdk::J25] {
        if have(jdk) {
            let cap = capture("Healthy", jdk, true, false, &[]);
            check(&cap, &cap.hprof);
        }
    }
}
