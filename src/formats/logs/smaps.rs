//! `/proc/<pid>/smaps`, `/proc/<pid>/smaps_rollup` and `/proc/<pid>/maps` (Linux `proc(5)`):
//!
//! ```text
//! 7f65e8000000-7f65ebff3000 rw-p 00000000 00:00 0                  [path]
//! Size:              65484 kB
//! Rss:               63472 kB
//! ```
//! `smaps_rollup` has one header, `[rollup]`, and the process's totals.

use super::pmap::Mapping;
use super::LineStats;
use serde::Serialize;

/// A parsed smaps/maps file; `rollup` holds the totals of a `smaps_rollup` (or the sum of the mappings).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Smaps {
    pub mappings: Vec<Mapping>,
    pub rollup: Option<Rollup>,
    pub stats: LineStats,
}

/// Process totals in bytes.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Rollup {
    pub rss: u64,
    pub pss: u64,
    pub anonymous: u64,
    pub swap: u64,
}

/// A mapping header line `start-end perms offset dev inode [path]`: (start, end, perms, path).
pub fn parse_header(line: &str) -> Option<(u64, u64, &str, &str)> {
    let mut it = line.splitn(6, char::is_whitespace);
    let range = it.next()?;
    let (a, b) = range.split_once('-')?;
    let start = u64::from_str_radix(a, 16).ok()?;
    let end = u64::from_str_radix(b, 16).ok()?;
    let perms = it.next()?;
    if perms.len() != 4 || !perms.chars().all(|c| "rwxsp-".contains(c)) {
        return None;
    }
    let _offset = u64::from_str_radix(it.next()?, 16).ok()?;
    let dev = it.next()?;
    if !dev.contains(':') {
        return None;
    }
    let _inode: u64 = it.next()?.trim().parse().ok()?;
    let path = it.next().unwrap_or("").trim();
    Some((start, end, perms, path))
}

/// Parses smaps, smaps_rollup or maps; never fails.
pub fn parse(text: &str) -> Smaps {
    let mut s = Smaps::default();
    let mut rollup = Rollup::default();
    let mut is_rollup = false;
    for (no, raw) in text.lines().enumerate() {
        s.stats.lines += 1;
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some((start, end, perms, path)) = parse_header(line) {
            if path == "[rollup]" {
                is_rollup = true;
                continue;
            }
            s.mappings.push(Mapping {
                start,
                size: end.saturating_sub(start),
                rss: None,
                perms: perms.to_string(),
                name: path.to_string(),
            });
            continue;
        }
        let Some((key, val)) = line.split_once(':') else {
            s.stats.skip(no, raw);
            continue;
        };
        let kb = val
            .trim()
            .strip_suffix("kB")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let Some(kb) = kb else {
            // VmFlags, THPeligible, ProtectionKey: known, not sizes.
            if !matches!(key, "VmFlags" | "THPeligible" | "ProtectionKey") {
                s.stats.skip(no, raw);
            }
            continue;
        };
        // Sizes a kernel writes fit; a damaged or hostile file's saturate, never overflow.
        let bytes = kb.saturating_mul(1024);
        match key {
            "Rss" => {
                rollup.rss = rollup.rss.saturating_add(bytes);
                if let Some(m) = s.mappings.last_mut() {
                    m.rss = Some(bytes);
                }
            }
            "Pss" => rollup.pss = rollup.pss.saturating_add(bytes),
            "Anonymous" => rollup.anonymous = rollup.anonymous.saturating_add(bytes),
            "Swap" => rollup.swap = rollup.swap.saturating_add(bytes),
            _ => {}
        }
    }
    if is_rollup || !s.mappings.is_empty() && s.mappings.iter().any(|m| m.rss.is_some()) {
        s.rollup = Some(rollup);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::formats::logs::sample;

    /// Found by `cargo fuzz run parse_smaps`: sizes of 20 digits and more in kB overflowed.
    #[test]
    fn huge_sizes_saturate() {
        let text = "7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n\
                    SwapPss:00000013371215493478744044 kB\n\
                    Rss: 18446744073709551615 kB\nRss: 18446744073709551615 kB\n\
                    Pss: 18446744073709551615 kB\nPss: 18014398509481984 kB\n";
        let s = parse(text);
        let r = s.rollup.expect("a rollup");
        assert_eq!((r.rss, r.pss), (u64::MAX, u64::MAX));
    }

    #[test]
    fn rollup() {
        let s = parse(&sample("jdk17-proc-smaps_rollup.txt"));
        let r = s.rollup.unwrap();
        assert_eq!(r.rss, 274596 * 1024);
        assert_eq!(r.anonymous, 252108 * 1024);
        assert!(s.mappings.is_empty());
        assert_eq!(s.stats.skipped, 0);
    }

    #[test]
    fn smaps_entries() {
        let s = parse(&sample("jdk17-proc-smaps.excerpt.txt"));
        assert_eq!(s.mappings.len(), 2);
        assert_eq!(s.mappings[1].start, 0x7f65e8000000);
        assert_eq!(s.mappings[1].size, 0x7f65ebff3000 - 0x7f65e8000000);
        assert_eq!(s.mappings[1].rss, Some(63472 * 1024));
        assert!(s.mappings[1].is_anon());
        assert_eq!(s.stats.skipped, 0, "{:?}", s.stats.skipped_examples);
    }

    #[test]
    fn maps_line() {
        let s = parse("7f00e0400000-7f00e7eb2000 r--s 00000000 08:01 123   /usr/lib/jvm/x/lib/modules\n7f00e8000000-7f00e89dc000 rw-p 00000000 00:00 0 \n");
        assert_eq!(s.mappings.len(), 2);
        assert!(!s.mappings[0].is_anon());
        assert!(s.mappings[1].is_anon());
        assert!(s.rollup.is_none());
    }
}
