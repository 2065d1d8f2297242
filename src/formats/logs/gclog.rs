//! GC logs: unified `-Xlog:gc*` (JDK 9+: G1, Parallel, Serial, ZGC, Shenandoah) and JDK 8
//! `-XX:+PrintGCDetails` single-line collections (Parallel, Serial, CMS; `[Metaspace: ...]`, `[Perm : ...]`).
//!
//! ```text
//! [0.289s][info][gc,metaspace] GC(1) Metaspace: 10809K(12288K)->10809K(12288K) NonClass: ... (JDK 17+)
//! [0.289s][info][gc,metaspace] GC(1) Metaspace: 6245K->6245K(1056768K)                        (JDK 11)
//! [0.289s][info][gc          ] GC(1) Pause Young (Concurrent Start) (Metadata GC Threshold) 4M->2M(128M) 2.583ms
//! [0.302s][info][gc          ] GC(3) Pause Full (System.gc()) 7M->3M(64M) 24.354ms
//! [1.000s][info][gc          ] GC(0) Garbage Collection (Warmup) 20M(10%)->12M(6%)          (ZGC)
//! [0.500s][info][gc,metaspace] GC(0) Metaspace: 10M used, 10M committed, 1088M reserved      (ZGC, Shenandoah)
//! 2024-01-01T10:00:00.000+0000: 12.345: [Full GC (Metadata GC Threshold) [PSYoungGen: 0K->0K(38400K)]
//!     [ParOldGen: 4903K->4903K(87552K)] 4903K->4903K(125952K), [Metaspace: 20980K->20980K(1069056K)], 0.0301 secs]  (JDK 8)
//! ```

use super::{decoration_time, parse_size, split_decorations, LineStats};
use serde::Serialize;

/// One collection (a pause, or a whole ZGC/Shenandoah cycle). Sizes in bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GcEvent {
    /// The `GC(n)` id (unified logging), else the event's position.
    pub id: u64,
    /// Seconds: JVM uptime, or wall-clock time when that is all the log has.
    pub t: Option<f64>,
    /// `Pause Young`, `Pause Full`, `Pause Remark`, `Garbage Collection`, `GC`, `Full GC`.
    pub kind: String,
    /// A full collection (`Pause Full`, JDK 8 `Full GC`).
    pub full: bool,
    /// The cause: `Metadata GC Threshold`, `Allocation Failure`, `System.gc()`, `G1 Evacuation Pause`...
    pub cause: Option<String>,
    pub heap_before: Option<u64>,
    pub heap_after: Option<u64>,
    pub heap_capacity: Option<u64>,
    pub pause_ms: Option<f64>,
    pub metaspace_before: Option<u64>,
    pub metaspace_after: Option<u64>,
    pub metaspace_committed: Option<u64>,
}

/// A parsed GC log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GcLog {
    pub events: Vec<GcEvent>,
    /// `Using G1`, `Using Parallel`, ... when logged.
    pub collector: Option<String>,
    /// The log says the JVM ran out of Metaspace / heap (`OutOfMemoryError` lines).
    pub oom: Vec<String>,
    pub stats: LineStats,
}

/// Parses a GC log; never fails. Lines of `gc*` tags that carry nothing used here (phases, CPU times,
/// region counts) are not counted as skipped; only lines that are not GC log lines at all are.
pub fn parse(text: &str) -> GcLog {
    let mut g = GcLog::default();
    let mut pending_meta: Vec<(u64, Meta)> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        g.stats.lines += 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.contains("OutOfMemoryError") {
            g.oom.push(line.chars().take(200).collect());
        }
        if let Some((decos, msg)) = split_decorations(line)
            .filter(|(d, _)| d.iter().any(|d| d.starts_with("gc") || *d == "safepoint"))
        {
            let t = decoration_time(&decos);
            if let Some(c) = msg.strip_prefix("Using ") {
                g.collector = Some(c.trim().to_string());
                continue;
            }
            let Some((id, body)) = gc_id(msg) else {
                continue;
            };
            if let Some(m) = body.strip_prefix("Metaspace: ") {
                if let Some(v) = metaspace(m) {
                    match g.events.iter_mut().rev().find(|e| e.id == id) {
                        Some(e) => set_meta(e, v),
                        None => pending_meta.push((id, v)),
                    }
                }
                continue;
            }
            if let Some(mut e) = unified_event(id, t, body) {
                if let Some(p) = pending_meta.iter().position(|(i, _)| *i == id) {
                    set_meta(&mut e, pending_meta.remove(p).1);
                }
                g.events.push(e);
            }
            continue;
        }
        if let Some(e) = jdk8_event(line, g.events.len() as u64) {
            g.events.push(e);
            continue;
        }
        if !line.starts_with('[') || !line.contains("[gc") {
            g.stats.skip(no, raw);
        }
    }
    g
}

/// Metaspace used before, after, and committed after a collection.
type Meta = (u64, u64, Option<u64>);

fn set_meta(e: &mut GcEvent, (before, after, committed): Meta) {
    e.metaspace_before = Some(before);
    e.metaspace_after = Some(after);
    e.metaspace_committed = committed;
}

/// `GC(12) rest` -> (12, "rest").
fn gc_id(msg: &str) -> Option<(u64, &str)> {
    let rest = msg.strip_prefix("GC(")?;
    let end = rest.find(')')?;
    let id = rest.get(..end)?.parse().ok()?;
    Some((id, rest.get(end + 1..)?.trim_start()))
}

/// `10809K(12288K)->10809K(12288K) NonClass: ...` (17+), `6245K->6245K(1056768K)` (11),
/// `10M used, 10M committed, 1088M reserved` (ZGC/Shenandoah): (before, after, committed after).
fn metaspace(m: &str) -> Option<(u64, u64, Option<u64>)> {
    if m.contains(" used,") {
        let used = parse_size(m.split(" used").next()?)?;
        let committed = m
            .split(", ")
            .find_map(|p| p.strip_suffix(" committed"))
            .and_then(parse_size);
        return Some((used, used, committed));
    }
    let first = m.split_whitespace().next()?;
    let (a, b) = first.split_once("->")?;
    let (before, _) = size_paren(a)?;
    let (after, cap) = size_paren(b)?;
    // JDK 11's parenthesis is the reserved size, not committed.
    let committed = if a.contains('(') { cap } else { None };
    Some((before, after, committed))
}

/// `10809K(12288K)` -> (size, Some(paren)); `10809K` -> (size, None).
fn size_paren(s: &str) -> Option<(u64, Option<u64>)> {
    match s.split_once('(') {
        Some((v, p)) => Some((
            parse_size(v)?,
            parse_size(p.trim_end_matches(')').split('%').next()?),
        )),
        None => Some((parse_size(s)?, None)),
    }
}

/// `Pause Young (Concurrent Start) (Metadata GC Threshold) 4M->2M(128M) 2.583ms`,
/// `Pause Full (System.gc()) 7M->3M(64M) 24.354ms`, `Garbage Collection (Warmup) 20M(10%)->12M(6%)`.
fn unified_event(id: u64, t: Option<f64>, body: &str) -> Option<GcEvent> {
    let is_pause = body.starts_with("Pause ");
    let is_cycle = body.starts_with("Garbage Collection")
        || body.starts_with("Concurrent cycle")
        || body.starts_with("Major Collection")
        || body.starts_with("Minor Collection");
    if !is_pause && !is_cycle {
        return None;
    }
    let open = body.find(" (").unwrap_or(body.len());
    let kind = body.get(..open)?.trim().to_string();
    // Balanced parenthesised groups; the last one is the cause.
    let mut rest = body.get(open..)?.trim_start();
    let mut groups = Vec::new();
    while rest.starts_with('(') {
        let mut depth = 0;
        let mut end = None;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end?;
        groups.push(rest.get(1..end)?.to_string());
        rest = rest.get(end + 1..)?.trim_start();
    }
    let mut e = GcEvent {
        id,
        t,
        full: kind.contains("Full") || kind.starts_with("Major"),
        kind,
        ..Default::default()
    };
    e.cause = groups.last().cloned().filter(|g| {
        !matches!(
            g.as_str(),
            "Normal" | "Mixed" | "Young" | "Concurrent Start" | "Prepare Mixed"
        )
    });
    let mut toks = rest.split_whitespace();
    if let Some(sizes) = toks.next() {
        if let Some((a, b)) = sizes.split_once("->") {
            e.heap_before = size_paren(a).map(|v| v.0);
            if let Some((after, cap)) = size_paren(b) {
                e.heap_after = Some(after);
                e.heap_capacity = cap.filter(|_| !b.contains('%'));
            }
        }
    }
    if let Some(ms) = toks
        .next()
        .and_then(|m| m.strip_suffix("ms"))
        .and_then(|m| m.parse().ok())
    {
        e.pause_ms = Some(ms);
    }
    // The `gc,start` line has no sizes (the end line follows); Remark/Cleanup pauses have sizes but are
    // not collections of their own.
    if e.heap_after.is_none() || kind_is_phase(&e.kind) {
        return None;
    }
    Some(e)
}

fn kind_is_phase(k: &str) -> bool {
    k.contains("Remark")
        || k.contains("Cleanup")
        || k.contains("Init Mark")
        || k.contains("Final Mark")
        || k.contains("Mark Start")
        || k.contains("Mark End")
        || k.contains("Relocate Start")
}

/// A JDK 8 `-XX:+PrintGCDetails` collection on one line.
fn jdk8_event(line: &str, position: u64) -> Option<GcEvent> {
    let start = line.find("[Full GC").or_else(|| line.find("[GC"))?;
    let head = line.get(..start)?;
    let body = line.get(start + 1..)?;
    let full = body.starts_with("Full GC");
    let kind = if full { "Full GC" } else { "GC" }.to_string();
    let after_kind = body.get(kind.len()..)?.trim_start();
    let cause = after_kind
        .strip_prefix('(')
        .and_then(|r| r.find(')').and_then(|e| r.get(..e)))
        .map(str::to_string);
    // Uptime: the last "12.345:" before the event; else a wall-clock time.
    let t = head
        .split_whitespace()
        .rev()
        .find_map(|tok| tok.strip_suffix(':').and_then(|v| v.parse::<f64>().ok()))
        .or_else(|| {
            head.split_whitespace()
                .next()
                .and_then(|w| super::parse_iso_time(w.trim_end_matches(':')))
        });
    let mut e = GcEvent {
        id: position,
        t,
        kind,
        full,
        cause,
        ..Default::default()
    };
    // Labelled triples "[PSYoungGen: a->b(c)]", "[Metaspace: a->b(c)]", "[Perm : a->b(c)]" and the
    // unlabelled whole-heap triple.
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(p) = body.get(i..).and_then(|r| r.find("->")) {
        let arrow = i + p;
        let left_start = body
            .get(..arrow)?
            .rfind([' ', '[', ':'])
            .map(|x| x + 1)
            .unwrap_or(0);
        let right_end = body
            .get(arrow + 2..)?
            .find(')')
            .map(|x| arrow + 2 + x + 1)
            .unwrap_or(body.len());
        let before = parse_size(body.get(left_start..arrow)?);
        let after = body.get(arrow + 2..right_end).and_then(size_paren);
        let label_region = body.get(..left_start)?.trim_end();
        let label = label_region.rsplit('[').next().unwrap_or("");
        let labelled = label_region.ends_with(':') && !label.contains(']');
        if let (Some(b), Some((a, cap))) = (before, after) {
            if labelled
                && (label.starts_with("Metaspace")
                    || label.starts_with("Perm")
                    || label.starts_with("CMS Perm")
                    || label.starts_with("PSPermGen"))
            {
                e.metaspace_before = Some(b);
                e.metaspace_after = Some(a);
                e.metaspace_committed = cap.filter(|_| false);
            } else if !labelled {
                e.heap_before = Some(b);
                e.heap_after = Some(a);
                e.heap_capacity = cap;
            }
        }
        i = arrow + 2;
        if i >= bytes.len() {
            break;
        }
    }
    let main = body.split(" [Times:").next().unwrap_or(body);
    if let Some(p) = main.rfind(" secs]") {
        let num = main.get(..p)?.rsplit([' ', ',']).next()?;
        e.pause_ms = num.parse::<f64>().ok().map(|s| s * 1000.0);
    }
    e.heap_after?;
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::formats::logs::sample;

    #[test]
    fn jdk17_g1() {
        let g = parse(&sample("jdk17-gc-G1-metaspace.log.txt"));
        assert_eq!(g.collector.as_deref(), Some("G1"));
        let e = g.events.iter().find(|e| e.id == 1).unwrap();
        assert_eq!(e.kind, "Pause Young");
        assert_eq!(e.cause.as_deref(), Some("Metadata GC Threshold"));
        assert_eq!(e.heap_before, Some(4 << 20));
        assert_eq!(e.heap_after, Some(2 << 20));
        assert_eq!(e.heap_capacity, Some(128 << 20));
        assert_eq!(e.pause_ms, Some(2.583));
        assert_eq!(e.metaspace_after, Some(10809 << 10));
        assert_eq!(e.metaspace_committed, Some(12288 << 10));
        let f = g.events.iter().find(|e| e.id == 23).unwrap();
        assert!(f.full);
        assert_eq!(
            f.cause.as_deref(),
            Some("Metadata GC Clear Soft References")
        );
        assert!(!g.oom.is_empty());
        assert!(g.events.iter().all(|e| e.kind != "Pause Remark"));
    }

    #[test]
    fn jdk25_parallel() {
        let g = parse(&sample("jdk25-gc-Parallel-metaspace.log.txt"));
        let full: Vec<_> = g.events.iter().filter(|e| e.full).collect();
        assert!(!full.is_empty());
        assert!(full
            .iter()
            .any(|e| e.cause.as_deref() == Some("Metadata GC Threshold")));
    }

    #[test]
    fn system_gc_cause_and_jdk11_metaspace() {
        let g = parse("[3.077s][info][gc,start    ] GC(1) Pause Full (System.gc())\n[3.1s][info][gc,metaspace] GC(1) Metaspace: 6245K->6245K(1056768K)\n[3.101s][info][gc             ] GC(1) Pause Full (System.gc()) 7M->3M(64M) 24.354ms\n");
        let e = &g.events[0];
        assert_eq!(e.cause.as_deref(), Some("System.gc()"));
        assert_eq!(e.metaspace_after, Some(6245 << 10));
        assert_eq!(e.metaspace_committed, None);
        assert_eq!(e.t, Some(3.101));
    }

    #[test]
    fn zgc() {
        let g = parse("[1.0s][info][gc,metaspace] GC(0) Metaspace: 10M used, 11M committed, 1088M reserved\n[1.0s][info][gc          ] GC(0) Garbage Collection (Warmup) 20M(10%)->12M(6%)\n");
        assert_eq!(g.events[0].heap_after, Some(12 << 20));
        assert_eq!(g.events[0].metaspace_committed, Some(11 << 20));
        assert_eq!(g.events[0].cause.as_deref(), Some("Warmup"));
    }

    #[test]
    fn jdk8_documented_shape() {
        let g = parse("2024-01-01T10:00:00.000+0000: 12.345: [Full GC (Metadata GC Threshold) [PSYoungGen: 0K->0K(38400K)] [ParOldGen: 4903K->4903K(87552K)] 4903K->4903K(125952K), [Metaspace: 20980K->20980K(1069056K)], 0.0301 secs] [Times: user=0.05 sys=0.00, real=0.03 secs]\n\
3.210: [GC (Allocation Failure) [PSYoungGen: 33280K->5104K(38400K)] 33280K->5112K(125952K), 0.0050000 secs] [Times: user=0.01 sys=0.00, real=0.01 secs]\n\
5.0: [Full GC (Allocation Failure) [Tenured: 100K->90K(200K), 0.01 secs] 150K->90K(300K), [Perm : 2000K->2000K(21248K)], 0.0100 secs]\n");
        assert_eq!(g.events.len(), 3);
        let f = &g.events[0];
        assert!(f.full);
        assert_eq!(f.t, Some(12.345));
        assert_eq!(f.cause.as_deref(), Some("Metadata GC Threshold"));
        assert_eq!(f.heap_after, Some(4903 << 10));
        assert_eq!(f.metaspace_after, Some(20980 << 10));
        assert!((f.pause_ms.unwrap() - 30.1).abs() < 1e-9);
        assert_eq!(g.events[1].heap_after, Some(5112 << 10));
        assert!(!g.events[1].full);
        assert_eq!(g.events[2].metaspace_after, Some(2000 << 10));
        assert_eq!(g.events[2].heap_after, Some(90 << 10));
    }
}
