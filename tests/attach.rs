//! `oomsleuth jcmd` (HotSpot's attach protocol in Rust) against real JVMs (JDK 11, 17, 21, 25),
//! checked against the JDK's own `jcmd` run on the same JVM right after, and against what the
//! fixtures record (`planted.json`).

use crate::support::jvm::{have, repo_root, ClassLoaderStats, Histogram, Jdk};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// A JVM this test started; killed when dropped (a failing assertion must not leave it running).
struct Jvm {
    child: Child,
    /// Where its planted.json is written (a directory of its own).
    dir: PathBuf,
}

impl Jvm {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn planted(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join("planted.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Jvm {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // the fixtures end at the end of their input
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The fixtures this file runs, compiled once per test process (`--release 11`: every JDK runs them).
fn classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let out = repo_root().join("target").join("attach-fixtures");
        let src = repo_root().join("fixtures/src");
        let mut javac = Command::new("javac");
        javac.args(["--release", "11", "-d"]).arg(&out);
        for f in [
            "Planted",
            "ClassBytes",
            "Layouts",
            "IdleAllocator",
            "MetaspaceExhaustion",
        ] {
            javac.arg(src.join(format!("{f}.java")));
        }
        assert!(javac.status().expect("javac on PATH").success(), "javac");
        out
    })
}

/// Starts `main` on `home`'s java with `flags`, its planted.json in a fresh directory (also its
/// working directory), and waits for READY; `None` when it ends without.
fn start(home: &Path, flags: &[&str], main: &str) -> Option<Jvm> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = repo_root()
        .join("target")
        .join(format!("attach-run-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut java = Command::new(home.join("bin/java"));
    java.current_dir(&dir)
        .args(flags)
        .arg("-cp")
        .arg(classes())
        .arg(main)
        .arg(dir.join("planted.json"));
    spawn_ready(java, dir)
}

fn spawn_ready(mut cmd: Command, dir: PathBuf) -> Option<Jvm> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    let jvm = Jvm { child, dir };
    (line.trim() == "READY").then_some(jvm)
}

fn oomsleuth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(args)
        .output()
        .expect("run oomsleuth")
}

fn jcmd(home: &Path, pid: u32, command: &[&str]) -> Output {
    Command::new(home.join("bin/jcmd"))
        .arg(pid.to_string())
        .args(command)
        .output()
        .expect("run jcmd")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `oomsleuth jcmd PID COMMAND`, then the JDK's `jcmd PID COMMAND`: both outputs, both succeeded.
fn both(home: &Path, pid: u32, command: &[&str]) -> (String, String) {
    let pid_s = pid.to_string();
    let mut args = vec!["jcmd", pid_s.as_str()];
    args.extend_from_slice(command);
    let ours = oomsleuth(&args);
    let theirs = jcmd(home, pid, command);
    assert!(
        ours.status.success(),
        "oomsleuth jcmd {command:?}: {}",
        text(&ours.stderr)
    );
    assert!(
        theirs.status.success(),
        "jcmd {command:?}: {}",
        text(&theirs.stderr)
    );
    (text(&ours.stdout), text(&theirs.stdout))
}

/// `VM.classloader_stats` rows of loaders of `loader_type` that hold at least one class.
fn loaders_with_classes(text: &str, loader_type: &str) -> usize {
    let stats = ClassLoaderStats::parse(text).unwrap();
    stats
        .rows
        .iter()
        .filter(|r| r.type_name == loader_type && r.classes >= 1)
        .count()
}

/// The category names of a `VM.native_memory summary`, with their reserved size when it is fixed
/// by the flags (the Java heap and the class space).
fn nmt_categories(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let name = l.trim_start().strip_prefix('-')?.split('(').next()?.trim();
            Some(name.to_string())
        })
        .collect()
}

fn nmt_reserved(text: &str, category: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l
            .trim_start()
            .strip_prefix('-')?
            .trim_start()
            .strip_prefix(category)?;
        let r = rest.trim_start().strip_prefix("(reserved=")?;
        Some(r.split(',').next()?.to_string())
    })
}

fn check_jdk(jdk: Jdk, home: &Path) {
    let flags = ["-Xmx128m", "-XX:NativeMemoryTracking=summary"];
    let jvm = start(home, &flags, "com.example.Layouts").expect("Layouts starts");
    let pid = jvm.pid();

    // Ours first: it must start the listener itself (.attach_pid + SIGQUIT).
    let (ours, theirs) = both(home, pid, &["VM.version"]);
    assert_eq!(ours, theirs, "{jdk}: VM.version");
    assert!(ours.starts_with(&format!("{pid}:\n")), "{jdk}: {ours}");
    assert!(
        ours.contains(&format!("JDK {}", jdk.major())),
        "{jdk}: {ours}"
    );

    // Nothing loads classes between the two: byte for byte.
    let (ours, theirs) = both(home, pid, &["VM.classloader_stats"]);
    assert_eq!(ours, theirs, "{jdk}: VM.classloader_stats");

    // Malloc counts move with every attach; the categories and the fixed reservations do not.
    let (ours, theirs) = both(home, pid, &["VM.native_memory", "summary"]);
    assert!(ours.contains("Native Memory Tracking:"), "{jdk}: {ours}");
    assert_eq!(nmt_categories(&ours), nmt_categories(&theirs), "{jdk}");
    for category in ["Java Heap", "Class"] {
        let r = nmt_reserved(&ours, category);
        assert!(r.is_some(), "{jdk}: no {category} in {ours}");
        assert_eq!(r, nmt_reserved(&theirs, category), "{jdk}: {category}");
    }

    // The planted classes: counts as Java made them, in both histograms.
    let (ours, theirs) = both(home, pid, &["GC.class_histogram"]);
    let (ours, theirs) = (
        Histogram::parse(&ours).unwrap().by_name(),
        Histogram::parse(&theirs).unwrap().by_name(),
    );
    let planted = jvm.planted();
    let exact = planted["planted"].as_object().unwrap();
    assert!(exact.len() >= 10, "{jdk}: {planted}");
    for (class, count) in exact {
        let count = count.as_u64().unwrap();
        let o = ours.get(class).map(|r| r.instances);
        assert_eq!(o, Some(count), "{jdk}: {class} in oomsleuth's histogram");
        assert_eq!(ours.get(class), theirs.get(class), "{jdk}: {class}");
    }
    let (ours, _) = both(home, pid, &["GC.class_histogram", "-all"]);
    assert!(ours.contains("com.example.Layouts$AllTypes"), "{jdk}");

    // A command the JVM refuses: jcmd's exit code and message.
    let pid_s = pid.to_string();
    let ours = oomsleuth(&["jcmd", &pid_s, "GC.no_such_command"]);
    let theirs = jcmd(home, pid, &["GC.no_such_command"]);
    assert_eq!(ours.status.code(), Some(1), "{jdk}");
    assert_eq!(theirs.status.code(), Some(1), "{jdk}");
    assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{jdk}");
    assert_eq!(text(&ours.stderr), text(&theirs.stderr), "{jdk}");
    assert!(text(&ours.stderr).contains("Unknown diagnostic command"));

    // PerfCounter.print, which jcmd answers from the hsperfdata file: the same counters; the
    // strings (constant) equal.
    let (ours, theirs) = both(home, pid, &["PerfCounter.print"]);
    let counters = |t: &str| -> Vec<(String, String)> {
        t.lines()
            .skip(1)
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (ours, theirs) = (counters(&ours), counters(&theirs));
    assert!(ours.len() > 100, "{jdk}: {ours:?}");
    let names = |c: &[(String, String)]| c.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "{jdk}");
    let strings = |c: &[(String, String)]| {
        c.iter()
            .filter(|(_, v)| v.starts_with('"'))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(strings(&ours), strings(&theirs), "{jdk}");

    // By main class, as jcmd accepts it.
    let ours = oomsleuth(&["jcmd", "com.example.Layouts", "VM.version"]);
    assert!(ours.status.success(), "{jdk}: {}", text(&ours.stderr));
    assert!(text(&ours.stdout).contains(&format!("{pid}:\n")), "{jdk}");
    no_trigger_left(pid);
}

/// No `.attach_pid` file of `pid` in its working directory or its /tmp.
fn no_trigger_left(pid: u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let nspid = oomsleuth::inputs::live::jvms::nspid_of(&status).unwrap_or(pid);
    for dir in ["cwd", "root/tmp"] {
        let f = format!("/proc/{pid}/{dir}/.attach_pid{nspid}");
        assert!(!Path::new(&f).exists(), "{f} left behind");
    }
}

#[test]
fn jcmd_prints_what_each_jdks_jcmd_prints() {
    for jdk in Jdk::ALL {
        if have(jdk) {
            check_jdk(jdk, &jdk.home().unwrap());
        }
    }
}

/// A JVM that hit `OutOfMemoryError: Metaspace` and caught it still answers: its attach listener
/// starts without loading classes.
#[test]
fn a_jvm_out_of_metaspace_still_answers() {
    for jdk in Jdk::ALL {
        if !have(jdk) {
            continue;
        }
        let home = jdk.home().unwrap();
        let jvm = start(
            &home,
            &["-Xmx128m", "-XX:MaxMetaspaceSize=24m"],
            "com.example.MetaspaceExhaustion",
        )
        .expect("MetaspaceExhaustion starts");
        let planted = jvm.planted();
        assert_eq!(planted["oom"], "Metaspace", "{jdk}: {planted}");
        let loaders = planted["loaders"].as_u64().unwrap() as usize;
        let loader_type = planted["loader_type"].as_str().unwrap();
        assert!(loaders > 1000, "{jdk}: {planted}");

        let (ours, theirs) = both(&home, jvm.pid(), &["VM.metaspace"]);
        assert_eq!(ours, theirs, "{jdk}: VM.metaspace");
        let total = ours
            .lines()
            .find(|l| l.contains("loaders") && l.contains("classes"))
            .unwrap_or_else(|| panic!("{jdk}: {ours}"));
        let n: usize = total
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{jdk}: {total}"));
        assert!(n >= loaders, "{jdk}: {total} but {loaders} leaked");

        let (ours, theirs) = both(&home, jvm.pid(), &["VM.classloader_stats"]);
        assert_eq!(loaders_with_classes(&ours, loader_type), loaders, "{jdk}");
        assert_eq!(ours, theirs, "{jdk}: VM.classloader_stats");
        no_trigger_left(jvm.pid());
    }
}

/// The JVM in its own pid and mount namespace with a private /tmp, as a container has: reached from
/// outside through /proc/PID/root/tmp/.java_pid<NSpid>.
#[test]
fn jcmd_reaches_a_jvm_in_its_own_namespaces() {
    let Some(home) = Jdk::J17.home() else {
        eprintln!("skipped: no JDK 17");
        return;
    };
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--mount", "--fork", "--kill-child", "sh", "-c"])
        .arg(r#"mount -t tmpfs oomsleuth-test /tmp && cd /tmp && exec "$0" -Xmx64m -cp "$1" "$2" /tmp/planted.json"#)
        .arg(home.join("bin/java"))
        .arg(classes())
        .arg("com.example.Layouts");
    let dir = repo_root()
        .join("target")
        .join(format!("attach-ns-{}", std::process::id()));
    let Some(jvm) = spawn_ready(cmd, dir) else {
        eprintln!(
            "skipped: unshare --pid --mount (needs root or user namespaces) did not start a JVM"
        );
        return;
    };
    // unshare forks sh, which execs java: unshare's child.
    let unshare_pid = jvm.pid();
    let host_pid = crate::support::first_child(unshare_pid);
    let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).unwrap();
    assert_eq!(
        oomsleuth::inputs::live::jvms::nspid_of(&status),
        Some(1),
        "{status}"
    );

    let (ours, theirs) = both(&home, host_pid, &["VM.version"]);
    assert_eq!(ours, theirs);
    assert!(ours.starts_with(&format!("{host_pid}:\n")), "{ours}");
    // The socket is in the container's /tmp, named by the namespace pid; not in the host's.
    assert!(Path::new(&format!("/proc/{host_pid}/root/tmp/.java_pid1")).exists());
    assert!(!Path::new("/tmp/.java_pid1").exists());
    let (ours, theirs) = both(&home, host_pid, &["VM.classloader_stats"]);
    assert_eq!(ours, theirs);
    no_trigger_left(host_pid);
}

/// An attach that cannot succeed says why, leaves no `.attach_pid` file, and the process lives on.
#[test]
fn a_failed_attach_leaves_no_file_behind() {
    let Some(home) = Jdk::J17.home() else {
        eprintln!("skipped: no JDK 17");
        return;
    };
    // The flag on the command line: refused before any file or signal.
    let mut jvm = start(
        &home,
        &["-Xmx64m", "-XX:+DisableAttachMechanism"],
        "com.example.Layouts",
    )
    .expect("Layouts starts");
    let pid_s = jvm.pid().to_string();
    let out = oomsleuth(&["jcmd", &pid_s, "VM.version"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("-XX:+DisableAttachMechanism"), "{err}");
    assert!(jvm.alive());
    no_trigger_left(jvm.pid());
    drop(jvm);

    // The flag hidden in an options file: the handshake runs, times out, and cleans up.
    let options = repo_root()
        .join("target")
        .join(format!("attach-disabled-{}.options", std::process::id()));
    std::fs::write(&options, "-XX:+DisableAttachMechanism\n").unwrap();
    let vm_options = format!("-XX:VMOptionsFile={}", options.display());
    let mut jvm =
        start(&home, &["-Xmx64m", &vm_options], "com.example.Layouts").expect("Layouts starts");
    let _ = std::fs::remove_file(&options);
    let pid_s = jvm.pid().to_string();
    let out = oomsleuth(&["jcmd", "--attach-timeout", "1.5", &pid_s, "VM.version"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("did not start its attach listener"), "{err}");
    assert!(jvm.alive(), "SIGQUIT must not end a JVM");
    no_trigger_left(jvm.pid());
    drop(jvm);

    // Not a JVM: nothing is sent to it (SIGQUIT would kill it).
    let mut sleep = Command::new("sleep").arg("60").spawn().unwrap();
    let pid_s = sleep.id().to_string();
    let out = oomsleuth(&["jcmd", &pid_s, "VM.version"]);
    let alive = sleep.try_wait().unwrap().is_none();
    let _ = sleep.kill();
    let _ = sleep.wait();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a HotSpot JVM"),
        "{}",
        text(&out.stderr)
    );
    assert!(alive, "sleep must not get SIGQUIT");
    let trigger = format!(".attach_pid{pid_s}");
    assert!(!Path::new("/tmp").join(&trigger).exists());
    assert!(!Path::new(&trigger).exists());

    // No such process; no such main class.
    let out = oomsleuth(&["jcmd", "4194304", "VM.version"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no process 4194304"),
        "{}",
        text(&out.stderr)
    );
    let out = oomsleuth(&["jcmd", "com.example.NoSuchMainClass", "VM.version"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("could not find any JVM"));
}

/// Another user's JVM: the error names the user who must run oomsleuth (run as `nobody` here,
/// against a JVM of root's; needs root and setpriv).
#[test]
fn another_users_jvm_names_the_user_to_run_as() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let Some(home) = Jdk::J17.home() else {
        eprintln!("skipped: no JDK 17");
        return;
    };
    let jvm = start(&home, &["-Xmx64m"], "com.example.IdleAllocator").expect("starts");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_oomsleuth"))
        .args(["jcmd", &jvm.pid().to_string(), "VM.version"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("runs as root") && err.contains("sudo -u root"),
        "{err}"
    );
    no_trigger_left(jvm.pid());
}

/// Root reaching a JVM of another user (`nobody`): connected as that user, the way JDK 8 requires
/// (JDK 9+ would accept root too); answers as the JDK's jcmd (run as root) does.
#[test]
fn root_reaches_another_users_jvm() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let Some(home) = Jdk::J17.home() else {
        eprintln!("skipped: no JDK 17");
        return;
    };
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(home.join("bin/java"))
        .args(["-Xmx64m", "-cp"])
        .arg(classes())
        .arg("com.example.IdleAllocator")
        .current_dir("/");
    let dir = repo_root()
        .join("target")
        .join(format!("attach-nobody-{}", std::process::id()));
    let Some(jvm) = spawn_ready(cmd, dir) else {
        eprintln!("skipped: java does not start as nobody here");
        return;
    };
    let status = std::fs::read_to_string(format!("/proc/{}/status", jvm.pid())).unwrap();
    assert!(status.contains("Uid:\t65534\t65534"), "{status}");
    let (ours, theirs) = both(&home, jvm.pid(), &["VM.version"]);
    assert_eq!(ours, theirs);
    let socket = format!("/tmp/.java_pid{}", jvm.pid());
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&socket).unwrap());
    assert_eq!(owner, 65534, "the JVM's own socket");
    no_trigger_left(jvm.pid());
}
