//! Dumps written by `support::hprof_writer`, read back through the library and the binary: the
//! histogram must count exactly what was written, by every code path (plain file, HotSpot and
//! plain gzip, 4- and 8-byte ids, one record or many segments, one thread or many).

use crate::support::hprof_writer::{
    hotspot_gzip, plain_gzip, put_record_header, Grouping, HprofWriter, Root, TempDir, Ty, Value,
    Written,
};
use oomsleuth::analyses::heap::histogram::{histogram, Histogram, Options};
use oomsleuth::formats::hprof::reader::{parse_header, Records};
use oomsleuth::formats::hprof::{DumpBytes, SubRecord, SubRecords};
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

// ---- running things --------------------------------------------------------------------------

/// What one run of the binary did.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as JSON (panics with the run's output when it is not).
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs the oomsleuth binary.
pub(crate) fn oomsleuth<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run oomsleuth");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "oomsleuth panicked:\n{}",
        run.stderr
    );
    run
}

/// `oomsleuth [extra..] histogram --json <path>`, which must succeed.
pub(crate) fn histogram_json(path: &Path, extra: &[&str]) -> Json {
    let mut args: Vec<&OsStr> = extra.iter().map(OsStr::new).collect();
    args.extend([
        OsStr::new("histogram"),
        OsStr::new("--json"),
        path.as_os_str(),
    ]);
    let run = oomsleuth(&args);
    assert_eq!(run.code, 0, "oomsleuth {args:?} failed:\n{}", run.stderr);
    run.json()
}

/// The histogram of an in-memory dump, through the library.
fn analyse(bytes: &[u8]) -> Histogram {
    let dump = DumpBytes::from_bytes(Path::new("memory.hprof"), bytes, None).unwrap();
    analyse_dump(&dump)
}

fn analyse_dump(dump: &DumpBytes) -> Histogram {
    let snap = Snapshot::load(dump, Default::default(), &NoProgress).unwrap();
    histogram(&snap, &Options::default())
}

/// Instances per class name.
fn counts(h: &Histogram) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in &h.classes {
        assert!(
            m.insert(r.name.clone(), r.instances).is_none(),
            "two rows named {}",
            r.name
        );
    }
    m
}

/// Instances per class name from the binary's JSON.
fn json_counts(j: &Json) -> BTreeMap<String, u64> {
    j["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["instances"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The parts of a histogram JSON document that must not depend on how the dump was read.
fn json_result(j: &Json) -> Json {
    let mut dump = j["dump"].clone();
    // Where the records lie differs by grouping and compression, not what they hold.
    for volatile in [
        "path",
        "compressed_bytes",
        "heap_records",
        "bytes",
        "heap_dumps",
    ] {
        dump.as_object_mut().unwrap().remove(volatile);
    }
    serde_json::json!({ "classes": j["classes"], "total": j["total"], "dump": dump, "warnings": j["warnings"] })
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

// ---- one representative dump -------------------------------------------------------------------

/// A small heap with a bit of everything HotSpot writes: classes with statics and constants,
/// a class hierarchy, instances, object and primitive arrays, roots, stack traces.
fn sample(version: u8, id_size: u8) -> (HprofWriter, BTreeMap<String, u64>) {
    let mut w = HprofWriter::new(version, id_size);
    let frame = w.stack_frame("main", "([Ljava/lang/String;)V", "Main.java", 1, 42);
    let trace = w.stack_trace(1, &[frame]);
    let object = w.class("java.lang.Object").define();
    let foo = w
        .class("com.Foo")
        .extends(object)
        .field("a", Ty::Int)
        .field("b", Ty::Long)
        .field("c", Ty::Object)
        .define();
    let bar = w
        .class("com.Bar")
        .extends(foo)
        .field("d", Ty::Short)
        .static_field("COUNT", Value::Int(7))
        .static_field("INSTANCE", Value::Object(0))
        .constant(3, Value::Long(99))
        .define();
    let foo_array = w.array_class("[Lcom/Foo;", object);
    let int_array = w.array_class("[I", object);
    let _ = int_array;
    let foos = w.instances(foo, 10);
    let bars = w.instances(bar, 3);
    w.instances(object, 2);
    w.object_array(foo_array, &foos);
    w.object_array(foo_array, &[]);
    for (i, ty) in Ty::PRIMITIVES.into_iter().enumerate() {
        for len in 0..=i as u32 {
            w.primitive_array(ty, len * 3);
        }
    }
    for r in Root::every_kind(foos[0])
        .into_iter()
        .filter(|r| !r.is_android())
    {
        w.root(r);
    }
    w.root(Root::ThreadObject {
        obj: bars[0],
        thread: 1,
        stack_trace: trace,
    });
    let mut want = expect(&[
        ("java.lang.Object", 2),
        ("com.Foo", 10),
        ("com.Bar", 3),
        ("com.Foo[]", 2),
    ]);
    for (i, ty) in Ty::PRIMITIVES.into_iter().enumerate() {
        want.insert(format!("{}[]", ty.java_name()), i as u64 + 1);
    }
    (w, want)
}

#[test]
fn counts_per_class_are_exact() {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let foo = w
        .class("com.Foo")
        .extends(object)
        .fields(&[("a", Ty::Int), ("b", Ty::Long), ("c", Ty::Object)])
        .define();
    w.instances(foo, 10);
    let h = analyse(&w.finish(&Grouping::Single));
    assert_eq!(counts(&h), expect(&[("com.Foo", 10)]));
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);

    let (w, want) = sample(2, 8);
    let h = analyse(&w.finish(&Grouping::Segments { max_body: 256 }));
    assert_eq!(counts(&h), want);
    assert_eq!(h.dump.objects, want.values().sum::<u64>());
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
}

#[test]
fn every_hotspot_root_kind_is_counted() {
    let (w, _) = sample(2, 8);
    let h = analyse(&w.finish(&Grouping::Single));
    let mut want: BTreeMap<&str, u64> = Root::every_kind(1)
        .iter()
        .filter(|r| !r.is_android())
        .map(|r| (r.json_name(), 1))
        .collect();
    *want.get_mut("thread").unwrap() += 1;
    assert_eq!(h.dump.gc_roots, want);
}

#[test]
fn every_version_and_id_size_reads_the_same_counts() {
    let mut seen = vec![];
    for version in [1, 2, 3] {
        for ids in [4, 8] {
            let (w, want) = sample(version, ids);
            let h = analyse(&w.finish(&Grouping::Single));
            assert_eq!(h.dump.format, format!("JAVA PROFILE 1.0.{version}"));
            assert_eq!(h.dump.identifier_size, ids);
            assert_eq!(counts(&h), want, "1.0.{version}, {ids}-byte ids");
            seen.push(counts(&h));
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

/// The same dump read by every path of the binary must give identical results.
#[test]
fn every_input_path_gives_the_same_histogram() {
    let tmp = TempDir::new("paths");
    for ids in [4u8, 8] {
        let (w, want) = sample(2, ids);
        let single = w.finish(&Grouping::Single);
        let segments = w.finish(&Grouping::Segments { max_body: 200 });
        let n_segments = w
            .write(&Grouping::Segments { max_body: 200 })
            .records
            .iter()
            .filter(|r| r.0 == 0x1C)
            .count();
        assert!(n_segments > 5, "{n_segments} segments");
        let files = [
            ("single.hprof", single.clone()),
            ("segments.hprof", segments.clone()),
            ("single-hotspot.hprof.gz", hotspot_gzip(&single, 512)),
            ("segments-hotspot.hprof.gz", hotspot_gzip(&segments, 1024)),
            ("one-member.hprof.gz", hotspot_gzip(&segments, 1 << 20)),
            ("single-plain.hprof.gz", plain_gzip(&single)),
            ("segments-plain.hprof.gz", plain_gzip(&segments)),
        ];
        let reference = json_result(&histogram_json(
            &tmp.file("reference.hprof", &single),
            &["-j", "1"],
        ));
        assert_eq!(json_counts(&reference), want);
        for (name, bytes) in &files {
            let path = tmp.file(&format!("{ids}-{name}"), bytes);
            for threads in [&["-j", "1"][..], &[][..], &["-j", "2"][..]] {
                let got = json_result(&histogram_json(&path, threads));
                assert_eq!(
                    got, reference,
                    "{name}, {ids}-byte ids, threads {threads:?}"
                );
            }
            // And through the library, from the file and from memory.
            let from_file = analyse_dump(&DumpBytes::open(&path, Some(tmp.path())).unwrap());
            assert_eq!(counts(&from_file), want, "{name}");
            assert_eq!(counts(&analyse(bytes)), want, "{name} from memory");
        }
        let gz = histogram_json(&tmp.file("x.hprof.gz", &hotspot_gzip(&segments, 512)), &[]);
        assert_eq!(
            gz["dump"]["compressed_bytes"].as_u64(),
            Some(hotspot_gzip(&segments, 512).len() as u64)
        );
        assert_eq!(gz["dump"]["bytes"].as_u64(), Some(segments.len() as u64));
    }
}

#[test]
fn four_and_eight_byte_ids_count_the_same() {
    let (w4, _) = sample(2, 4);
    let (w8, want) = sample(2, 8);
    let c4 = counts(&analyse(&w4.finish(&Grouping::Single)));
    let c8 = counts(&analyse(&w8.finish(&Grouping::Segments { max_body: 100 })));
    assert_eq!(c4, want);
    assert_eq!(c8, want);
}

/// Empty segments, one sub-record per segment, and a segment per class: all the same.
#[test]
fn segment_boundaries_do_not_matter() {
    let (w, want) = sample(2, 8);
    let n = w.sub_record_count();
    let groupings = [
        Grouping::SplitBefore((0..n).collect()),
        Grouping::SplitBefore(vec![0, 0, 1, 1, n, n]),
        Grouping::SplitBefore(vec![n / 2]),
        Grouping::Segments { max_body: 1 },
        Grouping::Segments { max_body: 1 << 20 },
    ];
    for g in groupings {
        let h = analyse(&w.finish(&g));
        assert_eq!(counts(&h), want, "{g:?}");
        assert!(h.warnings.is_empty(), "{g:?}: {:?}", h.warnings);
    }
}

// ---- statics, constants and field values -------------------------------------------------------

#[test]
fn class_dump_statics_constants_and_fields_of_every_type_read_back() {
    for ids in [4u8, 8] {
        let mut w = HprofWriter::hotspot(ids);
        let object = w.class("java.lang.Object").define();
        let values = [
            Value::Object(0x1234),
            Value::Boolean(true),
            Value::Char(0x263A),
            Value::Float(1.5),
            Value::Double(-2.25),
            Value::Byte(-7),
            Value::Short(-300),
            Value::Int(123_456_789),
            Value::Long(-9_876_543_210),
        ];
        let mut b = w.class("com.AllTypes").extends(object);
        for (i, v) in values.iter().enumerate() {
            b = b
                .static_field(&format!("s{i}"), *v)
                .constant(i as u16 * 2, *v)
                .field(&format!("f{i}"), v.ty());
        }
        let all = b.define();
        let bytes = w.finish(&Grouping::Single);
        let header = parse_header(&bytes).unwrap();
        let mut records = Records::new(&bytes, &header);
        let mut found = None;
        while let Some(r) = records.next_record().unwrap() {
            if r.tag.is_heap_dump() {
                let mut subs = SubRecords::of_record(&bytes, &r, ids);
                while let Some(s) = subs.next_sub_record().unwrap() {
                    if let SubRecord::Class(c) = s {
                        if c.id == all {
                            found = Some(c);
                        }
                    }
                }
            }
        }
        let c = found.expect("the class dump");
        assert_eq!(c.super_id, object);
        assert_eq!(c.constant_pool_count, 9);
        let statics: Vec<_> = c.statics().collect();
        assert_eq!(statics.len(), 9);
        for (s, v) in statics.iter().zip(values) {
            assert_eq!(s.ty.to_u8(), v.ty().code());
            let mut want = vec![];
            match v {
                Value::Object(id) if ids == 4 => want.extend((id as u32).to_be_bytes()),
                Value::Object(id) => want.extend(id.to_be_bytes()),
                Value::Boolean(b) => want.push(b as u8),
                Value::Char(c) => want.extend(c.to_be_bytes()),
                Value::Float(f) => want.extend(f.to_bits().to_be_bytes()),
                Value::Double(d) => want.extend(d.to_bits().to_be_bytes()),
                Value::Byte(b) => want.push(b as u8),
                Value::Short(s) => want.extend(s.to_be_bytes()),
                Value::Int(i) => want.extend(i.to_be_bytes()),
                Value::Long(l) => want.extend(l.to_be_bytes()),
            }
            assert_eq!(s.value, &want[..], "{v:?}");
        }
        assert_eq!(statics[0].object_id(ids), Some(0x1234));
        let fields: Vec<_> = c.fields().map(|f| f.ty.to_u8()).collect();
        assert_eq!(
            fields,
            values.iter().map(|v| v.ty().code()).collect::<Vec<_>>()
        );
    }
}

/// Instance field data is the class's own fields first, then the superclass's: a field of the
/// superclass is found after the subclass's fields, and a String read through it decodes.
#[test]
fn instance_fields_follow_the_class_chain() {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let string = w
        .class("java.lang.String")
        .extends(object)
        .fields(&[
            ("value", Ty::Object),
            ("hash", Ty::Int),
            ("coder", Ty::Byte),
        ])
        .define();
    let base = w
        .class("com.Base")
        .extends(object)
        .fields(&[("x", Ty::Int), ("name", Ty::Object)])
        .define();
    let sub = w
        .class("com.Sub")
        .extends(base)
        .fields(&[("y", Ty::Long), ("flag", Ty::Boolean)])
        .define();
    let text: Vec<Value> = b"17.0.99".iter().map(|&b| Value::Byte(b as i8)).collect();
    let chars = w.primitive_array_of(Ty::Byte, &text);
    let version = w.instance_with(
        string,
        &[Value::Object(chars), Value::Int(0), Value::Byte(0)],
    );
    w.class("java.lang.VersionProps")
        .extends(object)
        .static_field("java_version", Value::Object(version))
        .define();
    // Sub's data: y, flag (its own), then x, name (Base's).
    let obj = w.instance_with(
        sub,
        &[
            Value::Long(-1),
            Value::Boolean(true),
            Value::Int(5),
            Value::Object(version),
        ],
    );
    let dump = DumpBytes::from_bytes(Path::new("chain.hprof"), &w.finish(&Grouping::Single), None)
        .unwrap();
    let snap = Snapshot::load(&dump, Default::default(), &NoProgress).unwrap();
    assert_eq!(snap.vm.jdk_version.as_deref(), Some("17.0.99"));
    assert_eq!(snap.vm.jdk_feature, 17);
    let Some(SubRecord::Instance(inst)) = snap.census.find_object(&snap.dir, obj) else {
        panic!("instance not found")
    };
    let class = snap.classes.index_of(sub).unwrap();
    let (_, x) = snap
        .classes
        .instance_field(&snap.dir, class, inst.fields, "x")
        .unwrap();
    assert_eq!(x, 5i32.to_be_bytes());
    let (_, name) = snap
        .classes
        .instance_field(&snap.dir, class, inst.fields, "name")
        .unwrap();
    assert_eq!(name, version.to_be_bytes());
    let (_, y) = snap
        .classes
        .instance_field(&snap.dir, class, inst.fields, "y")
        .unwrap();
    assert_eq!(y, (-1i64).to_be_bytes());
}

// ---- Android ------------------------------------------------------------------------------------

#[test]
fn android_dumps_with_their_extra_sub_records_read_directly() {
    let mut w = HprofWriter::android();
    w.heap_dump_info(0x49, "image");
    let object = w.class("java.lang.Object").define();
    let string = w
        .class("java.lang.String")
        .extends(object)
        .fields(&[("count", Ty::Int), ("hash", Ty::Int)])
        .define();
    let string_array = w.array_class("java.lang.String[]", object);
    let int_array = w.array_class("int[]", object);
    let _ = int_array;
    let strings = w.instances(string, 5);
    w.object_array(string_array, &strings);
    w.heap_dump_info(0x5A, "zygote");
    w.primitive_array(Ty::Int, 4);
    w.primitive_array_nodata(Ty::Int, 1000);
    w.primitive_array_nodata(Ty::Byte, 10);
    w.heap_dump_info(0x41, "app");
    let activity = w
        .class("com.example.MainActivity")
        .extends(object)
        .field("view", Ty::Object)
        .define();
    w.instances(activity, 2);
    for r in Root::every_kind(strings[0]) {
        w.root(r);
    }
    let want = expect(&[
        ("java.lang.String", 5),
        ("java.lang.String[]", 1),
        ("int[]", 2),
        ("byte[]", 1),
        ("com.example.MainActivity", 2),
    ]);
    for g in [Grouping::Segments { max_body: 64 }, Grouping::Single] {
        let h = analyse(&w.finish(&g));
        assert_eq!(counts(&h), want, "{g:?}");
        assert_eq!(h.dump.format, "JAVA PROFILE 1.0.3");
        let roots: BTreeMap<&str, u64> = Root::every_kind(1)
            .iter()
            .map(|r| (r.json_name(), 1))
            .collect();
        assert_eq!(h.dump.gc_roots, roots);
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    }
}

// ---- sizes of a 32-bit JVM ------------------------------------------------------------------

/// 4-byte ids mean a 32-bit JVM: 8-byte headers, 4-byte references, arrays' elements at 12
/// (16 for long and double), everything aligned to 8. Sizes computed by hand.
#[test]
fn four_byte_ids_give_hand_computed_32_bit_sizes() {
    let mut w = HprofWriter::hotspot(4);
    let object = w.class("java.lang.Object").define();
    // 8 + long 8 + int 4 + ref 4 = 24.
    let foo = w
        .class("com.Foo")
        .extends(object)
        .fields(&[("a", Ty::Int), ("b", Ty::Long), ("c", Ty::Object)])
        .define();
    // Foo's 24, then int d: 28 -> 32.
    let sub = w.class("com.Sub").extends(foo).field("d", Ty::Int).define();
    // 8 + 1 = 9 -> 16.
    let bar = w
        .class("com.Bar")
        .extends(object)
        .field("x", Ty::Byte)
        .define();
    // 8 + 8 + 4 + 2 + 1 = 23 -> 24.
    let gap = w
        .class("com.Gap")
        .extends(object)
        .fields(&[
            ("b", Ty::Byte),
            ("s", Ty::Short),
            ("l", Ty::Long),
            ("i", Ty::Int),
        ])
        .define();
    // 8 + 3 * 4 = 20 -> 24.
    let refs = w
        .class("com.Refs")
        .extends(object)
        .fields(&[("a", Ty::Object), ("b", Ty::Object), ("c", Ty::Object)])
        .define();
    // No fields: 8.
    let empty = w.class("com.Empty").extends(object).define();
    let obj_array = w.array_class("[Ljava/lang/Object;", object);
    w.instances(object, 3);
    w.instances(foo, 10);
    w.instances(sub, 4);
    w.instances(bar, 2);
    w.instances(gap, 1);
    w.instances(refs, 5);
    w.instances(empty, 6);
    // (type, length, size): base 12 (16 for long/double), + elements, aligned to 8.
    let arrays = [
        (Ty::Byte, 10, 24),
        (Ty::Byte, 0, 16),
        (Ty::Boolean, 4, 16),
        (Ty::Char, 5, 24),
        (Ty::Short, 2, 16),
        (Ty::Int, 3, 24),
        (Ty::Float, 1, 16),
        (Ty::Long, 3, 40),
        (Ty::Long, 0, 16),
        (Ty::Double, 1, 24),
    ];
    let mut want: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (ty, len, size) in arrays {
        w.primitive_array(ty, len);
        let e = want.entry(format!("{}[]", ty.java_name())).or_default();
        e.0 += 1;
        e.1 += size;
    }
    w.object_array(obj_array, &[0; 5]); // 12 + 20 = 32
    w.object_array(obj_array, &[]); // 12 -> 16
    w.object_array(obj_array, &[0; 1]); // 16
    want.insert("java.lang.Object[]".into(), (3, 32 + 16 + 16));
    for (name, n, size) in [
        ("java.lang.Object", 3, 8),
        ("com.Foo", 10, 24),
        ("com.Sub", 4, 32),
        ("com.Bar", 2, 16),
        ("com.Gap", 1, 24),
        ("com.Refs", 5, 24),
        ("com.Empty", 6, 8),
    ] {
        want.insert(name.into(), (n, n * size));
    }
    for g in [Grouping::Single, Grouping::Segments { max_body: 100 }] {
        let h = analyse(&w.finish(&g));
        assert_eq!(h.assumptions.object_header_bytes, 8);
        assert_eq!(h.assumptions.reference_bytes, 4);
        assert_eq!(h.assumptions.object_alignment, 8);
        let got: BTreeMap<String, (u64, u64)> = h
            .classes
            .iter()
            .map(|r| (r.name.clone(), (r.instances, r.shallow_bytes)))
            .collect();
        assert_eq!(got, want);
    }
}

// ---- HEAP DUMP records longer than their u4 length (> 4 GiB) --------------------------------

/// Writes a single-record dump whose body is 4 GiB longer than its length field says, the way
/// old JVMs wrote heaps over 4 GiB. The bulk is one `byte[]` of `2^32 - short_by` elements whose
/// data is a hole in a sparse file, so the test costs a few KiB of disk. Returns the path and
/// the counts expected.
fn wrapped_dump(
    tmp: &TempDir,
    name: &str,
    shape: WrapShape,
) -> (std::path::PathBuf, BTreeMap<String, u64>) {
    use std::io::{Seek, SeekFrom, Write};
    let mut w = HprofWriter::new(1, 8);
    let object = w.class("java.lang.Object").define();
    let foo = w
        .class("com.Foo")
        .extends(object)
        .fields(&[("a", Ty::Int), ("b", Ty::Object)])
        .define();
    let bar = w
        .class("com.Bar")
        .extends(object)
        .field("c", Ty::Long)
        .define();
    w.instances(foo, 4);
    let prefix = w.heap_body();
    let n_prefix = w.sub_record_count();
    let array_id = w.alloc_id();
    w.instances(bar, 7);
    w.root(Root::StickyClass { obj: foo });
    let suffix: Vec<u8> = w.sub_records()[n_prefix..].concat();
    let header = w.primitive_array_header(array_id, Ty::Byte, 0);
    // The array's data: 2^32 - short_by bytes.
    let short_by = match shape {
        // The declared end falls inside the array's data.
        WrapShape::InsideASubRecord => 1,
        // The declared end falls exactly after the prefix, on a sub-record boundary.
        WrapShape::OnABoundary => (header.len() + suffix.len()) as u64,
    };
    let data_len = (1u64 << 32) - short_by;
    let header = w.primitive_array_header(array_id, Ty::Byte, data_len as u32);
    let real_len = prefix.len() as u64 + header.len() as u64 + data_len + suffix.len() as u64;
    assert!(real_len > 1 << 32);
    let declared = (real_len - (1 << 32)) as u32;
    if shape == WrapShape::OnABoundary {
        assert_eq!(declared as usize, prefix.len());
    }
    let path = tmp.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let mut head = w.header_and_records();
    put_record_header(&mut head, 0x0C, declared);
    head.extend_from_slice(&prefix);
    head.extend_from_slice(&header);
    f.write_all(&head).unwrap();
    f.seek(SeekFrom::Current(data_len as i64)).unwrap();
    f.write_all(&suffix).unwrap();
    drop(f);
    (
        path,
        expect(&[("com.Foo", 4), ("com.Bar", 7), ("byte[]", 1)]),
    )
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WrapShape {
    InsideASubRecord,
    OnABoundary,
}

#[test]
fn heap_dump_record_longer_than_its_length_field_is_read_to_its_real_end() {
    let tmp = TempDir::new("wrap");
    for shape in [WrapShape::InsideASubRecord, WrapShape::OnABoundary] {
        let (path, want) = wrapped_dump(&tmp, &format!("{shape:?}.hprof"), shape);
        let dump = DumpBytes::open(&path, None).unwrap();
        let h = analyse_dump(&dump);
        assert_eq!(counts(&h), want, "{shape:?}: {:?}", h.warnings);
        assert_eq!(h.dump.gc_roots.get("system-class"), Some(&1), "{shape:?}");
        assert_eq!(h.warnings.len(), 1, "{shape:?}: {:?}", h.warnings);
        assert!(
            h.warnings[0].message.contains("length field is too small"),
            "{shape:?}: {:?}",
            h.warnings
        );
        assert!(!h.dump.truncated, "{shape:?}");
        let j = histogram_json(&path, &[]);
        assert_eq!(json_counts(&j), want, "{shape:?} (binary)");
        std::fs::remove_file(&path).unwrap();
    }
}

// ---- random dumps -----------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ClassSpec {
    /// Index of an earlier class to extend, else java.lang.Object.
    super_pick: Option<prop::sample::Index>,
    fields: Vec<Ty>,
    statics: Vec<Ty>,
    instances: usize,
    /// No LOAD CLASS record: the histogram names it `<unnamed class 0x..>`.
    unnamed: bool,
    /// Object arrays of this class (`Foo[]`), by length.
    arrays: Vec<u8>,
}

#[derive(Clone, Debug)]
struct DumpSpec {
    version: u8,
    id_size: u8,
    classes: Vec<ClassSpec>,
    object_instances: usize,
    primitive_arrays: Vec<(Ty, u16, bool)>,
    /// Define a `[I`-style class for these primitive array types.
    primitive_array_classes: Vec<Ty>,
    roots: Vec<(prop::sample::Index, prop::sample::Index)>,
    unknown_class_instances: usize,
    heap_infos: usize,
    grouping: GroupingSpec,
    shuffle: Vec<prop::sample::Index>,
}

#[derive(Clone, Debug)]
enum GroupingSpec {
    Single,
    Segments(usize),
    Split(Vec<prop::sample::Index>),
}

fn ty() -> impl Strategy<Value = Ty> {
    prop::sample::select(Ty::ALL.to_vec())
}

fn prim_ty() -> impl Strategy<Value = Ty> {
    prop::sample::select(Ty::PRIMITIVES.to_vec())
}

fn class_spec() -> impl Strategy<Value = ClassSpec> {
    (
        prop::option::of(any::<prop::sample::Index>()),
        prop::collection::vec(ty(), 0..6),
        prop::collection::vec(ty(), 0..4),
        0usize..12,
        prop::bool::weighted(0.1),
        prop::collection::vec(any::<u8>(), 0..3),
    )
        .prop_map(
            |(super_pick, fields, statics, instances, unnamed, arrays)| ClassSpec {
                super_pick,
                fields,
                statics,
                instances,
                unnamed,
                arrays,
            },
        )
}

fn dump_spec() -> impl Strategy<Value = DumpSpec> {
    (
        (
            prop::sample::select(vec![1u8, 2, 3]),
            prop::sample::select(vec![4u8, 8]),
        ),
        prop::collection::vec(class_spec(), 0..8),
        0usize..5,
        prop::collection::vec((prim_ty(), 0u16..40, any::<bool>()), 0..12),
        prop::collection::vec(prim_ty(), 0..4),
        prop::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
            0..10,
        ),
        (0usize..3, 0usize..3),
        prop_oneof![
            Just(GroupingSpec::Single),
            (1usize..400).prop_map(GroupingSpec::Segments),
            prop::collection::vec(any::<prop::sample::Index>(), 0..6).prop_map(GroupingSpec::Split),
        ],
        prop::collection::vec(any::<prop::sample::Index>(), 0..200),
    )
        .prop_map(
            |(
                (version, id_size),
                classes,
                object_instances,
                primitive_arrays,
                primitive_array_classes,
                roots,
                (unknown_class_instances, heap_infos),
                grouping,
                shuffle,
            )| DumpSpec {
                version,
                id_size,
                classes,
                object_instances,
                primitive_arrays,
                primitive_array_classes,
                roots,
                unknown_class_instances,
                heap_infos,
                grouping,
                shuffle,
            },
        )
}

/// A dump written from a spec, with what it holds.
struct Built {
    written: Written,
    /// Instances per class name.
    want: BTreeMap<String, u64>,
    /// Roots per kind.
    roots: BTreeMap<&'static str, u64>,
    /// Shallow bytes of the array classes on a 32-bit JVM (checked for 4-byte ids).
    array_bytes: BTreeMap<String, u64>,
}

/// Writes the dump a spec describes.
fn build(spec: &DumpSpec) -> Built {
    let mut w = HprofWriter::new(spec.version, spec.id_size);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    let mut array_bytes: BTreeMap<String, u64> = BTreeMap::new();
    let align = |v: u64| v.div_ceil(8) * 8;
    let hotspot = spec.version != 3;
    let object = w.class("java.lang.Object").define();
    if spec.object_instances > 0 {
        want.insert("java.lang.Object".into(), spec.object_instances as u64);
    }
    w.instances(object, spec.object_instances);
    let mut ids = vec![object];
    let mut objects = vec![];
    for (i, c) in spec.classes.iter().enumerate() {
        let sup = match &c.super_pick {
            Some(ix) if i > 0 => ids[1 + ix.index(i)],
            _ => object,
        };
        let name = format!("p.C{i}");
        let mut b = w.class(&name).extends(sup);
        for (k, t) in c.fields.iter().enumerate() {
            b = b.field(&format!("f{k}"), *t);
        }
        for (k, t) in c.statics.iter().enumerate() {
            b = b.static_field(&format!("s{k}"), Value::zero(*t));
        }
        if c.unnamed {
            b = b.without_load_class();
        }
        let id = b.define();
        ids.push(id);
        let shown = if c.unnamed {
            format!("<unnamed class 0x{id:x}>")
        } else {
            name.clone()
        };
        if c.instances > 0 {
            want.insert(shown.clone(), c.instances as u64);
        }
        objects.extend(w.instances(id, c.instances));
        if !c.arrays.is_empty() {
            let array_name = if hotspot {
                format!("[Lp/C{i};")
            } else {
                format!("p.C{i}[]")
            };
            let array_class = w.array_class(&array_name, object);
            for &len in &c.arrays {
                let elems: Vec<u64> = objects
                    .iter()
                    .copied()
                    .cycle()
                    .take(if objects.is_empty() { 0 } else { len as usize })
                    .collect();
                let elems = if objects.is_empty() {
                    vec![0; len as usize]
                } else {
                    elems
                };
                w.object_array(array_class, &elems);
                *array_bytes.entry(format!("p.C{i}[]")).or_default() += align(12 + 4 * len as u64);
            }
            want.insert(format!("p.C{i}[]"), c.arrays.len() as u64);
        }
    }
    for t in &spec.primitive_array_classes {
        let name = if hotspot {
            t.array_descriptor().to_string()
        } else {
            format!("{}[]", t.java_name())
        };
        w.array_class(&name, object);
    }
    let heap_names = ["app", "image", "zygote"];
    let mut infos = 0;
    for (k, &(t, len, nodata)) in spec.primitive_arrays.iter().enumerate() {
        if spec.version == 3 && infos < spec.heap_infos && k % 3 == 0 {
            w.heap_dump_info(infos as u32, heap_names[infos]);
            infos += 1;
        }
        if nodata && spec.version == 3 {
            w.primitive_array_nodata(t, len as u32);
        } else {
            w.primitive_array(t, len as u32);
        }
        *want.entry(format!("{}[]", t.java_name())).or_default() += 1;
        let base = if matches!(t, Ty::Long | Ty::Double) {
            16
        } else {
            12
        };
        *array_bytes
            .entry(format!("{}[]", t.java_name()))
            .or_default() += align(base + len as u64 * t.size(4) as u64);
    }
    let unknown_class = 0xDEAD0;
    for _ in 0..spec.unknown_class_instances {
        w.instance(unknown_class);
    }
    if spec.unknown_class_instances > 0 {
        want.insert(
            format!("<unknown class 0x{unknown_class:x}>"),
            spec.unknown_class_instances as u64,
        );
    }
    let mut roots: BTreeMap<&'static str, u64> = BTreeMap::new();
    let kinds = Root::every_kind(0);
    for (kind, target) in &spec.roots {
        let obj = if objects.is_empty() {
            object
        } else {
            objects[target.index(objects.len())]
        };
        let kinds: Vec<Root> = if spec.version == 3 {
            Root::every_kind(obj)
        } else {
            Root::every_kind(obj)
                .into_iter()
                .filter(|r| !r.is_android())
                .collect()
        };
        let r = kinds[kind.index(kinds.len())];
        *roots.entry(r.json_name()).or_default() += 1;
        w.root(r);
    }
    let _ = kinds;
    // Shuffle the sub-records: the census must not depend on their order.
    let n = w.sub_record_count();
    let mut order: Vec<usize> = (0..n).collect();
    for (i, pick) in spec.shuffle.iter().enumerate() {
        if n > 1 {
            let a = i % n;
            let b = pick.index(n);
            order.swap(a, b);
        }
    }
    w.permute_sub_records(&order);
    let grouping = match &spec.grouping {
        GroupingSpec::Single => Grouping::Single,
        GroupingSpec::Segments(m) => Grouping::Segments { max_body: *m },
        GroupingSpec::Split(points) => {
            let mut p: Vec<usize> = points.iter().map(|x| x.index(n + 1)).collect();
            p.sort_unstable();
            Grouping::SplitBefore(p)
        }
    };
    Built {
        written: w.write(&grouping),
        want,
        roots,
        array_bytes,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("OOMSLEUTH_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200), failure_persistence: None, ..ProptestConfig::default() })]

    /// Random valid dumps: the histogram counts exactly what was written, whatever the classes,
    /// fields, arrays, roots, id size, version, sub-record order and segment boundaries.
    #[test]
    fn random_dumps_count_exactly(spec in dump_spec()) {
        let Built { written, want, roots, array_bytes } = build(&spec);
        let h = analyse(&written.bytes);
        let unknown_warning = spec.unknown_class_instances > 0;
        prop_assert_eq!(h.warnings.len(), unknown_warning as usize, "{:?}", h.warnings);
        prop_assert_eq!(counts(&h), want.clone());
        prop_assert_eq!(&h.dump.gc_roots, &roots);
        prop_assert_eq!(h.dump.objects, want.values().sum::<u64>());
        prop_assert!(!h.dump.truncated);
        if spec.id_size == 4 {
            for (name, bytes) in &array_bytes {
                let row = h.classes.iter().find(|r| &r.name == name).unwrap();
                prop_assert_eq!(row.shallow_bytes, *bytes, "{}", name);
            }
        }
    }

    /// Any prefix of a valid dump is analysed as far as it goes, and never panics.
    #[test]
    fn random_dumps_cut_anywhere_do_not_panic(spec in dump_spec(), cut in any::<prop::sample::Index>()) {
        let Built { written, want, .. } = build(&spec);
        let bytes = &written.bytes;
        let cut = cut.index(bytes.len() + 1);
        let dump = DumpBytes::from_bytes(Path::new("cut.hprof"), &bytes[..cut], None).unwrap();
        let header_len = HprofWriter::new(spec.version, spec.id_size).header().len();
        match Snapshot::load(&dump, Default::default(), &NoProgress) {
            Err(e) => prop_assert!(cut < header_len, "cut at {}: {}", cut, e),
            Ok(snap) => {
                prop_assert!(cut >= header_len);
                let h = histogram(&snap, &Options::default());
                for r in &h.classes {
                    if let Some(&n) = want.get(&r.name) {
                        prop_assert!(r.instances <= n, "{}: {} > {}", r.name, r.instances, n);
                    }
                }
                // Cut inside a record: reported as truncated, with a warning at the cut.
                let on_boundary = cut == header_len || cut == bytes.len() || written.records.iter().any(|r| r.1 == cut as u64);
                if !on_boundary {
                    prop_assert!(h.dump.truncated, "cut at {} of {}: {:?}", cut, bytes.len(), h.warnings);
                    prop_assert!(h.warnings.iter().any(|w| w.offset == cut as u64), "cut at {}: {:?}", cut, h.warnings);
                }
            }
        }
    }
}

// ---- fuzzing seeds ------------------------------------------------------------------------------

/// Writes small dumps for the fuzzers' corpora when `OOMSLEUTH_FUZZ_SEEDS` names a directory
/// (see `fuzz/seed.sh`); does nothing otherwise.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("OOMSLEUTH_FUZZ_SEEDS") else {
        return;
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut n = 0;
    let mut put = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).unwrap();
        n += 1;
    };
    for version in [1, 2, 3] {
        for ids in [4, 8] {
            let (w, _) = sample(version, ids);
            put(
                &format!("sample-{version}-{ids}-single.hprof"),
                &w.finish(&Grouping::Single),
            );
            put(
                &format!("sample-{version}-{ids}-segments.hprof"),
                &w.finish(&Grouping::Segments { max_body: 300 }),
            );
        }
    }
    let (w, _) = sample(2, 8);
    put(
        "sample-hotspot.hprof.gz",
        &hotspot_gzip(&w.finish(&Grouping::Segments { max_body: 300 }), 1024),
    );
    put(
        "sample-plain.hprof.gz",
        &plain_gzip(&w.finish(&Grouping::Single)),
    );
    let mut w = HprofWriter::android();
    w.heap_dump_info(0x41, "app");
    let object = w.class("java.lang.Object").define();
    let s = w
        .class("java.lang.String")
        .extends(object)
        .field("count", Ty::Int)
        .define();
    let ss = w.instances(s, 2);
    w.primitive_array_nodata(Ty::Char, 5);
    for r in Root::every_kind(ss[0]) {
        w.root(r);
    }
    put(
        "android.hprof",
        &w.finish(&Grouping::Segments { max_body: 100 }),
    );
    // Random ones, deterministic.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for i in 0..20 {
        let spec = dump_spec().new_tree(&mut runner).unwrap().current();
        put(&format!("random-{i}.hprof"), &build(&spec).written.bytes);
    }
    eprintln!("wrote {n} seeds to {}", dir.display());
}
