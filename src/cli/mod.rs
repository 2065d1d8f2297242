//! The command line: arguments, output choice (TTY, colour, progress), exit codes. No analysis
//! logic lives here: each subcommand loads a snapshot, calls an analysis, picks a renderer.

mod progress;

use crate::analyses::histogram::{self, SortBy};
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
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "oomsleuth",
    version,
    about = "Finds out why a JVM runs out of memory.",
    long_about = "Finds out why a JVM runs out of memory: reads HotSpot heap dumps (.hprof, .hprof.gz) exactly and fast.\n\nNothing leaves this machine: oomsleuth never sends data anywhere.",
    after_help = "Exit codes: 0 analysed; 2 error (bad arguments, unreadable or non-HPROF file).\nA truncated dump is analysed as far as it goes, with a warning, and exits 0."
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
}

#[derive(Subcommand, Debug)]
enum Command {
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
}

struct Env {
    style: Style,
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
    if std::env::var_os("OOMSLEUTH_TIMINGS").is_some() {
        for (phase, secs) in timings {
            eprintln!("timing: {phase:<12} {secs:>8.3} s");
        }
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
    };
    let err_style = Style {
        color: color_enabled(cli.color, stderr_tty),
    };
    match dispatch(cli.command, &env) {
        Ok(out) => {
            let mut so = std::io::stdout().lock();
            if let Err(e) = so.write_all(out.as_bytes()).and_then(|_| so.flush()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return EXIT_OK;
                }
                eprintln!("{} writing output: {e}", err_style.paint_error());
                return EXIT_ERROR;
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{} {e:#}", err_style.paint_error());
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

fn dispatch(cmd: Command, env: &Env) -> Result<String> {
    match cmd {
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
