//! The one model of JDK collections (`oomsleuth::heap::jdk::collections`) against what Java and
//! Eclipse MAT say: the size Java's own `size()` returned for every kind and shape the
//! `Collections` fixture builds, on JDK 11/17/21/25; MAT's `ExtractCollectionEntriesTest` numbers
//! on its JDK 6 test dump; and hostile synthetic dumps (cycles, absurd sizes) that must neither
//! hang nor panic.

use crate::support::jvm::{capture, have, Jdk};
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::index::HeapIndex;
use oomsleuth::heap::objects::Heap;
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use std::path::PathBuf;

/// Eclipse MAT's test dumps, `../shared/peer-dumps`, if they are there.
fn peer_dumps() -> Option<PathBuf> {
    crate::support::shared_dir("peer-dumps")
}

/// Eclipse MAT's `ExtractCollectionEntriesTest` on `sun_jdk6_18_x32.hprof`: each collection's
/// entry count, read by size and by walking its entries (JDK 6 layouts: `HashMap$Entry`,
/// segmented `ConcurrentHashMap`, `WeakHashMap$Entry`, `ThreadLocalMap`).
#[test]
fn mat_extract_collection_entries_on_jdk6() {
    let Some(dir) = peer_dumps() else {
        eprintln!("skipped: ../shared/peer-dumps is absent (Eclipse MAT's test dumps)");
        return;
    };
    let path = dir.join("sun_jdk6_18_x32.hprof");
    if !path.is_file() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let bytes = DumpBytes::open(&path, None).unwrap();
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
    let index = HeapIndex::build(&snap, &|_| {});
    let heap = Heap::new(&snap, &index);
    let model = snap.collections();
    let expected: &[(&str, u64, u64)] = &[
        ("java.util.HashMap", 0x241957d0, 60),
        ("java.util.LinkedHashMap", 0x24166668, 45),
        ("java.util.HashSet", 0x241abf40, 2),
        ("java.util.LinkedHashSet", 0x2416f090, 23),
        ("java.util.Hashtable", 0x2416b168, 19),
        ("java.util.Properties", 0x24120b38, 53),
        ("java.util.WeakHashMap", 0x2416b9f0, 11),
        ("java.lang.ThreadLocal$ThreadLocalMap", 0x241a10b8, 2),
        (
            "java.util.concurrent.ConcurrentHashMap$Segment",
            0x24196fd8,
            8,
        ),
        ("java.util.concurrent.ConcurrentHashMap", 0x2419d490, 65),
        ("java.util.TreeMap", 0x24185f68, 16),
        ("java.util.TreeMap", 0x24196458, 0),
    ];
    for &(class, id, n) in expected {
        let o = heap
            .find(id)
            .unwrap_or_else(|| panic!("{class} {id:#x} is not in the dump"));
        assert_eq!(heap.class_name(o), class, "{id:#x}");
        let size = model.size(&heap, o).map(|e| e.size);
        let walked = model.for_each(&heap, o, &mut |_| true);
        assert_eq!(
            (size, walked),
            (Some(n), Some(n)),
            "{class} {id:#x}: (size, entries walked)"
        );
        // Each entry of these maps has its own entry node (HashMap$Entry, TreeMap$Entry, ...).
        let items = model.items(&heap, o, usize::MAX);
        assert!(items.iter().all(|i| i.node.is_some()), "{class} {id:#x}");
    }
    let identity = snap
        .classes
        .find("java.util.IdentityHashMap")
        .expect("IdentityHashMap");
    let (mut sized, mut walked) = (0, 0);
    for o in 0..index.len() as u32 {
        if heap.class(o) == identity {
            sized += model.size(&heap, o).map(|e| e.size).unwrap_or(0);
            walked += model.for_each(&heap, o, &mut |_| true).unwrap_or(0);
        }
    }
    assert_eq!(
        (sized, walked),
        (3, 3),
        "all IdentityHashMaps together: (size, entries walked)"
    );
}

/// An element's id as the fixture counts it (`Collections.idOf`): the `id` of its own key and
/// item classes, an `Integer`'s value, else 0.
fn id_of(heap: &Heap<'_, '_>, o: Option<u32>) -> i64 {
    let Some(o) = o else { return 0 };
    let class = heap.class_name(o);
    if class == "java.lang.Integer" {
        return heap.field_int(o, "value").unwrap_or(0);
    }
    if class.starts_with("com.example.Collections$") {
        return heap.field_int(o, "id").unwrap_or(0);
    }
    0
}

/// Every case of the `Collections` fixture: the model's size and its walk both give Java's
/// `size()`, and the walk yields the keys and values (elements) Java iterated.
fn check_fixture(jdk: Jdk) {
    if !have(jdk) {
        return;
    }
    let cap = capture("Collections", jdk, true, false, &[]);
    let bytes = DumpBytes::open(&cap.hprof, None).unwrap();
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
    let index = HeapIndex::build(&snap, &|_| {});
    let heap = Heap::new(&snap, &index);
    let model = snap.collections();
    let class = snap
        .classes
        .find("com.example.Collections")
        .expect("fixture class");
    let cases = snap
        .classes
        .static_object(&snap.dir, class, "CASES")
        .and_then(|id| heap.find(id))
        .expect("Collections.CASES");
    let ids = heap.array_elements(cases);
    let planted = cap.planted["cases"].as_array().expect("planted cases");
    assert_eq!(ids.len(), planted.len(), "{jdk}: CASES and planted cases");
    let mut wrong = vec![];
    for (id, p) in ids.iter().zip(planted) {
        let name = p["name"].as_str().unwrap_or("?");
        let o = heap
            .find(*id)
            .unwrap_or_else(|| panic!("{jdk} {name}: not in the dump"));
        assert_eq!(
            heap.class_name(o),
            p["class"].as_str().unwrap(),
            "{jdk} {name}"
        );
        let expected = (
            p["size"].as_u64(),
            p["size"].as_u64(),
            p["key_sum"].as_i64().unwrap(),
            p["value_sum"].as_i64().unwrap(),
        );
        let items = model.items(&heap, o, 10_000_000);
        let got = (
            model.size(&heap, o).map(|e| e.size),
            Some(items.len() as u64),
            items.iter().map(|i| id_of(&heap, i.key)).sum::<i64>(),
            items.iter().map(|i| id_of(&heap, i.value)).sum::<i64>(),
        );
        if got != expected {
            wrong.push(format!(
                "  {name} ({}): (size, walked, key ids, value ids) {got:?}, Java {expected:?}",
                heap.class_name(o)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{jdk}: {} of {} collections read wrong:\n{}",
        wrong.len(),
        planted.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_kind_and_shape_reads_as_java_sizes_it_on_jdk11() {
    check_fixture(Jdk::J11);
}

#[test]
fn every_kind_and_shape_reads_as_java_sizes_it_on_jdk17() {
    check_fixture(Jdk::J17);
}

#[test]
fn every_kind_and_shape_reads_as_java_sizes_it_on_jdk21() {
    check_fixture(Jdk::J21);
}

#[test]
fn every_kind_and_shape_reads_as_java_sizes_it_on_jdk25() {
    check_fixture(Jdk::J25);
}

// ---- hostile synthetic dumps -------------------------------------------------------------------

use crate::support::hprof_writer::{Grouping, HprofWriter, TempDir, Ty, Value};

/// Reads a written dump and calls `f` with its heap and model.
fn with_dump(w: &HprofWriter, f: impl FnOnce(&Heap<'_, '_>)) {
    let dir = TempDir::new("collections");
    let path = dir.file(
        "c.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 20 }),
    );
    let bytes = DumpBytes::open(&path, None).unwrap();
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
    let index = HeapIndex::build(&snap, &|_| {});
    f(&Heap::new(&snap, &index));
}

/// The JDK 8+ `HashMap` classes (`HashMap`, `HashMap$Node`, `HashMap$Node[]`) and a user
/// subclass that declares a field `size` of its own: (Object, map, user map, node, node array).
fn hash_map_classes(w: &mut HprofWriter) -> (u64, u64, u64, u64, u64) {
    let object = w.class("java.lang.Object").define();
    let map = w
        .class("java.util.HashMap")
        .extends(object)
        .field("table", Ty::Object)
        .field("size", Ty::Int)
        .define();
    let user = w
        .class("com.example.SizedMap")
        .extends(map)
        .field("size", Ty::Object)
        .define();
    let node = w
        .class("java.util.HashMap$Node")
        .extends(object)
        .field("hash", Ty::Int)
        .field("key", Ty::Object)
        .field("value", Ty::Object)
        .field("next", Ty::Object)
        .define();
    let nodes = w.array_class("[Ljava/util/HashMap$Node;", object);
    (object, map, user, node, nodes)
}

/// Chains are followed past the bucket head, a subclass's own `size` does not shadow
/// `HashMap.size`, and a cyclic chain ends (each node once).
#[test]
fn hash_chains_are_followed_and_a_cyclic_chain_ends() {
    let mut w = HprofWriter::hotspot(8);
    let (object, map, user, node, nodes) = hash_map_classes(&mut w);
    let keys: Vec<u64> = (0..5).map(|_| w.instance(object)).collect();
    let node_with = |w: &mut HprofWriter, k: u64, next: u64| {
        w.instance_with(
            node,
            &[
                Value::Int(0),
                Value::Object(k),
                Value::Object(0),
                Value::Object(next),
            ],
        )
    };
    // A chain of three in one bucket, one alone in another.
    let c = node_with(&mut w, keys[0], 0);
    let b = node_with(&mut w, keys[1], c);
    let a = node_with(&mut w, keys[2], b);
    let lone = node_with(&mut w, keys[3], 0);
    let table = w.object_array(nodes, &[0, a, 0, lone]);
    let plain = w.instance_with(map, &[Value::Object(table), Value::Int(4)]);
    let table2 = w.object_array(nodes, &[a, 0]);
    let sized = w.instance_with(
        user,
        &[Value::Object(0), Value::Object(table2), Value::Int(3)],
    );
    // x -> y -> x, in a map that says it has 2 entries.
    let x = w.alloc_id();
    let y = node_with(&mut w, keys[4], x);
    w.raw_sub_record({
        let mut b = vec![0x21];
        b.extend_from_slice(&x.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&node.to_be_bytes());
        b.extend_from_slice(&(4 + 3 * 8u32).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&keys[0].to_be_bytes());
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&y.to_be_bytes());
        b
    });
    let table3 = w.object_array(nodes, &[x]);
    let cyclic = w.instance_with(map, &[Value::Object(table3), Value::Int(2)]);
    with_dump(&w, |heap| {
        let model = heap.snap.collections();
        let o = |id: u64| heap.find(id).unwrap();
        let walk = |id: u64| model.for_each(heap, o(id), &mut |_| true);
        assert_eq!(
            model.size(heap, o(plain)).map(|e| (e.size, e.capacity)),
            Some((4, Some(4)))
        );
        assert_eq!(walk(plain), Some(4));
        let keys_seen: Vec<_> = model
            .items(heap, o(plain), 10)
            .iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(keys_seen, [2, 1, 0, 3].map(|k| Some(o(keys[k]))));
        assert_eq!(model.size(heap, o(sized)).map(|e| e.size), Some(3));
        assert_eq!(walk(sized), Some(3));
        assert_eq!(walk(cyclic), Some(2));
        // Stopping early is honoured.
        assert_eq!(model.items(heap, o(plain), 2).len(), 2);
    });
}

/// Absurd sizes, trees that loop, wrappers that wrap themselves and fields of the wrong type:
/// answers stay bounded and nothing panics.
#[test]
fn hostile_collections_are_bounded() {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let list = w
        .class("java.util.ArrayList")
        .extends(object)
        .field("elementData", Ty::Object)
        .field("size", Ty::Int)
        .define();
    let tree = w
        .class("java.util.TreeMap")
        .extends(object)
        .field("root", Ty::Object)
        .field("size", Ty::Int)
        .define();
    let entry = w
        .class("java.util.TreeMap$Entry")
        .extends(object)
        .field("key", Ty::Object)
        .field("value", Ty::Object)
        .field("left", Ty::Object)
        .field("right", Ty::Object)
        .define();
    let set = w
        .class("java.util.HashSet")
        .extends(object)
        .field("map", Ty::Object)
        .define();
    let wrong = w
        .class("java.util.Vector")
        .extends(object)
        .field("elementData", Ty::Int)
        .field("elementCount", Ty::Object)
        .define();
    let objects = w.array_class("[Ljava/lang/Object;", object);
    let e1 = w.instance(object);
    let data = w.object_array(objects, &[e1, 0, e1]);
    let huge = w.instance_with(list, &[Value::Object(data), Value::Int(i32::MAX)]);
    let negative = w.instance_with(list, &[Value::Object(data), Value::Int(-5)]);
    let not_array = w.instance_with(list, &[Value::Object(e1), Value::Int(3)]);
    // A tree whose root is its own left and right child.
    let r = w.alloc_id();
    w.raw_sub_record({
        let mut b = vec![0x21];
        b.extend_from_slice(&r.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&entry.to_be_bytes());
        b.extend_from_slice(&32u32.to_be_bytes());
        for v in [e1, e1, r, r] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b
    });
    let looping = w.instance_with(tree, &[Value::Object(r), Value::Int(1_000_000_000)]);
    let selfish = w.alloc_id();
    w.raw_sub_record({
        let mut b = vec![0x21];
        b.extend_from_slice(&selfish.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&set.to_be_bytes());
        b.extend_from_slice(&8u32.to_be_bytes());
        b.extend_from_slice(&selfish.to_be_bytes());
        b
    });
    let typed_wrong = w.instance_with(wrong, &[Value::Int(7), Value::Object(data)]);
    with_dump(&w, |heap| {
        let model = heap.snap.collections();
        let o = |id: u64| heap.find(id).unwrap();
        let n = heap.index.len() as u64;
        assert_eq!(
            model.size(heap, o(huge)).map(|e| e.size),
            Some(i32::MAX as u64)
        );
        assert_eq!(model.for_each(heap, o(huge), &mut |_| true), Some(3));
        assert_eq!(model.size(heap, o(negative)).map(|e| e.size), Some(0));
        assert_eq!(model.for_each(heap, o(negative), &mut |_| true), Some(0));
        assert_eq!(model.for_each(heap, o(not_array), &mut |_| true), Some(0));
        let looped = model.for_each(heap, o(looping), &mut |_| true).unwrap();
        assert!(looped <= n + 16, "{looped} steps over {n} objects");
        assert_eq!(model.size(heap, o(selfish)), None);
        assert_eq!(model.for_each(heap, o(selfish), &mut |_| true), None);
        assert_eq!(model.size(heap, o(typed_wrong)), None);
        assert!(model.items(heap, o(typed_wrong), 10).is_empty());
        // Describing them goes through the same model and must not panic either.
        for id in [huge, negative, not_array, looping, selfish, typed_wrong] {
            let _ = oomsleuth::analyses::heap::describe::describe(heap, o(id));
        }
    });
}

/// Entries read through the index's rows of resolved references (no id lookups) name the objects
/// the dump wrote, null fields and null slots skipped in between; with a dangling reference
/// elsewhere in the dump the rows no longer line up with the fields and ids are looked up: the
/// same answer.
#[test]
fn entries_resolve_through_rows_with_and_without_dangling_references() {
    for dangling in [false, true] {
        let mut w = HprofWriter::hotspot(8);
        let (object, map, _, node, nodes) = hash_map_classes(&mut w);
        let keys: Vec<u64> = (0..6).map(|_| w.instance(object)).collect();
        let values: Vec<u64> = (0..6).map(|_| w.instance(object)).collect();
        let entry = |w: &mut HprofWriter, k: u64, v: u64, next: u64| {
            w.instance_with(
                node,
                &[
                    Value::Int(7),
                    Value::Object(k),
                    Value::Object(v),
                    Value::Object(next),
                ],
            )
        };
        // Null keys and values before later fields shift a field's place in its row.
        let e5 = entry(&mut w, keys[5], 0, 0);
        let e4 = entry(&mut w, 0, values[4], e5);
        let e3 = entry(&mut w, keys[3], values[3], e4);
        let e2 = entry(&mut w, keys[2], values[2], 0);
        let e1 = entry(&mut w, keys[1], 0, e2);
        let e0 = entry(&mut w, keys[0], values[0], 0);
        let table = w.object_array(nodes, &[0, e0, 0, 0, e1, e3, 0]);
        let m = w.instance_with(map, &[Value::Object(table), Value::Int(6)]);
        if dangling {
            let nowhere = w.alloc_id() + 0x1000;
            w.instance_with(
                node,
                &[
                    Value::Int(0),
                    Value::Object(nowhere),
                    Value::Object(keys[0]),
                    Value::Object(0),
                ],
            );
        }
        with_dump(&w, |heap| {
            assert_eq!(heap.index.dangling > 0, dangling);
            let model = heap.snap.collections();
            let m = heap.find(m).unwrap();
            let id = |o: Option<u32>| o.map_or(0, |o| heap.id(o));
            let seen: Vec<(u64, u64)> = model
                .items(heap, m, 100)
                .iter()
                .map(|i| (id(i.key), id(i.value)))
                .collect();
            let expected = vec![
                (keys[0], values[0]),
                (keys[1], 0),
                (keys[2], values[2]),
                (keys[3], values[3]),
                (0, values[4]),
                (keys[5], 0),
            ];
            assert_eq!(seen, expected, "dangling: {dangling}");
        });
    }
}
