pub mod hprof_writer;
pub mod jdk_classes;
pub mod jvm;

/// `../shared/SUB` beside the repository (or beside the directory of worktrees holding it,
/// `../../shared`), if it is there: what the project was given to test against (Eclipse MAT's dumps,
/// reproducers, real tool outputs), read in place and never copied.
pub fn shared_dir(sub: &str) -> Option<std::path::PathBuf> {
    let root = jvm::repo_root();
    [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .map(|s| s.join(sub))
        .find(|p| p.exists())
}

/// The first child of process `pid` (a `unshare --fork` or shell wrapper's JVM), from
/// `/proc/PID/task/PID/children`.
pub fn first_child(pid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("process {pid} has no child"))
        .parse()
        .unwrap()
}
