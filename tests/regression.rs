//! Regression tests for the reliability and security findings of issue 14 (reproducers in
//! `../shared/reliability/`, README there): one test per class of failure, named after it.
//! Inputs small enough to write here are written with `support::hprof_writer`; the shared
//! reproducers are read from `../shared/reliability/repro/` when present (skipped with a note
//! when not). Tests that need another user run the binary as `nobody` (via `setpriv`) and are
//! skipped with a note when the suite does not run as root.

use crate::support::hprof_writer::{
    hotspot_gzip, Grouping, HprofWriter, Root, TempDir, Ty, Written,
};
use crate::synthetic::{oomsleuth, Run};
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::cache::forgery;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---- helpers ---------------------------------------------------------------------------------

/// A heap with an obvious leak: one `Object[]` (a GC root) holding `n` `com.Leak` objects,
/// each with an `int[]` of 64; the roots are written last (as JDK 17+ does).
fn leak(n: usize) -> HprofWriter {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let leak = w
        .class("com.Leak")
        .extends(object)
        .fields(&[("payload", Ty::Object), ("n", Ty::Int)])
        .define();
    let array = w.array_class("[Ljava/lang/Object;", object);
    let mut held = vec![];
    for _ in 0..n {
        let payload = w.primitive_array(Ty::Int, 64);
        let o = w.instance_with(
            leak,
            &[
                crate::support::hprof_writer::Value::Object(payload),
                crate::support::hprof_writer::Value::Int(1),
            ],
        );
        held.push(o);
    }
    let holder = w.object_array(array, &held);
    w.root(Root::Unknown { obj: holder });
    w
}

fn run_json(args: &[&std::ffi::OsStr]) -> (Run, Json) {
    let run = oomsleuth(args);
    let json = serde_json::from_str(&run.stdout).unwrap_or(Json::Null);
    (run, json)
}

fn analyze(path: &Path, extra: &[&str]) -> (Run, Json) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["analyze".as_ref(), "--json".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(path.as_os_str());
    run_json(&args)
}

fn warnings(j: &Json) -> Vec<String> {
    j["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| w["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The shared reproducer `name`, or `None` (with a note) when `../shared` is absent (looked
/// for beside the repository, and beside the worktrees' directory for a `git worktree`).
fn shared(name: &str) -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = ["../shared", "../../shared"]
        .iter()
        .map(|s| repo.join(s).join("reliability/repro").join(name))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("note: ../shared/reliability/repro/{name} is absent; skipping this part");
    }
    found
}

fn is_root() -> bool {
    // SAFETY: no arguments.
    unsafe { libc::geteuid() == 0 }
}

/// Runs the binary as `nobody` with `args`, or `None` (with a note) when that cannot be done.
fn as_nobody(args: &[&std::ffi::OsStr]) -> Option<Run> {
    if !is_root() {
        eprintln!("note: not root: cannot run as nobody; skipping");
        return None;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent")
        .output();
    let Ok(out) = out else {
        eprintln!("note: setpriv is not available; skipping");
        return None;
    };
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    Some(run)
}

/// A directory `nobody` may write to, under the system temporary directory.
fn open_dir(label: &str) -> TempDir {
    let d = TempDir::new(label);
    chmod(d.path(), 0o777);
    d
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_nobody(p: &Path) {
    std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
}

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs the binary, killing it after `limit`; `None` when it had to be killed.
fn run_with_limit(args: &[&std::ffi::OsStr], limit: Duration) -> Option<Run> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return Some(Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into(),
                stderr: String::from_utf8_lossy(&out.stderr).into(),
            });
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- 1. security and data loss ---------------------------------------------------------------

/// r06: the writability probe and every temporary were at predictable names; the probe was
/// opened with O_TRUNC through whatever link was there, truncating the link's target.
#[test]
fn planted_symlinks_at_predictable_names_are_never_written_through() {
    let d = open_dir("r06");
    let dump = d.file(
        "d.hprof",
        &leak(50).finish(&Grouping::Segments { max_body: 4096 }),
    );
    chmod(&dump, 0o644);
    let victim = d.file("victim", b"the user's data");
    chown_nobody(&victim);
    chmod(&victim, 0o600);
    // Links at every name a run of the next few hundred processes would have predicted.
    let next = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1);
    for pid in next..next + 400 {
        for name in [
            format!(".oomsleuth-probe-{pid}"),
            format!("d.hprof.oomsleuth-index.tmp-{pid}"),
            format!(".r.html.tmp-{pid}"),
        ] {
            let _ = std::os::unix::fs::symlink(&victim, d.path().join(name));
        }
    }
    let html = d.path().join("r.html");
    let Some(run) = as_nobody(&[
        "analyze".as_ref(),
        "--html".as_ref(),
        html.as_os_str(),
        dump.as_os_str(),
    ]) else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(&victim).unwrap(), b"the user's data");
    // The cache and the report were written, as regular files.
    let cache = d.path().join("d.hprof.oomsleuth-index");
    assert!(std::fs::symlink_metadata(&cache).unwrap().is_file());
    assert!(std::fs::symlink_metadata(&html).unwrap().is_file());
}

/// r06: a symbolic link at the cache's own name is not replaced (nor written through).
#[test]
fn a_symlink_at_the_cache_name_is_not_replaced() {
    let d = TempDir::new("r06-dest");
    let dump = d.file(
        "d.hprof",
        &leak(20).finish(&Grouping::Segments { max_body: 4096 }),
    );
    let victim = d.file("victim", b"keep");
    let cache = d.path().join("d.hprof.oomsleuth-index");
    std::os::unix::fs::symlink(&victim, &cache).unwrap();
    let (run, j) = analyze(&dump, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(j["summary"].is_object(), "{}", run.stdout);
    assert!(std::fs::symlink_metadata(&cache)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
}

/// r13: the cache of a 0600 dump was created 0644: anyone could read the graph and strings of
/// a dump they cannot open. Caches and reports follow the dump's permissions.
#[test]
fn files_derived_from_a_private_dump_are_private() {
    let d = open_dir("r13");
    let dump = d.file(
        "d.hprof",
        &leak(20).finish(&Grouping::Segments { max_body: 4096 }),
    );
    chown_nobody(&dump);
    chmod(&dump, 0o600);
    let html = d.path().join("r.html");
    let Some(run) = as_nobody(&[
        "analyze".as_ref(),
        "--html".as_ref(),
        html.as_os_str(),
        dump.as_os_str(),
    ]) else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(mode_of(&d.path().join("d.hprof.oomsleuth-index")), 0o600);
    assert_eq!(mode_of(&html), 0o600);
}

/// r07: a cache whose sections were forged (and its checksum recomputed) made `analyze` panic
/// (index out of bounds in the dominator tree) or was trusted silently. Every forged section
/// is either caught (rebuilt, with a note) or harmless, and never panics; the index sections
/// the loader walks are always caught.
#[test]
fn forged_cache_sections_are_caught_not_trusted() {
    let d = TempDir::new("r07");
    let dump = d.file(
        "d.hprof",
        &leak(200).finish(&Grouping::Segments { max_body: 4096 }),
    );
    let (_, fresh) = analyze(&dump, &["--no-cache"]);
    let cache = d.path().join("d.hprof.oomsleuth-index");
    let (run, _) = analyze(&dump, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let good = std::fs::read(&cache).unwrap();
    let sections = forgery::sections(&good).unwrap();
    // Offsets, Starts, Targets, Idom, Preorder (see `Sec`): walked by index. (Values in range,
    // such as a class index or a size, cannot be told from the real ones without re-reading
    // the dump: a cache is only trusted when it is this user's and no one else may write it.)
    let indices = [1usize, 5, 6, 10, 11];
    for (i, &(off, len)) in sections.iter().enumerate() {
        for fill in [0u8, 0xFF] {
            let mut forged = good.clone();
            forged[off..off + len].fill(fill);
            if forged == good {
                continue;
            }
            forgery::reseal(&mut forged);
            std::fs::write(&cache, &forged).unwrap();
            let (run, j) = analyze(&dump, &[]);
            assert_eq!(
                run.code, 0,
                "section {i} filled with {fill:#x}: {}",
                run.stderr
            );
            let caught = run.stderr.contains("rebuilding");
            if indices.contains(&i) {
                assert!(
                    caught,
                    "forged section {i} ({fill:#x}) was trusted: {}",
                    run.stderr
                );
            }
            if caught {
                assert_eq!(j["suspects"], fresh["suspects"], "section {i}");
                assert_eq!(j["summary"], fresh["summary"], "section {i}");
            }
        }
    }
}

/// r08: the cache key covered only the size, mtime and first and last 64 KiB: a different dump
/// of the same size and mtime, differing in the middle, was answered from the other's cache.
#[test]
fn a_cache_is_never_used_for_a_dump_that_differs_in_the_middle() {
    let d = TempDir::new("r08");
    let make = |class: &str| {
        let mut w = HprofWriter::hotspot(8);
        let object = w.class("java.lang.Object").define();
        let a = w.class("com.Aaaa").extends(object).define();
        let b = w.class("com.Bbbb").extends(object).define();
        let array = w.array_class("[Ljava/lang/Object;", object);
        let pad1 = w.primitive_array(Ty::Byte, 200_000);
        let o = w.instance(if class == "a" { a } else { b });
        let pad2 = w.primitive_array(Ty::Byte, 200_000);
        let holder = w.object_array(array, &[pad1, o, pad2]);
        w.root(Root::Unknown { obj: holder });
        w.finish(&Grouping::Segments { max_body: 1 << 20 })
    };
    let (a, b) = (make("a"), make("b"));
    assert_eq!(a.len(), b.len());
    let pa = d.file("a.hprof", &a);
    let (run, _) = analyze(&pa, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // B replaces A in place, with A's size and mtime.
    let mtime = std::fs::metadata(&pa).unwrap().modified().unwrap();
    std::fs::write(&pa, &b).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&pa)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (_, cached) = analyze(&pa, &[]);
    let (_, fresh) = analyze(&pa, &["--no-cache"]);
    assert_eq!(cached["histogram"], fresh["histogram"]);
    assert!(
        cached.to_string().contains("com.Bbbb") && !cached.to_string().contains("\"com.Aaaa\""),
        "answered from the other dump's cache"
    );
}

// ---- 2. resource bombs and faults ------------------------------------------------------------

/// Runs the binary to the end; returns its exit code and peak resident memory in KiB, the largest
/// `VmHWM` its `/proc/PID/status` showed while it ran (polled every millisecond). Not wait4(2)'s
/// `ru_maxrss`: a child spawned from this test process counts the parent's resident memory before
/// its exec, so under a parallel test run it reported the test harness's hundreds of MB.
fn run_measuring_rss(args: &[&std::ffi::OsStr]) -> (i32, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            // Before exec the child still shows the harness's image: only count the oomsleuth image.
            let is_ours = text
                .lines()
                .any(|l| l.starts_with("Name:") && l.contains("oomsleuth"));
            if let (Some(h), true) = (hwm, is_ours) {
                peak = peak.max(h);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    (status.code().unwrap_or(-1), peak)
}

/// r03: every HEAP DUMP SEGMENT record cost about 1 KB of memory, empty or not: a 52 KB `.gz`
/// of 3 million empty segments took 3 GB. Memory is bounded by what the dump holds.
#[test]
fn empty_segments_cost_no_memory() {
    let d = TempDir::new("r03");
    let written = leak(10).write(&Grouping::Segments { max_body: 4096 });
    let end = written.bytes.len() - 9; // the HEAP DUMP END record
    let mut bytes = written.bytes[..end].to_vec();
    for _ in 0..600_000 {
        bytes.extend_from_slice(&[0x1C, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    bytes.extend_from_slice(&written.bytes[end..]);
    let p = d.file("empty-segments.hprof", &bytes);
    let (code, rss_kib) = run_measuring_rss(&["histogram".as_ref(), p.as_os_str()]);
    assert_eq!(code, 0);
    // 600k segments at 1 KB each would be 600 MB; the dump itself is 5.4 MB.
    assert!(rss_kib > 0, "the process was never seen running");
    assert!(rss_kib < 150_000, "peak RSS {rss_kib} KiB for a 5 MB dump");
}

/// r09: the HTML report of a class with 65,535 statics pointing at itself took 161 s: each
/// static's description parsed the whole class dump again (a dump without `java.lang.Class`).
/// Linear now: 20,000 statics well under the old quadratic cost.
#[test]
fn html_report_is_linear_in_static_fields() {
    let d = TempDir::new("r09");
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let me = w.alloc_id();
    let mut b = w.class("com.ManyStatics").id(me).extends(object);
    for i in 0..20_000 {
        b = b.static_field(
            &format!("s{i}"),
            crate::support::hprof_writer::Value::Object(me),
        );
    }
    b.define();
    w.root(Root::Unknown { obj: me });
    let dump = d.file(
        "statics.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 20 }),
    );
    let html = d.path().join("r.html");
    let t = Instant::now();
    let run = run_with_limit(
        &[
            "analyze".as_ref(),
            "--no-cache".as_ref(),
            "--html".as_ref(),
            html.as_os_str(),
            dump.as_os_str(),
        ],
        Duration::from_secs(60),
    )
    .expect("analyze --html took over a minute");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// r12: a FIFO named on the command line blocked forever.
#[test]
fn a_fifo_on_the_command_line_is_refused_not_waited_on() {
    let d = TempDir::new("r12");
    let fifo = d.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for cmd in ["histogram", "analyze", "gclog"] {
        let run = run_with_limit(&[cmd.as_ref(), fifo.as_os_str()], Duration::from_secs(20))
            .unwrap_or_else(|| panic!("`{cmd} FIFO` blocked"));
        assert!(run.stderr.contains("FIFO"), "{cmd}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

/// r05: a gzip file of zeros was inflated to disk in full before the header check said "not
/// an HPROF heap dump"; the first bytes tell. Run with a 16 MiB file-size limit: inflating
/// the 64 MiB of zeros would exceed it.
#[test]
fn a_gzip_bomb_is_refused_before_it_is_inflated() {
    let d = TempDir::new("r05");
    let zeros = vec![0u8; 64 << 20];
    let plain = d.file(
        "zeros.hprof.gz",
        &crate::support::hprof_writer::plain_gzip(&zeros),
    );
    let hotspot = d.file("zeros-hs.hprof.gz", &hotspot_gzip(&zeros, 8 << 20));
    // HPROF for its header, then zeros: stops being HPROF at the first record.
    let mut fake = leak(1).header();
    fake.extend_from_slice(&zeros);
    let headed = d.file(
        "headed.hprof.gz",
        &crate::support::hprof_writer::plain_gzip(&fake),
    );
    let scratch = d.path().join("scratch");
    for (p, not_hprof) in [(&plain, true), (&hotspot, true), (&headed, false)] {
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -f 32768; exec \"$0\" histogram --cache-dir \"$1\" \"$2\"")
            .arg(env!("CARGO_BIN_EXE_oomsleuth"))
            .arg(&scratch)
            .arg(p)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if not_hprof {
            assert_eq!(out.status.code(), Some(2), "{}: {stderr}", p.display());
            assert!(stderr.contains("not an HPROF heap dump"), "{stderr}");
        } else {
            assert_eq!(out.status.code(), Some(0), "{}: {stderr}", p.display());
            assert!(stderr.contains("stops being HPROF"), "{stderr}");
        }
        // The message is not repeated.
        assert!(
            stderr.matches("not an HPROF heap dump").count() <= 1,
            "{stderr}"
        );
    }
}

/// r04: inflating a HotSpot `.gz` into a full tmpfs died of SIGBUS with nothing printed. Needs
/// a private mount namespace (root); skipped otherwise.
#[test]
fn a_full_scratch_directory_is_an_error_naming_it_not_sigbus() {
    if !is_root() {
        eprintln!("note: not root: cannot mount a small tmpfs; skipping");
        return;
    }
    let d = TempDir::new("r04");
    let bytes = leak(9000).finish(&Grouping::Segments { max_body: 1 << 16 });
    assert!(bytes.len() > 2 << 20);
    let gz = d.file("d.hprof.gz", &hotspot_gzip(&bytes, 1 << 16));
    let small = d.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg("mount -t tmpfs -o size=1m none \"$1\" || exit 77; exec \"$0\" histogram --cache-dir \"$1\" \"$2\"")
        .arg(env!("CARGO_BIN_EXE_oomsleuth"))
        .arg(&small)
        .arg(&gz)
        .output()
        .unwrap();
    if out.status.code() == Some(77) {
        eprintln!("note: cannot mount a tmpfs here; skipping");
        return;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "signal or wrong code: {:?} {stderr}",
        out.status
    );
    assert!(stderr.contains(small.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("--cache-dir"), "{stderr}");
    assert!(stderr.contains(&bytes.len().to_string()), "{stderr}");
}

/// The histogram of `path` as (class, count) pairs, and the warnings.
fn histogram_of(path: &Path) -> (Vec<(String, u64)>, Vec<String>, i32) {
    let (run, j) = run_json(&["histogram".as_ref(), "--json".as_ref(), path.as_os_str()]);
    let rows = j["classes"]
        .as_array()
        .or_else(|| j["rows"].as_array())
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["class"]
                            .as_str()
                            .or(r["name"].as_str())
                            .unwrap_or("")
                            .to_string(),
                        r["instances"].as_u64().or(r["count"].as_u64()).unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (rows, warnings(&j), run.code)
}

/// r02, r11, r14: gzip members. A missing trailer dropped the whole last member; a CRC error
/// passed silently; a wrong ISIZE in the last member made the dump "an empty file".
#[test]
fn gzip_members_are_checked_and_what_inflates_is_kept() {
    let d = TempDir::new("gz");
    let bytes = leak(400).finish(&Grouping::Segments { max_body: 1 << 14 });
    let block = 1 << 14;
    let gz = hotspot_gzip(&bytes, block);
    let (want, w, _) = histogram_of(&d.file("full.hprof.gz", &gz));
    assert!(w.is_empty(), "{w:?}");
    assert!(
        want.iter().any(|(c, n)| c == "com.Leak" && *n == 400),
        "{want:?}"
    );
    // r02: no 8-byte trailer: everything inflates.
    let (got, w, code) = histogram_of(&d.file("minus8.hprof.gz", &gz[..gz.len() - 8]));
    assert_eq!(code, 0);
    assert_eq!(got, want);
    assert!(w.iter().any(|m| m.contains("trailer")), "{w:?}");
    // r11: a CRC byte of a middle member flipped: a warning naming the member.
    let starts: Vec<usize> = (1..gz.len() - 2)
        .filter(|&i| gz[i..].starts_with(&[0x1f, 0x8b, 8, 0]))
        .collect();
    let mut bad = gz.clone();
    bad[starts[3] - 8] ^= 0xFF;
    let (got, w, _) = histogram_of(&d.file("crc.hprof.gz", &bad));
    assert_eq!(got, want);
    assert!(
        w.iter()
            .any(|m| m.contains("CRC32") && m.contains("member")),
        "{w:?}"
    );
    // r14: one member whose ISIZE is 0: its data is used, with a warning.
    let one = hotspot_gzip(&bytes, 1 << 30);
    let mut zero = one.clone();
    let n = zero.len();
    zero[n - 4..].fill(0);
    let (got, w, code) = histogram_of(&d.file("isize.hprof.gz", &zero));
    assert_eq!(code, 0, "{w:?}");
    assert_eq!(got, want);
    assert!(
        w.iter().any(|m| m.contains("says it holds 0 bytes")),
        "{w:?}"
    );
}

// ---- 3. truncated dumps ----------------------------------------------------------------------

/// r01: a dump cut on a record boundary (before its last segment, which holds the GC roots)
/// was reported clean: exit 0, no warning, `--fail-on-suspect` passed.
#[test]
fn a_dump_cut_on_a_record_boundary_is_reported_truncated() {
    let d = TempDir::new("r01");
    let written: Written = leak(300).write(&Grouping::Segments { max_body: 1 << 12 });
    let last_segment = written
        .records
        .iter()
        .rev()
        .find(|(tag, _)| *tag == 0x1C)
        .unwrap()
        .1 as usize;
    for (name, cut) in [
        ("before-end.hprof", written.bytes.len() - 9),
        ("before-last-segment.hprof", last_segment),
    ] {
        let p = d.file(name, &written.bytes[..cut]);
        let (run, j) = analyze(&p, &["--fail-on-suspect"]);
        let w = warnings(&j);
        assert!(w.iter().any(|m| m.contains("truncated")), "{name}: {w:?}");
        assert_ne!(
            run.code, 0,
            "{name}: a truncated dump passed --fail-on-suspect"
        );
        let (_, w, _) = histogram_of(&p);
        assert!(w.iter().any(|m| m.contains("truncated")), "{name}: {w:?}");
    }
    if let Some(p) = shared("r01-cut-at-segment-boundary.hprof") {
        let (run, j) = analyze(&p, &["--no-cache", "--fail-on-suspect"]);
        assert_ne!(run.code, 0);
        assert!(warnings(&j).iter().any(|m| m.contains("truncated")));
    }
}

/// Errors repeated themselves ("not an HPROF heap dump: ...: not an HPROF heap dump: ..."),
/// and an IBM Portable Heap Dump was only "not HPROF": it is named, with what to do instead.
#[test]
fn errors_say_it_once_and_name_an_ibm_portable_heap_dump() {
    let d = TempDir::new("errs");
    let text = d.file("x.hprof", b"hello, not a dump\n");
    let run = oomsleuth(["histogram".as_ref(), text.as_os_str()]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.matches("not an HPROF heap dump").count(),
        1,
        "{}",
        run.stderr
    );
    let mut phd = b"\x00\x12portable heap dump".to_vec();
    phd.extend_from_slice(&[0u8; 64]);
    let phd = d.file("heapdump.phd", &phd);
    for cmd in ["histogram", "analyze"] {
        let run = oomsleuth([cmd.as_ref(), phd.as_os_str()]);
        assert_eq!(run.code, 2, "{cmd}: {}", run.stderr);
        assert!(
            run.stderr.contains("IBM Portable Heap Dump"),
            "{cmd}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("jcmd"), "{cmd}: {}", run.stderr);
    }
}

// ---- 4. the cache fuzz target's entry point --------------------------------------------------

/// The fuzz target's entry point accepts the cache it wrote and rejects garbage, without
/// panicking on either.
#[test]
fn forgery_load_accepts_a_real_cache_and_rejects_garbage() {
    let d = TempDir::new("fz");
    let dump = d.file(
        "d.hprof",
        &leak(30).finish(&Grouping::Segments { max_body: 4096 }),
    );
    let (run, _) = analyze(&dump, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cache = std::fs::read(d.path().join("d.hprof.oomsleuth-index")).unwrap();
    // fuzz/seed-cache.sh: the seed is [dump length][dump][cache], as the fuzz target reads.
    if let Some(dir) = std::env::var_os("OOMSLEUTH_CACHE_FUZZ_SEEDS") {
        let dump_bytes = std::fs::read(&dump).unwrap();
        let mut seed = (dump_bytes.len() as u32).to_le_bytes().to_vec();
        seed.extend_from_slice(&dump_bytes);
        seed.extend_from_slice(&cache);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join("leak-30"), seed).unwrap();
    }
    let bytes = DumpBytes::open(&dump, None).unwrap();
    assert!(forgery::load(&bytes, &cache));
    assert!(!forgery::load(&bytes, &[0u8; 4096]));
    let mut c = cache.clone();
    let (off, len) = forgery::sections(&c).unwrap()[11];
    c[off..off + len].fill(0);
    assert!(!forgery::load(&bytes, &c));
}

// ---- 4. every peer dump, every option --------------------------------------------------------

/// MAT's peer dumps (`../shared/peer-dumps`), or `None` (with a note) when absent.
fn peer_dumps() -> Option<Vec<PathBuf>> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = ["../shared", "../../shared"]
        .iter()
        .map(|s| repo.join(s).join("peer-dumps"))
        .find(|p| p.is_dir());
    let Some(dir) = dir else {
        eprintln!("note: ../shared/peer-dumps is absent; skipping");
        return None;
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".hprof") || n.ends_with(".hprof.gz")
        })
        .collect();
    v.sort();
    Some(v)
}

/// `--compressed-oops off` on a 4-byte-id dump left no candidate layout and panicked; 4-byte
/// ids were taken as proof of a 32-bit JVM though the hprof agent writes them on 64-bit JVMs.
/// Every peer dump, with histogram and analyze and each `--compressed-oops` value: no panic,
/// exit 0 or 2, and the override is what the JSON reports.
#[test]
fn no_peer_dump_panics_with_any_compressed_oops_setting() {
    let Some(dumps) = peer_dumps() else { return };
    assert!(!dumps.is_empty(), "no .hprof in ../shared/peer-dumps");
    for dump in &dumps {
        for setting in [None, Some("on"), Some("off")] {
            for command in ["histogram", "analyze"] {
                let mut args: Vec<&std::ffi::OsStr> =
                    vec![command.as_ref(), "--no-cache".as_ref(), "--json".as_ref()];
                if let Some(s) = setting {
                    args.push("--compressed-oops".as_ref());
                    args.push(s.as_ref());
                }
                args.push(dump.as_os_str());
                let run = oomsleuth(&args);
                let what = format!("{command} {setting:?} {}", dump.display());
                assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
                assert!(run.code == 0 || run.code == 2, "{what}: exit {}", run.code);
                if run.code == 0 && command == "analyze" {
                    let j: Json = serde_json::from_str(&run.stdout).unwrap_or(Json::Null);
                    let a = &j["assumptions"];
                    if let Some(s) = setting {
                        assert_eq!(a["compressed_oops"], Json::Bool(s == "on"), "{what}");
                        assert_eq!(
                            a["reference_bytes"],
                            4 + 4 * u64::from(s == "off"),
                            "{what}"
                        );
                    }
                }
            }
        }
    }
}

// ---- 5. HPROF structure: several dumps, no roots, what the writer got wrong ------------------

/// A dump of `n` `com.Foo` objects, each a GC root. Ids come from one counter, so two writers
/// give the classes (and the first objects) the same ids, as two dumps of one JVM do.
pub(crate) fn foos(n: usize) -> HprofWriter {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let foo_class = w
        .class("com.Foo")
        .extends(object)
        .field("x", Ty::Int)
        .define();
    for id in w.instances(foo_class, n) {
        w.root(Root::Unknown { obj: id });
    }
    w
}

/// A file as the hprof agent writes it: the names once, then each dump as a segment closed by
/// HEAP DUMP END.
pub(crate) fn several_dumps(dumps: &[HprofWriter]) -> Vec<u8> {
    use crate::support::hprof_writer::put_record_header;
    let mut bytes = dumps.last().unwrap().header_and_records();
    for w in dumps {
        let body = w.heap_body();
        put_record_header(&mut bytes, 0x1C, body.len() as u32);
        bytes.extend_from_slice(&body);
        put_record_header(&mut bytes, 0x2C, 0);
    }
    bytes
}

fn count_of(rows: &[(String, u64)], class: &str) -> Option<u64> {
    rows.iter().find(|(c, _)| c == class).map(|r| r.1)
}

/// The objects of two dumps in one file were merged (3 + 5 `com.Foo`, ids twice). Now the last
/// is analysed with a note naming both, `--dump N` picks one, a number the file lacks is an
/// error, and the cache of one dump is never the answer for another.
#[test]
fn two_heap_dumps_in_one_file_are_never_mixed() {
    let d = TempDir::new("two-dumps");
    let path = d.file("agent.hprof", &several_dumps(&[foos(3), foos(5)]));
    let (rows, w, code) = histogram_of(&path);
    assert_eq!(code, 0, "{w:?}");
    assert_eq!(count_of(&rows, "com.Foo"), Some(5), "{rows:?}");
    assert!(
        w.iter()
            .any(|m| m.contains("2 heap dumps") && m.contains("--dump")),
        "{w:?}"
    );
    let run = oomsleuth([
        "histogram".as_ref(),
        "--dump".as_ref(),
        "1".as_ref(),
        "--json".as_ref(),
        path.as_os_str(),
    ]);
    let j: Json = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["dump"]["analysed_dump"], 1);
    let listed = j["dump"]["heap_dumps"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["objects"], 3);
    assert!(listed[1]["objects"].is_null());
    assert!(j["classes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "com.Foo" && r["instances"] == 3));
    let run = oomsleuth([
        "histogram".as_ref(),
        "--dump".as_ref(),
        "3".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("holds 2"), "{}", run.stderr);
    // With the cache: each dump keeps its own, and is never the answer for another.
    for (n, want) in [("1", 3), ("2", 5), ("1", 3), ("2", 5)] {
        let (run, j) = analyze(&path, &["--dump", n]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(j["dump"]["objects"], want, "--dump {n}");
        assert_eq!(j["heap"]["dangling_references"], 0);
        assert!(!run.stderr.contains("stale"), "{}", run.stderr);
    }
    assert!(d.path().join("agent.hprof.dump1.oomsleuth-index").exists());
    let (_, j) = analyze(&path, &[]);
    assert_eq!(j["dump"]["objects"], 5, "the default, the last");
    let text = oomsleuth(["analyze".as_ref(), path.as_os_str()]);
    assert!(
        text.stdout.contains("heap dump #2 of the 2 in the file"),
        "{}",
        text.stdout
    );
}

/// MAT's MultipleSnapshots: the hprof agent's oracle_jdk7_21_hprofagent holds two dumps, #1 and
/// #2, with different object counts (two HEAP DUMP records, no segments).
#[test]
fn the_hprof_agent_dump_of_mat_holds_two_dumps_with_different_counts() {
    let Some(dumps) = peer_dumps() else { return };
    let Some(path) = dumps
        .iter()
        .find(|p| p.ends_with("oracle_jdk7_21_hprofagent.hprof"))
    else {
        eprintln!("note: oracle_jdk7_21_hprofagent.hprof is absent; skipping");
        return;
    };
    let objects = |n: &str| {
        let (run, j) = run_json(&[
            "histogram".as_ref(),
            "--json".as_ref(),
            "--dump".as_ref(),
            n.as_ref(),
            path.as_os_str(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(j["dump"]["heap_dumps"].as_array().unwrap().len(), 2);
        j["dump"]["objects"].as_u64().unwrap()
    };
    let (one, two) = (objects("1"), objects("2"));
    assert!(one > 0 && two > 0);
    assert_ne!(one, two, "MAT: the two dumps have different object counts");
    let (rows, w, _) = histogram_of(path);
    assert!(!rows.is_empty());
    assert!(
        w.iter().any(|m| m.contains("analysed only #2, the last")),
        "{w:?}"
    );
    let (run, j) = analyze(path, &["--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(j["dump"]["objects"].as_u64(), Some(two));
}

/// The demo dump (`demo/leaking-map.hprof.gz`), inflated.
fn demo_bytes() -> Vec<u8> {
    use std::io::Read;
    let gz = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/leaking-map.hprof.gz"))
        .unwrap();
    let mut out = vec![];
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Offsets of the top-level records of an HPROF file, with their tags.
fn record_offsets(b: &[u8]) -> Vec<(u8, usize)> {
    let mut p = b.iter().position(|&c| c == 0).unwrap() + 1 + 12;
    let mut v = vec![];
    while p + 9 <= b.len() {
        let len = u32::from_be_bytes(b[p + 5..p + 9].try_into().unwrap()) as usize;
        v.push((b[p], p));
        p += 9 + len;
    }
    v
}

/// Where the GC roots of a JDK 17+ dump start: the first sub-record of its last segment that is
/// not an object (instances and arrays come first, the roots after them). Walks 8-byte ids.
fn first_root_offset(b: &[u8]) -> usize {
    let last = record_offsets(b)
        .into_iter()
        .rfind(|r| r.0 == 0x1C)
        .unwrap()
        .1;
    let u4 = |p: usize| u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
    let mut p = last + 9;
    loop {
        let body = p + 1;
        p = match b[p] {
            0x21 => body + 8 + 4 + 8 + 4 + u4(body + 20),
            0x22 => body + 8 + 4 + 4 + 8 + 8 * u4(body + 12),
            0x23 => {
                let elem = [0, 0, 0, 0, 1, 2, 4, 8, 1, 2, 4, 8][b[body + 16] as usize];
                body + 8 + 4 + 4 + 1 + elem * u4(body + 12)
            }
            _ => return p,
        };
    }
}

/// r01: JDK 17+ writes the GC roots last, so a truncated dump has none: "live heap 0 B", no
/// suspect. As MAT does, system classes and threads are then the roots, and the demo's leak
/// (the HashMap held by ConnectionRegistry.byIp) is still found, with a warning saying so.
#[test]
fn a_dump_that_lost_its_roots_falls_back_to_system_classes_and_threads() {
    let d = TempDir::new("noroots");
    let bytes = demo_bytes();
    let cut = d.file("cut.hprof", &bytes[..first_root_offset(&bytes)]);
    let (run, j) = analyze(&cut, &["--no-cache", "--fail-on-suspect"]);
    let w = warnings(&j);
    let fallback = |w: &[String]| {
        w.iter()
            .any(|m| m.contains("system classes") && m.contains("taken as the GC roots"))
    };
    assert!(w.iter().any(|m| m.contains("truncated")), "{w:?}");
    assert!(fallback(&w), "{w:?}");
    assert_eq!(run.code, 1, "the leak is found: {}", run.stderr);
    let first = j["suspects"][0]["title"].as_str().unwrap_or_default();
    assert!(
        first.contains("java.util.HashMap") && first.contains("ConnectionRegistry.byIp"),
        "{first}"
    );
    // The shared r01 is cut much earlier (most objects are gone): the fallback is said there too.
    if let Some(p) = shared("r01-cut-at-segment-boundary.hprof") {
        let (run, j) = analyze(&p, &["--no-cache"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(fallback(&warnings(&j)), "{:?}", warnings(&j));
    }
}

/// With no root, no system class and no thread, every object nothing references is a root.
#[test]
fn without_roots_or_threads_unreferenced_objects_are_the_roots() {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").loader(0x77).define();
    let node = w
        .class("com.Node")
        .extends(object)
        .loader(0x77)
        .field("next", Ty::Object)
        .define();
    use crate::support::hprof_writer::Value;
    let tail = w.instance_with(node, &[Value::Object(0)]);
    let head = w.instance_with(node, &[Value::Object(tail)]);
    let d = TempDir::new("unref");
    let path = d.file(
        "u.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 16 }),
    );
    let (run, j) = analyze(&path, &["--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        warnings(&j)
            .iter()
            .any(|m| m.contains("no other object references")),
        "{:?}",
        warnings(&j)
    );
    // The head is the one root and retains the tail.
    let (run, j) = run_json(&[
        "top".as_ref(),
        "--json".as_ref(),
        "--no-cache".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let head_id = format!("0x{head:x}");
    let row = j["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == head_id.as_str())
        .cloned()
        .unwrap_or(Json::Null);
    assert!(
        row["retained_bytes"].as_u64() > row["shallow_bytes"].as_u64(),
        "{row}"
    );
}

/// The r15 reproducers' analyze and histogram warnings, or `None` when absent.
fn r15(name: &str) -> Option<(Json, Vec<String>)> {
    let p = shared(name)?;
    let (run, j) = analyze(&p, &["--no-cache"]);
    assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    let (_, hw, code) = histogram_of(&p);
    assert_eq!(code, 0);
    let mut w = warnings(&j);
    w.extend(hw);
    Some((j, w))
}

/// r15: a superclass cycle (A -> B -> A) or a class its own superclass was accepted silently,
/// and every instance counted 10,000 laps of fields (40 KB for three ints).
#[test]
fn superclass_cycles_are_cut_and_said() {
    let mut w = HprofWriter::hotspot(8);
    let (a, b, c) = (w.alloc_id(), w.alloc_id(), w.alloc_id());
    w.class("com.A")
        .id(a)
        .extends(b)
        .field("x", Ty::Int)
        .define();
    w.class("com.B")
        .id(b)
        .extends(a)
        .field("y", Ty::Int)
        .define();
    w.class("com.C")
        .id(c)
        .extends(c)
        .field("z", Ty::Long)
        .define();
    for k in [a, b, c] {
        let o = w.instance(k);
        w.root(Root::Unknown { obj: o });
    }
    let d = TempDir::new("cycle");
    let path = d.file(
        "c.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 16 }),
    );
    let (rows, warns, code) = histogram_of(&path);
    assert_eq!(code, 0);
    for class in ["com.A", "com.B", "com.C"] {
        assert_eq!(count_of(&rows, class), Some(1), "{rows:?}");
    }
    assert!(
        warns.iter().any(|m| m.contains("2 superclass cycle")),
        "{warns:?}"
    );
    let (run, j) = analyze(&path, &["--no-cache"]);
    assert_eq!(run.code, 0);
    assert!(warnings(&j).iter().any(|m| m.contains("superclass cycle")));
    // Each field once: no instance of a class with two int fields is near a kilobyte.
    for r in j["histogram"].as_array().unwrap() {
        assert!(r["shallow_bytes"].as_u64().unwrap() < 256, "{r}");
    }
    if let Some((j, w)) = r15("r15-cyclic-superclass.hprof") {
        assert!(w.iter().any(|m| m.contains("superclass cycle")), "{w:?}");
        for r in j["histogram"].as_array().unwrap() {
            assert!(r["shallow_bytes"].as_u64().unwrap() < 1024, "{r}");
        }
    }
}

/// r15: instances of a class id with no CLASS DUMP record were analysed silently (histogram
/// only warned when the rows it showed held one).
#[test]
fn instances_of_undeclared_classes_are_said_in_every_output() {
    let mut w = leak(3);
    let ghost = w.alloc_id();
    let o = w.instance(ghost);
    w.root(Root::Unknown { obj: o });
    let d = TempDir::new("ghost");
    let path = d.file(
        "g.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 16 }),
    );
    let (run, j) = analyze(&path, &["--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let said = |w: &[String]| w.iter().any(|m| m.contains("no CLASS DUMP record"));
    assert!(said(&warnings(&j)), "{:?}", warnings(&j));
    let run = oomsleuth([
        "histogram".as_ref(),
        "--json".as_ref(),
        "-n".as_ref(),
        "1".as_ref(),
        "--filter".as_ref(),
        "Leak".as_ref(),
        path.as_os_str(),
    ]);
    let j: Json = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        said(&warnings(&j)),
        "a filter hid the warning: {:?}",
        warnings(&j)
    );
    if let Some((_, w)) = r15("r15-instance-unknown-class.hprof") {
        assert!(said(&w), "{w:?}");
    }
}

/// r15: two records with one object id were both counted and one silently dropped from the graph.
#[test]
fn duplicate_object_ids_are_counted_and_said_once() {
    let mut w = leak(3);
    let dup = w.sub_records()[w.sub_record_count() - 3].clone(); // a com.Leak instance
    w.raw_sub_record(dup.clone());
    w.raw_sub_record(dup);
    let d = TempDir::new("dup");
    let path = d.file(
        "d.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 16 }),
    );
    let (run, j) = analyze(&path, &["--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hits: Vec<String> = warnings(&j)
        .into_iter()
        .filter(|m| m.contains("more than one record"))
        .collect();
    assert_eq!(hits.len(), 1, "{:?}", warnings(&j));
    assert!(hits[0].starts_with("2 object id"), "{hits:?}");
    if let Some((_, w)) = r15("r15-duplicate-ids.hprof") {
        assert!(
            w.iter().any(|m| m.contains("more than one record")),
            "{w:?}"
        );
    }
}

/// r15: 100,000 GC roots to objects not in the dump were dropped silently.
#[test]
fn gc_roots_to_missing_objects_are_counted_and_said_once() {
    let mut w = leak(3);
    for k in 0..1000u64 {
        w.root(Root::Unknown {
            obj: 0xdead_0000 + 8 * k,
        });
    }
    // A thread root naming id 0 (as the hprof agent writes them) names no object: not counted.
    w.root(Root::ThreadObject {
        obj: 0,
        thread: 9,
        stack_trace: 0,
    });
    let d = TempDir::new("dangling");
    let path = d.file(
        "r.hprof",
        &w.finish(&Grouping::Segments { max_body: 1 << 16 }),
    );
    let (run, j) = analyze(&path, &["--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hits: Vec<String> = warnings(&j)
        .into_iter()
        .filter(|m| m.contains("GC root record(s) name objects that are not in the dump"))
        .collect();
    assert_eq!(hits.len(), 1, "{:?}", warnings(&j));
    assert!(hits[0].starts_with("1000 "), "{hits:?}");
    // The real root still holds the leak.
    assert!(
        j["heap"]["live_objects"].as_u64().unwrap_or(0) >= 7,
        "{}",
        j["heap"]
    );
    if let Some((_, w)) = r15("r15-roots-dangling-100k.hprof") {
        assert!(
            w.iter()
                .any(|m| m.contains("GC root record(s) name objects that are not in the dump")),
            "{w:?}"
        );
    }
}

/// r14: a member whose ISIZE is wrong hid the next member (it was no longer found as one) or,
/// in the last member, made the file "empty". Each member's bytes are read whatever its ISIZE.
#[test]
fn a_wrong_gzip_size_field_never_hides_data() {
    let d = TempDir::new("isize");
    let bytes = leak(400).finish(&Grouping::Segments { max_body: 1 << 14 });
    let gz = hotspot_gzip(&bytes, 1 << 14);
    let (want, _, _) = histogram_of(&d.file("full.hprof.gz", &gz));
    let starts: Vec<usize> = (1..gz.len() - 3)
        .filter(|&i| gz[i..].starts_with(&[0x1f, 0x8b, 8, 0]))
        .collect();
    assert!(starts.len() >= 3);
    // The ISIZE before each member header, and the file's last one.
    let mut at: Vec<usize> = starts.iter().map(|s| s - 4).collect();
    at.push(gz.len() - 4);
    for (k, &p) in at.iter().enumerate() {
        let mut bad = gz.clone();
        bad[p..p + 4].fill(0);
        let (got, w, code) = histogram_of(&d.file(&format!("bad{k}.hprof.gz"), &bad));
        assert_eq!(code, 0, "{k}: {w:?}");
        assert_eq!(got, want, "ISIZE {k} of {}: {w:?}", at.len());
        assert!(
            w.iter().any(|m| m.contains("says it holds 0 bytes")),
            "{k}: {w:?}"
        );
        assert!(!w.iter().any(|m| m.contains("truncated")), "{k}: {w:?}");
    }
    if let Some(p) = shared("r14-hotspot-bad-last-isize.hprof.gz") {
        let run = oomsleuth(["histogram".as_ref(), "--json".as_ref(), p.as_os_str()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stderr.contains("empty file"), "{}", run.stderr);
        let j: Json = serde_json::from_str(&run.stdout).unwrap();
        assert!(warnings(&j)
            .iter()
            .any(|m| m.contains("says it holds 0 bytes")));
    }
}

// ---- 6. deep superclass chains ---------------------------------------------------------------

/// `n` classes, each declaring one reference field, chained (`C1 extends C0`, ...) when `deep`,
/// else all extending `java.lang.Object`; one instance of the last class, held by a root.
fn class_hierarchy(n: usize, deep: bool) -> Vec<u8> {
    let mut w = HprofWriter::hotspot(8);
    let object = w.class("java.lang.Object").define();
    let mut sup = object;
    let mut last = object;
    for i in 0..n {
        let c = w
            .class(&format!("com.example.C{i}"))
            .extends(if deep { sup } else { object })
            .fields(&[("f", Ty::Object)])
            .define();
        sup = c;
        last = c;
    }
    let o = w.instance(last);
    w.root(Root::Unknown { obj: o });
    w.finish(&Grouping::Segments { max_body: 1 << 20 })
}

/// r10: a 30,000-deep superclass chain took 4.7 s (60,000: 18.6 s) where a histogram takes
/// 0.45 s: per-class walks up the whole chain (reference plans, reference strengths, collection
/// kinds, subclass tests). Every per-class fact is now computed once, superclasses first. The
/// chain must analyse within a small factor of as many flat classes (a ratio of the best of
/// three runs each, so it holds on a loaded machine).
#[test]
fn deep_superclass_chain_costs_about_what_flat_classes_cost() {
    let n = 30_000;
    let d = TempDir::new("r10");
    let deep = d.file("deep.hprof", &class_hierarchy(n, true));
    let flat = d.file("flat.hprof", &class_hierarchy(n, false));
    let best = |p: &Path| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let (run, j) = analyze(p, &["--no-cache"]);
                assert_eq!(run.code, 0, "{}", run.stderr);
                assert_eq!(j["summary"]["classes"], Json::from(n as u64 + 1));
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let (deep_time, flat_time) = (best(&deep), best(&flat));
    eprintln!("{n} classes: chained {deep_time:?}, flat {flat_time:?}");
    assert!(
        deep_time < flat_time * 3 + Duration::from_millis(300),
        "chained {deep_time:?} against flat {flat_time:?}"
    );
}
