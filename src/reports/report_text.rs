//! The `analyze` report for a terminal: fits 100 columns, suspects first.

use super::text::{human_bytes, thousands, Style, Table};
use crate::analyses::heap::paths::Step;
use crate::analyses::heap::suspects::Suspect;
use crate::analyses::heap::waste::WasteGroup;
use crate::analyses::report::Report;
use std::fmt::Write;

const WIDTH: usize = 100;

/// Wraps `text` to `WIDTH` columns, every line indented by `indent`.
pub fn wrap(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() > WIDTH {
            let _ = writeln!(out, "{pad}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{pad}{line}");
    }
    out
}

/// Cuts a line to `max` characters with an ellipsis.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A path as one line per step: `static Config.INSTANCE`, `.registry`, `[4711]`.
pub fn path_lines(steps: &[Step], style: &Style, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let n = steps.len();
    // Long paths (linked chains): first and last steps.
    let shown: Vec<usize> = if n > 14 {
        (0..6).chain(n - 6..n).collect()
    } else {
        (0..n).collect()
    };
    let mut last = None;
    for k in shown {
        if let Some(l) = last {
            if k != l + 1 {
                let _ = writeln!(
                    out,
                    "{pad}{}",
                    style.dim(&format!("… {} more steps", k - l - 1))
                );
            }
        }
        last = Some(k);
        let s = &steps[k];
        let via = if k == 0 || s.via.starts_with('[') {
            s.via.clone()
        } else {
            format!(".{}", s.via)
        };
        let arrow = if k == 0 { "" } else { "→ " };
        let via = cut(&via, 40);
        let head = format!("{pad}{arrow}{} ", style.cyan(&via));
        let visible = indent + arrow.chars().count() + via.chars().count() + 1;
        let suffix = format!("{} @{}", human_bytes(s.retained_bytes), s.object.id);
        let room = WIDTH.saturating_sub(visible + suffix.chars().count() + 1);
        let _ = writeln!(
            out,
            "{head}{} {}",
            cut(&s.object.description, room.max(12)),
            style.dim(&suffix)
        );
    }
}

fn suspect(s: &Suspect, style: &Style, out: &mut String) {
    if let Some(c) = &s.class_loader {
        let _ = writeln!(
            out,
            "{} {}",
            style.bold(&style.yellow(&format!("Suspect {}:", s.rank))),
            style.bold(&format!(
                "class loaders: heap {} ({:.1}%) + Metaspace {}",
                human_bytes(s.retained_bytes),
                s.retained_percent,
                human_bytes(c.counts.metaspace_estimate_bytes)
            ))
        );
        for line in super::classloaders_text::suspect(c, style).lines() {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
        return;
    }
    let _ = writeln!(
        out,
        "{} {}",
        style.bold(&style.yellow(&format!("Suspect {}:", s.rank))),
        style.bold(&format!(
            "{} ({:.1}% of the heap)",
            human_bytes(s.retained_bytes),
            s.retained_percent
        ))
    );
    out.push_str(&wrap(&s.title, 2));
    out.push('\n');
    out.push_str(&wrap(&s.explanation, 2));
    out.push('\n');
    if !s.path.is_empty() {
        let _ = writeln!(out, "  {}", style.bold("Path from a GC root"));
        path_lines(&s.path, style, 4, out);
    }
    if let Some(a) = &s.accumulation_point {
        let _ = writeln!(
            out,
            "  {} {} {}",
            style.bold("Accumulation point:"),
            cut(&a.object.description, 45),
            style.dim(&format!(
                "@{}, retains {} ({:.1}%)",
                a.object.id,
                human_bytes(a.retained_bytes),
                a.retained_percent
            ))
        );
        if let Some(c) = &a.container {
            let _ = writeln!(
                out,
                "    {} {} {}",
                style.dim("inside"),
                cut(&c.description, 70),
                style.dim(&format!("@{}", c.id))
            );
        }
    }
    if let Some(acc) = &s.accumulated {
        let _ = writeln!(
            out,
            "  {} {} × {} retaining {} ({:.1}% of the suspect)",
            style.bold("What accumulates:"),
            thousands(acc.count),
            cut(&acc.class, 50),
            human_bytes(acc.retained_bytes),
            acc.percent_of_suspect
        );
        for e in &acc.examples {
            let _ = writeln!(
                out,
                "    e.g. {} {}",
                cut(&e.object.description, 60),
                style.dim(&format!(
                    "@{} {}",
                    e.object.id,
                    human_bytes(e.retained_bytes)
                ))
            );
        }
    }
    if let Some(m) = &s.map {
        let _ = writeln!(
            out,
            "  {} {} ({} entries)",
            style.bold("Keys by retained size of"),
            cut(&m.map.description, 50),
            thousands(m.entries)
        );
        let mut t = Table::new(&["    retained", "", "% map", "key → value"]);
        for k in m.keys.iter().take(6) {
            t.row(vec![
                format!("    {}", thousands(k.retained_bytes)),
                human_bytes(k.retained_bytes),
                format!("{:.1}%", k.percent_of_map),
                cut(&format!("{} → {}", k.key, k.value), 60),
            ]);
        }
        t.render(style, out);
    }
    if let Some(d) = &s.discriminator {
        let elsewhere = match (d.elsewhere_count, d.elsewhere_examined) {
            (Some(h), Some(t)) => format!(
                " (elsewhere: {} of {} other instances)",
                thousands(h),
                thousands(t)
            ),
            _ => String::new(),
        };
        out.push_str(&wrap(
            &format!(
                "{} {} == {} in {:.1}% of the {} examined {}{}",
                style.bold("Discriminator:"),
                d.field,
                d.value,
                d.percent,
                thousands(d.examined),
                d.class,
                elsewhere
            ),
            2,
        ));
    }
    out.push_str(&wrap(
        &format!("{} {}", style.bold("Look at:"), s.look_at),
        2,
    ));
    out.push('\n');
}

fn waste_line(t: &mut Table, name: &str, g: &WasteGroup) {
    let owner = g
        .owners
        .first()
        .map(|o| format!("  in {}", cut(&o.class, 40)))
        .unwrap_or_default();
    t.row(vec![
        thousands(g.wasted_bytes),
        human_bytes(g.wasted_bytes),
        format!("{:.1}%", g.percent_of_heap),
        thousands(g.objects),
        format!("{name}{owner}"),
    ]);
}

/// The holder path of each waste line's biggest share, under the table.
fn waste_holders(out: &mut String, style: &Style, lines: &[(&str, Option<&String>)]) {
    for (name, holder) in lines {
        if let Some(h) = holder {
            let head = format!("{name}, most held by");
            let room = 96usize.saturating_sub(head.chars().count()).max(20);
            let _ = writeln!(out, "  {} {}", style.dim(&head), cut(h, room));
        }
    }
}

pub fn report(r: &Report, style: &Style) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let _ = writeln!(out, "{} {}", style.bold("oomsleuth analyze"), r.dump.path);
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!(
            "JDK {}, {}-byte ids, {}\nlive heap {} in {} objects, {} classes, {} class loaders",
            r.assumptions.jdk_label(),
            s.identifier_size,
            r.assumptions.layout_label(),
            human_bytes(s.live_bytes),
            thousands(s.live_objects),
            thousands(s.classes),
            thousands(s.class_loaders)
        ))
    );
    if r.dump.heap_dumps.len() > 1 {
        // The hprof agent writes several dumps into one file: say which one this is.
        let listed: Vec<String> = r
            .dump
            .heap_dumps
            .iter()
            .map(|h| format!("#{} at byte {}", h.number, thousands(h.offset)))
            .collect();
        let line = format!(
            "heap dump #{} of the {} in the file ({}); choose with --dump N",
            r.dump.analysed_dump.unwrap_or(0),
            r.dump.heap_dumps.len(),
            listed.join(", ")
        );
        out.push_str(&style.dim(&wrap(&line, 0)));
    }
    let roots: Vec<String> = s
        .gc_roots
        .iter()
        .map(|(k, v)| format!("{} {k}", thousands(*v)))
        .collect();
    out.push_str(&style.dim(&wrap(&format!("GC roots: {}", roots.join(", ")), 0)));
    if let Some(line) = super::graph_text::reachability_line(&s.reachability) {
        out.push_str(&style.dim(&wrap(&line, 0)));
    }
    out.push('\n');
    if r.suspects.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "No leak suspect: nothing retains {:.0}% of the heap (and at least {}) in one place.",
                r.threshold_percent,
                human_bytes(r.min_retained_bytes)
            ))
        );
        out.push('\n');
    } else {
        for sus in &r.suspects {
            suspect(sus, style, &mut out);
        }
    }

    let _ = writeln!(out, "{}", style.bold("Biggest objects below the GC roots"));
    let mut t = Table::new(&["retained", "", "%", "object"]);
    for d in r.dominators.iter().take(10) {
        t.row(vec![
            thousands(d.retained_bytes),
            human_bytes(d.retained_bytes),
            format!("{:.1}%", d.retained_percent),
            cut(&format!("{} @{}", d.object.description, d.object.id), 62),
        ]);
    }
    t.render(style, &mut out);
    out.push('\n');

    let _ = writeln!(out, "{}", style.bold("Classes by shallow size"));
    let mut t = Table::new(&["instances", "shallow", "retained", "class"]);
    for c in r.histogram.iter().take(10) {
        t.row(vec![
            thousands(c.instances),
            human_bytes(c.shallow_bytes),
            human_bytes(c.retained_bytes),
            cut(&c.name, 70),
        ]);
    }
    t.render(style, &mut out);
    out.push('\n');

    let _ = writeln!(out, "{}", style.bold("Largest collections"));
    let mut t = Table::new(&["retained", "size", "capacity", "fill", "collection"]);
    for c in r.collections.iter().take(10) {
        t.row(vec![
            human_bytes(c.retained_bytes),
            thousands(c.size),
            c.capacity.map(thousands).unwrap_or_else(|| "-".into()),
            c.fill_ratio
                .map(|f| format!("{:.0}%", 100.0 * f))
                .unwrap_or_else(|| "-".into()),
            cut(&format!("{} @{}", c.object.class, c.object.id), 62),
        ]);
    }
    t.render(style, &mut out);
    out.push('\n');

    let w = &r.waste;
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Wasted memory"),
        style.dim(&format!(
            "{} ({:.1}% of the heap)",
            human_bytes(w.wasted_bytes),
            w.wasted_percent
        ))
    );
    let mut t = Table::new(&["bytes", "", "heap", "objects", "what"]);
    let d = &w.duplicate_strings;
    t.row(vec![
        thousands(d.wasted_bytes),
        human_bytes(d.wasted_bytes),
        format!("{:.1}%", d.percent_of_heap),
        thousands(d.strings),
        format!(
            "duplicate strings ({} distinct values)",
            thousands(d.distinct_values)
        ),
    ]);
    waste_line(&mut t, "empty collections", &w.empty_collections);
    waste_line(
        &mut t,
        "sparse collections (<25% used)",
        &w.sparse_collections,
    );
    waste_line(&mut t, "boxed primitives", &w.boxed_primitives);
    waste_line(
        &mut t,
        "reference arrays with an unused tail",
        &w.oversized_arrays,
    );
    t.render(style, &mut out);
    waste_holders(
        &mut out,
        style,
        &[
            ("duplicate strings", d.holder.as_ref()),
            ("empty collections", w.empty_collections.holder.as_ref()),
            ("sparse collections", w.sparse_collections.holder.as_ref()),
            ("boxed primitives", w.boxed_primitives.holder.as_ref()),
            ("arrays", w.oversized_arrays.holder.as_ref()),
        ],
    );
    if !d.top.is_empty() {
        let _ = writeln!(out, "  {}", style.dim("most duplicated strings:"));
        for x in d.top.iter().take(5) {
            let _ = writeln!(
                out,
                "    {:>8} copies  {:>10}  {}",
                thousands(x.copies),
                human_bytes(x.wasted_bytes),
                cut(&x.value, 60)
            );
        }
    }
    for warn in &r.warnings {
        let _ = writeln!(out, "{} {}", style.yellow("warning:"), warn.message);
    }
    out
}
