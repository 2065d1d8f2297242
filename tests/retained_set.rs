//! `oomsleuth retained`: the retained set with chosen references not followed (MAT's
//! customized_retained_set), on a hand-built dump whose answer is known by construction and on
//! Eclipse MAT's own test dump with the number its QueriesTest asserts.

use crate::support::hprof_writer::{Grouping, HprofWriter, Root, TempDir, Ty, Value};
use crate::support::jdk_classes::JdkClasses;
use crate::synthetic::oomsleuth;
use serde_json::Value as Json;
use std::path::Path;

fn hex(id: u64) -> String {
    format!("0x{id:x}")
}

fn retained(dump: &Path, of: &[u64], excluded: &[&str]) -> Json {
    let mut args: Vec<String> = vec!["retained".into(), "--json".into(), "--no-cache".into()];
    args.push(dump.display().to_string());
    args.extend(of.iter().map(|&o| hex(o)));
    for x in excluded {
        args.push("-x".into());
        args.push(x.to_string());
    }
    let run = oomsleuth(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["schema"], "oomsleuth.retained/1");
    j
}

fn classes(j: &Json) -> Vec<(String, u64)> {
    j["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["class"].as_str().unwrap().to_string(),
                c["objects"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A session holds a buffer that a soft cache entry (a SoftReference subclass, rooted) also names.
/// Its retained set: the session alone while soft references count; session, buffer and the
/// buffer's bytes when they do not (`-x java.lang.ref.SoftReference:referent`, subclasses included,
/// or the one cache entry by id).
#[test]
fn excluded_references_do_not_keep_objects_out_of_a_retained_set() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let entry = w
        .class("com.example.CacheEntry")
        .extends(j.soft_reference)
        .field("key", Ty::Object)
        .define();
    let session = w
        .class("com.example.Session")
        .extends(j.object)
        .field("buffer", Ty::Object)
        .define();
    let buffer = w
        .class("com.example.Buffer")
        .extends(j.object)
        .field("bytes", Ty::Object)
        .define();
    let bytes = w.primitive_array(Ty::Byte, 1000);
    let buf = w.instance_with(buffer, &[Value::Object(bytes)]);
    let s = w.instance_with(session, &[Value::Object(buf)]);
    // CacheEntry fields in dump order: its own (key), then SoftReference's, then Reference's.
    let e = w.instance_with(
        entry,
        &[
            Value::Object(0),
            Value::Long(0),
            Value::Object(buf),
            Value::Object(0),
        ],
    );
    for obj in [s, e] {
        w.root(Root::JniGlobal { obj, jni_ref: obj });
    }
    // The classes are the system's, as HotSpot's dump writer roots them.
    for obj in [entry, session, buffer] {
        w.root(Root::StickyClass { obj });
    }
    let dir = TempDir::new("retained");
    let path = dir.file(
        "r.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 20 }),
    );

    let alone = retained(&path, &[s], &[]);
    assert_eq!(classes(&alone), vec![("com.example.Session".into(), 1)]);
    let all = vec![
        ("byte[]".to_string(), 1),
        ("com.example.Buffer".into(), 1),
        ("com.example.Session".into(), 1),
    ];
    for x in [
        "java.lang.ref.SoftReference:referent",
        &format!("{}:referent", hex(e)),
    ] {
        let j = retained(&path, &[s], &[x]);
        let mut got = classes(&j);
        got.sort();
        assert_eq!(got, all, "-x {x}");
        assert_eq!(j["objects"], 3);
    }
    // Another field of the entry is not excluded: the referent still counts.
    let j = retained(&path, &[s], &["java.lang.ref.SoftReference:key"]);
    assert_eq!(j["objects"], 1);
    // A class the dump does not have is said so.
    let j = retained(&path, &[s], &["com.example.Missing:f"]);
    assert_eq!(j["unmatched"][0], "com.example.Missing");
}

/// MAT's QueriesTest.testCustomRetainedSet: on sun_jdk6_18_x32, `customized_retained_set -x
/// java.lang.ref.WeakReference:referent java.lang.ref.SoftReference:referent 0x2ca48ee8` is a
/// histogram of 17 classes.
#[test]
fn mat_customized_retained_set_of_java_lang_system() {
    let Some(path) = crate::support::shared_dir("peer-dumps/sun_jdk6_18_x32.hprof") else {
        eprintln!("skipped: ../shared/peer-dumps/sun_jdk6_18_x32.hprof is absent (Eclipse MAT's test dumps)");
        return;
    };
    let j = retained(
        &path,
        &[0x2ca48ee8],
        &[
            "java.lang.ref.WeakReference:referent",
            "java.lang.ref.SoftReference:referent",
        ],
    );
    assert_eq!(j["classes"].as_array().unwrap().len(), 17, "{j:#}");
    assert!(j["unmatched"].as_array().unwrap().is_empty());
}
