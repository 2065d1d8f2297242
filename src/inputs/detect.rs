//! The one detector of file kinds: what a file is, told from its first bytes (never from its
//! name). Every command that reads files asks it, so a file is the same kind everywhere.

use crate::formats::hprof::error::is_phd_start;
use crate::formats::logs::{self, LogKind};
use std::io::Read;
use std::path::Path;

/// How many first bytes [`detect`] looks at.
pub const HEAD: usize = 64 * 1024;

/// The first bytes of every HPROF file.
const HPROF_MAGIC: &[u8] = b"JAVA PROFILE ";

/// The first [`HEAD`] bytes of the file at `path` (fewer when it is shorter). A FIFO or device is
/// refused: named on the command line, its first read would block forever.
pub fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::formats::files::require_regular(path)?;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; HEAD];
    let mut n = 0;
    while n < buf.len() {
        let k = f.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    buf.truncate(n);
    Ok(buf)
}

/// The kind of the file at `path`, from its first bytes.
pub fn detect_file(path: &Path) -> std::io::Result<Option<LogKind>> {
    Ok(detect(&read_head(path)?))
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Whether the gzip data in `head` inflates to bytes starting with `JAVA PROFILE ` (a truncated or
/// damaged gzip start is not a heap dump).
fn inflated_start_is_hprof(head: &[u8]) -> bool {
    let mut d = flate2::read::MultiGzDecoder::new(head);
    let mut inner = [0u8; HPROF_MAGIC.len()];
    let mut got = 0;
    while got < inner.len() {
        match d.read(&mut inner[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    &inner[..got] == HPROF_MAGIC
}

/// Tells the format from the first bytes of a file ([`HEAD`] bytes are enough): `None` for
/// anything else. A gzip file is a heap dump only when its inflated bytes start with
/// `JAVA PROFILE ` (as `jcmd GC.heap_dump -gz` writes it); any other gzip file is unknown.
pub fn detect(head: &[u8]) -> Option<LogKind> {
    if head.starts_with(HPROF_MAGIC) || (is_gzip(head) && inflated_start_is_hprof(head)) {
        return Some(LogKind::HeapDump);
    }
    if is_gzip(head) {
        return None;
    }
    if is_phd_start(head) {
        return Some(LogKind::PortableHeapDump);
    }
    let text = String::from_utf8_lossy(head.get(..head.len().min(64 * 1024)).unwrap_or(head));
    if text.contains("Native Memory Tracking:") {
        return Some(LogKind::Nmt);
    }
    if logs::metaspace::is_classloader_stats(&text) {
        return Some(LogKind::ClassLoaderStats);
    }
    if logs::metaspace::is_vm_metaspace(&text) {
        return Some(LogKind::VmMetaspace);
    }
    let mut class_lines = 0;
    let mut gc_lines = 0;
    for line in text.lines().take(400) {
        let l = line.trim_start();
        if l.contains("[rollup]") {
            return Some(LogKind::SmapsRollup);
        }
        if logs::histogram::is_header(l) {
            return Some(LogKind::ClassHistogram);
        }
        if l.starts_with("Address") && l.contains("Kbytes") && l.contains("RSS") {
            return Some(LogKind::Pmap);
        }
        if logs::smaps::parse_header(l).is_some() {
            return Some(LogKind::Smaps);
        }
        if logs::jstat::is_header(l) {
            return Some(LogKind::Jstat);
        }
        if logs::classlog::parse_line(l).is_some() {
            class_lines += 1;
        } else if l.contains("[gc")
            || l.starts_with("[GC")
            || l.contains(": [GC")
            || l.contains("[Full GC")
        {
            gc_lines += 1;
        }
    }
    if class_lines > 0 && class_lines >= gc_lines {
        return Some(LogKind::ClassLog);
    }
    if gc_lines > 0 {
        return Some(LogKind::GcLog);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn heap_dumps_plain_and_gzipped() {
        let dump = b"JAVA PROFILE 1.0.2\0\0\0\0\x08";
        assert_eq!(detect(dump), Some(LogKind::HeapDump));
        assert_eq!(detect(&gzip(dump)), Some(LogKind::HeapDump));
    }

    #[test]
    fn a_gzip_of_anything_else_is_not_a_heap_dump() {
        assert_eq!(detect(&gzip(b"hello, world\n")), None);
        let gc = b"[0.010s][info][gc] Using G1\n[1.000s][info][gc] GC(0) Pause Young 24M->3M(256M) 2.1ms\n";
        assert_eq!(detect(&gzip(gc)), None);
        assert_eq!(detect(&gzip(b"")), None);
    }

    #[test]
    fn truncated_starts_never_panic() {
        let gz = gzip(b"JAVA PROFILE 1.0.2\0");
        for n in 0..gz.len() {
            let kind = detect(&gz[..n]);
            assert!(
                kind.is_none() || kind == Some(LogKind::HeapDump),
                "{n}: {kind:?}"
            );
        }
        // Too few bytes for the inflated magic: not a dump.
        assert_eq!(detect(&gz[..10]), None);
        assert_eq!(detect(b"JAVA PROF"), None);
        assert_eq!(detect(b""), None);
        assert_eq!(detect(&[0x1f]), None);
    }

    #[test]
    fn portable_heap_dumps() {
        assert_eq!(
            detect(b"\x00\x12portable heap dump\x00\x00\x00\x06"),
            Some(LogKind::PortableHeapDump)
        );
    }

    #[test]
    fn each_log_kind() {
        let cases: &[(&str, LogKind)] = &[
            ("12345:\n\nNative Memory Tracking:\n\nTotal: reserved=1KB, committed=1KB\n", LogKind::Nmt),
            ("1234:   java\nAddress           Kbytes     RSS   Dirty Mode  Mapping\n", LogKind::Pmap),
            ("00400000-00401000 r-xp 00000000 08:01 123 /usr/bin/java\nSize:                  4 kB\n", LogKind::Smaps),
            ("00400000-7fff0000 ---p 00000000 00:00 0 [rollup]\nRss:  100 kB\n", LogKind::SmapsRollup),
            ("[0.010s][info][gc] Using G1\n[1.000s][info][gc] GC(0) Pause Young (Normal) 24M->3M(256M) 2.123ms\n", LogKind::GcLog),
            ("[0.020s][info][class,load] java.lang.Object source: shared objects file\n", LogKind::ClassLog),
            ("Timestamp        S0C    S1C    S0U    S1U      EC       EU        OC         OU       MC     MU    CCSC   CCSU   YGC     YGCT    FGC    FGCT     GCT   \n", LogKind::Jstat),
            (" num     #instances         #bytes  class name (module)\n-------------------------------------------------------\n   1:          10            160  java.lang.String (java.base@17)\n", LogKind::ClassHistogram),
        ];
        for (text, kind) in cases {
            assert_eq!(detect(text.as_bytes()), Some(*kind), "{text}");
        }
        assert_eq!(detect(b"just some README text\n"), None);
    }

    #[test]
    fn files_are_read_from_their_start() {
        let dir = std::env::temp_dir().join(format!("oomsleuth-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gz = dir.join("notes.txt.gz");
        std::fs::write(&gz, gzip(b"not a dump")).unwrap();
        assert_eq!(detect_file(&gz).unwrap(), None);
        let dump = dir.join("heap.hprof.gz");
        std::fs::write(&dump, gzip(b"JAVA PROFILE 1.0.2\0")).unwrap();
        assert_eq!(detect_file(&dump).unwrap(), Some(LogKind::HeapDump));
        assert!(detect_file(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
