//! `oomsleuth jcmd TARGET COMMAND...`: a diagnostic command through HotSpot's attach protocol
//! ([`crate::inputs::live::attach`]), printed the way the JDK's `jcmd` prints it, so that a host or a
//! container image without a JDK can still ask a JVM.

use crate::inputs::live::attach::{self, AttachOptions, AttachReply};
use anyhow::{bail, Result};
use std::io::Write;
use std::time::Duration;

/// `jcmd`'s exit code when a JVM reported that a command failed.
pub const EXIT_COMMAND_FAILED: i32 = 1;

/// Runs `command` (the words joined by spaces, as `jcmd` joins them) in every JVM `target` names,
/// printing as it goes: `PID:`, then each answer; a failed command's message on stderr. Returns the
/// exit code: 0, [`EXIT_COMMAND_FAILED`], or an error when the only JVM could not be attached.
pub fn jcmd(target: &str, command: &[String], attach_timeout: Duration) -> Result<i32> {
    match jcmd_each(target, command, attach_timeout) {
        // `oomsleuth jcmd ... | head`: the reader has seen enough.
        Err(e) if is_broken_pipe(&e) => Ok(super::EXIT_OK),
        r => r,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn jcmd_each(target: &str, command: &[String], attach_timeout: Duration) -> Result<i32> {
    let line = command.join(" ");
    if line.trim().is_empty() {
        bail!(
            "give a diagnostic command, e.g. `oomsleuth jcmd PID VM.version` (`help` lists them)"
        );
    }
    let pids = pids_of(target)?;
    let options = AttachOptions {
        listener_timeout: attach_timeout,
        ..Default::default()
    };
    let mut code = super::EXIT_OK;
    for &pid in &pids {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{pid}:")?;
        out.flush()?;
        drop(out);
        match run_lines(pid, &line, &options) {
            Ok(true) => {}
            Ok(false) => code = code.max(EXIT_COMMAND_FAILED),
            Err(e) if pids.len() == 1 || is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                eprintln!("error: {e:#}");
                code = super::EXIT_ERROR;
            }
        }
    }
    Ok(code)
}

/// The pids `target` names, as `jcmd` resolves them: a number is that pid (0: every JVM), anything
/// else matches the JVMs whose main class or jar contains it.
fn pids_of(target: &str) -> Result<Vec<u32>> {
    if target.starts_with('-') {
        bail!("{target:?} is not a pid or a main class name");
    }
    if let Ok(pid) = target.parse::<u64>() {
        if pid != 0 {
            return Ok(vec![
                u32::try_from(pid).map_err(|_| anyhow::anyhow!("{pid} is not a pid"))?
            ]);
        }
    }
    let all = target.parse::<u64>().is_ok();
    let found = crate::inputs::live::jvms::discover();
    let report = crate::analyses::process::jvms::report(found.found, vec![], vec![], 0);
    let mut pids: Vec<u32> = report
        .jvms
        .into_iter()
        .filter(|j| all || j.main.as_deref().is_some_and(|m| m.contains(target)))
        .map(|j| j.source.host_pid)
        .filter(|&pid| pid != std::process::id())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() {
        let how = if all {
            "no JVM is running here (none has an hsperfdata file: see `oomsleuth jvms`)".to_string()
        } else {
            format!("could not find any JVM whose main class or jar contains {target:?} (see `oomsleuth jvms`)")
        };
        bail!(how);
    }
    Ok(pids)
}

/// `PerfCounter.print`, which `jcmd` answers itself from the JVM's hsperfdata file (the JVM does
/// not know it): the counters of `pid`'s file, found as `oomsleuth jvms` finds it.
fn print_perf_counters(pid: u32) -> Result<()> {
    let found = crate::inputs::live::jvms::discover();
    let Some((_, bytes)) = found.found.iter().find(|(s, _)| s.host_pid == pid) else {
        let why = found
            .skipped
            .iter()
            .find(|s| s.path.ends_with(&format!("/{pid}")))
            .map_or(
                "none found; is it a JVM started with -XX:-UsePerfData?".to_string(),
                |s| format!("{}: {}", s.path, s.reason),
            );
        bail!("cannot read the hsperfdata file of process {pid}: {why}");
    };
    let perf = crate::formats::hsperf::PerfData::parse(bytes)
        .map_err(|e| anyhow::anyhow!("the hsperfdata file of process {pid}: {e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(crate::reports::jvms_text::perf_counters(&perf, bytes.len()).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Runs each line of `line` (jcmd runs a multi-line command line by line, up to a line `stop`);
/// `false` when the JVM said one failed.
fn run_lines(pid: u32, line: &str, options: &AttachOptions) -> Result<bool> {
    if line.trim() == "PerfCounter.print" {
        print_perf_counters(pid)?;
        return Ok(true);
    }
    let mut ok = true;
    for one in line.split('\n') {
        if one.trim() == "stop" {
            break;
        }
        let reply = attach::execute_with(pid, "jcmd", &[one], options)?;
        ok &= print_reply(&reply)?;
    }
    Ok(ok)
}

/// Prints a reply as `jcmd` does: the output on stdout ("Command executed successfully" when there
/// is none); for a failure, the message's lines joined by spaces on stderr.
fn print_reply(reply: &AttachReply) -> Result<bool> {
    if !reply.succeeded() {
        let text = reply.text();
        let message: Vec<&str> = text.lines().collect();
        let message = if message.is_empty() {
            "Command failed in target VM".to_string()
        } else {
            message.join(" ")
        };
        eprintln!("{message}");
        return Ok(false);
    }
    let mut out = std::io::stdout().lock();
    if reply.output.is_empty() {
        writeln!(out, "Command executed successfully")?;
    } else {
        out.write_all(&reply.output)?;
    }
    out.flush()?;
    Ok(true)
}
