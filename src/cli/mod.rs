//! The command line: arguments, output choice (TTY, colour, progress), exit codes. No analysis
//! logic lives here: each subcommand loads a snapshot, calls an analysis, picks a renderer.

mod live;
mod native;
mod progress;
mod record;
// Without the `sql` feature only the arguments remain (the commands say how to build it).
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
mod sql;

use crate::analyses::graph::Graph;
use crate::analyses::histogram::{self, SortBy};
use crate::analyses::top::TopBy;
use crate::analyses::{
    classloaders, dominator_tree, growth, inspect, path_summary, paths, report, retained_set,
    suspects, top,
};
use crate::formats::files;
use crate::formats::hprof::DumpBytes;
use crate::heap::cache;
use crate::heap::column::Scratch;
use crate::heap::objects::Heap;
use crate::heap::snapshot::{NoProgress, Progress, Snapshot};
use crate::heap::vm::Overrides;
use crate::reports::{self, text::Style};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Exit codes, documented in `--help` and the README.
pub const EXIT_OK: i32 = 0;
/// `analyze --fail-on-suspect` found at least one suspect.
pub const EXIT_SUSPECT: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
/// `analyze --fail-on-suspect` found no suspect, but the dump is truncated or damaged: the
/// missing part (often every GC root) may hold the leak, so a CI gate must not pass.
pub const EXIT_INCOMPLETE: i32 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "oomsleuth",
    version,
    about = "Finds out why a JVM runs out of memory.",
    long_about = "Finds out why a JVM runs out of memory: reads HotSpot heap dumps (.hprof, .hprof.gz) exactly and fast.\n\nNothing leaves this machine: oomsleuth never sends data anywhere.",
    after_help = "Exit codes: 0 analysed; 1 analysed and found a leak suspect (only with `analyze --fail-on-suspect`),\nor the JVM said the command failed (`jcmd`);\n2 error (bad arguments, unreadable or non-HPROF file);\n3 `analyze --fail-on-suspect` found no suspect in a truncated or damaged dump.\nA truncated dump is analysed as far as it goes, with a warning."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to use colour: auto honours NO_COLOR, CLICOLOR_FORCE, TERM=dumb and non-terminals.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Threads to use (default: all cores).
    #[arg(long, short = 'j', global = true)]
    threads: Option<usize>,
    /// Where to put scratch files (inflated .gz dumps). Default: the system temp directory.
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum SortArg {
    Bytes,
    Count,
    Name,
}

#[derive(clap::Args, Debug)]
struct DumpArgs {
    /// The heap dump: .hprof, or .hprof.gz as written by `jcmd <pid> GC.heap_dump -gz=1`.
    dump: PathBuf,
    /// Override the detection of compressed oops (how big references and headers are).
    #[arg(long, value_enum)]
    compressed_oops: Option<OnOff>,
    /// Which heap dump to analyse when the file holds several (the JVMTI hprof agent writes
    /// one per request into the same file): 1-based, default the last.
    #[arg(long = "dump", value_name = "N")]
    heap_dump: Option<u32>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The main job: leak suspects with their paths and discriminators, the heap summary, largest
    /// collections and wasted memory (terminal, --json, --html FILE).
    #[command(
        after_help = "Exit codes: 0 analysed; 1 analysed and found at least one suspect (only with --fail-on-suspect, for CI gates); 2 error; 3 no suspect but the dump is truncated or damaged (only with --fail-on-suspect)."
    )]
    Analyze {
        /// A heap dump (.hprof, .hprof.gz), and/or NMT outputs, pmap -x / smaps, GC logs, class
        /// logs, jstat outputs, or directories holding them: told apart by content. With several
        /// dumps of one JVM (oldest first), the newest is analysed and its suspects are ranked by
        /// their growth through the older ones; `FILE#N` is the N-th heap dump of a file that
        /// holds several (`analyze agent.hprof#1 agent.hprof#2`).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Override the detection of compressed oops (how big references and headers are).
        #[arg(long, value_enum)]
        compressed_oops: Option<OnOff>,
        /// Which heap dump to analyse when the file holds several (the JVMTI hprof agent writes
        /// one per request into the same file): 1-based, default the last. With several dumps
        /// given, it is the newest's; `FILE#N` chooses for each input.
        #[arg(long = "dump", value_name = "N")]
        heap_dump: Option<u32>,
        /// Count objects no GC root reaches, as roots of their own (as MAT's option does).
        #[arg(long)]
        keep_unreachable: bool,
        /// Referents of soft, weak, final and phantom references are not edges: what a GC under
        /// memory pressure would leave (the strong-only view).
        #[arg(long)]
        strong_only: bool,
        /// Neither read nor write the index cache.
        #[arg(long)]
        no_cache: bool,
        /// Report objects and groups retaining at least this percentage of the reachable heap.
        #[arg(long, default_value_t = 10.0)]
        threshold: f64,
        /// ...and at least this many bytes (e.g. 1MiB, 512KiB, 0): in a small heap an ordinary
        /// cache easily passes the percentage.
        #[arg(long, default_value = "1MiB", value_parser = parse_size)]
        min_retained: u64,
        /// At most this many suspects.
        #[arg(long, default_value_t = 10)]
        max_suspects: usize,
        /// Print JSON (schema oomsleuth.report/1, see docs/json.md).
        #[arg(long)]
        json: bool,
        /// Also write a self-contained HTML report (opens offline) to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Exit with code 1 when there is at least one suspect (for CI gates).
        #[arg(long)]
        fail_on_suspect: bool,
    },
    /// Instances and shallow bytes per class, as the JVM counts them (`jmap -histo`).
    Histogram {
        #[command(flatten)]
        dump: DumpArgs,
        /// Order of rows.
        #[arg(long, value_enum, default_value_t = SortArg::Bytes)]
        sort: SortArg,
        /// Show only the first N rows.
        #[arg(long, short = 'n')]
        top: Option<usize>,
        /// Show only classes whose name matches this regular expression.
        #[arg(long)]
        filter: Option<String>,
        /// Print JSON (schema oomsleuth.histogram/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// The biggest objects and classes by retained size (what freeing them would free).
    Top {
        #[command(flatten)]
        graph: GraphArgs,
        /// What to rank by.
        #[arg(long, value_enum, default_value_t = TopByArg::Retained)]
        by: TopByArg,
        /// How many objects and classes to list.
        #[arg(long, short = 'n', default_value_t = 20)]
        top: usize,
        /// Print JSON (schema oomsleuth.top/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// The dominator tree: who keeps what alive, with retained sizes.
    Dominators {
        #[command(flatten)]
        graph: GraphArgs,
        /// Start at this object (hex id, e.g. 0x7f3a0c10) instead of the GC roots.
        #[arg(long)]
        root: Option<String>,
        /// Levels to show below the start.
        #[arg(long, default_value_t = 4)]
        depth: usize,
        /// Hide subtrees retaining less than this percentage of the reachable heap.
        #[arg(long, default_value_t = 1.0)]
        min_percent: f64,
        /// At most this many children per node.
        #[arg(long, default_value_t = 25)]
        max_children: usize,
        /// Print JSON (schema oomsleuth.dominators/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Shortest strong paths from GC roots to an object, through distinct roots.
    Path {
        #[command(flatten)]
        graph: GraphArgs,
        /// The object's id (hex, 0x...).
        object: String,
        /// How many paths (each from a different GC root).
        #[arg(long, short = 'n', default_value_t = 3)]
        paths: usize,
        /// Print JSON (schema oomsleuth.path/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// One object: class, sizes, fields with values, dominator; `--referrers` for who points at it.
    Inspect {
        #[command(flatten)]
        graph: GraphArgs,
        /// The object's id (hex, 0x...).
        object: String,
        /// Also list the objects that reference this one.
        #[arg(long)]
        referrers: bool,
        /// Print JSON (schema oomsleuth.inspect/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// What chosen objects retain when chosen references do not count (MAT's
    /// customized_retained_set): `-x java.lang.ref.SoftReference:referent` as if soft references
    /// were cleared.
    Retained {
        #[command(flatten)]
        graph: GraphArgs,
        /// The objects' ids (hex, 0x...).
        #[arg(required = true)]
        objects: Vec<String>,
        /// References not to follow from the GC roots: CLASS:FIELD[,FIELD] (instances of CLASS and
        /// its subclasses), 0xID:FIELD, or CLASS alone (all its instances' references). Repeatable.
        #[arg(short = 'x', long = "exclude", value_name = "CLASS:FIELD")]
        exclude: Vec<retained_set::Exclusion>,
        /// Print JSON (schema oomsleuth.retained/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Class loaders and the Metaspace they pin: loaders by type, why they are alive, generated-class
    /// families, duplicate classes, reflection inflation, suspects.
    Classloaders {
        #[command(flatten)]
        graph: GraphArgs,
        /// A loader type with more loaders than this is a suspect.
        #[arg(long, default_value_t = 1_000)]
        loader_threshold: u64,
        /// A class family with more classes than this is a suspect.
        #[arg(long, default_value_t = 5_000)]
        family_threshold: u64,
        /// At most this many families and duplicate class names (0: all).
        #[arg(long, default_value_t = 50)]
        max_rows: usize,
        /// Print JSON (schema oomsleuth.classloaders/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// What grew between heap dumps taken apart: paths from the GC roots matched across the
    /// dumps (retained bytes, objects, collection sizes), classes, class loaders and families;
    /// with three dumps or more, what grew on every step apart from what grew once.
    Diff {
        /// Two or more heap dumps of one JVM (.hprof, .hprof.gz), oldest first. `FILE#N` is the
        /// N-th heap dump of a file that holds several (the hprof agent's), e.g.
        /// `diff agent.hprof#1 agent.hprof#3`; a plain FILE is its last.
        #[arg(required = true, value_name = "DUMP")]
        dumps: Vec<PathBuf>,
        /// Override the detection of compressed oops (how big references and headers are).
        #[arg(long, value_enum)]
        compressed_oops: Option<OnOff>,
        /// Neither read nor write the index caches.
        #[arg(long)]
        no_cache: bool,
        /// How many growing paths to list (and twice as many classes).
        #[arg(long, short = 'n', default_value_t = 20)]
        top: usize,
        /// Print JSON (schema oomsleuth.diff/1, see docs/json.md).
        #[arg(long)]
        json: bool,
        /// Also write a self-contained HTML growth view (opens offline) to this file: the newest
        /// dump's dominator tree by path sized and coloured by growth, each top path over time.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Runs a diagnostic command in a live JVM, as the JDK's `jcmd PID COMMAND` does and printing what
    /// it prints, through HotSpot's attach protocol: no JDK needed, nothing loaded into the JVM; a JVM
    /// in a container is reached from the host. Exit code 1 when the JVM says the command failed.
    #[command(
        after_help = "Examples:\n  oomsleuth jcmd 4242 VM.version\n  oomsleuth jcmd 4242 GC.class_histogram -all\n  oomsleuth jcmd com.example.Main VM.native_memory summary\n  oomsleuth jcmd 4242 help"
    )]
    Jcmd {
        /// How many seconds to wait for a JVM to start its attach listener (as the JDK, 10).
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        attach_timeout: f64,
        /// The JVM: its pid as this host sees it, or part of its main class or jar name (every
        /// JVM that matches, as jcmd does), or 0 for every JVM.
        target: String,
        /// The diagnostic command and its arguments (`help` lists the JVM's commands).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Records a live JVM from outside into a bundle directory (hsperfdata counters as jstat rows,
    /// /proc smaps_rollup and maps, NMT, class-loader and Metaspace statistics, class histograms,
    /// GC and class log tails, a heap dump with --heap-dump), then prints the verdict of
    /// `analyze BUNDLE`. SIGINT/SIGTERM end it early, keeping what was taken.
    Record(record::RecordArgs),
    /// SQL over the heap: tables objects, classes, refs, roots, loaders, strings and one per
    /// class by its Java name ("java.lang.String"); functions describe(id), path_from_roots(id),
    /// to_string(id), field(id, 'name')... No query: an interactive prompt (feature `sql`).
    #[command(
        after_help = "Examples:\n  oomsleuth sql heap.hprof \"SELECT class, count(*) n, sum(retained) FROM objects GROUP BY class ORDER BY 3 DESC LIMIT 10\"\n  oomsleuth sql heap.hprof \"SELECT id, describe(id) FROM \\\"com.example.Session\\\" WHERE user IS NULL\""
    )]
    Sql(sql::QueryArgs),
    /// Eclipse MAT's OQL (SELECT ... FROM [INSTANCEOF] class [alias] WHERE ...), translated to SQL
    /// (feature `sql`).
    #[command(
        after_help = "Example:\n  oomsleuth oql heap.hprof \"SELECT s.@objectId, s.@retainedHeapSize FROM java.lang.String s WHERE s.value.@length > 1000\""
    )]
    Oql(sql::QueryArgs),
    /// The query tables as Parquet, partitioned by dump: DIR/objects/dump=NAME/part-0.parquet
    /// (feature `sql`).
    Export(sql::ExportArgs),
    /// Beyond the heap dump: nmt, pmap, scan, classlog, gclog, jstat, jvms (src/cli/native.rs).
    #[command(flatten)]
    Native(native::NativeCommand),
}

#[derive(clap::Args, Debug)]
struct GraphArgs {
    #[command(flatten)]
    dump: DumpArgs,
    /// Count objects no GC root reaches, as roots of their own (as MAT's option does).
    #[arg(long)]
    keep_unreachable: bool,
    /// Referents of soft, weak, final and phantom references are not edges: what a GC under
    /// memory pressure would leave (the strong-only view).
    #[arg(long)]
    strong_only: bool,
    /// Neither read nor write the index cache.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TopByArg {
    Retained,
    Shallow,
    Count,
}

struct Env {
    style: Style,
    /// Not `--quiet`: progress and notes may be printed on stderr.
    progress_shown: bool,
    progress: Box<dyn Progress>,
    cache_dir: Option<PathBuf>,
}

fn color_enabled(choice: ColorChoice, is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                return false;
            }
            if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                return true;
            }
            if std::env::var("TERM").map(|t| t == "dumb").unwrap_or(false) {
                return false;
            }
            is_tty
        }
    }
}

/// `OOMSLEUTH_TIMINGS=1` prints how long each phase took, on stderr (for benchmarks).
fn print_timings(timings: &[(&'static str, f64)]) {
    for (phase, secs) in timings {
        crate::heap::timing::print(phase, *secs);
    }
}

/// Runs the CLI; returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    if let Some(n) = cli.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    let stdout_tty = std::io::stdout().is_terminal();
    let stderr_tty = std::io::stderr().is_terminal();
    let env = Env {
        style: Style {
            color: color_enabled(cli.color, stdout_tty),
        },
        progress: if cli.quiet || !stderr_tty {
            Box::new(NoProgress)
        } else {
            Box::new(progress::Bar::new())
        },
        cache_dir: cli.cache_dir.clone(),
        progress_shown: !cli.quiet,
    };
    let err_style = Style {
        color: color_enabled(cli.color, stderr_tty),
    };
    match dispatch(cli.command, &env) {
        Ok((out, code)) => {
            let mut so = std::io::stdout().lock();
            if let Err(e) = so.write_all(out.as_bytes()).and_then(|_| so.flush()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return EXIT_OK;
                }
                eprintln!("{} writing output: {e}", err_style.paint_error());
                return EXIT_ERROR;
            }
            code
        }
        Err(e) => {
            eprintln!("{} {}", err_style.paint_error(), error_text(&e));
            EXIT_ERROR
        }
    }
}

/// An error and its causes, each cause only when the text so far does not already say it (a
/// message that embeds its source must not print it twice).
fn error_text(e: &anyhow::Error) -> String {
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

impl Style {
    fn paint_error(&self) -> String {
        if self.color {
            "\x1b[1;31merror:\x1b[0m".into()
        } else {
            "error:".into()
        }
    }
}

fn open(args: &DumpArgs, env: &Env) -> Result<DumpBytes> {
    let bytes = DumpBytes::open(&args.dump, env.cache_dir.as_deref())?;
    Ok(bytes)
}

fn overrides(args: &DumpArgs) -> Overrides {
    Overrides {
        compressed_oops: args.compressed_oops.map(|o| o == OnOff::On),
        jdk_feature: None,
        dump: args.heap_dump,
    }
}

fn warn_to_stderr(s: &Snapshot<'_>, json: bool) {
    // JSON carries warnings in its document; text output repeats them at its end. Either way a
    // one-line note on stderr tells an interactive user that the result is partial.
    if s.truncated() && !json {
        return;
    }
    if s.truncated() {
        eprintln!("warning: {}: the dump is truncated or damaged; the result covers what could be read (see \"warnings\")", s.bytes.path.display());
    }
}

/// Parses an object id: `0x7f3a0c10`, `7f3a0c10` with hex digits, or a decimal number.
fn parse_object_id(s: &str) -> Result<u64> {
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

/// Runs `f` on the dump's object graph (index, dominators and retained sizes), from the cache
/// when there is a valid one.
fn with_graph<T>(
    args: &GraphArgs,
    env: &Env,
    json: bool,
    f: impl FnOnce(&Graph<'_, '_>) -> Result<T>,
) -> Result<T> {
    let bytes = open(&args.dump, env)?;
    let location = cache::Location::for_dump(&args.dump.dump, env.cache_dir.as_deref())
        .for_heap_dump(args.dump.heap_dump);
    // Big arrays of the index go to scratch files beside where the cache goes (even with
    // --no-cache): file-backed pages, not anonymous memory.
    let scratch = location.scratch_for(bytes.bytes().len() as u64);
    plan_or_refuse(
        &args.dump.dump,
        bytes.bytes(),
        &location,
        args.no_cache,
        &scratch,
    )?;
    let (snap, index, retention) = cache::open_graph(
        &bytes,
        overrides(&args.dump),
        (!args.no_cache).then_some(&location),
        &scratch,
        crate::heap::reachability::GraphOptions {
            keep_unreachable: args.keep_unreachable,
            strong_only: args.strong_only,
        },
        env.progress.as_ref(),
    )?;
    warn_to_stderr(&snap, json);
    // What the graph found wrong with the dump (no roots, ids twice): said on stderr too, as
    // not every graph command's output has a place for warnings.
    for w in index.warnings() {
        eprintln!("warning: {}: {}", args.dump.dump.display(), w.message);
    }
    print_timings(&snap.timings);
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
    path: &std::path::Path,
    data: &[u8],
    location: &cache::Location,
    no_cache: bool,
    scratch: &crate::heap::column::Scratch,
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

/// A heap dump given to `diff` or `analyze OLD NEW`: a file and, when it holds several heap dumps
/// (the hprof agent appends one per request), which one: `FILE#N`, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DumpInput {
    path: PathBuf,
    heap_dump: Option<u32>,
}

/// Reads `FILE#N`. A file whose name itself ends in `#N` is taken as it is; `FILE#0` and a
/// number too big are errors. Anything else is a plain path.
fn dump_input(arg: &std::path::Path) -> Result<DumpInput> {
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

/// Each dump's path summary, one dump at a time (so only one index is open at once).
fn summarise_dumps(
    dumps: &[DumpInput],
    compressed_oops: Option<OnOff>,
    no_cache: bool,
    env: &Env,
    json: bool,
) -> Result<Vec<path_summary::PathSummary>> {
    if dumps.len() < 2 {
        anyhow::bail!(
            "diff needs two or more heap dumps of one JVM, oldest first (got {}): `oomsleuth diff OLD NEW [MORE...]`",
            dumps.len()
        );
    }
    summaries_of(dumps, compressed_oops, no_cache, env, json)
}

/// [`summarise_dumps`] of any number of dumps.
fn summaries_of(
    dumps: &[DumpInput],
    compressed_oops: Option<OnOff>,
    no_cache: bool,
    env: &Env,
    json: bool,
) -> Result<Vec<path_summary::PathSummary>> {
    dumps
        .iter()
        .map(|dump| {
            let args = GraphArgs {
                dump: DumpArgs {
                    dump: dump.path.clone(),
                    compressed_oops,
                    heap_dump: dump.heap_dump,
                },
                keep_unreachable: false,
                strong_only: false,
                no_cache,
            };
            with_graph(&args, env, json, |g| {
                let t = std::time::Instant::now();
                let s = path_summary::summarise(g, &Scratch::memory());
                print_timings(&[("path summary", t.elapsed().as_secs_f64())]);
                Ok(s)
            })
        })
        .collect()
}

fn find_object(g: &Graph<'_, '_>, text: &str) -> Result<crate::heap::index::ObjectIndex> {
    let id = parse_object_id(text)?;
    g.heap.find(id).with_context(|| format!("no object with id 0x{id:x} in {}: ids are as printed by `oomsleuth top` or `dominators`", g.heap.snap.bytes.path.display()))
}

/// Parses a byte size: `1048576`, `512KiB`, `1MiB`, `2GB` (binary units either way).
fn parse_size(s: &str) -> std::result::Result<u64, String> {
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

fn dispatch(cmd: Command, env: &Env) -> Result<(String, i32)> {
    if let Command::Jcmd {
        target,
        command,
        attach_timeout,
    } = &cmd
    {
        // Prints as it goes (one JVM after another, as jcmd does).
        let timeout = std::time::Duration::try_from_secs_f64(*attach_timeout)
            .map_err(|_| anyhow::anyhow!("--attach-timeout {attach_timeout}: not a duration"))?;
        return Ok((String::new(), live::jcmd(target, command, timeout)?));
    }
    if let Command::Record(args) = &cmd {
        let quiet = !env.progress_shown;
        let (bundle, _) = record::run(args, quiet)?;
        return dispatch(analyze_bundle(bundle, args.json), env);
    }
    if let Command::Analyze {
        paths,
        compressed_oops,
        heap_dump,
        keep_unreachable,
        strong_only,
        no_cache,
        threshold,
        min_retained,
        max_suspects,
        json,
        html,
        fail_on_suspect,
    } = cmd
    {
        if !(0.0..=100.0).contains(&threshold) {
            anyhow::bail!("--threshold {threshold} is not a percentage between 0 and 100");
        }
        let (mut dumps, others) = sort_analyze_inputs(&paths)?;
        // Older dumps before the newest (`analyze OLD NEW`): summarised one at a time first, so
        // the newest's suspects can be followed through them.
        let newest = dumps.pop();
        let older = summaries_of(&dumps, compressed_oops, no_cache, env, json)?;
        let dumps: Vec<DumpInput> = newest.into_iter().collect();
        let native = if others.is_empty() {
            None
        } else if dumps.is_empty() {
            Some(
                crate::analyses::verdict::analyze_files(&others).context(
                    "no heap dump among the inputs (an HPROF file starts with \"JAVA PROFILE\", plain or gzipped)",
                )?,
            )
        } else {
            // Beside a dump, files that are not logs (a README, a script) are only noted.
            match crate::analyses::verdict::analyze_files(&others) {
                Ok(v) => Some(v),
                Err(e) => {
                    eprintln!("note: {e:#}");
                    None
                }
            }
        };
        let Some(dump) = dumps.into_iter().next() else {
            // No heap dump: the verdict of the other files is the report.
            let Some(v) = native else {
                anyhow::bail!("nothing to analyze: give a heap dump or JVM logs and outputs");
            };
            if let Some(path) = &html {
                let like = others.first().map_or(path.as_path(), |p| p.as_path());
                write_html(path, &reports::html::render_verdict(&v), json, like)?;
            }
            let out = if json {
                reports::to_json(&v)
            } else {
                reports::native_text::verdict(&v, &env.style)
            };
            return Ok((out, EXIT_OK));
        };
        let graph = GraphArgs {
            dump: DumpArgs {
                dump: dump.path,
                compressed_oops,
                heap_dump: dump.heap_dump.or(heap_dump),
            },
            keep_unreachable,
            strong_only,
            no_cache,
        };
        return with_graph(&graph, env, json, |g| {
            let t = std::time::Instant::now();
            let children = g.retention.children(&Scratch::memory());
            print_timings(&[("children", t.elapsed().as_secs_f64())]);
            let opts = report::Options {
                suspects: suspects::Options {
                    threshold_percent: threshold,
                    min_retained,
                    max_suspects,
                },
                details: html.is_some(),
                jvm_metaspace: native.as_ref().and_then(|v| v.jvm_metaspace.clone()),
                ..Default::default()
            };
            let mut r = report::analyze(g, children, &opts, env.progress.as_ref());
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
                let areas: Vec<crate::analyses::verdict::SuspectArea> = r
                    .suspects
                    .iter()
                    .map(|s| crate::analyses::verdict::SuspectArea {
                        rank: s.rank,
                        title: &s.title,
                        metaspace: s.class_loader.is_some(),
                    })
                    .collect();
                crate::analyses::verdict::join(&mut v.verdict, &areas);
                r.verdict = Some(v.verdict.clone());
                r.native = Some(v);
            }
            if let Some(path) = &html {
                let view = series.as_deref().map(|all| {
                    let diff = growth::diff(all, &growth::Options::default());
                    (diff, growth::growth_flame(all))
                });
                let growth = view
                    .as_ref()
                    .map(|(diff, flame)| reports::html::Growth { diff, flame });
                write_html(
                    path,
                    &reports::html::render(&r, growth.as_ref()),
                    json,
                    &g.heap.snap.bytes.path,
                )?;
            }
            let code = if fail_on_suspect && !r.suspects.is_empty() {
                EXIT_SUSPECT
            } else if fail_on_suspect && g.heap.snap.truncated() {
                EXIT_INCOMPLETE
            } else {
                EXIT_OK
            };
            let out = if json {
                reports::to_json(&r)
            } else {
                let mut text = reports::report_text::report(&r, &env.style);
                if let Some(h) = &r.history {
                    text.push('\n');
                    text.push_str(&reports::diff_text::suspect_history(h, &env.style));
                }
                if let Some(v) = &r.native {
                    text.push('\n');
                    text.push_str(&reports::native_text::verdict(v, &env.style));
                }
                text
            };
            Ok((out, code))
        });
    }
    dispatch_other(cmd, env).map(|s| (s, EXIT_OK))
}

/// `analyze BUNDLE` with the defaults: what `record` prints when it ends.
fn analyze_bundle(bundle: PathBuf, json: bool) -> Command {
    Command::Analyze {
        paths: vec![bundle],
        compressed_oops: None,
        heap_dump: None,
        keep_unreachable: false,
        strong_only: false,
        no_cache: false,
        threshold: 10.0,
        min_retained: 1 << 20,
        max_suspects: 10,
        json,
        html: None,
        fail_on_suspect: false,
    }
}

/// `analyze`'s inputs told apart by content ([`report::sort_inputs`]), in the order given; a
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
        let (d, o) = report::sort_inputs(std::slice::from_ref(p))?;
        dumps.extend(d.into_iter().map(|path| DumpInput {
            path,
            heap_dump: None,
        }));
        others.extend(o);
    }
    Ok((dumps, others))
}

/// Writes the HTML report, saying where on stderr unless stdout carries JSON.
fn write_html(
    path: &std::path::Path,
    page: &str,
    json: bool,
    like: &std::path::Path,
) -> Result<()> {
    write_atomically(path, page.as_bytes(), like)
        .with_context(|| format!("cannot write the HTML report to {}", path.display()))?;
    if !json {
        eprintln!("wrote {} ({} KiB)", path.display(), page.len() / 1024);
    }
    Ok(())
}

/// Writes a file through a temporary file in the same directory and a rename, so a reader never
/// sees half of it. The temporary is created exclusively under a random name with permissions
/// no wider than `like`'s (the dump the report is about), and a symbolic link at `path` is
/// not replaced (see [`files`]).
fn write_atomically(
    path: &std::path::Path,
    data: &[u8],
    like: &std::path::Path,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (mut f, tmp) = files::create_unique(dir, &format!(".{name}.tmp-"), files::mode_for(like))?;
    let r = f
        .write_all(data)
        .and_then(|_| files::rename_into_place(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

fn dispatch_other(cmd: Command, env: &Env) -> Result<String> {
    match cmd {
        Command::Analyze { .. } | Command::Jcmd { .. } | Command::Record(_) => {
            unreachable!("handled by dispatch")
        }
        Command::Native(c) => native::run(c, &env.style),
        Command::Sql(a) => sql::sql(a, env, false),
        Command::Oql(a) => sql::sql(a, env, true),
        Command::Export(a) => sql::export(a, env),
        Command::Diff {
            dumps,
            compressed_oops,
            no_cache,
            top,
            json,
            html,
        } => {
            let dumps = dumps
                .iter()
                .map(|d| dump_input(d))
                .collect::<Result<Vec<_>>>()?;
            let summaries = summarise_dumps(&dumps, compressed_oops, no_cache, env, json)?;
            let r = growth::diff(&summaries, &growth::Options { top });
            if let Some(path) = &html {
                let flame = growth::growth_flame(&summaries);
                let page = reports::html::render_diff(&reports::html::Growth {
                    diff: &r,
                    flame: &flame,
                });
                // Created with the permissions of the newest dump (or narrower).
                write_html(
                    path,
                    &page,
                    json,
                    dumps.last().map_or(path.as_path(), |d| d.path.as_path()),
                )?;
            }
            Ok(if json {
                reports::to_json(&r)
            } else {
                reports::diff_text::diff(&r, &env.style)
            })
        }
        Command::Top {
            graph,
            by,
            top: n,
            json,
        } => with_graph(&graph, env, json, |g| {
            let by = match by {
                TopByArg::Retained => TopBy::Retained,
                TopByArg::Shallow => TopBy::Shallow,
                TopByArg::Count => TopBy::Count,
            };
            let t = top::top(g, by, n);
            Ok(if json {
                reports::to_json(&t)
            } else {
                reports::graph_text::top(&t, &env.style)
            })
        }),
        Command::Dominators {
            graph,
            root,
            depth,
            min_percent,
            max_children,
            json,
        } => with_graph(&graph, env, json, |g| {
            let root = root.map(|r| find_object(g, &r)).transpose()?;
            let children = g.retention.children(&Scratch::memory());
            let opts = dominator_tree::Options {
                depth,
                min_percent,
                max_children,
            };
            let r = dominator_tree::dominator_tree(g, children, root, &opts);
            Ok(if json {
                reports::to_json(&r)
            } else {
                reports::graph_text::dominators(&r, &env.style)
            })
        }),
        Command::Path {
            graph,
            object,
            paths: n,
            json,
        } => with_graph(&graph, env, json, |g| {
            let o = find_object(g, &object)?;
            let preds = g.heap.index.refs.transpose();
            let r = paths::paths(g, &preds, o, n.max(1));
            Ok(if json {
                reports::to_json(&r)
            } else {
                reports::graph_text::path(&r, &env.style)
            })
        }),
        Command::Inspect {
            graph,
            object,
            referrers,
            json,
        } => with_graph(&graph, env, json, |g| {
            let o = find_object(g, &object)?;
            let preds = referrers.then(|| g.heap.index.refs.transpose());
            let r = inspect::inspect(g, o, preds.as_ref());
            Ok(if json {
                reports::to_json(&r)
            } else {
                reports::graph_text::inspect(&r, &env.style)
            })
        }),
        Command::Retained {
            graph,
            objects,
            exclude,
            json,
        } => with_graph(&graph, env, json, |g| {
            let of = objects
                .iter()
                .map(|o| find_object(g, o))
                .collect::<Result<Vec<_>>>()?;
            let r = retained_set::retained_set(&g.heap, &of, &exclude);
            Ok(if json {
                reports::to_json(&r)
            } else {
                reports::graph_text::retained_set(&r, &env.style)
            })
        }),
        Command::Classloaders {
            graph,
            loader_threshold,
            family_threshold,
            max_rows,
            json,
        } => with_graph(&graph, env, json, |g| {
            let opts = classloaders::Options {
                thresholds: classloaders::Thresholds {
                    loaders_per_type: loader_threshold,
                    classes_per_family: family_threshold,
                },
                max_rows,
            };
            let t = std::time::Instant::now();
            let r = classloaders::classloaders(g, &opts);
            print_timings(&[("classloaders", t.elapsed().as_secs_f64())]);
            Ok(if json {
                reports::to_json(&r)
            } else {
                reports::classloaders_text::classloaders(&r, &env.style)
            })
        }),
        Command::Histogram {
            dump,
            sort,
            top,
            filter,
            json,
        } => {
            let filter = filter
                .map(|f| {
                    regex::Regex::new(&f).with_context(|| {
                        format!("--filter {f:?} is not a valid regular expression")
                    })
                })
                .transpose()?;
            let bytes = open(&dump, env)?;
            let snap = Snapshot::load(&bytes, overrides(&dump), env.progress.as_ref())?;
            print_timings(&snap.timings);
            warn_to_stderr(&snap, json);
            let opts = histogram::Options {
                sort: match sort {
                    SortArg::Bytes => SortBy::Bytes,
                    SortArg::Count => SortBy::Count,
                    SortArg::Name => SortBy::Name,
                },
                top,
                filter,
            };
            let h = histogram::histogram(&snap, &opts);
            Ok(if json {
                reports::to_json(&h)
            } else {
                reports::text::histogram(&h, &env.style)
            })
        }
    }
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
}
