//! Loading a dump for analysis: the directory pass, the census pass, the class table and the
//! JVM facts, in that order. Every command starts here.

use super::census::Census;
use super::classes::ClassTable;
use super::jdk::collections::CollectionModel;
use super::layout::ClassSizes;
use super::vm::{detect, Overrides, VmFacts};
use crate::formats::hprof::{Directory, DumpBytes, HprofError, Source, Warning};
use std::time::Instant;

/// Callbacks for long phases: `phase(name, total_bytes)` starts one, `advance(bytes)` moves it.
pub trait Progress: Sync {
    fn phase(&self, name: &str, total: u64);
    /// A phase counted in items (nodes, objects) rather than bytes.
    fn phase_items(&self, name: &str, total: u64) {
        self.phase(name, total)
    }
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// Progress that shows nothing (tests, `--quiet`, pipes).
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Why a dump could not be loaded at all. Its message holds the reader's error already, so it
/// names no source (an error chain would print that error twice).
#[derive(Debug)]
pub struct LoadError {
    pub path: String,
    pub source: HprofError,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.source)
    }
}

impl std::error::Error for LoadError {}

/// A loaded dump: everything borrowed from the bytes.
pub struct Snapshot<'a> {
    pub bytes: &'a DumpBytes,
    pub dir: Directory<'a>,
    pub census: Census<'a>,
    pub classes: ClassTable<'a>,
    pub vm: VmFacts,
    pub sizes: ClassSizes,
    /// All warnings: input, directory and census, in file order.
    pub warnings: Vec<Warning>,
    pub timings: Vec<(&'static str, f64)>,
    /// The options the JVM facts were detected with (part of the index cache key).
    pub overrides: Overrides,
    /// Whether the census came from the index cache rather than a pass over the dump.
    pub census_from_cache: bool,
    /// The JDK collection classes' plans, made on first use (see [`Snapshot::collections`]).
    collection_model: std::sync::OnceLock<CollectionModel>,
}

impl<'a> Snapshot<'a> {
    pub fn load(
        bytes: &'a DumpBytes,
        overrides: Overrides,
        progress: &dyn Progress,
    ) -> Result<Snapshot<'a>, LoadError> {
        Snapshot::load_with(bytes, overrides, progress, |_| None)
    }

    /// [`load`](Self::load), taking the census from `cached` when it has one (the index cache)
    /// instead of walking every object.
    pub fn load_with(
        bytes: &'a DumpBytes,
        overrides: Overrides,
        progress: &dyn Progress,
        cached: impl FnOnce(&Directory<'a>) -> Option<Census<'a>>,
    ) -> Result<Snapshot<'a>, LoadError> {
        let mut timings = vec![];
        let t = Instant::now();
        let dir =
            Directory::read_dump(bytes.bytes(), overrides.dump).map_err(|source| LoadError {
                path: bytes.path.display().to_string(),
                source,
            })?;
        timings.push(("directory", t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let cached = cached(&dir);
        let census_from_cache = cached.is_some();
        let census = match cached {
            Some(c) => c,
            None => {
                progress.phase("reading objects", dir.heap_bytes());
                let c = Census::scan(&dir, &|n| progress.advance(n));
                progress.finish();
                c
            }
        };
        timings.push(("census", t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let mut classes = ClassTable::build(&dir, &census.class_dumps);
        let cycles = super::checks::break_superclass_cycles(&mut classes);
        let (vm, sizes) = detect(&dir, &census, &classes, overrides);
        timings.push(("layout", t.elapsed().as_secs_f64()));
        let mut warnings: Vec<Warning> = bytes
            .warnings
            .iter()
            .map(|m| Warning {
                offset: 0,
                message: m.clone(),
            })
            .collect();
        warnings.extend(dir.warnings.iter().cloned());
        warnings.extend(census.warnings.iter().cloned());
        warnings.extend(cycles);
        warnings.extend(super::checks::undeclared_classes(&census, &classes));
        if dir.heap_bodies.is_empty() && dir.error.is_none() {
            warnings.push(Warning { offset: dir.end_offset, message: "the file holds no heap dump records (an allocation-sites or CPU profile?): there are no objects to analyse".into() });
        }
        warnings.sort_by_key(|w| w.offset);
        warnings.dedup();
        Ok(Snapshot {
            bytes,
            dir,
            census,
            classes,
            vm,
            sizes,
            warnings,
            timings,
            overrides,
            census_from_cache,
            collection_model: Default::default(),
        })
    }

    /// What each class is to JDK collections and where their fields are, made once.
    pub fn collections(&self) -> &CollectionModel {
        self.collection_model
            .get_or_init(|| CollectionModel::of(self))
    }

    /// Whether reading stopped before the end of the file.
    pub fn truncated(&self) -> bool {
        self.dir.end_offset < self.bytes.bytes().len() as u64
            || self.dir.ends_early
            || self.dir.cut_inside_record
            || self
                .census
                .warnings
                .iter()
                .any(|w| w.message.contains("truncated"))
            || !self.bytes.warnings.is_empty()
    }

    pub fn is_gzip(&self) -> bool {
        matches!(self.bytes.source, Source::Gzip { .. })
    }
}
