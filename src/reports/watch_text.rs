//! `oomsleuth watch`'s words: the counters of the newest sample as short phrases (the TUI's panels
//! and the plain line per sample printed when stdout is not a terminal).

use crate::analyses::process::verdict::Area;
use crate::analyses::process::watch::{Point, Watch};
use crate::units::{human_bytes, thousands};

fn bytes(v: Option<u64>) -> String {
    v.map_or("-".into(), human_bytes)
}

/// `used / committed (max M)` of an area.
fn used_of(used: Option<u64>, committed: Option<u64>, max: Option<u64>) -> String {
    let mut s = format!("{} / {}", bytes(used), bytes(committed));
    if let Some(m) = max.filter(|&m| m > 0 && m < u64::MAX / 4) {
        s.push_str(&format!(" (max {})", human_bytes(m)));
    }
    s
}

/// The heap: used / committed (max), then the old generation and the live set after the last GC.
pub fn heap(p: &Point) -> [String; 2] {
    let h = &p.jvm.heap;
    [
        format!(
            "used / committed {}",
            used_of(h.used_bytes, h.committed_bytes, h.max_bytes)
        ),
        format!(
            "old {}, live set after GC {}",
            bytes(p.old.used_bytes),
            p.live_set_bytes.map_or("- (no GC yet)".into(), human_bytes)
        ),
    ]
}

pub fn metaspace(p: &Point) -> [String; 2] {
    let m = &p.jvm.metaspace;
    let c = &p.jvm.class_space;
    [
        format!(
            "used / committed {}",
            used_of(m.used_bytes, m.committed_bytes, m.max_bytes)
        ),
        format!(
            "class space {}",
            used_of(c.used_bytes, c.committed_bytes, c.max_bytes)
        ),
    ]
}

pub fn classes(w: &Watch, p: &Point) -> [String; 2] {
    let j = &p.jvm;
    let n = |v: Option<u64>| v.map_or("-".into(), thousands);
    let live = j
        .classes_loaded
        .zip(j.classes_unloaded)
        .map(|(l, u)| l.saturating_sub(u));
    [
        format!(
            "loaded {}, unloaded {}",
            n(j.classes_loaded),
            n(j.classes_unloaded)
        ),
        format!(
            "live {} ({} per minute)",
            n(live),
            w.classes_live_per_minute()
                .map_or("-".into(), |r| format!("{r:+.0}"))
        ),
    ]
}

pub fn gc(w: &Watch, p: &Point) -> [String; 2] {
    [
        format!(
            "{} collections, {}",
            p.jvm.gc_count.map_or("-".into(), thousands),
            p.jvm.gc_seconds.map_or("-".into(), |s| format!("{s:.3} s"))
        ),
        format!(
            "{} of the time in GC (last minute)",
            w.gc_time_percent()
                .map_or("-".into(), |v| format!("{v:.1}%"))
        ),
    ]
}

pub fn rss(p: &Point) -> [String; 2] {
    [
        format!("resident {}", bytes(p.rss_bytes)),
        format!("from /proc/PID/{}", p.rss_source.unwrap_or("-")),
    ]
}

/// `01:02:03` (UTC) of seconds since the epoch.
pub fn clock(unix_seconds: f64) -> String {
    let (_, _, _, h, m, s) = crate::units::utc_fields(unix_seconds as i64);
    format!("{h:02}:{m:02}:{s:02}")
}

/// `1h 02m 03s` of an uptime.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, s) => format!("{h}h {m:02}m {s:02}s"),
    }
}

/// The verdict in a few words: its area, or that nothing grows yet.
pub fn verdict_head(w: &Watch) -> String {
    match w.verdict.area {
        Area::None => format!(
            "no growth found in {} samples (yet)",
            thousands(w.samples as u64)
        ),
        a => format!("{} grows", a.label()),
    }
}

/// One plain line for the newest sample (stdout not a terminal, no --json).
pub fn plain_line(w: &Watch) -> Option<String> {
    let p = w.last()?;
    let [heap, live] = heap(p);
    let [meta, _] = metaspace(p);
    let [loaded, live_classes] = classes(w, p);
    let gc_share = w
        .gc_time_percent()
        .map_or("-".into(), |v| format!("{v:.1}%"));
    Some(format!(
        "{} pid {} sample {}: heap {heap}; {live} | metaspace {meta} | classes {loaded}, {live_classes} | GC {gc_share} of the time | RSS {} | {}",
        clock(p.unix_seconds),
        w.pid,
        w.samples,
        bytes(p.rss_bytes),
        w.verdict.summary
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_clocks() {
        assert_eq!(duration(5.2), "5s");
        assert_eq!(duration(65.0), "1m 05s");
        assert_eq!(duration(3723.0), "1h 02m 03s");
        assert_eq!(clock(3723.0), "01:02:03");
    }

    #[test]
    fn no_line_before_a_sample() {
        assert!(plain_line(&Watch::new(1, None)).is_none());
    }
}
