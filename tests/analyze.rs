//! `oomsleuth analyze` on real JVM fixtures: each planted leak is the first suspect, with the right
//! holder, path, element class and count (the fixture's planted.json and the JVM's own `jmap -histo`
//! are the oracles); a healthy heap yields no suspect; snapshots of the reports on the demo dump;
//! the HTML report rendered in headless Chromium.

use crate::support::jvm::{capture, have, Capture, Jdk};
use crate::synthetic::oomsleuth;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn analyze(dump: &Path, extra: &[&str]) -> Json {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["analyze".as_ref(), "--json".as_ref(), "--no-cache".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(dump.as_os_str());
    let run = oomsleuth(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["schema"], "oomsleuth.report/1");
    j
}

fn first_suspect(j: &Json) -> &Json {
    let s = &j["suspects"][0];
    assert!(
        s.is_object(),
        "no suspect in {}",
        serde_json::to_string_pretty(&j["dominators"]).unwrap()
    );
    s
}

fn path_text(s: &Json) -> String {
    s["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["via"].as_str().unwrap(),
                p["class"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join(" -> ")
}

fn leak(cap: &Capture) -> &Json {
    &cap.planted["leak"]
}

fn check_leaking_map(cap: &Capture) {
    let j = analyze(&cap.hprof, &[]);
    let s = first_suspect(&j);
    let leak = leak(cap);
    assert_eq!(s["pattern"], "map_key", "{s:#}");
    assert_eq!(
        s["owner"]["class"], "com.example.ConnectionRegistry",
        "{s:#}"
    );
    assert_eq!(s["owner"]["field"], "byIp");
    let map = &s["map"];
    assert_eq!(map["map"]["class"], "java.util.HashMap");
    // Every IP with an open connection, plus "$UNKNOWN": as the fixture counted them.
    assert_eq!(
        map["entries"].as_u64(),
        Some(leak["open_ips"].as_u64().unwrap() + 1)
    );
    assert_eq!(map["keys"][0]["key"], "\"$UNKNOWN\"");
    assert!(map["keys"][0]["percent_of_map"].as_f64().unwrap() > 90.0);
    let acc = &s["accumulated"];
    assert_eq!(acc["class"], "com.example.ChannelContext");
    assert_eq!(acc["count"], leak["leaked_contexts"]);
    // The JVM's own count of ChannelContext: the leaked ones plus the open ones.
    let jvm = cap.histo_before.instances("com.example.ChannelContext");
    assert_eq!(
        jvm,
        acc["count"].as_u64().unwrap() + leak["open_contexts"].as_u64().unwrap()
    );
    let d = &s["discriminator"];
    assert_eq!(d["field"], "ip", "{d:#}");
    assert_eq!(d["value"], "\"$UNKNOWN\"");
    assert_eq!(d["percent"].as_f64(), Some(100.0));
    assert_eq!(d["elsewhere_examined"], leak["open_contexts"]);
    let path = path_text(s);
    assert!(
        path.contains("static INSTANCE com.example.Config"),
        "{path}"
    );
    assert!(
        path.contains("registry com.example.ConnectionRegistry -> byIp java.util.HashMap"),
        "{path}"
    );
    assert!(s["title"].as_str().unwrap().contains("\"$UNKNOWN\""));
    assert!(s["look_at"]
        .as_str()
        .unwrap()
        .contains("com.example.ConnectionRegistry.byIp"));
    assert!(
        j["suspects"].as_array().unwrap().len() == 1,
        "one leak, one suspect: {:#}",
        j["suspects"]
    );
}

#[test]
fn leaking_map_names_the_map_its_owner_and_the_dominant_key() {
    for jdk in Jdk::ALL {
        if have(jdk) {
            check_leaking_map(&capture("LeakingMap", jdk, true, false, &[]));
        }
    }
    if have(Jdk::J17) {
        check_leaking_map(&capture("LeakingMap", Jdk::J17, false, false, &[]));
    }
}

#[test]
fn static_list_cache_names_the_static_field() {
    for jdk in [Jdk::J17, Jdk::J21] {
        if !have(jdk) {
            continue;
        }
        let cap = capture("StaticListCache", jdk, true, false, &[]);
        let j = analyze(&cap.hprof, &[]);
        let s = first_suspect(&j);
        let leak = leak(&cap);
        assert_eq!(s["pattern"], "collection", "{s:#}");
        assert_eq!(s["owner"]["class"], leak["owner_class"]);
        assert_eq!(s["owner"]["field"], leak["owner_field"]);
        assert_eq!(s["owner"]["is_static"], true);
        let acc = &s["accumulated"];
        assert_eq!(acc["class"], leak["element_class"]);
        assert_eq!(acc["count"], leak["elements"]);
        assert_eq!(
            acc["count"].as_u64(),
            Some(cap.histo_before.instances("com.example.CachedReport"))
        );
        // The elements retain at least their own bytes as the JVM counts them.
        let jvm = &cap.histo_before.by_name()["com.example.CachedReport"];
        assert!(acc["retained_bytes"].as_u64().unwrap() >= jvm.bytes);
        assert_eq!(
            s["accumulation_point"]["container"]["class"],
            "java.util.ArrayList"
        );
        assert_eq!(s["discriminator"]["field"], leak["discriminator_field"]);
        assert_eq!(
            s["discriminator"]["value"],
            format!("\"{}\"", leak["discriminator_value"].as_str().unwrap())
        );
    }
}

#[test]
fn thread_local_leak_names_the_pool_threads() {
    if !have(Jdk::J17) {
        return;
    }
    let cap = capture("ThreadLocalLeak", Jdk::J17, true, false, &[]);
    let j = analyze(&cap.hprof, &[]);
    let s = first_suspect(&j);
    let leak = leak(&cap);
    assert_eq!(s["pattern"], "thread_local", "{s:#}");
    assert_eq!(s["instances"], leak["threads"]);
    let holder = s["holder"]["description"].as_str().unwrap();
    assert!(
        holder.starts_with("java.lang.Thread \"pool-worker-"),
        "{holder}"
    );
    assert_eq!(s["accumulated"]["class"], "byte[]");
    assert_eq!(s["accumulated"]["count"], leak["buffers"]);
    let path = path_text(s);
    assert!(
        path.contains("threadLocals java.lang.ThreadLocal$ThreadLocalMap"),
        "{path}"
    );
}

#[test]
fn listener_leak_names_the_listener_list() {
    if !have(Jdk::J17) {
        return;
    }
    let cap = capture("ListenerLeak", Jdk::J17, true, false, &[]);
    let j = analyze(&cap.hprof, &[]);
    let s = first_suspect(&j);
    let leak = leak(&cap);
    assert_eq!(s["pattern"], "listeners", "{s:#}");
    assert_eq!(s["owner"]["class"], leak["owner_class"]);
    assert_eq!(s["owner"]["field"], leak["owner_field"]);
    assert_eq!(s["accumulated"]["class"], leak["element_class"]);
    assert_eq!(s["accumulated"]["count"], leak["elements"]);
    assert_eq!(
        s["accumulated"]["count"].as_u64(),
        Some(cap.histo_before.instances("com.example.SessionListener"))
    );
}

#[test]
fn healthy_heap_has_no_suspect_on_any_jdk() {
    for jdk in Jdk::ALL {
        if !have(jdk) {
            continue;
        }
        for oops in [true, false] {
            if !oops && jdk != Jdk::J17 {
                continue;
            }
            let cap = capture("Healthy", jdk, oops, false, &[]);
            let j = analyze(&cap.hprof, &[]);
            assert_eq!(
                j["suspects"],
                serde_json::json!([]),
                "{jdk}: {:#}",
                j["suspects"]
            );
            // The summary still describes the heap.
            assert!(j["summary"]["objects"].as_u64().unwrap() > 10_000);
            assert!(!j["dominators"].as_array().unwrap().is_empty());
            assert!(!j["histogram"].as_array().unwrap().is_empty());
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_run(args: &[&str]) -> crate::synthetic::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .current_dir(repo())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run oomsleuth");
    crate::synthetic::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn exit_codes_follow_fail_on_suspect() {
    let demo = "demo/leaking-map.hprof.gz";
    assert_eq!(demo_run(&["analyze", "--no-cache", demo]).code, 0);
    let r = demo_run(&["analyze", "--no-cache", "--fail-on-suspect", demo]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("Suspect 1"));
    // A threshold no object passes: nothing to fail on.
    let r = demo_run(&[
        "analyze",
        "--no-cache",
        "--fail-on-suspect",
        "--threshold",
        "99",
        demo,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("No leak suspect"));
    let r = demo_run(&["analyze", "--threshold", "150", demo]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--threshold"));
    let r = demo_run(&["analyze", "--min-retained", "12 parsecs", demo]);
    assert_eq!(r.code, 2);
}

#[test]
fn bad_inputs_are_errors_that_say_what_to_give() {
    let dir = std::env::temp_dir().join(format!("oomsleuth-analyze-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let garbage = dir.join("garbage.bin");
    std::fs::write(
        &garbage,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let missing = dir.join("missing.hprof");
    let empty = dir.join("empty");
    let unwritable = dir.join("no/such/dir/r.html");
    let cases: [(&[&std::ffi::OsStr], &str); 4] = [
        (&[missing.as_os_str()], "cannot read it"),
        (&[garbage.as_os_str()], "no heap dump among the inputs"),
        (&[empty.as_os_str()], "nothing to analyze"),
        (
            &[
                "--html".as_ref(),
                unwritable.as_os_str(),
                "demo/leaking-map.hprof.gz".as_ref(),
            ],
            "cannot write the HTML report",
        ),
    ];
    for (args, says) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
            .current_dir(repo())
            .args(["analyze", "--no-cache"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A dump cut short is analysed as far as it goes, with a warning naming the offset.
    let whole = std::fs::read(repo().join("demo/leaking-map.hprof.gz")).unwrap();
    let mut plain = vec![];
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&whole[..]),
        &mut plain,
    )
    .unwrap();
    let cut = dir.join("cut.hprof");
    std::fs::write(&cut, &plain[..plain.len() / 2]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(["analyze", "--no-cache"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning: the file is truncated"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_report_snapshots() {
    let text = demo_run(&[
        "analyze",
        "--no-cache",
        "--color",
        "never",
        "demo/leaking-map.hprof.gz",
    ]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.lines().all(|l| l.chars().count() <= 100),
        "lines over 100 columns:\n{}",
        text.stdout
    );
    insta::assert_snapshot!("demo_analyze_text", text.stdout);
    let json = demo_run(&[
        "analyze",
        "--no-cache",
        "--json",
        "demo/leaking-map.hprof.gz",
    ]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let j: Json = serde_json::from_str(&json.stdout).unwrap();
    insta::assert_json_snapshot!("demo_analyze_json", j);
}

/// Chromium (Debian's `chromium`), or `None` (a failure when OOMSLEUTH_REQUIRE_CHROMIUM=1, which
/// scripts/test.sh sets after installing it).
pub(crate) fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !p.is_empty() {
                return Some(PathBuf::from(p));
            }
        }
    }
    if std::env::var("OOMSLEUTH_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
        panic!(
            "chromium is missing and OOMSLEUTH_REQUIRE_CHROMIUM=1 (scripts/test.sh installs it)"
        );
    }
    eprintln!("skipped: chromium is not installed");
    None
}

pub(crate) fn headless(
    chrome: &Path,
    profile: &Path,
    extra: &[&str],
    url: &str,
) -> std::process::Output {
    Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium")
}

/// Opens `html#selftest` in headless Chromium and returns what the page's self-test recorded
/// (console errors, frames drawn, the zoom after a click, charts); fails on uncaught errors.
pub(crate) fn selftest(chrome: &Path, html: &Path, profile: &Path) -> Json {
    let url = format!("file://{}#selftest", html.display());
    let out = headless(chrome, profile, &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Uncaught"), "console errors:\n{stderr}");
    let start = dom
        .find("<pre id=\"selftest\"")
        .expect("self-test output in the DOM");
    let body = &dom[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</pre>").unwrap()];
    let body = body
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else { return };
    let dir = std::env::temp_dir().join(format!("oomsleuth-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("report.html");
    let run = demo_run(&[
        "analyze",
        "--no-cache",
        "--html",
        html.to_str().unwrap(),
        "demo/leaking-map.hprof.gz",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.len() < 5 << 20);
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the report must not load anything"
    );
    let t = selftest(&chrome, &html, &dir.join("profile1"));
    assert_eq!(t["errors"], serde_json::json!([]), "{t:#}");
    assert_eq!(t["suspects"], 1);
    assert!(
        t["suspect_text"].as_str().unwrap().contains("$UNKNOWN"),
        "{t:#}"
    );
    assert!(t["frames"].as_u64().unwrap() >= 20, "{t:#}");
    assert!(
        t["canvas_ink"].as_f64().unwrap() > 0.2,
        "the flame graph is blank: {t:#}"
    );
    assert!(
        t["zoom_after"].as_u64() > t["zoom_before"].as_u64(),
        "a click did not zoom: {t:#}"
    );
    assert_eq!(
        t["zoomed_to"], t["clicked"],
        "the click zoomed elsewhere: {t:#}"
    );

    let shot = dir.join("shot.png");
    let out = headless(
        &chrome,
        &dir.join("profile2"),
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", shot.display()),
        ],
        &format!("file://{}", html.display()),
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let data = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    for p in data.chunks_exact(px) {
        colours.insert((p[0], p[1], p[2]));
        if p[0] < 200 || p[1] < 200 || p[2] < 200 {
            ink += 1;
        }
    }
    assert!(
        colours.len() > 50,
        "screenshot is (nearly) blank: {} colours",
        colours.len()
    );
    assert!(ink > data.len() / px / 50, "screenshot is (nearly) blank");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What accumulates is counted as the collection's logical entries: all 60,000 elements of a
/// HashSet whose buckets chain several nodes each, and every entry of a ConcurrentHashMap whose
/// bins are trees (Java's own `size()` of each, recorded by the fixture).
#[test]
fn accumulated_counts_are_the_collections_logical_entries() {
    for jdk in [Jdk::J11, Jdk::J17] {
        if !have(jdk) {
            continue;
        }
        let cap = capture("IdentitySetLeak", jdk, true, false, &[]);
        let j = analyze(&cap.hprof, &[]);
        let suspects = j["suspects"].as_array().expect("suspects");
        let count_of = |class: &str| {
            suspects
                .iter()
                .find(|s| s["accumulated"]["class"] == class)
                .map(|s| s["accumulated"]["count"].clone())
        };
        assert_eq!(
            count_of("com.example.IdentitySetLeak$Session"),
            Some(cap.planted["sessions"].clone()),
            "{jdk}: {}",
            serde_json::to_string_pretty(suspects).unwrap()
        );
        assert_eq!(
            count_of("com.example.IdentitySetLeak$Report"),
            Some(cap.planted["reports"].clone()),
            "{jdk}: {}",
            serde_json::to_string_pretty(suspects).unwrap()
        );
    }
}
