//! Bad input through the binary: every case exits with a documented code (2 for errors, 0 for a
//! damaged dump that was analysed as far as it goes), names the file, points at the byte, and
//! never panics (`synthetic::oomsleuth` checks stderr for "panicked").

use crate::support::hprof_writer::{
    hotspot_gzip, plain_gzip, Grouping, HprofWriter, TempDir, Ty, Written,
};
use crate::synthetic::{oomsleuth, Run};
use serde_json::Value as Json;
use std::path::Path;

fn histogram(path: &Path) -> Run {
    oomsleuth([
        std::ffi::OsStr::new("histogram"),
        "--json".as_ref(),
        path.as_os_str(),
    ])
}

/// Runs `histogram --json` on a file that must be rejected: exit 2, the file named on stderr
/// with every one of `needles`, nothing on stdout.
fn assert_error(path: &Path, needles: &[&str]) -> Run {
    let run = histogram(path);
    assert_eq!(
        run.code,
        2,
        "{}: expected exit 2, got {}\nstderr: {}\nstdout: {}",
        path.display(),
        run.code,
        run.stderr,
        run.stdout
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains(&path.display().to_string()),
        "the error should name {}: {}",
        path.display(),
        run.stderr
    );
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr should contain {n:?}: {}",
            run.stderr
        );
    }
    run
}

/// Runs `histogram --json` on a damaged dump that must be analysed: exit 0, a JSON document
/// naming the file, a warning at byte `offset` whose message holds every one of `needles`.
fn assert_partial(path: &Path, offset: u64, needles: &[&str]) -> Json {
    let run = histogram(path);
    assert_eq!(
        run.code,
        0,
        "{}: expected exit 0, got {}\nstderr: {}",
        path.display(),
        run.code,
        run.stderr
    );
    let j = run.json();
    assert_eq!(
        j["dump"]["path"].as_str(),
        Some(path.display().to_string().as_str())
    );
    let warnings = j["warnings"].as_array().unwrap();
    let hit = warnings.iter().any(|w| {
        w["offset"].as_u64() == Some(offset)
            && needles
                .iter()
                .all(|n| w["message"].as_str().unwrap().contains(n))
    });
    assert!(
        hit,
        "{}: no warning at byte {offset} containing {needles:?}: {warnings:#?}",
        path.display()
    );
    j
}

fn instances(j: &Json, class: &str) -> u64 {
    j["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == class)
        .map(|r| r["instances"].as_u64().unwrap())
        .unwrap_or(0)
}

/// `java.lang.Object`, `com.Foo` and `n` instances of it, one sub-record each; returns the
/// writer and the index of the first instance's sub-record.
fn foo_dump(ids: u8, n: usize) -> (HprofWriter, usize) {
    let (w, first, _, _) = foo_dump_ids(ids, n);
    (w, first)
}

/// [`foo_dump`], also returning the ids of `java.lang.Object` and `com.Foo`.
fn foo_dump_ids(ids: u8, n: usize) -> (HprofWriter, usize, u64, u64) {
    let mut w = HprofWriter::hotspot(ids);
    let object = w.class("java.lang.Object").define();
    let foo = w
        .class("com.Foo")
        .extends(object)
        .fields(&[("a", Ty::Int), ("b", Ty::Long), ("c", Ty::Object)])
        .define();
    let first = w.sub_record_count();
    w.instances(foo, n);
    (w, first, object, foo)
}

#[test]
fn empty_file_is_an_error() {
    let tmp = TempDir::new("empty");
    assert_error(
        &tmp.file("empty.hprof", b""),
        &["not an HPROF heap dump", "empty file"],
    );
}

#[test]
fn files_that_are_not_hprof_are_errors() {
    let tmp = TempDir::new("not-hprof");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0\x3e\0".to_vec();
    elf.resize(512, 0);
    assert_error(
        &tmp.file("notes.txt", b"this is a text file, not a heap dump\n"),
        &["not an HPROF heap dump", "this is a te"],
    );
    assert_error(
        &tmp.file("image.png", png),
        &["not an HPROF heap dump", "PNG"],
    );
    assert_error(
        &tmp.file("core.elf", &elf),
        &["not an HPROF heap dump", "ELF"],
    );
    // Almost HPROF: right magic, unsupported identifier size (at byte 19).
    let mut bad_ids = HprofWriter::hotspot(8).header();
    bad_ids[22] = 6;
    assert_error(
        &tmp.file("ids.hprof", &bad_ids),
        &["identifier size 6", "byte 19"],
    );
}

#[test]
fn truncated_header_is_an_error_naming_the_offset() {
    let tmp = TempDir::new("header");
    let (w, _) = foo_dump(8, 3);
    let bytes = w.finish(&Grouping::Single);
    // Inside the magic, after the version's NUL, inside the id size, inside the timestamp.
    for cut in [5usize, 12, 19, 21, 25, 30] {
        let path = tmp.file(&format!("cut-{cut}.hprof"), &bytes[..cut]);
        assert_error(&path, &[&format!("truncated at byte {cut}")]);
    }
}

#[test]
fn dump_truncated_inside_a_heap_record_is_analysed_up_to_the_cut() {
    let tmp = TempDir::new("trunc");
    for (ids, grouping) in [
        (8, Grouping::Single),
        (4, Grouping::Segments { max_body: 100 }),
    ] {
        let (w, first) = foo_dump(ids, 20);
        let Written {
            bytes, sub_offsets, ..
        } = w.write(&grouping);
        // Cut 5 bytes into the 13th instance: 12 complete ones before it.
        let cut = sub_offsets[first + 12] + 5;
        let path = tmp.file(&format!("trunc-{ids}.hprof"), &bytes[..cut as usize]);
        let run = histogram(&path);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains(&path.display().to_string()) && run.stderr.contains("truncated"),
            "stderr should say the dump is truncated: {}",
            run.stderr
        );
        let j = assert_partial(&path, cut, &["truncated"]);
        assert_eq!(instances(&j, "com.Foo"), 12);
        assert_eq!(j["dump"]["truncated"], true);
    }
}

#[test]
fn dump_truncated_inside_a_record_header_or_a_string_is_reported() {
    let tmp = TempDir::new("trunc-rec");
    let (mut w, _) = foo_dump(8, 4);
    w.string("a string after the classes");
    let written = w.write(&Grouping::Segments { max_body: 100 });
    let heap = written
        .records
        .iter()
        .filter(|r| r.0 == 0x1C)
        .map(|r| r.1)
        .collect::<Vec<_>>();
    let string = written
        .records
        .iter()
        .filter(|r| r.0 == 0x01)
        .map(|r| r.1)
        .next_back()
        .unwrap();
    // 4 bytes into the second segment's record header, and in the middle of the last STRING.
    for (name, cut) in [
        ("in-record-header", heap[1] + 4),
        ("in-string", string + 12),
    ] {
        let path = tmp.file(&format!("{name}.hprof"), &written.bytes[..cut as usize]);
        let j = assert_partial(&path, cut, &["truncated"]);
        assert_eq!(j["dump"]["truncated"], true, "{name}");
    }
}

#[test]
fn corrupt_sub_record_tag_is_reported_with_offset_and_tag() {
    let tmp = TempDir::new("subtag");
    for grouping in [Grouping::Single, Grouping::Segments { max_body: 120 }] {
        let (w, first) = foo_dump(8, 10);
        let Written {
            mut bytes,
            sub_offsets,
            ..
        } = w.write(&grouping);
        let at = sub_offsets[first + 6];
        assert_eq!(bytes[at as usize], 0x21);
        bytes[at as usize] = 0x55;
        let path = tmp.file("subtag.hprof", &bytes);
        let j = assert_partial(&path, at, &["0x55", "sub-record"]);
        let foo = instances(&j, "com.Foo");
        if grouping == Grouping::Single {
            assert_eq!(foo, 6);
        } else {
            // The other segments are read; only the rest of the damaged one is lost.
            assert!((6..10).contains(&foo), "{foo}");
        }
    }
}

#[test]
fn corrupt_top_level_tag_is_reported_with_offset_and_tag() {
    let tmp = TempDir::new("tag");
    let (w, _) = foo_dump(8, 10);
    let Written {
        mut bytes, records, ..
    } = w.write(&Grouping::Segments { max_body: 120 });
    let segments: Vec<u64> = records
        .iter()
        .filter(|r| r.0 == 0x1C)
        .map(|r| r.1)
        .collect();
    let at = segments[2];
    bytes[at as usize] = 0x77;
    let path = tmp.file("tag.hprof", &bytes);
    let j = assert_partial(&path, at, &["0x77"]);
    assert!(instances(&j, "com.Foo") < 10);
    assert_eq!(j["dump"]["truncated"], true);
}

#[test]
fn bad_basic_type_in_a_class_dump_is_reported_with_offset() {
    let tmp = TempDir::new("basic-type");
    for ids in [4u8, 8] {
        let (mut w, _, object, foo) = foo_dump_ids(ids, 5);
        let bad_index = w.sub_record_count();
        w.class("com.Bad")
            .extends(object)
            .field("x", Ty::Int)
            .define();
        w.instances(foo, 3);
        for grouping in [
            Grouping::Single,
            Grouping::SplitBefore(vec![bad_index, bad_index + 1]),
        ] {
            let Written {
                mut bytes,
                sub_offsets,
                ..
            } = w.write(&grouping);
            // tag, id, stack serial, 6 ids, instance size, 3 counts, the field's name id: its type.
            let at = sub_offsets[bad_index]
                + 1
                + ids as u64
                + 4
                + 6 * ids as u64
                + 4
                + 2
                + 2
                + 2
                + ids as u64;
            assert_eq!(bytes[at as usize], 10);
            bytes[at as usize] = 3;
            let path = tmp.file(&format!("basic-type-{ids}.hprof"), &bytes);
            let j = assert_partial(&path, at, &["0x03", "basic type"]);
            let want = if grouping == Grouping::Single { 5 } else { 8 };
            assert_eq!(instances(&j, "com.Foo"), want, "{grouping:?}");
        }
    }
}

#[test]
fn truncated_gzip_is_analysed_as_far_as_it_goes() {
    let tmp = TempDir::new("gz");
    let (w, _) = foo_dump(8, 2000);
    let bytes = w.finish(&Grouping::Segments { max_body: 4096 });
    for (name, gz) in [
        ("hotspot.hprof.gz", hotspot_gzip(&bytes, 8192)),
        ("plain.hprof.gz", plain_gzip(&bytes)),
    ] {
        let cut = &gz[..gz.len() / 2];
        let path = tmp.file(name, cut);
        let run = histogram(&path);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(&path.display().to_string()),
            "{name}: {}",
            run.stderr
        );
        let j = run.json();
        assert_eq!(j["dump"]["truncated"], true, "{name}");
        let warnings = j["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(|w| w["message"]
                .as_str()
                .unwrap()
                .contains("gzip stream is truncated")),
            "{name}: {warnings:#?}"
        );
        if name.starts_with("hotspot") {
            assert!(
                warnings.iter().any(|w| w["message"]
                    .as_str()
                    .unwrap()
                    .contains("at compressed byte")),
                "{name}: {warnings:#?}"
            );
        }
        let n = instances(&j, "com.Foo");
        assert!(n > 0 && n < 2000, "{name}: {n}");
    }
}

#[test]
fn gzip_of_something_else_is_an_error() {
    let tmp = TempDir::new("gz-text");
    let path = tmp.file(
        "text.hprof.gz",
        &plain_gzip(b"hello, this is not a heap dump at all\n"),
    );
    assert_error(&path, &["not an HPROF heap dump"]);
    let path = tmp.file(
        "garbage.hprof.gz",
        b"\x1f\x8b\x08\x00garbage that does not inflate",
    );
    assert_error(&path, &["gzip"]);
}

#[test]
fn directory_and_missing_file_are_errors() {
    let tmp = TempDir::new("dir");
    let dir = tmp.path().join("a-directory.hprof");
    std::fs::create_dir(&dir).unwrap();
    assert_error(&dir, &["directory"]);
    assert_error(&tmp.path().join("missing.hprof"), &["cannot open"]);
}

/// Inputs the fuzzer once crashed on (`fuzz/artifacts`, kept in `tests/data/fuzz`): each must give
/// an error or a result, never a panic.
#[test]
fn former_fuzzer_crashes_do_not_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let run = histogram(&path);
        assert!(
            run.code == 0 || run.code == 2,
            "{}: exit {}\n{}",
            path.display(),
            run.code,
            run.stderr
        );
        n += 1;
    }
    assert!(n > 0);
}
