//! The command line: arguments, output choice (TTY, colour, progress), exit codes. No analysis
//! logic lives here: each subcommand loads a snapshot, calls an analysis, picks a renderer.

mod live;
#[cfg(feature = "mcp")]
mod mcp;
mod native;
mod progress;
mod record;
mod stop;
mod watch;
// Without the `sql` feature only the arguments remain (the commands say how to build it).
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
mod sql;

use crate::analyses::heap::graph::Graph;
use crate::analyses::heap::histogram::{self, SortBy};
use crate::analyses::heap::top::TopBy;
use crate::analyses::heap::{classloaders, dominator_tree, growth, retained_set, suspects};
use crate::commands;
use crate::formats::files;
use crate::formats::hprof::DumpBytes;
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
        #[arg(long, default_value_t = commands::SUSPECT_THRESHOLD_PERCENT)]
        threshold: f64,
        /// ...and at least this many bytes (e.g. 1MiB, 512KiB, 0): in a small heap an ordinary
        /// cache easily passes the percentage.
        #[arg(long, default_value = "1MiB", value_parser = commands::parse_size)]
        min_retained: u64,
        /// At most this many suspects.
        #[arg(long, default_value_t = commands::MAX_SUSPECTS)]
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
        #[arg(long, short = 'n', default_value_t = commands::TOP_ROWS)]
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
        #[arg(long, default_value_t = commands::DOMINATOR_DEPTH)]
        depth: usize,
        /// Hide subtrees retaining less than this percentage of the reachable heap.
        #[arg(long, default_value_t = commands::DOMINATOR_MIN_PERCENT)]
        min_percent: f64,
        /// At most this many children per node.
        #[arg(long, default_value_t = commands::DOMINATOR_MAX_CHILDREN)]
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
        #[arg(long, short = 'n', default_value_t = commands::PATHS)]
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
        #[arg(long, short = 'n', default_value_t = commands::TOP_ROWS)]
        top: usize,
        /// Print JSON (schema oomsleuth.diff/1, see docs/json.md).
        #[arg(long)]
        json: bool,
        /// Also write a self-contained HTML growth view (opens offline) to this file: the newest
        /// dump's dominator tree by path sized and coloured by growth, each top path over time.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// A Model Context Protocol server on stdin/stdout for assistants (Claude, Copilot, ...): tools
    /// analyze, top, dominators, path, inspect and diff, each taking the arguments of the command of
    /// its name and returning its --json document. Opened dumps stay open between calls. No network
    /// listener: the client starts `oomsleuth mcp` and speaks over its pipes. Needs a build with
    /// `--features mcp`.
    Mcp {
        /// How many dumps' graphs to keep open between calls (the least recently used is closed).
        #[arg(long, default_value_t = 2, value_name = "N")]
        max_open: usize,
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
    /// Watches a live JVM from outside, its hsperfdata counters and /proc every second: heap and
    /// the live set after each GC, Metaspace, classes per minute, GC time share, RSS, with trends
    /// and the verdict `analyze` would give over the samples so far. A terminal UI on a terminal
    /// (q quits); one line per sample otherwise, JSON with --json.
    #[command(after_help = "Examples:
  oomsleuth watch 4242
  oomsleuth watch 4242 --every 5s
  oomsleuth watch 4242 --json --count 60 > samples.jsonl")]
    Watch(watch::WatchArgs),
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
            eprintln!("{} {}", err_style.paint_error(), commands::error_text(&e));
            EXIT_ERROR
        }
    }
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

/// Runs `f` on the dump's object graph (index, dominators and retained sizes), from the cache
/// when there is a valid one.
fn with_graph<T>(
    req: &commands::GraphRequest,
    env: &Env,
    json: bool,
    f: impl FnOnce(&Graph<'_, '_>) -> Result<T>,
) -> Result<T> {
    commands::open_graph(req, env.cache_dir.as_deref(), env.progress.as_ref(), |g| {
        warn_to_stderr(g.heap.snap, json);
        // What the graph found wrong with the dump (no roots, ids twice): said on stderr
        // too, as not every graph command's output has a place for warnings.
        for w in g.heap.index.warnings() {
            eprintln!("warning: {}: {}", req.dump.path.display(), w.message);
        }
        print_timings(&g.heap.snap.timings);
        f(g)
    })
}

/// The CLI's graphs: each opened afresh, with notes on stderr.
struct CliGraphs<'e> {
    env: &'e Env,
    json: bool,
}

impl commands::OpenGraphs for CliGraphs<'_> {
    fn with_graph<T: Send + 'static>(
        &self,
        req: &commands::GraphRequest,
        f: impl FnOnce(&Graph<'_, '_>, &dyn Progress) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        with_graph(req, self.env, self.json, |g| {
            f(g, self.env.progress.as_ref())
        })
    }
}

impl GraphArgs {
    fn request(&self) -> commands::GraphRequest {
        commands::GraphRequest {
            dump: commands::DumpRequest {
                path: self.dump.dump.clone(),
                compressed_oops: on(self.dump.compressed_oops),
                heap_dump: self.dump.heap_dump,
            },
            keep_unreachable: self.keep_unreachable,
            strong_only: self.strong_only,
            no_cache: self.no_cache,
        }
    }
}

fn on(o: Option<OnOff>) -> Option<bool> {
    o.map(|o| o == OnOff::On)
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
    if let Command::Watch(args) = &cmd {
        return Ok((String::new(), watch::run(args)?));
    }
    if let Command::Mcp { max_open } = cmd {
        return serve_mcp(env.cache_dir.clone(), max_open).map(|()| (String::new(), EXIT_OK));
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
        let req = commands::AnalyzeRequest {
            paths,
            compressed_oops: on(compressed_oops),
            heap_dump,
            keep_unreachable,
            strong_only,
            no_cache,
            suspects: suspects::Options {
                threshold_percent: threshold,
                min_retained,
                max_suspects,
            },
            details: html.is_some(),
        };
        let graphs = CliGraphs { env, json };
        let a = match commands::analyze(&graphs, req)? {
            commands::Analysis::Verdict { verdict, inputs } => {
                if let Some(path) = &html {
                    let like = inputs.first().map_or(path.as_path(), |p| p.as_path());
                    write_html(path, &reports::html::render_verdict(&verdict), json, like)?;
                }
                let out = if json {
                    reports::to_json(&verdict)
                } else {
                    reports::native_text::verdict(&verdict, &env.style)
                };
                return Ok((out, EXIT_OK));
            }
            commands::Analysis::Heap(a) => a,
        };
        for n in &a.notes {
            eprintln!("note: {n}");
        }
        let r = &a.report;
        if let Some(path) = &html {
            let view = a.series.as_deref().map(|all| {
                let diff = growth::diff(all, &growth::Options::default());
                (diff, growth::growth_flame(all))
            });
            let growth = view
                .as_ref()
                .map(|(diff, flame)| reports::html::Growth { diff, flame });
            write_html(
                path,
                &reports::html::render(r, growth.as_ref()),
                json,
                &a.dump,
            )?;
        }
        let code = if fail_on_suspect && !r.suspects.is_empty() {
            EXIT_SUSPECT
        } else if fail_on_suspect && a.truncated {
            EXIT_INCOMPLETE
        } else {
            EXIT_OK
        };
        let out = if json {
            reports::to_json(r)
        } else {
            let mut text = reports::report_text::report(r, &env.style);
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
        return Ok((out, code));
    }
    dispatch_other(cmd, env).map(|s| (s, EXIT_OK))
}

#[cfg(feature = "mcp")]
fn serve_mcp(cache_dir: Option<PathBuf>, max_open: usize) -> Result<()> {
    mcp::serve(cache_dir, max_open)
}

#[cfg(not(feature = "mcp"))]
fn serve_mcp(_: Option<PathBuf>, _: usize) -> Result<()> {
    anyhow::bail!("this oomsleuth was built without the MCP server: build it with `cargo build --release --features mcp`")
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
        threshold: commands::SUSPECT_THRESHOLD_PERCENT,
        min_retained: commands::SUSPECT_MIN_RETAINED,
        max_suspects: commands::MAX_SUSPECTS,
        json,
        html: None,
        fail_on_suspect: false,
    }
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
        Command::Analyze { .. }
        | Command::Jcmd { .. }
        | Command::Record(_)
        | Command::Watch(_)
        | Command::Mcp { .. } => {
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
                .map(|d| commands::dump_input(d))
                .collect::<Result<Vec<_>>>()?;
            let graphs = CliGraphs { env, json };
            let (r, summaries) =
                commands::diff(&graphs, &dumps, on(compressed_oops), no_cache, top)?;
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
        } => with_graph(&graph.request(), env, json, |g| {
            let by = match by {
                TopByArg::Retained => TopBy::Retained,
                TopByArg::Shallow => TopBy::Shallow,
                TopByArg::Count => TopBy::Count,
            };
            let t = commands::top(g, by, n);
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
        } => with_graph(&graph.request(), env, json, |g| {
            let opts = dominator_tree::Options {
                depth,
                min_percent,
                max_children,
            };
            let r = commands::dominators(g, root.as_deref(), &opts)?;
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
        } => with_graph(&graph.request(), env, json, |g| {
            let r = commands::path(g, &object, n)?;
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
        } => with_graph(&graph.request(), env, json, |g| {
            let r = commands::inspect(g, &object, referrers)?;
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
        } => with_graph(&graph.request(), env, json, |g| {
            let of = objects
                .iter()
                .map(|o| commands::find_object(g, o))
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
        } => with_graph(&graph.request(), env, json, |g| {
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
