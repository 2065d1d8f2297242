//! `OOMSLEUTH_TIMINGS=1`: how long each phase took, on stderr, for benchmarks (`bench/`).
//! One format for every phase: `timing: <name> <seconds> s`, then (Linux) the anonymous memory
//! the process holds as the phase ends, `anon <MB> MB`: where the memory of a run goes.

use std::time::Instant;

/// Whether timings were asked for.
pub fn enabled() -> bool {
    std::env::var_os("OOMSLEUTH_TIMINGS").is_some()
}

/// Prints one phase's time when timings are on.
pub fn print(phase: &str, secs: f64) {
    if enabled() {
        eprintln!("timing: {phase:<24} {secs:>8.3} s{}", anon_suffix());
    }
}

/// `  anon N MB` from `RssAnon` in /proc/self/status; empty where there is none.
fn anon_suffix() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| format!("  anon {:>6} MB", kb / 1024))
        .unwrap_or_default()
}

/// Successive laps of one computation: each [`lap`](Laps::lap) prints the time since the last,
/// its name prefixed (`dominators/dfs`). Costs nothing when timings are off.
pub struct Laps {
    prefix: &'static str,
    last: Option<Instant>,
}

impl Laps {
    pub fn start(prefix: &'static str) -> Laps {
        Laps {
            prefix,
            last: enabled().then(Instant::now),
        }
    }

    pub fn lap(&mut self, what: &str) {
        if let Some(t) = self.last {
            let name = if self.prefix.is_empty() {
                what.to_string()
            } else {
                format!("{}/{what}", self.prefix)
            };
            eprintln!(
                "timing: {name:<24} {:>8.3} s{}",
                t.elapsed().as_secs_f64(),
                anon_suffix()
            );
            self.last = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn anon_suffix_names_megabytes_on_linux() {
        let s = super::anon_suffix();
        if cfg!(target_os = "linux") {
            assert!(s.starts_with("  anon ") && s.ends_with(" MB"), "{s:?}");
        }
    }
}
