//! The multi-source verdict: which memory area grows, from any mix of NMT outputs, process maps, GC
//! logs, class logs and jstat outputs (format detected from content), the evidence each file gives, and
//! what to capture next. `oomsleuth diagnose PATH...` prints it; `oomsleuth analyze` will route non-HPROF
//! inputs here.
//!
//! How the area is chosen: every analysis that sees a series grow (by at least 4 MiB and 5%, rising in
//! most steps: [`growth`](crate::analyses::process::series::growth)) adds [`Evidence`] for an area with the bytes it
//! grew. The area with the largest growth wins. NMT decides between areas when present (its categories
//! split the whole JVM); the Java heap's own trend comes from what is left after full GCs (GC log, jstat),
//! because NMT's "Java Heap" only shows the heap expanding. Process RSS that grows beyond what NMT
//! committed is native memory NMT cannot see (zlib, JNI libraries: seed 002).

use crate::analyses::process::class_growth::{self, ClassGrowth};
use crate::analyses::process::classlog::{self, ClassLogAnalysis};
use crate::analyses::process::gclog::{self, GcLogAnalysis};
use crate::analyses::process::jstat::{self, JstatAnalysis};
use crate::analyses::process::native::{self, MapsAnalysis, NmtAnalysis, MIN_GROWTH};
use crate::analyses::process::series::Series;
use crate::formats::logs::metaspace::{self, JvmMetaspace};
use crate::formats::logs::LogKind;
use crate::inputs::evidence::{Ignored, Input, Inputs};

use serde::Serialize;

pub const SCHEMA: &str = "oomsleuth.verdict/1";

/// Memory areas of a JVM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Heap,
    Metaspace,
    Native,
    Threads,
    Direct,
    None,
}

impl Area {
    pub fn label(self) -> &'static str {
        match self {
            Area::Heap => "the Java heap",
            Area::Metaspace => "Metaspace (classes and their loaders)",
            Area::Native => "native memory (malloc outside the Java heap)",
            Area::Threads => "thread stacks",
            Area::Direct => "direct buffers",
            Area::None => "no growth found",
        }
    }
}

/// What a piece of evidence measured. The decision reads this, never the sentence in `what`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An NMT category's committed memory grew.
    NmtCommitted { category: String },
    /// Anonymous RSS grew and no NMT was given to split it (charged to Metaspace when the number
    /// of live classes grew with it).
    RssWithoutNmt,
    /// Resident memory beyond NMT's committed total grew: memory NMT does not track.
    RssBeyondNmt,
    /// The heap left after full GCs rose: the live set grows.
    HeapAfterFullGc,
    /// The heap left after every collection rose; `confirmed` when full GCs freed little too
    /// (else old regions may only be holding garbage until a concurrent or full cycle).
    HeapAfterGc { confirmed: bool },
    /// Full GCs keep finding a heap full of live data (they free little).
    FullGcsFreeLittle,
    /// Metaspace after GC (GC log) rose.
    MetaspaceAfterGc,
    /// jstat's Metaspace used (`MU`) rose.
    MetaspaceUsed,
    /// jstat's old generation after full GCs rose.
    OldAfterFullGc,
    /// jstat's old generation after any collection rose (weaker).
    OldAfterGc,
    /// More classes loaded than unloaded (jstat `-class`).
    ClassesLoaded,
    /// A class family keeps growing (class log).
    ClassFamily { family: String },
    /// Committed Metaspace is at `MaxMetaspaceSize` (`VM.metaspace`): the JVM cannot load another
    /// class, whether or not it still grows while watched.
    MetaspaceAtLimit,
    /// The live objects of class histograms (taken after a full GC) grew.
    LiveHeapInHistograms,
}

/// NMT's compiler categories: arenas the JIT fills while compiling and returns afterwards.
const JIT_SCRATCH: [&str; 2] = ["Arena Chunk", "Compiler"];

impl Signal {
    /// An area at its configured limit is what the OutOfMemoryError is about: it decides before
    /// any growth does.
    pub fn is_at_limit(&self) -> bool {
        matches!(self, Signal::MetaspaceAtLimit)
    }

    /// JIT scratch (NMT's Arena Chunk and Compiler) swells during bursts of compilation and is
    /// handed back: it decides only when nothing that stays grew.
    pub fn is_jit_scratch(&self) -> bool {
        matches!(self, Signal::NmtCommitted { category } if JIT_SCRATCH.contains(&category.as_str()))
    }
}

/// One file's (or one analysis') testimony.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub area: Area,
    pub signal: Signal,
    /// `nmt`, `pmap`, `gclog`, `classlog`, `jstat`.
    pub source: &'static str,
    pub files: Vec<String>,
    /// What grew, in words.
    pub what: String,
    /// Growth in bytes (null for counts).
    pub bytes: Option<i64>,
    /// Bytes (or count) per hour, when the files have real times.
    pub per_hour: Option<f64>,
}

/// The verdict object of the JSON: `{"area": ..., "category", "call_sites", "class_family", ...}`.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub area: Area,
    /// One sentence.
    pub summary: String,
    /// The NMT category that grows (`Class`, `Other`, `Thread`, ...).
    pub category: Option<String>,
    /// The malloc call sites that grow most (NMT detail), top frame first.
    pub call_sites: Vec<String>,
    /// The class family that grows (class log), e.g. `Gen_<n>`.
    pub class_family: Option<String>,
    /// Growth of the winning area, bytes, and per hour.
    pub growth_bytes: Option<i64>,
    pub per_hour: Option<f64>,
    /// All evidence, for every area, strongest first.
    pub evidence: Vec<Evidence>,
    /// With a heap dump among the inputs: the suspect of the dump that explains the growing area
    /// (see [`join`]).
    pub explained_by: Option<ExplainedBy>,
    /// What to capture next.
    pub capture_next: Vec<String>,
}

/// The dump's suspect that explains the growing area.
#[derive(Clone, Debug, Serialize)]
pub struct ExplainedBy {
    /// The suspect's rank in the dump's report (1-based).
    pub rank: usize,
    pub title: String,
}

/// What `join` needs of one suspect of the dump: its rank, title and whether it is about class
/// loaders (Metaspace) or the heap.
pub struct SuspectArea<'a> {
    pub rank: usize,
    pub title: &'a str,
    pub metaspace: bool,
}

/// One story for a dump and its logs: a heap verdict points at the dump's first heap suspect, a
/// Metaspace verdict at its first class-loader suspect (they come ranked). The summary names it.
pub fn join(v: &mut Verdict, suspects: &[SuspectArea<'_>]) {
    let want_metaspace = match v.area {
        Area::Heap => false,
        Area::Metaspace => true,
        _ => return,
    };
    if let Some(s) = suspects.iter().find(|s| s.metaspace == want_metaspace) {
        v.summary.push_str(&format!(
            "; in the heap dump: suspect {} ({})",
            s.rank, s.title
        ));
        v.explained_by = Some(ExplainedBy {
            rank: s.rank,
            title: s.title.to_string(),
        });
    }
}

/// The JSON contract of `oomsleuth diagnose` (and the non-heap part of `analyze`).
#[derive(Clone, Debug, Serialize)]
pub struct VerdictReport {
    pub schema: &'static str,
    pub inputs: Vec<InputFile>,
    pub ignored: Vec<Ignored>,
    pub verdict: Verdict,
    /// Every time series of every analysis (charts: one per series, `growing` highlighted).
    pub series: Vec<Series>,
    pub nmt: Option<NmtAnalysis>,
    pub maps: Option<MapsAnalysis>,
    pub gclog: Option<GcLogAnalysis>,
    pub classlog: Option<ClassLogAnalysis>,
    pub jstat: Option<JstatAnalysis>,
    /// The JVM's own Metaspace per loader type, from a `VM.classloader_stats` or `VM.metaspace`
    /// output among the inputs (the last one given; per-type rows preferred). Beside a heap dump,
    /// `analyze` uses these figures instead of its estimates.
    pub jvm_metaspace: Option<JvmMetaspace>,
    /// The classes that grew between the first and last class histogram among the inputs.
    pub class_growth: Option<ClassGrowth>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputFile {
    pub path: String,
    pub kind: LogKind,
}

fn paths(files: &[native::FileUsed]) -> Vec<String> {
    files.iter().map(|f| f.path.clone()).collect()
}

fn mib(b: f64) -> String {
    format!("{:.1} MiB", b / (1024.0 * 1024.0))
}

/// The analysis of each kind of evidence among the inputs.
struct SourceAnalyses {
    nmt: Option<native::NmtAnalysis>,
    maps: Option<native::MapsAnalysis>,
    gclog: Option<gclog::GcLogAnalysis>,
    classlog: Option<classlog::ClassLogAnalysis>,
    jstat: Option<jstat::JstatAnalysis>,
}

impl SourceAnalyses {
    fn of(inputs: &Inputs) -> SourceAnalyses {
        let nmt_in = inputs.of(&[LogKind::Nmt]);
        let maps_in = inputs.of(&[LogKind::Pmap, LogKind::Smaps, LogKind::SmapsRollup]);
        let gc_in = inputs.of(&[LogKind::GcLog]);
        let cl_in = inputs.of(&[LogKind::ClassLog]);
        let js_in = inputs.of(&[LogKind::Jstat]);
        // pmap, smaps_rollup and smaps (or maps) of one run are views of one series: prefer pmap
        // (it has mappings with RSS), then smaps_rollup (the exact totals; `maps`, as `record`
        // takes beside it, has no RSS at all).
        let prefer = [LogKind::Pmap, LogKind::SmapsRollup]
            .into_iter()
            .find(|k| maps_in.iter().any(|i| i.kind == *k));
        let maps_in: Vec<&Input> = match prefer {
            Some(k) => maps_in.iter().copied().filter(|i| i.kind == k).collect(),
            None => maps_in,
        };
        SourceAnalyses {
            nmt: (!nmt_in.is_empty()).then(|| native::nmt(&nmt_in)),
            maps: (!maps_in.is_empty()).then(|| native::maps(&maps_in)),
            gclog: (!gc_in.is_empty()).then(|| gclog::analyze(&gc_in)),
            classlog: (!cl_in.is_empty()).then(|| classlog::analyze(&cl_in)),
            jstat: (!js_in.is_empty()).then(|| jstat::analyze(&js_in)),
        }
    }

    /// Every source's evidence, strongest first, and the class family the class log names.
    fn evidence(&self, inputs: &Inputs) -> (Vec<Evidence>, Option<String>) {
        let mut ev: Vec<Evidence> = Vec::new();
        if let Some(n) = &self.nmt {
            nmt_evidence(n, &mut ev);
        }
        if let Some(m) = &self.maps {
            maps_evidence(m, self.nmt.as_ref(), self.jstat.as_ref(), &mut ev);
        }
        if let Some(g) = &self.gclog {
            gclog_evidence(g, &mut ev);
        }
        if let Some(j) = &self.jstat {
            jstat_evidence(j, &mut ev);
        }
        let class_family = self
            .classlog
            .as_ref()
            .and_then(|c| classlog_evidence(c, &mut ev));
        metaspace_limit_evidence(&inputs.of(&[LogKind::VmMetaspace]), &mut ev);
        // An area at its limit first; then the most bytes of growth (evidence in counts only, as
        // class logs give, backs an area but decides only when nothing measured bytes); JIT
        // scratch only when nothing that stays grew (see `Signal::is_jit_scratch`).
        ev.sort_by(|a, b| {
            b.signal
                .is_at_limit()
                .cmp(&a.signal.is_at_limit())
                .then(a.signal.is_jit_scratch().cmp(&b.signal.is_jit_scratch()))
                .then(b.bytes.unwrap_or(-1).cmp(&a.bytes.unwrap_or(-1)))
                .then(a.source.cmp(b.source))
        });
        (ev, class_family)
    }

    /// Every source's time series, for charts.
    fn series(&self) -> Vec<Series> {
        [
            self.nmt.as_ref().map(|n| &n.series),
            self.maps.as_ref().map(|m| &m.series),
            self.gclog.as_ref().map(|g| &g.series),
            self.classlog.as_ref().map(|c| &c.series),
            self.jstat.as_ref().map(|j| &j.series),
        ]
        .into_iter()
        .flatten()
        .flat_map(|s| s.iter().cloned())
        .collect()
    }
}

/// The NMT category that grows most within `area`.
fn growing_category(nmt: Option<&native::NmtAnalysis>, area: Area) -> Option<String> {
    nmt?.growth
        .iter()
        .filter(|g| g.growing && nmt_area(&g.name) == area)
        .max_by_key(|g| g.committed_delta)
        .map(|g| g.name.clone())
}

/// The call sites of `category` that grew most, sites with the same top frame (one native
/// function called from several Java stacks) summed; at most three.
fn top_call_sites(nmt: &native::NmtAnalysis, cat: &str) -> Vec<String> {
    let mut by_frame: Vec<(String, i64)> = Vec::new();
    for s in nmt
        .sites
        .iter()
        .filter(|s| s.category.as_deref().is_none_or(|c| c == cat))
    {
        match by_frame.iter_mut().find(|(f, _)| *f == s.top_frame) {
            Some(e) => e.1 += s.malloc_delta,
            None => by_frame.push((s.top_frame.clone(), s.malloc_delta)),
        }
    }
    by_frame.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    by_frame
        .into_iter()
        .filter(|(_, d)| *d as f64 >= MIN_GROWTH / 4.0)
        .take(3)
        .map(|(f, d)| format!("{f} ({cat} +{})", mib(d as f64)))
        .collect()
}

/// The verdict in one line.
fn summary_line(
    area: Area,
    best: Option<&Evidence>,
    category: Option<&str>,
    class_family: Option<&str>,
    call_sites: &[String],
) -> String {
    match (area, best) {
        (Area::None, _) => {
            "no growth found: nothing in these files grows by 4 MiB and 5% in most steps"
                .to_string()
        }
        (a, Some(b)) => {
            let mut s = format!("{} grows: {}", capitalise(a.label()), b.what);
            if let Some(c) = category {
                s.push_str(&format!("; NMT category {c}"));
            }
            if let Some(f) = class_family {
                s.push_str(&format!("; class family {f}"));
            }
            if let Some(cs) = call_sites.first() {
                s.push_str(&format!("; top call site {cs}"));
            }
            s
        }
        (a, None) => a.label().to_string(),
    }
}

/// The verdict over inputs already read: each source's analysis, its evidence, one decision.
pub fn analyze_inputs(inputs: Inputs) -> VerdictReport {
    let jvm_metaspace =
        jvm_metaspace(&inputs.of(&[LogKind::ClassLoaderStats, LogKind::VmMetaspace]));
    let class_growth = class_growth::analyze(&inputs.of(&[LogKind::ClassHistogram]));
    let a = SourceAnalyses::of(&inputs);
    let (mut ev, mut class_family) = a.evidence(&inputs);
    histogram_evidence(class_growth.as_ref(), &mut ev);
    let best = ev.iter().find(|e| e.bytes.is_some()).or(ev.first());
    let area = best.map(|e| e.area).unwrap_or(Area::None);
    if area != Area::Metaspace {
        class_family = None;
    }
    let category = growing_category(a.nmt.as_ref(), area);
    let call_sites = match (&a.nmt, &category) {
        (Some(n), Some(cat)) => top_call_sites(n, cat),
        _ => Vec::new(),
    };
    let (growth_bytes, per_hour) = best.map(|e| (e.bytes, e.per_hour)).unwrap_or((None, None));
    let mut summary = summary_line(
        area,
        best,
        category.as_deref(),
        class_family.as_deref(),
        &call_sites,
    );
    if area == Area::Heap {
        if let Some(top) = class_growth.as_ref().and_then(|g| g.classes.first()) {
            summary.push_str(&format!(
                "; most growth between the class histograms: {} (+{} instances, +{})",
                top.class,
                top.instances_last.saturating_sub(top.instances_first),
                mib(top.bytes_growth() as f64)
            ));
        }
    }
    let mut capture_next = next_steps(area, category.as_deref());
    if a.nmt.is_none() {
        capture_next.push("NMT was not given: start the JVM with -XX:NativeMemoryTracking=summary and take `jcmd PID VM.native_memory summary` periodically (it splits heap, Metaspace, threads and malloc)".into());
    }
    if a.gclog.is_none() && matches!(area, Area::Heap | Area::None) {
        capture_next.push("no GC log: -Xlog:gc*:file=gc.log:time,uptime,level,tags (JDK 9+) or -XX:+PrintGCDetails -XX:+PrintGCDateStamps (JDK 8) shows the heap left after each full GC".into());
    }
    VerdictReport {
        schema: SCHEMA,
        inputs: inputs
            .files
            .iter()
            .map(|f| InputFile {
                path: f.path.display().to_string(),
                kind: f.kind,
            })
            .collect(),
        ignored: inputs.ignored,
        verdict: Verdict {
            area,
            summary,
            category,
            call_sites,
            class_family,
            growth_bytes,
            per_hour,
            evidence: ev,
            explained_by: None,
            capture_next,
        },
        series: a.series(),
        nmt: a.nmt,
        maps: a.maps,
        gclog: a.gclog,
        classlog: a.classlog,
        jstat: a.jstat,
        jvm_metaspace,
        class_growth,
    }
}

/// Live data that grew between class histograms (each taken after a full GC). It backs the
/// heap as a count, never by bytes: two histograms are two points, and the classes they name
/// are what the report shows (see [`ClassGrowth`]).
fn histogram_evidence(g: Option<&ClassGrowth>, ev: &mut Vec<Evidence>) {
    let Some(g) = g else { return };
    let grew = g.total_growth();
    if grew < HISTOGRAM_MIN_GROWTH || (grew as f64) < g.total_bytes_first as f64 * 0.1 {
        return;
    }
    let top = g
        .classes
        .first()
        .map(|c| format!("; most: {} +{}", c.class, mib(c.bytes_growth() as f64)))
        .unwrap_or_default();
    ev.push(Evidence {
        area: Area::Heap,
        signal: Signal::LiveHeapInHistograms,
        source: "class histogram",
        files: vec![g.first.clone(), g.last.clone()],
        what: format!(
            "live objects grew {} between the class histograms ({} -> {}){top}",
            mib(grew as f64),
            mib(g.total_bytes_first as f64),
            mib(g.total_bytes_last as f64)
        ),
        bytes: None,
        per_hour: g.hours.filter(|&h| h > 0.0).map(|h| grew as f64 / h),
    });
}

/// Growth between class histograms below this is noise (a warming JVM).
const HISTOGRAM_MIN_GROWTH: i64 = 4 << 20;

/// Share of `MaxMetaspaceSize` committed from which Metaspace counts as full (the JVM commits in
/// chunks: an OOM leaves it a few percent short of the limit).
const AT_LIMIT: f64 = 0.9;

/// Evidence that Metaspace is full: the last `VM.metaspace` whose committed bytes reach 90% of its
/// `MaxMetaspaceSize`.
fn metaspace_limit_evidence(inputs: &[&Input], ev: &mut Vec<Evidence>) {
    let Some((input, m)) = inputs
        .iter()
        .rev()
        .map(|i| (i, metaspace::parse_vm_metaspace(&i.text)))
        .find(|(_, m)| m.space_committed.or(m.chunk_bytes).is_some() && m.max_bytes.is_some())
    else {
        return;
    };
    let committed = m.space_committed.or(m.chunk_bytes).unwrap_or(0);
    let max = m.max_bytes.unwrap_or(u64::MAX);
    if (committed as f64) < AT_LIMIT * max as f64 {
        return;
    }
    ev.push(Evidence {
        area: Area::Metaspace,
        signal: Signal::MetaspaceAtLimit,
        source: "metaspace",
        files: vec![input.path.display().to_string()],
        what: format!(
            "Metaspace is full: {} committed of MaxMetaspaceSize {} ({} classes in {} loaders): no more classes can be loaded (OutOfMemoryError: Metaspace)",
            mib(committed as f64),
            mib(max as f64),
            m.classes.map_or("?".into(), |c| c.to_string()),
            m.loaders.map_or("?".into(), |c| c.to_string()),
        ),
        bytes: Some(committed as i64),
        per_hour: None,
    });
}

/// The JVM's Metaspace figures of the last `VM.classloader_stats` or `VM.metaspace` input that
/// has rows per loader type, else of the last one.
fn jvm_metaspace(inputs: &[&Input]) -> Option<JvmMetaspace> {
    let parsed: Vec<JvmMetaspace> = inputs
        .iter()
        .map(|i| match i.kind {
            LogKind::ClassLoaderStats => metaspace::parse_classloader_stats(&i.text),
            _ => metaspace::parse_vm_metaspace(&i.text),
        })
        .collect();
    let with_rows = parsed.iter().rposition(|m| !m.by_type.is_empty());
    let k = with_rows.or_else(|| parsed.iter().rposition(|m| m.chunk_bytes.is_some()))?;
    parsed.into_iter().nth(k)
}

fn nmt_evidence(n: &NmtAnalysis, ev: &mut Vec<Evidence>) {
    for g in n.growth.iter().filter(|g| g.growing) {
        let area = nmt_area(&g.name);
        let mut what = format!(
            "NMT {} committed grew {} ({} -> {})",
            g.name,
            mib(g.committed_delta as f64),
            mib(g.committed_first as f64),
            mib(g.committed_last as f64)
        );
        if let Some(c) = g.classes_delta.filter(|c| *c != 0) {
            what.push_str(&format!(", {c:+} classes"));
        }
        if let Some(t) = g.threads_delta.filter(|t| *t != 0) {
            what.push_str(&format!(", {t:+} threads"));
        }
        if g.name == "Java Heap" {
            what.push_str(" (the heap expanding, not necessarily live data)");
        }
        ev.push(Evidence {
            area,
            signal: Signal::NmtCommitted {
                category: g.name.clone(),
            },
            source: "nmt",
            files: paths(&n.files),
            what,
            bytes: Some(g.committed_delta),
            per_hour: g.per_hour,
        });
    }
}

fn maps_evidence(
    m: &MapsAnalysis,
    nmt: Option<&NmtAnalysis>,
    jstat: Option<&JstatAnalysis>,
    ev: &mut Vec<Evidence>,
) {
    let nmt_total = nmt.and_then(|n| n.series.iter().find(|s| s.name == "nmt: total committed"));
    let nmt_delta = nmt_total.map(|s| s.v.last().unwrap_or(&0.0) - s.v.first().unwrap_or(&0.0));
    let anon = m.series.iter().find(|s| s.name == "maps: anonymous RSS");
    let Some(g) = m.anon_rss_growth.as_ref().filter(|g| g.growing) else {
        return;
    };
    // Resident memory NMT tracks is at most what NMT calls committed: only resident memory beyond
    // NMT's committed total is memory NMT does not see. Its growth is the signal; RSS growing into
    // memory committed earlier (a heap being touched) is not.
    let unexplained = match (anon, nmt_total) {
        (Some(a), Some(n)) => {
            let excess = |av: Option<&f64>, nv: Option<&f64>| {
                (av.copied().unwrap_or(0.0) - nv.copied().unwrap_or(0.0)).max(0.0)
            };
            excess(a.v.last(), n.v.last()) - excess(a.v.first(), n.v.first())
        }
        _ => g.delta - nmt_delta.unwrap_or(0.0).max(0.0),
    };
    let arenas = match (m.arenas_first, m.arenas_last) {
        (Some(a), Some(b)) => format!("; glibc malloc arenas {a} -> {b}"),
        _ => String::new(),
    };
    // Without NMT, the JVM's own counters (jstat's capacities) still say how much of the growth is
    // heap and Metaspace it committed: only the rest is native memory.
    let jvm_committed = jstat
        .and_then(|j| j.series.iter().find(|s| s.name == jstat::COMMITTED_SERIES))
        .filter(|s| s.v.len() >= 2)
        .map(|s| s.v.last().unwrap_or(&0.0) - s.v.first().unwrap_or(&0.0));
    if nmt_delta.is_none() {
        let (bytes, why) = match jvm_committed {
            Some(c) => (
                g.delta - c.max(0.0),
                format!(
                    "; the heap and Metaspace the JVM committed grew {} of it (jstat)",
                    mib(c.max(0.0))
                ),
            ),
            None => (g.delta, String::new()),
        };
        if jvm_committed.is_some() && (bytes < MIN_GROWTH || bytes < 0.25 * g.delta) {
            return;
        }
        // Classes that stay loaded cost native memory beyond Metaspace's counters (symbols, loader
        // data, per-loader chunks): without NMT to split it, RSS growing with them is theirs.
        let classes = jstat
            .and_then(|j| j.classes.as_ref())
            .filter(|c| c.live.growing);
        let (area, with_classes) = match classes {
            Some(c) => (Area::Metaspace, format!("; {} more classes stayed loaded meanwhile (jstat): class metadata outside the Metaspace counters (NMT would split it)", c.live.delta as i64)),
            None => (Area::Native, String::new()),
        };
        ev.push(Evidence { area, signal: Signal::RssWithoutNmt, source: "pmap", files: paths(&m.files), what: format!("anonymous RSS grew {} (no NMT given to tell heap, Metaspace and malloc apart){why}{with_classes}{arenas}", mib(g.delta)), bytes: Some(bytes as i64), per_hour: g.per_hour });
    } else if unexplained >= MIN_GROWTH && unexplained >= 0.25 * g.delta {
        ev.push(Evidence { area: Area::Native, signal: Signal::RssBeyondNmt, source: "pmap", files: paths(&m.files), what: format!("anonymous RSS grew {}; resident memory beyond NMT's committed total grew {}: native memory NMT does not track (zlib Inflater/Deflater, JNI libraries, the allocator's own caching){arenas}", mib(g.delta), mib(unexplained)), bytes: Some(unexplained as i64), per_hour: g.per_hour });
    }
}

/// Share of the heap's capacity above which full GCs that free little mean a full heap.
const FULL_HEAP_PERCENT: f64 = 80.0;

/// The heap's evidence from GC logs: the live set after full GCs rising; else the heap after every
/// collection rising (confirmed when full GCs free little, contradicted when two or more full GCs
/// show no growth and free much); else full GCs that keep finding a full heap.
fn gclog_evidence(g: &GcLogAnalysis, ev: &mut Vec<Evidence>) {
    let files = paths(&g.files);
    let little = g.full_gcs_freeing_little;
    let full_heap = g
        .last_full_gc_percent_of_capacity
        .is_some_and(|p| p >= FULL_HEAP_PERCENT);
    if let Some(h) = g.heap_after_full_gc.as_ref().filter(|h| h.growing) {
        ev.push(Evidence {
            area: Area::Heap,
            signal: Signal::HeapAfterFullGc,
            source: "gclog",
            files: files.clone(),
            what: format!(
                "heap after full GC grew {} ({} -> {}) over {} full GCs: live data keeps rising",
                mib(h.delta),
                mib(h.first),
                mib(h.last),
                g.full_collections
            ),
            bytes: Some(h.delta as i64),
            per_hour: h.per_hour,
        });
    } else if let Some(h) = g
        .heap_after_gc
        .as_ref()
        .filter(|h| h.growing && (g.full_collections < 2 || little > 0))
    {
        let confirmed = little > 0;
        let why = if confirmed {
            format!("; {little} full GCs freed less than a tenth of the heap: it is live data")
        } else {
            " (no full GCs to confirm it is live data)".to_string()
        };
        ev.push(Evidence {
            area: Area::Heap,
            signal: Signal::HeapAfterGc { confirmed },
            source: "gclog",
            files: files.clone(),
            what: format!(
                "heap after GC grew {} ({} -> {}) over {} collections{why}",
                mib(h.delta),
                mib(h.first),
                mib(h.last),
                g.collections
            ),
            bytes: Some(if confirmed { h.delta } else { h.delta / 2.0 } as i64),
            per_hour: h.per_hour,
        });
    } else if little >= 2 && full_heap {
        let pct = g.last_full_gc_percent_of_capacity.unwrap_or(0.0);
        let grew = g
            .heap_after_gc
            .as_ref()
            .map(|h| h.delta.max(0.0))
            .unwrap_or(0.0);
        ev.push(Evidence {
            area: Area::Heap,
            signal: Signal::FullGcsFreeLittle,
            source: "gclog",
            files: files.clone(),
            what: format!("{little} full GCs freed less than a tenth of the heap; the last left it {pct:.0}% full: live data fills the heap"),
            bytes: Some(grew.max(MIN_GROWTH) as i64),
            per_hour: None,
        });
    }
    if let Some(h) = g.metaspace_after_gc.as_ref().filter(|h| h.growing) {
        ev.push(Evidence {
            area: Area::Metaspace,
            signal: Signal::MetaspaceAfterGc,
            source: "gclog",
            files,
            what: format!(
                "Metaspace after GC grew {} ({} -> {})",
                mib(h.delta),
                mib(h.first),
                mib(h.last)
            ),
            bytes: Some(h.delta as i64),
            per_hour: h.per_hour,
        });
    }
}

fn jstat_evidence(j: &JstatAnalysis, ev: &mut Vec<Evidence>) {
    if let Some(h) = j.metaspace_used.as_ref().filter(|h| h.growing) {
        ev.push(Evidence { area: Area::Metaspace, signal: Signal::MetaspaceUsed, source: "jstat", files: paths(&j.files), what: format!("Metaspace used (MU) grew {} ({} -> {}); jstat's M% is used/committed and hides this", mib(h.delta), mib(h.first), mib(h.last)), bytes: Some(h.delta as i64), per_hour: h.per_hour });
    }
    let full = j.old_after_full_gc.as_ref();
    if let Some(h) = full.filter(|h| h.growing) {
        ev.push(Evidence {
            area: Area::Heap,
            signal: Signal::OldAfterFullGc,
            source: "jstat",
            files: paths(&j.files),
            what: format!("old generation after full GC grew {}", mib(h.delta)),
            bytes: Some(h.delta as i64),
            per_hour: h.per_hour,
        });
    } else if let Some(h) = j
        .old_after_gc
        .as_ref()
        .filter(|h| h.growing && full.is_none_or(|f| f.steps < 1))
    {
        ev.push(Evidence {
            area: Area::Heap,
            signal: Signal::OldAfterGc,
            source: "jstat",
            files: paths(&j.files),
            what: format!(
                "old generation after GC grew {} ({} -> {}; no full GCs to confirm it is live data)",
                mib(h.delta),
                mib(h.first),
                mib(h.last)
            ),
            bytes: Some(h.delta as i64 / 2),
            per_hour: h.per_hour,
        });
    }
    if let Some(c) = j.classes.as_ref().filter(|c| c.live.growing) {
        ev.push(Evidence {
            area: Area::Metaspace,
            signal: Signal::ClassesLoaded,
            source: "jstat",
            files: paths(&j.files),
            what: format!(
                "{} more classes loaded than unloaded ({} -> {} live)",
                c.live.delta as i64, c.live.first as i64, c.live.last as i64
            ),
            bytes: None,
            per_hour: c.live.per_hour,
        });
    }
}

/// A JVM loads hundreds of distinct classes while it warms up: only a family that keeps growing
/// (many classes of one shape, still loaded) is evidence of a class leak. Returns that family.
fn classlog_evidence(c: &ClassLogAnalysis, ev: &mut Vec<Evidence>) -> Option<String> {
    if !(c.live.growing && c.growing_family.is_some()) {
        return None;
    }
    let family = c.growing_family.clone()?;
    let fam = c.by_family.iter().find(|g| g.key == family);
    let what = match fam {
        Some(f) => format!(
            "{} classes loaded, {} unloaded; family {} keeps {} live (e.g. {})",
            c.loaded, c.unloaded, f.key, f.live, f.example
        ),
        None => format!(
            "{} classes loaded, {} unloaded: {} more stay loaded",
            c.loaded, c.unloaded, c.live.delta as i64
        ),
    };
    ev.push(Evidence {
        area: Area::Metaspace,
        signal: Signal::ClassFamily {
            family: family.clone(),
        },
        source: "classlog",
        files: paths(&c.files),
        what,
        bytes: None,
        per_hour: c.live.per_hour,
    });
    Some(family)
}

/// The area an NMT category belongs to.
fn nmt_area(category: &str) -> Area {
    match category {
        "Java Heap" => Area::Heap,
        "Class" | "Metaspace" | "Shared class space" => Area::Metaspace,
        "Thread" | "Thread Stack" => Area::Threads,
        _ => Area::Native,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn next_steps(area: Area, category: Option<&str>) -> Vec<String> {
    let v: Vec<&str> = match area {
        Area::Heap => vec![
            "a heap dump after a full GC: `jcmd PID GC.heap_dump -gz=1 /tmp/heap.hprof.gz`, then `oomsleuth analyze /tmp/heap.hprof.gz`",
            "or two class histograms an hour apart (`jcmd PID GC.class_histogram`) to see which classes grow",
        ],
        Area::Metaspace => vec![
            "`jcmd PID VM.metaspace show-loaders` and `jcmd PID VM.classloader_stats`: which loaders hold the Metaspace",
            "-Xlog:class+load,class+unload:file=class.log (JDK 9+; -verbose:class on 8) to name the classes, then `oomsleuth classlog class.log`",
            "a heap dump (`jcmd PID GC.heap_dump -gz=1 FILE`) to find who keeps the class loaders alive",
        ],
        Area::Native => match category {
            Some("Other") => vec![
                "NMT's Other is Unsafe.allocateMemory and direct ByteBuffers: compare with the direct BufferPool MXBean (java.nio:type=BufferPool,name=direct) and cap it with -XX:MaxDirectMemorySize",
                "-XX:NativeMemoryTracking=detail and two `jcmd PID VM.native_memory detail` an hour apart (or `baseline` then `detail.diff`): the call sites that grow",
            ],
            _ => vec![
                "-XX:NativeMemoryTracking=detail and two `jcmd PID VM.native_memory detail` snapshots an hour apart (or `baseline` then `detail.diff`): the malloc call sites that grow",
                "when RSS grows beyond NMT: `pmap -x PID` every 15 minutes overnight, then `oomsleuth pmap` on them, and `oomsleuth scan --pid PID` (or on a core from `gcore PID`) for repeated class files in malloc'd memory",
                "a malloc profiler: jemalloc with MALLOC_CONF=prof:true,lg_prof_interval:30 (LD_PRELOAD=libjemalloc.so) and `jeprof --text`",
            ],
        },
        Area::Threads => vec![
            "`jcmd PID Thread.print` twice, minutes apart: which thread names multiply (a pool created per request?)",
            "NMT Thread category: stack reserved/committed per thread (-Xss)",
        ],
        Area::Direct => vec![
            "the direct BufferPool MXBean (java.nio:type=BufferPool,name=direct) over time; -XX:MaxDirectMemorySize to fail fast",
            "a heap dump to find who holds the DirectByteBuffer objects",
        ],
        Area::None => vec![
            "longer series: snapshots hours apart (leaks are slow), e.g. `jcmd PID VM.native_memory summary` and `pmap -x PID` every 15 minutes",
            "-Xlog:gc*,class+load,class+unload to files and `jstat -gc -t PID 10s` for the whole run",
        ],
    };
    v.into_iter().map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gclog_of(lines: &[String]) -> GcLogAnalysis {
        let input = Input {
            path: "gc.log".into(),
            kind: LogKind::GcLog,
            text: lines.join("\n"),
            mtime: None,
        };
        gclog::analyze(&[&input])
    }

    fn young(id: usize, t: f64, before: u64, after: u64) -> String {
        format!("[{t:.3}s][info][gc] GC({id}) Pause Young (Normal) (G1 Evacuation Pause) {before}M->{after}M(128M) 3.000ms")
    }

    fn full(id: usize, t: f64, before: u64, after: u64) -> String {
        format!("[{t:.3}s][info][gc] GC({id}) Pause Full (G1 Compaction Pause) {before}M->{after}M(128M) 90.000ms")
    }

    fn heap_evidence(g: &GcLogAnalysis) -> Vec<Evidence> {
        let mut ev = vec![];
        gclog_evidence(g, &mut ev);
        ev.into_iter().filter(|e| e.area == Area::Heap).collect()
    }

    #[test]
    fn live_set_rising_under_young_gcs_and_full_gcs_that_free_little_is_heap() {
        // Heap after GC 7 -> 114 MiB over ten collections, then two full GCs that free little.
        let mut lines: Vec<String> = (0..10)
            .map(|k| young(k, 1.0 + k as f64, 20 + 12 * k as u64, 7 + 12 * k as u64))
            .collect();
        lines.push(full(10, 12.0, 120, 116));
        lines.push(full(11, 13.0, 122, 118));
        let g = gclog_of(&lines);
        assert_eq!(g.full_gcs_freeing_little, 2);
        let ev = heap_evidence(&g);
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].signal, Signal::HeapAfterGc { confirmed: true });
        assert!(ev[0].bytes.unwrap() >= 100 << 20, "{ev:#?}");
    }

    #[test]
    fn young_gcs_only_is_heap_but_weaker() {
        let lines: Vec<String> = (0..10)
            .map(|k| young(k, 1.0 + k as f64, 20 + 12 * k as u64, 7 + 12 * k as u64))
            .collect();
        let ev = heap_evidence(&gclog_of(&lines));
        assert_eq!(ev[0].signal, Signal::HeapAfterGc { confirmed: false });
        assert_eq!(ev[0].bytes, Some((54 << 20) as i64));
    }

    #[test]
    fn full_gcs_that_free_much_contradict_young_gc_growth() {
        // Old regions fill with garbage between full GCs, which take the heap back to 10 MiB.
        let mut lines: Vec<String> = (0..8)
            .map(|k| young(k, 1.0 + k as f64, 30 + 8 * k as u64, 10 + 8 * k as u64))
            .collect();
        lines.push(full(8, 10.0, 80, 10));
        lines.push(full(9, 11.0, 80, 10));
        assert!(heap_evidence(&gclog_of(&lines)).is_empty());
    }

    #[test]
    fn a_full_heap_that_full_gcs_cannot_free_is_heap() {
        let lines: Vec<String> = (0..4).map(|k| full(k, 1.0 + k as f64, 127, 125)).collect();
        let ev = heap_evidence(&gclog_of(&lines));
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].signal, Signal::FullGcsFreeLittle);
    }

    #[test]
    fn jit_scratch_is_typed() {
        let s = Signal::NmtCommitted {
            category: "Arena Chunk".into(),
        };
        assert!(s.is_jit_scratch());
        assert!(!Signal::NmtCommitted {
            category: "Class".into()
        }
        .is_jit_scratch());
        assert!(!Signal::MetaspaceUsed.is_jit_scratch());
    }

    #[test]
    fn join_points_the_verdict_at_the_suspect_of_its_area() {
        let mut v = Verdict {
            area: Area::Metaspace,
            summary: "Metaspace grows".into(),
            category: None,
            call_sites: vec![],
            class_family: None,
            growth_bytes: None,
            per_hour: None,
            evidence: vec![],
            explained_by: None,
            capture_next: vec![],
        };
        let suspects = [
            SuspectArea {
                rank: 1,
                title: "HashMap held by X.cache",
                metaspace: false,
            },
            SuspectArea {
                rank: 2,
                title: "Class loader per call",
                metaspace: true,
            },
        ];
        join(&mut v, &suspects);
        assert_eq!(v.explained_by.as_ref().map(|e| e.rank), Some(2));
        assert!(v.summary.ends_with("suspect 2 (Class loader per call)"));
        v.area = Area::Heap;
        v.explained_by = None;
        join(&mut v, &suspects);
        assert_eq!(v.explained_by.map(|e| e.rank), Some(1));
    }
}
