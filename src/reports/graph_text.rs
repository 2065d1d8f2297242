//! Terminal renderings of the graph reports: top, dominators, path, inspect.

use super::text::{human_bytes, thousands, Style, Table};
use crate::analyses::heap::dominator_tree::{DominatorReport, TreeNode};
use crate::analyses::heap::graph::{HeapTotals, Reachability};
use crate::analyses::heap::inspect::{FieldRow, Inspection};
use crate::analyses::heap::paths::PathReport;
use crate::analyses::heap::retained_set::RetainedSet;
use crate::analyses::heap::top::{Top, TopBy};
use std::fmt::Write;

fn totals_line(h: &HeapTotals, style: &Style) -> String {
    let mut s = format!(
        "{} reachable objects, {} ({} references)",
        thousands(h.reachable_objects),
        human_bytes(h.reachable_bytes),
        thousands(h.references)
    );
    if h.strong_only {
        s.push_str("; strong-only view (referents are not edges)");
    }
    if h.unreachable_objects > 0 {
        let _ = write!(
            s,
            "; {} unreachable objects, {} {}",
            thousands(h.unreachable_objects),
            human_bytes(h.unreachable_bytes),
            if h.kept_unreachable {
                "(kept as roots)"
            } else {
                "(not counted; --keep-unreachable counts them)"
            }
        );
    }
    if let Some(line) = reachability_line(&h.reachability) {
        s.push('\n');
        s.push_str(&line);
    }
    style.dim(&s)
}

/// What is held only softly, weakly..., by the JVM outside the dump, or is garbage: `None` when
/// everything is strongly reachable.
pub fn reachability_line(r: &Reachability) -> Option<String> {
    let mut parts: Vec<String> = r
        .weaker()
        .into_iter()
        .map(|(name, c)| {
            format!(
                "{name} only {} ({} objects)",
                human_bytes(c.bytes),
                thousands(c.objects)
            )
        })
        .collect();
    if r.held_by_jvm.objects > 0 {
        parts.push(format!(
            "held by the JVM, not in the dump {} ({} objects)",
            human_bytes(r.held_by_jvm.bytes),
            thousands(r.held_by_jvm.objects)
        ));
    }
    if r.garbage.objects > 0 {
        parts.push(format!(
            "unreachable garbage {} ({} objects, not counted)",
            human_bytes(r.garbage.bytes),
            thousands(r.garbage.objects)
        ));
    }
    if r.restored_edges > 0 {
        parts.push(format!(
            "{} edges the dump left out restored",
            thousands(r.restored_edges)
        ));
    }
    (!parts.is_empty()).then(|| format!("Reachability: {}", parts.join("; ")))
}

pub fn top(t: &Top, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Biggest objects and classes in"),
        t.dump.path
    );
    let _ = writeln!(out, "{}\n", totals_line(&t.heap, style));
    let by = match t.by {
        TopBy::Retained => "retained size",
        TopBy::Shallow => "shallow size",
        TopBy::Count => "instances",
    };
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Objects by {}",
            if t.by == TopBy::Count {
                "retained size"
            } else {
                by
            }
        ))
    );
    let mut table = Table::new(&["#", "retained", "", "%", "shallow", "object"]);
    for (i, o) in t.objects.iter().enumerate() {
        table.row(vec![
            (i + 1).to_string(),
            thousands(o.retained_bytes),
            human_bytes(o.retained_bytes),
            format!("{:.1}%", o.retained_percent),
            thousands(o.shallow_bytes),
            format!("{} {}", o.description, style.dim(&format!("@{}", o.id))),
        ]);
    }
    table.render(style, &mut out);
    let _ = writeln!(out, "\n{}", style.bold(&format!("Classes by {by}")));
    let mut table = Table::new(&["#", "instances", "shallow", "retained", "", "%", "class"]);
    for (i, c) in t.classes.iter().enumerate() {
        table.row(vec![
            (i + 1).to_string(),
            thousands(c.instances),
            thousands(c.shallow_bytes),
            thousands(c.retained_bytes),
            human_bytes(c.retained_bytes),
            format!("{:.1}%", c.retained_percent),
            c.name.clone(),
        ]);
    }
    table.render(style, &mut out);
    warnings(&t.warnings, style, &mut out);
    out
}

fn warnings(w: &[crate::formats::hprof::Warning], style: &Style, out: &mut String) {
    for w in w {
        let _ = writeln!(
            out,
            "{} {} (byte {})",
            style.yellow("warning:"),
            w.message,
            w.offset
        );
    }
}

pub fn dominators(r: &DominatorReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", style.bold("Dominator tree of"), r.dump.path);
    let _ = writeln!(out, "{}\n", totals_line(&r.heap, style));
    tree_node(&r.root, "", true, true, style, &mut out);
    out
}

fn tree_node(n: &TreeNode, prefix: &str, last: bool, top: bool, style: &Style, out: &mut String) {
    let branch = if top {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    let _ = writeln!(
        out,
        "{prefix}{branch}{} {} {}  {}",
        style.bold(&format!("{:>9}", human_bytes(n.retained_bytes))),
        style.dim(&format!("{:>5.1}%", n.retained_percent)),
        n.object.description,
        style.dim(&if n.object.id == "root" {
            String::new()
        } else {
            format!("@{}", n.object.id)
        })
    );
    let child_prefix = if top {
        prefix.to_string()
    } else {
        format!("{prefix}{}", if last { "   " } else { "│  " })
    };
    let count = n.children.len();
    for (i, c) in n.children.iter().enumerate() {
        tree_node(
            c,
            &child_prefix,
            i + 1 == count && n.omitted_children == 0,
            false,
            style,
            out,
        );
    }
    if n.omitted_children > 0 {
        let _ = writeln!(
            out,
            "{child_prefix}└─ {}",
            style.dim(&format!(
                "… {} more, {} in all",
                thousands(n.omitted_children),
                human_bytes(n.omitted_bytes)
            ))
        );
    }
}

pub fn path(r: &PathReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} {}",
        style.bold("Paths from GC roots to"),
        r.target.description,
        style.dim(&format!("@{}", r.target.id))
    );
    if r.paths.is_empty() {
        let _ = writeln!(
            out,
            "\nno path: {}",
            match (r.reachable, r.reachability) {
                (true, _) => "reachable only through the GC roots' own records",
                (false, "held_by_jvm") =>
                    "no GC root reaches it; nothing in the dump refers to what holds it: held by the JVM, not in the dump",
                _ => "the object is unreachable (garbage not yet collected)",
            }
        );
        return out;
    }
    if r.reachability != "strong" {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "no strong path: only {} reachable (the step through the referent is marked)",
                r.reachability
            ))
        );
    }
    for (i, p) in r.paths.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(&format!("Path {} ({} steps)", i + 1, p.steps.len()))
        );
        for (k, s) in p.steps.iter().enumerate() {
            let via = if k == 0 {
                s.via.clone()
            } else {
                format!(".{}", s.via)
            };
            let _ = writeln!(
                out,
                "  {}{} {} {}  {}",
                "  ".repeat(k.min(12)),
                style.cyan(&via),
                s.object.description,
                style.dim(&format!("@{}", s.object.id)),
                style.dim(&format!("retains {}", human_bytes(s.retained_bytes)))
            );
        }
    }
    out
}

fn field_table(rows: &[FieldRow], style: &Style, out: &mut String, with_declared: bool) {
    // Left-aligned columns: types and names are read, not compared.
    let w0 = rows.iter().map(|r| r.ty.len()).max().unwrap_or(4).max(4);
    let w1 = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(5);
    for f in rows {
        let value = match &f.object {
            Some(o) => format!("{} {}", f.value, style.dim(&format!("@{}", o.id))),
            None => f.value.clone(),
        };
        let decl = if with_declared {
            style.dim(&format!("  ({})", f.declared_in))
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {:<w0$}  {:<w1$}  {value}{decl}", f.ty, f.name);
    }
}

pub fn inspect(i: &Inspection, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold(&i.object.description),
        style.dim(&format!("@{}", i.object.id))
    );
    let _ = writeln!(out, "  class      {}", i.object.class);
    let _ = writeln!(out, "  kind       {}", i.kind);
    let _ = writeln!(out, "  shallow    {} bytes", thousands(i.shallow_bytes));
    let _ = writeln!(
        out,
        "  retained   {} bytes ({})",
        thousands(i.retained_bytes),
        human_bytes(i.retained_bytes)
    );
    if !i.reachable {
        let _ = writeln!(out, "  {}", style.yellow("unreachable from GC roots"));
    }
    match &i.dominator {
        Some(d) => {
            let _ = writeln!(
                out,
                "  dominator  {} {}",
                d.description,
                style.dim(&format!("@{}", d.id))
            );
        }
        None if i.reachable => {
            let _ = writeln!(out, "  dominator  the GC roots");
        }
        None => {}
    }
    if !i.gc_roots.is_empty() {
        let _ = writeln!(out, "  GC root    {}", i.gc_roots.join(", "));
    }
    if let Some(len) = i.array_length {
        let _ = writeln!(out, "  length     {}", thousands(len as u64));
    }
    if let Some(s) = &i.string {
        let _ = writeln!(
            out,
            "  value      {}",
            crate::analyses::heap::describe::quote(s, 2000)
        );
    }
    if !i.fields.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Fields"));
        field_table(&i.fields, style, &mut out, true);
    }
    if !i.statics.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Static fields"));
        field_table(&i.statics, style, &mut out, false);
    }
    if !i.elements.is_empty() {
        let n = i.array_length.unwrap_or(0) as usize;
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(&format!(
                "Elements ({} of {})",
                i.elements.len(),
                thousands(n as u64)
            ))
        );
        field_table(&i.elements, style, &mut out, false);
    }
    if let Some(r) = &i.referrers {
        let _ = writeln!(out, "\n{}", style.bold(&format!("Referrers ({})", r.len())));
        for x in r {
            let _ = writeln!(
                out,
                "  {} {}  {}",
                x.object.description,
                style.dim(&format!("@{}", x.object.id)),
                style.cyan(&format!(".{}", x.via))
            );
        }
    }
    out
}

/// The retained set as a class histogram, biggest first.
pub fn retained_set(r: &RetainedSet, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} in {}",
        style.bold("Retained set of"),
        r.of.join(", "),
        r.dump.path
    );
    if !r.excluded.is_empty() {
        let _ = writeln!(out, "references not followed: {}", r.excluded.join("  "));
    }
    for u in &r.unmatched {
        let _ = writeln!(
            out,
            "{} {u} matches nothing in this dump",
            style.yellow("note:")
        );
    }
    let _ = writeln!(
        out,
        "{} objects, {} shallow ({}), {} classes\n",
        thousands(r.objects),
        thousands(r.shallow_bytes),
        human_bytes(r.shallow_bytes),
        r.classes.len()
    );
    let mut table = Table::new(&["objects", "shallow", "class"]);
    for c in &r.classes {
        table.row(vec![
            thousands(c.objects),
            thousands(c.shallow_bytes),
            c.class.clone(),
        ]);
    }
    table.render(style, &mut out);
    warnings(&r.warnings, style, &mut out);
    out
}
