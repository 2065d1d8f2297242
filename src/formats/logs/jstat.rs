//! `jstat -gc | -gcutil | -gccapacity | -gcmetacapacity | -gccause | -class` output, with or without
//! `-t` (a leading `Timestamp` column: seconds since the JVM started) and `-h<n>` (repeated headers).
//! Sizes in jstat are KB (1024 bytes), percentages are 0..100.
//!
//! ```text
//! Timestamp         S0     S1     E      O      M     CCS    YGC     YGCT     FGC    FGCT     CGC    CGCT       GCT
//!            54.4   0.00   0.00   0.00  30.88  88.08  42.89      2     0.018     1     0.013     2     0.002     0.033
//! ```

use super::LineStats;
use serde::Serialize;

/// Which jstat option printed a table, told from its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JstatOption {
    Gc,
    Gcutil,
    Gccapacity,
    Gcmetacapacity,
    Gccause,
    Class,
    Other,
}

/// One table: columns and rows of numbers (text columns such as `-gccause`'s LGCC are left out).
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    pub option: JstatOption,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
    /// Values of a column, one per row.
    pub fn values(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.col(name)?;
        Some(self.rows.iter().filter_map(|r| r.get(i).copied()).collect())
    }
    pub fn has_timestamps(&self) -> bool {
        self.col("Timestamp").is_some()
    }
}

/// A parsed jstat output: one table per header (a repeated identical header continues the table).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Jstat {
    pub tables: Vec<Table>,
    pub stats: LineStats,
}

const KNOWN: &[&str] = &[
    "S0C", "S0", "NGCMN", "MCMN", "Loaded", "Compiled", "LGCC", "EC", "OC",
];

/// A jstat header line?
pub fn is_header(line: &str) -> bool {
    let mut toks = line.split_whitespace();
    let first = toks.next();
    let first = if first == Some("Timestamp") {
        toks.next()
    } else {
        first
    };
    first.is_some_and(|f| KNOWN.contains(&f)) && !line.contains('[') && !line.contains('=')
}

fn option_of(cols: &[String]) -> JstatOption {
    let has = |c: &str| cols.iter().any(|x| x == c);
    if has("Loaded") {
        JstatOption::Class
    } else if has("LGCC") {
        JstatOption::Gccause
    } else if has("NGCMN") {
        JstatOption::Gccapacity
    } else if has("MCMN") {
        JstatOption::Gcmetacapacity
    } else if has("S0C") && has("MU") {
        JstatOption::Gc
    } else if has("S0") && has("M") {
        JstatOption::Gcutil
    } else {
        JstatOption::Other
    }
}

/// Parses jstat output (several options in one file are several tables); never fails.
pub fn parse(text: &str) -> Jstat {
    let mut j = Jstat::default();
    let mut current: Option<usize> = None;
    for (no, raw) in text.lines().enumerate() {
        j.stats.lines += 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if is_header(line) {
            let mut cols: Vec<String> = Vec::new();
            for c in line.split_whitespace() {
                // `-class` has two "Bytes" columns: loaded and unloaded KB.
                if c == "Bytes" && cols.iter().any(|x| x == "Bytes") {
                    cols.push("UnloadedBytes".into());
                } else {
                    cols.push(c.to_string());
                }
            }
            // Text columns (-gccause LGCC/GCC, -compiler FailedMethod) are dropped.
            let option = option_of(&cols);
            if let Some(p) = cols.iter().position(|c| c == "LGCC" || c == "FailedType") {
                cols.truncate(p);
            }
            current = match j.tables.iter().rposition(|t| t.columns == cols) {
                Some(i) if current == Some(i) => Some(i),
                _ => {
                    j.tables.push(Table {
                        option,
                        columns: cols,
                        rows: vec![],
                    });
                    Some(j.tables.len() - 1)
                }
            };
            continue;
        }
        let Some(t) = current.and_then(|i| j.tables.get_mut(i)) else {
            j.stats.skip(no, raw);
            continue;
        };
        let vals: Vec<f64> = line
            .split_whitespace()
            .take(t.columns.len())
            .map(|v| {
                if v == "-" {
                    Some(f64::NAN)
                } else {
                    v.parse::<f64>().ok()
                }
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        if vals.len() == t.columns.len() {
            t.rows.push(vals);
        } else {
            j.stats.skip(no, raw);
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdk17_all_options() {
        let t = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/samples/jdk17-jstat.txt"
        ))
        .unwrap();
        let j = parse(&t);
        let opts: Vec<_> = j.tables.iter().map(|t| t.option).collect();
        assert_eq!(
            opts,
            vec![
                JstatOption::Class,
                JstatOption::Gcutil,
                JstatOption::Gc,
                JstatOption::Gcmetacapacity,
                JstatOption::Gccapacity,
                JstatOption::Gccause,
                JstatOption::Other,
                JstatOption::Gcutil
            ]
        );
        let class = &j.tables[0];
        assert_eq!(class.values("Loaded").unwrap(), vec![3180.0; 3]);
        assert_eq!(class.values("UnloadedBytes").unwrap(), vec![914.1; 3]);
        let gc = &j.tables[2];
        assert_eq!(gc.values("MU").unwrap()[0], 17192.5);
        assert_eq!(gc.values("MC").unwrap()[0], 19520.0);
        // -t -h2: the repeated header continues one table of 4 rows.
        let t = &j.tables[7];
        assert!(t.has_timestamps());
        assert_eq!(t.values("Timestamp").unwrap(), vec![54.4, 54.7, 54.9, 55.2]);
        // "$ jstat ..." command lines and the -options list are not jstat tables.
        assert!(j.stats.skipped >= 8);
    }

    #[test]
    fn jdk8_gc_documented_shape() {
        // JDK 8 -gc has PC/PU? No: JDK 8 has MC/MU/CCSC/CCSU and no CGC columns (documented in jstat(1) for 8).
        let j = parse(" S0C    S1C    S0U    S1U      EC       EU        OC         OU       MC     MU    CCSC   CCSU   YGC     YGCT    FGC    FGCT     GCT\n512.0  512.0   0.0   64.0   4416.0   1546.7   10944.0     2632.3   4864.0 4678.2 512.0  481.6       3    0.011   0      0.000    0.011\n");
        assert_eq!(j.tables[0].option, JstatOption::Gc);
        assert_eq!(j.tables[0].values("MU").unwrap(), vec![4678.2]);
    }
}
