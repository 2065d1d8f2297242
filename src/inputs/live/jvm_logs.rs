//! Where a running JVM writes its GC and class logs, told from its options (`-Xlog:...`,
//! `-Xloggc:`, `-verbose:gc|class`, JDK 8's `-XX:+PrintGCDetails` and `-XX:+TraceClassLoading`), and
//! their tails, read from outside through `/proc/PID/root` and `/proc/PID/cwd` (the target's own
//! mount namespace: a container's `/tmp/gc.log` is not the host's).
//!
//! Logs to standard output or error are read when the JVM's fd 1 or 2 is a regular file (a
//! service whose output is redirected); a terminal or a pipe cannot be read back.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Where one log goes, as the JVM was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A file name as the JVM sees it (relative to its working directory, may hold `%p`, `%t`).
    File(String),
    Stdout,
    Stderr,
}

/// One log output and what goes into it (the `-Xlog` selectors, or `gc` / `class`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOutput {
    pub what: String,
    pub target: Target,
}

/// The log outputs named by a JVM's options, in order, each target once.
pub fn log_outputs(args: &[String]) -> Vec<LogOutput> {
    let mut out: Vec<LogOutput> = Vec::new();
    let mut push = |what: &str, target: Target| {
        if !out.iter().any(|o| o.target == target) {
            out.push(LogOutput {
                what: what.to_string(),
                target,
            });
        }
    };
    let has_loggc = args.iter().any(|a| a.starts_with("-Xloggc:"));
    for a in args {
        if let Some(spec) = a.strip_prefix("-Xlog:") {
            if let Some((what, target)) = xlog(spec) {
                push(&what, target);
            }
        } else if a == "-Xlog" {
            push("all=warning", Target::Stdout);
        } else if let Some(path) = a.strip_prefix("-Xloggc:") {
            push("gc", Target::File(unquote(path).to_string()));
        } else if a == "-verbose:gc" || (a == "-XX:+PrintGCDetails" && !has_loggc) {
            push("gc", Target::Stdout);
        } else if a == "-verbose:class"
            || a == "-XX:+TraceClassLoading"
            || a == "-XX:+TraceClassUnloading"
        {
            push("class", Target::Stdout);
        }
    }
    out
}

/// `-Xlog:what[:output[:decorators[:options]]]`: `None` for `disable`, `help` and outputs that
/// are not logs of memory (no `gc` or `class` selector).
fn xlog(spec: &str) -> Option<(String, Target)> {
    let mut parts = spec.splitn(3, ':');
    let what = parts.next().unwrap_or("");
    if what == "disable" || what == "help" {
        return None;
    }
    let what = if what.is_empty() { "all=info" } else { what };
    if !(what.contains("gc") || what.contains("class") || what.starts_with("all")) {
        return None;
    }
    let output = parts.next().unwrap_or("");
    let target = match output {
        "" | "stdout" => Target::Stdout,
        "stderr" => Target::Stderr,
        o => {
            // A quoted file name may hold ':' (`file="c:/gc.log"`): take it whole.
            let name = o.strip_prefix("file=").unwrap_or(o);
            let name = if let Some(q) = name.strip_prefix('"') {
                let rest = spec.split_once("\"").map_or(q, |(_, r)| r);
                rest.split('"').next().unwrap_or(q)
            } else {
                name
            };
            Target::File(name.to_string())
        }
    };
    Some((what.to_string(), target))
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Where this process reads a target's file: `/proc/PID/root/<abs>` or `/proc/PID/cwd/<rel>`,
/// with `%p` as the JVM's own pid (`nspid`) and `%t` (the start time) matched against the
/// directory's entries (the newest match); `None` when no such file is there.
pub fn resolve(pid: u32, nspid: u32, target: &Target) -> Option<PathBuf> {
    let name = match target {
        Target::File(n) => n.clone(),
        Target::Stdout => return std_file(pid, 1),
        Target::Stderr => return std_file(pid, 2),
    };
    let base = if name.starts_with('/') {
        PathBuf::from(format!("/proc/{pid}/root"))
    } else {
        PathBuf::from(format!("/proc/{pid}/cwd"))
    };
    let name = name
        .replace("%p", &nspid.to_string())
        .replace("%%", "\u{0}");
    let rel = name.trim_start_matches('/');
    let path = base.join(rel.replace('\u{0}', "%"));
    if !name.contains("%t") {
        return Some(path).filter(|p| p.exists());
    }
    let dir = path.parent()?.to_path_buf();
    let pattern = path.file_name()?.to_string_lossy().replace('\u{0}', "%");
    newest_match(&dir, &pattern)
}

/// The newest file in `dir` whose name is `pattern` with `%t` as `YYYY-MM-DD_HH-MM-SS`.
fn newest_match(dir: &Path, pattern: &str) -> Option<PathBuf> {
    let (pre, post) = pattern.split_once("%t")?;
    let stamp = |s: &str| {
        s.len() == 19
            && s.bytes()
                .enumerate()
                .all(|(i, b)| matches!(i, 4 | 7 | 10 | 13 | 16) || b.is_ascii_digit())
    };
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix(pre)
                .and_then(|r| r.strip_suffix(post))
                .is_some_and(stamp)
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
}

/// The file the target's fd `fd` writes to, when it is a regular file.
fn std_file(pid: u32, fd: u32) -> Option<PathBuf> {
    let p = PathBuf::from(format!("/proc/{pid}/fd/{fd}"));
    std::fs::metadata(&p).ok().filter(|m| m.is_file())?;
    Some(p)
}

/// The last `max` bytes of a regular file, from the first line that starts in them. The last
/// component is not followed when it is a symbolic link (a container could point one at a host
/// file); `/proc/PID/fd/N` (itself a link to what the JVM opened) is read as the JVM's file.
pub fn tail(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut f = open_no_follow(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let len = m.len();
    let from = len.saturating_sub(max);
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf)?;
    if from > 0 {
        let cut = buf.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        buf.drain(..cut);
    }
    Ok(buf)
}

fn open_no_follow(path: &Path) -> io::Result<File> {
    let via_fd = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "fd");
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    if !via_fd {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn finds_unified_and_jdk8_log_options() {
        let o = log_outputs(&args(
            "-Xmx1g -Xlog:gc*:file=/var/log/gc-%p.log:time,uptime:filecount=5 -Xlog:class+load,class+unload:cl.log -Xlog:safepoint -Xlog:disable -verbose:class",
        ));
        assert_eq!(
            o,
            vec![
                LogOutput {
                    what: "gc*".into(),
                    target: Target::File("/var/log/gc-%p.log".into())
                },
                LogOutput {
                    what: "class+load,class+unload".into(),
                    target: Target::File("cl.log".into())
                },
                LogOutput {
                    what: "class".into(),
                    target: Target::Stdout
                },
            ]
        );
        let o = log_outputs(&args("-XX:+PrintGCDetails -Xloggc:/tmp/gc.log"));
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].target, Target::File("/tmp/gc.log".into()));
        assert_eq!(
            log_outputs(&args("-Xlog:gc:stderr"))[0].target,
            Target::Stderr
        );
        let o = log_outputs(&args("-Xlog:gc:file=\"/a:b/gc.log\":uptime"));
        assert_eq!(o[0].target, Target::File("/a:b/gc.log".into()));
        assert!(log_outputs(&args("-Xlog:jit+compilation=debug:file=jit.log")).is_empty());
    }

    #[test]
    fn resolves_pid_and_time_patterns_in_the_targets_root() {
        let me = std::process::id();
        let dir = std::env::temp_dir().join(format!(
            "oomsleuth-logs-{:x}",
            crate::formats::files::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("gc-{me}.log")), "x").unwrap();
        std::fs::write(dir.join("gc-2026-12-01_17-20-01.log"), "a").unwrap();
        std::fs::write(dir.join("gc-garbage.log"), "b").unwrap();
        let d = dir.display();
        let p = resolve(me, me, &Target::File(format!("{d}/gc-%p.log"))).unwrap();
        assert!(p.starts_with(format!("/proc/{me}/root")), "{p:?}");
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        let t = resolve(me, me, &Target::File(format!("{d}/gc-%t.log"))).unwrap();
        assert!(t.ends_with("gc-2026-12-01_17-20-01.log"), "{t:?}");
        assert!(resolve(me, me, &Target::File(format!("{d}/none.log"))).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tail_starts_at_a_line_and_refuses_links() {
        let dir = std::env::temp_dir().join(format!(
            "oomsleuth-tail-{:x}",
            crate::formats::files::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("gc.log");
        std::fs::write(&f, "first line\nsecond\nthird\n").unwrap();
        assert_eq!(tail(&f, 1000).unwrap(), b"first line\nsecond\nthird\n");
        assert_eq!(tail(&f, 10).unwrap(), b"third\n");
        std::os::unix::fs::symlink(&f, dir.join("link")).unwrap();
        assert!(tail(&dir.join("link"), 10).is_err());
        assert!(tail(Path::new("/proc/self/root/dev/null"), 10).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
