//! Issue 17: `oomsleuth record PID` on real JVMs (JDK 11, 17, 21, 25), from outside.
//!
//! The oracles: the verdicts `analyze` gives on the hand-captured series of the same fixtures
//! (tests/native.rs, captured with the JDK's own jcmd, jstat and pmap), what a fixture recorded it
//! planted (planted.json, info.json), and the JVM's own `OutOfMemoryError: Metaspace`.

use crate::native::{compiled, have, series};
use crate::support::jvm::{repo_root, Jdk};
use crate::synthetic::oomsleuth;
use serde_json::Value as Json;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One fixture JVM at a time in this process (2 cores).
static JVM: Mutex<()> = Mutex::new(());

/// A fixture JVM; killed when dropped.
struct Target {
    child: Child,
    /// The JVM's host pid (the child itself, or the JVM a namespace wrapper started).
    pid: u32,
    out: BufReader<ChildStdout>,
    dir: PathBuf,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Target {
    /// Starts `java ARGS` in a new temporary directory (its cwd: relative log files go there) and
    /// waits for `ready`.
    fn start(home: &Path, args: &[String], ready: &str) -> Target {
        let dir = std::env::temp_dir().join(format!(
            "oomsleuth-record-jvm-{}-{:x}",
            std::process::id(),
            oomsleuth::formats::files::random_token()
        ));
        fs::create_dir_all(&dir).unwrap();
        let mut java = Command::new(home.join("bin/java"));
        java.args(args).current_dir(&dir);
        Target::spawn(java, dir, ready, false)
    }

    /// Spawns `cmd` and waits for `ready`; `wrapped`: `cmd` is a wrapper (unshare) whose first
    /// child is the JVM.
    fn spawn(mut cmd: Command, dir: PathBuf, ready: &str, wrapped: bool) -> Target {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let pid = child.id();
        let mut t = Target {
            child,
            pid,
            out,
            dir,
        };
        t.wait_for(ready);
        if wrapped {
            t.pid = crate::support::first_child(pid);
        }
        t
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn wait_for(&mut self, line: &str) {
        let mut s = String::new();
        loop {
            s.clear();
            let n = self.out.read_line(&mut s).unwrap();
            assert!(n > 0, "the fixture exited before printing {line}");
            if s.trim() == line {
                return;
            }
        }
    }

    fn step(&mut self, k: usize) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"step\n").unwrap();
        stdin.flush().unwrap();
        self.wait_for(&format!("DONE {k}"));
    }
}

/// NativeLeaks in `mode` with the flags of fixtures/capture-series.sh (logs in the JVM's cwd).
fn native_leaks(home: &Path, mode: &str) -> Target {
    Target::start(home, &native_leaks_args(mode, ""), "READY")
}

/// The JVM options and arguments of NativeLeaks in `mode`, its logs under `logs` (a directory
/// with its trailing slash, or "" for the cwd).
fn native_leaks_args(mode: &str, logs: &str) -> Vec<String> {
    let classes = compiled();
    [
        "-XX:NativeMemoryTracking=detail",
        "-Xms64m",
        "-Xmx64m",
        "-XX:+AlwaysPreTouch",
        "-XX:+UseG1GC",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("-Xlog:gc*:file={logs}gc.log:time,uptime,level,tags"),
        format!("-Xlog:class+load,class+unload:file={logs}class.log:uptime,level,tags"),
        "-cp".into(),
        classes.display().to_string(),
        "NativeLeaks".into(),
        mode.into(),
        format!("{logs}info.json"),
    ])
    .collect()
}

/// NativeLeaks in `mode` as in a container: its own pid and mount namespaces, a private tmpfs on
/// /tmp that holds its logs (no path on the host names them), run as `nobody`. None when this
/// machine cannot make namespaces (not root, no user namespaces).
fn native_leaks_in_a_container(home: &Path, mode: &str) -> Option<Target> {
    let dir = bundle_dir("container-cwd");
    fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--mount", "--fork", "--kill-child", "sh", "-c"])
        .arg(concat!(
            "mount -t tmpfs oomsleuth-test /tmp && mkdir -m 1777 /tmp/logs && cd /tmp && ",
            r#"exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$@""#
        ))
        .arg("sh")
        .arg(home.join("bin/java"))
        .args(native_leaks_args(mode, "/tmp/logs/"))
        .current_dir(&dir);
    let probe = Command::new("unshare")
        .args(["--pid", "--mount", "--fork", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        let _ = fs::remove_dir_all(&dir);
        return None;
    }
    Some(Target::spawn(cmd, dir, "READY", true))
}

fn bundle_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "oomsleuth-bundle-{name}-{}-{:x}",
        std::process::id(),
        oomsleuth::formats::files::random_token()
    ))
}

/// `oomsleuth record PID ARGS -o BUNDLE --json`, started.
fn start_record(pid: u32, args: &[&str], bundle: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .arg("record")
        .arg(pid.to_string())
        .args(args)
        .arg("-o")
        .arg(bundle)
        .arg("--json")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Samples the manifest says were taken (0 before it exists).
fn samples(bundle: &Path) -> u64 {
    fs::read_to_string(bundle.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Json>(&t).ok())
        .and_then(|j| j["samples"].as_u64())
        .unwrap_or(0)
}

fn wait_samples(bundle: &Path, n: u64) {
    let t = Instant::now();
    while samples(bundle) < n {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no sample {n} in {}",
            bundle.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `record` and returns its stdout as JSON (it must succeed).
fn finish(child: Child) -> Json {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "record failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "record's stdout is not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The bundle is private: the directory 0700, every file 0600, no temporary left.
fn assert_private(bundle: &Path) {
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(bundle), 0o700, "{}", bundle.display());
    for e in fs::read_dir(bundle).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".oomsleuth-index") {
            continue; // analyze's cache, beside the dump (0600 too, checked by its own tests)
        }
        assert!(
            !name.starts_with('.'),
            "a temporary is left: {}",
            p.display()
        );
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

/// Records NativeLeaks in `mode` for 3 s, one step after each sample, like capture-series.sh's
/// snapshot-step-snapshot; returns the verdict JSON and the bundle.
fn record_steps(home: &Path, mode: &str) -> (Json, PathBuf) {
    let mut jvm = native_leaks(home, mode);
    record_stepping(&mut jvm, mode)
}

/// Records `jvm` (NativeLeaks) for 3 s, one step after each sample.
fn record_stepping(jvm: &mut Target, name: &str) -> (Json, PathBuf) {
    let bundle = bundle_dir(name);
    let rec = start_record(jvm.pid(), &["--duration", "3s", "--every", "1s"], &bundle);
    for k in 1..=3 {
        wait_samples(&bundle, k);
        jvm.step(k as usize);
    }
    (finish(rec), bundle)
}

/// The verdict's area, category and class family, as JSON says them.
fn verdict_key(v: &Json) -> (String, Option<String>, Option<String>) {
    (
        v["area"].as_str().unwrap_or("?").to_string(),
        v["category"].as_str().map(String::from),
        v["class_family"].as_str().map(String::from),
    )
}

#[test]
fn record_gives_the_verdicts_of_the_hand_captured_series() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let mut failures = Vec::new();
    for jdk in Jdk::ALL {
        let Some(home) = have(jdk) else { continue };
        for mode in ["classes", "native", "healthy"] {
            let expected = analyze_evidence(&[series(jdk, &home, mode)]).verdict;
            let (j, bundle) = record_steps(&home, mode);
            let v = &j["verdict"];
            let got = verdict_key(v);
            let want = verdict_key(&serde_json::to_value(&expected).unwrap());
            if got != want {
                failures.push(format!(
                    "{jdk} {mode}: record says {got:?} ({}), the hand-captured series {want:?} ({})",
                    v["summary"], expected.summary
                ));
            }
            assert_private(&bundle);
            let m: Json =
                serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap())
                    .unwrap();
            assert_eq!(m["schema"], "oomsleuth.record/1");
            assert_eq!(m["samples"], 4, "{jdk} {mode}: {m:#}");
            assert_eq!(m["nmt"], "on");
            assert!(m["java_version"]
                .as_str()
                .unwrap()
                .starts_with(&jdk.major().to_string()));
            // The logs the JVM's options name were found in its cwd and copied.
            assert!(bundle.join("log-gc.log").exists() && bundle.join("log-class.log").exists());
            let _ = fs::remove_dir_all(&bundle);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A JVM as a container runs it (own pid and mount namespaces, logs in a /tmp only it sees, another
/// user): `record` attaches through /proc/PID/root as that user, finds the logs, and gives the
/// verdict of the hand-captured series of the same fixture.
#[test]
fn record_reaches_a_jvm_in_a_container_run_by_another_user() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    for jdk in Jdk::ALL {
        let Some(home) = have(jdk) else { continue };
        let expected = analyze_evidence(&[series(jdk, &home, "classes")]).verdict;
        let Some(mut jvm) = native_leaks_in_a_container(&home, "classes") else {
            eprintln!("skipped: unshare --pid --mount (needs root) did not start a JVM");
            return;
        };
        let pid = jvm.pid();
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let nspid = oomsleuth::inputs::live::jvms::nspid_of(&status).unwrap();
        assert_eq!(nspid, 1, "{jdk}: {status}");
        assert!(
            status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.contains("65534")),
            "{jdk}: not run as nobody: {status}"
        );
        let (j, bundle) = record_stepping(&mut jvm, "container");
        assert_eq!(
            verdict_key(&j["verdict"]),
            verdict_key(&serde_json::to_value(&expected).unwrap()),
            "{jdk}: record says {}, the hand-captured series {}",
            j["verdict"]["summary"],
            expected.summary
        );
        let m: Json =
            serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["samples"], 4, "{jdk}: {m:#}");
        assert_eq!(m["nmt"], "on", "{jdk}: {m:#}");
        assert!(m["java_version"]
            .as_str()
            .unwrap()
            .starts_with(&jdk.major().to_string()));
        // The logs are under the container's /tmp: copied through /proc/PID/root.
        for log in ["log-gc.log", "log-class.log"] {
            let text = fs::read_to_string(bundle.join(log))
                .unwrap_or_else(|e| panic!("{jdk}: {log}: {e}; bundle {}", bundle.display()));
            assert!(!text.is_empty(), "{jdk}: {log} is empty");
        }
        assert_private(&bundle);
        // No trigger file is left in the JVM's cwd or its /tmp.
        for dir in [format!("/proc/{pid}/cwd"), format!("/proc/{pid}/root/tmp")] {
            let left = Path::new(&dir).join(format!(".attach_pid{nspid}"));
            assert!(!left.exists(), "{jdk}: {} left behind", left.display());
        }
        drop(jvm);
        let _ = fs::remove_dir_all(&bundle);
    }
}

#[test]
fn an_interrupted_record_keeps_a_bundle_analyze_reads() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let Some(home) = have(Jdk::J17) else { return };
    let jvm = native_leaks(&home, "healthy");
    let bundle = bundle_dir("interrupted");
    let rec = start_record(jvm.pid(), &["--duration", "10m", "--every", "1s"], &bundle);
    wait_samples(&bundle, 1);
    // SAFETY: a signal to the child we started.
    unsafe { libc::kill(rec.id() as libc::pid_t, libc::SIGINT) };
    let started = Instant::now();
    let j = finish(rec);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(j["schema"], "oomsleuth.verdict/1", "{j:#}");
    assert_eq!(j["verdict"]["area"], "none");
    let m: Json =
        serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["interrupted"], true);
    assert_eq!(m["finished"], true);
    assert!(m["samples"].as_u64().unwrap() >= 1);
    assert_private(&bundle);
    let run = oomsleuth(["analyze".as_ref(), "--json".as_ref(), bundle.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = run.json();
    assert_eq!(a["verdict"]["area"], "none");
    let kinds: Vec<&str> = a["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"jstat") && kinds.contains(&"smaps_rollup"),
        "{kinds:?}"
    );
    drop(jvm);
    let _ = fs::remove_dir_all(&bundle);
}

/// Compiles the given fixture sources once per run into `target/record-fixtures/NAME`.
fn compile(name: &str, sources: &[PathBuf]) -> PathBuf {
    let out = repo_root().join("target/record-fixtures").join(name);
    let st = Command::new("javac")
        .args(["--release", "11", "-XDstringConcat=inline", "-nowarn", "-d"])
        .arg(&out)
        .args(sources)
        .status()
        .expect("javac on PATH");
    assert!(st.success(), "javac {sources:?}");
    out
}

#[test]
fn record_heap_dump_names_the_planted_suspect() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let src = repo_root().join("fixtures/src");
    let classes = compile(
        "leaking-map",
        &[src.join("LeakingMap.java"), src.join("Planted.java")],
    );
    for jdk in Jdk::ALL {
        let Some(home) = have(jdk) else { continue };
        let args: Vec<String> = ["-Xmx256m", "-cp"]
            .iter()
            .map(|s| s.to_string())
            .chain([
                classes.display().to_string(),
                "com.example.LeakingMap".into(),
                "planted.json".into(),
            ])
            .collect();
        let jvm = Target::start(&home, &args, "READY");
        let planted: Json =
            serde_json::from_str(&fs::read_to_string(jvm.dir.join("planted.json")).unwrap())
                .unwrap();
        let bundle = bundle_dir("heap");
        let rec = start_record(
            jvm.pid(),
            &["--duration", "1s", "--every", "1s", "--heap-dump"],
            &bundle,
        );
        let j = finish(rec);
        assert_eq!(j["schema"], "oomsleuth.report/1", "{jdk}");
        let s = &j["suspects"][0];
        assert_eq!(s["pattern"], "map_key", "{jdk}: {s:#}");
        assert_eq!(s["owner"]["class"], "com.example.ConnectionRegistry");
        assert_eq!(s["owner"]["field"], "byIp");
        assert_eq!(
            s["accumulated"]["count"], planted["leak"]["leaked_contexts"],
            "{jdk}"
        );
        let dump = if jdk.major() >= 15 {
            "heap.hprof.gz"
        } else {
            "heap.hprof"
        };
        assert!(bundle.join(dump).exists(), "{jdk}: no {dump}");
        let m: Json =
            serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap())
                .unwrap();
        let taken = m["taken"].as_array().unwrap();
        let dumped = taken
            .iter()
            .find(|t| t["what"].as_str().unwrap().starts_with("GC.heap_dump"))
            .unwrap();
        assert!(dumped["error"].is_null(), "{dumped}");
        assert!(dumped["pause_seconds"].as_f64().unwrap() > 0.0, "{dumped}");
        assert_private(&bundle);
        drop(jvm);
        let _ = fs::remove_dir_all(&bundle);
    }
}

#[test]
fn record_after_a_metaspace_oom_is_the_metaspace_verdict_with_the_leaking_family() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let classes = compile(
        "metaspace-oom",
        &[repo_root().join("fixtures/live/MetaspaceOom.java")],
    );
    for jdk in Jdk::ALL {
        let Some(home) = have(jdk) else { continue };
        let args: Vec<String> = [
            "-XX:MaxMetaspaceSize=24m",
            "-Xmx64m",
            "-Xlog:gc*:file=gc.log:time,uptime,level,tags",
            "-Xlog:class+load,class+unload:file=class.log:uptime,level,tags",
            "-cp",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            classes.display().to_string(),
            "MetaspaceOom".into(),
            "info.json".into(),
        ])
        .collect();
        let jvm = Target::start(&home, &args, "READY");
        let info: Json =
            serde_json::from_str(&fs::read_to_string(jvm.dir.join("info.json")).unwrap()).unwrap();
        assert_eq!(info["oom_message"], "Metaspace", "{jdk}: {info}");
        let bundle = bundle_dir("metaspace");
        let rec = start_record(jvm.pid(), &["--duration", "2s", "--every", "1s"], &bundle);
        let j = finish(rec);
        let v = &j["verdict"];
        assert_eq!(v["area"], "metaspace", "{jdk}: {v:#}");
        assert_eq!(v["class_family"], "Leak_<n>", "{jdk}: {v:#}");
        // The deciding evidence is the JVM's own VM.metaspace at its limit, and its
        // VM.classloader_stats puts the fixture's per-call loader first.
        assert_eq!(
            v["evidence"][0]["signal"]["kind"], "metaspace_at_limit",
            "{jdk}: {v:#}"
        );
        let top = &j["jvm_metaspace"]["by_type"][0];
        assert_eq!(top["type"], info["loader"], "{jdk}: {top:#}");
        assert!(
            top["classes"].as_u64().unwrap() + 64 >= info["classes_defined"].as_u64().unwrap(),
            "{jdk}: {top:#}"
        );
        assert_private(&bundle);
        drop(jvm);
        let _ = fs::remove_dir_all(&bundle);
    }
}

/// The verdict on the evidence files of `paths`, as `analyze` gives it.
fn analyze_evidence(
    paths: &[std::path::PathBuf],
) -> oomsleuth::analyses::process::verdict::VerdictReport {
    let inputs = oomsleuth::inputs::evidence::read_evidence(paths).unwrap();
    oomsleuth::analyses::process::verdict::analyze_inputs(inputs)
}
