//! Every command's output, text and JSON, pinned by a snapshot: the heap commands on the demo dump
//! (demo/leaking-map.hprof.gz, shipped in the repo) and the process-evidence commands on the JVM
//! outputs of `../shared/samples/` (skipped, with a note, when that directory is absent). A change of
//! any output shows up here as a snapshot diff; accept it (`cargo insta review`) only when meant.
//! `scan` and `jvms` read live processes and core files, whose contents differ on each run: their
//! tests (tests/native.rs, tests/jvms.rs) check them against the JVM instead.

use std::path::{Path, PathBuf};
use std::process::Command;

const DEMO: &str = "demo/leaking-map.hprof.gz";
/// The ConnectionRegistry's `byIp` entry set of the demo dump (the planted leak's HashSet).
const DEMO_SET: &str = "0xf03cd580";
/// The demo dump's ConnectionRegistry.
const DEMO_REGISTRY: &str = "0xf03ccb18";

/// Runs oomsleuth from the repository root without colour, with `samples` (when given) shown as
/// `SAMPLES` so the snapshots do not depend on where `../shared` is.
fn run(args: &[&str], samples: Option<&Path>) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run oomsleuth");
    let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if let Some(dir) = samples {
        stdout = stdout.replace(&dir.display().to_string(), "SAMPLES");
    }
    (out.status.code().unwrap_or(-1), stdout)
}

/// Snapshots `args`' text output and, with `--json` added, its JSON (checked to parse).
fn pin(name: &str, args: &[&str], samples: Option<&Path>) {
    let (code, text) = run(args, samples);
    assert!(code == 0 || code == 1, "{name}: exit {code}\n{text}");
    insta::assert_snapshot!(format!("{name}_text"), text);
    let mut with_json: Vec<&str> = args.to_vec();
    with_json.insert(1, "--json");
    let (code, json) = run(&with_json, samples);
    assert!(code == 0 || code == 1, "{name} --json: exit {code}\n{json}");
    let value: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name} --json: {e}\n{json}"));
    insta::assert_json_snapshot!(format!("{name}_json"), value);
}

#[test]
fn heap_commands_on_the_demo_dump() {
    let nc = "--no-cache";
    pin("histogram", &["histogram", DEMO], None);
    pin("top", &["top", nc, DEMO], None);
    pin("dominators", &["dominators", nc, DEMO], None);
    pin("path", &["path", nc, DEMO, DEMO_SET], None);
    pin(
        "inspect",
        &["inspect", nc, "--referrers", DEMO, DEMO_SET],
        None,
    );
    pin(
        "retained",
        &[
            "retained",
            nc,
            DEMO,
            DEMO_REGISTRY,
            "-x",
            "java.util.HashMap$Node:next",
        ],
        None,
    );
    pin("classloaders", &["classloaders", nc, DEMO], None);
}

/// `../shared/samples/`, or `None` with a note.
fn samples() -> Option<PathBuf> {
    let dir = crate::support::shared_dir("samples");
    if dir.is_none() {
        eprintln!("skipped: ../shared/samples is absent (the JVM outputs these snapshots read)");
    }
    dir
}

#[test]
fn process_commands_on_the_shared_samples() {
    let Some(dir) = samples() else { return };
    let s = |f: &str| dir.join(f).display().to_string();
    let d = Some(dir.as_path());
    pin("nmt_summary", &["nmt", &s("jdk17-nmt-summary.txt")], d);
    pin(
        "nmt_summary_diff",
        &["nmt", &s("jdk25-nmt-summary-diff.txt")],
        d,
    );
    pin(
        "nmt_detail",
        &["nmt", &s("jdk17-nmt-detail.trimmed.txt")],
        d,
    );
    pin("pmap", &["pmap", &s("jdk17-pmap-x.trimmed.txt")], d);
    pin(
        "smaps_rollup",
        &["pmap", &s("jdk17-proc-smaps_rollup.txt")],
        d,
    );
    pin(
        "classlog",
        &["classlog", &s("jdk25-class-load-unload-log.txt")],
        d,
    );
    pin("gclog", &["gclog", &s("jdk17-gc-G1-metaspace.log.txt")], d);
    pin("jstat", &["jstat", &s("jdk17-jstat.txt")], d);
    pin(
        "analyze_logs",
        &[
            "analyze",
            &s("jdk17-gc-G1-metaspace.log.txt"),
            &s("jdk17-nmt-summary.txt"),
            &s("jdk17-vm-classloader-stats.trimmed.txt"),
        ],
        d,
    );
}
