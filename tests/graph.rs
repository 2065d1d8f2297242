//! The object graph commands on hand-built dumps, checked against a naive reference: for every
//! object, the retained size is what becomes unreachable from the GC roots when that object is
//! removed. Graphs with cycles, weak references (whose referents are edges by default, as in
//! Eclipse MAT, and not with `--strong-only`), unreachable objects and no roots at all.

use crate::support::hprof_writer::{Grouping, HprofWriter, Root, TempDir, Ty, Value};
use crate::synthetic::oomsleuth;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};

/// A tiny deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Built {
    bytes: Vec<u8>,
    /// Strong edges of every object (instances and classes), by id.
    edges: HashMap<u64, Vec<u64>>,
    /// The referent of each weak holder whose referent is not null: an edge of the default
    /// graph, not of the `--strong-only` one.
    referents: HashMap<u64, u64>,
    roots: Vec<u64>,
    objects: Vec<u64>,
}

/// `n` objects of a 3-reference class or of a WeakReference subclass (whose `referent` points
/// somewhere and whose `next` field is strong), random edges, `roots` JNI global roots.
fn build(seed: u64, n: usize, roots: usize, weak_share: u64) -> Built {
    let mut rng = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let reference = w
        .class("java.lang.ref.Reference")
        .extends(object)
        .field("referent", Ty::Object)
        .field("queue", Ty::Object)
        .define();
    let weak = w
        .class("java.lang.ref.WeakReference")
        .extends(reference)
        .define();
    let node = w
        .class("com.example.Node")
        .extends(object)
        .field("a", Ty::Object)
        .field("b", Ty::Int)
        .field("c", Ty::Object)
        .field("d", Ty::Object)
        .define();
    let holder = w
        .class("com.example.WeakHolder")
        .extends(weak)
        .field("next", Ty::Object)
        .define();
    let mut edges: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut referents: HashMap<u64, u64> = HashMap::new();
    // Class objects: their superclass is a strong edge.
    edges.insert(object, vec![]);
    edges.insert(reference, vec![object]);
    edges.insert(weak, vec![reference]);
    edges.insert(node, vec![object]);
    edges.insert(holder, vec![weak]);
    let base = 0x10_0000;
    w.set_next_id(base);
    w.set_id_step(16);
    let ids: Vec<u64> = (0..n as u64).map(|i| base + i * 16).collect();
    let pick = |rng: &mut Rng| -> u64 {
        // Mostly local edges (long chains), some far ones (cycles, sharing), some null.
        let r = rng.below(10);
        if r < 2 {
            0
        } else {
            ids[rng.below(ids.len() as u64) as usize]
        }
    };
    for (i, &id) in ids.iter().enumerate() {
        let near = |rng: &mut Rng| {
            if i + 1 < ids.len() && rng.below(3) > 0 {
                ids[i + 1]
            } else {
                0
            }
        };
        if rng.below(100) < weak_share {
            let referent = pick(&mut rng);
            let next = near(&mut rng);
            let got = w.instance_with(
                holder,
                &[
                    Value::Object(next),
                    Value::Object(referent),
                    Value::Object(0),
                ],
            );
            assert_eq!(got, id);
            edges.insert(id, [next, holder].into_iter().filter(|&x| x != 0).collect());
            if referent != 0 {
                referents.insert(id, referent);
            }
        } else {
            let a = near(&mut rng);
            let c = pick(&mut rng);
            let d = pick(&mut rng);
            let got = w.instance_with(
                node,
                &[
                    Value::Object(a),
                    Value::Int(i as i32),
                    Value::Object(c),
                    Value::Object(d),
                ],
            );
            assert_eq!(got, id);
            edges.insert(
                id,
                [a, c, d, node].into_iter().filter(|&x| x != 0).collect(),
            );
        }
    }
    let mut root_ids = vec![];
    for _ in 0..roots {
        let r = ids[rng.below(ids.len() as u64) as usize];
        w.root(Root::JniGlobal {
            obj: r,
            jni_ref: r + 1,
        });
        root_ids.push(r);
    }
    let mut objects = ids.clone();
    objects.extend([object, reference, weak, node, holder]);
    Built {
        bytes: w.finish(&Grouping::Segments { max_body: 1000 }),
        edges,
        referents,
        roots: root_ids,
        objects,
    }
}

/// Which graph the naive model walks: the default one (referents are edges) or `--strong-only`.
#[derive(Clone, Copy, Debug)]
enum View {
    WithReferents,
    StrongOnly,
}

impl View {
    fn flags(self) -> &'static [&'static str] {
        match self {
            View::WithReferents => &[],
            View::StrongOnly => &["--strong-only"],
        }
    }
}

/// The objects reachable from the roots in `view` once `removed` is taken out of the graph.
/// (No object here lacks a referrer for the JVM's sake, so "held by the JVM" orphans never
/// join the dominator tree: they stay unreachable, as docs/json.md has them.)
fn reachable(b: &Built, removed: Option<u64>, view: View) -> HashSet<u64> {
    let mut seen = HashSet::new();
    let mut stack: Vec<u64> = b
        .roots
        .iter()
        .copied()
        .filter(|&r| Some(r) != removed)
        .collect();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) {
            continue;
        }
        let strong = b.edges.get(&v).map(|v| v.as_slice()).unwrap_or(&[]);
        let referent = match view {
            View::WithReferents => b.referents.get(&v),
            View::StrongOnly => None,
        };
        for &w in strong.iter().chain(referent) {
            if Some(w) != removed && !seen.contains(&w) {
                stack.push(w);
            }
        }
    }
    seen
}

fn top_json(path: &std::path::Path, extra: &[&str]) -> Json {
    let mut args: Vec<std::ffi::OsString> = vec![
        "top".into(),
        "--json".into(),
        "--no-cache".into(),
        "-n".into(),
        "100000".into(),
    ];
    args.extend(extra.iter().map(|s| s.into()));
    args.push(path.into());
    let run = oomsleuth(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn hex(id: u64) -> String {
    format!("0x{id:x}")
}

#[test]
fn retained_sizes_match_a_naive_reference_on_random_graphs() {
    for seed in 1..=12u64 {
        let n = 20 + (seed as usize * 13) % 90;
        let b = build(
            seed,
            n,
            1 + seed as usize % 4,
            [0, 30, 80][seed as usize % 3],
        );
        let dir = TempDir::new("graph");
        let path = dir.file("g.hprof", &b.bytes);
        for view in [View::WithReferents, View::StrongOnly] {
            check_against_naive(&b, &top_json(&path, view.flags()), seed, view);
        }
    }
}

/// Every reachable object listed with the retained size the naive model gives it in `view`,
/// and the heap's reachable and unreachable totals.
fn check_against_naive(b: &Built, json: &Json, seed: u64, view: View) {
    let listed: HashMap<String, (u64, u64)> = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                (
                    o["shallow_bytes"].as_u64().unwrap(),
                    o["retained_bytes"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let live = reachable(b, None, view);
    assert_eq!(
        listed.len(),
        live.len(),
        "seed {seed}, {view:?}: reachable objects listed"
    );
    assert_eq!(
        json["heap"]["unreachable_objects"].as_u64(),
        Some((b.objects.len() - live.len()) as u64),
        "seed {seed}, {view:?}"
    );
    let shallow = |id: u64| listed[&hex(id)].0;
    for &v in &live {
        let without = reachable(b, Some(v), view);
        let expected: u64 = live
            .iter()
            .filter(|u| !without.contains(u))
            .map(|&u| shallow(u))
            .sum();
        assert_eq!(
            listed[&hex(v)].1,
            expected,
            "seed {seed}, {view:?}: retained size of {}",
            hex(v)
        );
    }
    let total: u64 = live.iter().map(|&u| shallow(u)).sum();
    assert_eq!(
        json["heap"]["reachable_bytes"].as_u64(),
        Some(total),
        "seed {seed}, {view:?}"
    );
}

#[test]
fn mostly_weak_references_keep_little_alive() {
    // 95% weak holders: by default their referents are edges (as in MAT), so what they refer
    // to is reachable; with --strong-only they are not kept, and most of the graph is not.
    let b = build(99, 400, 2, 95);
    let dir = TempDir::new("weak");
    let path = dir.file("w.hprof", &b.bytes);
    let mut counts = vec![];
    for view in [View::WithReferents, View::StrongOnly] {
        let json = top_json(&path, view.flags());
        let live = reachable(&b, None, view);
        assert_eq!(
            json["heap"]["reachable_objects"].as_u64(),
            Some(live.len() as u64),
            "{view:?}"
        );
        counts.push(live.len());
    }
    let (with_referents, strong_only) = (counts[0], counts[1]);
    assert!(strong_only < 200, "{strong_only} strongly reachable");
    assert!(
        with_referents > strong_only,
        "referents keep more alive: {with_referents} vs {strong_only}"
    );
}

/// A dump without GC roots (a truncated JDK 17+ dump loses them all) falls back, as Eclipse MAT
/// does, to its system classes (here every class is the bootstrap loader's) as the roots, with a
/// warning: what they reach is live, the rest unreachable unless kept.
#[test]
fn a_dump_without_gc_roots_falls_back_to_its_system_classes() {
    let b = build(7, 50, 0, 20);
    let dir = TempDir::new("noroots");
    let path = dir.file("n.hprof", &b.bytes);
    let json = top_json(&path, &[]);
    let all = b.objects.len() as u64;
    let classes = b.objects[b.objects.len() - 5..].to_vec();
    let live = reachable(
        &Built {
            roots: classes,
            ..b
        },
        None,
        View::WithReferents,
    )
    .len() as u64;
    assert_eq!(json["heap"]["reachable_objects"].as_u64(), Some(live));
    assert_eq!(
        json["heap"]["unreachable_objects"].as_u64(),
        Some(all - live)
    );
    assert!(
        json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("system classes")),
        "{}",
        json["warnings"]
    );
    let kept = top_json(&path, &["--keep-unreachable"]);
    assert_eq!(kept["heap"]["reachable_objects"].as_u64(), Some(all));
}

#[test]
fn path_and_inspect_name_fields_and_indexes() {
    let b = build(3, 30, 1, 0);
    let dir = TempDir::new("path");
    let path = dir.file("p.hprof", &b.bytes);
    let live = reachable(&b, None, View::WithReferents);
    let target = *live.iter().filter(|&&v| v >= 0x10_0000).max().unwrap();
    let run = oomsleuth([
        "path".as_ref(),
        "--json".as_ref(),
        "--no-cache".as_ref(),
        path.as_os_str(),
        hex(target).as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["schema"], "oomsleuth.path/1");
    let steps = json["paths"][0]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["id"], hex(b.roots[0]));
    assert!(
        steps[0]["via"].as_str().unwrap().contains("jni-global"),
        "{}",
        steps[0]
    );
    assert_eq!(steps.last().unwrap()["id"], hex(target));
    for s in &steps[1..] {
        let via = s["via"].as_str().unwrap();
        assert!(
            ["a", "c", "d"]
                .iter()
                .any(|f| via.split(", ").any(|x| x == *f)),
            "{via}"
        );
    }
    let run = oomsleuth([
        "inspect".as_ref(),
        "--json".as_ref(),
        "--referrers".as_ref(),
        "--no-cache".as_ref(),
        path.as_os_str(),
        hex(target).as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["schema"], "oomsleuth.inspect/1");
    let names: Vec<&str> = json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert!(!json["referrers"].as_array().unwrap().is_empty());
    // An id that is not in the dump is a clear error.
    let run = oomsleuth([
        "inspect".as_ref(),
        "--no-cache".as_ref(),
        path.as_os_str(),
        "0x1".as_ref(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no object with id 0x1"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_index_cache_is_reused_and_a_damaged_one_rebuilt() {
    let b = build(5, 80, 2, 30);
    let dir = TempDir::new("cache");
    let path = dir.file("c.hprof", &b.bytes);
    let cache = dir.path().join("cache");
    let run = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "top".into(),
            "--json".into(),
            "--cache-dir".into(),
            cache.clone().into(),
        ];
        args.extend(extra.iter().map(|s| s.into()));
        args.push(path.clone().into());
        oomsleuth(&args)
    };
    let first = run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".oomsleuth-index"));
    // A temporary cache left by a process that was killed while indexing (no such pid) is
    // removed by the next run; nothing else in the directory is touched.
    let mut stale = files[0].clone().into_os_string();
    stale.push(".tmp-4294967");
    std::fs::write(&stale, b"half a cache").unwrap();
    let unrelated = cache.join("notes.txt");
    std::fs::write(&unrelated, b"mine").unwrap();
    let second = run(&[]);
    assert_eq!(second.stdout, first.stdout);
    assert!(!second.stderr.contains("ignoring"), "{}", second.stderr);
    assert!(
        !std::path::Path::new(&stale).exists(),
        "stale temporary removed"
    );
    assert!(unrelated.exists());
    std::fs::remove_file(&unrelated).unwrap();
    // Flip a byte in the middle: the checksum catches it, the index is rebuilt, same answer.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&files[0], &bytes).unwrap();
    let third = run(&[]);
    assert_eq!(third.stdout, first.stdout);
    assert!(
        third.stderr.contains("ignoring the index cache"),
        "{}",
        third.stderr
    );
    // A different option is a different key: rebuilt, not reused.
    let kept = run(&["--keep-unreachable"]);
    assert_eq!(kept.code, 0);
    assert!(kept.stderr.contains("ignoring"), "{}", kept.stderr);
}

/// The cache's sections end wherever their contents do (the reachability levels are a byte per
/// object): for every object count modulo 8, a second run reuses the first one's cache.
#[test]
fn the_index_cache_is_reused_whatever_the_object_count() {
    for n in 80..88 {
        let b = build(11, n, 2, 30);
        let dir = TempDir::new("cache-sizes");
        let path = dir.file("s.hprof", &b.bytes);
        let cache = dir.path().join("cache");
        let run = || {
            oomsleuth([
                "top".as_ref(),
                "--json".as_ref(),
                "--cache-dir".as_ref(),
                cache.as_os_str(),
                path.as_os_str(),
            ])
        };
        let first = run();
        assert_eq!(first.code, 0, "{}", first.stderr);
        let second = run();
        assert_eq!(second.code, 0, "{}", second.stderr);
        assert!(
            !second.stderr.contains("ignoring"),
            "{n} objects: {}",
            second.stderr
        );
        assert_eq!(second.stdout, first.stdout, "{n} objects");
    }
}

/// A cache directory that cannot be created (here: below a regular file) costs the cache, not
/// the answer: the command succeeds with the same output and says why nothing was saved, and
/// leaves no temporary behind.
#[test]
fn an_unusable_cache_directory_is_a_note_not_a_failure() {
    let b = build(7, 60, 2, 20);
    let dir = TempDir::new("nocachedir");
    let path = dir.file("d.hprof", &b.bytes);
    let blocker = dir.file("plain-file", b"not a directory");
    let cache = blocker.join("cache");
    let with_cache = oomsleuth([
        "top".as_ref(),
        "--json".as_ref(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
        path.as_os_str(),
    ]);
    assert_eq!(with_cache.code, 0, "{}", with_cache.stderr);
    assert!(
        with_cache.stderr.contains("could not save the index cache"),
        "{}",
        with_cache.stderr
    );
    let without = oomsleuth([
        "top".as_ref(),
        "--json".as_ref(),
        "--no-cache".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(with_cache.stdout, without.stdout);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|f| f == "d.hprof" || f == "plain-file"),
        "{left:?}"
    );
}

/// A real JVM's linked list a million objects long: the head retains every node, the dominator
/// tree is a million levels deep, and `path` walks it without recursion.
#[test]
fn million_object_chain_from_a_real_jvm() {
    use crate::support::jvm::{capture, Jdk};
    if Jdk::J17.home().is_none() {
        eprintln!("skipped: JDK 17 not available");
        return;
    }
    let cap = capture("LinkedChain", Jdk::J17, true, false, &[]);
    let json = top_json(&cap.hprof, &[]);
    let node_row = json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Node")
        .expect("Node row")
        .clone();
    assert_eq!(node_row["instances"].as_u64(), Some(1_000_000));
    let node_bytes = node_row["shallow_bytes"].as_u64().unwrap();
    // Counted once: the head dominates the rest, so the class retains exactly its instances.
    assert_eq!(node_row["retained_bytes"].as_u64(), Some(node_bytes));
    let head = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["class"] == "Node")
        .unwrap();
    assert_eq!(head["retained_bytes"].as_u64(), Some(node_bytes));
    // The deepest node listed (top lists 100,000 objects): 100,000 `next` fields from the head.
    let tail = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["class"] == "Node")
        .min_by_key(|o| o["retained_bytes"].as_u64())
        .unwrap();
    let run = oomsleuth([
        "path".as_ref(),
        "--json".as_ref(),
        "--no-cache".as_ref(),
        "-n".as_ref(),
        "1".as_ref(),
        cap.hprof.as_os_str(),
        tail["id"].as_str().unwrap().as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let steps = run.json()["paths"][0]["steps"].as_array().unwrap().len();
    assert!(steps >= 100_000, "{steps} steps");
}

/// Every array of the index in a scratch file (`OOMSLEUTH_SCRATCH_MIN=0`), then the same commands
/// on the cache hit (census and index mapped from the cache), then all in memory with no cache:
/// the same answers each time, and only the cache file is left in the cache directory.
#[test]
fn scratch_files_and_cache_hits_give_the_same_answers() {
    let b = build(11, 400, 3, 25);
    let dir = TempDir::new("scratch");
    let path = dir.file("s.hprof", &b.bytes);
    let cache = dir.path().join("cache");
    let target = hex(b.objects[b.objects.len() / 2]);
    let run = |env: &[(&str, &str)], extra: &[&str]| -> (String, String) {
        let mut outs = String::new();
        let mut errs = String::new();
        for (cmd, object) in [
            (vec!["top", "--json", "-n", "50"], None),
            (vec!["dominators", "--json", "--min-percent", "0"], None),
            (vec!["path", "--json"], Some(&target)),
            (vec!["inspect", "--json", "--referrers"], Some(&target)),
        ] {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_oomsleuth"));
            c.args(&cmd)
                .args(extra)
                .arg("--cache-dir")
                .arg(&cache)
                .arg(&path)
                .args(object)
                .env("OOMSLEUTH_TIMINGS", "1");
            for (k, v) in env {
                c.env(k, v);
            }
            let out = c.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                out.status.success() && !err.contains("panicked"),
                "{cmd:?}: {err}"
            );
            outs.push_str(&String::from_utf8_lossy(&out.stdout));
            errs.push_str(&err);
        }
        (outs, errs)
    };
    for keep in [&[][..], &["--keep-unreachable"][..]] {
        let _ = std::fs::remove_dir_all(&cache);
        let (cold, cold_err) = run(&[("OOMSLEUTH_SCRATCH_MIN", "0")], keep);
        assert!(cold_err.contains("file-backed arrays"), "{cold_err}");
        let (hit, hit_err) = run(&[("OOMSLEUTH_SCRATCH_MIN", "0")], keep);
        assert!(hit_err.contains("timing: cache hit"), "{hit_err}");
        assert!(!hit_err.contains("timing: index "), "{hit_err}");
        let mut no_cache = keep.to_vec();
        no_cache.push("--no-cache");
        let (memory, _) = run(&[], &no_cache);
        assert_eq!(cold, hit, "{keep:?}: cold vs cache hit");
        assert_eq!(cold, memory, "{keep:?}: scratch files vs memory");
        let left: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].ends_with(".oomsleuth-index"), "{left:?}");
    }
}
