//! The phases of the suspect search on small hand-built dumps, through `analyze --json`: what
//! accumulates is counted as the collection's logical entries (bucket chains followed); the holder is
//! the field that owns the collection, however deep the walk down the dominator tree went (the 70%
//! rule); a loader's class list and many distinct classes each with a modest cache of its own are no
//! suspect (the split); pooled threads with one ThreadLocal are one suspect named by the static that
//! declares it (grouping); one huge array is its own element.

use crate::support::hprof_writer::{Grouping, HprofWriter, Root, TempDir, Ty, Value};
use crate::support::jdk_classes::JdkClasses;
use crate::synthetic::oomsleuth;
use serde_json::Value as Json;

/// An element class with a payload array field.
fn item_class(w: &mut HprofWriter, j: &JdkClasses, name: &str) -> u64 {
    w.class(name)
        .extends(j.object)
        .field("id", Ty::Int)
        .field("payload", Ty::Object)
        .define()
}

fn item(w: &mut HprofWriter, class: u64, id: i32, bytes: u32) -> u64 {
    let payload = w.primitive_array(Ty::Byte, bytes);
    w.instance_with(class, &[Value::Int(id), Value::Object(payload)])
}

fn analyze(w: &HprofWriter, label: &str) -> Json {
    let dir = TempDir::new(label);
    let path = dir.file("heap.hprof", &w.finish(&Grouping::Single));
    let run = oomsleuth([
        "analyze".as_ref(),
        "--json".as_ref(),
        "--no-cache".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn first(j: &Json) -> &Json {
    let s = &j["suspects"][0];
    assert!(s.is_object(), "no suspect: {:#}", j["suspects"]);
    s
}

/// A HashMap of 3,000 entries in 64 buckets (long `next` chains) held by a service's field, the
/// service a static: the count is the map's 3,000 entries, the holder the service's field.
#[test]
fn map_entries_in_bucket_chains_are_counted_and_the_field_owning_the_map_is_the_holder() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let session = item_class(&mut w, &j, "com.example.Session");
    let buckets = 64;
    let mut heads = vec![0u64; buckets];
    for i in 0..3000 {
        let b = i % buckets;
        let key = w.instance_with(j.integer, &[Value::Int(i as i32)]);
        let value = item(&mut w, session, i as i32, 1000);
        heads[b] = w.instance_with(
            j.node,
            &[
                Value::Int(i as i32),
                Value::Object(key),
                Value::Object(value),
                Value::Object(heads[b]),
            ],
        );
    }
    let table = w.object_array(j.node_array, &heads);
    let map = w.instance_with(j.hash_map, &[Value::Object(table), Value::Int(3000)]);
    let service_class = w
        .class("com.example.SessionService")
        .extends(j.object)
        .field("byId", Ty::Object)
        .define();
    let service = w.instance_with(service_class, &[Value::Object(map)]);
    j.holder(&mut w, "com.example.App", "SESSIONS", service);
    let r = analyze(&w, "suspects-chains");
    let s = first(&r);
    assert_eq!(s["owner"]["class"], "com.example.SessionService", "{s:#}");
    assert_eq!(s["owner"]["field"], "byId", "{s:#}");
    assert_eq!(s["accumulated"]["class"], "com.example.Session", "{s:#}");
    assert_eq!(s["accumulated"]["count"], 3000, "{s:#}");
    assert_eq!(r["suspects"].as_array().map(Vec::len), Some(1), "{r:#}");
}

/// 40 classes of one loader, each with a static list of 20 modest elements of its own: the loader
/// retains everything through its class list, and nothing is a suspect.
#[test]
fn distinct_classes_each_with_a_modest_cache_and_their_loaders_class_list_are_no_suspect() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let loader_class = w
        .class("com.example.AppLoader")
        .extends(j.object)
        .field("classes", Ty::Object)
        .define();
    let class_ids: Vec<u64> = (0..40).map(|_| w.alloc_id()).collect();
    let class_list = j.array_list(&mut w, &class_ids);
    let loader = w.instance_with(loader_class, &[Value::Object(class_list)]);
    w.root(Root::JniGlobal {
        obj: loader,
        jni_ref: 1,
    });
    for (k, &id) in class_ids.iter().enumerate() {
        let elem = item_class(&mut w, &j, &format!("com.example.Entry{k}"));
        let items: Vec<u64> = (0..20).map(|i| item(&mut w, elem, i, 2000)).collect();
        let list = j.array_list(&mut w, &items);
        w.class(&format!("com.example.Cache{k}"))
            .id(id)
            .extends(j.object)
            .loader(loader)
            .static_field("ENTRIES", Value::Object(list))
            .define();
    }
    let r = analyze(&w, "suspects-classes");
    assert_eq!(r["suspects"], serde_json::json!([]), "{:#}", r["suspects"]);
}

/// Four threads, each with a ThreadLocalMap entry for one ThreadLocal whose value is a list of 400
/// elements: one suspect, counting all 1,600, named by the static that declares the ThreadLocal.
#[test]
fn thread_locals_of_pooled_threads_are_one_suspect_named_by_the_declaring_static() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let thread_local = w
        .class("java.lang.ThreadLocal")
        .extends(j.object)
        .field("threadLocalHashCode", Ty::Int)
        .define();
    let weak = w
        .class("java.lang.ref.WeakReference")
        .extends(j.reference)
        .define();
    let entry = w
        .class("java.lang.ThreadLocal$ThreadLocalMap$Entry")
        .extends(weak)
        .field("value", Ty::Object)
        .define();
    let entry_array = w.array_class("[Ljava/lang/ThreadLocal$ThreadLocalMap$Entry;", j.object);
    let map_class = w
        .class("java.lang.ThreadLocal$ThreadLocalMap")
        .extends(j.object)
        .field("table", Ty::Object)
        .field("size", Ty::Int)
        .define();
    let thread = w
        .class("java.lang.Thread")
        .extends(j.object)
        .field("threadLocals", Ty::Object)
        .define();
    for c in [thread_local, weak, entry, entry_array, map_class, thread] {
        w.root(Root::StickyClass { obj: c });
    }
    let tl = w.instance_with(thread_local, &[Value::Int(7)]);
    j.holder(&mut w, "com.example.RequestContext", "SCRATCH", tl);
    let buffer = item_class(&mut w, &j, "com.example.ScratchBuffer");
    for t in 0..4 {
        let items: Vec<u64> = (0..400).map(|i| item(&mut w, buffer, i, 1000)).collect();
        let list = j.array_list(&mut w, &items);
        // WeakReference fields come after the entry's own: value, then referent and queue.
        let e = w.instance_with(
            entry,
            &[Value::Object(list), Value::Object(tl), Value::Object(0)],
        );
        let table = w.object_array(entry_array, &[0, e, 0, 0]);
        let map = w.instance_with(map_class, &[Value::Object(table), Value::Int(1)]);
        let th = w.instance_with(thread, &[Value::Object(map)]);
        w.root(Root::ThreadObject {
            obj: th,
            thread: t + 1,
            stack_trace: 0,
        });
    }
    let r = analyze(&w, "suspects-thread-locals");
    let s = first(&r);
    assert_eq!(s["pattern"], "thread_local", "{s:#}");
    assert_eq!(s["owner"]["class"], "com.example.RequestContext", "{s:#}");
    assert_eq!(s["owner"]["field"], "SCRATCH", "{s:#}");
    assert_eq!(s["owner"]["is_static"], true, "{s:#}");
    assert_eq!(
        s["accumulated"]["class"], "com.example.ScratchBuffer",
        "{s:#}"
    );
    assert_eq!(s["accumulated"]["count"], 1600, "{s:#}");
    assert_eq!(s["instances"], 4, "{s:#}");
}

/// One huge long[] held by a static among modest structures: the array is what accumulates, once,
/// and the title gives the array's size.
#[test]
fn one_huge_array_is_its_own_element() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let big = w.primitive_array(Ty::Long, 400_000);
    j.holder(&mut w, "com.example.Tables", "BIG", big);
    for k in 0..10 {
        let elem = item_class(&mut w, &j, &format!("com.example.Small{k}"));
        let items: Vec<u64> = (0..10).map(|i| item(&mut w, elem, i, 2000)).collect();
        let list = j.array_list(&mut w, &items);
        j.holder(&mut w, &format!("com.example.Holder{k}"), "ITEMS", list);
    }
    let r = analyze(&w, "suspects-array");
    let s = first(&r);
    assert_eq!(s["pattern"], "large_object", "{s:#}");
    assert_eq!(s["owner"]["class"], "com.example.Tables", "{s:#}");
    assert_eq!(s["owner"]["field"], "BIG", "{s:#}");
    assert_eq!(s["accumulated"]["class"], "long[]", "{s:#}");
    assert_eq!(s["accumulated"]["count"], 1, "{s:#}");
    let array_bytes = s["accumulation_point"]["retained_bytes"].as_u64().unwrap();
    assert_eq!(s["retained_bytes"].as_u64(), Some(array_bytes), "{s:#}");
    assert_eq!(r["suspects"].as_array().map(Vec::len), Some(1), "{r:#}");
}

/// 2,000 leaked contexts whose client node's address is "$UNKNOWN", against 300 live ones with real
/// addresses: the discriminator goes one field deeper, `client.ip`.
#[test]
fn the_discriminator_may_be_a_field_of_a_referenced_object() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let node_class = w
        .class("com.example.ClientNode")
        .extends(j.object)
        .field("ip", Ty::Object)
        .define();
    let context = w
        .class("com.example.Context")
        .extends(j.object)
        .field("client", Ty::Object)
        .field("buffer", Ty::Object)
        .define();
    let unknown = j.string(&mut w, "$UNKNOWN");
    let context_with = |w: &mut HprofWriter, ip: u64| {
        let node = w.instance_with(node_class, &[Value::Object(ip)]);
        let buffer = w.primitive_array(Ty::Byte, 1500);
        w.instance_with(context, &[Value::Object(node), Value::Object(buffer)])
    };
    let leaked: Vec<u64> = (0..2000).map(|_| context_with(&mut w, unknown)).collect();
    let open: Vec<u64> = (0..300)
        .map(|i| {
            let ip = j.string(&mut w, &format!("10.0.{}.{}", i / 250, i % 250));
            context_with(&mut w, ip)
        })
        .collect();
    let closed = j.array_list(&mut w, &leaked);
    j.holder(&mut w, "com.example.Registry", "CLOSED", closed);
    let live = j.array_list(&mut w, &open);
    j.holder(&mut w, "com.example.Registry2", "OPEN", live);
    let r = analyze(&w, "suspects-discriminator");
    let s = first(&r);
    assert_eq!(s["owner"]["field"], "CLOSED", "{s:#}");
    assert_eq!(s["accumulated"]["count"], 2000, "{s:#}");
    let d = &s["discriminator"];
    assert_eq!(d["field"], "client.ip", "{d:#}");
    assert_eq!(d["value"], "\"$UNKNOWN\"", "{d:#}");
    assert_eq!(d["elsewhere_count"], 0, "{d:#}");
    assert_eq!(d["elsewhere_examined"], 300, "{d:#}");
}

/// 3,000 handlers, every instance of their class in one list (nothing to contrast with), each with
/// the shared `LEVEL` object (whose name is a string) and an error manager of its own whose flag is
/// false: what every one of them has says nothing of which leak, so there is no discriminator. Their
/// `state` string, the same on each ("OPEN"), describes them and is kept.
#[test]
fn no_discriminator_from_shared_objects_or_flags_without_contrast() {
    for with_state in [false, true] {
        let mut w = HprofWriter::hotspot(8);
        let j = JdkClasses::define(&mut w);
        let level_class = w
            .class("com.example.Level")
            .extends(j.object)
            .field("name", Ty::Object)
            .define();
        let manager_class = w
            .class("com.example.ErrorManager")
            .extends(j.object)
            .field("reported", Ty::Boolean)
            .define();
        let handler = w
            .class("com.example.Handler")
            .extends(j.object)
            .field("level", Ty::Object)
            .field("errors", Ty::Object)
            .field("state", Ty::Object)
            .field("buffer", Ty::Object)
            .define();
        let name = j.string(&mut w, "ALL");
        let level = w.instance_with(level_class, &[Value::Object(name)]);
        j.holder(&mut w, "com.example.Levels", "ALL", level);
        let open = j.string(&mut w, "OPEN");
        let handlers: Vec<u64> = (0..3000)
            .map(|_| {
                let m = w.instance_with(manager_class, &[Value::Boolean(false)]);
                let b = w.primitive_array(Ty::Byte, 1000);
                let state = if with_state { open } else { 0 };
                w.instance_with(
                    handler,
                    &[
                        Value::Object(level),
                        Value::Object(m),
                        Value::Object(state),
                        Value::Object(b),
                    ],
                )
            })
            .collect();
        let list = j.array_list(&mut w, &handlers);
        j.holder(&mut w, "com.example.Bus", "HANDLERS", list);
        let r = analyze(&w, "suspects-no-discriminator");
        let s = first(&r);
        assert_eq!(s["accumulated"]["count"], 3000, "{s:#}");
        let d = &s["discriminator"];
        if with_state {
            assert_eq!(d["field"], "state", "{d:#}");
            assert_eq!(d["value"], "\"OPEN\"", "{d:#}");
        } else {
            assert!(d.is_null(), "{d:#}");
        }
    }
}

/// A service whose field holds a wrapper of two lists of items: when the bigger list keeps 70% or
/// more of the wrapper, the walk goes down to it and there is one suspect, that list's items; when
/// it keeps less (60/40, both over the threshold), memory spreads over two things and each list is
/// a suspect of its own (the 70% rule and the split).
#[test]
fn the_walk_goes_down_while_one_child_keeps_seventy_percent_and_splits_below() {
    for (big, small, suspects) in [(3000, 1000, 1), (2400, 1600, 2)] {
        let mut w = HprofWriter::hotspot(8);
        let j = JdkClasses::define(&mut w);
        let elem = item_class(&mut w, &j, "com.example.Entry");
        let wrapper_class = w
            .class("com.example.Tables")
            .extends(j.object)
            .field("hot", Ty::Object)
            .field("cold", Ty::Object)
            .define();
        let hot: Vec<u64> = (0..big).map(|i| item(&mut w, elem, i, 1000)).collect();
        let cold: Vec<u64> = (0..small).map(|i| item(&mut w, elem, i, 1000)).collect();
        let hot = j.array_list(&mut w, &hot);
        let cold = j.array_list(&mut w, &cold);
        let wrapper = w.instance_with(wrapper_class, &[Value::Object(hot), Value::Object(cold)]);
        j.holder(&mut w, "com.example.Service", "TABLES", wrapper);
        let r = analyze(&w, "suspects-seventy");
        let all = r["suspects"].as_array().unwrap();
        assert_eq!(all.len(), suspects, "{big}/{small}: {:#}", r["suspects"]);
        let s = first(&r);
        assert_eq!(s["accumulated"]["class"], "com.example.Entry", "{s:#}");
        assert_eq!(s["accumulated"]["count"], big, "{big}/{small}: {s:#}");
        if suspects == 2 {
            let counts: Vec<u64> = all
                .iter()
                .map(|s| s["accumulated"]["count"].as_u64().unwrap())
                .collect();
            assert_eq!(counts, [big as u64, small as u64], "{:#}", r["suspects"]);
            let fields: Vec<&str> = all
                .iter()
                .map(|s| s["owner"]["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, ["hot", "cold"], "{:#}", r["suspects"]);
        }
    }
}

/// A class with three static caches of about a third of the heap each: three suspects, one per
/// cache, each named by its static; the class that holds all three is none. So also when the
/// caches hold objects of one class: they are three places, not one group.
#[test]
fn a_class_with_several_big_static_caches_gives_one_suspect_per_cache() {
    for same_elements in [false, true] {
        several_static_caches(same_elements);
    }
}

fn several_static_caches(same_elements: bool) {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let mut statics = vec![];
    let shared = item_class(&mut w, &j, "com.example.Record");
    for (k, n) in [("USERS", 1500), ("ORDERS", 1300), ("PRICES", 1100)] {
        let elem = if same_elements {
            shared
        } else {
            item_class(&mut w, &j, &format!("com.example.{}", &k[..k.len() - 1]))
        };
        let items: Vec<u64> = (0..n).map(|i| item(&mut w, elem, i, 1000)).collect();
        statics.push((k, n, j.array_list(&mut w, &items)));
    }
    let mut caches = w.class("com.example.Caches").extends(j.object);
    for &(k, _, list) in &statics {
        caches = caches.static_field(k, Value::Object(list));
    }
    let caches = caches.define();
    w.root(Root::StickyClass { obj: caches });
    let r = analyze(&w, "suspects-statics");
    let all = r["suspects"].as_array().unwrap();
    let got: Vec<(String, String, u64)> = all
        .iter()
        .map(|s| {
            (
                s["owner"]["class"].as_str().unwrap().to_string(),
                s["owner"]["field"].as_str().unwrap().to_string(),
                s["accumulated"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, u64)> = statics
        .iter()
        .map(|&(k, n, _)| ("com.example.Caches".to_string(), k.to_string(), n as u64))
        .collect();
    assert_eq!(got, want, "{:#}", r["suspects"]);
}

/// 60 tenants, each its own GC root retaining about 100 KB: none passes the threshold alone, all
/// together do: one suspect, the group of 60, shown through its biggest member.
#[test]
fn top_level_objects_of_one_class_that_pass_only_together_are_one_group() {
    let mut w = HprofWriter::hotspot(8);
    let j = JdkClasses::define(&mut w);
    let elem = item_class(&mut w, &j, "com.example.Row");
    let tenant = w
        .class("com.example.Tenant")
        .extends(j.object)
        .field("rows", Ty::Object)
        .define();
    for t in 0..60 {
        let rows: Vec<u64> = (0..100).map(|i| item(&mut w, elem, i, 1000 + t)).collect();
        let list = j.array_list(&mut w, &rows);
        let obj = w.instance_with(tenant, &[Value::Object(list)]);
        w.root(Root::JniGlobal {
            obj,
            jni_ref: 1000 + t as u64,
        });
    }
    let r = analyze(&w, "suspects-group");
    let all = r["suspects"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{:#}", r["suspects"]);
    let s = first(&r);
    assert_eq!(s["instances"], 60, "{s:#}");
    assert_eq!(s["accumulated"]["class"], "com.example.Row", "{s:#}");
    let share = s["retained_percent"].as_f64().unwrap();
    assert!(share > 90.0, "{s:#}");
}
