//! `oomsleuth jstat`: jstat tables over time, the Metaspace percentage explained (jstat's `M` is used
//! over *committed*, not over the maximum: the trap of seed 001, where "M 88%" looked alarming and "M
//! 22%" looked fine while NMT's Class category kept growing), and class load/unload rates.

use crate::analyses::process::native::{keys_with, used, FileUsed, MIN_GROWTH, MIN_GROWTH_REL};
use crate::analyses::process::series::{growth, order, Growth, Series, TimeSource};
use crate::formats::logs::jstat::{self, JstatOption, Table};
use crate::inputs::evidence::Input;
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

/// The tables of every file in time order, and how a row's time is known.
struct Rows<'t> {
    /// (file, the file's time, table).
    tables: Vec<(String, f64, &'t Table)>,
    time_source: TimeSource,
    /// Every table has jstat -t's Timestamp column: rates are per second.
    real: bool,
}

/// `(time, value)` points.
type Points = Vec<(f64, f64)>;

/// One row of a table at its time.
type Row<'t> = (f64, &'t Table, &'t Vec<f64>);

impl<'t> Rows<'t> {
    /// Rows of the tables of one of `opts`, joined over files: (time, table, row).
    fn of(&self, opts: &[JstatOption]) -> Vec<Row<'t>> {
        let mut out = Vec::new();
        for (_, file_t, tb) in &self.tables {
            if !opts.contains(&tb.option) {
                continue;
            }
            let ts = tb.col("Timestamp");
            for (k, r) in tb.rows.iter().enumerate() {
                let t = match (ts, self.time_source) {
                    (Some(c), TimeSource::Content) => r.get(c).copied().unwrap_or(0.0),
                    (Some(c), _) if self.tables.len() == 1 => r.get(c).copied().unwrap_or(0.0),
                    _ => file_t + k as f64,
                };
                out.push((t, *tb, r));
            }
        }
        out
    }

    /// The last value of column `c` in the tables of `opts`.
    fn last_of(&self, opts: &[JstatOption], c: &str) -> Option<f64> {
        self.of(opts)
            .iter()
            .rev()
            .find_map(|(_, tb, r)| get(tb, r, c))
    }
}

/// Column `c` of row `r`, when the table has it and it is a number.
fn get(tb: &Table, r: &[f64], c: &str) -> Option<f64> {
    tb.col(c)
        .and_then(|i| r.get(i).copied())
        .filter(|v| v.is_finite())
}

/// `(time, bytes)` of a KB column over rows.
fn kb_points(rows: &[Row<'_>], f: impl Fn(&Table, &[f64]) -> Option<f64>) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|(t, tb, r)| Some((*t, kb(f(tb, r)?) as f64)))
        .collect()
}

/// Points with times relative to `t0`.
fn relative(p: &[(f64, f64)], t0: f64) -> Vec<(f64, f64)> {
    p.iter().map(|(t, v)| (t - t0, *v)).collect()
}

/// Growth of Metaspace used, old after full GCs and old after any GC (each when it has two
/// points), from `-gc` rows.
struct GcGrowth {
    metaspace_used: Option<Growth>,
    old_after_full_gc: Option<Growth>,
    old_after_gc: Option<Growth>,
}

/// The `-gc` series (Metaspace used and committed, heap + Metaspace committed, old used, old after
/// full GC) and their growth.
fn gc_series(rows: &Rows<'_>, series: &mut Vec<Series>) -> GcGrowth {
    let gc_rows = rows.of(&[JstatOption::Gc]);
    let mu = kb_points(&gc_rows, |tb, r| get(tb, r, "MU"));
    let mc = kb_points(&gc_rows, |tb, r| get(tb, r, "MC"));
    // What the JVM has committed for its heap and Metaspace (S0C+S1C+EC+OC+MC): without NMT, the
    // part of a process's RSS growth these explain.
    let committed = kb_points(&gc_rows, |tb, r| {
        ["S0C", "S1C", "EC", "OC", "MC"]
            .iter()
            .map(|c| get(tb, r, c))
            .sum()
    });
    let ou = kb_points(&gc_rows, |tb, r| get(tb, r, "OU"));
    let (ou_after_fgc, ou_after_gc) = old_after_collections(&gc_rows);
    let t0 = gc_rows.first().map(|r| r.0).unwrap_or(0.0);
    let grow =
        |p: &[(f64, f64)]| (p.len() >= 2).then(|| growth(p, rows.real, MIN_GROWTH, MIN_GROWTH_REL));
    let g = GcGrowth {
        metaspace_used: grow(&mu),
        old_after_full_gc: grow(&ou_after_fgc),
        old_after_gc: grow(&ou_after_gc),
    };
    for (name, p, growth) in [
        ("jstat: Metaspace used (MU)", &mu, g.metaspace_used.as_ref()),
        ("jstat: Metaspace committed (MC)", &mc, None),
        (COMMITTED_SERIES, &committed, None),
        ("jstat: old used (OU)", &ou, None),
        (
            "jstat: old used after full GC",
            &ou_after_fgc,
            g.old_after_full_gc.as_ref(),
        ),
    ] {
        if !p.is_empty() {
            let mut s = Series::new(name, "bytes", rows.time_source, &relative(p, t0));
            s.growing = growth.is_some_and(|g| g.growing);
            series.push(s);
        }
    }
    g
}

/// Old used at the rows where the full-GC count rose, and where any GC count rose.
fn old_after_collections(gc_rows: &[Row<'_>]) -> (Points, Points) {
    let mut after_fgc = Vec::new();
    let mut after_gc = Vec::new();
    let mut last_fgc = None;
    let mut last_ygc = None;
    let rose =
        |now: Option<f64>, prev: Option<f64>| matches!((now, prev), (Some(n), Some(p)) if n > p);
    for (t, tb, r) in gc_rows {
        let fgc = get(tb, r, "FGC");
        let ygc = get(tb, r, "YGC");
        if let Some(o) = get(tb, r, "OU") {
            if rose(fgc, last_fgc) {
                after_fgc.push((*t, kb(o) as f64));
            }
            if rose(fgc, last_fgc) || rose(ygc, last_ygc) {
                after_gc.push((*t, kb(o) as f64));
            }
        }
        if fgc.is_some() {
            last_fgc = fgc;
        }
        if ygc.is_some() {
            last_ygc = ygc;
        }
    }
    (after_fgc, after_gc)
}

/// Metaspace now: the last row of whichever tables carry it, and what jstat's M means.
fn metaspace_now(rows: &Rows<'_>) -> Option<MetaspaceNow> {
    let used = rows.last_of(&[JstatOption::Gc], "MU").map(kb);
    let committed = rows
        .last_of(
            &[
                JstatOption::Gc,
                JstatOption::Gcmetacapacity,
                JstatOption::Gccapacity,
            ],
            "MC",
        )
        .map(kb);
    let max = rows
        .last_of(
            &[JstatOption::Gcmetacapacity, JstatOption::Gccapacity],
            "MCMX",
        )
        .map(kb);
    let jstat_percent = rows
        .last_of(&[JstatOption::Gcutil, JstatOption::Gccause], "M")
        .or_else(|| Some(100.0 * used? as f64 / (committed? as f64).max(1.0)));
    let percent_of_max = used
        .zip(max)
        .map(|(u, m)| 100.0 * u as f64 / (m as f64).max(1.0));
    (used.is_some() || jstat_percent.is_some()).then(|| {
        let mut e = String::from("jstat's M is Metaspace used / committed, not used / MaxMetaspaceSize: it jumps between 20% and 90% as the JVM commits and uncommits chunks, and says nothing about how close the JVM is to OutOfMemoryError: Metaspace. Watch MU (used) and MC (committed) grow over time instead");
        if let Some(p) = percent_of_max {
            e.push_str(&format!("; here used is {p:.1}% of the maximum (MCMX)"));
        }
        e.push('.');
        MetaspaceNow { used, committed, max, jstat_percent, percent_of_max, explanation: e }
    })
}

/// Classes loaded, unloaded and live over `-class` rows, with their series.
fn class_rates(rows: &Rows<'_>, series: &mut Vec<Series>) -> Option<ClassRates> {
    let class_rows = rows.of(&[JstatOption::Class]);
    if class_rows.is_empty() {
        return None;
    }
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
        (rows.real && dt > 0.0).then(|| {
            (p.last().map(|x| x.1).unwrap_or(0.0) - p.first().map(|x| x.1).unwrap_or(0.0)) / dt
        })
    };
    // A class is a few KB of Metaspace: 1,000 classes is the growth threshold here.
    let live_g = growth(&live, rows.real, 1000.0, MIN_GROWTH_REL);
    for (name, p, g) in [
        ("jstat: classes loaded", &loaded, false),
        ("jstat: classes unloaded", &unloaded, false),
        (
            "jstat: classes live (loaded - unloaded)",
            &live,
            live_g.growing,
        ),
    ] {
        let mut s = Series::new(name, "count", rows.time_source, &relative(p, c0));
        s.growing = g;
        series.push(s);
    }
    Some(ClassRates {
        loaded_first: loaded.first().map(|x| x.1 as u64).unwrap_or(0),
        loaded_last: loaded.last().map(|x| x.1 as u64).unwrap_or(0),
        unloaded_first: unloaded.first().map(|x| x.1 as u64).unwrap_or(0),
        unloaded_last: unloaded.last().map(|x| x.1 as u64).unwrap_or(0),
        live_last: live.last().map(|x| x.1 as i64).unwrap_or(0),
        loads_per_second: rate(&loaded),
        unloads_per_second: rate(&unloaded),
        live: live_g,
    })
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
    let real = tables.iter().all(|t| t.2.has_timestamps());
    let rows = Rows {
        tables,
        time_source,
        real,
    };
    let mut series = Vec::new();
    let gc = gc_series(&rows, &mut series);
    let metaspace = metaspace_now(&rows);
    let classes = class_rates(&rows, &mut series);
    let mut warnings = Vec::new();
    if rows.tables.is_empty() {
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
        tables: rows
            .tables
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
        metaspace_used: gc.metaspace_used,
        old_after_full_gc: gc.old_after_full_gc,
        old_after_gc: gc.old_after_gc,
        series,
        warnings,
    }
}
