//! The JVM's own Metaspace figures per class loader: `jcmd PID VM.classloader_stats` (also `jmap
//! -clstats` on JDK 9+) and `jcmd PID VM.metaspace [show-loaders]`, JDK 11 to 25.
//!
//! `VM.classloader_stats` prints one row per class loader data (its loader oop, parent, CLD
//! address, classes, chunk and block bytes, type) and, under a row, a `+ hidden classes` (or
//! `+ unsafe anonymous classes`) row with the same columns for that loader's hidden classes, then
//! `Total = loaders classes chunks blocks`. The loader column is not the loader's heap address on
//! every JDK (JDK 17 and 25 print one value for every row), so rows are matched to a heap dump by
//! type. `VM.metaspace` prints `Total Usage - N loaders, M classes` and a `Both:` line with
//! committed and used bytes; with `show-loaders` it prints such a `Both:` line per loader after
//! `CLD 0x...: instance of TYPE`.

use super::LineStats;
use serde::Serialize;

/// One loader type's Metaspace, as the JVM counts it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TypeMetaspace {
    #[serde(rename = "type")]
    pub type_name: String,
    pub loaders: u64,
    /// Classes, hidden classes included.
    pub classes: u64,
    /// Metaspace chunks the loaders hold (`ChunkSz`; `committed` in `VM.metaspace`): what their
    /// unloading would give back.
    pub chunk_bytes: u64,
    /// Of which allocated to metadata (`BlockSz`; `used`).
    pub block_bytes: u64,
}

/// What a `VM.classloader_stats` or `VM.metaspace` output says.
#[derive(Clone, Debug, Default, Serialize)]
pub struct JvmMetaspace {
    /// `classloader_stats` or `metaspace`.
    pub source: &'static str,
    /// Per loader type, most chunk bytes first (empty for `VM.metaspace` without `show-loaders`).
    pub by_type: Vec<TypeMetaspace>,
    pub loaders: Option<u64>,
    pub classes: Option<u64>,
    /// All loaders' chunks (`committed` for `VM.metaspace`).
    pub chunk_bytes: Option<u64>,
    pub block_bytes: Option<u64>,
    /// `MaxMetaspaceSize` as `VM.metaspace` states it (none when unlimited): the limit committed
    /// Metaspace cannot pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Metaspace's virtual space committed (`VM.metaspace`'s `Both: .. reserved, .. committed`):
    /// what `MaxMetaspaceSize` bounds.
    #[serde(skip)]
    pub space_committed: Option<u64>,
    pub stats: LineStats,
}

impl JvmMetaspace {
    /// The figures for one loader type, if the output has rows per type.
    pub fn of_type(&self, type_name: &str) -> Option<&TypeMetaspace> {
        self.by_type.iter().find(|t| t.type_name == type_name)
    }
}

/// Whether a text is a `VM.classloader_stats` output (its header line).
pub fn is_classloader_stats(text: &str) -> bool {
    text.lines().take(50).any(|l| {
        let l = l.trim_start();
        l.starts_with("ClassLoader") && l.contains("Classes") && l.contains("ChunkSz")
    })
}

/// Whether a text is a `VM.metaspace` output.
pub fn is_vm_metaspace(text: &str) -> bool {
    text.lines()
        .take(50)
        .any(|l| l.trim_start().starts_with("Total Usage - ") || l.trim() == "Usage per loader:")
}

fn num(t: &str) -> Option<u64> {
    t.parse().ok()
}

/// Names the JVM prints for loaders without an object, kept as the dump names them.
fn type_name(t: &str) -> String {
    match t {
        "<boot class loader>" => "<bootstrap>".into(),
        t => t.to_string(),
    }
}

fn add(by: &mut Vec<TypeMetaspace>, t: &str, loaders: u64, classes: u64, chunk: u64, block: u64) {
    let i = match by.iter().position(|x| x.type_name == t) {
        Some(i) => i,
        None => {
            by.push(TypeMetaspace {
                type_name: t.to_string(),
                ..Default::default()
            });
            by.len() - 1
        }
    };
    let e = &mut by[i];
    e.loaders += loaders;
    e.classes += classes;
    e.chunk_bytes += chunk;
    e.block_bytes += block;
}

fn sort(by: &mut [TypeMetaspace]) {
    by.sort_by(|a, b| {
        b.chunk_bytes
            .cmp(&a.chunk_bytes)
            .then(a.type_name.cmp(&b.type_name))
    });
}

/// Parses `VM.classloader_stats`; never fails (unknown lines are counted in `stats`).
pub fn parse_classloader_stats(text: &str) -> JvmMetaspace {
    let mut out = JvmMetaspace {
        source: "classloader_stats",
        ..Default::default()
    };
    let mut by: Vec<TypeMetaspace> = vec![];
    let mut last_type: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        out.stats.lines += 1;
        let l = line.trim();
        let cols: Vec<&str> = l.split_whitespace().collect();
        if l.is_empty()
            || l.starts_with("ClassLoader")
            || l.starts_with("ChunkSz:")
            || l.starts_with("BlockSz:")
            || l.ends_with(':')
        {
            continue;
        }
        if let Some(rest) = l.strip_prefix("Total = ") {
            let v: Vec<u64> = rest.split_whitespace().filter_map(num).collect();
            if let [loaders, classes, chunk, block] = v[..] {
                out.loaders = Some(loaders);
                out.classes = Some(classes);
                out.chunk_bytes = Some(chunk);
                out.block_bytes = Some(block);
            }
            continue;
        }
        // A loader's row: three addresses, three numbers, the type (which may hold spaces).
        if cols.len() >= 7 && cols[..3].iter().all(|c| c.starts_with("0x")) {
            if let (Some(c), Some(k), Some(b)) = (num(cols[3]), num(cols[4]), num(cols[5])) {
                let t = type_name(&cols[6..].join(" "));
                add(&mut by, &t, 1, c, k, b);
                last_type = Some(t);
                continue;
            }
        }
        // `+ hidden classes` / `+ unsafe anonymous classes` under a row: that loader's too.
        if cols.len() >= 4 && cols[3] == "+" {
            if let (Some(c), Some(k), Some(b), Some(t)) = (
                num(cols[0]),
                num(cols[1]),
                num(cols[2]),
                last_type.as_deref(),
            ) {
                let t = t.to_string();
                add(&mut by, &t, 0, c, k, b);
                continue;
            }
        }
        out.stats.skip(i, line);
    }
    sort(&mut by);
    out.by_type = by;
    out
}

/// `committed` and `used` of a `VM.metaspace` usage line (`Both: 3 chunks, 10.00 KB capacity,
/// 10.00 KB (100%) committed, 8.81 KB ( 88%) used, ...`), in bytes.
fn usage(line: &str) -> Option<(u64, u64)> {
    Some((
        size_before(line, " committed")?,
        size_before(line, " used")?,
    ))
}

/// The size printed just before `word` in `line` (`7.53 MB ( 32%) used`).
fn size_before(line: &str, word: &str) -> Option<u64> {
    {
        let at = line.find(word)?;
        let head = &line[..at];
        // `<number> <unit> (<pct>) <word>`: drop the percentage, then read number and unit.
        let head = match head.rfind('(') {
            Some(p) => &head[..p],
            None => head,
        };
        let parts: Vec<&str> = head.split([',', ' ']).filter(|s| !s.is_empty()).collect();
        let (n, unit) = (parts.get(parts.len().checked_sub(2)?)?, parts.last()?);
        let v: f64 = n.parse().ok()?;
        let mult = match *unit {
            "bytes" | "B" => 1.0,
            "KB" | "K" => 1024.0,
            "MB" | "M" => 1024.0 * 1024.0,
            "GB" | "G" => 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        };
        Some((v * mult).round() as u64)
    }
}

/// Parses `VM.metaspace` (with or without `show-loaders`); never fails.
pub fn parse_vm_metaspace(text: &str) -> JvmMetaspace {
    let mut out = JvmMetaspace {
        source: "metaspace",
        ..Default::default()
    };
    let mut by: Vec<TypeMetaspace> = vec![];
    let mut loader_type: Option<String> = None;
    let mut loader_classes = 0u64;
    let mut in_total = false;
    for line in text.lines() {
        out.stats.lines += 1;
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("Total Usage - ") {
            // `2330 loaders, 3315 classes (864 shared):`
            let v: Vec<u64> = rest.split([' ', ',', '(']).filter_map(num).collect();
            out.loaders = v.first().copied();
            out.classes = v.get(1).copied();
            in_total = true;
            loader_type = None;
            continue;
        }
        if let Some(at) = l.find(": instance of ") {
            if l.contains("CLD ") {
                loader_type = Some(type_name(l[at + ": instance of ".len()..].trim()));
                loader_classes = 0;
                in_total = false;
                continue;
            }
        }
        if l.starts_with("CLD ") {
            // `CLD 0x...: "<boot class loader>"` and the like.
            let t = l
                .split_once(": ")
                .map(|x| x.1.trim().trim_matches('"'))
                .unwrap_or("?");
            loader_type = Some(type_name(t));
            loader_classes = 0;
            in_total = false;
            continue;
        }
        if let Some(rest) = l.strip_prefix("MaxMetaspaceSize: ") {
            // `24.00 MB`, or `unlimited`.
            out.max_bytes = crate::formats::logs::parse_size(&rest.replace(' ', ""));
            continue;
        }
        if let Some(rest) = l.strip_prefix("-total-: ") {
            loader_classes += rest.split_whitespace().next().and_then(num).unwrap_or(0);
            continue;
        }
        if let Some(rest) = l.strip_prefix("Both:") {
            if rest.contains(" reserved") {
                // The virtual space: `34.00 MB reserved, 24.00 MB ( 71%) committed`.
                out.space_committed = size_before(rest, " committed").or(out.space_committed);
                continue;
            }
            let Some((committed, used)) = usage(rest) else {
                continue;
            };
            if in_total {
                out.chunk_bytes = Some(committed);
                out.block_bytes = Some(used);
                in_total = false;
            } else if let Some(t) = loader_type.take() {
                add(&mut by, &t, 1, loader_classes, committed, used);
            }
        }
    }
    sort(&mut by);
    out.by_type = by;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "4091:\nClassLoader         Parent              CLD*               Classes   ChunkSz   BlockSz  Type\n\
0x00007f6610000a10  0x00007f660f07af08  0x00007f65e3eca950       1      1280      1128  LeakLab$ScriptLoader\n\
0x00007f6610000a10  0x00007f660f07af08  0x00007f65e3d7cfd0       1      1280      1128  LeakLab$ScriptLoader\n\
0x0000000000000000  0x0000000000000000  0x00007f668412d5b0     983    557056    160609  <boot class loader>\n\
                                                                26     10240      6591   + hidden classes\n\
0x00007f660f07af08  0x00007f660f07b000  0x00007f668412e000      10     20480     15000  jdk.internal.loader.ClassLoaders$AppClassLoader\n\
Total = 4                                                     1022    590336    184456  \n\
ChunkSz: Total size of all allocated metaspace chunks\n";

    #[test]
    fn classloader_stats_by_type_with_hidden_classes() {
        assert!(is_classloader_stats(STATS));
        let s = parse_classloader_stats(STATS);
        assert_eq!(s.stats.skipped, 0, "{:?}", s.stats);
        assert_eq!(s.loaders, Some(4));
        assert_eq!(s.chunk_bytes, Some(590336));
        let boot = s.of_type("<bootstrap>").unwrap();
        assert_eq!(
            (boot.loaders, boot.classes, boot.chunk_bytes),
            (1, 1009, 567296)
        );
        let l = s.of_type("LeakLab$ScriptLoader").unwrap();
        assert_eq!(
            (l.loaders, l.classes, l.chunk_bytes, l.block_bytes),
            (2, 2, 2560, 2256)
        );
        assert_eq!(s.by_type[0].type_name, "<bootstrap>");
        let total: u64 = s.by_type.iter().map(|t| t.chunk_bytes).sum();
        assert_eq!(Some(total), s.chunk_bytes);
    }

    #[test]
    fn vm_metaspace_totals_and_loaders() {
        let t = "Total Usage - 2330 loaders, 3315 classes (864 shared):\n\
  Non-Class: 4337 chunks,     22.05 MB capacity,   19.24 MB ( 87%) committed,    19.10 MB ( 87%) used,   146.58 KB ( <1%) free\n\
       Both: 6668 chunks,     26.82 MB capacity,   23.89 MB ( 89%) committed,    21.09 MB ( 79%) used,     2.79 MB ( 10%) free\n\
Usage per loader:\n\
   1: CLD 0x00007f65e3f043e0: instance of LeakLab$ScriptLoader\n\
      -total-: 1 class\n\
       Both:    3 chunks,     10.00 KB capacity,   10.00 KB (100%) committed,     8.81 KB ( 88%) used,     1.19 KB ( 12%) free\n\
   2: CLD 0x00007f65e3f03490: instance of LeakLab$ScriptLoader\n\
      -total-: 1 class\n\
       Both:    3 chunks,     10.00 KB capacity,   10.00 KB (100%) committed,     8.81 KB ( 88%) used,     1.19 KB ( 12%) free\n";
        assert!(is_vm_metaspace(t));
        assert!(!is_classloader_stats(t));
        let m = parse_vm_metaspace(t);
        assert_eq!((m.loaders, m.classes), (Some(2330), Some(3315)));
        assert_eq!(
            m.chunk_bytes,
            Some((23.89 * 1024.0 * 1024.0_f64).round() as u64)
        );
        let l = m.of_type("LeakLab$ScriptLoader").unwrap();
        assert_eq!((l.loaders, l.classes, l.chunk_bytes), (2, 2, 20480));
        assert_eq!(l.block_bytes, 2 * (8.81_f64 * 1024.0).round() as u64);
    }

    #[test]
    fn garbage_is_no_rows() {
        let s =
            parse_classloader_stats("ClassLoader Classes ChunkSz\n0x1 0x2 0x3 x y z T\n\u{0}\n");
        assert!(s.by_type.is_empty());
        let m = parse_vm_metaspace("Both: 3 chunks, ?? committed\nTotal Usage - x loaders\n");
        assert!(m.by_type.is_empty());
    }
}
