//! `oomsleuth diff` in a terminal: the dumps, where the heap grew (paths from the GC roots),
//! collections, classes, class loaders and families, each with its figure in every dump.

use super::text::{human_bytes, thousands, Style, Table};
use crate::analyses::heap::growth::{DiffReport, PathGrowth, SuspectHistory, Trend};
use std::fmt::Write;

/// Rows of the class and collection tables.
const TABLE_ROWS: usize = 15;

pub fn diff(r: &DiffReport, style: &Style) -> String {
    let mut out = String::new();
    let span = r
        .hours
        .map(|h| format!(" over {}", duration(h)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Diff of {} heap dumps{span}, oldest first",
            r.dumps.len()
        ))
    );
    for (k, d) in r.dumps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  #{} {}  {}  {} reachable, {} objects{}",
            k + 1,
            d.path,
            utc(d.timestamp_ms),
            human_bytes(d.reachable_bytes),
            thousands(d.reachable_objects),
            if d.truncated { "  (truncated)" } else { "" }
        );
    }
    let h = &r.heap;
    let _ = writeln!(
        out,
        "Heap: {} ({}, {}{})",
        series_bytes(&h.reachable_bytes),
        signed_bytes(h.growth_bytes),
        h.trend.label(),
        per_hour_text(h.growth_bytes_per_hour)
    );
    growth(r, style, &mut out);
    collections(r, style, &mut out);
    classes(r, style, &mut out);
    loaders(r, style, &mut out);
    for w in &r.warnings {
        let _ = writeln!(out, "\n{} {w}", style.yellow("warning:"));
    }
    out
}

fn growth(r: &DiffReport, style: &Style, out: &mut String) {
    let _ = writeln!(
        out,
        "\n{}",
        style.bold("Where the heap grew (paths from the GC roots, matched across the dumps)")
    );
    if r.growth.is_empty() {
        let _ = writeln!(
            out,
            "  No path grew by more than the smallest path size ({} of {} paths found in every dump kept their size).",
            thousands(r.stable_paths),
            thousands(r.matched_paths)
        );
        return;
    }
    for (i, p) in r.growth.iter().enumerate() {
        let head = format!(
            "{}. {} {}{}",
            i + 1,
            signed_bytes(p.growth_bytes),
            p.trend.label(),
            per_hour_text(p.growth_bytes_per_hour)
        );
        let head = if p.trend == Trend::Monotone {
            style.yellow(&head)
        } else {
            head
        };
        let _ = writeln!(out, "{head}");
        path_lines(p, style, out);
        let _ = writeln!(out, "   retained {}", series_bytes(&p.retained_bytes));
        if let Some(sizes) = sizes_text(p) {
            let _ = writeln!(out, "   size {sizes}");
        }
        if !p.elements.is_empty() {
            let parts: Vec<String> = p
                .elements
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{} {} ({})",
                        signed_count(e.growth_objects),
                        e.class,
                        signed_bytes(e.growth_bytes)
                    )
                })
                .collect();
            let _ = writeln!(out, "   grew by {}", parts.join(", "));
        }
    }
}

fn path_lines(p: &PathGrowth, style: &Style, out: &mut String) {
    for (k, step) in p.path.iter().enumerate() {
        let arrow = if k == 0 { "   " } else { "   → " };
        let line = format!("{arrow}{step}");
        let _ = writeln!(
            out,
            "{}",
            if k + 1 == p.path.len() {
                style.cyan(&line)
            } else {
                style.dim(&line)
            }
        );
    }
}

fn collections(r: &DiffReport, style: &Style, out: &mut String) {
    if r.collections.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.bold("Collections (matched by path)"));
    let mut t = Table::new(&["size per dump", "change", "trend", "retained", "collection"]);
    for c in r.collections.iter().take(TABLE_ROWS) {
        let sizes: Vec<u64> = c.collection_size.iter().map(|s| s.unwrap_or(0)).collect();
        let change = sizes.last().copied().unwrap_or(0) as i128 - sizes[0] as i128;
        t.row(vec![
            sizes
                .iter()
                .map(|s| thousands(*s))
                .collect::<Vec<_>>()
                .join(" → "),
            signed_count(change.clamp(i64::MIN as i128, i64::MAX as i128) as i64),
            c.size_trend.unwrap_or(Trend::Stable).label().to_string(),
            human_bytes(c.retained_bytes.last().copied().unwrap_or(0)),
            short_path(&c.path),
        ]);
    }
    t.render(style, out);
}

fn classes(r: &DiffReport, style: &Style, out: &mut String) {
    if r.classes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.bold("Classes that changed (by retained growth)")
    );
    let mut t = Table::new(&[
        "instances",
        "change",
        "shallow",
        "retained",
        "change",
        "class",
    ]);
    for c in r.classes.iter().take(TABLE_ROWS) {
        t.row(vec![
            c.instances
                .iter()
                .map(|s| thousands(*s))
                .collect::<Vec<_>>()
                .join(" → "),
            signed_count(c.growth_instances),
            human_bytes(c.shallow_bytes.last().copied().unwrap_or(0)),
            human_bytes(c.retained_bytes.last().copied().unwrap_or(0)),
            signed_bytes(c.growth_retained_bytes),
            c.class.clone(),
        ]);
    }
    t.render(style, out);
}

fn loaders(r: &DiffReport, style: &Style, out: &mut String) {
    if !r.class_loaders.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Class loaders that appeared or grew")
        );
        let mut t = Table::new(&["loaders", "classes", "trend", "type"]);
        for l in r.class_loaders.iter().take(TABLE_ROWS) {
            t.row(vec![
                join(&l.loaders),
                join(&l.classes),
                if l.appeared {
                    "appeared"
                } else {
                    l.trend.label()
                }
                .to_string(),
                l.type_name.clone(),
            ]);
        }
        t.render(style, out);
    }
    if !r.class_families.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Class families that appeared or grew")
        );
        let mut t = Table::new(&["classes", "trend", "family"]);
        for f in r.class_families.iter().take(TABLE_ROWS) {
            t.row(vec![
                join(&f.classes),
                if f.appeared {
                    "appeared"
                } else {
                    f.trend.label()
                }
                .to_string(),
                f.family.clone(),
            ]);
        }
        t.render(style, out);
    }
}

/// `analyze OLD NEW`: the newest dump's suspects ranked by their growth.
pub fn suspect_history(h: &SuspectHistory, style: &Style) -> String {
    let mut out = String::new();
    let span = h
        .hours
        .map(|x| format!(" over {}", duration(x)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Suspects by growth through {} dumps{span} (oldest first)",
            h.dumps.len()
        ))
    );
    if h.suspects.is_empty() {
        let _ = writeln!(out, "  No suspect in the newest dump to follow.");
    }
    for s in &h.suspects {
        let verdict = if s.stable {
            "stable: it did not grow".to_string()
        } else {
            format!(
                "{} {}{}",
                signed_bytes(s.growth_bytes),
                s.trend.label(),
                per_hour_text(s.growth_bytes_per_hour)
            )
        };
        let head = format!("Suspect {}: {verdict}", s.rank);
        let head = if s.trend == Trend::Monotone {
            style.yellow(&head)
        } else {
            head
        };
        let _ = writeln!(out, "{head}");
        let _ = writeln!(out, "  {}", s.title);
        let _ = writeln!(out, "  retained {}", series_bytes(&s.retained_bytes));
        if s.collection_size.iter().any(|c| c.is_some()) {
            let sizes: Vec<String> = s
                .collection_size
                .iter()
                .map(|c| c.map_or("-".to_string(), thousands))
                .collect();
            let _ = writeln!(out, "  size {}", sizes.join(" → "));
        }
        let _ = writeln!(
            out,
            "  {}",
            style.dim(&format!("path: {}", short_path(&s.path)))
        );
    }
    out
}

fn join(v: &[u64]) -> String {
    v.iter()
        .map(|s| thousands(*s))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The last three steps of a path: enough to recognise it in a table.
fn short_path(path: &[String]) -> String {
    let tail = &path[path.len().saturating_sub(3)..];
    let lead = if path.len() > 3 { "… → " } else { "" };
    format!("{lead}{}", tail.join(" → "))
}

fn sizes_text(p: &PathGrowth) -> Option<String> {
    if p.collection_size.iter().all(|s| s.is_none()) {
        return None;
    }
    let s: Vec<String> = p
        .collection_size
        .iter()
        .map(|s| s.map_or("-".to_string(), thousands))
        .collect();
    let trend = p
        .size_trend
        .map(|t| format!(" ({})", t.label()))
        .unwrap_or_default();
    Some(format!("{}{trend}", s.join(" → ")))
}

fn series_bytes(v: &[u64]) -> String {
    v.iter()
        .map(|b| human_bytes(*b))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn signed_count(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "+" };
    format!("{sign}{}", thousands(v.unsigned_abs()))
}

fn signed_bytes(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "+" };
    format!("{sign}{}", human_bytes(v.unsigned_abs()))
}

fn per_hour_text(v: Option<f64>) -> String {
    match v {
        Some(x) if x.abs() >= 1.0 => {
            format!(", {}/h", signed_bytes(x.round() as i64))
        }
        _ => String::new(),
    }
}

fn duration(hours: f64) -> String {
    let secs = hours * 3600.0;
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if hours < 2.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{hours:.1} h")
    }
}

/// Milliseconds since the epoch as `2026-12-01 14:21:03 UTC`.
fn utc(ms: u64) -> String {
    let (y, m, d, hh, mm, ss) = crate::units::utc_fields((ms / 1000) as i64);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_133_663_000), "2026-12-01 14:01:03 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn short_paths_keep_the_tail() {
        let p: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(short_path(&p), "… → b → c → d");
        assert_eq!(short_path(&p[..2]), "a → b");
    }
}
