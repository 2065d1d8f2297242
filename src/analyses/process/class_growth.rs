//! Which classes grew between class histograms (`GC.class_histogram`, `jmap -histo`), as `record`
//! takes one at the start and one at the end: after a full GC, so growth is live data.

use crate::formats::logs::histogram::{self, ClassHistogram};
use crate::inputs::evidence::Input;
use serde::Serialize;
use std::collections::HashMap;

/// How many classes the analysis lists.
const TOP: usize = 10;

#[derive(Clone, Debug, Serialize)]
pub struct ClassGrowth {
    /// The histograms compared, oldest first (by modification time, then name).
    pub first: String,
    pub last: String,
    pub histograms: usize,
    /// Hours between the two, when the files have real times.
    pub hours: Option<f64>,
    pub total_bytes_first: u64,
    pub total_bytes_last: u64,
    /// The classes whose bytes grew most, most first (Java names: `byte[]`).
    pub classes: Vec<ClassDelta>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClassDelta {
    pub class: String,
    pub instances_first: u64,
    pub instances_last: u64,
    pub bytes_first: u64,
    pub bytes_last: u64,
}

impl ClassDelta {
    pub fn bytes_growth(&self) -> i64 {
        self.bytes_last as i64 - self.bytes_first as i64
    }
}

impl ClassGrowth {
    pub fn total_growth(&self) -> i64 {
        self.total_bytes_last as i64 - self.total_bytes_first as i64
    }
}

/// The first and last of the histograms among `inputs`; `None` with fewer than two that parse.
pub fn analyze(inputs: &[&Input]) -> Option<ClassGrowth> {
    let mut parsed: Vec<(&Input, ClassHistogram)> = inputs
        .iter()
        .map(|i| (*i, histogram::parse(&i.text)))
        .filter(|(_, h)| !h.rows.is_empty())
        .collect();
    if parsed.len() < 2 {
        return None;
    }
    parsed.sort_by(|a, b| {
        a.0.mtime
            .unwrap_or(0.0)
            .total_cmp(&b.0.mtime.unwrap_or(0.0))
            .then(a.0.path.cmp(&b.0.path))
    });
    let (f, first) = &parsed[0];
    let (l, last) = &parsed[parsed.len() - 1];
    let by_class = |h: &ClassHistogram| -> HashMap<String, (u64, u64)> {
        let mut m: HashMap<String, (u64, u64)> = HashMap::new();
        for r in &h.rows {
            // One class of several loaders is one row per loader: summed by name.
            let e = m.entry(histogram::java_name(&r.class)).or_default();
            e.0 += r.instances;
            e.1 += r.bytes;
        }
        m
    };
    let (a, b) = (by_class(first), by_class(last));
    let mut classes: Vec<ClassDelta> = b
        .iter()
        .map(|(class, &(il, bl))| {
            let (i0, b0) = a.get(class).copied().unwrap_or((0, 0));
            ClassDelta {
                class: class.clone(),
                instances_first: i0,
                instances_last: il,
                bytes_first: b0,
                bytes_last: bl,
            }
        })
        .filter(|d| d.bytes_growth() > 0)
        .collect();
    classes.sort_by(|x, y| {
        y.bytes_growth()
            .cmp(&x.bytes_growth())
            .then(x.class.cmp(&y.class))
    });
    classes.truncate(TOP);
    let total = |h: &ClassHistogram| {
        if h.total_bytes > 0 {
            h.total_bytes
        } else {
            h.rows.iter().map(|r| r.bytes).sum()
        }
    };
    let hours = match (f.mtime, l.mtime) {
        (Some(x), Some(y)) if y > x => Some((y - x) / 3600.0),
        _ => None,
    };
    Some(ClassGrowth {
        first: f.path.display().to_string(),
        last: l.path.display().to_string(),
        histograms: parsed.len(),
        hours,
        total_bytes_first: total(first),
        total_bytes_last: total(last),
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::logs::LogKind;
    use std::path::PathBuf;

    fn input(name: &str, mtime: f64, rows: &[(&str, u64, u64)]) -> Input {
        let mut text =
            String::from(" num     #instances         #bytes  class name (module)\n----\n");
        for (k, (c, i, b)) in rows.iter().enumerate() {
            text.push_str(&format!("{:4}: {i:13} {b:14}  {c}\n", k + 1));
        }
        Input {
            path: PathBuf::from(name),
            kind: LogKind::ClassHistogram,
            text,
            mtime: Some(mtime),
        }
    }

    #[test]
    fn the_classes_that_grew_most_come_first_in_java_names() {
        let late = input(
            "b.txt",
            7200.0,
            &[
                ("[B", 10, 9000),
                ("com.Conn", 500, 12000),
                ("java.lang.String", 5, 100),
            ],
        );
        let early = input(
            "a.txt",
            0.0,
            &[
                ("[B", 10, 1000),
                ("com.Conn", 5, 120),
                ("java.lang.String", 9, 200),
            ],
        );
        let g = analyze(&[&late, &early]).unwrap();
        assert_eq!(g.first, "a.txt");
        assert_eq!(g.hours, Some(2.0));
        let names: Vec<&str> = g.classes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(names, ["com.Conn", "byte[]"]);
        assert_eq!(g.classes[0].instances_last, 500);
        assert_eq!(g.total_growth(), 21100 - 1320);
    }

    #[test]
    fn one_histogram_is_not_a_comparison() {
        let only = input("a.txt", 0.0, &[("[B", 1, 16)]);
        assert!(analyze(&[&only]).is_none());
    }
}
