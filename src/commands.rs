//! What each heap command computes from its arguments: the one place the CLI (`--json` or
//! text) and the MCP server (`oomsleuth mcp`) get their results from, so both give the same
//! documents (docs/json.md) and the same error messages.
//!
//! A command opens the dump's object graph through an [`OpenGraphs`]: the CLI opens it afresh
//! for each command, the MCP server keeps recently opened ones between calls. Both read and
//! write the same index cache ([`cache`]).

use crate::analyses::heap::dominator_tree::{self, DominatorReport};
use crate::analyses::heap::graph::Graph;
use crate::analyses::heap::growth::{self, DiffReport};
use crate::analyses::heap::inspect::{self, Inspection};
use crate::analyses::heap::path_summary::{self, PathSummary};
use crate::analyses::heap::paths::{self, PathReport};
use crate::analyses::heap::{suspects, top};
use crate::analyses::process::verdict::{self, VerdictReport};
use crate::analyses::report::{self, Report};
use crate::formats::hprof::DumpBytes;
use crate::heap::cache;
use crate::heap::column::Scratch;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Heap;
use crate::heap::snapshot::Progress;
use crate::heap::vm::Overrides;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// `top -n` and `diff -n`: rows listed.
pub const TOP_ROWS: usize = 20;
/// `dominators --depth`: levels below the start.
pub const DOMINATOR_DEPTH: usize = 4;
/// `dominators --min-percent`: smaller subtrees are hidden.
pub const DOMINATOR_MIN_PERCENT: f64 = 1.0;
/// `dominators --max-children`.
pub const DOMINATOR_MAX_CHILDREN: usize = 25;
/// `path -n`: paths, each from a different GC root.
pub const PATHS: usize = 3;
/// `analyze --threshold`: a suspect's share of the reachable heap, in percent.
pub const SUSPECT_THRESHOLD_PERCENT: f64 = 10.0;
/// `analyze --min-retained`: in a small heap an ordinary cache easily passes the percentage.
pub const SUSPECT_MIN_RETAINED: u64 = 1 << 20;
/// `analyze --max-suspects`.
pub const MAX_SUSPECTS: usize = 10;

/// One heap dump and how to read it (the arguments every dump command shares).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DumpRequest {
    pub path: PathBuf,
    /// `--compressed-oops on|off`: overrides the detection.
    pub compressed_oops: Option<bool>,
    /// `--dump N` (or `FILE#N`): which heap dump of a file holding several, 1-based.
    pub heap_dump: Option<u32>,
}

impl DumpRequest {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            compressed_oops: self.compressed_oops,
            jdk_feature: None,
            dump: self.heap_dump,
        }
    }
}

/// A dump's object graph and the options that shape it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GraphRequest {
    pub dump: DumpRequest,
    /// Objects no GC root reaches count as roots of their own (MAT's option).
    pub keep_unreachable: bool,
    /// Referents of soft, weak, final and phantom references are not edges.
    pub strong_only: bool,
    /// Neither read nor write the index cache.
    pub no_cache: bool,
}

impl GraphRequest {
    /// The defaults of every graph command for one dump.
    pub fn of(dump: DumpInput, compressed_oops: Option<bool>, no_cache: bool) -> GraphRequest {
        GraphRequest {
            dump: DumpRequest {
                path: dump.path,
                compressed_oops,
                heap_dump: dump.heap_dump,
            },
            keep_unreachable: false,
            strong_only: false,
            no_cache,
        }
    }
}

/// Where commands get object graphs from. `f` is given the progress to report to; it is `Send`
/// and `'static` so that an implementation may run it on a thread that keeps the graph open.
pub trait OpenGraphs {
    fn with_graph<T: Send + 'static>(
        &self,
        req: &GraphRequest,
        f: impl FnOnce(&Graph<'_, '_>, &dyn Progress) -> Result<T> + Send + 'static,
    ) -> Result<T>;
}

/// Opens the dump's object graph (index, dominators and retained sizes), from the index cache
/// when there is a valid one, and runs `f` on it.
pub fn open_graph<T>(
    req: &GraphRequest,
    cache_dir: Option<&Path>,
    progress: &dyn Progress,
    f: impl FnOnce(&Graph<'_, '_>) -> Result<T>,
) -> Result<T> {
    let bytes = DumpBytes::open(&req.dump.path, cache_dir)?;
    let location =
        cache::Location::for_dump(&req.dump.path, cache_dir).for_heap_dump(req.dump.heap_dump);
    // Big arrays of the index go to scratch files beside where the cache goes (even with
    // --no-cache): file-backed pages, not anonymous memory.
    let scratch = location.scratch_for(bytes.bytes().len() as u64);
    plan_or_refuse(
        &req.dump.path,
        bytes.bytes(),
        &location,
        req.no_cache,
        &scratch,
    )?;
    let (snap, index, retention) = cache::open_graph(
        &bytes,
        req.dump.overrides(),
        (!req.no_cache).then_some(&location),
        &scratch,
        crate::heap::reachability::GraphOptions {
            keep_unreachable: req.keep_unreachable,
            strong_only: req.strong_only,
        },
        progress,
    )?;
    let g = Graph {
        heap: Heap::new(&snap, &index),
        retention: &retention,
    };
    f(&g)
}

/// Dumps from this size up are told what indexing them will need before it starts.
const PLAN_FROM_BYTES: u64 = 1 << 30;

/// Before the first pass over a big dump that has no index cache yet: says on stderr what the
/// run will need, and stops when the disk cannot hold it.
fn plan_or_refuse(
    path: &Path,
    data: &[u8],
    location: &cache::Location,
    no_cache: bool,
    scratch: &Scratch,
) -> Result<()> {
    if (data.len() as u64) < PLAN_FROM_BYTES || (!no_cache && location.exists()) {
        return Ok(());
    }
    let Some(plan) =
        crate::heap::plan::ResourcePlan::estimate(data, &location.dir(), !no_cache, scratch)
    else {
        return Ok(());
    };
    eprintln!("{}", plan.describe());
    plan.check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// An error and its causes, each cause only when the text so far does not already say it (a
/// message that embeds its source must not print it twice).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// Parses an object id: `0x7f3a0c10`, `7f3a0c10` with hex digits, or a decimal number.
pub fn parse_object_id(s: &str) -> Result<u64> {
    let t = s.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else if t
        .chars()
        .any(|c| c.is_ascii_hexdigit() && !c.is_ascii_digit())
    {
        u64::from_str_radix(t, 16)
    } else {
        t.parse()
    };
    r.with_context(|| format!("{s:?} is not an object id: give it in hex, e.g. 0x7f3a0c10 (as printed by `oomsleuth top`)"))
}

/// The object with id `text` in the graph's dump, or an error naming the dump.
pub fn find_object(g: &Graph<'_, '_>, text: &str) -> Result<ObjectIndex> {
    let id = parse_object_id(text)?;
    g.heap.find(id).with_context(|| format!("no object with id 0x{id:x} in {}: ids are as printed by `oomsleuth top` or `dominators`", g.heap.snap.bytes.path.display()))
}

/// A heap dump given to `diff` or `analyze OLD NEW`: a file and, when it holds several heap dumps
/// (the hprof agent appends one per request), which one: `FILE#N`, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpInput {
    pub path: PathBuf,
    pub heap_dump: Option<u32>,
}

/// Reads `FILE#N`. A file whose name itself ends in `#N` is taken as it is; `FILE#0` and a
/// number too big are errors. Anything else is a plain path.
pub fn dump_input(arg: &Path) -> Result<DumpInput> {
    use std::os::unix::ffi::OsStrExt;
    let plain = DumpInput {
        path: arg.to_path_buf(),
        heap_dump: None,
    };
    let bytes = arg.as_os_str().as_bytes();
    let Some(hash) = bytes.iter().rposition(|&b| b == b'#') else {
        return Ok(plain);
    };
    let (base, digits) = (&bytes[..hash], &bytes[hash + 1..]);
    if base.is_empty()
        || digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || std::fs::symlink_metadata(arg).is_ok()
    {
        return Ok(plain);
    }
    let n: u32 = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .filter(|&n| n > 0)
        .with_context(|| {
            format!(
                "{}: heap dumps in a file are numbered from 1 (FILE#1 is the first)",
                arg.display()
            )
        })?;
    Ok(DumpInput {
        path: PathBuf::from(std::ffi::OsStr::from_bytes(base)),
        heap_dump: Some(n),
    })
}

/// Parses a byte size: `1048576`, `512KiB`, `1MiB`, `2GB` (binary units either way).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size: write e.g. 1048576, 512KiB or 1MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use B, KiB, MiB or GiB)"
            ))
        }
    };
    Ok((num * mult as f64) as u64)
}

/// `top`: the biggest objects and classes.
pub fn top(g: &Graph<'_, '_>, by: top::TopBy, n: usize) -> top::Top {
    top::top(g, by, n)
}

/// `dominators`: the dominator tree below the GC roots or below `root` (an object id).
pub fn dominators(
    g: &Graph<'_, '_>,
    root: Option<&str>,
    opts: &dominator_tree::Options,
) -> Result<DominatorReport> {
    let root = root.map(|r| find_object(g, r)).transpose()?;
    let children = g.retention.children(&Scratch::memory());
    Ok(dominator_tree::dominator_tree(g, children, root, opts))
}

/// `path`: shortest strong paths from GC roots to the object, at most `n` (at least one).
pub fn path(g: &Graph<'_, '_>, object: &str, n: usize) -> Result<PathReport> {
    let o = find_object(g, object)?;
    let preds = g.heap.index.refs.transpose();
    Ok(paths::paths(g, &preds, o, n.max(1)))
}

/// Rows a query result holds by default (`sql --max-rows`).
pub const SQL_MAX_ROWS: usize = 1000;

/// `sql --json`: the query's rows as the `oomsleuth.sql/1` document.
#[cfg(feature = "sql")]
pub fn sql(
    g: &Graph<'_, '_>,
    query: &str,
    max_rows: usize,
) -> Result<crate::analyses::heap::query::QueryResult> {
    use crate::analyses::heap::query;
    query::run(g, query, max_rows, &query::Options::default())
}

/// `inspect`: one object's class, sizes, fields and dominator; its referrers when asked.
pub fn inspect(g: &Graph<'_, '_>, object: &str, referrers: bool) -> Result<Inspection> {
    let o = find_object(g, object)?;
    let preds = referrers.then(|| g.heap.index.refs.transpose());
    Ok(inspect::inspect(g, o, preds.as_ref()))
}

/// Each dump's path summary, one dump at a time (so only one index is open at once).
pub fn summaries(
    graphs: &impl OpenGraphs,
    dumps: &[DumpInput],
    compressed_oops: Option<bool>,
    no_cache: bool,
) -> Result<Vec<PathSummary>> {
    dumps
        .iter()
        .map(|dump| {
            let req = GraphRequest::of(dump.clone(), compressed_oops, no_cache);
            graphs.with_graph(&req, |g, _| {
                let t = std::time::Instant::now();
                let s = path_summary::summarise(g, &Scratch::memory());
                crate::heap::timing::print("path summary", t.elapsed().as_secs_f64());
                Ok(s)
            })
        })
        .collect()
}

/// `diff OLD NEW [MORE...]`: what grew, and the dumps' path summaries it was computed from
/// (for the HTML growth view).
pub fn diff(
    graphs: &impl OpenGraphs,
    dumps: &[DumpInput],
    compressed_oops: Option<bool>,
    no_cache: bool,
    top: usize,
) -> Result<(DiffReport, Vec<PathSummary>)> {
    if dumps.len() < 2 {
        anyhow::bail!(
            "diff needs two or more heap dumps of one JVM, oldest first (got {}): `oomsleuth diff OLD NEW [MORE...]`",
            dumps.len()
        );
    }
    let summaries = summaries(graphs, dumps, compressed_oops, no_cache)?;
    let r = growth::diff(&summaries, &growth::Options { top });
    Ok((r, summaries))
}

/// `analyze PATH...`'s arguments.
#[derive(Clone, Debug)]
pub struct AnalyzeRequest {
    /// Heap dumps (`FILE#N` too) and/or JVM logs and outputs, or directories of them.
    pub paths: Vec<PathBuf>,
    pub compressed_oops: Option<bool>,
    /// `--dump N`: the newest dump's heap dump when `FILE#N` does not say.
    pub heap_dump: Option<u32>,
    pub keep_unreachable: bool,
    pub strong_only: bool,
    pub no_cache: bool,
    pub suspects: suspects::Options,
    /// Build the flame graph and object details (for the HTML report).
    pub details: bool,
}

/// What `analyze` found.
pub enum Analysis {
    /// No heap dump among the inputs: the verdict of the other files is the report.
    Verdict {
        verdict: Box<VerdictReport>,
        /// The inputs it was read from.
        inputs: Vec<PathBuf>,
    },
    Heap(Box<HeapAnalysis>),
}

/// `analyze` of a heap dump (the newest, with older dumps and other files beside it).
pub struct HeapAnalysis {
    pub report: Report,
    /// The path summaries of every dump, oldest first, when older dumps were given.
    pub series: Option<Vec<PathSummary>>,
    /// The analysed dump.
    pub dump: PathBuf,
    /// Whether the analysed dump is truncated or damaged.
    pub truncated: bool,
    /// Files beside the dump that could not be read as logs (said as notes, not errors).
    pub notes: Vec<String>,
}

/// `analyze`'s inputs told apart by content ([`crate::inputs::sort_analyze_inputs`]), in the order given; a
/// `FILE#N` names a heap dump of a file that holds several.
fn sort_analyze_inputs(paths: &[PathBuf]) -> Result<(Vec<DumpInput>, Vec<PathBuf>)> {
    let mut dumps = vec![];
    let mut others = vec![];
    for p in paths {
        let input = dump_input(p)?;
        if input.heap_dump.is_some() {
            dumps.push(input);
            continue;
        }
        let (d, o) = crate::inputs::sort_analyze_inputs(p)?;
        dumps.extend(d.into_iter().map(|path| DumpInput {
            path,
            heap_dump: None,
        }));
        others.extend(o);
    }
    Ok((dumps, others))
}

/// `analyze PATH...`: the newest heap dump's report, its suspects followed through the older
/// dumps, joined with the verdict of the other files; or that verdict alone without a dump.
pub fn analyze(graphs: &impl OpenGraphs, req: AnalyzeRequest) -> Result<Analysis> {
    let threshold = req.suspects.threshold_percent;
    if !(0.0..=100.0).contains(&threshold) {
        anyhow::bail!("--threshold {threshold} is not a percentage between 0 and 100");
    }
    let (mut dumps, others) = sort_analyze_inputs(&req.paths)?;
    // Older dumps before the newest (`analyze OLD NEW`): summarised one at a time first, so
    // the newest's suspects can be followed through them.
    let newest = dumps.pop();
    let older = summaries(graphs, &dumps, req.compressed_oops, req.no_cache)?;
    let mut notes = vec![];
    let native = if others.is_empty() {
        None
    } else if newest.is_none() {
        Some(crate::inputs::evidence::read_evidence(&others).map(verdict::analyze_inputs).context(
            "no heap dump among the inputs (an HPROF file starts with \"JAVA PROFILE\", plain or gzipped)",
        )?)
    } else {
        // Beside a dump, files that are not logs (a README, a script) are only noted.
        match crate::inputs::evidence::read_evidence(&others).map(verdict::analyze_inputs) {
            Ok(v) => Some(v),
            Err(e) => {
                notes.push(format!("{e:#}"));
                None
            }
        }
    };
    let Some(dump) = newest else {
        let Some(verdict) = native else {
            anyhow::bail!("nothing to analyze: give a heap dump or JVM logs and outputs");
        };
        return Ok(Analysis::Verdict {
            verdict: Box::new(verdict),
            inputs: others,
        });
    };
    let graph = GraphRequest {
        dump: DumpRequest {
            path: dump.path,
            compressed_oops: req.compressed_oops,
            heap_dump: dump.heap_dump.or(req.heap_dump),
        },
        keep_unreachable: req.keep_unreachable,
        strong_only: req.strong_only,
        no_cache: req.no_cache,
    };
    let (suspect_opts, details) = (req.suspects, req.details);
    graphs.with_graph(&graph, move |g, progress| {
        let (report, series) = analyze_graph(g, progress, suspect_opts, details, older, native);
        Ok(Analysis::Heap(Box::new(HeapAnalysis {
            report,
            series,
            dump: g.heap.snap.bytes.path.clone(),
            truncated: g.heap.snap.truncated(),
            notes,
        })))
    })
}

/// [`analyze`] on the newest dump's graph.
fn analyze_graph(
    g: &Graph<'_, '_>,
    progress: &dyn Progress,
    suspects: suspects::Options,
    details: bool,
    older: Vec<PathSummary>,
    native: Option<VerdictReport>,
) -> (Report, Option<Vec<PathSummary>>) {
    let t = std::time::Instant::now();
    let children = g.retention.children(&Scratch::memory());
    crate::heap::timing::print("children", t.elapsed().as_secs_f64());
    let opts = report::Options {
        suspects,
        details,
        jvm_metaspace: native.as_ref().and_then(|v| v.jvm_metaspace.clone()),
        ..Default::default()
    };
    let mut r = report::analyze(g, children, &opts, progress);
    // With older dumps: the suspects followed through them, and for --html the diff.
    let mut series = None;
    if !older.is_empty() {
        let mut all = older;
        all.push(path_summary::summarise(g, &Scratch::memory()));
        let min = all.last().map_or(0, |s| s.min_path_bytes);
        let keys = path_summary::suspect_keys(g, &r.suspects, min);
        r.history = Some(growth::suspect_history(&all, &keys));
        series = Some(all);
    }
    if let Some(mut v) = native {
        // One story: the verdict names the dump's suspect that explains the growing area.
        let areas: Vec<verdict::SuspectArea> = r
            .suspects
            .iter()
            .map(|s| verdict::SuspectArea {
                rank: s.rank,
                title: &s.title,
                metaspace: s.class_loader.is_some(),
            })
            .collect();
        verdict::join(&mut v.verdict, &areas);
        r.verdict = Some(v.verdict.clone());
        r.native = Some(v);
    }
    (r, series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_inputs_name_one_heap_dump_of_a_file() {
        let dir = std::env::temp_dir().join(format!("oomsleuth-dump-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at = |s: &str| dump_input(&dir.join(s));
        let input = |name: &str, n| DumpInput {
            path: dir.join(name),
            heap_dump: n,
        };
        assert_eq!(at("agent.hprof#2").unwrap(), input("agent.hprof", Some(2)));
        assert_eq!(at("agent.hprof").unwrap(), input("agent.hprof", None));
        assert_eq!(at("a#b.hprof").unwrap(), input("a#b.hprof", None));
        assert_eq!(at("agent.hprof#").unwrap(), input("agent.hprof#", None));
        assert!(at("agent.hprof#0").is_err());
        assert!(at("agent.hprof#99999999999").is_err());
        // A file that is named so is itself.
        std::fs::write(dir.join("odd.hprof#3"), b"x").unwrap();
        assert_eq!(at("odd.hprof#3").unwrap(), input("odd.hprof#3", None));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn object_ids_are_hex_or_decimal_and_bad_ones_say_how_to_write_them() {
        assert_eq!(parse_object_id("0xff").unwrap(), 255);
        assert_eq!(parse_object_id(" 0XFF ").unwrap(), 255);
        assert_eq!(parse_object_id("ff").unwrap(), 255);
        assert_eq!(parse_object_id("255").unwrap(), 255);
        let e = parse_object_id("0xZZ").unwrap_err().to_string();
        assert!(e.contains("0x7f3a0c10"), "{e}");
        assert!(parse_object_id("").is_err());
    }
}
