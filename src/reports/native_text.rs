//! Terminal text for the non-heap commands: `nmt`, `pmap`, `scan`, `classlog`, `gclog`, `jstat` and
//! `diagnose` (the verdict). Nothing here computes: each function renders one analysis struct.

use crate::analyses::process::classlog::ClassLogAnalysis;
use crate::analyses::process::gclog::GcLogAnalysis;
use crate::analyses::process::jstat::JstatAnalysis;
use crate::analyses::process::native::{FileUsed, MapsAnalysis, NmtAnalysis};
use crate::analyses::process::scan::ScanReport;
use crate::analyses::process::series::{Growth, TimeSource};
use crate::analyses::process::verdict::{Area, VerdictReport};
use crate::reports::text::{human_bytes, thousands, Style, Table};
use std::fmt::Write;

fn signed_bytes(v: i64) -> String {
    if v < 0 {
        format!("-{}", human_bytes(v.unsigned_abs()))
    } else {
        format!("+{}", human_bytes(v as u64))
    }
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map(human_bytes).unwrap_or_default()
}

/// MB/hour, the unit people compare leak rates in.
fn rate(per_hour: Option<f64>) -> String {
    per_hour
        .map(|r| format!("{:+.1} MB/h", r / 1e6))
        .unwrap_or_default()
}

fn growth_line(g: &Growth, bytes: bool) -> String {
    let v = |x: f64| {
        if bytes {
            human_bytes(x.max(0.0) as u64)
        } else {
            thousands(x.max(0.0) as u64)
        }
    };
    let d = if bytes {
        signed_bytes(g.delta as i64)
    } else {
        format!("{:+}", g.delta as i64)
    };
    let r = match (g.per_hour, bytes) {
        (Some(_), true) => format!(", {}", rate(g.per_hour)),
        (Some(p), false) => format!(", {p:+.0}/h"),
        _ => String::new(),
    };
    format!(
        "{} -> {} ({d}{r}; rose in {}/{} steps){}",
        v(g.first),
        v(g.last),
        g.rising_steps,
        g.steps,
        if g.growing { "  GROWING" } else { "" }
    )
}

fn time_note(ts: TimeSource) -> &'static str {
    match ts {
        TimeSource::Content => "ordered by the timestamps in the files",
        TimeSource::Mtime => "ordered by file modification time",
        TimeSource::Name => "ordered by file name (no times: no rates)",
    }
}

fn files_footer(files: &[FileUsed], warnings: &[String], style: &Style, out: &mut String) {
    let skipped: u64 = files.iter().map(|f| f.skipped_lines).sum();
    if skipped > 0 {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} unknown lines skipped, e.g.:",
                thousands(skipped)
            ))
        );
        for f in files.iter().filter(|f| f.skipped_lines > 0).take(2) {
            for e in f.skipped_examples.iter().take(2) {
                let _ = writeln!(out, "{}", style.dim(&format!("  {}:{e}", f.path)));
            }
        }
    }
    for w in warnings {
        let _ = writeln!(out, "{} {w}", style.yellow("warning:"));
    }
}

/// `oomsleuth nmt`.
pub fn nmt(a: &NmtAnalysis, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Native Memory Tracking:"),
        style.dim(&format!(
            "{} snapshot(s), {} diff(s), {}; committed now {}",
            a.snapshots,
            a.diffs,
            time_note(a.time_source),
            human_bytes(a.total_committed)
        ))
    );
    out.push('\n');
    if !a.growth.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "Growth per category ({})",
                if a.growth_from == "diff" {
                    "against the baseline"
                } else {
                    "first to last snapshot"
                }
            ))
        );
        let mut t = Table::new(&[
            "committed",
            "change",
            "rate",
            "malloc change",
            "",
            "category",
        ]);
        for g in a
            .growth
            .iter()
            .filter(|g| g.committed_delta != 0 || g.growing)
        {
            let mut extra = String::new();
            if let Some(c) = g.classes_delta.filter(|c| *c != 0) {
                extra = format!("{c:+} classes");
            }
            if let Some(c) = g.threads_delta.filter(|c| *c != 0) {
                extra = format!("{c:+} threads");
            }
            t.row(vec![
                human_bytes(g.committed_last),
                signed_bytes(g.committed_delta),
                rate(g.per_hour),
                g.malloc_delta.map(signed_bytes).unwrap_or_default(),
                extra,
                if g.growing {
                    style.yellow(&format!("{}  GROWING", g.name))
                } else {
                    g.name.clone()
                },
            ]);
        }
        t.render(style, &mut out);
        out.push('\n');
    }
    match &a.growing_category {
        Some(c) => {
            let _ = writeln!(
                out,
                "{} {}",
                style.bold("Growing category:"),
                style.yellow(c)
            );
        }
        None if a.growth_from != "none" => {
            let _ = writeln!(
                out,
                "{} no category grows by 4 MiB and 5% in most steps",
                style.bold("Growing category:")
            );
        }
        None => {}
    }
    if !a.sites.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Malloc call sites that grew most (detail)")
        );
        for s in &a.sites {
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                signed_bytes(s.malloc_delta),
                style.cyan(&s.top_frame),
                style.dim(&format!(
                    "[{}] now {}",
                    s.category.as_deref().unwrap_or("?"),
                    human_bytes(s.malloc_last)
                ))
            );
            for f in s.frames.iter().skip(1).take(3) {
                let _ = writeln!(out, "      {}", style.dim(f));
            }
        }
    }
    if a.snapshots + a.diffs > 0 {
        let _ = writeln!(out, "\n{}", style.bold("Latest snapshot"));
        let mut t = Table::new(&["reserved", "committed", "malloc", "mmap", "", "category"]);
        for c in a.latest.iter().filter(|c| c.committed > 0) {
            let mut extra = Vec::new();
            if let Some(n) = c.classes {
                extra.push(format!("{} classes", thousands(n)));
            }
            if let Some(n) = c.threads {
                extra.push(format!("{n} threads"));
            }
            if let Some(u) = c.metadata_used {
                extra.push(format!("metadata used {}", human_bytes(u)));
            }
            t.row(vec![
                human_bytes(c.reserved),
                human_bytes(c.committed),
                opt_bytes(c.malloc),
                opt_bytes(c.mmap_committed),
                extra.join(", "),
                c.name.clone(),
            ]);
        }
        t.render(style, &mut out);
    }
    files_footer(&a.files, &a.warnings, style, &mut out);
    out
}

/// `oomsleuth pmap`.
pub fn maps(a: &MapsAnalysis, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Process memory maps:"),
        style.dim(&format!(
            "{} snapshot(s), {}",
            a.snapshots.len(),
            time_note(a.time_source)
        ))
    );
    out.push('\n');
    let mut t = Table::new(&[
        "t (s)",
        "RSS",
        "anon RSS",
        "file RSS",
        "arenas",
        "arena RSS",
        "file",
    ]);
    for s in &a.snapshots {
        t.row(vec![
            format!("{:.1}", s.t),
            human_bytes(s.rss),
            human_bytes(s.anon_rss),
            human_bytes(s.file_rss),
            s.arenas.map(|n| n.to_string()).unwrap_or_default(),
            opt_bytes(s.arena_rss),
            s.path.clone(),
        ]);
    }
    t.render(style, &mut out);
    if let Some(g) = &a.rss_growth {
        let _ = writeln!(out, "\nRSS:           {}", growth_line(g, true));
    }
    if let Some(g) = &a.anon_rss_growth {
        let _ = writeln!(out, "anonymous RSS: {}", growth_line(g, true));
    }
    if let (Some(f), Some(l)) = (a.arenas_first, a.arenas_last) {
        let _ = writeln!(
            out,
            "glibc malloc arenas (64 MiB reservations, rw + ---): {f} -> {l}"
        );
    }
    if !a.grown.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Mappings that appeared or grew (first to last)")
        );
        let mut t = Table::new(&[
            "address",
            "size",
            "RSS before",
            "RSS after",
            "change",
            "mapping",
        ]);
        for m in &a.grown {
            let mut name = m.name.clone();
            if m.new {
                name.push_str("  (new)");
            }
            if m.arena {
                name.push_str("  (malloc arena)");
            }
            t.row(vec![
                format!("{:016x}", m.start),
                human_bytes(m.size_last),
                human_bytes(m.rss_first),
                human_bytes(m.rss_last),
                signed_bytes(m.rss_delta),
                name,
            ]);
        }
        t.render(style, &mut out);
    }
    files_footer(&a.files, &a.warnings, style, &mut out);
    out
}

/// `oomsleuth scan`.
pub fn scan(r: &ScanReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  {}",
        style.bold("Class files in memory of"),
        r.source,
        style.dim(&format!(
            "{} in {} regions, {:.2} s, {:.2} GB/s",
            human_bytes(r.bytes_scanned),
            thousands(r.regions_scanned),
            r.seconds,
            r.bytes_per_second / 1e9
        ))
    );
    let _ = writeln!(
        out,
        "{} 0xCAFEBABE hits, {} valid class files ({}), {} distinct names\n",
        thousands(r.magic_hits),
        thousands(r.class_files),
        human_bytes(r.class_file_bytes),
        thousands(r.distinct_names)
    );
    if !r.top.is_empty() {
        let mut t = Table::new(&[
            "copies",
            "bytes",
            "",
            "version",
            "class (super; interfaces)",
        ]);
        for c in &r.top {
            let mut n = c.name.clone();
            let mut rel = Vec::new();
            if let Some(s) = &c.super_name {
                rel.push(format!("extends {s}"));
            }
            if !c.interfaces.is_empty() {
                rel.push(format!("implements {}", c.interfaces.join(", ")));
            }
            if !rel.is_empty() {
                n.push_str(&style.dim(&format!("  ({})", rel.join("; "))));
            }
            t.row(vec![
                thousands(c.copies),
                thousands(c.bytes),
                human_bytes(c.bytes),
                c.major.to_string(),
                n,
            ]);
        }
        t.render(style, &mut out);
    }
    if let Some(top) = r.top.first().filter(|c| c.copies > 100) {
        let _ = writeln!(out, "\n{} {} copies of {}: a class file kept in memory again and again (a class that fails to load and is retried, or an agent/loader caching the bytes): the signature of a native leak of class bytes.", style.yellow("note:"), thousands(top.copies), top.name);
    }
    if !r.regions.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Regions with hits"));
        let mut t = Table::new(&["start", "size", "perms", "hits", "valid", "region"]);
        for g in &r.regions {
            t.row(vec![
                format!("{:016x}", g.start),
                human_bytes(g.size),
                g.perms.clone(),
                thousands(g.magic_hits),
                thousands(g.class_files),
                g.name.clone(),
            ]);
        }
        t.render(style, &mut out);
    }
    if !r.regions_skipped.is_empty() {
        let _ = writeln!(
            out,
            "{} {} regions could not be read, e.g. {}",
            style.yellow("warning:"),
            r.regions_skipped.len(),
            r.regions_skipped[0]
        );
    }
    out
}

/// `oomsleuth classlog`.
pub fn classlog(a: &ClassLogAnalysis, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Class loading:"),
        style.dim(&format!(
            "{} loaded, {} unloaded, {}",
            thousands(a.loaded),
            thousands(a.unloaded),
            time_note(a.time_source)
        ))
    );
    let _ = writeln!(
        out,
        "live classes (loaded - unloaded): {}\n",
        growth_line(&a.live, false)
    );
    for (title, groups) in [
        ("By generated-class family", &a.by_family),
        ("By source", &a.by_source),
    ] {
        let _ = writeln!(out, "{}", style.bold(title));
        let mut t = Table::new(&[
            "loaded",
            "unloaded",
            "live",
            "kind",
            "family / source (example)",
        ]);
        for g in groups.iter().take(12) {
            let key = if Some(&g.key) == a.growing_family.as_ref() {
                style.yellow(&format!("{}  GROWING", g.key))
            } else {
                g.key.clone()
            };
            t.row(vec![
                thousands(g.loaded),
                thousands(g.unloaded),
                format!("{}", g.live),
                g.kind.map(|k| k.label().to_string()).unwrap_or_default(),
                format!("{key}  {}", style.dim(&g.example)),
            ]);
        }
        t.render(style, &mut out);
        out.push('\n');
    }
    if !a.repeated.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold("Loaded more than once under one name")
        );
        let mut t = Table::new(&["loads", "unloads", "class"]);
        for r in a.repeated.iter().take(10) {
            t.row(vec![
                thousands(r.loads),
                thousands(r.unloads),
                r.name.clone(),
            ]);
        }
        t.render(style, &mut out);
    }
    files_footer(&a.files, &a.warnings, style, &mut out);
    out
}

/// `oomsleuth gclog`.
pub fn gclog(a: &GcLogAnalysis, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("GC log:"),
        style.dim(&format!(
            "{} collections ({} full), collector {}, pauses {:.1} ms total, {:.1} ms max",
            a.collections,
            a.full_collections,
            a.collector.as_deref().unwrap_or("?"),
            a.pause_total_ms,
            a.pause_max_ms
        ))
    );
    out.push('\n');
    if let Some(g) = &a.heap_after_full_gc {
        let _ = writeln!(
            out,
            "heap after full GC (live set): {}",
            growth_line(g, true)
        );
    }
    if let Some(g) = &a.heap_after_gc {
        let _ = writeln!(
            out,
            "heap after any GC:             {}",
            growth_line(g, true)
        );
    }
    if let Some(g) = &a.metaspace_after_gc {
        let _ = writeln!(
            out,
            "Metaspace after GC:            {}",
            growth_line(g, true)
        );
    }
    let _ = writeln!(out, "\n{}", style.bold("Causes"));
    let mut t = Table::new(&["collections", "full", "cause"]);
    for c in &a.causes {
        t.row(vec![
            thousands(c.count as u64),
            thousands(c.full as u64),
            c.cause.clone(),
        ]);
    }
    t.render(style, &mut out);
    for o in a.oom.iter().take(3) {
        let _ = writeln!(out, "{} {o}", style.yellow("OutOfMemoryError in the log:"));
    }
    files_footer(&a.files, &a.warnings, style, &mut out);
    out
}

/// `oomsleuth jstat`.
pub fn jstat(a: &JstatAnalysis, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("jstat:"),
        style.dim(&format!(
            "{} table(s), {}",
            a.tables.len(),
            time_note(a.time_source)
        ))
    );
    for t in &a.tables {
        let _ = writeln!(
            out,
            "  -{} {} rows{}  {}",
            format!("{:?}", t.option).to_lowercase(),
            t.rows,
            if t.timestamps { " (-t)" } else { "" },
            style.dim(&t.file)
        );
    }
    out.push('\n');
    if let Some(m) = &a.metaspace {
        let _ = writeln!(out, "{}", style.bold("Metaspace"));
        let _ = writeln!(
            out,
            "  used {}  committed {}  max {}",
            opt_bytes(m.used),
            opt_bytes(m.committed),
            m.max
                .map(human_bytes)
                .unwrap_or_else(|| "unknown (-gcmetacapacity shows MCMX)".into())
        );
        if let Some(p) = m.jstat_percent {
            let _ = writeln!(
                out,
                "  jstat M = {p:.1}% (used / committed){}",
                m.percent_of_max
                    .map(|q| format!("; used / max = {q:.1}%"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "  {}", style.dim(&m.explanation));
    }
    if let Some(g) = &a.metaspace_used {
        let _ = writeln!(out, "  MU over time: {}", growth_line(g, true));
    }
    if let Some(g) = &a.old_after_full_gc {
        let _ = writeln!(
            out,
            "old generation after full GC: {}",
            growth_line(g, true)
        );
    }
    if let Some(c) = &a.classes {
        let _ = writeln!(out, "\n{}", style.bold("Classes"));
        let _ = writeln!(
            out,
            "  loaded {} -> {}, unloaded {} -> {}{}",
            thousands(c.loaded_first),
            thousands(c.loaded_last),
            thousands(c.unloaded_first),
            thousands(c.unloaded_last),
            match (c.loads_per_second, c.unloads_per_second) {
                (Some(l), Some(u)) => format!("; {l:.1} loads/s, {u:.1} unloads/s"),
                _ => String::new(),
            }
        );
        let _ = writeln!(out, "  live: {}", growth_line(&c.live, false));
    }
    files_footer(&a.files, &a.warnings, style, &mut out);
    out
}

/// `oomsleuth diagnose`: the verdict first, then each source's findings in brief.
pub fn verdict(r: &VerdictReport, style: &Style) -> String {
    let mut out = String::new();
    let v = &r.verdict;
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Read:"),
        r.inputs
            .iter()
            .map(|i| i.kind.name())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!(
            "{} files; {} ignored",
            r.inputs.len(),
            r.ignored.len()
        ))
    );
    out.push('\n');
    let head = if v.area == Area::None {
        style.bold("Verdict: no growth found")
    } else {
        style.yellow(&style.bold(&format!("Verdict: {} grows", v.area.label())))
    };
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "  {}", v.summary);
    if let Some(c) = &v.category {
        let _ = writeln!(out, "  NMT category: {c}");
    }
    if let Some(f) = &v.class_family {
        let _ = writeln!(out, "  class family: {f}");
    }
    for c in &v.call_sites {
        let _ = writeln!(out, "  call site:    {c}");
    }
    if let Some(p) = v.per_hour {
        let _ = writeln!(out, "  rate:         {}", rate(Some(p)));
    }
    if !v.evidence.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Evidence"));
        for e in &v.evidence {
            let _ = writeln!(out, "  [{:?}] {}: {}", e.area, e.source, e.what);
        }
    }
    if let Some(g) = r.class_growth.as_ref().filter(|g| !g.classes.is_empty()) {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Classes that grew between the class histograms")
        );
        let _ = writeln!(out, "  {:>12}  {:>14}  class", "bytes", "instances");
        for c in &g.classes {
            let _ = writeln!(
                out,
                "  {:>12}  {:>14}  {}",
                format!(
                    "+{}",
                    crate::units::human_bytes(c.bytes_growth().max(0) as u64)
                ),
                format!("{:+}", c.instances_last as i64 - c.instances_first as i64),
                c.class
            );
        }
    }
    let _ = writeln!(out, "\n{}", style.bold("Capture next"));
    for c in &v.capture_next {
        let _ = writeln!(out, "  - {c}");
    }
    let growing: Vec<&str> = r
        .series
        .iter()
        .filter(|s| s.growing)
        .map(|s| s.name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "\n{}",
        style.dim(&format!(
            "{} time series ({} growing: {}); `--json` carries them for charts",
            r.series.len(),
            growing.len(),
            growing.join(", ")
        ))
    );
    for i in &r.ignored {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!("ignored {}: {}", i.path, i.reason))
        );
    }
    out
}
