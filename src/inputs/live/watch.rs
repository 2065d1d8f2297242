//! `oomsleuth watch PID`'s sampling: the JVM's hsperfdata file (found as `oomsleuth jvms` finds it,
//! containers included) and its resident memory from `/proc`, read from outside at each tick.
//! Nothing is sent to or loaded into the JVM; the analysis of the samples is
//! [`crate::analyses::process::watch`].

use anyhow::{bail, Result};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch now (the clock hsperfdata's `sun.rt.createVmBeginTime` uses).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The JVM being watched: its pid and its hsperfdata file.
#[derive(Clone, Debug)]
pub struct Target {
    pub pid: u32,
    /// The pid in the JVM's own pid namespace, when it differs (a container).
    pub container_pid: Option<u32>,
    pub hsperf: PathBuf,
    pub user: String,
}

/// What one tick read.
#[derive(Clone, Debug)]
pub enum Tick {
    Sample(RawSample),
    /// The process is gone (or a zombie, or its hsperfdata file was removed at shutdown).
    Exited,
}

/// One sample's bytes, for [`crate::analyses::process::watch::Watch::add`].
#[derive(Clone, Debug)]
pub struct RawSample {
    /// Seconds since the epoch.
    pub unix_seconds: f64,
    pub perf: Vec<u8>,
    /// `/proc/PID/smaps_rollup` (None when the kernel has none or reading it is refused: it needs
    /// ptrace rights).
    pub smaps_rollup: Option<String>,
    /// `VmRSS` of `/proc/PID/status`, bytes (readable by anyone).
    pub status_rss: Option<u64>,
}

impl Target {
    /// Finds `pid`'s hsperfdata file, or says plainly why there is none and what to do.
    pub fn open(pid: u32) -> Result<Target> {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        if !proc.join("stat").exists() {
            bail!("no process {pid} is running (`oomsleuth jvms` lists the JVMs on this host, containers included)");
        }
        let Some((hsperf, user)) = crate::inputs::live::jvms::hsperf_file(pid) else {
            bail!(why_no_file(pid, &proc));
        };
        match std::fs::read(&hsperf) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::PermissionDenied => bail!(
                "cannot read {} (permission denied): run as {user} (sudo -u {user}) or root",
                hsperf.display()
            ),
            Err(e) => bail!("cannot read {}: {e}", hsperf.display()),
        }
        let container_pid = crate::inputs::live::jvms::own_pid(pid).filter(|&n| n != pid);
        Ok(Target {
            pid,
            container_pid,
            hsperf,
            user,
        })
    }

    /// Reads the counters and `/proc` now.
    pub fn tick(&self) -> Tick {
        if !running(self.pid) {
            return Tick::Exited;
        }
        // HotSpot deletes its file when it exits.
        let Ok(perf) = std::fs::read(&self.hsperf) else {
            return Tick::Exited;
        };
        let unix_seconds = now_ms() as f64 / 1000.0;
        let smaps_rollup = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", self.pid))
            .ok()
            .filter(|t| t.contains("Rss:"));
        let status_rss = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| vm_rss(&s));
        Tick::Sample(RawSample {
            unix_seconds,
            perf,
            smaps_rollup,
            status_rss,
        })
    }
}

/// Whether the process still runs (a zombie does not: it only waits for its parent).
pub fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the command name, which is in parentheses and may hold any byte.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.trim().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
        Err(_) => false,
    }
}

/// `VmRSS:   1234 kB` in bytes.
pub fn vm_rss(status: &str) -> Option<u64> {
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Why a running process has no hsperfdata file we can find, and what to do about it.
fn why_no_file(pid: u32, proc: &Path) -> String {
    let args: Vec<String> = std::fs::read(proc.join("cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let name = std::fs::read_to_string(proc.join("comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if args.iter().any(|a| a == "-XX:-UsePerfData") {
        return format!("process {pid} ({name}) runs with -XX:-UsePerfData: it writes no counters to watch. Restart it without that option, or take its evidence through the attach listener (`oomsleuth record {pid}`, `oomsleuth jcmd {pid} VM.native_memory summary`)");
    }
    if let Err(e) = std::fs::read_dir(proc.join("root/tmp")) {
        if e.kind() == ErrorKind::PermissionDenied {
            let who = owner(proc).unwrap_or_else(|| "its user".into());
            let how = if who == "root" {
                "run as root with CAP_SYS_PTRACE (a sandbox or container runtime may refuse it)"
                    .to_string()
            } else {
                format!("run as {who} (sudo -u {who}) or root")
            };
            return format!("cannot look into process {pid}'s file system ({}/root/tmp: permission denied): {how}", proc.display());
        }
    }
    let java = args
        .first()
        .is_some_and(|a| a.ends_with("java") || a.ends_with("javaw"))
        || name == "java";
    if java {
        format!("process {pid} ({name}) looks like a JVM but has no hsperfdata file under {}/root/tmp/hsperfdata_*: was it started with -XX:+PerfDisableSharedMem, or with a -Djava.io.tmpdir it writes elsewhere? (`oomsleuth jvms` lists the JVMs whose files it finds)", proc.display())
    } else {
        format!("process {pid} ({name}) is not a HotSpot JVM: it has no hsperfdata file (`oomsleuth jvms` lists the JVMs on this host, containers included)")
    }
}

/// The user name owning `/proc/PID` (from `/etc/passwd`), or its uid.
fn owner(proc: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(proc).ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid.to_string()).then(|| name.to_string())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_from_status() {
        assert_eq!(
            vm_rss("Name:\tjava\nVmRSS:\t  2048 kB\nVmSwap: 0 kB\n"),
            Some(2 << 20)
        );
        assert_eq!(vm_rss("Name:\tjava\n"), None);
        assert_eq!(vm_rss("VmRSS: lots kB\n"), None);
    }

    #[test]
    fn this_process_is_not_a_jvm_and_says_so() {
        assert!(running(std::process::id()));
        let e = Target::open(std::process::id()).unwrap_err().to_string();
        assert!(e.contains("is not a HotSpot JVM"), "{e}");
        let e = Target::open(u32::MAX - 1).unwrap_err().to_string();
        assert!(e.contains("no process"), "{e}");
    }
}
