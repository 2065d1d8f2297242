//! `oomsleuth jstat`: jstat tables over time, the Metaspace percentage explained (jstat's `M` is used
//! over *committed*, not over the maximum: the trap of seed 001, where "M 88%" looked alarming and "M
//! 22%" looked fine while NMT's Class category kept growing), and class load/unload rates.

use crate::analyses::native::{keys_with, used, FileUsed, MIN_GROWTH, MIN_GROWTH_REL};
use crate::analyses::series::{growth, order, Growth, Input, Series, TimeSource};
use crate::formats::logs::jstat::{self, JstatOption, Table};
use serde::Serialize;

pub const SCHEMA: &str = "oomsleuth.jstat/1";
/// The series of what the JVM committed for heap and Metaspace (`S0C+S1C+EC+OC+MC`).
pub const COMMITTED_SERIES: &str = "jstat: committed heap + Metaspace";

/// The JSON contract of `oomsleuth jstat`.
#[derive(Clone, Debug, Serialize)]
pub struct JstatAnalysis {
    pub schema: &'static str,
    pub files: Vec<FileUsed>,
    pub time_source: TimeSource,
    /// One entry per jstat table, in time order.
    pub tables: Vec<TableSummary>,
    pub metaspace: Option<MetaspaceNow>,
    pub classes: Option<ClassRates>,
    /// Metaspace used (`MU`) over time.
    pub metaspace_used: Option<Growth>,
    /// Old generation used (`OU`) at the rows right after a full GC (`FGC` went up).
    pub old_after_full_gc: Option<Growth>,
    /// Old generation used at the rows right after any collection (`YGC` or `FGC` went up):
    /// weaker than after full GCs (old regions keep garbage until a concurrent or full cycle).
    pub old_after_gc: Option<Growth>,
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TableSummary {
    pub file: String,
    pub option: JstatOption,
    pub rows: usize,
    pub timestamps: bool,
    pub columns: Vec<String>,
}

/// The last row's Metaspace, in bytes, and what jstat's percentage means.
#[derive(Clone, Debug, Serialize)]
pub struct MetaspaceNow {
    /// `MU`.
    pub used: Option<u64>,
    /// `MC`.
    pub committed: Option<u64>,
    /// `MCMX`: the most Metaspace (+ class space) may reserve (from `-gcmetacapacity` or `-gccapacity`).
    pub max: Option<u64>,
    /// jstat `-gcutil`'s `M`, as printed (or computed MU/MC).
    pub jstat_percent: Option<f64>,
    /// used / max, the number people think `M` is.
    pub percent_of_max: Option<f64>,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClassRates {
    pub loaded_first: u64,
    pub loaded_last: u64,
    pub unloaded_first: u64,
    pub unloaded_last: u64,
    /// Loaded minus unloaded, last row.
    pub live_last: i64,
    pub loads_per_second: Option<f64>,
    pub unloads_per_second: Option<f64>,
    pub live: Growth,
}

fn kb(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        (v * 1024.0).round() as u64
    } else {
        0
    }
}

/// Analyses jstat outputs. Rows of one file follow each other; files are ordered by their first
/// `Timestamp` (with `-t`), else their modification times, else names.
pub fn analyze(inputs: &[&Input]) -> JstatAnalysis {
    let parsed: Vec<_> = inputs.iter().map(|i| jstat::parse(&i.text)).collect();
    let first_ts = |j: &jstat::Jstat| {
        j.tables
            .iter()
            .find_map(|t| t.values("Timestamp").and_then(|v| v.first().copied()))
    };
    let (idx, time_source, times) = order(&keys_with(inputs, |k| first_ts(&parsed[k])));
    let mut files = Vec::new();
    let mut tables: Vec<(String, f64, &Table)> = Vec::new();
    for (&i, &t) in idx.iter().zip(&times) {
        files.push(used(inputs[i], t, &parsed[i].stats));
        for tb in &parsed[i].tables {
            tables.push((inputs[i].path.display().to_string(), t, tb));
        }
    }
    let mut warnings = Vec::new();
    // Rows of one option joined over files: (time, row).
    let rows_of = |opts: &[JstatOption]| -> Vec<(f64, &Table, &Vec<f64>)> {
        let mut out = Vec::new();
        for (_, file_t, tb) in &tables {
            if !opts.contains(&tb.option) {
                continue;
            }
            let ts = tb.col("Timestamp");
            for (k, r) in tb.rows.iter().enumerate() {
                let t = match (ts, time_source) {
                    (Some(c), TimeSource::Content) => r.get(c).copied().unwrap_or(0.0),
                    (Some(c), _) if tables.len() == 1 => r.get(c).copied().unwrap_or(0.0),
                    _ => file_t + k as f64,
                };
                out.push((t, *tb, r));
            }
        }
        out
    };
    let real = tables.iter().all(|t| t.2.has_timestamps());
    let get = |tb: &Table, r: &Vec<f64>, c: &str| {
        tb.col(c)
            .and_then(|i| r.get(i).copied())
            .filter(|v| v.is_finite())
    };
    let mut series = Vec::new();

    let gc_rows = rows_of(&[JstatOption::Gc]);
    let mu: Vec<(f64, f64)> = gc_rows
        .iter()
        .filter_map(|(t, tb, r)| Some((*t, kb(get(tb, r, "MU")?) as f64)))
        .collect();
    let mc: Vec<(f64, f64)> = gc_rows
        .iter()
        .filter_map(|(t, tb, r)| Some((*t, kb(get(tb, r, "MC")?) as f64)))
        .collect();
    // What the JVM has committed for its heap and Metaspace (S0C+S1C+EC+OC+MC): without NMT, the
    // part of a process's RSS growth these explain.
    let committed: Vec<(f64, f64)> = gc_rows
        .iter()
        .filter_map(|(t, tb, r)| {
            let sum: Option<f64> = ["S0C", "S1C", "EC", "OC", "MC"]
                .iter()
                .map(|c| get(tb, r, c))
                .sum();
            Some((*t, kb(sum?) as f64))
        })
        .collect();
    let ou: Vec<(f64, f64)> = gc_rows
        .iter()
        .filter_map(|(t, tb, r)| Some((*t, kb(get(tb, r, "OU")?) as f64)))
        .collect();
    let mut ou_after_fgc = Vec::new();
    let mut ou_after_gc = Vec::new();
    let mut last_fgc = None;
    let mut last_ygc = None;
    for (t, tb, r) in &gc_rows {
        let fgc = get(tb, r, "FGC");
        let ygc = get(tb, r, "YGC");
        let rose = |now: Option<f64>, prev: Option<f64>| matches!((now, prev), (Some(n), Some(p)) if n > p);
        if let Some(o) = get(tb, r, "OU") {
            if rose(fgc, last_fgc) {
                ou_after_fgc.push((*t, kb(o) as f64));
            }
            if rose(fgc, last_fgc) || rose(ygc, last_ygc) {
                ou_after_gc.push((*t, kb(o) as f64));
            }
        }
        if fgc.is_some() {
            last_fgc = fgc;
        }
        if ygc.is_some() {
            last_ygc = ygc;
        }
    }
    let t0 = gc_rows.first().map(|r| r.0).unwrap_or(0.0);
    let rel = |p: &[(f64, f64)], t0: f64| -> Vec<(f64, f64)> {
        p.iter().map(|(t, v)| (t - t0, *v)).collect()
    };
    let metaspace_used = (mu.len() >= 2).then(|| growth(&mu, real, MIN_GROWTH, MIN_GROWTH_REL));
    let old_after_full_gc =
        (ou_after_fgc.len() >= 2).then(|| growth(&ou_after_fgc, real, MIN_GROWTH, MIN_GROWTH_REL));
    let old_after_gc =
        (ou_after_gc.len() >= 2).then(|| growth(&ou_after_gc, real, MIN_GROWTH, MIN_GROWTH_REL));
    for (name, p, g) in [
        ("jstat: Metaspace used (MU)", &mu, metaspace_used.as_ref()),
        ("jstat: Metaspace committed (MC)", &mc, None),
        (COMMITTED_SERIES, &committed, None),
        ("jstat: old used (OU)", &ou, None),
        (
            "jstat: old used after full GC",
            &ou_after_fgc,
            old_after_full_gc.as_ref(),
        ),
    ] {
        if !p.is_empty() {
            let mut s = Series::new(name, "bytes", time_source, &rel(p, t0));
            s.growing = g.is_some_and(|g| g.growing);
            series.push(s);
        }
    }

    // Metaspace now: the last row of whichever tables carry it.
    let last_of = |opts: &[JstatOption], c: &str| {
        rows_of(opts)
            .iter()
            .rev()
            .find_map(|(_, tb, r)| get(tb, r, c))
    };
    let used = last_of(&[JstatOption::Gc], "MU").map(kb);
    let committed = last_of(
        &[
            JstatOption::Gc,
            JstatOption::Gcmetacapacity,
            JstatOption::Gccapacity,
        ],
        "MC",
    )
    .map(kb);
    let max = last_of(
        &[JstatOption::Gcmetacapacity, JstatOption::Gccapacity],
        "MCMX",
    )
    .map(kb);
    let jstat_percent = last_of(&[JstatOption::Gcutil, JstatOption::Gccause], "M")
        .or_else(|| Some(100.0 * used? as f64 / (committed? as f64).max(1.0)));
    let percent_of_max = used
        .zip(max)
        .map(|(u, m)| 100.0 * u as f64 / (m as f64).max(1.0));
    let metaspace = (used.is_some() || jstat_percent.is_some()).then(|| {
        let mut e = String::from("jstat's M is Metaspace used / committed, not used / MaxMetaspaceSize: it jumps between 20% and 90% as the JVM commits and uncommits chunks, and says nothing about how close the JVM is to OutOfMemoryError: Metaspace. Watch MU (used) and MC (committed) grow over time instead");
        if let Some(p) = percent_of_max {
            e.push_str(&format!("; here used is {p:.1}% of the maximum (MCMX)"));
        }
        e.push('.');
        MetaspaceNow { used, committed, max, jstat_percent, percent_of_max, explanation: e }
    });

    let class_rows = rows_of(&[JstatOption::Class]);
    let classes = (!class_rows.is_empty()).then(|| {
        let v = |c: &str| -> Vec<(f64, f64)> {
            class_rows
                .iter()
                .filter_map(|(t, tb, r)| Some((*t, get(tb, r, c)?)))
                .collect()
        };
        let loaded = v("Loaded");
        let unloaded = v("Unloaded");
        let live: Vec<(f64, f64)> = loaded
            .iter()
            .zip(&unloaded)
            .map(|(l, u)| (l.0, l.1 - u.1))
            .collect();
        let c0 = class_rows.first().map(|r| r.0).unwrap_or(0.0);
        let dt = class_rows.last().map(|r| r.0).unwrap_or(0.0) - c0;
        let rate = |p: &[(f64, f64)]| {
            (real && dt > 0.0).then(|| {
                (p.last().map(|x| x.1).unwrap_or(0.0) - p.first().map(|x| x.1).unwrap_or(0.0)) / dt
            })
        };
        // A class is a few KB of Metaspace: 1,000 classes is the growth threshold here.
        let live_g = growth(&live, real, 1000.0, MIN_GROWTH_REL);
        for (name, p, g) in [
            ("jstat: classes loaded", &loaded, false),
            ("jstat: classes unloaded", &unloaded, false),
            (
                "jstat: classes live (loaded - unloaded)",
                &live,
                live_g.growing,
            ),
        ] {
            let mut s = Series::new(name, "count", time_source, &rel(p, c0));
            s.growing = g;
            series.push(s);
        }
        ClassRates {
            loaded_first: loaded.first().map(|x| x.1 as u64).unwrap_or(0),
            loaded_last: loaded.last().map(|x| x.1 as u64).unwrap_or(0),
            unloaded_first: unloaded.first().map(|x| x.1 as u64).unwrap_or(0),
            unloaded_last: unloaded.last().map(|x| x.1 as u64).unwrap_or(0),
            live_last: live.last().map(|x| x.1 as i64).unwrap_or(0),
            loads_per_second: rate(&loaded),
            unloads_per_second: rate(&unloaded),
            live: live_g,
        }
    });
    if tables.is_empty() {
        warnings
            .push("no jstat table found: give the output of e.g. `jstat -gc -t PID 10s`".into());
    } else if !real {
        warnings
            .push("no Timestamp column (jstat -t): rows are ordered but rates are unknown".into());
    }
    JstatAnalysis {
        schema: SCHEMA,
        files,
        time_source,
        tables: tables
            .iter()
            .map(|(f, _, t)| TableSummary {
                file: f.clone(),
                option: t.option,
                rows: t.rows.len(),
                timestamps: t.has_timestamps(),
                columns: t.columns.clone(),
            })
            .collect(),
        metaspace,
        classes,
        metaspace_used,
        old_after_full_gc,
        old_after_gc,
        series,
        warnings,
    }
}
