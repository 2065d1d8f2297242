//! `oomsleuth classloaders` against real JVMs: each fixture plants one class-loader pattern (seeds
//! 000, 001, 003 and a healthy application), and the JVM's own `jcmd VM.classloader_stats`, taken
//! just before the dump, is the oracle for loader and class counts.

use crate::support::jvm::{capture, Capture, Jdk};
use crate::synthetic::oomsleuth;
use oomsleuth::analyses::class_families::FamilyKind;
use oomsleuth::analyses::heap::classloaders::{
    class_loader_suspects, classloaders, ClassLoaders, Mechanism, Options, Reachability, Thresholds,
};
use oomsleuth::analyses::heap::graph::Graph;
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::cache;
use oomsleuth::heap::objects::Heap;
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use serde_json::Value as Json;

/// Runs the analysis on a capture's dump, with every family and duplicate listed.
fn analyse(cap: &Capture, thresholds: Thresholds) -> ClassLoaders {
    let bytes = DumpBytes::open(&cap.hprof, None).expect("open dump");
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).expect("load dump");
    let (index, retention) = cache::load_or_build(&snap, None, false, &NoProgress);
    let g = Graph {
        heap: Heap::new(&snap, &index),
        retention: &retention,
    };
    let r = classloaders(
        &g,
        &Options {
            thresholds,
            max_rows: 0,
        },
    );
    // What `analyze` calls gives the same suspects.
    let s = class_loader_suspects(&g, &thresholds);
    assert_eq!(
        s.iter().map(|x| &x.title).collect::<Vec<_>>(),
        r.suspects.iter().map(|x| &x.title).collect::<Vec<_>>()
    );
    r
}

fn planted_str<'a>(cap: &'a Capture, key: &str) -> &'a str {
    cap.planted[key]
        .as_str()
        .unwrap_or_else(|| panic!("planted.json has no string {key:?}"))
}

fn planted_u64(cap: &Capture, key: &str) -> u64 {
    cap.planted[key]
        .as_u64()
        .unwrap_or_else(|| panic!("planted.json has no number {key:?}"))
}

/// Loaders and classes per loader type, and the total of classes, equal what the JVM reported.
/// The bootstrap loader is `<boot class loader>` to the JVM and `<bootstrap>` here; the JDK's
/// `ClassLoaders$BootClassLoader` object has no ClassLoaderData, so the JVM does not list it.
fn assert_counts_match_jvm(cap: &Capture, r: &ClassLoaders) {
    let jvm = cap.classloader_stats.by_type();
    for (ty, st) in &jvm {
        let ours = if ty == "<boot class loader>" {
            "<bootstrap>"
        } else {
            ty.as_str()
        };
        let g = r
            .groups
            .iter()
            .find(|g| g.type_name == ours)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no loader group {ours} (JVM: {st:?})",
                    cap.dir.display()
                )
            });
        assert_eq!(
            g.loaders,
            st.loaders,
            "{}: loaders of type {ty}",
            cap.dir.display()
        );
        assert_eq!(
            g.classes,
            st.classes + st.hidden_classes,
            "{}: classes defined by {ty}",
            cap.dir.display()
        );
    }
    // The `Total` line counts hidden classes too.
    assert_eq!(
        r.totals.classes,
        cap.classloader_stats.total_classes,
        "{}: classes in all",
        cap.dir.display()
    );
    // Every type we report that the JVM lists has a loader of its own; only the boot loader's
    // Java object is ours alone.
    for g in &r.groups {
        if g.type_name == "<bootstrap>" || g.type_name.ends_with("ClassLoaders$BootClassLoader") {
            continue;
        }
        assert!(
            jvm.contains_key(&g.type_name),
            "{}: loader type {} is not in VM.classloader_stats",
            cap.dir.display(),
            g.type_name
        );
    }
}

#[test]
fn per_call_engine_loaders_held_by_a_static_registry_jdk17() {
    let cap = capture("ScriptEngineLeak", Jdk::J17, true, false, &[]);
    let r = analyse(&cap, Thresholds::default());
    assert_counts_match_jvm(&cap, &r);
    let loader_type = planted_str(&cap, "loader_type");
    let n = planted_u64(&cap, "loaders");
    let jvm = cap.classloader_stats.by_type()[loader_type];
    assert_eq!(jvm.loaders, n);

    let s = r.suspects.first().expect("a class-loader suspect");
    assert_eq!(s.loader_type.as_deref(), Some(loader_type), "{s:#?}");
    assert_eq!(s.mechanism, Mechanism::LoaderPerCall);
    assert_eq!(s.family.as_deref(), Some(planted_str(&cap, "family")));
    assert_eq!(s.family_kind, Some(FamilyKind::ExpressionScript));
    assert_eq!(s.counts.loaders, jvm.loaders);
    assert_eq!(s.counts.classes, jvm.classes);
    assert_eq!(s.counts.live_instances, 0);
    // Every loader has the leak signature: its script class has no instance, the loader is held.
    assert_eq!(s.counts.idle_reachable_loaders, n);
    assert_eq!(s.reachability, Some(Reachability::Strong));
    let holder = format!(
        "static {}.{}",
        planted_str(&cap, "holder_class")
            .rsplit('.')
            .next()
            .unwrap(),
        planted_str(&cap, "holder_field")
    );
    let summary = s.path_summary.as_deref().unwrap();
    assert!(summary.starts_with(&holder), "{summary}");
    assert!(summary.contains("ArrayList.elementData["), "{summary}");
    assert!(s.path.last().unwrap().object.class == loader_type);
    // The path avoids the loader's own classes and instances.
    assert!(s
        .path
        .iter()
        .all(|st| !st.object.description.contains("Script_")));
    // The family row sees all of them, defined by one loader each.
    let f = r
        .families
        .iter()
        .find(|f| f.key == "Script_<n>_<n>")
        .unwrap();
    assert_eq!((f.classes, f.loaders), (n, n));
    assert_eq!(f.loader_types[0].type_name, loader_type);
    assert!(f.holder.as_deref().unwrap().starts_with(&holder));
    // One loader row per loader object, plus the bootstrap row.
    assert_eq!(r.loaders.len() as u64, r.totals.loaders + 1);
    assert_eq!(
        r.loaders
            .iter()
            .filter(|l| l.type_name == loader_type && l.leak_signature)
            .count() as u64,
        n
    );
    let text = oomsleuth::reports::classloaders_text::suspect(s, &Default::default());
    assert!(
        text.contains("Class loader per call") && text.contains(&holder),
        "{text}"
    );
}

#[test]
fn concurrent_duplicate_definitions_jdk17() {
    let cap = capture("DuplicateScripts", Jdk::J17, true, false, &[]);
    let r = analyse(&cap, Thresholds::default());
    assert_counts_match_jvm(&cap, &r);
    let loader_type = planted_str(&cap, "loader_type");
    let n = planted_u64(&cap, "loaders");
    let s = r.suspects.first().expect("a class-loader suspect");
    assert_eq!(s.loader_type.as_deref(), Some(loader_type), "{s:#?}");
    assert_eq!(s.mechanism, Mechanism::RecompiledScripts);
    assert_eq!(s.counts.loaders, n);
    assert_eq!(
        s.counts.classes,
        cap.classloader_stats.by_type()[loader_type].classes
    );
    let summary = s.path_summary.as_deref().unwrap();
    assert!(
        summary.starts_with("static DuplicateScripts$ScriptCache.entries")
            && summary.contains("Entry.loader"),
        "{summary}"
    );
    assert!(s.explanation.contains("Script14"), "{}", s.explanation);
    // Each planted name is defined once per loader.
    let names: Vec<&str> = cap.planted["duplicated_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in &names {
        let d = r.duplicates.iter().find(|d| d.name == *name).unwrap();
        assert_eq!(d.copies, n, "{name}");
        assert_eq!(d.loader_types.len(), 1);
        assert_eq!(d.loader_types[0].loaders, n);
    }
    assert_eq!(r.duplicates[0].copies, n);
    let closures = r
        .families
        .iter()
        .find(|f| f.key == "Script<n>$_run_closure<n>")
        .unwrap();
    assert_eq!((closures.classes, closures.loaders), (2 * n, n));
    assert_eq!(closures.kind, FamilyKind::GroovyClosure);
}

fn reflection_inflation(jdk: Jdk) {
    let cap = capture("ReflectionFlood", jdk, true, false, &[]);
    // 100 accessors: below the default threshold of 1,000 loaders, so the test lowers it.
    let t = Thresholds {
        loaders_per_type: 50,
        classes_per_family: 50,
    };
    let r = analyse(&cap, t);
    assert_counts_match_jvm(&cap, &r);
    let planted = planted_u64(&cap, "accessors");
    let jvm = cap.classloader_stats.by_type()["jdk.internal.reflect.DelegatingClassLoader"];
    assert!(jvm.loaders >= planted, "{jvm:?}");
    let rf = &r.reflection;
    assert!(rf.applies);
    // One accessor class per DelegatingClassLoader, as the JVM counts them.
    assert_eq!(rf.method_accessors + rf.constructor_accessors, jvm.classes);
    assert_eq!(rf.unresolved, 0, "{rf:#?}");
    let by_class = cap.planted["accessors_by_target_class"]
        .as_object()
        .unwrap();
    let top = planted_str(&cap, "top_target_class");
    assert_eq!(rf.targets[0].class, top);
    for t in &rf.targets {
        if let Some(k) = by_class.get(&t.class) {
            assert_eq!(t.accessors, k.as_u64().unwrap(), "{}", t.class);
            // getMethod and getDeclaredMethod: two roots, two accessors per method.
            assert!(t.methods.iter().all(|m| m.accessors == 2), "{t:#?}");
            assert!(t.methods.iter().all(|m| m.method.starts_with('m')));
        }
    }
    assert!(rf.only_softly, "{rf:#?}");
    assert_eq!(rf.soft_only, jvm.classes);

    let s = r.suspects.first().expect("a class-loader suspect");
    assert_eq!(s.mechanism, Mechanism::ReflectionInflation, "{s:#?}");
    assert_eq!(
        s.loader_type.as_deref(),
        Some("jdk.internal.reflect.DelegatingClassLoader")
    );
    assert_eq!(s.counts.loaders, jvm.loaders);
    assert_eq!(s.counts.soft_only_loaders, jvm.loaders);
    assert_eq!(s.reachability, Some(Reachability::SoftOnly));
    let summary = s.path_summary.as_deref().unwrap();
    assert!(
        summary.starts_with("static ReflectionFlood$MethodCache.byKey")
            && summary.contains("referent (soft)"),
        "{summary}"
    );
    assert!(s.top_targets[0].0.starts_with("ReflectionFlood$Bean.m"));
    assert!(s.fix.contains("inflationThreshold"));
    // Default thresholds: 100 accessors are not a suspect.
    let d = analyse(&cap, Thresholds::default());
    assert!(d.suspects.is_empty(), "{:#?}", d.suspects);
}

#[test]
fn reflection_inflation_with_a_soft_method_cache_jdk11() {
    reflection_inflation(Jdk::J11);
}

#[test]
fn reflection_inflation_with_a_soft_method_cache_jdk17() {
    reflection_inflation(Jdk::J17);
}

#[test]
fn reflection_inflation_does_not_apply_on_jdk21() {
    let cap = capture("ReflectionFlood", Jdk::J21, true, false, &[]);
    let r = analyse(
        &cap,
        Thresholds {
            loaders_per_type: 50,
            classes_per_family: 50,
        },
    );
    assert_counts_match_jvm(&cap, &r);
    assert!(!r.reflection.applies);
    assert!(
        r.reflection.note.contains("JEP 416"),
        "{}",
        r.reflection.note
    );
    assert_eq!(r.reflection.method_accessors, 0);
    assert!(r.suspects.is_empty(), "{:#?}", r.suspects);
}

#[test]
fn healthy_plugins_give_no_suspect_jdk17() {
    let cap = capture("PluginHost", Jdk::J17, true, false, &[]);
    let r = analyse(&cap, Thresholds::default());
    assert_counts_match_jvm(&cap, &r);
    assert!(r.suspects.is_empty(), "{:#?}", r.suspects);
    let n = planted_u64(&cap, "loaders");
    let g = r
        .groups
        .iter()
        .find(|g| g.type_name == "java.net.URLClassLoader")
        .unwrap();
    assert_eq!(g.loaders, n);
    assert_eq!(g.idle_reachable_loaders, 0);
    assert!(g.live_instances > 0);
    assert!(g
        .path
        .as_ref()
        .unwrap()
        .summary
        .starts_with("static PluginHost.LOADERS -> ArrayList.elementData["));
    assert_eq!(r.totals.idle_reachable_loaders, 0);
    // The plugin class exists once per plugin loader, once in the isolating loader and once in
    // the application loader.
    let d = r
        .duplicates
        .iter()
        .find(|d| d.name == "com.example.PluginHost$Plugin")
        .unwrap();
    assert_eq!(d.copies, n + 2);
    // The shortest path to the isolating loader goes through an instance of its own class; the
    // path reported avoids it and shows the registry that keeps the loader.
    let iso = planted_str(&cap, "isolating_loader_type");
    let g = r.groups.iter().find(|g| g.type_name == iso).unwrap();
    let p = g.path.as_ref().unwrap();
    assert!(!p.through_own_classes);
    assert!(
        p.summary
            .starts_with("static PluginHost$Registry.INSTANCE -> PluginHost$Registry.byName"),
        "{}",
        p.summary
    );
    assert!(
        p.summary.contains("PluginHost$Holder.loader"),
        "{}",
        p.summary
    );
    assert!(p
        .steps
        .iter()
        .all(|s| !s.object.class.ends_with("PluginHost$Plugin")));
}

#[test]
fn healthy_fixture_has_no_class_loader_suspect_at_default_thresholds() {
    let cap = capture("Healthy", Jdk::J17, true, false, &[]);
    let r = analyse(&cap, Thresholds::default());
    assert_counts_match_jvm(&cap, &r);
    assert!(r.suspects.is_empty(), "{:#?}", r.suspects);
}

#[test]
fn cli_json_and_text() {
    let cap = capture("ScriptEngineLeak", Jdk::J17, true, false, &[]);
    let dir = tempdir_for("classloaders-cli");
    let dump = cap.hprof.to_str().unwrap();
    let cache = dir.to_str().unwrap();
    let run = oomsleuth(["--cache-dir", cache, "classloaders", "--json", dump]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j: Json = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(j["schema"], "oomsleuth.classloaders/1");
    assert_eq!(j["groups"][0]["type"], "<bootstrap>");
    assert_eq!(j["loaders"][0]["id"], "bootstrap");
    assert_eq!(j["suspects"][0]["mechanism"], "loader_per_call");
    assert!(j["metaspace_estimate"]["description"]
        .as_str()
        .unwrap()
        .contains("estimate"));
    let run = oomsleuth(["--cache-dir", cache, "classloaders", dump]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run
        .stdout
        .contains("static ScriptEngineLeak$WatchHandler.loaders"));
    assert!(run.stdout.contains("Script_<n>_<n>"));
    // Bad input: an error with what to do next, no panic.
    let run = oomsleuth(["classloaders", "/nonexistent/heap.hprof"]);
    assert_eq!(run.code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir_for(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("oomsleuth-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A hand-written dump: three engine loaders, one kept by a static array with no live instance of
/// its class (the leak signature), one kept only through an instance of its own class, one garbage.
#[test]
fn synthetic_loaders_paths_and_reachability() {
    use crate::support::hprof_writer::{Grouping, HprofWriter, Root, TempDir, Ty, Value};
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let _class = w.class("java.lang.Class").extends(object).define();
    let base = w
        .class("java.lang.ClassLoader")
        .extends(object)
        .field("parent", Ty::Object)
        .define();
    let engine = w.class("com.x.EngineLoader").extends(base).define();
    let loaders = w.instances(engine, 3);
    let arr_class = w.array_class("[Ljava/lang/Object;", object);
    let arr = w.object_array(arr_class, &[loaders[0]]);
    let holder = w
        .class("com.x.Holder")
        .extends(object)
        .static_field("loaders", Value::Object(arr))
        .define();
    w.root(Root::StickyClass { obj: holder });
    let mut scripts = vec![];
    for (k, &l) in loaders.iter().enumerate() {
        let c = w
            .class(&format!("Script_{k}_{}", k * 7))
            .extends(object)
            .loader(l)
            .define();
        scripts.push(c);
    }
    let live = w.instance(scripts[1]);
    w.root(Root::JniGlobal {
        obj: live,
        jni_ref: 1,
    });
    let dir = TempDir::new("classloaders-synthetic");
    let path = dir.file("heap.hprof", &w.finish(&Grouping::Single));

    let bytes = DumpBytes::open(&path, None).unwrap();
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
    let (index, retention) = cache::load_or_build(&snap, None, false, &NoProgress);
    let g = Graph {
        heap: Heap::new(&snap, &index),
        retention: &retention,
    };
    let t = Thresholds {
        loaders_per_type: 2,
        classes_per_family: 100,
    };
    let r = classloaders(
        &g,
        &Options {
            thresholds: t,
            max_rows: 0,
        },
    );
    let gr = r
        .groups
        .iter()
        .find(|g| g.type_name == "com.x.EngineLoader")
        .unwrap();
    assert_eq!((gr.loaders, gr.classes, gr.live_instances), (3, 3, 1));
    assert_eq!(gr.idle_reachable_loaders, 1);
    assert_eq!(gr.unreachable_loaders, 1);
    assert_eq!(
        gr.representative.as_deref(),
        Some(format!("0x{:x}", loaders[0]).as_str())
    );
    let p = gr.path.as_ref().unwrap();
    assert_eq!(
        p.summary,
        format!(
            "static Holder.loaders[0] -> EngineLoader@0x{:x}",
            loaders[0]
        )
    );
    let row = |id: u64| {
        r.loaders
            .iter()
            .find(|l| l.id == format!("0x{id:x}"))
            .unwrap()
    };
    assert!(row(loaders[0]).leak_signature);
    assert!(!row(loaders[1]).idle && row(loaders[1]).reachability == Reachability::Strong);
    assert_eq!(row(loaders[2]).reachability, Reachability::Unreachable);
    let f = r
        .families
        .iter()
        .find(|f| f.key == "Script_<n>_<n>")
        .unwrap();
    assert_eq!((f.classes, f.loaders), (3, 3));
    let s = &r.suspects[0];
    assert_eq!(s.loader_type.as_deref(), Some("com.x.EngineLoader"));
    assert_eq!(s.mechanism, Mechanism::LoaderPerCall);
    assert!(r.reflection.targets.is_empty());

    // A dump without java.lang.ClassLoader: a warning, no loaders, no panic.
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let o = w.instance(object);
    w.root(Root::JniGlobal { obj: o, jni_ref: 1 });
    let path = dir.file("plain.hprof", &w.finish(&Grouping::Single));
    let run = oomsleuth([
        "classloaders",
        "--no-cache",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j: Json = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["totals"]["loaders"], 0);
    assert!(j["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("java.lang.ClassLoader"));
}

#[test]
fn per_call_engine_counts_match_the_jvm_on_every_jdk() {
    for jdk in Jdk::ALL {
        if jdk.home().is_none() {
            panic!("{jdk} is not available: see scripts/install-jdks.sh");
        }
        let cap = capture("ScriptEngineLeak", jdk, true, false, &["1200"]);
        let r = analyse(&cap, Thresholds::default());
        assert_counts_match_jvm(&cap, &r);
        let s = r.suspects.first().expect("a class-loader suspect");
        assert_eq!(
            s.loader_type.as_deref(),
            Some(planted_str(&cap, "loader_type")),
            "{jdk}"
        );
        assert_eq!(s.counts.loaders, 1200, "{jdk}");
        let summary = s.path_summary.as_deref().unwrap();
        assert!(
            summary.starts_with("static ScriptEngineLeak$WatchHandler.loaders"),
            "{jdk}: {summary}"
        );
        assert_eq!(r.reflection.applies, jdk.major() < 18, "{jdk}");
        assert_metaspace_near_jvm(jdk, &cap, &r, planted_str(&cap, "loader_type"));
    }
}

/// The Metaspace estimate of a loader type's loaders is within a factor of 1.5 of the chunks the JVM
/// reports for them in `VM.classloader_stats`.
fn assert_metaspace_near_jvm(jdk: Jdk, cap: &Capture, r: &ClassLoaders, ty: &str) {
    if let Some(why) = metaspace_off(jdk, cap, r, ty) {
        panic!("{why}");
    }
}

/// Why the estimate is more than a factor of 1.5 from the JVM's chunks, or `None` when it is near.
fn metaspace_off(jdk: Jdk, cap: &Capture, r: &ClassLoaders, ty: &str) -> Option<String> {
    let ratio = metaspace_ratio(jdk, cap, r, ty);
    (!(1.0 / 1.5..=1.5).contains(&ratio)).then(|| format!("{jdk} {ty}: {ratio:.2}x"))
}

/// The Metaspace estimate of a loader type's loaders over the chunks the JVM reports for them.
fn metaspace_ratio(jdk: Jdk, cap: &Capture, r: &ClassLoaders, ty: &str) -> f64 {
    let jvm = jvm_chunk_bytes(jdk, cap.classloader_stats.by_type()[ty].chunk_bytes);
    let est = r
        .groups
        .iter()
        .find(|g| g.type_name == ty)
        .unwrap_or_else(|| panic!("{jdk}: no group of {ty}"))
        .metaspace_estimate_bytes;
    let ratio = est as f64 / jvm as f64;
    eprintln!("{jdk} {ty}: Metaspace estimate {est} vs JVM chunks {jvm} ({ratio:.2}x)");
    ratio
}

/// Reflection accessors (one class per DelegatingClassLoader, JDK 11 and 17), Groovy-shaped scripts
/// compiled concurrently (three classes in each of 1,200 loaders) and plugins in URLClassLoaders:
/// Metaspace within 1.5x of the JVM's.
#[test]
fn metaspace_of_duplicate_scripts_and_accessors_is_near_the_jvm_on_every_jdk() {
    let mut off = vec![];
    for jdk in Jdk::ALL {
        if jdk.home().is_none() {
            panic!("{jdk} is not available: see scripts/install-jdks.sh");
        }
        let cap = capture("DuplicateScripts", jdk, true, false, &[]);
        let r = analyse(&cap, Thresholds::default());
        let ty = planted_str(&cap, "loader_type");
        off.extend(metaspace_off(jdk, &cap, &r, ty));
        // Plugins: ordinary compiled classes in URLClassLoaders (healthy, so no suspect either).
        let cap = capture("PluginHost", jdk, true, false, &[]);
        let r = analyse(&cap, Thresholds::default());
        assert!(r.suspects.is_empty(), "{jdk}: {:#?}", r.suspects);
        off.extend(metaspace_off(jdk, &cap, &r, "java.net.URLClassLoader"));
        if jdk.major() < 18 {
            let cap = capture("ReflectionFlood", jdk, true, false, &[]);
            let r = analyse(&cap, Thresholds::default());
            let ty = "jdk.internal.reflect.DelegatingClassLoader";
            off.extend(metaspace_off(jdk, &cap, &r, ty));
        }
    }
    assert!(off.is_empty(), "{}", off.join("\n"));
}

/// The Metaspace chunks the JVM reports for a loader type, in bytes: JDK 16 to 20 print
/// `VM.classloader_stats`' ChunkSz in words under the same header (on JDK 17, 768 for a loader of
/// one small class where 11, 21 and 25 print 6,144; the same JVM's `VM.metaspace` agrees with
/// words: compare ../shared/samples/jdk17-vm-classloader-stats.trimmed.txt and
/// jdk17-vm-metaspace.txt).
fn jvm_chunk_bytes(jdk: Jdk, chunk: u64) -> u64 {
    if (16..=20).contains(&jdk.major()) {
        chunk * 8
    } else {
        chunk
    }
}

/// A real engine's jar from its Debian package (scripts/test.sh installs `groovy` and `rhino`);
/// `None`, with a note, when it is absent and OOMSLEUTH_REQUIRE_JDKS is unset.
fn engine_jar(file: &str, package: &str) -> Option<String> {
    let p = format!("/usr/share/java/{file}");
    if std::path::Path::new(&p).exists() {
        return Some(p);
    }
    if std::env::var("OOMSLEUTH_REQUIRE_JDKS").as_deref() == Ok("1") {
        panic!("{p} is missing: apt-get install {package} (OOMSLEUTH_REQUIRE_JDKS=1)");
    }
    eprintln!("skipped: {p} is missing (apt-get install {package})");
    None
}

/// Issue 13: a real Groovy or Rhino compiling per call, its scripts kept by two caches. One
/// finding (a loader and its parent made per call are one), its loaders grouped by their own
/// holders (the cache and the audit log, with their counts), the engine named, one family across
/// the four templates, and Metaspace within a factor of 1.5 of the JVM's; equal to it when the
/// JVM's VM.classloader_stats is given.
fn real_engine(engine: &str, jar: &str, jdk: Jdk) -> String {
    use oomsleuth::analyses::class_families::Engine;
    let cap = capture("RealEngines", jdk, true, false, &[engine, jar]);
    let r = analyse(&cap, Thresholds::default());
    assert_counts_match_jvm(&cap, &r);
    let ty = planted_str(&cap, "loader_type");
    let calls = planted_u64(&cap, "calls");
    let titles: Vec<&str> = r.suspects.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(r.suspects.len(), 1, "{jdk}: {titles:#?}");
    let s = &r.suspects[0];
    assert_eq!(s.loader_type.as_deref(), Some(ty), "{jdk}: {s:#?}");
    assert_eq!(s.counts.loaders, calls, "{jdk}");
    let want = if engine == "groovy" {
        Engine::Groovy
    } else {
        Engine::Rhino
    };
    assert_eq!(s.engine, Some(want), "{jdk}");
    // Each loader by its own holder: the cache and the audit log.
    assert!(s.holders.len() >= 2, "{jdk}: {:#?}", s.holders);
    let (cache, audit) = (&s.holders[0], &s.holders[1]);
    assert_eq!(cache.loaders, planted_u64(&cap, "cache_scripts"), "{jdk}");
    assert!(
        cache
            .path_summary
            .starts_with(planted_str(&cap, "cache_holder")),
        "{jdk}: {}",
        cache.path_summary
    );
    assert_eq!(audit.loaders, planted_u64(&cap, "audit_scripts"), "{jdk}");
    assert!(
        audit
            .path_summary
            .starts_with(planted_str(&cap, "audit_holder")),
        "{jdk}: {}",
        audit.path_summary
    );
    // One family across the templates.
    assert_eq!(
        s.family.as_deref(),
        Some(planted_str(&cap, "family")),
        "{jdk}"
    );
    assert_eq!(s.family_templates, planted_u64(&cap, "templates"), "{jdk}");
    // Metaspace: the finding's loaders (and folded parents) against the JVM's chunks.
    let by_type = cap.classloader_stats.by_type();
    let mut types = vec![ty.to_string()];
    types.extend(s.parents.as_ref().map(|p| p.type_name.clone()));
    let jvm: u64 = types
        .iter()
        .map(|t| jvm_chunk_bytes(jdk, by_type.get(t).map_or(0, |x| x.chunk_bytes)))
        .sum();
    let est = s.counts.metaspace_estimate_bytes;
    let ratio = est as f64 / jvm as f64;
    let line = format!(
        "{engine} {jdk}: estimate {est} vs JVM {jvm} (x{ratio:.2}), {} classes",
        s.counts.classes
    );
    assert!((1.0 / 1.5..=1.5).contains(&ratio), "{line}");
    // With the JVM's own figures: exactly them.
    let text = std::fs::read_to_string(cap.dir.join("classloader-stats.txt")).unwrap();
    let stats = oomsleuth::formats::logs::metaspace::parse_classloader_stats(&text);
    let bytes = DumpBytes::open(&cap.hprof, None).unwrap();
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
    let (index, retention) = cache::load_or_build(&snap, None, false, &NoProgress);
    let g = Graph {
        heap: Heap::new(&snap, &index),
        retention: &retention,
    };
    let with = oomsleuth::analyses::heap::classloaders::class_loader_suspects_with(
        &g,
        &Thresholds::default(),
        Some(&stats),
    );
    assert!(with[0].metaspace_from_jvm);
    assert_eq!(with[0].counts.metaspace_estimate_bytes, jvm, "{jdk}");
    line
}

#[test]
fn real_groovy_and_rhino_loaders_on_every_jdk() {
    let mut lines = vec![];
    let mut failures = vec![];
    for (engine, file, package) in [
        ("groovy", "groovy-all.jar", "groovy"),
        ("rhino", "js.jar", "rhino"),
    ] {
        let Some(jar) = engine_jar(file, package) else {
            continue;
        };
        for jdk in Jdk::ALL {
            if !crate::support::jvm::have(jdk) {
                continue;
            }
            match std::panic::catch_unwind(|| real_engine(engine, &jar, jdk)) {
                Ok(l) => lines.push(l),
                Err(e) => failures.push(
                    e.downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| format!("{engine} {jdk}: failed")),
                ),
            }
        }
    }
    eprintln!("{}", lines.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
