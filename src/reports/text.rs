//! Terminal text: aligned tables, human sizes, optional colour.

use crate::analyses::heap::histogram::Histogram;
use std::fmt::Write;

/// Decided once at start-up (`--color`, `NO_COLOR`, TTY) and passed down.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
}

pub use crate::units::{human_bytes, thousands};

/// A table with right-aligned numeric columns and a left-aligned last column.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: vec![],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, style: &Style, out: &mut String) {
        let n = self.headers.len();
        let mut w: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                let pad = w[i].saturating_sub(c.chars().count());
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                    s.push_str("  ");
                }
            }
            s
        };
        let _ = writeln!(out, "{}", style.bold(line(&self.headers).trim_end()));
        for r in &self.rows {
            let _ = writeln!(out, "{}", line(r).trim_end());
        }
    }
}

/// The histogram as a terminal table.
pub fn histogram(h: &Histogram, style: &Style) -> String {
    let mut out = String::new();
    let a = &h.assumptions;
    let _ = writeln!(
        out,
        "{} {}  {}",
        style.bold("Class histogram of"),
        h.dump.path,
        style.dim(&format!(
            "JDK {}, {}, {} objects, {} classes",
            a.jdk_label(),
            a.layout_label(),
            thousands(h.dump.objects),
            thousands(h.dump.classes)
        ))
    );
    out.push('\n');
    let mut t = Table::new(&["#", "instances", "bytes", "", "% heap", "class"]);
    let total = h.total.shallow_bytes.max(1);
    for (i, r) in h.classes.iter().enumerate() {
        t.row(vec![
            format!("{}", i + 1),
            thousands(r.instances),
            thousands(r.shallow_bytes),
            human_bytes(r.shallow_bytes),
            format!("{:.1}%", 100.0 * r.shallow_bytes as f64 / total as f64),
            r.name.clone(),
        ]);
    }
    if h.shown.classes < h.total.classes {
        t.row(vec![
            "".into(),
            thousands(h.shown.instances),
            thousands(h.shown.shallow_bytes),
            human_bytes(h.shown.shallow_bytes),
            format!(
                "{:.1}%",
                100.0 * h.shown.shallow_bytes as f64 / total as f64
            ),
            format!("shown ({} of {} classes)", h.shown.classes, h.total.classes),
        ]);
    }
    t.row(vec![
        "".into(),
        thousands(h.total.instances),
        thousands(h.total.shallow_bytes),
        human_bytes(h.total.shallow_bytes),
        "100%".into(),
        "total".into(),
    ]);
    t.render(style, &mut out);
    for w in &h.warnings {
        let _ = writeln!(out, "{} {}", style.yellow("warning:"), w.message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(human_bytes(640), "640 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(4 << 30), "4.00 GiB");
    }
}
