//! `jcmd <pid> GC.class_histogram` and `jmap -histo` outputs: per class, instances and bytes.
//!
//! ```text
//!  num     #instances         #bytes  class name (module)
//! -------------------------------------------------------
//!    1:         12871        1104680  [B (java.base@17.0.15)
//! Total         96015        5294512
//! ```
//!
//! JDK 8 prints no module; array classes keep the JVM's names (`[B`, `[Ljava.lang.Object;`).

use super::LineStats;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HistogramRow {
    pub class: String,
    pub instances: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ClassHistogram {
    pub rows: Vec<HistogramRow>,
    pub total_instances: u64,
    pub total_bytes: u64,
    pub stats: LineStats,
}

/// The column header line.
pub fn is_header(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("num") && l.contains("#instances") && l.contains("#bytes")
}

/// Parses the whole output; lines it does not know are counted in `stats`.
pub fn parse(text: &str) -> ClassHistogram {
    let mut h = ClassHistogram::default();
    for (n, line) in text.lines().enumerate() {
        h.stats.lines += 1;
        let l = line.trim();
        if l.is_empty()
            || is_header(l)
            || l.starts_with("---")
            || l.ends_with(':') && !l.contains(' ')
        {
            continue; // blank, header, rule, jcmd's "PID:" line
        }
        let mut it = l.split_whitespace();
        let first = it.next().unwrap_or("");
        if first == "Total" {
            let nums: Vec<u64> = it.filter_map(|t| t.parse().ok()).collect();
            if let [i, b] = nums[..] {
                h.total_instances = i;
                h.total_bytes = b;
            }
            continue;
        }
        let row = first
            .strip_suffix(':')
            .and_then(|rank| rank.parse::<u64>().ok())
            .and_then(|_| {
                let instances = it.next()?.parse().ok()?;
                let bytes = it.next()?.parse().ok()?;
                let class = it.next()?.to_string();
                Some(HistogramRow {
                    class,
                    instances,
                    bytes,
                })
            });
        match row {
            Some(r) => h.rows.push(r),
            None => h.stats.skip(n, line),
        }
    }
    h
}

/// The Java name of a histogram class name: `[B` -> `byte[]`, `[Ljava.lang.String;` ->
/// `java.lang.String[]`, others unchanged.
pub fn java_name(jvm: &str) -> String {
    let dims = jvm.chars().take_while(|&c| c == '[').count();
    if dims == 0 {
        return jvm.to_string();
    }
    let elem = &jvm[dims..];
    let base = match elem {
        "B" => "byte",
        "C" => "char",
        "D" => "double",
        "F" => "float",
        "I" => "int",
        "J" => "long",
        "S" => "short",
        "Z" => "boolean",
        e => e
            .strip_prefix('L')
            .and_then(|e| e.strip_suffix(';'))
            .unwrap_or(e),
    };
    format!("{base}{}", "[]".repeat(dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "12345:\n num     #instances         #bytes  class name (module)\n-------------------------------------------------------\n   1:         12871        1104680  [B (java.base@17.0.15)\n   2:          3370         408936  java.lang.Class (java.base@17.0.15)\n   3:          1800         144000  LeakLab$ScriptLoader\n   4:             2             48  [[Ljava.lang.String; (java.base@17.0.15)\nTotal         18043        1657664\n";

    #[test]
    fn rows_and_total_are_read() {
        let h = parse(SAMPLE);
        assert_eq!(h.rows.len(), 4);
        assert_eq!(h.rows[2].class, "LeakLab$ScriptLoader");
        assert_eq!((h.rows[0].instances, h.rows[0].bytes), (12871, 1104680));
        assert_eq!((h.total_instances, h.total_bytes), (18043, 1657664));
        assert_eq!(h.stats.skipped, 0, "{:?}", h.stats);
        assert_eq!(java_name(&h.rows[0].class), "byte[]");
        assert_eq!(java_name(&h.rows[3].class), "java.lang.String[][]");
        assert!(is_header(
            " num     #instances         #bytes  class name (module)"
        ));
    }

    #[test]
    fn the_real_sample_parses_without_skips() {
        let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
            return;
        };
        let p = std::path::Path::new(&dir)
            .join("../shared/samples/jdk17-gc-class-histogram.trimmed.txt");
        let Ok(text) = std::fs::read_to_string(&p) else {
            eprintln!("note: {} is absent; skipped", p.display());
            return;
        };
        let h = parse(&text);
        // The sample is trimmed: one "... [trimmed] ..." line, then some rows out of order.
        assert_eq!(h.rows.len(), 32, "{:?}", h.stats);
        assert_eq!(h.stats.skipped, 1, "{:?}", h.stats);
        assert_eq!((h.total_instances, h.total_bytes), (87760, 4504536));
        assert_eq!(h.rows[7].class, "LeakLab$ScriptLoader");
    }

    #[test]
    fn garbage_is_skipped_not_fatal() {
        let h = parse("   x: 1 2\n\u{0}\u{1}\n 1: 5\n");
        assert!(h.rows.is_empty());
        assert_eq!(h.stats.skipped, 3);
    }
}
