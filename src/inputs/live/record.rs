//! `oomsleuth record PID`: the evidence the seeds' engineers collected by hand, taken from outside
//! at each point of a run into a *bundle* directory that `oomsleuth analyze BUNDLE` reads.
//!
//! At every sample: the hsperfdata counters (written as the rows `jstat -gc -t` and `jstat -class
//! -t` would print: `jstat-gc.txt`, `jstat-class.txt`), `/proc/PID/smaps_rollup` and `maps`, and
//! through the attach listener `VM.native_memory summary` (when NMT is on), `VM.classloader_stats`
//! and `VM.metaspace`. Once at the start: `VM.flags`, `VM.command_line`, a `GC.class_histogram`;
//! at the end a second histogram, the tails of the GC and class logs the JVM's options name, and
//! with `--heap-dump` a `GC.heap_dump -gz=1`. Every file is named so that `analyze`'s detection
//! (by content) reads it; `manifest.json` says what was taken when.
//!
//! Safety: the bundle is a new directory only the user can read (0700), every file in it is created
//! exclusively (0600, never through a symbolic link) under a temporary name and renamed into place
//! complete, so an interrupted or killed `record` leaves only whole files. The pause each command
//! costs the JVM is measured by the JVM's own counters (`sun.rt.safepointTime` before and after).

use crate::analyses::process::jvms;
use crate::formats::files;
use crate::formats::hsperf::PerfData;
use crate::inputs::live::jvm_logs;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const SCHEMA: &str = "oomsleuth.record/1";
/// The manifest's file name in a bundle.
pub const MANIFEST: &str = "manifest.json";
/// Most bytes of each log's tail copied into the bundle.
const LOG_TAIL: u64 = 32 << 20;

/// The one call into HotSpot's attach listener ([`crate::inputs::live::attach`]): whether the command
/// succeeded, and its answer. An error is an attach that could not be made.
fn jcmd(pid: u32, line: &str) -> Result<(bool, String)> {
    let reply = crate::inputs::live::attach::jcmd(pid, line)?;
    Ok((reply.succeeded(), reply.text().into_owned()))
}

/// What to record.
#[derive(Clone, Debug)]
pub struct Options {
    pub pid: u32,
    pub duration: Duration,
    pub every: Duration,
    pub heap_dump: bool,
    /// The bundle directory: created, or an empty directory of ours.
    pub dir: PathBuf,
}

/// What `record` tells its user while it runs.
pub enum Event<'a> {
    /// What is being taken now (a progress line).
    Status(&'a str),
    /// Something the user must know (NMT off, attach refused, the target exited).
    Note(&'a str),
}

/// One thing taken: when (seconds from the start), what, into which file, and what it cost the JVM.
#[derive(Clone, Debug, Serialize)]
pub struct Taken {
    pub t: f64,
    pub sample: usize,
    pub what: String,
    pub file: Option<String>,
    /// Seconds the JVM spent in safepoints during the command (its own counter), when measured.
    pub pause_seconds: Option<f64>,
    /// Wall-clock seconds the command took.
    pub seconds: f64,
    pub error: Option<String>,
}

/// `manifest.json`: the bundle's table of contents.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    pub schema: &'static str,
    pub pid: u32,
    /// The pid in the JVM's own pid namespace, when it differs.
    pub container_pid: Option<u32>,
    pub user: Option<String>,
    pub java_version: Option<String>,
    pub main: Option<String>,
    /// Seconds since the epoch.
    pub started: f64,
    pub interval_seconds: f64,
    pub duration_seconds: f64,
    pub samples: usize,
    pub nmt: &'static str,
    pub interrupted: bool,
    pub finished: bool,
    pub notes: Vec<String>,
    pub taken: Vec<Taken>,
}

/// A bundle directory and its writer.
pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    /// Creates `dir` (0700), or takes an existing empty directory owned by this user (narrowed to
    /// 0700); anything else (a file, a link, another user's or a non-empty directory) is refused.
    pub fn create(dir: &Path) -> Result<Bundle> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let made = std::fs::DirBuilder::new().mode(0o700).create(dir);
        if let Err(e) = made {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e).with_context(|| format!("cannot create {}", dir.display()));
            }
            let m = std::fs::symlink_metadata(dir)?;
            // SAFETY: geteuid has no preconditions.
            let me = unsafe { libc::geteuid() };
            if !m.is_dir() || m.uid() != me {
                bail!(
                    "{} exists and is not a directory of yours: give -o a new directory",
                    dir.display()
                );
            }
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!(
                    "{} is not empty: give -o a new directory (a bundle holds one recording)",
                    dir.display()
                );
            }
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
        let dir = dir.canonicalize()?;
        Ok(Bundle { dir })
    }

    /// Writes `name` complete: a new 0600 file under a temporary name, renamed into place.
    pub fn write(&self, name: &str, data: &[u8]) -> std::io::Result<()> {
        let (mut f, tmp) = files::create_unique(&self.dir, &format!(".{name}.tmp-"), 0o600)?;
        let r = f
            .write_all(data)
            .and_then(|_| files::rename_into_place(&tmp, &self.dir.join(name)));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }
}

/// The state of one recording.
struct Recorder<'a> {
    opts: &'a Options,
    bundle: Bundle,
    hsperf: Option<PathBuf>,
    own_pid: u32,
    started: Instant,
    jstat_gc: String,
    jstat_class: String,
    /// The attach listener answered (None: not tried yet).
    attach_ok: Option<bool>,
    nmt_on: Option<bool>,
    manifest: Manifest,
    events: &'a dyn Fn(Event<'_>),
}

/// Records until the duration is over, `stop` is set (SIGINT, SIGTERM) or the target exits;
/// returns the bundle's manifest. What was taken is in the bundle, complete, whatever ends it.
pub fn record(opts: &Options, stop: &AtomicBool, events: &dyn Fn(Event<'_>)) -> Result<Manifest> {
    let pid = opts.pid;
    if !Path::new(&format!("/proc/{pid}")).exists() {
        bail!("no process {pid} is running");
    }
    let hsperf = crate::inputs::live::jvms::hsperf_file(pid);
    let own_pid = crate::inputs::live::jvms::own_pid(pid).unwrap_or(pid);
    let bundle = Bundle::create(&opts.dir)?;
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut r = Recorder {
        opts,
        bundle,
        own_pid,
        started: Instant::now(),
        jstat_gc: format!("{}\n", jvms::JSTAT_GC_HEADER),
        jstat_class: format!("{}\n", jvms::JSTAT_CLASS_HEADER),
        attach_ok: None,
        nmt_on: None,
        manifest: Manifest {
            schema: SCHEMA,
            pid,
            container_pid: Some(own_pid).filter(|&p| p != pid),
            user: hsperf.as_ref().map(|h| h.1.clone()),
            java_version: None,
            main: None,
            started,
            interval_seconds: opts.every.as_secs_f64(),
            duration_seconds: opts.duration.as_secs_f64(),
            samples: 0,
            nmt: "unknown",
            interrupted: false,
            finished: false,
            notes: vec![],
            taken: vec![],
        },
        hsperf: hsperf.map(|h| h.0),
        events,
    };
    if r.hsperf.is_none() {
        r.note(format!("no hsperfdata file for process {pid}: is it a HotSpot JVM, started without -XX:-UsePerfData, and do you run as its user (or root)? Only /proc and the attach listener are recorded"));
    }
    r.start();
    let mut k = 0usize;
    loop {
        r.sample(k);
        k += 1;
        let next = opts.every.saturating_mul(k as u32);
        if next > opts.duration || !r.wait_until(next, stop) {
            break;
        }
    }
    r.manifest.interrupted = stop.load(Ordering::SeqCst);
    r.finish(stop);
    Ok(r.manifest)
}

impl Recorder<'_> {
    fn note(&mut self, msg: String) {
        (self.events)(Event::Note(&msg));
        self.manifest.notes.push(msg);
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Sleeps until `at` from the start; false when stopped or the target exited first.
    fn wait_until(&mut self, at: Duration, stop: &AtomicBool) -> bool {
        loop {
            if stop.load(Ordering::SeqCst) {
                return false;
            }
            if !self.alive() {
                let msg = format!("process {} exited", self.opts.pid);
                self.note(msg);
                return false;
            }
            let now = self.started.elapsed();
            if now >= at {
                return true;
            }
            std::thread::sleep((at - now).min(Duration::from_millis(50)));
        }
    }

    fn alive(&self) -> bool {
        Path::new(&format!("/proc/{}/stat", self.opts.pid)).exists()
    }

    /// The counters now, when the file is readable.
    fn perf_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.hsperf.as_ref()?).ok()
    }

    /// Safepoint count and seconds now.
    fn safepoints(&self) -> Option<(u64, f64)> {
        let b = self.perf_bytes()?;
        jvms::safepoints(&PerfData::parse(&b).ok()?)
    }

    /// What the JVM was started with, what it is, and the first histogram.
    fn start(&mut self) {
        let mut args = cmdline(self.opts.pid);
        if let Some(b) = self.perf_bytes() {
            if let Ok(p) = PerfData::parse(&b) {
                let (vm_args, version) = jvms::vm_args_and_version(&p);
                self.manifest.java_version = version;
                let j = jvms::jvm(dummy_source(self.opts.pid), &p, 0);
                self.manifest.main = j.main;
                if let Some(v) = vm_args {
                    args.extend(v.split_whitespace().map(String::from));
                }
            }
        }
        args.extend(tool_options(self.opts.pid));
        self.nmt_on = nmt_from_args(&args);
        self.manifest.nmt = match self.nmt_on {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        };
        if self.nmt_on == Some(false) {
            self.note_nmt_off();
        }
        self.bundle_args(&args);
        self.command(0, "VM.flags", "vm-flags.txt");
        self.command(0, "VM.command_line", "vm-command-line.txt");
        self.command(0, "GC.class_histogram", "histo-first.txt");
    }

    fn note_nmt_off(&mut self) {
        self.note("NMT is off in this JVM: native memory cannot be split by category (heap, Metaspace, threads, malloc). Start it next time with -XX:NativeMemoryTracking=summary (or =detail for call sites) to record VM.native_memory summary".into());
    }

    /// The options found (command line, hsperfdata, JAVA_TOOL_OPTIONS), for the record.
    fn bundle_args(&mut self, args: &[String]) {
        let t = self.now();
        let text = args.join("\n") + "\n";
        let r = self.bundle.write("jvm-options.txt", text.as_bytes());
        self.taken(0, t, "options", Some("jvm-options.txt"), None, r.err());
    }

    fn taken(
        &mut self,
        sample: usize,
        t: f64,
        what: &str,
        file: Option<&str>,
        pause: Option<f64>,
        err: Option<impl std::fmt::Display>,
    ) {
        self.manifest.taken.push(Taken {
            t,
            sample,
            what: what.to_string(),
            file: file.filter(|_| err.is_none()).map(String::from),
            pause_seconds: pause,
            seconds: (self.now() - t).max(0.0),
            error: err.map(|e| e.to_string()),
        });
    }

    /// One diagnostic command into `file`, with the pause it caused. After one refused attach,
    /// no more are tried (the reason is noted once).
    fn command(&mut self, sample: usize, line: &str, file: &str) -> Option<String> {
        if self.attach_ok == Some(false) {
            return None;
        }
        let t = self.now();
        (self.events)(Event::Status(&format!("sample {sample}: {line}")));
        let before = self.safepoints();
        let answer = jcmd(self.opts.pid, line);
        let after = self.safepoints();
        let pause = match (before, after) {
            (Some(a), Some(b)) if b.0 >= a.0 => Some((b.1 - a.1).max(0.0)),
            _ => None,
        };
        match answer {
            Ok((false, text)) => {
                self.attach_ok = Some(true);
                let why = text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("failed");
                self.taken(
                    sample,
                    t,
                    line,
                    None,
                    pause,
                    Some(format!("the JVM refused: {why}")),
                );
                Some(text).filter(|_| line.starts_with("VM.native_memory"))
            }
            Ok((true, text)) => {
                self.attach_ok = Some(true);
                let r = self.bundle.write(file, text.as_bytes());
                self.taken(sample, t, line, Some(file), pause, r.err());
                if let Some(p) = pause.filter(|&p| p > 0.0) {
                    (self.events)(Event::Status(&format!(
                        "sample {sample}: {line} paused the JVM {:.1} ms",
                        p * 1e3
                    )));
                }
                Some(text)
            }
            Err(e) => {
                let first = self.attach_ok.is_none();
                self.taken(sample, t, line, None, None, Some(format!("{e:#}")));
                if first {
                    self.attach_ok = Some(false);
                    self.note(format!("attach to process {} failed ({e:#}): only the hsperfdata counters, /proc and the logs are recorded", self.opts.pid));
                }
                None
            }
        }
    }

    /// One sample: counters, process maps, and the JVM's own views of its memory.
    fn sample(&mut self, k: usize) {
        let t = self.now();
        (self.events)(Event::Status(&format!(
            "sample {k} at {t:.1}s: hsperfdata, /proc"
        )));
        self.sample_counters(k, t);
        let pid = self.opts.pid;
        for (src, name) in [
            ("smaps_rollup", format!("smaps_rollup-{k:03}.txt")),
            ("maps", format!("maps-{k:03}.txt")),
        ] {
            let t = self.now();
            let r = std::fs::read(format!("/proc/{pid}/{src}"))
                .and_then(|b| self.bundle.write(&name, &b));
            self.taken(k, t, src, Some(&name), None, r.err());
        }
        if self.nmt_on != Some(false) {
            if let Some(text) =
                self.command(k, "VM.native_memory summary", &format!("nmt-{k:03}.txt"))
            {
                if !text.contains("Native Memory Tracking:") && self.nmt_on != Some(false) {
                    self.nmt_on = Some(false);
                    self.manifest.nmt = "off";
                    self.note_nmt_off();
                }
            }
        }
        self.command(
            k,
            "VM.classloader_stats",
            &format!("classloader-stats-{k:03}.txt"),
        );
        self.command(k, "VM.metaspace", &format!("metaspace-{k:03}.txt"));
        self.manifest.samples = k + 1;
        self.write_manifest();
    }

    /// The counters as `jstat -gc -t` and `-class -t` rows, appended to their files.
    fn sample_counters(&mut self, k: usize, t: f64) {
        let Some(bytes) = self.perf_bytes() else {
            if self.hsperf.is_some() {
                self.taken(k, t, "hsperfdata", None, None, Some("unreadable"));
            }
            return;
        };
        let rows = PerfData::parse(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                jvms::jstat_rows(&p, crate::inputs::live::watch::now_ms())
                    .ok_or_else(|| "not accessible yet".to_string())
            });
        match rows {
            Ok((gc, class)) => {
                self.jstat_gc.push_str(&gc);
                self.jstat_gc.push('\n');
                self.jstat_class.push_str(&class);
                self.jstat_class.push('\n');
                let r = self
                    .bundle
                    .write("jstat-gc.txt", self.jstat_gc.as_bytes())
                    .and_then(|_| {
                        self.bundle
                            .write("jstat-class.txt", self.jstat_class.as_bytes())
                    });
                self.taken(k, t, "hsperfdata", Some("jstat-gc.txt"), None, r.err());
            }
            Err(e) => self.taken(k, t, "hsperfdata", None, None, Some(e)),
        }
    }

    fn write_manifest(&mut self) {
        let text = serde_json::to_string_pretty(&self.manifest).unwrap_or_default();
        if let Err(e) = self.bundle.write(MANIFEST, text.as_bytes()) {
            (self.events)(Event::Note(&format!("cannot write the manifest: {e}")));
        }
    }

    /// The end: the second histogram, the logs' tails, the heap dump; the manifest, finished.
    fn finish(&mut self, stop: &AtomicBool) {
        let k = self.manifest.samples;
        if self.alive() && !stop.load(Ordering::SeqCst) {
            self.command(k, "GC.class_histogram", "histo-last.txt");
        }
        self.copy_logs(k);
        if self.opts.heap_dump && self.alive() && !stop.load(Ordering::SeqCst) {
            self.heap_dump(k);
        }
        self.manifest.finished = true;
        self.write_manifest();
    }

    /// The tails of the GC and class logs the JVM's options name.
    fn copy_logs(&mut self, k: usize) {
        let text =
            std::fs::read_to_string(self.bundle.dir.join("jvm-options.txt")).unwrap_or_default();
        let args: Vec<String> = text.lines().map(String::from).collect();
        let mut used: Vec<String> = Vec::new();
        for out in jvm_logs::log_outputs(&args) {
            let t = self.now();
            let shown = match &out.target {
                jvm_logs::Target::File(f) => f.clone(),
                jvm_logs::Target::Stdout => "stdout".into(),
                jvm_logs::Target::Stderr => "stderr".into(),
            };
            let Some(path) = jvm_logs::resolve(self.opts.pid, self.own_pid, &out.target) else {
                if matches!(out.target, jvm_logs::Target::File(_)) {
                    self.taken(
                        k,
                        t,
                        &format!("log {shown}"),
                        None,
                        None,
                        Some("not found in the target's file system"),
                    );
                }
                continue;
            };
            let base = Path::new(&shown)
                .file_name()
                .map_or("log".into(), |n| n.to_string_lossy().replace('%', "_"));
            let mut name = format!("log-{base}");
            if !name.contains('.') {
                name.push_str(".txt");
            }
            while used.contains(&name) {
                name.insert(4, '_');
            }
            used.push(name.clone());
            let r = jvm_logs::tail(&path, LOG_TAIL).and_then(|b| self.bundle.write(&name, &b));
            self.taken(
                k,
                t,
                &format!("log {shown} ({})", out.what),
                Some(&name),
                None,
                r.err(),
            );
        }
    }

    /// `GC.heap_dump` into the bundle. The JVM writes the file: into the bundle directly when it
    /// shares our mount namespace and user, else into its own `/tmp` (which we read through
    /// `/proc/PID/root`), from where it is copied into the bundle and removed.
    fn heap_dump(&mut self, k: usize) {
        let gz = self
            .manifest
            .java_version
            .as_deref()
            .and_then(major)
            .is_none_or(|m| m >= 15);
        let name = if gz { "heap.hprof.gz" } else { "heap.hprof" };
        let token = format!("{:016x}", files::random_token());
        let (theirs, ours) = if same_namespace_and_user(self.opts.pid) {
            let p = self.bundle.dir.join(format!(".heap-{token}.tmp"));
            (p.display().to_string(), p)
        } else {
            let p = format!("/tmp/oomsleuth-heap-{token}.hprof");
            let ours = PathBuf::from(format!("/proc/{}/root{p}", self.opts.pid));
            (p, ours)
        };
        let line = if gz {
            format!("GC.heap_dump -gz=1 {theirs}")
        } else {
            format!("GC.heap_dump {theirs}")
        };
        let answer = self.command(k, &line, "heap-dump-answer.txt");
        if answer.is_none() {
            let _ = std::fs::remove_file(&ours);
            return;
        }
        let t = self.now();
        let r = self.adopt(&ours, name);
        let _ = std::fs::remove_file(&ours);
        self.taken(k, t, "heap dump", Some(name), None, r.err());
    }

    /// Moves (or copies) a file the JVM wrote into the bundle as `name`, 0600.
    fn adopt(&self, from: &Path, name: &str) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let to = self.bundle.dir.join(name);
        if from.starts_with(&self.bundle.dir) {
            std::fs::set_permissions(from, std::fs::Permissions::from_mode(0o600))?;
            return files::rename_into_place(from, &to);
        }
        let (mut f, tmp) = files::create_unique(&self.bundle.dir, &format!(".{name}.tmp-"), 0o600)?;
        let r = jvm_logs::tail(from, u64::MAX)
            .and_then(|b| f.write_all(&b))
            .and_then(|_| files::rename_into_place(&tmp, &to));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }
}

/// The feature release of a `java.version` (`1.8.0_402` -> 8, `17.0.15` -> 17).
fn major(v: &str) -> Option<u32> {
    let mut it = v.split(['.', '-', '+', '_']);
    let first: u32 = it.next()?.parse().ok()?;
    if first == 1 {
        it.next()?.parse().ok()
    } else {
        Some(first)
    }
}

fn dummy_source(pid: u32) -> jvms::Source {
    jvms::Source {
        host_pid: pid,
        container_pid: None,
        user: String::new(),
        uid: None,
        file: String::new(),
    }
}

/// The process's command line, one argument per entry.
fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `JAVA_TOOL_OPTIONS` and `_JAVA_OPTIONS` from the process's environment (options the JVM reads
/// that are on no command line).
fn tool_options(pid: u32) -> Vec<String> {
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return vec![];
    };
    env.split(|&c| c == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            matches!(k, "JAVA_TOOL_OPTIONS" | "_JAVA_OPTIONS").then(|| v.to_string())
        })
        .flat_map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect()
}

/// NMT on or off from the options (the last `-XX:NativeMemoryTracking=` wins; none is off).
fn nmt_from_args(args: &[String]) -> Option<bool> {
    if args.is_empty() {
        return None;
    }
    let last = args
        .iter()
        .rev()
        .find_map(|a| a.strip_prefix("-XX:NativeMemoryTracking="));
    Some(matches!(last, Some("summary") | Some("detail")))
}

/// Whether the target sees our file system (same mount namespace) and runs as our user, so it can
/// write into the bundle directly.
fn same_namespace_and_user(pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mnt = |p: &str| std::fs::read_link(p).ok();
    let same_ns =
        mnt(&format!("/proc/{pid}/ns/mnt")).is_some_and(|m| Some(m) == mnt("/proc/self/ns/mnt"));
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let theirs = std::fs::metadata(format!("/proc/{pid}")).map(|m| m.uid());
    same_ns && theirs.is_ok_and(|u| u == me)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("oomsleuth-{name}-{:x}", files::random_token()))
    }

    #[test]
    fn bundles_are_private_and_refuse_what_is_not_a_new_directory() {
        let d = tmp("bundle");
        let b = Bundle::create(&d).unwrap();
        b.write("a.txt", b"one").unwrap();
        b.write("a.txt", b"two").unwrap();
        assert_eq!(std::fs::read(d.join("a.txt")).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&d.join("a.txt")), 0o600);
        // Only the file itself: no temporary left behind.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        assert!(Bundle::create(&d).is_err(), "not empty");
        let link = tmp("bundle-link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(Bundle::create(&link).is_err(), "a link");
        std::fs::remove_file(&link).unwrap();
        // A link planted where a file goes is not written through.
        let victim = tmp("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, d.join("b.txt")).unwrap();
        assert!(b.write("b.txt", b"x").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_file(&victim).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn nmt_and_java_versions_from_options() {
        let a = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            nmt_from_args(&a("-Xmx1g -XX:NativeMemoryTracking=summary")),
            Some(true)
        );
        assert_eq!(
            nmt_from_args(&a(
                "-XX:NativeMemoryTracking=detail -XX:NativeMemoryTracking=off"
            )),
            Some(false)
        );
        assert_eq!(nmt_from_args(&a("-Xmx1g")), Some(false));
        assert_eq!(nmt_from_args(&[]), None);
        assert_eq!(major("1.8.0_402"), Some(8));
        assert_eq!(major("17.0.15"), Some(17));
        assert_eq!(major("25"), Some(25));
        assert_eq!(major("x"), None);
    }

    #[test]
    fn records_this_process_from_proc_without_a_jvm() {
        // Not a JVM: no hsperfdata, no attach; /proc is still recorded and the manifest says so.
        let d = tmp("record-self");
        let opts = Options {
            pid: std::process::id(),
            duration: Duration::from_millis(200),
            every: Duration::from_millis(100),
            heap_dump: false,
            dir: d.clone(),
        };
        let stop = AtomicBool::new(false);
        let m = record(&opts, &stop, &|_| {}).unwrap();
        assert_eq!(m.samples, 3);
        assert!(m.finished && !m.interrupted);
        assert!(d.join("smaps_rollup-002.txt").exists());
        assert!(d.join(MANIFEST).exists());
        assert!(
            m.notes.iter().any(|n| n.contains("no hsperfdata")),
            "{:?}",
            m.notes
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
