//! The command line on the shipped demo dump (README command 1): options, table and JSON, the
//! JVM's own histogram as the oracle.

use crate::support::jvm::Histogram;
use crate::synthetic::oomsleuth;
use std::path::PathBuf;

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/leaking-map.hprof.gz")
}

fn demo_file(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("demo")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn demo_dump_plants_what_the_fixture_says() {
    let run = oomsleuth(["histogram".as_ref(), "--json".as_ref(), demo().as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["schema"], "oomsleuth.histogram/1");
    assert_eq!(json["dump"]["identifier_size"], 8);
    assert_eq!(json["assumptions"]["compressed_oops"], true);
    let planted: serde_json::Value =
        serde_json::from_str(&demo_file("leaking-map.planted.json")).unwrap();
    let jmap = Histogram::parse(&demo_file("leaking-map.jmap-histo.txt")).unwrap();
    let classes = json["classes"].as_array().unwrap();
    let row = |name: &str| {
        classes
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    for (class, count) in planted["planted"].as_object().unwrap() {
        assert_eq!(row(class)["instances"], *count, "{class}");
        let jvm = jmap.by_name()[class.as_str()].clone();
        assert_eq!(
            row(class)["instances"].as_u64(),
            Some(jvm.instances),
            "{class}"
        );
        assert_eq!(
            row(class)["shallow_bytes"].as_u64(),
            Some(jvm.bytes),
            "{class}"
        );
    }
    // Totals add up over every row.
    let sum: u64 = classes
        .iter()
        .map(|c| c["shallow_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(json["total"]["shallow_bytes"].as_u64(), Some(sum));
    assert_eq!(
        json["total"]["instances"].as_u64(),
        Some(
            classes
                .iter()
                .map(|c| c["instances"].as_u64().unwrap())
                .sum()
        )
    );
}

#[test]
fn sort_top_and_filter() {
    let d = demo();
    let run = oomsleuth([
        "histogram".as_ref(),
        "--json".as_ref(),
        "--sort".as_ref(),
        "count".as_ref(),
        "--top".as_ref(),
        "5".as_ref(),
        d.as_os_str(),
    ]);
    let json = run.json();
    let rows = json["classes"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| r["instances"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    let run = oomsleuth([
        "histogram".as_ref(),
        "--json".as_ref(),
        "--filter".as_ref(),
        "^com\\.example\\.".as_ref(),
        "--sort".as_ref(),
        "name".as_ref(),
        d.as_os_str(),
    ]);
    let json = run.json();
    let names: Vec<&str> = json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"com.example.ChannelContext"), "{names:?}");
    assert!(
        names.iter().all(|n| n.starts_with("com.example.")),
        "{names:?}"
    );
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    // `shown` covers the filtered rows, `total` the whole heap.
    assert!(json["shown"]["shallow_bytes"].as_u64() < json["total"]["shallow_bytes"].as_u64());

    let run = oomsleuth([
        "histogram".as_ref(),
        "--filter".as_ref(),
        "(".as_ref(),
        d.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "a bad regex is a usage error: {}", run.stderr);
}

#[test]
fn table_is_aligned_and_names_are_in_source_form() {
    let run = oomsleuth([
        "histogram".as_ref(),
        "--top".as_ref(),
        "12".as_ref(),
        demo().as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("byte[]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("java.util.HashMap$Node[]"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("[B"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'), "NO_COLOR: no escape codes");
    // Every row of the table ends its class column at the same place: the numbers are right-aligned.
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(rows.len() >= 12, "{}", run.stdout);
    let col = |l: &str| l.find('%').unwrap();
    assert!(
        rows.iter().all(|l| col(l) == col(rows[0])),
        "{}",
        run.stdout
    );
}
