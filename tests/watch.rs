//! Issue 17: `oomsleuth watch PID` on real JVMs (JDK 11, 17, 21, 25), from outside.
//!
//! The oracles: what the JDK's own `jstat -class` and `jstat -gc` print for the JVM between two
//! of our samples, the class-leak and healthy modes of fixtures/native/NativeLeaks.java (what it
//! planted), and for the terminal UI the screen tmux holds.

use crate::native::{compiled, have};
use crate::support::jvm::{repo_root, Jdk};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One fixture JVM at a time in this process (2 cores).
static JVM: Mutex<()> = Mutex::new(());

const IDLE: &str = "com.example.IdleAllocator";

/// A fixture JVM in its own temporary directory; killed when dropped.
struct Fixture {
    child: Child,
    out: BufReader<ChildStdout>,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    fn start(home: &Path, args: &[String]) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "oomsleuth-watch-jvm-{}-{:x}",
            std::process::id(),
            oomsleuth::formats::files::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(home.join("bin/java"))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut f = Fixture { child, out, dir };
        f.wait_for("READY");
        f
    }

    /// IdleAllocator: its counters hold still once it is READY.
    fn idle(home: &Path) -> Fixture {
        let classes = idle_classes();
        let args = ["-Xmx128m", "-XX:+UsePerfData", "-cp"]
            .iter()
            .map(|s| s.to_string())
            .chain([classes.display().to_string(), IDLE.into()])
            .collect::<Vec<_>>();
        Fixture::start(home, &args)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_for(&mut self, want: &str) {
        let mut s = String::new();
        loop {
            s.clear();
            let n = self.out.read_line(&mut s).unwrap();
            assert!(n > 0, "the fixture exited before printing {want}");
            if s.trim() == want {
                return;
            }
        }
    }

    /// One step of NativeLeaks.
    fn step(&mut self, k: usize) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"step\n").unwrap();
        stdin.flush().unwrap();
        self.wait_for(&format!("DONE {k}"));
    }
}

/// IdleAllocator compiled once (`--release 11`, so every JDK here runs it).
fn idle_classes() -> PathBuf {
    let out = repo_root().join("target").join("watch-fixture");
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

/// `oomsleuth watch PID ARGS`, its JSON lines read as they come.
struct Watcher {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watcher {
    fn start(pid: u32, args: &[&str]) -> Watcher {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
            .arg("watch")
            .arg(pid.to_string())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap());
        Watcher { child, lines }
    }

    /// The next line as JSON; None at the end.
    fn next(&mut self) -> Option<Json> {
        let mut s = String::new();
        if self.lines.read_line(&mut s).unwrap() == 0 {
            return None;
        }
        Some(serde_json::from_str(&s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}")))
    }
}

/// `jstat -OPTION PID`: column name to value (KiB for sizes).
fn jstat(home: &Path, option: &str, pid: u32) -> HashMap<String, f64> {
    let out = Command::new(home.join("bin/jstat"))
        .arg(format!("-{option}"))
        .arg(pid.to_string())
        .output()
        .expect("jstat");
    assert!(out.status.success(), "jstat -{option} {pid}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head: Vec<String> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    let values = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(f64::NAN));
    // `jstat -class` has two columns named Bytes: the first (loaded) is kept.
    let mut m = HashMap::new();
    for (h, v) in head.into_iter().zip(values) {
        m.entry(h).or_insert(v);
    }
    m
}

/// `theirs` lies between the two samples' values of `field`, give or take `slack`.
fn bracketed(jdk: Jdk, a: &Json, b: &Json, field: &str, theirs: f64, slack: f64) {
    let v = |j: &Json| {
        j[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{jdk}: {field} absent in {j}"))
    };
    let (lo, hi) = (v(a).min(v(b)), v(a).max(v(b)));
    assert!(
        theirs >= lo - slack && theirs <= hi + slack,
        "{jdk}: {field}: jstat says {theirs}, our samples {lo}..{hi}"
    );
}

fn check_against_jstat(jdk: Jdk, home: &Path) {
    let jvm = Fixture::idle(home);
    let pid = jvm.pid();
    let mut w = Watcher::start(pid, &["--json", "--every", "500ms", "--count", "3"]);
    let first = w.next().expect("a first sample");
    let class = jstat(home, "class", pid);
    let gc = jstat(home, "gc", pid);
    let second = w.next().expect("a second sample");
    assert_eq!(first["schema"], "oomsleuth.watch/1");
    assert_eq!(first["main"], IDLE);
    assert!(first["java_version"]
        .as_str()
        .unwrap()
        .starts_with(&jdk.major().to_string()));
    // Class counts: exactly jstat's (the fixture loads nothing between the samples).
    bracketed(jdk, &first, &second, "classes_loaded", class["Loaded"], 0.0);
    bracketed(
        jdk,
        &first,
        &second,
        "classes_unloaded",
        class["Unloaded"],
        0.0,
    );
    assert_eq!(
        first["classes_loaded"], second["classes_loaded"],
        "{jdk}: an idle JVM"
    );
    // Sizes in KiB with one decimal.
    let kib = |cols: &[&str]| cols.iter().map(|c| gc[*c]).sum::<f64>() * 1024.0;
    let round = 0.05 * 1024.0 * 4.0;
    bracketed(
        jdk,
        &first,
        &second,
        "metaspace_committed_bytes",
        kib(&["MC"]),
        round,
    );
    bracketed(
        jdk,
        &first,
        &second,
        "metaspace_used_bytes",
        kib(&["MU"]),
        round,
    );
    bracketed(
        jdk,
        &first,
        &second,
        "class_space_used_bytes",
        kib(&["CCSU"]),
        round,
    );
    bracketed(jdk, &first, &second, "old_used_bytes", kib(&["OU"]), round);
    bracketed(
        jdk,
        &first,
        &second,
        "heap_committed_bytes",
        kib(&["S0C", "S1C", "EC", "OC"]),
        round,
    );
    bracketed(
        jdk,
        &first,
        &second,
        "heap_used_bytes",
        kib(&["S0U", "S1U", "EU", "OU"]),
        round,
    );
    bracketed(jdk, &first, &second, "gc_seconds", gc["GCT"], 0.0015);
    let gcs = gc["YGC"]
        + gc["FGC"]
        + gc.get("CGC")
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
    bracketed(jdk, &first, &second, "gc_count", gcs, 0.0);
    // The fixture ran System.gc(): a live set is known; RSS is the kernel's.
    assert!(
        second["live_set_after_gc_bytes"].as_u64().is_some(),
        "{second}"
    );
    assert!(second["rss_bytes"].as_u64().unwrap() > 8 << 20, "{second}");
    assert_eq!(second["verdict"]["area"], "none", "{jdk}: an idle JVM");
    let third = w.next().expect("a third sample");
    assert_eq!(third["sample"], 3);
    assert!(w.next().is_none(), "--count 3 stops after 3 lines");
    assert_eq!(w.child.wait().unwrap().code(), Some(0));
    drop(jvm);
}

#[test]
fn json_samples_equal_what_jstat_prints_on_every_jdk() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    for jdk in Jdk::ALL {
        let Some(home) = have(jdk) else { continue };
        check_against_jstat(jdk, &home);
    }
}

/// NativeLeaks in `mode`, its heap committed and touched from the start (as capture-series.sh
/// runs it) so that only what the mode leaks grows; watched every second, one step after each
/// sample; the last line.
fn watch_steps(home: &Path, mode: &str, steps: usize) -> Json {
    let args: Vec<String> = [
        "-Xms64m",
        "-Xmx64m",
        "-XX:+AlwaysPreTouch",
        "-XX:+UseG1GC",
        "-cp",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        compiled().display().to_string(),
        "NativeLeaks".into(),
        mode.into(),
        "info.json".into(),
    ])
    .collect();
    let mut jvm = Fixture::start(home, &args);
    let count = (steps + 1).to_string();
    let mut w = Watcher::start(jvm.pid(), &["--json", "--every", "1s", "--count", &count]);
    let mut last = Json::Null;
    for k in 0..=steps {
        last = w.next().unwrap_or_else(|| panic!("no sample {k}"));
        if k < steps {
            jvm.step(k + 1);
        }
    }
    assert!(w.next().is_none());
    last
}

#[test]
fn a_class_leak_gives_the_metaspace_verdict_and_a_healthy_jvm_none() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    for jdk in Jdk::ALL {
        let Some(home) = have(jdk) else { continue };
        let leak = watch_steps(&home, "classes", 4);
        let v = &leak["verdict"];
        assert_eq!(v["area"], "metaspace", "{jdk}: {v:#}");
        let signals: Vec<&str> = v["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["signal"]["kind"].as_str().unwrap())
            .collect();
        assert!(signals.contains(&"classes_loaded"), "{jdk}: {signals:?}");
        // NativeLeaks defines 2,000 classes a step, all kept.
        assert!(
            leak["classes_live_per_minute"].as_f64().unwrap() > 2000.0,
            "{jdk}: {leak}"
        );
        let healthy = watch_steps(&home, "healthy", 4);
        let v = &healthy["verdict"];
        assert_eq!(v["area"], "none", "{jdk}: {v:#}");
        assert!(v["evidence"].as_array().unwrap().is_empty(), "{jdk}: {v:#}");
    }
}

#[test]
fn json_ends_with_a_line_saying_the_jvm_exited() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let Some(home) = have(Jdk::J17) else { return };
    let mut jvm = Fixture::idle(&home);
    let mut w = Watcher::start(jvm.pid(), &["--json", "--every", "300ms"]);
    assert_eq!(w.next().unwrap()["state"], "running");
    jvm.child.kill().unwrap();
    jvm.child.wait().unwrap();
    let mut last = Json::Null;
    while let Some(j) = w.next() {
        last = j;
    }
    assert_eq!(last["state"], "exited", "{last}");
    assert_eq!(last["pid"], jvm.pid());
    assert!(last["samples"].as_u64().unwrap() >= 1);
    assert_eq!(w.child.wait().unwrap().code(), Some(0));
}

/// SIGINT, SIGTERM or SIGHUP end a watch to a pipe with status 0 and whole lines, even one started
/// where SIGINT is ignored (a shell's background job inherits SIG_IGN).
#[test]
fn a_signal_ends_a_json_watch_cleanly_even_started_in_the_background() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let Some(home) = have(Jdk::J17) else { return };
    let jvm = Fixture::idle(&home);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"trap '' INT; exec "$0" watch "$1" --json --every 200ms"#)
            .arg(env!("CARGO_BIN_EXE_oomsleuth"))
            .arg(jvm.pid().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut w = Watcher {
            lines: BufReader::new(child.stdout.take().unwrap()),
            child,
        };
        assert_eq!(w.next().unwrap()["state"], "running");
        // SAFETY: a signal to the child we started.
        unsafe { libc::kill(w.child.id() as libc::pid_t, sig) };
        let started = std::time::Instant::now();
        while let Some(j) = w.next() {
            assert_eq!(j["schema"], "oomsleuth.watch/1", "{j}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(w.child.wait().unwrap().code(), Some(0), "signal {sig}");
    }
}

#[test]
fn plain_lines_to_a_pipe_carry_no_escape_codes() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let Some(home) = have(Jdk::J17) else { return };
    let jvm = Fixture::idle(&home);
    let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args([
            "watch",
            &jvm.pid().to_string(),
            "--every",
            "200ms",
            "--count",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");
    let class = jstat(&home, "class", jvm.pid());
    assert!(
        text.contains(&format!(
            "loaded {}",
            oomsleuth::units::thousands(class["Loaded"] as u64)
        )),
        "{text}"
    );
}

#[test]
fn errors_say_what_to_do() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    let run = |pid: u32| {
        let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
            .args(["watch", &pid.to_string(), "--json"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(std::process::id());
    assert_eq!(code, Some(2));
    assert!(err.contains("is not a HotSpot JVM"), "{err}");
    let (code, err) = run(u32::MAX - 7);
    assert_eq!(code, Some(2));
    assert!(err.contains("no process"), "{err}");
    let Some(home) = have(Jdk::J17) else { return };
    let args = ["-XX:-UsePerfData", "-cp"]
        .iter()
        .map(|s| s.to_string())
        .chain([idle_classes().display().to_string(), IDLE.into()])
        .collect::<Vec<_>>();
    let jvm = Fixture::start(&home, &args);
    let (code, err) = run(jvm.pid());
    assert_eq!(code, Some(2));
    assert!(
        err.contains("-XX:-UsePerfData") && err.contains("record"),
        "{err}"
    );
}

/// A tmux session running one command; killed when dropped.
struct Tmux(String);

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

impl Tmux {
    /// `watch PID` in a new detached 120x40 session; the shell says how it ended.
    fn watch(pid: u32) -> Tmux {
        let name = format!(
            "oomsleuth-watch-{}-{:x}",
            std::process::id(),
            oomsleuth::formats::files::random_token()
        );
        let cmd = format!(
            "{} watch {pid}; echo WATCH-EXIT=$?; sleep 120",
            env!("CARGO_BIN_EXE_oomsleuth")
        );
        // A tmux server that is just exiting (the last session of another run ended) refuses
        // the first new-session now and then: try again.
        let mut tries = 0;
        let st = loop {
            let out = Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &name,
                    "-x",
                    "120",
                    "-y",
                    "40",
                    &cmd,
                ])
                .output()
                .unwrap();
            tries += 1;
            if out.status.success() || tries == 5 {
                break out;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        assert!(
            st.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        Tmux(name)
    }

    fn tmux(&self, args: &[&str]) -> String {
        let mut full: Vec<&str> = vec![args[0], "-t", &self.0];
        full.extend(&args[1..]);
        let out = Command::new("tmux").args(&full).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// The screen once `ok` holds for it (at most 30 s).
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "no {what}:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The `loaded N,` of the Classes panel.
fn loaded_on(screen: &str) -> u64 {
    let at = screen.find("loaded ").expect("a loaded count") + "loaded ".len();
    screen[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn widest(screen: &str) -> usize {
    screen.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn the_terminal_ui_shows_counters_verdict_resizes_quits_and_shows_an_exit() {
    let _g = JVM.lock().unwrap_or_else(|e| e.into_inner());
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: no tmux (scripts/test.sh installs it)");
        return;
    }
    let Some(home) = have(Jdk::J17) else { return };
    let mut jvm = Fixture::idle(&home);
    let pid = jvm.pid();
    let t = Tmux::watch(pid);
    let before = t.wait("a second sample", |s| {
        s.contains("sample 2 ") && s.contains("Classes")
    });
    let class = jstat(&home, "class", pid);
    let after = t.wait("a third sample", |s| s.contains("sample 3 "));
    let theirs = class["Loaded"] as u64;
    let (a, b) = (loaded_on(&before), loaded_on(&after));
    assert!(
        a.min(b) <= theirs && theirs <= a.max(b),
        "jstat {theirs}, screen {a}..{b}"
    );
    for s in [&before, &after] {
        assert!(s.contains(IDLE) && s.contains("JDK 17"), "{s}");
        assert!(s.contains("Verdict: no growth found"), "{s}");
        assert!(
            s.contains("Heap") && s.contains("Metaspace") && s.contains("RSS"),
            "{s}"
        );
    }
    assert_eq!(widest(&after), 120, "{after}");
    assert_eq!(
        t.tmux(&["display-message", "-p", "#{alternate_on}"]).trim(),
        "1"
    );

    t.tmux(&["resize-window", "-x", "90", "-y", "30"]);
    let resized = t.wait("a redraw at 90x30", |s| {
        widest(s) == 90 && s.lines().count() == 30 && s.contains("Verdict")
    });
    assert!(
        resized.lines().nth(1).unwrap().starts_with('┌'),
        "{resized}"
    );

    t.tmux(&["send-keys", "q"]);
    let done = t.wait("watch to quit", |s| s.contains("WATCH-EXIT="));
    assert!(done.contains("WATCH-EXIT=0"), "{done}");
    assert!(
        !done.contains("┌Heap"),
        "the screen is the shell's again:\n{done}"
    );
    assert_eq!(
        t.tmux(&["display-message", "-p", "#{alternate_on}"]).trim(),
        "0"
    );
    drop(t);

    // SIGTERM ends it too, restoring the terminal.
    let t = Tmux::watch(pid);
    t.wait("a first sample", |s| s.contains("Classes"));
    let watcher = t.tmux(&["list-panes", "-F", "#{pane_pid}"]);
    let shell: u32 = watcher.trim().parse().unwrap();
    let watch_pid = crate::support::first_child(shell);
    // SAFETY: a signal to the watch this test started.
    unsafe { libc::kill(watch_pid as libc::pid_t, libc::SIGTERM) };
    let done = t.wait("watch to end on SIGTERM", |s| s.contains("WATCH-EXIT="));
    assert!(done.contains("WATCH-EXIT=0"), "{done}");
    assert_eq!(
        t.tmux(&["display-message", "-p", "#{alternate_on}"]).trim(),
        "0"
    );
    drop(t);

    // A target that exits: its last state stays on screen with a line saying so; a key quits.
    let t = Tmux::watch(pid);
    t.wait("a first sample", |s| s.contains("Classes"));
    jvm.child.kill().unwrap();
    jvm.child.wait().unwrap();
    let gone = t.wait("the exit shown", |s| {
        s.contains(&format!("JVM {pid} exited"))
    });
    assert!(
        gone.contains("Classes") && gone.contains("Press any key"),
        "{gone}"
    );
    t.tmux(&["send-keys", "x"]);
    let done = t.wait("watch to end", |s| s.contains("WATCH-EXIT="));
    assert!(done.contains("WATCH-EXIT=0"), "{done}");
}
