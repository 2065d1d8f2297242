//! `oomsleuth diff` on a real JVM that grows between dumps (fixtures/src/GrowingLeak.java, three
//! dumps taken by capture.sh at the moments the fixture signals). The oracles are Java's own
//! `size()` of each structure at each step (planted.json) and `jmap -histo:live` before each dump.

use crate::support::hprof_writer::{Grouping, HprofWriter, Root, TempDir, Ty, Value};
use crate::support::jvm::{capture_steps, have, Jdk, StepsCapture};
use crate::synthetic::oomsleuth;
use serde_json::Value as Json;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The sources GrowingLeak is made of: other fixtures' edits do not invalidate its captures.
const SOURCES: [&str; 2] = ["GrowingLeak.java", "Planted.java"];

fn growing(jdk: Jdk) -> StepsCapture {
    capture_steps("GrowingLeak", &SOURCES, jdk, 3)
}

/// The JDKs the fixture tests run on: every one installed (a printed note for each missing).
fn jdks() -> Vec<Jdk> {
    Jdk::ALL.into_iter().filter(|&j| have(j)).collect()
}

/// Java's `size()` of structure `name` ("leak", "fill_once", ...) at every step.
fn java_sizes(cap: &StepsCapture, name: &str) -> Vec<u64> {
    cap.planted["steps"]
        .as_array()
        .expect("planted.json has steps")
        .iter()
        .map(|s| s[name].as_u64().expect("a size"))
        .collect()
}

fn planted_field(cap: &StepsCapture, name: &str) -> String {
    let s = &cap.planted["structures"][name];
    format!(
        "{}.{}",
        s["holder"].as_str().unwrap(),
        s["field"].as_str().unwrap()
    )
}

/// The fixture itself: three steps, and the JVM's histograms agree with what it says it planted.
#[test]
fn growing_leak_fixture_counts_what_the_jvm_counts() {
    for jdk in jdks() {
        let cap = growing(jdk);
        assert_eq!(cap.hprofs.len(), 3);
        let leak = java_sizes(&cap, "leak");
        assert!(leak.windows(2).all(|w| w[1] > w[0]), "{leak:?}");
        let cache = java_sizes(&cap, "fill_once");
        assert!(cache[1] > cache[0] && cache[2] == cache[1], "{cache:?}");
        for (k, histo) in cap.histos.iter().enumerate() {
            assert_eq!(
                histo.instances("com.example.GrowingLeak$Session"),
                leak[k],
                "{jdk} step {}",
                k + 1
            );
        }
        assert_eq!(
            planted_field(&cap, "leak"),
            "com.example.GrowingLeak.SESSIONS"
        );
    }
}

fn diff_json(dumps: &[&Path], extra: &[&str]) -> Json {
    let mut args: Vec<&OsStr> = vec!["diff".as_ref(), "--json".as_ref(), "--no-cache".as_ref()];
    args.extend(extra.iter().map(OsStr::new));
    args.extend(dumps.iter().map(|d| d.as_os_str()));
    let run = oomsleuth(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["schema"], "oomsleuth.diff/1");
    j
}

fn last_step(p: &Json) -> String {
    let steps = p["path"].as_array().expect("a path");
    steps
        .last()
        .and_then(|s| s.as_str())
        .unwrap_or("")
        .to_string()
}

fn u64s(v: &Json) -> Vec<u64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("a number"))
        .collect()
}

/// The collection whose path ends at the static field `field` of the fixture's holder.
fn collection<'j>(j: &'j Json, field: &str) -> &'j Json {
    let want = format!("static {field} ");
    j["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| last_step(c).starts_with(&want))
        .unwrap_or_else(|| panic!("no collection at {field} in {:#}", j["collections"]))
}

/// On the fixture: the monotone leak is the first growing path, with Java's own size at every
/// step; the cache that filled once grew once (not on every step); the catalog is stable; the
/// leak's element class grew by what jmap counted.
#[test]
fn diff_puts_the_monotone_leak_first_with_javas_sizes() {
    for jdk in jdks() {
        let cap = growing(jdk);
        let dumps: Vec<&Path> = cap.hprofs.iter().map(|p| p.as_path()).collect();
        let j = diff_json(&dumps, &[]);
        let first = &j["growth"][0];
        let leak = cap.planted["structures"]["leak"]["field"].as_str().unwrap();
        assert!(
            last_step(first).starts_with(&format!("static {leak} java.util.HashMap")),
            "{jdk}: first growing path {:#}",
            first["path"]
        );
        assert!(
            first["path"][0]
                .as_str()
                .unwrap()
                .contains("com.example.GrowingLeak"),
            "{jdk}: {:#}",
            first["path"]
        );
        assert_eq!(first["trend"], "monotone", "{jdk}");
        assert_eq!(first["size_trend"], "monotone", "{jdk}");
        assert_eq!(
            u64s(&first["collection_size"]),
            java_sizes(&cap, "leak"),
            "{jdk}"
        );
        let session = first["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["class"] == "com.example.GrowingLeak$Session")
            .expect("Session among the leak's growing element classes");
        let jvm: Vec<u64> = cap
            .histos
            .iter()
            .map(|h| h.instances("com.example.GrowingLeak$Session"))
            .collect();
        assert_eq!(u64s(&session["objects"]), jvm, "{jdk}");

        let cache = collection(
            &j,
            cap.planted["structures"]["fill_once"]["field"]
                .as_str()
                .unwrap(),
        );
        assert_eq!(
            u64s(&cache["collection_size"]),
            java_sizes(&cap, "fill_once"),
            "{jdk}"
        );
        assert_eq!(cache["size_trend"], "grew_once", "{jdk}");
        assert_eq!(cache["trend"], "grew_once", "{jdk}");

        for name in ["stable", "refilled"] {
            let field = cap.planted["structures"][name]["field"].as_str().unwrap();
            let c = collection(&j, field);
            assert_eq!(
                u64s(&c["collection_size"]),
                java_sizes(&cap, name),
                "{jdk} {name}"
            );
            assert_eq!(c["size_trend"], "stable", "{jdk} {name}");
        }
        let stable = collection(
            &j,
            cap.planted["structures"]["stable"]["field"]
                .as_str()
                .unwrap(),
        );
        assert_eq!(stable["trend"], "stable", "{jdk}");

        // Class loaders per step: the JVM's count of the fixture's loaders in each histogram.
        let loader = j["class_loaders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["type"] == "com.example.GrowingLeak$PluginLoader")
            .expect("the plugin loaders grew");
        let jvm: Vec<u64> = cap
            .histos
            .iter()
            .map(|h| h.instances("com.example.GrowingLeak$PluginLoader"))
            .collect();
        assert_eq!(u64s(&loader["loaders"]), jvm, "{jdk}");
        assert_eq!(loader["trend"], "monotone", "{jdk}");
    }
}

/// A dump diffed with itself: nothing grew.
#[test]
fn a_dump_diffed_with_itself_shows_no_growth() {
    let cap = growing(Jdk::J17);
    let d = cap.hprofs[1].as_path();
    let j = diff_json(&[d, d, d], &[]);
    assert_eq!(
        j["growth"].as_array().unwrap().len(),
        0,
        "{:#}",
        j["growth"]
    );
    assert_eq!(j["classes"].as_array().unwrap().len(), 0);
    assert_eq!(j["matched_paths"], j["stable_paths"]);
    assert!(j["collections"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["trend"] == "stable"));
}

/// Three dumps of a healthy service (fixtures/src/SteadyService.java: sessions that expire, a
/// bounded cache refilled with new objects, a loader replaced on every step): no path, class,
/// loader type or family grew on every step, and the session map kept Java's size throughout.
#[test]
fn a_healthy_service_has_no_monotone_growth() {
    for jdk in jdks() {
        let cap = capture_steps(
            "SteadyService",
            &["SteadyService.java", "Planted.java"],
            jdk,
            3,
        );
        let dumps: Vec<&Path> = cap.hprofs.iter().map(|p| p.as_path()).collect();
        let j = diff_json(&dumps, &[]);
        for list in [
            "growth",
            "collections",
            "classes",
            "class_loaders",
            "class_families",
        ] {
            for row in j[list].as_array().unwrap() {
                assert_ne!(row["trend"], "monotone", "{jdk} {list}: {row:#}");
            }
        }
        assert_ne!(j["heap"]["trend"], "monotone", "{jdk}");
        let sessions: Vec<u64> = cap.planted["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sessions"].as_u64().unwrap())
            .collect();
        let map = collection(&j, "SESSIONS");
        assert_eq!(u64s(&map["collection_size"]), sessions, "{jdk}");
        assert_eq!(map["size_trend"], "stable", "{jdk}");
        // Every session was replaced, yet the path is one and the same.
        let jvm: Vec<u64> = cap
            .histos
            .iter()
            .map(|h| h.instances("com.example.SteadyService$Session"))
            .collect();
        assert_eq!(jvm, sessions, "{jdk}: the fixture's count is the JVM's");
    }
}

// ---- Synthetic dumps: exact figures, snapshots, and objects that all moved ----------------------

/// A registry class whose static `items` array gains `n` items per dump (each with a 100-byte
/// payload), beside a `catalog` of 40 that never changes and a `lookup` that fills once. Every
/// dump numbers its objects from a different base, so no object keeps its id.
fn registry_dump(step: u64) -> (Vec<u8>, u64) {
    let mut w = HprofWriter::hotspot(8);
    w.timestamp_ms = 1_700_000_000_000 + step * 3_600_000;
    w.set_next_id(0x10_0000 * (step + 1));
    let object = w.class("java.lang.Object").define();
    let array = w.array_class("[Ljava/lang/Object;", object);
    let item = w
        .class("com.example.Item")
        .extends(object)
        .field("payload", Ty::Object)
        .define();
    let fill = |w: &mut HprofWriter, n: u64| -> u64 {
        let elems: Vec<u64> = (0..n)
            .map(|_| {
                let payload = w.primitive_array(Ty::Byte, 100);
                w.instance_with(item, &[Value::Object(payload)])
            })
            .collect();
        w.object_array(array, &elems)
    };
    let items = fill(&mut w, 100 * step);
    let catalog = fill(&mut w, 40);
    let lookup = fill(&mut w, if step == 1 { 10 } else { 60 });
    let registry = w
        .class("com.example.Registry")
        .extends(object)
        .static_field("items", Value::Object(items))
        .static_field("catalog", Value::Object(catalog))
        .static_field("lookup", Value::Object(lookup))
        .define();
    w.root(Root::StickyClass { obj: registry });
    (w.finish(&Grouping::Segments { max_body: 1 << 20 }), items)
}

fn registry_dumps(tmp: &TempDir) -> Vec<PathBuf> {
    let mut ids = vec![];
    let paths = (1..=3)
        .map(|k| {
            let (bytes, items) = registry_dump(k);
            ids.push(items);
            tmp.file(&format!("registry-{k}.hprof"), &bytes)
        })
        .collect();
    // Every object moved: the same array has another id in every dump.
    ids.dedup();
    assert_eq!(ids.len(), 3);
    paths
}

#[test]
fn paths_match_although_every_object_moved() {
    let tmp = TempDir::new("diff-registry");
    let dumps = registry_dumps(&tmp);
    let refs: Vec<&Path> = dumps.iter().map(|p| p.as_path()).collect();
    let j = diff_json(&refs, &[]);
    assert_eq!(j["hours"], 2.0);
    let growth = j["growth"].as_array().unwrap();
    assert_eq!(
        last_step(&growth[0]),
        "static items java.lang.Object[]",
        "{growth:#?}"
    );
    assert_eq!(growth[0]["trend"], "monotone");
    // The array and its items, each with its payload.
    let objects = u64s(&growth[0]["retained_objects"]);
    assert_eq!(objects, vec![201, 401, 601]);
    assert_eq!(last_step(&growth[1]), "static lookup java.lang.Object[]");
    assert_eq!(growth[1]["trend"], "grew_once");
    assert_eq!(growth.len(), 2, "catalog did not grow: {growth:#?}");
    let item = j["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "com.example.Item")
        .unwrap();
    assert_eq!(u64s(&item["instances"]), vec![150, 300, 400]);
}

#[test]
fn diff_report_snapshots() {
    let tmp = TempDir::new("diff-snap");
    let dumps = registry_dumps(&tmp);
    let dir = tmp.path().display().to_string();
    let mut args: Vec<&OsStr> = vec!["diff".as_ref(), "--no-cache".as_ref()];
    args.extend(dumps.iter().map(|d| d.as_os_str()));
    let text = oomsleuth(&args);
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("diff_registry_text", text.stdout.replace(&dir, "TMP"));
    args.push("--json".as_ref());
    let json = oomsleuth(&args);
    assert_eq!(json.code, 0, "{}", json.stderr);
    insta::assert_snapshot!("diff_registry_json", json.stdout.replace(&dir, "TMP"));
}

#[test]
fn bad_inputs_give_clear_errors() {
    let tmp = TempDir::new("diff-bad");
    let dumps = registry_dumps(&tmp);
    let one = oomsleuth([OsStr::new("diff"), dumps[0].as_os_str()]);
    assert_eq!(one.code, 2, "{}", one.stderr);
    assert!(
        one.stderr.contains("two or more heap dumps"),
        "{}",
        one.stderr
    );

    let text = tmp.file("notes.txt", b"not a heap dump\n");
    let run = oomsleuth([OsStr::new("diff"), dumps[0].as_os_str(), text.as_os_str()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("notes.txt"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    let missing = tmp.path().join("missing.hprof");
    let run = oomsleuth([
        OsStr::new("diff"),
        dumps[0].as_os_str(),
        missing.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("missing.hprof"), "{}", run.stderr);

    // A truncated dump is read as far as it goes, with a warning; never a panic.
    let full = std::fs::read(&dumps[2]).unwrap();
    for cut in [full.len() / 2, full.len() - 7, 40] {
        let t = tmp.file("truncated.hprof", &full[..cut]);
        let run = oomsleuth([
            OsStr::new("diff"),
            OsStr::new("--no-cache"),
            OsStr::new("--json"),
            dumps[0].as_os_str(),
            t.as_os_str(),
        ]);
        assert!(run.code == 0 || run.code == 2, "cut {cut}: {}", run.stderr);
        assert!(
            !run.stderr.contains("panicked"),
            "cut {cut}: {}",
            run.stderr
        );
        if run.code == 0 {
            let j = run.json();
            assert!(j["dumps"][1]["truncated"].as_bool().unwrap(), "cut {cut}");
            assert!(!j["warnings"].as_array().unwrap().is_empty(), "cut {cut}");
        } else {
            assert!(
                run.stderr.contains("truncated.hprof"),
                "cut {cut}: {}",
                run.stderr
            );
        }
    }
}

/// `analyze OLD MID NEW`: the newest dump's suspects ranked by growth; the monotone leak first
/// with Java's sizes, the fill-once cache after it, the stable catalog said to be stable.
#[test]
fn analyze_ranks_the_suspects_of_the_newest_dump_by_growth() {
    for jdk in jdks() {
        analyze_ranks_by_growth(&growing(jdk));
    }
}

fn analyze_ranks_by_growth(cap: &StepsCapture) {
    let jdk = cap.jdk;
    let mut args: Vec<&OsStr> = [
        "analyze",
        "--json",
        "--no-cache",
        "--min-retained",
        "0",
        "--threshold",
        "3",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    args.extend(cap.hprofs.iter().map(|p| p.as_os_str()));
    let run = oomsleuth(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["dump"]["path"], cap.hprofs[2].display().to_string());
    let h = &j["history"];
    let rows = h["suspects"]
        .as_array()
        .expect("suspects followed through the dumps");
    assert_eq!(rows.len(), j["suspects"].as_array().unwrap().len());
    let field = |name: &str| {
        format!(
            "static {} ",
            cap.planted["structures"][name]["field"].as_str().unwrap()
        )
    };
    assert!(
        last_step(&rows[0]).starts_with(&field("leak")),
        "{jdk}: {:#}",
        rows[0]
    );
    assert_eq!(rows[0]["trend"], "monotone", "{jdk}");
    assert_eq!(rows[0]["stable"], false, "{jdk}");
    assert_eq!(
        u64s(&rows[0]["collection_size"]),
        java_sizes(cap, "leak"),
        "{jdk}"
    );
    let cache = rows
        .iter()
        .find(|r| last_step(r).starts_with(&field("fill_once")))
        .unwrap_or_else(|| panic!("{jdk}: the cache is a suspect"));
    assert_eq!(cache["trend"], "grew_once", "{jdk}");
    let catalog = rows
        .iter()
        .find(|r| last_step(r).starts_with(&field("stable")))
        .unwrap_or_else(|| panic!("{jdk}: the catalog is a suspect at --threshold 3"));
    assert_eq!(catalog["stable"], true, "{jdk}");
    assert_eq!(
        u64s(&catalog["collection_size"]),
        java_sizes(cap, "stable"),
        "{jdk}"
    );

    // One dump: no history in the document.
    let run = oomsleuth([
        OsStr::new("analyze"),
        OsStr::new("--json"),
        OsStr::new("--no-cache"),
        cap.hprofs[0].as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json().get("history").is_none());
}

/// The data a page embeds (`<script type="application/json" id="data">`), parsed.
fn page_data(page: &str) -> Json {
    let start = page
        .find(r#"<script type="application/json" id="data">"#)
        .expect("the page embeds its data");
    let body = &page[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    serde_json::from_str(body).unwrap_or_else(|e| panic!("embedded data: {e}"))
}

/// Nothing in the page is fetched: no URL of another origin, no external script, style or image.
fn assert_self_contained(page: &str) {
    for bad in ["http://", "https://", "src=", "@import", "url(", "<link"] {
        assert!(!page.contains(bad), "the page holds {bad:?}");
    }
}

/// `diff --html`: a self-contained page whose growth view holds the top growing path with its
/// retained bytes in every dump (as `diff --json` says them), drawn in headless Chromium as a
/// chart with one point per dump, created with the dump's permissions.
#[test]
fn diff_html_holds_the_top_growing_path_over_time() {
    let cap = growing(Jdk::J17);
    let dumps: Vec<&Path> = cap.hprofs.iter().map(|p| p.as_path()).collect();
    let j = diff_json(&dumps, &[]);
    let top = &j["growth"][0];
    let tmp = TempDir::new("diff-html");
    let html = tmp.path().join("growth.html");
    let mut args: Vec<&OsStr> = vec!["diff".as_ref(), "--no-cache".as_ref()];
    args.extend(dumps.iter().map(|d| d.as_os_str()));
    args.extend(["--html".as_ref(), html.as_os_str()]);
    let run = oomsleuth(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&page);
    let data = page_data(&page);
    let g = &data["growth"];
    assert_eq!(g["diff"]["growth"][0]["path"], top["path"]);
    assert_eq!(
        g["diff"]["growth"][0]["retained_bytes"],
        top["retained_bytes"]
    );
    // The flame graph is the newest dump's: its root carries the reachable bytes of every dump,
    // and the leak's frame is found below it by its steps, with its bytes in every dump.
    let reachable: Vec<u64> = j["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reachable_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(u64s(&g["flame"]["b"]), reachable);
    let mut frame = &g["flame"];
    for step in top["path"].as_array().unwrap() {
        frame = frame["c"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["n"] == *step)
            .unwrap_or_else(|| panic!("no frame {step} in {:#}", frame["n"]));
    }
    assert_eq!(frame["b"], top["retained_bytes"]);
    assert_eq!(
        frame["s"],
        *top["collection_size"].as_array().unwrap().last().unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&html) & !mode(dumps[2]),
        0,
        "the page is no more open than the dump"
    );

    let Some(chrome) = crate::analyze::chromium() else {
        return;
    };
    let t = crate::analyze::selftest(&chrome, &html, &tmp.path().join("profile"));
    assert_eq!(t["errors"], serde_json::json!([]), "{t:#}");
    assert!(t["growth_frames"].as_u64().unwrap() > 3, "{t:#}");
    assert!(t["growth_ink"].as_f64().unwrap() > 0.05, "{t:#}");
    let chart = &t["growth_charts"][0];
    let joined: Vec<&str> = top["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(chart["path"], joined.join(" → "), "{t:#}");
    assert_eq!(chart["bytes"], top["retained_bytes"], "{t:#}");
    assert_eq!(
        t["growth_rows"].as_u64(),
        Some(j["growth"].as_array().unwrap().len() as u64)
    );
}

/// `analyze OLD MID NEW --html`: the report of the newest dump with the growth view, where the
/// suspects are listed by growth.
#[test]
fn analyze_html_of_several_dumps_shows_the_growth_view() {
    let cap = growing(Jdk::J17);
    let tmp = TempDir::new("analyze-growth-html");
    let html = tmp.path().join("report.html");
    let mut args: Vec<&OsStr> = [
        "analyze",
        "--no-cache",
        "--min-retained",
        "0",
        "--threshold",
        "3",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    args.extend(cap.hprofs.iter().map(|p| p.as_os_str()));
    args.extend(["--html".as_ref(), html.as_os_str()]);
    let run = oomsleuth(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&page);
    let data = page_data(&page);
    let leak = format!(
        "static {} ",
        cap.planted["structures"]["leak"]["field"].as_str().unwrap()
    );
    assert!(last_step(&data["growth"]["diff"]["growth"][0]).starts_with(&leak));
    assert!(last_step(&data["report"]["history"]["suspects"][0]).starts_with(&leak));
    let Some(chrome) = crate::analyze::chromium() else {
        return;
    };
    let t = crate::analyze::selftest(&chrome, &html, &tmp.path().join("profile"));
    assert_eq!(t["errors"], serde_json::json!([]), "{t:#}");
    assert!(t["suspects"].as_u64().unwrap() >= 2, "{t:#}");
    assert_eq!(
        t["growth_suspects"].as_u64(),
        Some(t["suspects"].as_u64().unwrap()),
        "{t:#}"
    );
    assert!(!t["growth_charts"].as_array().unwrap().is_empty(), "{t:#}");
}

/// A file holding two heap dumps (as the hprof agent writes them): `FILE#N` names one per input,
/// for `diff` and `analyze`; each keeps its own cache; a number the file lacks is an error.
#[test]
fn file_hash_n_names_one_heap_dump_of_a_file() {
    use crate::regression::{foos, several_dumps};
    let tmp = TempDir::new("diff-several");
    let path = tmp.file("agent.hprof", &several_dumps(&[foos(3), foos(5)]));
    let first = format!("{}#1", path.display());
    let second = format!("{}#2", path.display());
    let foo_instances = |j: &Json| -> Vec<u64> {
        let c = j["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class"] == "com.Foo")
            .unwrap_or_else(|| panic!("com.Foo changed: {:#}", j["classes"]));
        u64s(&c["instances"])
    };
    // Cold (caches written), then from the two caches, then without.
    for extra in [&[][..], &[][..], &["--no-cache"][..]] {
        let mut args = vec!["diff", "--json", first.as_str(), second.as_str()];
        args.extend(extra);
        let run = oomsleuth(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let j = run.json();
        assert_eq!(foo_instances(&j), vec![3, 5]);
        assert_eq!(j["dumps"][0]["path"], first);
        assert_eq!(j["dumps"][1]["path"], second);
    }
    assert!(tmp
        .path()
        .join("agent.hprof.dump1.oomsleuth-index")
        .exists());
    assert!(tmp
        .path()
        .join("agent.hprof.dump2.oomsleuth-index")
        .exists());
    // The second dump against itself: nothing changed. The plain file is its last dump.
    let plain = path.display().to_string();
    let run = oomsleuth(["diff", "--json", &second, &plain]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["classes"].as_array().unwrap().len(), 0);

    for (bad, says) in [("#3", "holds 2"), ("#0", "numbered from 1")] {
        let arg = format!("{}{bad}", path.display());
        let run = oomsleuth(["diff", &first, &arg]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{bad}: {}", run.stderr);
    }

    let run = oomsleuth(["analyze", "--json", "--no-cache", &first, &second]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["dump"]["analysed_dump"], 2);
    assert_eq!(j["dump"]["objects"], 5);
    assert_eq!(j["history"]["dumps"][0]["path"], first);
}

/// A dump whose static `head` holds a linked chain of `n` nodes (`next`, each with a 2 KB
/// payload); with `alias`, every node also holds its successor in a second field.
fn chain_dump(n: usize, alias: bool) -> Vec<u8> {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let mut node = w
        .class("com.example.Node")
        .extends(object)
        .field("next", Ty::Object);
    if alias {
        node = node.field("alias", Ty::Object);
    }
    let node = node.field("payload", Ty::Object).define();
    let mut next = 0u64;
    for _ in 0..n {
        let payload = w.primitive_array(Ty::Byte, 2048);
        let mut fields = vec![Value::Object(next)];
        if alias {
            fields.push(Value::Object(next));
        }
        fields.push(Value::Object(payload));
        next = w.instance_with(node, &fields);
    }
    let holder = w
        .class("com.example.Chains")
        .extends(object)
        .static_field("head", Value::Object(next))
        .define();
    w.root(Root::StickyClass { obj: holder });
    w.finish(&Grouping::Segments { max_body: 1 << 20 })
}

/// A linked chain is one path however long (each node repeats its dominator's `.next`), and a
/// node held by two fields of its predecessor is named by both, once.
#[test]
fn a_linked_chain_is_one_path() {
    let tmp = TempDir::new("diff-chain");
    for alias in [false, true] {
        let old = tmp.file("old.hprof", &chain_dump(300, alias));
        let new = tmp.file("new.hprof", &chain_dump(600, alias));
        let j = diff_json(&[&old, &new], &[]);
        let top = &j["growth"][0];
        let step = if alias { ".next, alias" } else { ".next" };
        let want = [
            "GC root (system-class) class com.example.Chains".to_string(),
            "static head com.example.Node".to_string(),
            format!("{step} com.example.Node"),
        ];
        assert_eq!(
            top["path"],
            serde_json::json!(want),
            "alias {alias}: {top:#}"
        );
        // The path below the head holds every node but the head, with its payload.
        assert_eq!(
            u64s(&top["retained_objects"]),
            vec![2 * 299, 2 * 599],
            "alias {alias}"
        );
    }
}

/// Class histograms of the growing JVM (`jmap -histo:live` at steps 1 and 3) given to `analyze`:
/// the leaking class is among the classes that grew, by exactly the sessions Java added, and the
/// live heap's growth backs a heap verdict.
#[test]
fn class_histograms_name_the_classes_that_grew() {
    for jdk in jdks() {
        let cap = growing(jdk);
        let leak = java_sizes(&cap, "leak");
        let (first, last) = (cap.dir.join("histo-1.txt"), cap.dir.join("histo-3.txt"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
            .args(["analyze", "--json"])
            .arg(&first)
            .arg(&last)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: Json = serde_json::from_slice(&out.stdout).unwrap();
        let g = &j["class_growth"];
        assert_eq!(g["histograms"], 2, "{jdk}: {j}");
        let session = g["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class"] == "com.example.GrowingLeak$Session")
            .unwrap_or_else(|| panic!("{jdk}: {g:#}"));
        assert_eq!(session["instances_first"], leak[0], "{jdk}");
        assert_eq!(session["instances_last"], leak[2], "{jdk}");
        assert_eq!(
            session["instances_last"],
            cap.histos[2].instances("com.example.GrowingLeak$Session"),
        );
        // Live growth backs a heap verdict only past the verdict's noise floor (4 MiB and a
        // tenth of the first histogram), by the JVM's own totals.
        let (t0, t1) = (
            g["total_bytes_first"].as_i64().unwrap(),
            g["total_bytes_last"].as_i64().unwrap(),
        );
        let big = t1 - t0 >= 4 << 20 && (t1 - t0) * 10 >= t0;
        let backed = j["verdict"]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"] == "class histogram");
        assert_eq!(backed, big, "{jdk}: {t0} -> {t1}: {}", j["verdict"]);
        if big {
            assert_eq!(j["verdict"]["area"], "heap", "{jdk}");
        }
    }
}
