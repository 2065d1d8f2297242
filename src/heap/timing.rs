//! `OOMSLEUTH_TIMINGS=1`: how long each phase took, on stderr, for benchmarks (`bench/`).
//! One format for every phase: `timing: <name> <seconds> s`.

use std::time::Instant;

/// Whether timings were asked for.
pub fn enabled() -> bool {
    std::env::var_os("OOMSLEUTH_TIMINGS").is_some()
}

/// Prints one phase's time when timings are on.
pub fn print(phase: &str, secs: f64) {
    if enabled() {
        eprintln!("timing: {phase:<24} {secs:>8.3} s");
    }
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
            eprintln!("timing: {name:<24} {:>8.3} s", t.elapsed().as_secs_f64());
            self.last = Some(Instant::now());
        }
    }
}
