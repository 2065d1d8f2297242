//! Subcommands beyond the heap dump (issue 7): `nmt`, `pmap`, `scan`, `classlog`, `gclog`, `jstat` and
//! `diagnose` (the verdict over any mix of them). Each reads files (or directories of files; formats are
//! detected from content), runs one analysis and prints text or `--json`.

use crate::analyses::process::{classlog, gclog, jstat, jvms, native, scan, verdict};
use crate::formats::logs::LogKind;
use crate::inputs::evidence::read_inputs;
use crate::reports::{self, jvms_text, native_text, text::Style};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Files {
    /// Files, or directories holding them (read one level deep); several make a time series, ordered by
    /// the timestamps in their content, else modification time, else name.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print JSON (see docs/json.md).
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum NativeCommand {
    /// Native Memory Tracking: `jcmd PID VM.native_memory summary|detail[.diff]` outputs; a series shows
    /// which category grows and (detail) which malloc call sites. JSON: oomsleuth.nmt/1.
    Nmt(Files),
    /// Process maps: `pmap -x PID`, /proc/PID/smaps, smaps_rollup; RSS trend, mappings that grew, glibc
    /// malloc arenas. JSON: oomsleuth.pmap/1.
    Pmap(Files),
    /// Class files (0xCAFEBABE) in a core file or a live process's anonymous memory: copies per class name.
    /// JSON: oomsleuth.scan/1.
    Scan {
        /// An ELF core file (gcore PID, or a kernel core dump).
        #[arg(required_unless_present = "pid", conflicts_with = "pid")]
        core: Option<PathBuf>,
        /// A live process (Linux; needs ptrace rights over it: same user or root).
        #[arg(long)]
        pid: Option<u32>,
        /// How many class names to list.
        #[arg(long, short = 'n', default_value_t = 20)]
        top: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Class load/unload logs (-Xlog:class+load,class+unload, -verbose:class, JDK 8 TraceClassLoading):
    /// live classes over time by source and generated-class family. JSON: oomsleuth.classlog/1.
    Classlog(Files),
    /// GC logs (-Xlog:gc*, JDK 8 -XX:+PrintGCDetails): heap and Metaspace after GC, full GCs and causes,
    /// the live-set trend. JSON: oomsleuth.gclog/1.
    Gclog(Files),
    /// jstat -gc/-gcutil/-gccapacity/-gcmetacapacity/-class outputs (with or without -t): Metaspace
    /// explained, class load rates. JSON: oomsleuth.jstat/1.
    Jstat(Files),
    /// `analyze` of process evidence alone, under its former name: kept, hidden, for scripts that
    /// call it (the same verdict, text and oomsleuth.verdict/1 JSON as `analyze FILES...`).
    #[command(hide = true)]
    Diagnose(Files),
    /// Every HotSpot JVM on this host, containers included, from its hsperfdata file alone (no attach,
    /// nothing loaded into it): pid, user, main class, JDK, uptime, heap, Metaspace, classes, GCs.
    /// JSON: oomsleuth.jvms/1.
    Jvms {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn render<T: serde::Serialize>(json: bool, v: &T, text: impl FnOnce(&T) -> String) -> String {
    if json {
        reports::to_json(v)
    } else {
        text(v)
    }
}

fn inputs_of(f: &Files, kinds: &[LogKind], what: &str) -> Result<crate::inputs::evidence::Inputs> {
    let inputs = read_inputs(&f.paths, kinds)?;
    if inputs.files.is_empty() {
        let why: Vec<String> = inputs
            .ignored
            .iter()
            .map(|i| format!("\n  {}: {}", i.path, i.reason))
            .collect();
        bail!("no {what} among the files given{}", why.concat());
    }
    for i in &inputs.ignored {
        eprintln!("note: ignored {}: {}", i.path, i.reason);
    }
    Ok(inputs)
}

/// Runs one of these subcommands; returns what to print on stdout.
pub fn run(cmd: NativeCommand, style: &Style) -> Result<String> {
    match cmd {
        NativeCommand::Nmt(f) => {
            let inputs = inputs_of(&f, &[LogKind::Nmt], "NMT output (`jcmd PID VM.native_memory summary`; the JVM needs -XX:NativeMemoryTracking=summary)")?;
            let a = native::nmt(&inputs.of(&[LogKind::Nmt]));
            Ok(render(f.json, &a, |a| native_text::nmt(a, style)))
        }
        NativeCommand::Pmap(f) => {
            let kinds = [LogKind::Pmap, LogKind::Smaps, LogKind::SmapsRollup];
            let inputs = inputs_of(&f, &kinds, "pmap -x / smaps / smaps_rollup output")?;
            let a = native::maps(&inputs.of(&kinds));
            Ok(render(f.json, &a, |a| native_text::maps(a, style)))
        }
        NativeCommand::Scan {
            core,
            pid,
            top,
            json,
        } => {
            let r = match (core, pid) {
                (_, Some(pid)) => crate::inputs::live::scan_pid(pid, top)?,
                (Some(path), None) => {
                    crate::formats::files::require_regular(&path)
                        .with_context(|| path.display().to_string())?;
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    // SAFETY: the core file is mapped read-only; if another process truncates it while
                    // we read, the OS raises SIGBUS (a core file being scanned is not being written).
                    let map = unsafe { memmap2::Mmap::map(&file) }
                        .with_context(|| format!("cannot map {}", path.display()))?;
                    scan::scan_core(&path, &map, top)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
                (None, None) => bail!("give a core file or --pid PID"),
            };
            Ok(render(json, &r, |r| native_text::scan(r, style)))
        }
        NativeCommand::Classlog(f) => {
            let inputs = inputs_of(
                &f,
                &[LogKind::ClassLog],
                "class log (-Xlog:class+load,class+unload or -verbose:class)",
            )?;
            let a = classlog::analyze(&inputs.of(&[LogKind::ClassLog]));
            Ok(render(f.json, &a, |a| native_text::classlog(a, style)))
        }
        NativeCommand::Gclog(f) => {
            let inputs = inputs_of(
                &f,
                &[LogKind::GcLog],
                "GC log (-Xlog:gc* or -XX:+PrintGCDetails)",
            )?;
            let a = gclog::analyze(&inputs.of(&[LogKind::GcLog]));
            Ok(render(f.json, &a, |a| native_text::gclog(a, style)))
        }
        NativeCommand::Jstat(f) => {
            let inputs = inputs_of(
                &f,
                &[LogKind::Jstat],
                "jstat output (e.g. `jstat -gc -t PID 10s`)",
            )?;
            let a = jstat::analyze(&inputs.of(&[LogKind::Jstat]));
            Ok(render(f.json, &a, |a| native_text::jstat(a, style)))
        }
        NativeCommand::Jvms { json } => {
            let found = crate::inputs::live::jvms::discover();
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let r = jvms::report(found.found, found.skipped, found.notes, now_ms);
            Ok(render(json, &r, |r| jvms_text::jvms(r, style)))
        }
        NativeCommand::Diagnose(f) => {
            let r = verdict::analyze_inputs(crate::inputs::evidence::read_evidence(&f.paths)?);
            Ok(render(f.json, &r, |r| native_text::verdict(r, style)))
        }
    }
}
