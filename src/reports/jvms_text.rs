//! `oomsleuth jvms` as a terminal table: one row per JVM, then the files that could not be read.

use crate::analyses::process::jvms::{Area, JvmsReport};
use crate::reports::text::{human_bytes, thousands, Style, Table};
use std::fmt::Write;

/// Absent counters print as `-`, never as 0.
fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".to_string())
}

/// `used / committed / max`, each a size or `-`.
fn area(a: &Area) -> String {
    [a.used_bytes, a.committed_bytes, a.max_bytes]
        .iter()
        .map(|v| opt(*v, human_bytes))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Seconds as `45s`, `12m05s`, `3h07m` or `2d04h`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

pub fn jvms(r: &JvmsReport, style: &Style) -> String {
    let mut out = String::new();
    if r.jvms.is_empty() {
        out.push_str("No HotSpot JVM with hsperfdata found (JVMs started with -XX:-UsePerfData have none).\n");
    } else {
        let mut t = Table::new(&[
            "PID",
            "CPID",
            "USER",
            "JDK",
            "UPTIME",
            "HEAP used / committed / max",
            "METASPACE used / committed / max",
            "CLASS SPACE used / committed",
            "CLASSES",
            "UNLOADED",
            "GCS",
            "GC TIME",
            "MAIN",
        ]);
        for j in &r.jvms {
            let s = &j.source;
            let main = if j.state == "ok" {
                j.main.clone().unwrap_or_else(|| "-".into())
            } else {
                format!("({}: the JVM is still writing its counters)", j.state)
            };
            let class_space = Area {
                max_bytes: None,
                ..j.class_space
            };
            let class_space = area(&class_space);
            t.row(vec![
                s.host_pid.to_string(),
                opt(s.container_pid, |p| p.to_string()),
                s.user.clone(),
                opt(j.java_version.clone(), |v| v),
                opt(j.uptime_seconds, duration),
                area(&j.heap),
                area(&j.metaspace),
                class_space.trim_end_matches(" / -").to_string(),
                opt(j.classes_loaded, thousands),
                opt(j.classes_unloaded, thousands),
                opt(j.gc_count, thousands),
                opt(j.gc_seconds, |s| format!("{s:.3}s")),
                main,
            ]);
        }
        t.render(style, &mut out);
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Not read"));
        for s in &r.skipped {
            let _ = writeln!(out, "  {}: {}", s.path, s.reason);
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "\n{}", style.dim(&format!("Note: {n}")));
    }
    out
}

/// Every counter of one hsperfdata file as `jcmd PID PerfCounter.print` prints it (jcmd reads the
/// file itself, without attaching): `name=value` sorted by name, strings in double quotes. Vectors
/// of longs and unknown types, which no JDK 8-25 counter uses, are left out. Like jcmd (jvmstat), it
/// adds the prologue's fields as `sun.perfdata.*`; `file_size` is the file's length.
pub fn perf_counters(perf: &crate::formats::hsperf::PerfData<'_>, file_size: usize) -> String {
    use crate::formats::hsperf::Value;
    let p = &perf.prologue;
    let mut lines: Vec<(&str, String)> = vec![
        ("sun.perfdata.majorVersion", p.major_version.to_string()),
        ("sun.perfdata.minorVersion", p.minor_version.to_string()),
        ("sun.perfdata.overflow", p.overflow.to_string()),
        ("sun.perfdata.size", file_size.to_string()),
        ("sun.perfdata.timestamp", p.mod_time_stamp.to_string()),
        ("sun.perfdata.used", p.used.to_string()),
    ];
    lines.extend(perf.entries.iter().filter_map(|e| {
        let value = match e.value {
            Value::Long(v) => v.to_string(),
            Value::Bytes(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
            Value::Longs(_) | Value::Other(_) => return None,
        };
        Some((e.name, value))
    }));
    lines.sort();
    lines
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_counters_print_as_jcmd_prints_them() {
        use crate::formats::hsperf::{Entry, PerfData, Prologue, Units, Value, Variability};
        let entry = |name, value| Entry {
            offset: 0,
            length: 0,
            name,
            vector_length: 0,
            data_type: b'J',
            flags: 0,
            units: Units::None,
            variability: Variability::Constant,
            data_offset: 0,
            value,
        };
        let perf = PerfData {
            prologue: Prologue {
                big_endian: false,
                major_version: 2,
                minor_version: 0,
                accessible: true,
                used: 0,
                overflow: 0,
                mod_time_stamp: 0,
                entry_offset: 0,
                num_entries: 4,
            },
            entries: vec![
                entry("sun.rt.javaCommand", Value::Bytes(b"com.example.Main a b")),
                entry("java.cls.loadedClasses", Value::Long(1234)),
                entry("sun.x.vector", Value::Longs(&[0; 16])),
                entry("java.ci.totalTime", Value::Long(-1)),
            ],
        };
        let text = perf_counters(&perf, 32768);
        assert!(
            text.starts_with("java.ci.totalTime=-1\njava.cls.loadedClasses=1234\nsun.perfdata.majorVersion=2\nsun.perfdata.minorVersion=0\n"),
            "{text}"
        );
        assert!(
            text.ends_with("sun.perfdata.used=0\nsun.rt.javaCommand=\"com.example.Main a b\"\n"),
            "{text}"
        );
        assert!(text.contains("sun.perfdata.size=32768\n"), "{text}");
        assert!(!text.contains("vector"), "{text}");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(45.9), "45s");
        assert_eq!(duration(725.0), "12m05s");
        assert_eq!(duration(3.0 * 3600.0 + 420.0), "3h07m");
        assert_eq!(duration(2.0 * 86400.0 + 4.0 * 3600.0), "2d04h");
    }

    #[test]
    fn absent_counters_print_as_a_dash() {
        assert_eq!(area(&Area::default()), "- / - / -");
        let r = JvmsReport {
            schema: "oomsleuth.jvms/1",
            jvms: vec![],
            skipped: vec![crate::analyses::process::jvms::Skipped {
                path: "/tmp/hsperfdata_bob/12".into(),
                reason: "permission denied: run as bob (sudo -u bob) or root".into(),
            }],
            notes: vec![],
        };
        let text = jvms(&r, &Style::default());
        assert!(text.contains("No HotSpot JVM"), "{text}");
        assert!(
            text.contains("/tmp/hsperfdata_bob/12: permission denied"),
            "{text}"
        );
    }
}
