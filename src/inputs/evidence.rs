//! The evidence files beside heap dumps (NMT, pmap, smaps, GC and class logs, jstat, class
//! histograms, the JVM's Metaspace views), read whole with their detected kind and modification
//! time, for the process analyses.

use super::detect::{detect, read_head};
use crate::formats::logs::LogKind;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// One file read, with its detected format.
#[derive(Clone, Debug)]
pub struct Input {
    pub path: PathBuf,
    pub kind: LogKind,
    pub text: String,
    /// Seconds since the epoch.
    pub mtime: Option<f64>,
}

/// A file given but not used, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Ignored {
    pub path: String,
    pub reason: String,
}

/// What was read from the paths given.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<Input>,
    pub ignored: Vec<Ignored>,
}

impl Inputs {
    /// The files of some formats, in the order given.
    pub fn of(&self, kinds: &[LogKind]) -> Vec<&Input> {
        self.files
            .iter()
            .filter(|f| kinds.contains(&f.kind))
            .collect()
    }
}

/// Largest text file read (GC and class logs of days run into hundreds of MB; beyond this, ask to split).
const MAX_TEXT: u64 = 2 << 30;

/// Reads `paths` (files, or directories: their files, one level deep, by name, as
/// [`expand`](super::expand) walks them), detects each format from its first 64 KiB, and keeps those of `kinds` (all formats when empty). Unreadable or unknown files are
/// listed in `ignored`; a path that does not exist is an error.
pub fn read_inputs(paths: &[PathBuf], kinds: &[LogKind]) -> Result<Inputs> {
    let files = super::expand(paths)?;
    let mut out = Inputs::default();
    for path in files {
        let shown = path.display().to_string();
        let head = match read_head(&path) {
            Ok(h) => h,
            Err(e) => {
                out.ignored.push(Ignored {
                    path: shown,
                    reason: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        if is_record_manifest(&path, &head) {
            continue; // the table of contents of a `record` bundle, not evidence
        }
        let Some(kind) = detect(&head).filter(|k| *k != LogKind::PortableHeapDump) else {
            out.ignored.push(Ignored { path: shown, reason: "not a format oomsleuth reads here (NMT, pmap -x, smaps, GC log, class log, jstat)".into() });
            continue;
        };
        if !kinds.is_empty() && !kinds.contains(&kind) {
            out.ignored.push(Ignored {
                path: shown,
                reason: format!("a {} (not read by this command)", kind.name()),
            });
            continue;
        }
        if kind == LogKind::HeapDump {
            out.ignored.push(Ignored {
                path: shown,
                reason: "a heap dump: read it with `oomsleuth analyze DUMP` (or histogram/top)"
                    .into(),
            });
            continue;
        }
        let meta = std::fs::metadata(&path).ok();
        if meta.as_ref().is_some_and(|m| m.len() > MAX_TEXT) {
            out.ignored.push(Ignored {
                path: shown,
                reason: "larger than 2 GiB: split it (e.g. by date) and give the parts".into(),
            });
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mtime = meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64());
        out.files.push(Input {
            path,
            kind,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            mtime,
        });
    }
    Ok(out)
}

/// `manifest.json` of an `oomsleuth record` bundle.
fn is_record_manifest(path: &Path, head: &[u8]) -> bool {
    path.file_name().is_some_and(|n| n == "manifest.json")
        && String::from_utf8_lossy(head).contains("\"oomsleuth.record/1\"")
}

/// Reads `paths` as [`read_inputs`] does for every kind, and fails, saying what each file was,
/// when none of them is evidence.
pub fn read_evidence(paths_in: &[PathBuf]) -> Result<Inputs> {
    let inputs = read_inputs(paths_in, &[])?;
    if inputs.files.is_empty() {
        let why: Vec<String> = inputs
            .ignored
            .iter()
            .map(|i| format!("{}: {}", i.path, i.reason))
            .collect();
        bail!(
            "nothing to read in {}: give NMT outputs, pmap -x / smaps, GC logs, class logs or jstat outputs (or a directory of them){}",
            paths_in.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
            if why.is_empty() { String::new() } else { format!("\n  {}", why.join("\n  ")) }
        );
    }
    Ok(inputs)
}
