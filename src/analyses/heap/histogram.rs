//! The class histogram: instances and shallow bytes per class, as `jmap -histo` counts them
//! (class mirrors included as `java.lang.Class` instances).

use super::dump_info::{Assumptions, DumpInfo};
use crate::formats::hprof::{BasicType, Warning};
use crate::heap::census::Counts;
use crate::heap::snapshot::Snapshot;
use serde::Serialize;

pub const SCHEMA: &str = "oomsleuth.histogram/1";

/// How rows are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Bytes,
    Count,
    Name,
}

/// Which rows to keep.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub sort: SortBy,
    pub top: Option<usize>,
    pub filter: Option<regex::Regex>,
}

/// One class.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub instances: u64,
    pub shallow_bytes: u64,
    /// The class object's id in the dump (hex), null for classes the dump has no record of.
    pub class_id: Option<String>,
    /// The defining loader's object id (hex), `0x0` for the bootstrap loader.
    pub loader_id: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub classes: u64,
    pub instances: u64,
    pub shallow_bytes: u64,
}

/// The histogram report (the `oomsleuth.histogram/1` JSON document).
#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    pub schema: &'static str,
    pub dump: DumpInfo,
    pub assumptions: Assumptions,
    pub classes: Vec<Row>,
    /// The whole heap, before `--filter`/`--top`.
    pub total: Totals,
    /// The rows listed in `classes`.
    pub shown: Totals,
    pub warnings: Vec<Warning>,
}

use crate::units::hex;

/// Every class's row, unsorted; rows with no instances are dropped.
pub fn rows(s: &Snapshot<'_>) -> Vec<Row> {
    let model = &s.vm.layout;
    let classes = &s.classes;
    let mut rows: Vec<Row> = Vec::with_capacity(classes.len());
    let mut prim_class: [Option<usize>; 9] = [None; 9];
    let class_class = classes.find("java.lang.Class");
    for (i, c) in classes.classes.iter().enumerate() {
        let counts = s.census.by_class.get(&c.id).copied().unwrap_or_default();
        let (mut instances, mut bytes) = match c.array_of {
            Some(BasicType::Object) => (
                counts.instances,
                model.arrays_size(BasicType::Object, counts.elements, &counts.by_len_mod8),
            ),
            Some(t) => {
                if c.loader_id == 0 || prim_class[t.index()].is_none() {
                    prim_class[t.index()] = Some(rows.len());
                }
                (0, 0)
            }
            None => (
                counts.instances,
                counts.instances * s.sizes.instance[i] as u64,
            ),
        };
        if Some(i as u32) == class_class {
            // Instances of java.lang.Class in the dump are the primitive type mirrors; every
            // class record is a mirror too.
            bytes = counts.instances * s.sizes.class_instance as u64
                + s.sizes.mirror.iter().map(|&m| m as u64).sum::<u64>();
            instances = counts.instances + classes.len() as u64;
        }
        rows.push(Row {
            name: c.name.clone(),
            instances,
            shallow_bytes: bytes,
            class_id: Some(hex(c.id)),
            loader_id: Some(hex(c.loader_id)),
        });
    }
    for t in BasicType::PRIMITIVES {
        let counts: Counts = s.census.primitive_arrays[t.index()];
        if counts.instances == 0 {
            continue;
        }
        let bytes = model.arrays_size(t, counts.elements, &counts.by_len_mod8);
        match prim_class[t.index()] {
            Some(r) => {
                rows[r].instances += counts.instances;
                rows[r].shallow_bytes += bytes;
            }
            None => rows.push(Row {
                name: format!("{}[]", t.java_name()),
                instances: counts.instances,
                shallow_bytes: bytes,
                class_id: None,
                loader_id: None,
            }),
        }
    }
    // Objects whose class has no CLASS DUMP record.
    let mut unknown: Vec<(u64, Counts)> = s
        .census
        .by_class
        .iter()
        .filter(|(id, _)| classes.index_of(**id).is_none())
        .map(|(k, v)| (*k, *v))
        .collect();
    unknown.sort_by_key(|u| u.0);
    for (id, c) in unknown {
        rows.push(Row {
            name: format!("<unknown class 0x{id:x}>"),
            instances: c.instances,
            shallow_bytes: 0,
            class_id: Some(hex(id)),
            loader_id: None,
        });
    }
    rows.retain(|r| r.instances > 0);
    rows
}

pub fn sort_rows(rows: &mut [Row], by: SortBy) {
    match by {
        SortBy::Bytes => rows.sort_by(|a, b| {
            b.shallow_bytes
                .cmp(&a.shallow_bytes)
                .then(b.instances.cmp(&a.instances))
                .then(a.name.cmp(&b.name))
                .then(a.class_id.cmp(&b.class_id))
        }),
        SortBy::Count => rows.sort_by(|a, b| {
            b.instances
                .cmp(&a.instances)
                .then(b.shallow_bytes.cmp(&a.shallow_bytes))
                .then(a.name.cmp(&b.name))
                .then(a.class_id.cmp(&b.class_id))
        }),
        SortBy::Name => rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.class_id.cmp(&b.class_id))),
    }
}

fn totals(rows: &[Row]) -> Totals {
    Totals {
        classes: rows.len() as u64,
        instances: rows.iter().map(|r| r.instances).sum(),
        shallow_bytes: rows.iter().map(|r| r.shallow_bytes).sum(),
    }
}

pub fn histogram(s: &Snapshot<'_>, opts: &Options) -> Histogram {
    let mut all = rows(s);
    let total = totals(&all);
    if let Some(re) = &opts.filter {
        all.retain(|r| re.is_match(&r.name));
    }
    sort_rows(&mut all, opts.sort);
    if let Some(n) = opts.top {
        all.truncate(n);
    }
    // Objects of undeclared classes are warned about by the snapshot (checks::undeclared_classes).
    let warnings = s.warnings.clone();
    Histogram {
        schema: SCHEMA,
        dump: DumpInfo::of(s),
        assumptions: Assumptions::of(s),
        shown: totals(&all),
        classes: all,
        total,
        warnings,
    }
}
