//! `pmap -x <pid>` (procps):
//!
//! ```text
//! 4091:   /usr/lib/jvm/java-17-openjdk-amd64/bin/java -XX:NativeMemoryTracking=detail ...
//! Address           Kbytes     RSS   Dirty Mode  Mapping
//! 00007f65dc000000   65500   22364   22364 rw---   [ anon ]
//! 0000555a74d49000       4       4       0 r-x-- java
//! ---------------- ------- ------- -------
//! total kB         2708068  215872   62016
//! ```

use super::LineStats;
use serde::Serialize;

/// One mapping of a process: from `pmap -x`, `/proc/<pid>/smaps` or `/proc/<pid>/maps` (sizes in bytes).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Mapping {
    /// Start address, hex (`0x7f65dc000000`) in JSON.
    #[serde(serialize_with = "crate::units::serialize_hex")]
    pub start: u64,
    pub size: u64,
    /// Resident bytes (`None` in `/proc/<pid>/maps`, which has no sizes).
    pub rss: Option<u64>,
    /// `rw-p`, `r-x--`, `---p`: readable/writable/executable as `r`, `w`, `x`.
    pub perms: String,
    /// File, `[heap]`, `[stack]`, or empty for anonymous memory.
    pub name: String,
}

impl Mapping {
    /// Anonymous memory (malloc arenas, Java heap, thread stacks, Metaspace): no file behind it.
    pub fn is_anon(&self) -> bool {
        self.name.is_empty()
            || self.name == "[ anon ]"
            || self.name == "[anon]"
            || self.name == "[heap]"
            || self.name == "[ heap ]"
    }
    pub fn readable(&self) -> bool {
        self.perms.starts_with('r')
    }
    /// No access (`---`): a reserved, uncommitted range.
    pub fn no_access(&self) -> bool {
        !self.perms.contains(['r', 'w', 'x'])
    }
}

/// One `pmap -x` output.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Pmap {
    pub pid: Option<u32>,
    pub mappings: Vec<Mapping>,
    /// The `total kB` line: (size, rss, dirty) in bytes.
    pub total_size: Option<u64>,
    pub total_rss: Option<u64>,
    pub stats: LineStats,
}

/// Parses `pmap -x` output; never fails.
pub fn parse(text: &str) -> Pmap {
    let mut p = Pmap::default();
    for (no, raw) in text.lines().enumerate() {
        p.stats.lines += 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with("Address") || line.starts_with("----") {
            continue;
        }
        if no == 0 {
            if let Some((pid, _)) = line.split_once(':') {
                if let Ok(pid) = pid.trim().parse() {
                    p.pid = Some(pid);
                    continue;
                }
            }
        }
        if let Some(rest) = line.strip_prefix("total kB") {
            let v: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            p.total_size = v.first().map(|k| k.saturating_mul(1024));
            p.total_rss = v.get(1).map(|k| k.saturating_mul(1024));
            continue;
        }
        let mut toks = line.split_whitespace();
        let parsed = (|| {
            let start = u64::from_str_radix(toks.next()?, 16).ok()?;
            let kb: u64 = toks.next()?.parse().ok()?;
            let rss: u64 = toks.next()?.parse().ok()?;
            let _dirty: u64 = toks.next()?.parse().ok()?;
            let mode = toks.next()?;
            if mode.len() < 3 || !mode.chars().all(|c| "rwxsp-R".contains(c)) {
                return None;
            }
            let name = toks.collect::<Vec<_>>().join(" ");
            Some(Mapping {
                start,
                size: kb.saturating_mul(1024),
                rss: Some(rss.saturating_mul(1024)),
                perms: mode.to_string(),
                name,
            })
        })();
        match parsed {
            Some(m) => p.mappings.push(m),
            None => p.stats.skip(no, raw),
        }
    }
    if p.total_rss.is_none() && !p.mappings.is_empty() {
        p.total_rss = Some(p.mappings.iter().filter_map(|m| m.rss).sum());
        p.total_size = Some(p.mappings.iter().map(|m| m.size).sum());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdk17_pmap_x() {
        let t = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/samples/jdk17-pmap-x.trimmed.txt"
        ))
        .unwrap();
        let p = parse(&t);
        assert_eq!(p.pid, Some(4091));
        let m = &p.mappings[0];
        assert_eq!(m.start, 0xf0000000);
        assert_eq!(m.size, 18432 * 1024);
        assert_eq!(m.rss, Some(3484 * 1024));
        assert!(m.is_anon());
        assert!(p
            .mappings
            .iter()
            .any(|m| m.name == "classes.jsa" && !m.is_anon()));
        assert!(p.mappings[1].no_access());
        // The two "... [trimmed ...]" marker lines are the only unknown lines.
        assert_eq!(p.stats.skipped, 2, "{:?}", p.stats.skipped_examples);
    }

    #[test]
    fn huge_sizes_saturate() {
        let p = parse(
            "00400000 18446744073709551615 18446744073709551615 0 r-x-- java\n\
                       total kB 18446744073709551615 18446744073709551615 0\n",
        );
        assert_eq!(p.mappings[0].size, u64::MAX);
        assert_eq!(p.total_rss, Some(u64::MAX));
    }

    #[test]
    fn garbage() {
        for t in [
            "",
            "x",
            "total kB",
            "0000 1 2 3",
            "zz:\nAddress\n00 1 1 1 rw--- [ anon ]",
        ] {
            let _ = parse(t);
        }
    }
}
