//! `export --parquet DIR`: the query tables as Parquet files, partitioned by dump in Hive's
//! layout (`DIR/objects/dump=NAME/part-0.parquet`), so DuckDB or Spark can query a fleet's
//! dumps together. Dumps hold secrets (passwords in strings): the directories are 0700, the
//! files 0600.

use super::class_tables::FIXED;
use super::{session, with_heap_data, HeapData, Options};
use crate::analyses::heap::graph::Graph;
use datafusion::parquet::arrow::ArrowWriter;
use futures::StreamExt;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One file written.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    pub table: String,
    pub rows: u64,
    pub path: PathBuf,
}

/// Which per-class tables to export.
#[derive(Clone, Debug)]
pub enum ClassChoice {
    /// These classes by Java name.
    Named(Vec<String>),
    /// The classes retaining most, this many.
    Top(usize),
}

/// The directory a table's files go in: fixed tables by name, class tables under `class/`.
pub fn table_dir(root: &Path, table: &str) -> PathBuf {
    if FIXED.contains(&table) {
        root.join(table)
    } else {
        root.join("class").join(table.replace(['/', '\\'], "_"))
    }
}

/// Writes every fixed table and the chosen class tables of one dump under `root`, as dump
/// `dump_name`.
pub fn export(
    g: &Graph<'_, '_>,
    dump_name: &str,
    root: &Path,
    classes: &ClassChoice,
    opts: &Options,
) -> anyhow::Result<Vec<Written>> {
    with_heap_data(g, |data| {
        export_tables(data, dump_name, root, classes, opts)
    })
}

fn export_tables(
    data: &Arc<HeapData>,
    dump_name: &str,
    root: &Path,
    classes: &ClassChoice,
    opts: &Options,
) -> anyhow::Result<Vec<Written>> {
    let mut tables: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    match classes {
        ClassChoice::Named(v) => {
            for c in v {
                if data.classes_named(c).is_empty() {
                    let close = super::class_tables::close_names(data, c, 5);
                    anyhow::bail!(
                        "--class {c}: no such class in the dump{}",
                        if close.is_empty() {
                            String::new()
                        } else {
                            format!(" (did you mean {}?)", close.join(", "))
                        }
                    );
                }
            }
            tables.extend(v.iter().cloned());
        }
        ClassChoice::Top(n) => tables.extend(top_classes(data, *n)),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads.max(1))
        .build()?;
    let result = runtime.block_on(async {
        let ctx = session(Arc::clone(data), opts)?;
        let mut out = vec![];
        for t in &tables {
            let dir = table_dir(root, t).join(format!("dump={}", partition_value(dump_name)));
            private_dirs(root, &dir)?;
            let path = dir.join("part-0.parquet");
            let quoted = format!("\"{}\"", t.replace('"', "\"\""));
            let df = ctx.sql(&format!("SELECT * FROM {quoted}")).await?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let file = private_file(&path)?;
            let mut w = ArrowWriter::try_new(file, schema, None)?;
            let mut rows = 0u64;
            let mut stream = df.execute_stream().await?;
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                w.write(&b)?;
            }
            w.close()?;
            out.push(Written {
                table: t.clone(),
                rows,
                path,
            });
        }
        Ok::<_, anyhow::Error>(out)
    });
    // Every task that holds the heap ends with the runtime, before the scope does.
    drop(runtime);
    result
}

/// The classes retaining most (arrays and `java.lang.Class` left out: their tables have no fields).
fn top_classes(d: &HeapData, n: usize) -> Vec<String> {
    let classes = &d.g().heap.snap.classes;
    let retained = d.class_retained();
    let mut order: Vec<usize> = (0..classes.len())
        .filter(|&c| !classes.classes[c].is_array() && classes.classes[c].name != "java.lang.Class")
        .collect();
    order.sort_by_key(|&c| std::cmp::Reverse(retained.get(c).copied().unwrap_or(0)));
    let mut names: Vec<String> = vec![];
    for c in order {
        let name = &classes.classes[c].name;
        if !names.contains(name) {
            names.push(name.clone());
        }
        if names.len() >= n {
            break;
        }
    }
    names
}

/// A dump name as a Hive partition value: no path separators, `=` or control characters.
pub fn partition_value(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '=' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Creates `dir` and its parents below `root` (and `root`) as 0700.
fn private_dirs(root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_have_no_separators() {
        assert_eq!(partition_value("a/b=c.hprof"), "a_b_c.hprof");
    }

    #[test]
    fn class_tables_go_under_class() {
        let r = Path::new("/x");
        assert_eq!(table_dir(r, "objects"), Path::new("/x/objects"));
        assert_eq!(
            table_dir(r, "com.Foo$Bar"),
            Path::new("/x/class/com.Foo$Bar")
        );
    }
}
