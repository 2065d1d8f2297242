//! Finding every HotSpot JVM's hsperfdata file on this host, containers included.
//!
//! A JVM writes `/tmp/hsperfdata_<user>/<pid>` in its own mount namespace, named by its pid in its
//! own pid namespace. So: the host's `/tmp/hsperfdata_*/` (file names are host pids), and, for each
//! process in another mount namespace (a container), `/proc/PID/root/tmp/hsperfdata_*/<NSPID>`,
//! where NSPID is the process's innermost pid from the `NSpid` line of `/proc/PID/status`. Files are
//! only read: nothing is sent to or loaded into a JVM.

use crate::analyses::process::jvms::{Skipped, Source};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the search found: each JVM's source and its file's bytes, the files it could not read, and
/// what it could not look at.
#[derive(Debug, Default)]
pub struct Discovery {
    pub found: Vec<(Source, Vec<u8>)>,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<String>,
}

/// Searches the host's `/tmp` and every process's root.
pub fn discover() -> Discovery {
    let mut d = Discovery::default();
    let proc_dir = Path::new("/proc");
    let my_mnt = fs::read_link("/proc/self/ns/mnt").ok();
    for (dir, user) in hsperf_dirs(Path::new("/tmp")) {
        for (path, nspid) in pid_files(&dir, &user, &mut d.skipped) {
            if !proc_dir.join(nspid.to_string()).exists() {
                d.skipped.push(Skipped {
                    path: path.display().to_string(),
                    reason: format!("no process {nspid} is running: left behind by a JVM that was killed (or one in a pid namespace sharing this /tmp)"),
                });
                continue;
            }
            read_into(&mut d, path, user.clone(), nspid, None);
        }
    }
    let mut unseen = 0usize;
    for pid in pids(proc_dir) {
        let base = proc_dir.join(pid.to_string());
        match fs::read_link(base.join("ns/mnt")) {
            Ok(mnt) if Some(&mnt) == my_mnt.as_ref() => continue,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(_) => {
                unseen += 1;
                continue;
            }
        }
        let Some(nspid) = innermost_pid(&base) else {
            continue;
        };
        for (dir, user) in hsperf_dirs(&base.join("root/tmp")) {
            let path = dir.join(nspid.to_string());
            match fs::symlink_metadata(&path) {
                Ok(_) => read_into(&mut d, path, user, pid, Some(nspid).filter(|&n| n != pid)),
                Err(e) if e.kind() == ErrorKind::PermissionDenied => d.skipped.push(Skipped {
                    path: path.display().to_string(),
                    reason: why(&e, &user),
                }),
                Err(_) => {}
            }
        }
    }
    if unseen > 0 {
        d.notes.push(format!(
            "{unseen} processes could not be looked into (reading their /proc/PID/ns/mnt was refused: another user's process, or a sandbox): JVMs in their own mount namespaces (containers) are not listed; run as their user or root to see them"
        ));
    }
    d
}

/// Reads one file into `found`, or says in `skipped` why it could not.
fn read_into(
    d: &mut Discovery,
    path: PathBuf,
    user: String,
    host_pid: u32,
    container: Option<u32>,
) {
    let file = path.display().to_string();
    match fs::read(&path) {
        Ok(bytes) => {
            let uid = fs::metadata(&path).ok().map(|m| m.uid());
            let source = Source {
                host_pid,
                container_pid: container,
                user,
                uid,
                file,
            };
            d.found.push((source, bytes));
        }
        Err(e) => d.skipped.push(Skipped {
            reason: why(&e, &user),
            path: file,
        }),
    }
}

fn why(e: &std::io::Error, user: &str) -> String {
    if e.kind() == ErrorKind::PermissionDenied {
        format!("permission denied: run as {user} (sudo -u {user}) or root")
    } else {
        e.to_string()
    }
}

/// The `hsperfdata_<user>` directories under `tmp`, with their user (none when `tmp` cannot be
/// listed: another user's container root is counted in the notes instead).
fn hsperf_dirs(tmp: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = fs::read_dir(tmp) else {
        return vec![];
    };
    let mut dirs: Vec<(PathBuf, String)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let user = name.strip_prefix("hsperfdata_")?.to_string();
            Some((e.path(), user))
        })
        .collect();
    dirs.sort();
    dirs
}

/// The files named by a pid in one `hsperfdata_<user>` directory.
fn pid_files(dir: &Path, user: &str, skipped: &mut Vec<Skipped>) -> Vec<(PathBuf, u32)> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut files: Vec<(PathBuf, u32)> = entries
                .flatten()
                .filter_map(|e| {
                    let pid = e.file_name().to_str()?.parse().ok()?;
                    Some((e.path(), pid))
                })
                .collect();
            files.sort_by_key(|f| f.1);
            files
        }
        Err(e) => {
            skipped.push(Skipped {
                path: dir.display().to_string(),
                reason: format!("cannot list the JVMs of user {user}: {}", why(&e, user)),
            });
            vec![]
        }
    }
}

/// Every process id in `/proc`.
fn pids(proc_dir: &Path) -> Vec<u32> {
    let mut pids: Vec<u32> = fs::read_dir(proc_dir)
        .map(|es| {
            es.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// The hsperfdata file of one process, as this process can read it:
/// `/proc/PID/root/tmp/hsperfdata_<user>/<NSPID>` (the host's `/tmp` when it shares our mount
/// namespace), with the user it belongs to.
pub fn hsperf_file(pid: u32) -> Option<(PathBuf, String)> {
    let base = Path::new("/proc").join(pid.to_string());
    let nspid = innermost_pid(&base)?;
    hsperf_dirs(&base.join("root/tmp"))
        .into_iter()
        .map(|(dir, user)| (dir.join(nspid.to_string()), user))
        .find(|(p, _)| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
}

/// The process's pid in its own pid namespace (its pid when it has none of its own).
pub fn own_pid(pid: u32) -> Option<u32> {
    innermost_pid(&Path::new("/proc").join(pid.to_string()))
}

/// The process's pid in its innermost pid namespace (the last `NSpid` field; kernels before 4.1
/// have no such line, and there the host pid is the only one).
fn innermost_pid(proc_pid: &Path) -> Option<u32> {
    let status = fs::read_to_string(proc_pid.join("status")).ok()?;
    nspid_of(&status).or_else(|| proc_pid.file_name()?.to_str()?.parse().ok())
}

/// The last pid of the `NSpid:` line of a `/proc/PID/status` text.
pub fn nspid_of(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nspid_is_the_innermost_pid() {
        assert_eq!(
            nspid_of("Name:\tjava\nNSpid:\t4242\t17\t1\nVmRSS: 1 kB\n"),
            Some(1)
        );
        assert_eq!(nspid_of("Name:\tjava\nNSpid:\t4242\n"), Some(4242));
        assert_eq!(nspid_of("Name:\tjava\n"), None);
    }

    #[test]
    fn finds_this_hosts_files_without_panicking() {
        // Whatever runs here: every found file names a live pid, and each skipped one says why.
        let d = discover();
        for (s, _) in &d.found {
            assert!(
                Path::new(&format!("/proc/{}", s.host_pid)).exists(),
                "{s:?}"
            );
        }
        for s in &d.skipped {
            assert!(!s.reason.is_empty());
        }
    }
}
