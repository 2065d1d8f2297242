//! Inputs: the one place that turns what a user names into what the analyses read. It walks the
//! paths given ([`expand`]: files, and directories one level deep), tells each file's kind from its
//! content with the one detector ([`detect`]), reads the evidence files ([`evidence`]) and sorts
//! `analyze`'s inputs into heap dumps and the rest ([`sort_analyze_inputs`]). Analyses get what is
//! read here, never paths.
//!
//! Above `formats` (whose parsers it hands bytes to), below `heap` and `analyses`.

pub mod detect;
pub mod evidence;
pub mod live;

use crate::formats::logs::LogKind;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Whether a file found in a directory is left out of the walk: hidden files and oomsleuth's own
/// index caches beside a dump are not evidence.
fn skipped_in_directory(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.starts_with('.') || name.ends_with(".oomsleuth-index") || name.ends_with(".hwcache")
}

/// The files of `path`: itself, or for a directory its regular files one level deep, by name
/// (hidden files and index caches left out).
pub fn expand_one(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read it: check the path", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot list the directory", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|e| e.is_file() && !skipped_in_directory(e))
        .collect();
    entries.sort();
    Ok(entries)
}

/// The files of every path given, in the order given ([`expand_one`] for each); a path that does
/// not exist is an error.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(expand_one(p)?);
    }
    Ok(files)
}

/// `analyze`'s files of one path told apart by content: heap dumps, and everything else (NMT,
/// pmap, smaps, GC and class logs, jstat; the evidence reader decides what it understands). A
/// file named on the command line must be a regular file; an IBM Portable Heap Dump is refused
/// with the reason.
pub fn sort_analyze_inputs(path: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let named_file = !std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    if named_file && path.exists() {
        // A FIFO or device would block the first read: refused by name.
        crate::formats::files::require_regular(path).with_context(|| path.display().to_string())?;
    }
    let mut dumps = vec![];
    let mut others = vec![];
    for file in expand_one(path)? {
        match detect::detect_file(&file).ok().flatten() {
            Some(LogKind::HeapDump) => dumps.push(file),
            Some(LogKind::PortableHeapDump) if named_file => anyhow::bail!(
                "{}: {}",
                file.display(),
                crate::formats::hprof::HprofError::NotHprof {
                    found: crate::formats::hprof::error::Found::new(b"\x00\x12portable heap dump")
                }
            ),
            _ => others.push(file),
        }
    }
    Ok((dumps, others))
}
