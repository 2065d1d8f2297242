//! `oomsleuth jvms` against real JVMs (JDK 11, 17, 21, 25), checked against what the JVM's own tools
//! say right after: `jcmd PID PerfCounter.print` (the same counters), `jcmd PID VM.version` and
//! `jstat -gc PID`.

use crate::support::jvm::{have, repo_root, Jdk};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const MAIN: &str = "com.example.IdleAllocator";

/// A JVM this test started; killed when dropped (a failing assertion must not leave it running).
struct Jvm(Child);

impl Drop for Jvm {
    fn drop(&mut self) {
        drop(self.0.stdin.take()); // the fixture ends at the end of its input
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Compiles the fixture once (`--release 11`, so every JDK here runs it).
fn classes() -> PathBuf {
    let out = repo_root().join("target").join("jvms-fixture");
    let src = repo_root().join("fixtures/src/IdleAllocator.java");
    let status = Command::new("javac")
        .args(["--release", "11", "-d"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("javac on PATH");
    assert!(status.success(), "javac {}", src.display());
    out
}

fn start(home: &Path, classes: &Path) -> Jvm {
    let mut java = Command::new(home.join("bin/java"));
    java.args(["-Xmx128m", "-XX:+UsePerfData", "-cp"])
        .arg(classes)
        .arg(MAIN);
    spawn_ready(java).expect("start java")
}

/// Spawns `cmd` and waits for its READY line; `None` when it ends without one.
fn spawn_ready(mut cmd: Command) -> Option<Jvm> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    let jvm = Jvm(child);
    (line.trim() == "READY").then_some(jvm)
}

fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `jcmd PID PerfCounter.print`: `name=value` lines, strings in double quotes.
fn perf_counters(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// `jstat -gc PID`: column name to value (KiB for sizes).
fn jstat_columns(text: &str) -> HashMap<String, f64> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let values: Vec<f64> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(f64::NAN))
        .collect();
    head.iter().map(|h| h.to_string()).zip(values).collect()
}

fn long(c: &HashMap<String, String>, name: &str) -> u64 {
    c.get(name)
        .unwrap_or_else(|| panic!("{name} not in PerfCounter.print"))
        .parse()
        .unwrap()
}

fn check(jdk: Jdk, home: &Path, classes: &Path) {
    let jvm = start(home, classes);
    let pid = jvm.0.id();
    let jcmd = home.join("bin/jcmd");
    let pid_s = pid.to_string();
    // The first attach starts the target's Attach Listener (which loads classes): before we read.
    let version = run(&jcmd, &[&pid_s, "VM.version"]);

    let before = Instant::now();
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let json = run(
        Path::new(env!("CARGO_BIN_EXE_oomsleuth")),
        &["jvms", "--json"],
    );
    let report: Value = serde_json::from_str(&json).unwrap();
    let counters = perf_counters(&run(&jcmd, &[&pid_s, "PerfCounter.print"]));
    let elapsed = before.elapsed().as_secs_f64();
    let jstat = jstat_columns(&run(&home.join("bin/jstat"), &["-gc", &pid_s]));

    assert_eq!(report["schema"], "oomsleuth.jvms/1");
    let j = report["jvms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["host_pid"] == pid)
        .unwrap_or_else(|| panic!("{jdk}: pid {pid} not listed: {json}"));
    assert_eq!(j["state"], "ok");
    assert_eq!(j["main"], MAIN, "{jdk}");
    assert_eq!(
        j["command"].as_str(),
        counters.get("sun.rt.javaCommand").map(|s| s.as_str())
    );
    assert!(
        j["container_pid"].is_null(),
        "{jdk}: a host JVM has no container pid"
    );

    // The release, as the JVM itself prints it: "JDK 17.0.15" and the VM's full version.
    let java_version = j["java_version"].as_str().unwrap();
    assert!(
        version.contains(&format!("JDK {java_version}")),
        "{jdk}: {java_version} vs {version}"
    );
    assert!(
        java_version.starts_with(&jdk.major().to_string()),
        "{jdk}: {java_version}"
    );
    let vm_version = j["vm_version"].as_str().unwrap();
    assert!(
        version.contains(vm_version),
        "{jdk}: {vm_version} vs {version}"
    );
    assert_eq!(
        Some(java_version),
        counters
            .get("java.property.java.version")
            .map(|s| s.as_str())
    );

    // Static and idle counters: equal to PerfCounter.print's.
    let meta = &j["metaspace"];
    assert_eq!(
        meta["max_bytes"],
        long(&counters, "sun.gc.metaspace.maxCapacity"),
        "{jdk}"
    );
    assert_eq!(
        meta["committed_bytes"],
        long(&counters, "sun.gc.metaspace.capacity"),
        "{jdk}"
    );
    assert_eq!(
        j["class_space"]["max_bytes"],
        long(&counters, "sun.gc.compressedclassspace.maxCapacity"),
        "{jdk}"
    );
    let loaded =
        long(&counters, "java.cls.loadedClasses") + long(&counters, "java.cls.sharedLoadedClasses");
    assert_eq!(j["classes_loaded"], loaded, "{jdk}");
    let unloaded = long(&counters, "java.cls.unloadedClasses")
        + long(&counters, "java.cls.sharedUnloadedClasses");
    assert_eq!(j["classes_unloaded"], unloaded, "{jdk}");
    let gcs: u64 = (0..)
        .map_while(|n| counters.get(&format!("sun.gc.collector.{n}.invocations")))
        .map(|v| v.parse::<u64>().unwrap())
        .sum();
    assert_eq!(j["gc_count"], gcs, "{jdk}");
    assert!(gcs >= 1, "{jdk}: the fixture runs System.gc()");

    // Uptime moves: ours was read before jcmd's, by at most the time both took. JDK 25 has no
    // sun.os.hrt.ticks; there the start time in milliseconds since the epoch says it.
    let ours = j["uptime_seconds"].as_f64().unwrap();
    let (low, high) = match counters.get("sun.os.hrt.ticks") {
        Some(_) => {
            let theirs = long(&counters, "sun.os.hrt.ticks") as f64
                / long(&counters, "sun.os.hrt.frequency") as f64;
            (theirs - elapsed, theirs)
        }
        None => {
            let begin = long(&counters, "sun.rt.createVmBeginTime") as f64 / 1000.0;
            (started_at - begin, started_at - begin + elapsed)
        }
    };
    assert!(
        ours >= low - 0.1 && ours <= high + 0.1,
        "{jdk}: uptime {ours}, expected {low:.3} to {high:.3}"
    );

    // jstat -gc, in KiB with one decimal: committed and Metaspace exactly, heap used within what an
    // idle JVM allocates between two reads.
    let kib = |cols: &[&str]| cols.iter().map(|c| jstat[*c]).sum::<f64>() * 1024.0;
    let near = |what: &str, ours: &Value, theirs: f64, slack: f64| {
        let ours = ours
            .as_f64()
            .unwrap_or_else(|| panic!("{jdk}: {what} absent"));
        assert!(
            (ours - theirs).abs() <= slack,
            "{jdk}: {what} {ours} vs jstat's {theirs}"
        );
    };
    let heap = &j["heap"];
    near(
        "heap committed",
        &heap["committed_bytes"],
        kib(&["S0C", "S1C", "EC", "OC"]),
        4096.0,
    );
    near(
        "heap used",
        &heap["used_bytes"],
        kib(&["S0U", "S1U", "EU", "OU"]),
        1024.0 * 1024.0,
    );
    near(
        "metaspace committed",
        &meta["committed_bytes"],
        kib(&["MC"]),
        1024.0,
    );
    near(
        "metaspace used",
        &meta["used_bytes"],
        kib(&["MU"]),
        64.0 * 1024.0,
    );
    near(
        "class space used",
        &j["class_space"]["used_bytes"],
        kib(&["CCSU"]),
        64.0 * 1024.0,
    );
    near("gc seconds", &j["gc_seconds"], jstat["GCT"], 0.0015);
    let max = heap["max_bytes"].as_u64().unwrap();
    // G1 up to JDK 17 pads each capacity by 8 bytes (see analyses::process::jvms::counters::G1_POLICY).
    assert!(
        ((128 << 20)..=(128 << 20) + 64).contains(&max),
        "{jdk}: -Xmx128m, max {max}"
    );

    // The text table names it too.
    let text = run(Path::new(env!("CARGO_BIN_EXE_oomsleuth")), &["jvms"]);
    let row = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(pid_s.as_str()))
        .unwrap_or_else(|| panic!("{jdk}: no row for {pid}:\n{text}"));
    assert!(row.ends_with(MAIN) && row.contains(java_version), "{row}");
    drop(jvm);
}

#[test]
fn lists_each_jdks_jvm_as_its_own_tools_do() {
    let classes = classes();
    for jdk in Jdk::ALL {
        if !have(jdk) {
            continue;
        }
        check(jdk, &jdk.home().unwrap(), &classes);
    }
}

/// A file that is not hsperfdata, in a directory named like one, is listed as not read, with the
/// offset; the command still succeeds.
#[test]
fn a_garbage_file_is_reported_with_its_offset() {
    // Only the host's /tmp is searched, so the file must be there: under a user name no one has,
    // named by our own pid (a live process).
    let dir =
        std::env::temp_dir().join(format!("hsperfdata_oomsleuth-test-{}", std::process::id()));
    if std::env::temp_dir() != Path::new("/tmp") {
        eprintln!("skipped: the temp directory is not /tmp");
        return;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(std::process::id().to_string());
    std::fs::write(&file, b"\xca\xfe\xc0\xc0\x01\x02\x00\x01 truncated").unwrap();
    let json = run(
        Path::new(env!("CARGO_BIN_EXE_oomsleuth")),
        &["jvms", "--json"],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let report: Value = serde_json::from_str(&json).unwrap();
    let skipped = report["skipped"].as_array().unwrap();
    let mine = skipped
        .iter()
        .find(|s| s["path"] == file.display().to_string())
        .unwrap_or_else(|| panic!("{json}"));
    assert!(
        mine["reason"].as_str().unwrap().contains("at offset 0"),
        "{mine}"
    );
}

/// A JVM in its own pid and mount namespace with a private /tmp, as in a container: found through
/// /proc/PID/root, named by its namespace pid (1), listed under its host pid.
#[test]
fn finds_a_jvm_in_its_own_pid_and_mount_namespace() {
    let Some(home) = Jdk::J17.home() else {
        eprintln!("skipped: no JDK 17");
        return;
    };
    let classes = classes();
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--mount", "--kill-child", "sh", "-c"])
        .arg(r#"mount -t tmpfs oomsleuth-test /tmp && exec "$0" -Xmx64m -cp "$1" "$2""#)
        .arg(home.join("bin/java"))
        .arg(&classes)
        .arg(MAIN)
        .stderr(Stdio::null());
    let Some(jvm) = spawn_ready(cmd) else {
        eprintln!(
            "skipped: unshare --pid --mount (needs root or user namespaces) did not start a JVM"
        );
        return;
    };
    // The JVM is unshare's child.
    let unshare_pid = jvm.0.id();
    let host_pid = crate::support::first_child(unshare_pid);
    let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).unwrap();
    let nspid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert_eq!(
        nspid, "1",
        "exec'd by the namespace's first process: {status}"
    );

    let json = run(
        Path::new(env!("CARGO_BIN_EXE_oomsleuth")),
        &["jvms", "--json"],
    );
    let report: Value = serde_json::from_str(&json).unwrap();
    let j = report["jvms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["host_pid"] == host_pid)
        .unwrap_or_else(|| panic!("pid {host_pid} (1 in its namespace) not listed: {json}"));
    assert_eq!(j["container_pid"], 1);
    assert_eq!(j["main"], MAIN);
    assert_eq!(
        j["file"],
        format!(
            "/proc/{host_pid}/root/tmp/hsperfdata_{}/1",
            j["user"].as_str().unwrap()
        )
    );
    assert!(j["java_version"].as_str().unwrap().starts_with("17"), "{j}");
    assert!(j["heap"]["max_bytes"].as_u64().unwrap() >= 64 << 20);
    // Its file is not in the host's /tmp: only /proc/PID/root finds it.
    assert!(!Path::new(&format!(
        "/tmp/hsperfdata_{}/1",
        j["user"].as_str().unwrap()
    ))
    .exists());
    drop(jvm);
}
