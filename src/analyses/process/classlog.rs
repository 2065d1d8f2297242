//! `oomsleuth classlog`: loads and unloads over time, loaded-minus-unloaded by loader source and by
//! generated-class family (the grouping of [`class_families`](crate::analyses::class_families), shared with
//! the heap-dump analyses), and classes loaded many times under one name.

use crate::analyses::class_families::{classify, FamilyKind};
use crate::analyses::process::native::{keys_with, used, FileUsed};
use crate::analyses::process::series::{growth, order, Growth, Series, TimeSource};
use crate::formats::logs::classlog::{self, ClassEvent};
use crate::inputs::evidence::Input;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

pub const SCHEMA: &str = "oomsleuth.classlog/1";
/// A family must keep at least this many more classes than it unloads to count as growing.
pub const MIN_LIVE_GROWTH: f64 = 500.0;

/// The JSON contract of `oomsleuth classlog`.
#[derive(Clone, Debug, Serialize)]
pub struct ClassLogAnalysis {
    pub schema: &'static str,
    pub files: Vec<FileUsed>,
    pub time_source: TimeSource,
    pub loaded: u64,
    pub unloaded: u64,
    /// loaded - unloaded over the log.
    pub live: Growth,
    /// By where classes came from, most live first (top 20).
    pub by_source: Vec<Group>,
    /// By generated-class family, most live first (top 20).
    pub by_family: Vec<Group>,
    /// The family that keeps growing (live classes rising), if one does.
    pub growing_family: Option<String>,
    /// Names loaded more than once (by different loaders), most loads first (top 20).
    pub repeated: Vec<Repeated>,
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Group {
    /// A source (`__JVM_DefineClass__`, `shared objects file`, `jrt:/java.base`, `file:/app/lib/x.jar`,
    /// `(lambda/hidden of a class)`) or a family key (`Gen_<n>`).
    pub key: String,
    /// The family kind (`by_family` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<FamilyKind>,
    pub loaded: u64,
    pub unloaded: u64,
    pub live: i64,
    /// A name of the group, as an example.
    pub example: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Repeated {
    pub name: String,
    pub loads: u64,
    pub unloads: u64,
}

/// Normalises a load source: lambdas and hidden classes name their defining class, which is not a
/// place; URLs and the well-known pseudo sources stay as they are.
fn source_key(src: &str) -> String {
    let s = src.trim();
    if s.starts_with("__")
        || s.contains(':')
        || s.contains('/')
        || s.starts_with("shared objects file")
        || s.starts_with("instance of")
    {
        s.to_string()
    } else {
        "(lambda or hidden class of an application class)".into()
    }
}

/// At most ~500 points per series: every k-th plus the last.
fn thin(p: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let k = (p.len() / 500).max(1);
    let mut out: Vec<(f64, f64)> = p.iter().step_by(k).copied().collect();
    if let (Some(l), Some(o)) = (p.last(), out.last()) {
        if l != o {
            out.push(*l);
        }
    }
    out
}

/// The events of every file, files in time order; a file without times gets line positions
/// (after the events before it).
fn ordered_events(
    inputs: &[&Input],
    parsed: &[classlog::ClassLog],
    idx: &[usize],
) -> (Vec<FileUsed>, Vec<ClassEvent>) {
    let first_t = |p: &classlog::ClassLog| p.events.iter().find_map(|e| e.t);
    let mut files = Vec::new();
    let mut events: Vec<ClassEvent> = Vec::new();
    for &i in idx {
        let p = &parsed[i];
        files.push(used(inputs[i], first_t(p).unwrap_or(0.0), &p.stats));
        let base = events.len() as f64;
        let mut evs = p.events.clone();
        // Unified logging writes from several threads: lines are nearly, not exactly, in time order.
        if evs.iter().all(|e| e.t.is_some()) {
            evs.sort_by(|a, b| a.t.unwrap_or(0.0).total_cmp(&b.t.unwrap_or(0.0)));
        } else {
            for (k, e) in evs.iter_mut().enumerate() {
                e.t = Some(base + k as f64); // JDK 8: no times, the line's position
            }
        }
        events.extend(evs);
    }
    (files, events)
}

/// Loads and unloads counted by source, by family and by name, with the live count over time.
#[derive(Default)]
struct Tally<'e> {
    by_source: BTreeMap<String, Group>,
    by_family: BTreeMap<String, Group>,
    /// Loads and unloads per class name.
    names: HashMap<&'e str, (u64, u64)>,
    /// Live classes of each family over time.
    fam_points: HashMap<String, Vec<(f64, f64)>>,
    /// Live classes over time.
    live_points: Vec<(f64, f64)>,
    loaded: u64,
    unloaded: u64,
}

impl<'e> Tally<'e> {
    fn count(events: &'e [ClassEvent]) -> Tally<'e> {
        let mut t = Tally::default();
        // Each unload is matched to the source of the latest load of that name still live.
        let mut live_source: HashMap<&str, Vec<String>> = HashMap::new();
        let t0 = events.iter().find_map(|e| e.t).unwrap_or(0.0);
        for e in events {
            let fam = classify(&e.name);
            let src = if e.unload {
                live_source
                    .get_mut(e.name.as_str())
                    .and_then(|v| v.pop())
                    .unwrap_or_else(|| "(loaded before the log started)".into())
            } else {
                let s = source_key(e.source.as_deref().unwrap_or("(unknown)"));
                live_source.entry(&e.name).or_default().push(s.clone());
                s
            };
            group(&mut t.by_source, &src, None, &e.name);
            group(&mut t.by_family, &fam.key, Some(fam.kind), &e.name);
            for g in [t.by_source.get_mut(&src), t.by_family.get_mut(&fam.key)]
                .into_iter()
                .flatten()
            {
                if e.unload {
                    g.unloaded += 1;
                    g.live -= 1;
                } else {
                    g.loaded += 1;
                    g.live += 1;
                }
            }
            let n = t.names.entry(&e.name).or_default();
            if e.unload {
                t.unloaded += 1;
                n.1 += 1;
            } else {
                t.loaded += 1;
                n.0 += 1;
            }
            let at = e.t.unwrap_or(0.0) - t0;
            t.live_points
                .push((at, t.loaded as f64 - t.unloaded as f64));
            let fl = t.by_family.get(&fam.key).map(|g| g.live).unwrap_or(0);
            t.fam_points
                .entry(fam.key.clone())
                .or_default()
                .push((at, fl as f64));
        }
        t
    }
}

/// The group of `key` in `map`, made empty with `name` as its example when new.
fn group(map: &mut BTreeMap<String, Group>, key: &str, kind: Option<FamilyKind>, name: &str) {
    map.entry(key.to_string()).or_insert_with(|| Group {
        key: key.to_string(),
        kind,
        loaded: 0,
        unloaded: 0,
        live: 0,
        example: name.to_string(),
    });
}

/// The series of the five families with most live classes, and the growing family: most live
/// classes gained, from families with many members still live and rising over the log.
fn family_series(
    by_family: &[Group],
    fam_points: &HashMap<String, Vec<(f64, f64)>>,
    real: bool,
    time_source: TimeSource,
    series: &mut Vec<Series>,
) -> Option<String> {
    let mut growing_family = None;
    for g in by_family.iter().take(5) {
        if let Some(p) = fam_points.get(&g.key) {
            let p = thin(p);
            let gr = growth(&p, real, MIN_LIVE_GROWTH, 0.05);
            if gr.growing && growing_family.is_none() && g.live as f64 >= MIN_LIVE_GROWTH {
                growing_family = Some(g.key.clone());
            }
            let mut s = Series::new(
                format!("classlog: family {} live", g.key),
                "count",
                time_source,
                &p,
            );
            s.growing = gr.growing;
            series.push(s);
        }
    }
    growing_family
}

/// Names loaded more than once, most loads first (at most 20).
fn repeated_names(names: HashMap<&str, (u64, u64)>) -> Vec<Repeated> {
    let mut repeated: Vec<Repeated> = names
        .into_iter()
        .filter(|(_, (l, _))| *l > 1)
        .map(|(n, (l, u))| Repeated {
            name: n.to_string(),
            loads: l,
            unloads: u,
        })
        .collect();
    repeated.sort_by(|a, b| b.loads.cmp(&a.loads).then(a.name.cmp(&b.name)));
    repeated.truncate(20);
    repeated
}

/// Analyses class logs (files ordered by their first timestamp, then concatenated).
pub fn analyze(inputs: &[&Input]) -> ClassLogAnalysis {
    let parsed: Vec<_> = inputs.iter().map(|i| classlog::parse(&i.text)).collect();
    let first_t = |p: &classlog::ClassLog| p.events.iter().find_map(|e| e.t);
    let (idx, time_source, _) = order(&keys_with(inputs, |k| first_t(&parsed[k])));
    let (files, events) = ordered_events(inputs, &parsed, &idx);
    let mut warnings = Vec::new();
    let real = time_source == TimeSource::Content
        && parsed
            .iter()
            .all(|p| p.events.iter().all(|e| e.t.is_some()));
    if !real {
        warnings.push(
            "the log has no time stamps (JDK 8 -verbose:class): times are line positions".into(),
        );
    }
    let tally = Tally::count(&events);
    let live = growth(&thin(&tally.live_points), real, MIN_LIVE_GROWTH, 0.05);
    let mut by_family: Vec<Group> = tally.by_family.into_values().collect();
    by_family.sort_by(|a, b| {
        b.live
            .cmp(&a.live)
            .then(b.loaded.cmp(&a.loaded))
            .then(a.key.cmp(&b.key))
    });
    let mut series = Vec::new();
    let mut s = Series::new(
        "classlog: classes live (loaded - unloaded)",
        "count",
        time_source,
        &thin(&tally.live_points),
    );
    s.growing = live.growing;
    series.push(s);
    let growing_family = family_series(
        &by_family,
        &tally.fam_points,
        real,
        time_source,
        &mut series,
    );
    by_family.truncate(20);
    let mut by_source: Vec<Group> = tally.by_source.into_values().collect();
    by_source.sort_by(|a, b| b.live.cmp(&a.live).then(a.key.cmp(&b.key)));
    by_source.truncate(20);
    if events.is_empty() {
        warnings.push("no class load or unload lines: was the JVM run with -Xlog:class+load,class+unload (JDK 9+) or -verbose:class?".into());
    }
    ClassLogAnalysis {
        schema: SCHEMA,
        files,
        time_source,
        loaded: tally.loaded,
        unloaded: tally.unloaded,
        live,
        by_source,
        by_family,
        growing_family,
        repeated: repeated_names(tally.names),
        series,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::logs::LogKind;

    #[test]
    fn sample_jdk17_families_and_sources() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/samples/jdk17-class-load-unload-log.txt"
        ))
        .unwrap();
        let input = Input {
            path: "class.log".into(),
            kind: LogKind::ClassLog,
            text,
            mtime: None,
        };
        let a = analyze(&[&input]);
        let gen = a.by_family.iter().find(|g| g.key == "Gen_<n>").unwrap();
        assert!(gen.loaded >= 3 && gen.unloaded >= 4, "{gen:?}");
        let dc = a
            .by_source
            .iter()
            .find(|g| g.key == "__JVM_DefineClass__")
            .unwrap();
        assert!(dc.loaded >= 3);
        // Gen_00000000 and Gen_00000001 are loaded in three excerpts of the sample.
        assert!(a
            .repeated
            .iter()
            .any(|r| r.name == "Gen_00000000" && r.loads >= 3));
        assert_eq!(a.growing_family, None);
    }
}
