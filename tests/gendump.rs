//! The benchmarks' dump generator (`bench/gendump.rs`) writes dumps that read exactly like what it
//! says it wrote: on small sizes, every class's instances and shallow bytes equal its manifest, the
//! planted leak is suspect 1 with its holder, element class and count, and its container retains
//! exactly the bytes the generator put under it. The 40 GB benchmark relies on this (bench/README.md).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The generator (`[[example]]` in Cargo.toml), built by cargo now: `cargo test --all-targets`
/// has built it already (then this is a no-op), `cargo test --test tests` has not, and an old
/// build must not be used.
fn gendump() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "build",
        "--quiet",
        "--example",
        "gendump",
        "--manifest-path",
    ])
    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    assert!(
        cmd.status().unwrap().success(),
        "cargo build --example gendump failed"
    );
    profile_dir.join("examples").join("gendump")
}

fn oomsleuth_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oomsleuth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn generate(gen: &Path, dir: &Path, seed: u64, size: &str, extra: &[&str]) -> (PathBuf, Value) {
    let dump = dir.join(format!("gen-{seed}.hprof"));
    let status = Command::new(gen)
        .args(["--size", size, "--seed", &seed.to_string(), "-o"])
        .arg(&dump)
        .args(extra)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = std::fs::read(format!("{}.manifest.json", dump.display())).unwrap();
    (dump, serde_json::from_slice(&manifest).unwrap())
}

fn check(gen: &Path, dir: &Path, seed: u64, size: &str, extra: &[&str]) {
    let (dump, m) = generate(gen, dir, seed, size, extra);
    let d = dump.to_str().unwrap();
    let cache = dir.join(format!("cache-{seed}"));
    let cache = cache.to_str().unwrap();

    // The histogram is what was written, class by class (java.lang.Class mirrors are the JVM's
    // own: the manifest only counts how many).
    let h = oomsleuth_json(&["histogram", "--json", d]);
    assert_eq!(h["warnings"], serde_json::json!([]), "seed {seed}");
    let rows: std::collections::HashMap<&str, (u64, u64)> = h["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap();
            (
                r["name"].as_str().unwrap(),
                (n("instances"), n("shallow_bytes")),
            )
        })
        .collect();
    let written = m["classes"].as_array().unwrap();
    for c in written {
        let name = c["name"].as_str().unwrap();
        let want = (
            c["instances"].as_u64().unwrap(),
            c["shallow_bytes"].as_u64().unwrap(),
        );
        assert_eq!(rows.get(name), Some(&want), "seed {seed}: {name}");
    }
    assert_eq!(
        rows.len(),
        written.len() + 1,
        "seed {seed}: {:?}",
        rows.keys()
    );
    assert_eq!(
        rows["java.lang.Class"].0,
        m["class_objects"].as_u64().unwrap()
    );

    // The planted leak is suspect 1, named by its holder, its element class and their count.
    let leak = &m["planted_leak"];
    let r = oomsleuth_json(&["analyze", "--json", "--cache-dir", cache, d]);
    let s = &r["suspects"][0];
    assert_eq!(
        s["owner"]["class"], leak["holder_class"],
        "seed {seed}: {s}"
    );
    assert_eq!(s["owner"]["field"], leak["holder_field"], "seed {seed}");
    assert_eq!(s["owner"]["is_static"], true);
    assert_eq!(
        s["accumulated"]["class"], leak["element_class"],
        "seed {seed}"
    );
    assert_eq!(s["accumulated"]["count"], leak["count"], "seed {seed}");
    assert_eq!(s["map"]["keys"][0]["key"], "\"$UNKNOWN\"", "seed {seed}");
    assert_eq!(
        s["accumulation_point"]["container"]["id"], leak["container_id"],
        "seed {seed}"
    );
    // What the container retains is exactly what the generator put only under it.
    let container = leak["container_id"].as_str().unwrap();
    let i = oomsleuth_json(&["inspect", "--json", "--cache-dir", cache, d, container]);
    assert_eq!(i["class"], leak["container_class"]);
    assert_eq!(i["retained_bytes"], leak["retained_bytes"], "seed {seed}");
}

#[test]
fn generated_dumps_read_as_written() {
    let dir = tempdir();
    let gen = gendump();
    // Different seeds, sizes, leak shares and segment sizes (a segment boundary falls anywhere).
    check(&gen, &dir, 1, "24M", &[]);
    check(
        &gen,
        &dir,
        2,
        "40M",
        &["--leak-percent", "60", "--segment", "1M"],
    );
    check(
        &gen,
        &dir,
        3,
        "16M",
        &["--leak-percent", "20", "--segment", "300K"],
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn tempdir() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gendump");
    std::fs::create_dir_all(&base).unwrap();
    let d = base.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
