//! `oomsleuth scan`: class files (`0xCAFEBABE`) in process memory, from a core file or a live process.
//! A hit counts only when the bytes parse as a class file (version in range, whole constant pool, class
//! name, fields, methods and attributes: see [`classfile`](crate::formats::classfile)). Copies are counted
//! per class name with their bytes; the top repeated names are the signature of seed 002 (26,000 copies of
//! one class file in malloc'd memory, from a class that failed to load again and again).
//!
//! Speed: `memchr::memmem` finds the magic at memory bandwidth; only the (rare) hits are parsed.

use crate::formats::classfile;
use memchr::memmem;
use serde::Serialize;
use std::collections::HashMap;

pub const SCHEMA: &str = "oomsleuth.scan/1";

/// One region of memory to scan.
pub struct Region<'a> {
    pub start: u64,
    /// What it is: `[anon]`, `[heap]`, a file, or `PT_LOAD` for core segments.
    pub name: String,
    pub perms: String,
    pub bytes: &'a [u8],
}

/// The JSON contract of `oomsleuth scan`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScanReport {
    pub schema: &'static str,
    /// `core FILE` or `pid N`.
    pub source: String,
    pub regions_scanned: u64,
    pub bytes_scanned: u64,
    /// Regions not read (e.g. unreadable pages of a live process), with the reason.
    pub regions_skipped: Vec<String>,
    /// Occurrences of the magic bytes.
    pub magic_hits: u64,
    /// Hits that parse as class files.
    pub class_files: u64,
    pub class_file_bytes: u64,
    /// Distinct class names among them.
    pub distinct_names: u64,
    /// Most copies first (top N).
    pub top: Vec<ClassCopies>,
    /// Per region with hits, most hits first (top 20).
    pub regions: Vec<RegionHits>,
    pub seconds: f64,
    /// bytes_scanned / seconds.
    pub bytes_per_second: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClassCopies {
    /// Java source form (`com.example.FailingWrapper`).
    pub name: String,
    pub copies: u64,
    pub bytes: u64,
    pub super_name: Option<String>,
    pub interfaces: Vec<String>,
    /// Class file major version of the first copy (52 = Java 8, 61 = 17, 69 = 25).
    pub major: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct RegionHits {
    #[serde(serialize_with = "crate::units::serialize_hex")]
    pub start: u64,
    pub size: u64,
    pub name: String,
    pub perms: String,
    pub magic_hits: u64,
    pub class_files: u64,
}

fn java_name(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace('/', ".")
}

/// Accumulates hits over regions (a live process is read region by region).
#[derive(Default)]
pub struct Scanner {
    report: ScanReport,
    by_name: HashMap<Vec<u8>, ClassCopies>,
}

impl Scanner {
    pub fn new(source: String) -> Scanner {
        Scanner {
            report: ScanReport {
                schema: SCHEMA,
                source,
                ..Default::default()
            },
            by_name: HashMap::new(),
        }
    }

    /// Scans one region. `limit`: hits at or after this offset are left to the next chunk (for chunked
    /// reads with overlap); `None` scans all.
    pub fn scan(&mut self, r: &Region<'_>, limit: Option<usize>) {
        let finder = memmem::Finder::new(&classfile::MAGIC);
        let (mut hits, mut valid) = (0u64, 0u64);
        for at in finder.find_iter(r.bytes) {
            if limit.is_some_and(|l| at >= l) {
                break;
            }
            hits += 1;
            let Some(rest) = r.bytes.get(at..) else {
                continue;
            };
            let Ok(c) = classfile::parse(rest) else {
                continue;
            };
            valid += 1;
            self.report.class_file_bytes += c.len as u64;
            let e = self
                .by_name
                .entry(c.name.to_vec())
                .or_insert_with(|| ClassCopies {
                    name: java_name(c.name),
                    copies: 0,
                    bytes: 0,
                    super_name: c.super_name.map(java_name),
                    interfaces: c.interfaces.iter().map(|i| java_name(i)).collect(),
                    major: c.major,
                });
            e.copies += 1;
            e.bytes += c.len as u64;
        }
        self.report.magic_hits += hits;
        self.report.class_files += valid;
        if hits > 0 {
            self.report.regions.push(RegionHits {
                start: r.start,
                size: r.bytes.len() as u64,
                name: r.name.clone(),
                perms: r.perms.clone(),
                magic_hits: hits,
                class_files: valid,
            });
        }
    }

    /// Adds another scanner's findings (for scanning chunks in parallel).
    pub fn merge(mut self, other: Scanner) -> Scanner {
        let r = other.report;
        self.report.regions_scanned += r.regions_scanned;
        self.report.bytes_scanned += r.bytes_scanned;
        self.report.regions_skipped.extend(r.regions_skipped);
        self.report.magic_hits += r.magic_hits;
        self.report.class_files += r.class_files;
        self.report.class_file_bytes += r.class_file_bytes;
        self.report.regions.extend(r.regions);
        for (k, v) in other.by_name {
            match self.by_name.get_mut(&k) {
                Some(e) => {
                    e.copies += v.copies;
                    e.bytes += v.bytes;
                }
                None => {
                    self.by_name.insert(k, v);
                }
            }
        }
        self
    }

    /// Names what was scanned (`pid N`, `core FILE`).
    pub fn with_source(mut self, source: String) -> Scanner {
        self.report.source = source;
        self
    }

    /// Counts a region (or a chunk of one) as scanned.
    pub fn scanned(&mut self, regions: u64, bytes: u64) {
        self.report.regions_scanned += regions;
        self.report.bytes_scanned += bytes;
    }

    pub fn skipped(&mut self, what: String) {
        self.report.regions_skipped.push(what);
    }

    /// The report, with the `top` most copied names.
    pub fn finish(mut self, top: usize, seconds: f64) -> ScanReport {
        let mut v: Vec<ClassCopies> = self.by_name.into_values().collect();
        self.report.distinct_names = v.len() as u64;
        v.sort_by(|a, b| {
            b.copies
                .cmp(&a.copies)
                .then(b.bytes.cmp(&a.bytes))
                .then(a.name.cmp(&b.name))
        });
        v.truncate(top);
        self.report.top = v;
        // Regions of one mapping read in chunks show up once per chunk: merge by start.
        let mut merged: Vec<RegionHits> = Vec::new();
        for r in std::mem::take(&mut self.report.regions) {
            match merged.iter_mut().find(|m| m.start == r.start) {
                Some(m) => {
                    m.magic_hits += r.magic_hits;
                    m.class_files += r.class_files;
                    m.size = m.size.max(r.size);
                }
                None => merged.push(r),
            }
        }
        merged.sort_by(|a, b| {
            b.class_files
                .cmp(&a.class_files)
                .then(a.start.cmp(&b.start))
        });
        merged.truncate(20);
        self.report.regions = merged;
        self.report.seconds = seconds;
        self.report.bytes_per_second = if seconds > 0.0 {
            self.report.bytes_scanned as f64 / seconds
        } else {
            0.0
        };
        self.report
    }
}

/// Scans an ELF core file's `PT_LOAD` segments.
pub fn scan_core(
    path: &std::path::Path,
    bytes: &[u8],
    top: usize,
) -> Result<ScanReport, crate::formats::core::Error> {
    let started = std::time::Instant::now();
    let segs = crate::formats::core::load_segments(bytes)?;
    let mut s = Scanner::new(format!("core {}", path.display()));
    for seg in &segs {
        let b = crate::formats::core::segment_bytes(bytes, seg);
        if b.is_empty() {
            continue;
        }
        let perms = format!(
            "{}{}{}",
            if seg.flags & 4 != 0 { 'r' } else { '-' },
            if seg.flags & 2 != 0 { 'w' } else { '-' },
            if seg.flags & 1 != 0 { 'x' } else { '-' }
        );
        s.scan(
            &Region {
                start: seg.vaddr,
                name: "PT_LOAD".into(),
                perms,
                bytes: b,
            },
            None,
        );
        s.scanned(1, b.len() as u64);
    }
    Ok(s.finish(top, started.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::classfile::minimal_class;
    use crate::formats::core::write_core;

    #[test]
    fn counts_copies_in_a_core_and_ignores_fake_magic() {
        let a = minimal_class(
            "com/example/FailingWrapper",
            "java/lang/Object",
            &["com/example/MissingListener"],
        );
        let b = minimal_class("Other", "java/lang/Object", &[]);
        let mut seg1 = vec![0u8; 100];
        for _ in 0..7 {
            seg1.extend_from_slice(&a);
            seg1.extend_from_slice(b"junk");
        }
        seg1.extend_from_slice(&[0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 99]); // bad version
        let mut seg2 = b.clone();
        seg2.extend_from_slice(&a);
        seg2.extend_from_slice(&a[..a.len() - 3]); // truncated at the segment end
        let core = write_core(&[(0x1000, &seg1), (0x7f00_0000_0000, &seg2)]);
        let r = scan_core(std::path::Path::new("core"), &core, 10).unwrap();
        assert_eq!(r.magic_hits, 11);
        assert_eq!(r.class_files, 9);
        assert_eq!(r.top[0].name, "com.example.FailingWrapper");
        assert_eq!(r.top[0].copies, 8);
        assert_eq!(r.top[0].bytes, 8 * a.len() as u64);
        assert_eq!(
            r.top[0].interfaces,
            vec!["com.example.MissingListener".to_string()]
        );
        assert_eq!(r.top[1].copies, 1);
        assert_eq!(r.distinct_names, 2);
    }
}
