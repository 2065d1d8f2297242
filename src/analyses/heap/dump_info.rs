//! Facts about the dump and the assumptions behind sizes: shared by every report.

use crate::formats::hprof::Source;
use crate::heap::snapshot::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// The `dump` object of every JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct DumpInfo {
    pub path: String,
    /// Bytes of HPROF data read (uncompressed).
    pub bytes: u64,
    /// Compressed size for `.gz` input, else null.
    pub compressed_bytes: Option<u64>,
    pub format: String,
    pub identifier_size: u8,
    /// Dump time, milliseconds since the epoch.
    pub timestamp_ms: u64,
    pub objects: u64,
    pub classes: u64,
    pub gc_roots: BTreeMap<&'static str, u64>,
    pub heap_records: u64,
    /// Every heap dump in the file (the hprof agent writes several into one); only one is
    /// analysed, and `objects` etc. are its own.
    pub heap_dumps: Vec<HeapDumpRow>,
    /// The number of the dump analysed (1-based), null when the file holds none.
    pub analysed_dump: Option<u32>,
    /// Reading stopped before the end of the file (see `warnings`).
    pub truncated: bool,
}

/// One heap dump of the file.
#[derive(Clone, Debug, Serialize)]
pub struct HeapDumpRow {
    pub number: u32,
    /// Offset of its first record in the (uncompressed) file.
    pub offset: u64,
    pub bytes: u64,
    pub records: u64,
    /// Closed as the format says (not cut short).
    pub complete: bool,
    /// Instances and arrays: counted for the analysed dump only (null for the others).
    pub objects: Option<u64>,
}

/// The `assumptions` object: how shallow sizes were computed and why.
#[derive(Clone, Debug, Serialize)]
pub struct Assumptions {
    pub jdk_version: Option<String>,
    pub jdk_feature: u32,
    pub jdk_source: String,
    pub compressed_oops: bool,
    pub compressed_oops_source: String,
    pub compressed_class_pointers: bool,
    /// Machine word and native pointer size: 4 on a 32-bit JVM, 8 on a 64-bit one.
    pub address_bytes: u32,
    pub object_header_bytes: u32,
    pub reference_bytes: u32,
    pub object_alignment: u32,
    pub field_layout: &'static str,
}

impl DumpInfo {
    pub fn of(s: &Snapshot<'_>) -> DumpInfo {
        let compressed_bytes = match s.bytes.source {
            Source::Gzip {
                compressed_bytes, ..
            } => Some(compressed_bytes),
            Source::Plain => None,
        };
        DumpInfo {
            path: s.bytes.path.display().to_string(),
            bytes: s.bytes.bytes().len() as u64,
            compressed_bytes,
            format: format!("JAVA PROFILE {}", s.dir.header.version_string()),
            identifier_size: s.dir.header.id_size,
            timestamp_ms: s.dir.header.timestamp_ms,
            objects: s.census.objects,
            classes: s.classes.len() as u64,
            gc_roots: s.census.roots.iter().map(|(k, v)| (k.name(), *v)).collect(),
            heap_records: s.dir.heap_records(),
            heap_dumps: s
                .dir
                .dumps
                .iter()
                .enumerate()
                .map(|(i, h)| HeapDumpRow {
                    number: h.number,
                    offset: h.offset,
                    bytes: h.bytes,
                    records: h.records,
                    complete: h.complete,
                    objects: (i == s.dir.chosen).then_some(s.census.objects),
                })
                .collect(),
            analysed_dump: s.dir.chosen_dump().map(|h| h.number),
            truncated: s.truncated(),
        }
    }
}

impl Assumptions {
    /// The release as every report prints it: the dump's version string, else the feature
    /// release decided from markers, marked as guessed.
    pub fn jdk_label(&self) -> String {
        match &self.jdk_version {
            Some(v) => v.clone(),
            None => format!("{} (guessed)", self.jdk_feature),
        }
    }

    /// The object layout in a few words: `32-bit`, or whether the 64-bit JVM compresses oops.
    pub fn layout_label(&self) -> &'static str {
        match (self.address_bytes, self.compressed_oops) {
            (4, _) => "32-bit",
            (_, true) => "compressed oops on",
            (_, false) => "compressed oops off",
        }
    }

    pub fn of(s: &Snapshot<'_>) -> Assumptions {
        let m = &s.vm.layout;
        Assumptions {
            jdk_version: s.vm.jdk_version.clone(),
            jdk_feature: s.vm.jdk_feature,
            jdk_source: s.vm.jdk_source.clone(),
            compressed_oops: m.compressed_oops,
            compressed_oops_source: s.vm.compressed_oops_source.clone(),
            compressed_class_pointers: m.compressed_class_pointers,
            address_bytes: m.word_size,
            object_header_bytes: m.header_size(),
            reference_bytes: m.oop_size(),
            object_alignment: m.object_alignment,
            field_layout: if m.jdk_feature >= 15 {
                "JDK 15+ (FieldLayoutBuilder)"
            } else {
                "JDK 6-14 (ClassFileParser)"
            },
        }
    }
}
