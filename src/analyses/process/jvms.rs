//! `oomsleuth jvms`: what each HotSpot JVM's hsperfdata counters say about it (the numbers `jstat`
//! prints), read from the file alone: no attach, no safepoint, nothing loaded into the target.
//!
//! Every counter name this module reads is in [`counters`], with what differs between JDK 8 and 25:
//! a counter a JVM does not have gives `None`, never 0.

use crate::formats::hsperf::{PerfData, Value};
use serde::Serialize;

/// The counter names, and where JDKs 8 to 25 differ. jstat's own formulas (`jstat_options` in the
/// JDK) are the reference: `-gc` sums the spaces of `sun.gc.generation.N.space.M`, `-class` adds the
/// shared (CDS) classes to the others.
pub mod counters {
    pub const JAVA_COMMAND: &str = "sun.rt.javaCommand";
    pub const JAVA_VERSION: &str = "java.property.java.version";
    pub const VM_VERSION: &str = "java.property.java.vm.version";
    pub const VM_NAME: &str = "java.property.java.vm.name";
    /// Fallback for the release when the `java.property.*` counters are missing (a JVM started
    /// with `-XX:-UsePerfData` has no file at all; a JDK built without them has this one): the
    /// HotSpot version as 0xMMmmuubb (major, minor, micro, build).
    pub const JVM_VERSION: &str = "sun.rt.jvmVersion";
    pub const GC_POLICY: &str = "sun.gc.policy.name";
    /// Ticks since the JVM started (jstat -t's Timestamp), and ticks per second.
    pub const HRT_TICKS: &str = "sun.os.hrt.ticks";
    pub const HRT_FREQUENCY: &str = "sun.os.hrt.frequency";
    /// Milliseconds since the epoch when the JVM started: the uptime when the ticks are absent.
    pub const VM_BEGIN_MS: &str = "sun.rt.createVmBeginTime";
    pub const GENERATION: &str = "sun.gc.generation.";
    /// JDK 7 and older: PermGen was `sun.gc.generation.2` (name `perm`); it is not heap. JDK 8 has
    /// Metaspace and no perm generation.
    pub const PERM_GENERATION_NAME: &str = "perm";
    /// G1 (`GarbageFirst`) gives each of its generations the whole heap as maximum (the others'
    /// maxima add up); up to JDK 17 it also pads every capacity by 8 bytes per space
    /// (`G1MonitoringSupport::pad_capacity`), so its young generation's maximum is the heap's plus
    /// 24, its old generation's plus 8: the smallest is the heap's maximum.
    pub const G1_POLICY: &str = "GarbageFirst";
    pub const METASPACE: &str = "sun.gc.metaspace.";
    /// Absent with -XX:-UseCompressedClassPointers (and on 32-bit JVMs).
    pub const CLASS_SPACE: &str = "sun.gc.compressedclassspace.";
    pub const LOADED: &str = "java.cls.loadedClasses";
    pub const UNLOADED: &str = "java.cls.unloadedClasses";
    /// Classes from the CDS archive, which `java.cls.loadedClasses` does not count (JDK 8+).
    pub const SHARED_LOADED: &str = "java.cls.sharedLoadedClasses";
    pub const SHARED_UNLOADED: &str = "java.cls.sharedUnloadedClasses";
    /// `sun.gc.collector.N.{name,invocations,time}`: 0 young, 1 full (old), 2 G1's concurrent
    /// cycle pauses (JDK 9+; jstat's CGC).
    pub const COLLECTOR: &str = "sun.gc.collector.";
}

/// Where one JVM's file was found.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The pid as this host sees it.
    pub host_pid: u32,
    /// The pid in the JVM's own pid namespace (what names its file), when it differs.
    pub container_pid: Option<u32>,
    /// The user the JVM runs as: the `hsperfdata_<user>` directory's name.
    pub user: String,
    /// The file owner's uid (as this host sees it).
    pub uid: Option<u32>,
    /// The file, as this process opened it.
    pub file: String,
}

/// A file that was found but could not be read or parsed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Used, committed and maximum bytes of a memory area.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Area {
    pub used_bytes: Option<u64>,
    pub committed_bytes: Option<u64>,
    pub max_bytes: Option<u64>,
}

/// One garbage collector (jstat's YGC/FGC/CGC columns).
#[derive(Debug, Clone, Serialize)]
pub struct Collector {
    pub name: Option<String>,
    pub invocations: Option<u64>,
    pub seconds: Option<f64>,
}

/// One JVM.
#[derive(Debug, Clone, Serialize)]
pub struct Jvm {
    #[serde(flatten)]
    pub source: Source,
    /// `ok`, or `starting` while the JVM is still writing its file (its counters are then absent).
    pub state: &'static str,
    /// The main class, or the jar after `-jar`: the first word of `sun.rt.javaCommand`.
    pub main: Option<String>,
    /// The whole `sun.rt.javaCommand` (main class or jar, and the program's arguments).
    pub command: Option<String>,
    pub java_version: Option<String>,
    pub vm_version: Option<String>,
    pub vm_name: Option<String>,
    /// The GC policy as HotSpot names it (`GarbageFirst`, `ParMarkSweep`, `Copy:MSC`, ...).
    pub gc_policy: Option<String>,
    pub uptime_seconds: Option<f64>,
    pub heap: Area,
    pub metaspace: Area,
    pub class_space: Area,
    /// Loaded and unloaded classes, CDS-archived ones included (as `jstat -class` counts them).
    pub classes_loaded: Option<u64>,
    pub classes_unloaded: Option<u64>,
    pub gc_count: Option<u64>,
    pub gc_seconds: Option<f64>,
    pub collectors: Vec<Collector>,
}

/// `oomsleuth jvms`: every JVM found, and the files that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct JvmsReport {
    pub schema: &'static str,
    pub jvms: Vec<Jvm>,
    pub skipped: Vec<Skipped>,
    /// What the search could not look at (other users' processes, ...).
    pub notes: Vec<String>,
}

/// The report over what discovery found, ordered by host pid.
pub fn report(
    found: Vec<(Source, Vec<u8>)>,
    mut skipped: Vec<Skipped>,
    notes: Vec<String>,
    now_ms: i64,
) -> JvmsReport {
    let mut jvms = Vec::new();
    for (source, bytes) in found {
        match PerfData::parse(&bytes) {
            Ok(perf) => jvms.push(jvm(source, &perf, now_ms)),
            // Not yet accessible: the JVM is writing its entries; what is there may be partial.
            Err(_) if bytes.len() >= 8 && bytes[7] == 0 => jvms.push(starting(source)),
            Err(e) => skipped.push(Skipped {
                path: source.file.clone(),
                reason: format!("not a readable hsperfdata file: {e}"),
            }),
        }
    }
    jvms.sort_by_key(|j| j.source.host_pid);
    JvmsReport {
        schema: "oomsleuth.jvms/1",
        jvms,
        skipped,
        notes,
    }
}

fn starting(source: Source) -> Jvm {
    Jvm {
        source,
        state: "starting",
        main: None,
        command: None,
        java_version: None,
        vm_version: None,
        vm_name: None,
        gc_policy: None,
        uptime_seconds: None,
        heap: Area::default(),
        metaspace: Area::default(),
        class_space: Area::default(),
        classes_loaded: None,
        classes_unloaded: None,
        gc_count: None,
        gc_seconds: None,
        collectors: vec![],
    }
}

/// Counter lookups by name (a file has about 200 entries; one map beats 200 scans per lookup).
struct Counters<'a> {
    by_name: std::collections::HashMap<&'a str, Value<'a>>,
}

impl<'a> Counters<'a> {
    fn new(perf: &PerfData<'a>) -> Counters<'a> {
        Counters {
            by_name: perf.entries.iter().map(|e| (e.name, e.value)).collect(),
        }
    }

    fn long(&self, name: &str) -> Option<i64> {
        match self.by_name.get(name)? {
            Value::Long(v) => Some(*v),
            _ => None,
        }
    }

    /// A count or size: negative values (never written by HotSpot) are treated as absent.
    fn count(&self, name: &str) -> Option<u64> {
        self.long(name).and_then(|v| u64::try_from(v).ok())
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.by_name.get(name)? {
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    fn area(&self, prefix: &str) -> Area {
        Area {
            used_bytes: self.count(&format!("{prefix}used")),
            committed_bytes: self.count(&format!("{prefix}capacity")),
            max_bytes: self.count(&format!("{prefix}maxCapacity")),
        }
    }
}

/// One JVM's summary from its counters.
pub fn jvm(source: Source, perf: &PerfData<'_>, now_ms: i64) -> Jvm {
    use counters::*;
    let c = Counters::new(perf);
    if !perf.prologue.accessible {
        return starting(source);
    }
    let command = c.string(JAVA_COMMAND);
    let frequency = c.count(HRT_FREQUENCY).filter(|&f| f > 0);
    let seconds = |ticks: Option<u64>| Some(ticks? as f64 / frequency? as f64);
    let uptime_seconds = seconds(c.count(HRT_TICKS)).or_else(|| {
        let begin = c.long(VM_BEGIN_MS).filter(|&b| b > 0 && b <= now_ms)?;
        Some((now_ms - begin) as f64 / 1000.0)
    });
    let collectors = collectors(&c, &seconds);
    let sum = |f: fn(&Collector) -> Option<f64>| -> Option<f64> {
        collectors.iter().map(f).sum::<Option<f64>>()
    };
    let gc_count = sum(|k| k.invocations.map(|v| v as f64)).map(|v| v as u64);
    let gc_seconds = sum(|k| k.seconds);
    let gc_policy = c.string(GC_POLICY);
    Jvm {
        main: command
            .as_deref()
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_string),
        command,
        java_version: c.string(JAVA_VERSION).or_else(|| {
            let v = c.count(JVM_VERSION)?;
            Some(format!(
                "{}.{}.{}",
                v >> 24,
                (v >> 16) & 0xff,
                (v >> 8) & 0xff
            ))
        }),
        vm_version: c.string(VM_VERSION),
        vm_name: c.string(VM_NAME),
        heap: heap(&c, gc_policy.as_deref() == Some(G1_POLICY)),
        gc_policy,
        uptime_seconds,
        metaspace: c.area(METASPACE),
        class_space: c.area(CLASS_SPACE),
        classes_loaded: add(c.count(LOADED), c.count(SHARED_LOADED)),
        classes_unloaded: add(c.count(UNLOADED), c.count(SHARED_UNLOADED)),
        gc_count: if collectors.is_empty() {
            None
        } else {
            gc_count
        },
        gc_seconds: if collectors.is_empty() {
            None
        } else {
            gc_seconds
        },
        collectors,
        source,
        state: "ok",
    }
}

/// `a + b` where `b` may be missing (a JDK without CDS counters); `None` when `a` is.
fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(a? + b.unwrap_or(0))
}

fn collectors(c: &Counters<'_>, seconds: &dyn Fn(Option<u64>) -> Option<f64>) -> Vec<Collector> {
    use counters::COLLECTOR;
    (0..)
        .map_while(|n| {
            let p = format!("{COLLECTOR}{n}.");
            let invocations = c.count(&format!("{p}invocations"));
            let name = c.string(&format!("{p}name"));
            (invocations.is_some() || name.is_some()).then(|| Collector {
                name,
                invocations,
                seconds: seconds(c.count(&format!("{p}time"))),
            })
        })
        .collect()
}

/// The heap: used and committed are the sums over every space of every generation (jstat -gc's
/// S0U+S1U+EU+OU and S0C+S1C+EC+OC); the maximum the generations' maxima added up, or, for G1,
/// the smallest of them.
fn heap(c: &Counters<'_>, g1: bool) -> Area {
    use counters::{GENERATION, PERM_GENERATION_NAME};
    let mut used: Option<u64> = None;
    let mut committed: Option<u64> = None;
    let mut maxes = Vec::new();
    for g in 0.. {
        let p = format!("{GENERATION}{g}.");
        let Some(spaces) = c.count(&format!("{p}spaces")) else {
            break;
        };
        if c.string(&format!("{p}name")).as_deref() == Some(PERM_GENERATION_NAME) {
            continue;
        }
        for s in 0..spaces {
            let sp = format!("{p}space.{s}.");
            if let Some(u) = c.count(&format!("{sp}used")) {
                used = Some(used.unwrap_or(0) + u);
            }
            if let Some(k) = c.count(&format!("{sp}capacity")) {
                committed = Some(committed.unwrap_or(0) + k);
            }
        }
        maxes.push(c.count(&format!("{p}maxCapacity")));
    }
    let maxes: Option<Vec<u64>> = maxes.into_iter().collect();
    let max = maxes.filter(|m| !m.is_empty()).map(|m| {
        if g1 {
            m.into_iter().min().unwrap_or(0)
        } else {
            m.into_iter().sum()
        }
    });
    Area {
        used_bytes: used,
        committed_bytes: committed,
        max_bytes: max,
    }
}

/// `jstat -gc -t`'s header (JDK 9+, with the concurrent-cycle columns CGC and CGCT).
pub const JSTAT_GC_HEADER: &str =
    "Timestamp S0C S1C S0U S1U EC EU OC OU MC MU CCSC CCSU YGC YGCT FGC FGCT CGC CGCT GCT";
/// `jstat -class -t`'s header.
pub const JSTAT_CLASS_HEADER: &str = "Timestamp Loaded Bytes Unloaded Bytes Time";

/// One row of `jstat -gc -t` and one of `jstat -class -t` from a sample of the counters, with
/// jstat's own formulas (`jstat_options`: sizes in KB, times in seconds, `-` for a counter this
/// JVM lacks), so that samples of the file read as the jstat outputs people capture by hand and
/// the `jstat` analysis reads them unchanged. `None` while the file is not accessible or has no
/// clock: a row without its time would not order. The time is jstat's (`sun.os.hrt.ticks`), or on
/// JDK 25, which has no ticks counter, `now_ms` minus the JVM's start time (as [`jvm`] does).
pub fn jstat_rows(perf: &PerfData<'_>, now_ms: i64) -> Option<(String, String)> {
    use counters::*;
    if !perf.prologue.accessible {
        return None;
    }
    let c = Counters::new(perf);
    let freq = c.count(HRT_FREQUENCY).filter(|&f| f > 0)? as f64;
    let ticks = match c.count(HRT_TICKS) {
        Some(t) => t as f64,
        None => {
            let begin = c.long(VM_BEGIN_MS).filter(|&b| b > 0 && b <= now_ms)?;
            (now_ms - begin) as f64 / 1000.0 * freq
        }
    };
    let kb = |name: &str| match c.count(name) {
        Some(v) => format!("{:.1}", v as f64 / 1024.0),
        None => "-".into(),
    };
    let kb_sum = |a: &str, b: &str| match c.count(a) {
        Some(v) => format!("{:.1}", (v + c.count(b).unwrap_or(0)) as f64 / 1024.0),
        None => "-".into(),
    };
    let n = |name: &str| c.count(name).map_or("-".into(), |v| v.to_string());
    let n_sum = |a: &str, b: &str| {
        c.count(a)
            .map_or("-".into(), |v| (v + c.count(b).unwrap_or(0)).to_string())
    };
    let secs = |name: &str| c.count(name).map(|v| v as f64 / freq);
    let fmt_secs = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    // Metaspace's counters are only updated by a GC: before the first, they read 0, which is no
    // size a running JVM's Metaspace has ("-": unknown, not a rise from 0 later).
    let meta_known = c
        .count(&format!("{METASPACE}capacity"))
        .is_some_and(|v| v > 0);
    let meta_kb = |name: &str| if meta_known { kb(name) } else { "-".into() };
    let gen0 = format!("{GENERATION}0.space.");
    let gen1 = format!("{GENERATION}1.space.0.");
    let col = |k: usize| format!("{COLLECTOR}{k}.");
    let gc_times: Vec<Option<f64>> = (0..3).map(|k| secs(&format!("{}time", col(k)))).collect();
    let gct: f64 = gc_times.iter().flatten().sum();
    let gc = [
        format!("{:.1}", ticks / freq),
        kb(&format!("{gen0}1.capacity")),
        kb(&format!("{gen0}2.capacity")),
        kb(&format!("{gen0}1.used")),
        kb(&format!("{gen0}2.used")),
        kb(&format!("{gen0}0.capacity")),
        kb(&format!("{gen0}0.used")),
        kb(&format!("{gen1}capacity")),
        kb(&format!("{gen1}used")),
        meta_kb(&format!("{METASPACE}capacity")),
        meta_kb(&format!("{METASPACE}used")),
        meta_kb(&format!("{CLASS_SPACE}capacity")),
        meta_kb(&format!("{CLASS_SPACE}used")),
        n(&format!("{}invocations", col(0))),
        fmt_secs(gc_times[0]),
        n(&format!("{}invocations", col(1))),
        fmt_secs(gc_times[1]),
        n(&format!("{}invocations", col(2))),
        fmt_secs(gc_times[2]),
        format!("{gct:.3}"),
    ]
    .join(" ");
    let class = [
        format!("{:.1}", ticks / freq),
        n_sum(LOADED, SHARED_LOADED),
        kb_sum("sun.cls.loadedBytes", "sun.cls.sharedLoadedBytes"),
        n_sum(UNLOADED, SHARED_UNLOADED),
        kb_sum("sun.cls.unloadedBytes", "sun.cls.sharedUnloadedBytes"),
        fmt_secs(secs("sun.cls.time")),
    ]
    .join(" ");
    Some((gc, class))
}

/// The old generation (jstat -gc's OU and OC: `sun.gc.generation.1.space.0`), what is left in it
/// after a collection being the heap's live set as jstat users read it.
pub fn old_gen(perf: &PerfData<'_>) -> Area {
    let c = Counters::new(perf);
    let p = format!("{}1.space.0.", counters::GENERATION);
    Area {
        used_bytes: c.count(&format!("{p}used")),
        committed_bytes: c.count(&format!("{p}capacity")),
        max_bytes: c.count(&format!("{p}maxCapacity")),
    }
}

/// Safepoints so far and the seconds spent in them (`sun.rt.safepoints`, `sun.rt.safepointTime`):
/// read before and after a command, the difference is the pause it caused, as the JVM measured it.
pub fn safepoints(perf: &PerfData<'_>) -> Option<(u64, f64)> {
    let c = Counters::new(perf);
    let freq = c.count(counters::HRT_FREQUENCY).filter(|&f| f > 0)? as f64;
    Some((
        c.count("sun.rt.safepoints")?,
        c.count("sun.rt.safepointTime")? as f64 / freq,
    ))
}

/// The JVM's options as it recorded them (`java.rt.vmArgs`: the command line's and
/// `JDK_JAVA_OPTIONS`'), and its Java version.
pub fn vm_args_and_version(perf: &PerfData<'_>) -> (Option<String>, Option<String>) {
    let c = Counters::new(perf);
    (c.string("java.rt.vmArgs"), c.string(counters::JAVA_VERSION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::hsperf::tests::{build, TestValue::*};

    fn source() -> Source {
        Source {
            host_pid: 4242,
            container_pid: Some(1),
            user: "app".into(),
            uid: Some(1000),
            file: "/proc/4242/root/tmp/hsperfdata_app/1".into(),
        }
    }

    fn parallel() -> Vec<u8> {
        build(
            false,
            &[
                ("sun.rt.javaCommand", Str("app.jar --port 80")),
                ("java.property.java.version", Str("11.0.2")),
                ("sun.gc.policy.name", Str("ParMarkSweep")),
                ("sun.os.hrt.frequency", Long(1_000_000_000)),
                ("sun.os.hrt.ticks", Long(90_500_000_000)),
                ("sun.gc.generation.0.spaces", Long(3)),
                ("sun.gc.generation.0.maxCapacity", Long(100)),
                ("sun.gc.generation.0.space.0.used", Long(10)),
                ("sun.gc.generation.0.space.0.capacity", Long(20)),
                ("sun.gc.generation.0.space.1.used", Long(1)),
                ("sun.gc.generation.0.space.1.capacity", Long(2)),
                ("sun.gc.generation.0.space.2.used", Long(0)),
                ("sun.gc.generation.0.space.2.capacity", Long(2)),
                ("sun.gc.generation.1.spaces", Long(1)),
                ("sun.gc.generation.1.maxCapacity", Long(300)),
                ("sun.gc.generation.1.space.0.used", Long(50)),
                ("sun.gc.generation.1.space.0.capacity", Long(60)),
                ("sun.gc.metaspace.used", Long(7)),
                ("sun.gc.metaspace.capacity", Long(8)),
                ("sun.gc.metaspace.maxCapacity", Long(9)),
                ("java.cls.loadedClasses", Long(400)),
                ("java.cls.sharedLoadedClasses", Long(600)),
                ("java.cls.unloadedClasses", Long(3)),
                ("sun.gc.collector.0.name", Str("PSScavenge")),
                ("sun.gc.collector.0.invocations", Long(4)),
                ("sun.gc.collector.0.time", Long(250_000_000)),
                ("sun.gc.collector.1.name", Str("PSParallelCompact")),
                ("sun.gc.collector.1.invocations", Long(1)),
                ("sun.gc.collector.1.time", Long(500_000_000)),
            ],
        )
    }

    #[test]
    fn sums_as_jstat_does_and_leaves_absent_counters_none() {
        let bytes = parallel();
        let j = jvm(source(), &PerfData::parse(&bytes).unwrap(), 0);
        assert_eq!(j.state, "ok");
        assert_eq!(j.main.as_deref(), Some("app.jar"));
        assert_eq!(j.java_version.as_deref(), Some("11.0.2"));
        assert_eq!(j.vm_version, None);
        assert_eq!(j.uptime_seconds, Some(90.5));
        assert_eq!(
            j.heap,
            Area {
                used_bytes: Some(61),
                committed_bytes: Some(84),
                max_bytes: Some(400)
            }
        );
        assert_eq!(j.metaspace.used_bytes, Some(7));
        assert_eq!(
            j.class_space,
            Area::default(),
            "no class space counters: None, not 0"
        );
        assert_eq!(j.classes_loaded, Some(1000));
        assert_eq!(j.classes_unloaded, Some(3));
        assert_eq!(j.gc_count, Some(5));
        assert_eq!(j.gc_seconds, Some(0.75));
        assert_eq!(j.collectors.len(), 2);
    }

    #[test]
    fn g1s_maximum_is_the_heap_not_the_sum_of_its_generations() {
        let bytes = build(
            true,
            &[
                ("sun.gc.policy.name", Str("GarbageFirst")),
                ("sun.gc.generation.0.spaces", Long(0)),
                ("sun.gc.generation.0.maxCapacity", Long(280)),
                ("sun.gc.generation.1.spaces", Long(0)),
                ("sun.gc.generation.1.maxCapacity", Long(264)),
                ("sun.rt.createVmBeginTime", Long(1_000)),
            ],
        );
        let j = jvm(source(), &PerfData::parse(&bytes).unwrap(), 3_500);
        assert_eq!(j.heap.max_bytes, Some(264));
        assert_eq!(j.heap.used_bytes, None);
        assert_eq!(
            j.uptime_seconds,
            Some(2.5),
            "from the start time when no ticks"
        );
        assert_eq!(j.gc_count, None);
        assert_eq!(j.classes_loaded, None);
    }

    #[test]
    fn files_being_written_or_broken_are_reported() {
        let mut starting = parallel();
        starting[7] = 0;
        let garbage = b"\xca\xfe\xc0\xc0\x01\x02\x00\x01garbage".to_vec();
        let mut other = source();
        other.host_pid = 7;
        other.file = "/tmp/hsperfdata_x/7".into();
        let r = report(
            vec![(source(), starting), (other, garbage)],
            vec![],
            vec![],
            0,
        );
        assert_eq!(r.jvms.len(), 1);
        assert_eq!(r.jvms[0].state, "starting");
        assert_eq!(r.skipped.len(), 1);
        assert!(r.skipped[0].reason.contains("offset 0"), "{:?}", r.skipped);
        assert!(r.skipped[0].path.contains("hsperfdata_x/7"));
    }
    #[test]
    fn jstat_rows_use_jstats_formulas() {
        let bytes = parallel();
        let (gc, class) = jstat_rows(&PerfData::parse(&bytes).unwrap(), 0).unwrap();
        let cols: Vec<&str> = gc.split(' ').collect();
        assert_eq!(cols.len(), JSTAT_GC_HEADER.split(' ').count());
        assert_eq!(cols[0], "90.5");
        assert_eq!(&cols[13..], ["4", "0.250", "1", "0.500", "-", "-", "0.750"]);
        assert_eq!(class, "90.5 1000 - 3 - -");
        let j = crate::formats::logs::jstat::parse(&format!("{JSTAT_GC_HEADER}\n{gc}\n"));
        assert_eq!(
            j.tables[0].option,
            crate::formats::logs::jstat::JstatOption::Gc
        );
        assert_eq!(j.tables[0].rows.len(), 1);
    }

    #[test]
    fn jstat_rows_without_ticks_are_timed_from_the_start_time() {
        // JDK 25 has no sun.os.hrt.ticks: the uptime is now minus sun.rt.createVmBeginTime.
        let bytes = build(
            false,
            &[
                ("sun.os.hrt.frequency", Long(1_000_000_000)),
                ("sun.rt.createVmBeginTime", Long(1_000_000)),
                ("java.cls.loadedClasses", Long(5)),
            ],
        );
        let p = PerfData::parse(&bytes).unwrap();
        let (_, class) = jstat_rows(&p, 1_012_500).unwrap();
        assert!(class.starts_with("12.5 5 "), "{class}");
        assert!(
            jstat_rows(&p, 0).is_none(),
            "a start time after now is no clock"
        );
    }
}
