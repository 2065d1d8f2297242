//! `oomsleuth watch PID`: the samples of one JVM's counters so far, their trends, and the verdict
//! over them.
//!
//! The verdict is not a second one: each sample is kept as the files `oomsleuth record` writes for
//! it (the `jstat -gc -t` and `jstat -class -t` rows of its hsperfdata counters, its
//! `/proc/PID/smaps_rollup`), and [`verdict::analyze_inputs`] decides over them, so that `watch`
//! says what `analyze BUNDLE` would say over the same samples. The trends shown beside it (live
//! set after each GC, classes per minute, GC time share) are read off the same counters.

use crate::analyses::process::jvms::{self, Jvm, Source};
use crate::analyses::process::verdict::{self, Verdict};
use crate::formats::hsperf::PerfData;
use crate::inputs::evidence::{Input, Inputs};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::PathBuf;

pub const SCHEMA: &str = "oomsleuth.watch/1";
/// Samples kept: trends and the verdict cover at most the last this many (an hour at 1 s).
pub const HISTORY: usize = 3600;
/// The window of the per-minute rates.
const MINUTE: f64 = 60.0;

/// One sample, read off the counters.
#[derive(Clone, Debug)]
pub struct Point {
    /// Seconds since the epoch.
    pub unix_seconds: f64,
    pub jvm: Jvm,
    pub old: jvms::Area,
    /// Old generation used when the GC count changed since the previous sample: what the last
    /// collection left (the live set, as far as a GC found it).
    pub live_set_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    /// `smaps_rollup` or `status`.
    pub rss_source: Option<&'static str>,
    /// The sample as `record` writes it: `jstat -gc -t` and `jstat -class -t` rows.
    jstat: Option<(String, String)>,
    smaps_rollup: Option<String>,
}

/// The samples of one watch.
#[derive(Debug)]
pub struct Watch {
    pub pid: u32,
    pub container_pid: Option<u32>,
    /// Samples taken, including those dropped from the history.
    pub samples: usize,
    pub points: VecDeque<Point>,
    /// The live set of the last GC seen (carried between samples without one).
    last_live_set: Option<u64>,
    pub verdict: Verdict,
}

/// What the sample could not be made of.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("not a readable hsperfdata file: {0}")]
    Unreadable(String),
    #[error("the JVM is still starting (its hsperfdata file is not accessible yet)")]
    Starting,
}

impl Watch {
    pub fn new(pid: u32, container_pid: Option<u32>) -> Watch {
        let mut w = Watch {
            pid,
            container_pid,
            samples: 0,
            points: VecDeque::new(),
            last_live_set: None,
            verdict: verdict::analyze_inputs(Inputs::default()).verdict,
        };
        w.verdict = w.decide();
        w
    }

    /// Adds a sample: the hsperfdata bytes read at `unix_seconds`, the process's `smaps_rollup`
    /// and `VmRSS` when read; then decides again.
    pub fn add(
        &mut self,
        unix_seconds: f64,
        perf: &[u8],
        smaps_rollup: Option<String>,
        status_rss: Option<u64>,
    ) -> Result<&Point, SampleError> {
        let p = PerfData::parse(perf).map_err(|e| SampleError::Unreadable(e.to_string()))?;
        let now_ms = (unix_seconds * 1000.0) as i64;
        let jvm = jvms::jvm(self.source(), &p, now_ms);
        if jvm.state != "ok" {
            return Err(SampleError::Starting);
        }
        let old = jvms::old_gen(&p);
        let gc_changed = match (
            self.points.back().and_then(|b| b.jvm.gc_count),
            jvm.gc_count,
        ) {
            (Some(a), Some(b)) => b != a,
            (None, Some(b)) => b > 0,
            _ => false,
        };
        if gc_changed {
            self.last_live_set = old.used_bytes;
        }
        let rollup_rss = smaps_rollup.as_deref().and_then(rollup_rss);
        let (rss_bytes, rss_source) = match (rollup_rss, status_rss) {
            (Some(r), _) => (Some(r), Some("smaps_rollup")),
            (None, Some(r)) => (Some(r), Some("status")),
            _ => (None, None),
        };
        let point = Point {
            unix_seconds,
            jvm,
            old,
            live_set_bytes: self.last_live_set,
            rss_bytes,
            rss_source,
            jstat: jvms::jstat_rows(&p, now_ms),
            smaps_rollup,
        };
        self.points.push_back(point);
        while self.points.len() > HISTORY {
            self.points.pop_front();
        }
        self.samples += 1;
        self.verdict = self.decide();
        Ok(self.points.back().expect("just pushed"))
    }

    fn source(&self) -> Source {
        Source {
            host_pid: self.pid,
            container_pid: self.container_pid,
            user: String::new(),
            uid: None,
            file: String::new(),
        }
    }

    /// The samples as the files of a `record` bundle (same names, same contents, smaps_rollup
    /// files dated by their samples), each format detected as `analyze` detects it.
    pub fn inputs(&self) -> Inputs {
        let mut gc = format!("{}\n", jvms::JSTAT_GC_HEADER);
        let mut class = format!("{}\n", jvms::JSTAT_CLASS_HEADER);
        for (g, c) in self.points.iter().filter_map(|p| p.jstat.as_ref()) {
            gc.push_str(g);
            gc.push('\n');
            class.push_str(c);
            class.push('\n');
        }
        let with_rows = self.points.iter().any(|p| p.jstat.is_some());
        let mut files: Vec<(String, String, Option<f64>)> = Vec::new();
        if with_rows {
            files.push(("jstat-class.txt".into(), class, None));
            files.push(("jstat-gc.txt".into(), gc, None));
        }
        let first = self.samples - self.points.len();
        for (k, p) in self.points.iter().enumerate() {
            if let Some(text) = &p.smaps_rollup {
                let name = format!("smaps_rollup-{:03}.txt", first + k);
                files.push((name, text.clone(), Some(p.unix_seconds)));
            }
        }
        let mut inputs = Inputs::default();
        for (name, text, mtime) in files {
            if let Some(kind) = crate::inputs::detect::detect(text.as_bytes()) {
                inputs.files.push(Input {
                    path: PathBuf::from(name),
                    kind,
                    text,
                    mtime,
                });
            }
        }
        inputs
    }

    fn decide(&self) -> Verdict {
        verdict::analyze_inputs(self.inputs()).verdict
    }

    /// The newest sample.
    pub fn last(&self) -> Option<&Point> {
        self.points.back()
    }

    /// The oldest sample within the last minute before the newest (the first one when the watch
    /// is younger), and the newest: the ends of the per-minute rates.
    fn minute(&self) -> Option<(&Point, &Point)> {
        let last = self.points.back()?;
        let first = self
            .points
            .iter()
            .find(|p| p.unix_seconds >= last.unix_seconds - MINUTE - 1e-6)?;
        Some((first, last))
    }

    /// Classes loaded minus unloaded, per minute, over the last minute.
    pub fn classes_live_per_minute(&self) -> Option<f64> {
        let (a, b) = self.minute()?;
        let dt = b.unix_seconds - a.unix_seconds;
        if dt <= 0.0 {
            return None;
        }
        let live = |p: &Point| Some(p.jvm.classes_loaded? as f64 - p.jvm.classes_unloaded? as f64);
        Some((live(b)? - live(a)?) * MINUTE / dt)
    }

    /// Percent of the JVM's time spent in GC over the last minute (its own clock and GC timers).
    pub fn gc_time_percent(&self) -> Option<f64> {
        let (a, b) = self.minute()?;
        let dt = b.jvm.uptime_seconds? - a.jvm.uptime_seconds?;
        if dt <= 0.0 {
            return None;
        }
        let gc = b.jvm.gc_seconds? - a.jvm.gc_seconds?;
        Some((100.0 * gc / dt).clamp(0.0, 100.0))
    }

    /// One value of every sample kept, oldest first (None where the sample lacks it).
    pub fn trend(&self, f: impl Fn(&Point) -> Option<u64>) -> Vec<Option<u64>> {
        self.points.iter().map(f).collect()
    }

    /// The JSON line of the newest sample.
    pub fn line(&self) -> Option<Line<'_>> {
        let p = self.points.back()?;
        let j = &p.jvm;
        Some(Line {
            schema: SCHEMA,
            state: "running",
            sample: self.samples,
            time_unix_seconds: p.unix_seconds,
            pid: self.pid,
            container_pid: self.container_pid,
            main: j.main.as_deref(),
            java_version: j.java_version.as_deref(),
            gc_policy: j.gc_policy.as_deref(),
            uptime_seconds: j.uptime_seconds,
            heap_used_bytes: j.heap.used_bytes,
            heap_committed_bytes: j.heap.committed_bytes,
            heap_max_bytes: j.heap.max_bytes,
            old_used_bytes: p.old.used_bytes,
            old_committed_bytes: p.old.committed_bytes,
            live_set_after_gc_bytes: p.live_set_bytes,
            metaspace_used_bytes: j.metaspace.used_bytes,
            metaspace_committed_bytes: j.metaspace.committed_bytes,
            metaspace_max_bytes: j.metaspace.max_bytes,
            class_space_used_bytes: j.class_space.used_bytes,
            class_space_committed_bytes: j.class_space.committed_bytes,
            class_space_max_bytes: j.class_space.max_bytes,
            classes_loaded: j.classes_loaded,
            classes_unloaded: j.classes_unloaded,
            classes_live: j
                .classes_loaded
                .zip(j.classes_unloaded)
                .map(|(l, u)| l.saturating_sub(u)),
            classes_live_per_minute: self.classes_live_per_minute(),
            gc_count: j.gc_count,
            gc_seconds: j.gc_seconds,
            gc_time_percent_last_minute: self.gc_time_percent(),
            rss_bytes: p.rss_bytes,
            rss_source: p.rss_source,
            verdict: &self.verdict,
        })
    }

    /// The last JSON line: the target exited.
    pub fn exit_line(&self, unix_seconds: f64) -> ExitLine<'_> {
        ExitLine {
            schema: SCHEMA,
            state: "exited",
            samples: self.samples,
            time_unix_seconds: unix_seconds,
            pid: self.pid,
            container_pid: self.container_pid,
            verdict: &self.verdict,
        }
    }
}

/// The `Rss:` total of a `smaps_rollup`, bytes.
fn rollup_rss(text: &str) -> Option<u64> {
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Rss:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// One line of `watch --json` per sample (docs/json.md, `oomsleuth.watch/1`).
#[derive(Debug, Serialize)]
pub struct Line<'a> {
    pub schema: &'static str,
    /// `running` (the last line, [`ExitLine`], says `exited`).
    pub state: &'static str,
    /// 1 for the first sample.
    pub sample: usize,
    pub time_unix_seconds: f64,
    pub pid: u32,
    pub container_pid: Option<u32>,
    pub main: Option<&'a str>,
    pub java_version: Option<&'a str>,
    pub gc_policy: Option<&'a str>,
    pub uptime_seconds: Option<f64>,
    pub heap_used_bytes: Option<u64>,
    pub heap_committed_bytes: Option<u64>,
    pub heap_max_bytes: Option<u64>,
    pub old_used_bytes: Option<u64>,
    pub old_committed_bytes: Option<u64>,
    pub live_set_after_gc_bytes: Option<u64>,
    pub metaspace_used_bytes: Option<u64>,
    pub metaspace_committed_bytes: Option<u64>,
    pub metaspace_max_bytes: Option<u64>,
    pub class_space_used_bytes: Option<u64>,
    pub class_space_committed_bytes: Option<u64>,
    pub class_space_max_bytes: Option<u64>,
    pub classes_loaded: Option<u64>,
    pub classes_unloaded: Option<u64>,
    pub classes_live: Option<u64>,
    pub classes_live_per_minute: Option<f64>,
    pub gc_count: Option<u64>,
    pub gc_seconds: Option<f64>,
    pub gc_time_percent_last_minute: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub rss_source: Option<&'static str>,
    /// The verdict over the samples so far: `analyze BUNDLE`'s verdict object.
    pub verdict: &'a Verdict,
}

/// The last line of `watch --json` when the target exits.
#[derive(Debug, Serialize)]
pub struct ExitLine<'a> {
    pub schema: &'static str,
    pub state: &'static str,
    pub samples: usize,
    pub time_unix_seconds: f64,
    pub pid: u32,
    pub container_pid: Option<u32>,
    pub verdict: &'a Verdict,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::hsperf::tests::{build, TestValue::*};

    /// A G1 JVM's counters at second `t` of a class leak: 2,000 classes and 3 MiB of Metaspace
    /// more each second, one GC each second.
    fn leaking(t: u64) -> Vec<u8> {
        let mib = 1i64 << 20;
        let t = t as i64;
        build(
            false,
            &[
                ("sun.rt.javaCommand", Str("com.example.Leaky")),
                ("java.property.java.version", Str("17.0.15")),
                ("sun.gc.policy.name", Str("GarbageFirst")),
                ("sun.os.hrt.frequency", Long(1_000_000_000)),
                ("sun.os.hrt.ticks", Long((10 + t) * 1_000_000_000)),
                ("sun.gc.generation.0.spaces", Long(1)),
                ("sun.gc.generation.0.maxCapacity", Long(64 * mib)),
                ("sun.gc.generation.0.space.0.used", Long(mib)),
                ("sun.gc.generation.0.space.0.capacity", Long(8 * mib)),
                ("sun.gc.generation.1.spaces", Long(1)),
                ("sun.gc.generation.1.maxCapacity", Long(64 * mib)),
                ("sun.gc.generation.1.space.0.used", Long(10 * mib)),
                ("sun.gc.generation.1.space.0.capacity", Long(32 * mib)),
                ("sun.gc.metaspace.used", Long((10 + 3 * t) * mib)),
                ("sun.gc.metaspace.capacity", Long((11 + 3 * t) * mib)),
                ("sun.gc.metaspace.maxCapacity", Long(1 << 30)),
                ("java.cls.loadedClasses", Long(1000 + 2000 * t)),
                ("java.cls.sharedLoadedClasses", Long(500)),
                ("java.cls.unloadedClasses", Long(0)),
                ("sun.gc.collector.0.name", Str("G1 young")),
                ("sun.gc.collector.0.invocations", Long(2 + t)),
                (
                    "sun.gc.collector.0.time",
                    Long(100_000_000 + t * 10_000_000),
                ),
            ],
        )
    }

    fn rollup(rss_mib: u64) -> String {
        format!(
            "00400000-7fff0000 ---p 00000000 00:00 0 [rollup]\nRss: {} kB\nAnonymous: {} kB\n",
            rss_mib * 1024,
            rss_mib * 1024 - 4096
        )
    }

    fn watched(n: u64) -> Watch {
        let mut w = Watch::new(4242, None);
        for t in 0..n {
            w.add(1.7e9 + t as f64, &leaking(t), Some(rollup(200 + t)), None)
                .unwrap();
        }
        w
    }

    #[test]
    fn trends_are_the_counters_differences() {
        let w = watched(5);
        let l = w.line().unwrap();
        assert_eq!(l.sample, 5);
        assert_eq!(l.classes_loaded, Some(1000 + 8000 + 500));
        assert_eq!(l.classes_live, Some(9500));
        assert_eq!(
            l.classes_live_per_minute.map(|r| r.round()),
            Some(120_000.0)
        );
        // 10 ms of GC per second of uptime.
        assert_eq!(l.gc_time_percent_last_minute.map(|p| p.round()), Some(1.0));
        assert_eq!(l.live_set_after_gc_bytes, Some(10 << 20));
        assert_eq!(l.rss_bytes, Some(204 << 20));
        assert_eq!(l.rss_source, Some("smaps_rollup"));
    }

    #[test]
    fn the_verdict_is_what_analyze_says_over_the_same_files() {
        // The samples written as a bundle and read back by `analyze`'s own reader.
        let w = watched(6);
        assert_eq!(w.verdict.area, verdict::Area::Metaspace, "{:#?}", w.verdict);
        let dir = std::env::temp_dir().join(format!(
            "oomsleuth-watch-{}-{:x}",
            std::process::id(),
            crate::formats::files::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for f in w.inputs().files {
            let path = dir.join(&f.path);
            std::fs::write(&path, &f.text).unwrap();
            if let Some(m) = f.mtime {
                let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(m);
                std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(t)
                    .unwrap();
            }
        }
        let from_files = verdict::analyze_inputs(
            crate::inputs::evidence::read_evidence(std::slice::from_ref(&dir)).unwrap(),
        )
        .verdict;
        std::fs::remove_dir_all(&dir).unwrap();
        let strip = |v: &Verdict| {
            let mut j = serde_json::to_value(v).unwrap();
            for e in j["evidence"].as_array_mut().unwrap() {
                e["files"] = serde_json::Value::Null; // paths differ: names here, dir/name there
            }
            j
        };
        assert_eq!(strip(&w.verdict), strip(&from_files));
    }

    #[test]
    fn bad_samples_are_errors_not_panics() {
        let mut w = Watch::new(1, None);
        assert!(matches!(
            w.add(0.0, b"garbage", None, None),
            Err(SampleError::Unreadable(_))
        ));
        assert!(w.line().is_none());
        assert_eq!(w.verdict.area, verdict::Area::None);
        let e = w.exit_line(1.0);
        assert_eq!(e.state, "exited");
    }
}
