//! Text outputs of the JVM's and the OS's own tools, one parser per format: `jcmd VM.native_memory`
//! ([`nmt`]), `pmap -x` ([`pmap`]), `/proc/<pid>/smaps`, `smaps_rollup` and `maps` ([`smaps`]), GC logs
//! ([`gclog`]), class load/unload logs ([`classlog`]), `jstat` ([`jstat`]) and the JVM's Metaspace per
//! loader, `jcmd VM.classloader_stats` and `VM.metaspace` ([`metaspace`]), class histograms
//! ([`histogram`]).
//!
//! Every parser takes the whole text, never panics, skips the lines it does not know and counts them
//! ([`LineStats`]); none of them fails on bad input, it just finds nothing. Which format a file is, is
//! told from its content (never from the file name) by `inputs::detect`.

pub mod classlog;
pub mod gclog;
pub mod histogram;
pub mod jstat;
pub mod metaspace;
pub mod nmt;
pub mod pmap;
pub mod smaps;

use serde::Serialize;

/// How many lines a parser read and how many it did not recognise (skipped, with the first few kept
/// so a user can see what was not understood).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LineStats {
    pub lines: u64,
    pub skipped: u64,
    /// Up to five skipped lines, `"<line number>: <text>"` (text cut at 120 characters).
    pub skipped_examples: Vec<String>,
}

impl LineStats {
    pub(crate) fn skip(&mut self, line_no: usize, line: &str) {
        self.skipped += 1;
        if self.skipped_examples.len() < 5 {
            let cut: String = line.chars().take(120).collect();
            self.skipped_examples
                .push(format!("{}: {}", line_no + 1, cut));
        }
    }
}

/// The formats oomsleuth reads beside heap dumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// `jcmd <pid> VM.native_memory summary|detail|summary.diff|detail.diff`.
    Nmt,
    /// `pmap -x <pid>`.
    Pmap,
    /// `/proc/<pid>/smaps` (or `maps`).
    Smaps,
    /// `/proc/<pid>/smaps_rollup`.
    SmapsRollup,
    /// A GC log: unified `-Xlog:gc*` or JDK 8 `-XX:+PrintGCDetails`.
    GcLog,
    /// A class load/unload log: `-Xlog:class+load,class+unload`, `-verbose:class`, JDK 8 `TraceClassLoading`.
    ClassLog,
    /// `jstat -gc|-gcutil|-gccapacity|-gcmetacapacity|-class [-t]`.
    Jstat,
    /// `jcmd <pid> VM.classloader_stats` (`jmap -clstats` on JDK 9+).
    ClassLoaderStats,
    /// `jcmd <pid> VM.metaspace [show-loaders]`.
    VmMetaspace,
    /// `jcmd <pid> GC.class_histogram` or `jmap -histo`.
    ClassHistogram,
    /// An HPROF heap dump, plain or gzipped (read by the heap commands, not here).
    HeapDump,
    /// An IBM Portable Heap Dump: recognised only to say that oomsleuth does not read it.
    PortableHeapDump,
}

impl LogKind {
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Nmt => "NMT",
            LogKind::Pmap => "pmap -x",
            LogKind::Smaps => "smaps",
            LogKind::SmapsRollup => "smaps_rollup",
            LogKind::GcLog => "GC log",
            LogKind::ClassLog => "class log",
            LogKind::Jstat => "jstat",
            LogKind::ClassLoaderStats => "VM.classloader_stats",
            LogKind::VmMetaspace => "VM.metaspace",
            LogKind::ClassHistogram => "class histogram",
            LogKind::HeapDump => "heap dump",
            LogKind::PortableHeapDump => "IBM portable heap dump",
        }
    }
}

/// A size like `1234KB`, `12MB`, `3GB`, `512B` or `1234K` / `12M` (GC logs) in bytes; `None` otherwise.
pub fn parse_size(token: &str) -> Option<u64> {
    let t = token.trim();
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    if num.is_empty() {
        return None;
    }
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KB" | "k" | "kB" | "KiB" => 1024.0,
        "M" | "MB" | "MiB" => 1024.0 * 1024.0,
        "G" | "GB" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let v: f64 = num.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some((v * mult).round() as u64)
}

/// A signed size delta like `+1234KB` or `-92846KB`, in bytes.
pub fn parse_delta(token: &str) -> Option<i64> {
    let t = token.trim();
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1i64, t.get(1..)?),
        b'-' => (-1i64, t.get(1..)?),
        _ => return None,
    };
    Some(sign * i64::try_from(parse_size(rest)?).ok()?)
}

/// Seconds since the epoch of an ISO-8601 time as unified logging writes it
/// (`2026-11-22T15:45:05.176+0000`); `None` when it is not one.
pub fn parse_iso_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 19 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        frac = format!("0.{}", r.get(..end)?).parse().unwrap_or(0.0);
        rest = r.get(end..)?;
    }
    let mut offset = 0i64;
    if rest.len() >= 5 && (rest.starts_with('+') || rest.starts_with('-')) {
        let sign = if rest.starts_with('-') { -1 } else { 1 };
        let digits: String = rest
            .get(1..)?
            .chars()
            .filter(|c| c.is_ascii_digit())
            .take(4)
            .collect();
        let hh: i64 = digits.get(0..2)?.parse().ok()?;
        let mm: i64 = digits.get(2..4)?.parse().ok()?;
        offset = sign * (hh * 3600 + mm * 60);
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

/// The decorations of a unified-logging line (`[time][uptime][level][tags] message`): each bracketed
/// prefix, and the message after them. `None` when the line does not start with `[`.
pub fn split_decorations(line: &str) -> Option<(Vec<&str>, &str)> {
    let mut rest = line;
    let mut decos = Vec::new();
    while let Some(r) = rest.strip_prefix('[') {
        let end = r.find(']')?;
        decos.push(r.get(..end)?.trim());
        rest = r.get(end + 1..)?;
        if decos.len() > 12 {
            break;
        }
    }
    if decos.is_empty() {
        return None;
    }
    Some((decos, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// The best timestamp among unified-logging decorations, in seconds: uptime (`0.016s`, `16ms`,
/// `14359797ns`) first, as it orders lines of one JVM exactly; else wall-clock time.
pub fn decoration_time(decos: &[&str]) -> Option<f64> {
    // The most precise uptime wins: nanoseconds, then milliseconds, then seconds (`0.090s` rounds).
    let (mut ns, mut ms, mut s, mut wall) = (None, None, None, None);
    for d in decos {
        if let Some(v) = d.strip_suffix("ns").and_then(|v| v.parse::<f64>().ok()) {
            ns = ns.or(Some(v / 1e9));
        } else if let Some(v) = d.strip_suffix("ms").and_then(|v| v.parse::<f64>().ok()) {
            ms = ms.or(Some(v / 1e3));
        } else if let Some(v) = d.strip_suffix('s').and_then(|v| v.parse::<f64>().ok()) {
            s = s.or(Some(v));
        } else if wall.is_none() {
            wall = parse_iso_time(d);
        }
    }
    ns.or(ms).or(s).or(wall)
}

/// A real tool output kept under `tests/data/samples/`, for the parsers' unit tests.
#[cfg(test)]
pub(crate) fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1234KB"), Some(1234 * 1024));
        assert_eq!(parse_size("12M"), Some(12 << 20));
        assert_eq!(parse_size("512B"), Some(512));
        assert_eq!(parse_size("KB"), None);
        assert_eq!(parse_delta("+12KB"), Some(12 * 1024));
        assert_eq!(parse_delta("-1KB"), Some(-1024));
        assert_eq!(parse_delta("12KB"), None);
    }

    #[test]
    fn iso_time() {
        assert_eq!(parse_iso_time("1970-01-01T00:00:01.500+0000"), Some(1.5));
        assert_eq!(
            parse_iso_time("2026-11-22T15:45:05.000+0100"),
            Some(1795358705.0)
        );
        assert_eq!(parse_iso_time("garbage"), None);
    }

    #[test]
    fn decorations() {
        let (d, m) =
            split_decorations("[0.016s][info][class,load] java.lang.Object source: x").unwrap();
        assert_eq!(d, vec!["0.016s", "info", "class,load"]);
        assert_eq!(m, "java.lang.Object source: x");
        assert_eq!(decoration_time(&d), Some(0.016));
    }
}
