//! SQL over the heap (feature `sql`): Apache DataFusion plans and runs the query; the tables are
//! served straight from the index and the dump, a batch of rows at a time, only the columns the
//! query reads (see [`tables`]). Nothing is copied whole: a scan of every object of a 40 GB dump
//! holds one batch per thread.
//!
//! Tables: `objects`, `classes`, `refs`, `roots`, `loaders`, `strings`, and one per class named
//! by its Java name (`"java.lang.String"`), resolved lazily ([`class_tables`]); functions
//! `path_from_roots(id)`, `describe(id)`, `to_string(id)`, `class_of(id)`, `field(id, name)`...
//! ([`functions`]). [`run`] is the library entry point (the CLI's `sql` and `oql`, and tool
//! servers, call it).

pub mod class_tables;
pub mod export;
pub mod functions;
pub mod render;
pub mod tables;

use super::graph::Graph;
use crate::heap::classes::ClassIndex;
use crate::heap::fxhash::{new_map, FxHashMap};
use crate::heap::index::ObjectIndex;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

pub const SCHEMA: &str = "oomsleuth.sql/1";

/// The heap as the tables and functions read it, shared by every partition of a query.
///
/// DataFusion's tables and functions must be `'static` (`Arc<dyn TableProvider>`), but the
/// graph borrows the dump, the index and the retention of the caller. So the graph is kept here
/// with its lifetimes erased, and a `HeapData` exists only inside [`with_heap_data`], which
/// makes sure that nothing can read through it once the real borrow ends:
///
/// - the graph is private and [`HeapData::g`] hands it out only for as long as the `&self` it
///   is called on, so every reference read from it is bounded by a borrow of a `HeapData`;
/// - a `HeapData` lives only in the `Arc` [`with_heap_data`] makes and keeps until the end
///   (it cannot be moved out of an `Arc` with other handles, nor is it `Clone`), so such a
///   borrow needs a live `Arc` handle;
/// - when the scope ends (returning or unwinding), a guard checks that its handle is the last
///   one, strong and weak (so no task, table or function of the engine kept one, nor any code
///   stashed or leaked one), and drops it; were there another, the process aborts rather than
///   return with it alive. Query runs drop their runtime (which ends and drops every task,
///   waiting for blocking ones) before the scope ends.
pub struct HeapData {
    g: Graph<'static, 'static>,
    /// Set bits: objects that are GC roots.
    root_bits: OnceLock<Vec<u64>>,
    /// Per class index: (instances, shallow bytes), one pass over the objects.
    class_totals: OnceLock<Vec<(u64, u64)>>,
    class_retained: OnceLock<Vec<u64>>,
    /// Class names -> class indexes (several loaders may define one name).
    by_name: OnceLock<FxHashMap<String, Vec<ClassIndex>>>,
    /// Loader objects with how many classes each defined.
    loaders: OnceLock<Vec<(ObjectIndex, u64)>>,
    /// Thread serial -> thread object.
    threads: OnceLock<FxHashMap<u32, ObjectIndex>>,
    /// Set bits: objects a GC root reaches through the references the dump holds, without the
    /// edges the index restores (what Eclipse MAT counts as reachable).
    dump_reach: OnceLock<Vec<u64>>,
}

/// Runs `f` with the heap of `g` as [`HeapData`] for the query engine; see [`HeapData`] for why
/// nothing reads the graph after this returns.
pub fn with_heap_data<T>(g: &Graph<'_, '_>, f: impl FnOnce(&Arc<HeapData>) -> T) -> T {
    /// Drops the last handle, or aborts when there is another (which could outlive `g`).
    struct LastHandle(Option<Arc<HeapData>>);
    impl Drop for LastHandle {
        fn drop(&mut self) {
            if let Some(data) = self.0.take() {
                if Arc::strong_count(&data) != 1 || Arc::weak_count(&data) != 0 {
                    eprintln!("oomsleuth: a query kept the heap after it ended (a bug in oomsleuth); stopping");
                    std::process::abort();
                }
            }
        }
    }
    // SAFETY: only the lifetimes change (Graph is three shared references). No use outlives
    // the real ones: every use borrows a handle of the Arc made here, and `LastHandle` drops
    // the last handle before this function returns or unwinds (see HeapData's comment).
    let g: Graph<'static, 'static> =
        unsafe { std::mem::transmute::<Graph<'_, '_>, Graph<'static, 'static>>(*g) };
    let guard = LastHandle(Some(Arc::new(HeapData {
        g,
        root_bits: OnceLock::new(),
        class_totals: OnceLock::new(),
        class_retained: OnceLock::new(),
        by_name: OnceLock::new(),
        loaders: OnceLock::new(),
        threads: OnceLock::new(),
        dump_reach: OnceLock::new(),
    })));
    let data = guard.0.as_ref().expect("set above");
    f(data)
}

impl HeapData {
    /// The graph, for as long as this borrow of the data.
    pub(crate) fn g(&self) -> &Graph<'_, '_> {
        &self.g
    }

    pub(crate) fn dump_reachable(&self, o: ObjectIndex) -> bool {
        let bits = self.dump_reach.get_or_init(|| {
            let index = self.g().heap.index;
            let n = index.len();
            let mut b = vec![0u64; n / 64 + 1];
            let mut stack = vec![index.virtual_root()];
            while let Some(v) = stack.pop() {
                for &w in index.refs.successors(v) {
                    let w_ = w as usize;
                    if w_ < n && b[w_ / 64] & (1 << (w_ % 64)) == 0 && !index.is_restored(v, w) {
                        b[w_ / 64] |= 1 << (w_ % 64);
                        stack.push(w);
                    }
                }
            }
            b
        });
        bits[o as usize / 64] & (1 << (o % 64)) != 0
    }

    pub(crate) fn len(&self) -> usize {
        self.g().heap.index.len()
    }

    pub(crate) fn id(&self, o: ObjectIndex) -> u64 {
        self.g().heap.id(o)
    }

    pub(crate) fn is_root(&self, o: ObjectIndex) -> bool {
        let bits = self.root_bits.get_or_init(|| {
            let mut b = vec![0u64; self.len() / 64 + 1];
            for r in &self.g().heap.index.roots {
                b[r.object as usize / 64] |= 1 << (r.object % 64);
            }
            b
        });
        bits[o as usize / 64] & (1 << (o % 64)) != 0
    }

    pub(crate) fn class_totals(&self) -> &[(u64, u64)] {
        self.class_totals.get_or_init(|| {
            let index = self.g().heap.index;
            let mut t = vec![(0u64, 0u64); self.g().heap.snap.classes.len()];
            for o in 0..self.len() as ObjectIndex {
                if let Some(e) = t.get_mut(index.class_of[o as usize] as usize) {
                    e.0 += 1;
                    e.1 += index.shallow(o);
                }
            }
            t
        })
    }

    pub(crate) fn class_retained(&self) -> &[u64] {
        self.class_retained.get_or_init(|| {
            let n = self.g().heap.snap.classes.len();
            self.g().retention.class_retained(self.g().heap.index, n)
        })
    }

    pub(crate) fn classes_named(&self, name: &str) -> &[ClassIndex] {
        let map = self.by_name.get_or_init(|| {
            let mut m: FxHashMap<String, Vec<ClassIndex>> = new_map();
            for (i, c) in self.g().heap.snap.classes.classes.iter().enumerate() {
                m.entry(c.name.clone()).or_default().push(i as ClassIndex);
            }
            m
        });
        map.get(name).map_or(&[], |v| v.as_slice())
    }

    pub(crate) fn class_names(&self) -> Vec<String> {
        self.classes_named("");
        let mut v: Vec<String> = self
            .by_name
            .get()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub(crate) fn loaders(&self) -> &[(ObjectIndex, u64)] {
        self.loaders.get_or_init(|| {
            let mut m: FxHashMap<u64, u64> = new_map();
            for c in &self.g().heap.snap.classes.classes {
                if c.loader_id != 0 {
                    *m.entry(c.loader_id).or_default() += 1;
                }
            }
            let mut v: Vec<(ObjectIndex, u64)> = m
                .into_iter()
                .filter_map(|(id, n)| Some((self.g().heap.find(id)?, n)))
                .collect();
            v.sort_unstable();
            v
        })
    }

    pub(crate) fn thread_object(&self, serial: u32) -> Option<ObjectIndex> {
        use crate::formats::hprof::RootKind;
        self.threads
            .get_or_init(|| {
                let mut m = new_map();
                for r in &self.g().heap.index.roots {
                    if let (RootKind::ThreadObject, Some(s)) = (r.kind, r.thread_serial) {
                        m.insert(s, r.object);
                    }
                }
                m
            })
            .get(&serial)
            .copied()
    }
}

/// How a query runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Partitions scanned in parallel (default: the machine's threads).
    pub threads: usize,
    /// Rows per batch the tables produce.
    pub batch_rows: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: rayon::current_num_threads().max(1),
            batch_rows: 8192,
        }
    }
}

/// A query's result as JSON-able rows: the `oomsleuth.sql/1` document.
#[derive(Clone, Debug, Serialize)]
pub struct QueryResult {
    pub schema: &'static str,
    pub query: String,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Rows beyond `max_rows` were left out.
    pub truncated: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResultColumn {
    pub name: String,
    /// The Arrow type (`UInt64`, `Utf8`, ...).
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether the column holds object ids (printed in hex).
    pub object_id: bool,
}

/// Runs `sql` over the heap and returns at most `max_rows` rows as JSON records.
pub fn run(
    g: &Graph<'_, '_>,
    sql: &str,
    max_rows: usize,
    opts: &Options,
) -> anyhow::Result<QueryResult> {
    let mut rows = vec![];
    let mut truncated = false;
    let schema = run_with(g, sql, opts, &mut |b| {
        let left = max_rows.saturating_sub(rows.len());
        if b.num_rows() > left {
            truncated = true;
        }
        rows.extend(render::json_rows(&b.slice(0, b.num_rows().min(left))));
        Ok(rows.len() < max_rows)
    })?;
    Ok(QueryResult {
        schema: SCHEMA,
        query: sql.to_string(),
        columns: render::columns(&schema),
        rows,
        truncated,
    })
}

/// Runs `sql` over the heap, giving each result batch to `sink` as it comes (until `sink`
/// returns false); returns the result's schema.
pub fn run_with(
    g: &Graph<'_, '_>,
    sql: &str,
    opts: &Options,
    sink: &mut dyn FnMut(&RecordBatch) -> anyhow::Result<bool>,
) -> anyhow::Result<SchemaRef> {
    with_heap_data(g, |data| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(opts.threads.max(1))
            .build()?;
        let result = runtime.block_on(async {
            let ctx = session(Arc::clone(data), opts)?;
            let df = ctx.sql(sql).await.map_err(|e| explain(e, data))?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let mut stream = df.execute_stream().await.map_err(|e| explain(e, data))?;
            while let Some(b) = stream.next().await {
                let b = b.map_err(|e| explain(e, data))?;
                if !sink(&b)? {
                    break;
                }
            }
            Ok::<_, anyhow::Error>(schema)
        });
        // Every task that holds the heap ends with the runtime, before the scope does.
        drop(runtime);
        result
    })
}

/// Translates MAT's OQL to SQL for this dump: `alias.field` is the class table's column when the
/// table has one, else `field(alias.id, 'field')` (a subclass's field).
pub fn translate_oql(g: &Graph<'_, '_>, oql: &str) -> anyhow::Result<String> {
    use datafusion::catalog::TableProvider;
    struct Tables {
        schema: class_tables::HeapSchema,
        seen: std::cell::RefCell<FxHashMap<String, Option<SchemaRef>>>,
    }
    impl super::oql::Columns for Tables {
        fn has(&self, table: &str, column: &str) -> bool {
            let mut seen = self.seen.borrow_mut();
            let s = seen
                .entry(table.to_string())
                .or_insert_with(|| self.schema.table_named(table).map(|t| t.schema()));
            s.as_ref()
                .is_some_and(|s| s.field_with_name(column).is_ok())
        }

        fn field_column(&self, table: &str, field: &str) -> Option<String> {
            self.has(table, field);
            let seen = self.seen.borrow();
            let schema = seen.get(table)?.as_ref()?;
            schema
                .fields()
                .iter()
                .find(|c| {
                    c.metadata()
                        .get(class_tables::JAVA_FIELD)
                        .map(String::as_str)
                        == Some(field)
                })
                .map(|c| c.name().clone())
        }
    }
    with_heap_data(g, |data| {
        let tables = Tables {
            schema: class_tables::HeapSchema::new(Arc::clone(data), &Options::default()),
            seen: std::cell::RefCell::new(new_map()),
        };
        Ok(super::oql::translate_with(oql, &tables)?)
    })
}

/// A session with the heap's tables and functions.
pub(crate) fn session(data: Arc<HeapData>, opts: &Options) -> anyhow::Result<SessionContext> {
    let config = SessionConfig::new()
        .with_target_partitions(opts.threads.max(1))
        .with_batch_size(opts.batch_rows.max(1))
        .with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    let catalog = ctx
        .catalog("datafusion")
        .ok_or_else(|| anyhow::anyhow!("DataFusion has no default catalog"))?;
    catalog.register_schema(
        "public",
        Arc::new(class_tables::HeapSchema::new(Arc::clone(&data), opts)),
    )?;
    functions::register(&ctx, &data);
    Ok(ctx)
}

/// DataFusion's error, with what to do about it: an unknown table gets the closest class names.
fn explain(e: datafusion::error::DataFusionError, data: &HeapData) -> anyhow::Error {
    let text = e.to_string();
    if let Some(name) = unknown_table(&text) {
        let close = class_tables::close_names(data, &name, 5);
        let hint = if close.is_empty() {
            "tables are objects, classes, refs, roots, loaders, strings, and one per class by its Java name in double quotes (\"java.lang.String\")".to_string()
        } else {
            format!(
                "did you mean {}? (a class's table is its Java name in double quotes)",
                close
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return anyhow::anyhow!("{text}\n{hint}");
    }
    anyhow::anyhow!("{text}")
}

/// The table name of DataFusion's "table 'x' not found" error.
fn unknown_table(text: &str) -> Option<String> {
    let at = text.find("table '")? + 7;
    let rest = &text[at..];
    let end = rest.find("' not found")?;
    let name = &rest[..end];
    Some(name.rsplit("public.").next().unwrap_or(name).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_table_names_the_table() {
        assert_eq!(
            unknown_table("Error during planning: table 'datafusion.public.com.Foo' not found"),
            Some("com.Foo".into())
        );
        assert_eq!(unknown_table("something else"), None);
    }
}
