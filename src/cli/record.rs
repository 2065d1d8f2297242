//! `oomsleuth record PID`: arguments, the progress line, SIGINT/SIGTERM, and the verdict at the end
//! (the recording itself is `live::record`).

use crate::inputs::live::record::{self, Event, Manifest};
use anyhow::{bail, Result};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    /// The JVM's pid, as this host sees it (`oomsleuth jvms` lists them, containers included).
    pub pid: u32,
    /// How long to record (e.g. 90s, 10m, 2h).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Time between samples (e.g. 1s, 30s, 5m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub every: Duration,
    /// At the end, have the JVM write a heap dump into the bundle (`GC.heap_dump -gz=1`: it pauses
    /// the JVM for as long as the dump takes).
    #[arg(long)]
    pub heap_dump: bool,
    /// The bundle directory (new, or empty). Default: ./oomsleuth-record-PID-YYYYMMDD-HHMMSS.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Print the verdict as JSON (the schema `analyze BUNDLE --json` prints).
    #[arg(long)]
    pub json: bool,
}

/// Parses `500ms`, `30s`, `10m`, `2h` or a number of seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: write e.g. 30s, 10m or 2h"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !(0.0..=366.0 * 86400.0).contains(&secs) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `oomsleuth-record-PID-YYYYMMDD-HHMMSS` in the current directory (UTC).
fn default_dir(pid: u32) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d, hh, mm, ss) = crate::units::utc_fields(now);
    PathBuf::from(format!(
        "oomsleuth-record-{pid}-{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}"
    ))
}

/// Records; returns the bundle and its manifest. The progress line is drawn on stderr when it is
/// a terminal (and not `--quiet`); notes are always printed.
pub fn run(args: &RecordArgs, quiet: bool) -> Result<(PathBuf, Manifest)> {
    if args.every.is_zero() {
        bail!("--every must be more than 0");
    }
    let dir = args.output.clone().unwrap_or_else(|| default_dir(args.pid));
    let opts = record::Options {
        pid: args.pid,
        duration: args.duration,
        every: args.every,
        heap_dump: args.heap_dump,
        dir,
    };
    let tty = !quiet && std::io::stderr().is_terminal();
    let clear = if tty { "\r\x1b[2K" } else { "" };
    let events = |e: Event<'_>| match e {
        Event::Status(s) if tty => eprint!("{clear}record {}: {s}", args.pid),
        Event::Status(_) => {}
        Event::Note(n) => eprintln!("{clear}note: {n}"),
    };
    // SIGINT and SIGTERM end the recording after what it is taking now.
    super::stop::catch(&[libc::SIGINT, libc::SIGTERM]);
    let m = record::record(&opts, &super::stop::STOP, &events)?;
    let bundle = opts.dir.canonicalize().unwrap_or(opts.dir.clone());
    if !quiet {
        let how = if m.interrupted {
            "interrupted; kept"
        } else {
            "recorded"
        };
        let pauses: f64 = m.taken.iter().filter_map(|t| t.pause_seconds).sum();
        eprintln!(
            "{clear}{how} {} samples of process {} in {} (pauses of the JVM caused: {:.1} ms); the verdict:",
            m.samples,
            m.pid,
            bundle.display(),
            pauses * 1e3
        );
    }
    Ok((bundle, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e400").is_err());
    }

    #[test]
    fn default_bundle_name_is_pid_and_utc_time() {
        let n = default_dir(42).display().to_string();
        assert!(n.starts_with("oomsleuth-record-42-20"), "{n}");
        assert_eq!(n.len(), "oomsleuth-record-42-20261201-172501".len());
    }
}
