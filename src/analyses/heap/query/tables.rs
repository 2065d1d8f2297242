//! Tables served from the index: each is a list of columns, each column a function from a batch
//! of row keys to an Arrow array, so a scan builds only the columns the query reads
//! (projection pushdown), one batch at a time per partition (a contiguous range of objects,
//! classes or roots), and never holds a table whole.

use super::HeapData;
use crate::heap::index::{ObjectIndex, ObjectKindTag};
use crate::heap::reachability::LEVEL_NAMES;
use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, RecordBatchOptions, StringBuilder,
    UInt32Builder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use std::collections::HashMap;
use std::sync::Arc;

/// Field metadata that marks a column of object ids (the text output prints them in hex).
pub const OBJECT_ID: &str = "oomsleuth.object_id";

/// Builds one column for a batch of row keys.
pub type Build = Arc<dyn Fn(&HeapData, &[u64]) -> ArrayRef + Send + Sync>;

/// A column: its Arrow field and how to build it.
#[derive(Clone)]
pub struct ColumnDef {
    pub field: Field,
    pub build: Build,
}

impl ColumnDef {
    pub fn new(
        name: &str,
        ty: DataType,
        build: impl Fn(&HeapData, &[u64]) -> ArrayRef + Send + Sync + 'static,
    ) -> ColumnDef {
        ColumnDef {
            field: Field::new(name, ty, true),
            build: Arc::new(build),
        }
    }

    /// A column of object ids (UInt64, null for none).
    pub fn ids(
        name: &str,
        build: impl Fn(&HeapData, &[u64]) -> ArrayRef + Send + Sync + 'static,
    ) -> ColumnDef {
        let mut c = ColumnDef::new(name, DataType::UInt64, build);
        c.field = c
            .field
            .with_metadata(HashMap::from([(OBJECT_ID.to_string(), "true".to_string())]));
        c
    }
}

/// What a table's rows are, and so what its row keys mean.
#[derive(Clone)]
pub enum Rows {
    /// Every object; key = object index.
    Objects,
    /// The objects whose class is set in the mask (by class index); key = object index.
    Instances(Arc<Vec<bool>>),
    /// Every class; key = class index.
    Classes,
    /// Every GC root record; key = position in the index's roots.
    Roots,
    /// Every class loader object; key = position in [`HeapData::loaders`].
    Loaders,
    /// Every reference of every object; key = object index << 32 | position in its row.
    Refs,
}

impl Rows {
    /// How many units the table is split over (objects, classes, roots or loaders).
    fn units(&self, data: &HeapData) -> usize {
        match self {
            Rows::Objects | Rows::Instances(_) | Rows::Refs => data.len(),
            Rows::Classes => data.g().heap.snap.classes.len(),
            Rows::Roots => data.g().heap.index.roots.len(),
            Rows::Loaders => data.loaders().len(),
        }
    }
}

/// A table over the heap.
pub struct HeapTable {
    pub data: Arc<HeapData>,
    pub columns: Arc<Vec<ColumnDef>>,
    pub rows: Rows,
    pub partitions: usize,
    pub batch_rows: usize,
    schema: SchemaRef,
}

impl std::fmt::Debug for HeapTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeapTable({} columns)", self.columns.len())
    }
}

impl HeapTable {
    pub fn new(
        data: Arc<HeapData>,
        columns: Vec<ColumnDef>,
        rows: Rows,
        opts: &super::Options,
    ) -> HeapTable {
        let schema = Arc::new(Schema::new(
            columns.iter().map(|c| c.field.clone()).collect::<Vec<_>>(),
        ));
        HeapTable {
            data,
            columns: Arc::new(columns),
            rows,
            partitions: opts.threads.max(1),
            batch_rows: opts.batch_rows.max(1),
            schema,
        }
    }

    /// The table's partitions for these columns: contiguous ranges of its units.
    pub fn partitions(&self, projection: Option<&Vec<usize>>) -> (SchemaRef, Vec<Part>) {
        let cols: Vec<ColumnDef> = match projection {
            Some(p) => p.iter().map(|&i| self.columns[i].clone()).collect(),
            None => self.columns.to_vec(),
        };
        let schema = Arc::new(Schema::new(
            cols.iter().map(|c| c.field.clone()).collect::<Vec<_>>(),
        ));
        let cols = Arc::new(cols);
        let units = self.rows.units(&self.data);
        let n = self.partitions.min(units.max(1));
        let parts = (0..n)
            .map(|k| Part {
                data: Arc::clone(&self.data),
                schema: Arc::clone(&schema),
                columns: Arc::clone(&cols),
                rows: self.rows.clone(),
                range: (units * k / n, units * (k + 1) / n),
                batch_rows: self.batch_rows,
            })
            .collect();
        (schema, parts)
    }
}

#[async_trait]
impl TableProvider for HeapTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let (schema, parts) = self.partitions(projection);
        let parts: Vec<Arc<dyn PartitionStream>> = parts
            .into_iter()
            .map(|p| Arc::new(p) as Arc<dyn PartitionStream>)
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            parts,
            None,
            vec![],
            false,
            limit,
        )?))
    }
}

/// One partition of a scan: a range of units, the columns to build.
#[derive(Clone)]
pub struct Part {
    data: Arc<HeapData>,
    schema: SchemaRef,
    columns: Arc<Vec<ColumnDef>>,
    rows: Rows,
    range: (usize, usize),
    batch_rows: usize,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Part({}..{})", self.range.0, self.range.1)
    }
}

impl PartitionStream for Part {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batches = Batches {
            part: self.clone(),
            unit: self.range.0,
            within: 0,
        };
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::iter(batches),
        ))
    }
}

/// The batches of one partition, made as they are pulled.
pub struct Batches {
    part: Part,
    unit: usize,
    /// For `refs`: the position in the current object's row.
    within: usize,
}

impl Batches {
    /// The next batch's row keys (empty at the end).
    fn next_keys(&mut self) -> Vec<u64> {
        let p = &self.part;
        let end = p.range.1;
        let mut keys = Vec::with_capacity(p.batch_rows.min(1 << 16));
        match &p.rows {
            Rows::Instances(mask) => {
                let class_of = &p.data.g().heap.index.class_of;
                while self.unit < end && keys.len() < p.batch_rows {
                    let c = class_of[self.unit] as usize;
                    if mask.get(c).copied().unwrap_or(false) {
                        keys.push(self.unit as u64);
                    }
                    self.unit += 1;
                }
            }
            Rows::Refs => {
                let refs = &p.data.g().heap.index.refs;
                while self.unit < end && keys.len() < p.batch_rows {
                    let row = refs.successors(self.unit as ObjectIndex).len();
                    if self.within < row {
                        keys.push(((self.unit as u64) << 32) | self.within as u64);
                        self.within += 1;
                    } else {
                        self.unit += 1;
                        self.within = 0;
                    }
                }
            }
            _ => {
                let to = end.min(self.unit + p.batch_rows);
                keys.extend((self.unit..to).map(|u| u as u64));
                self.unit = to;
            }
        }
        keys
    }
}

impl Iterator for Batches {
    type Item = DfResult<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let keys = self.next_keys();
        if keys.is_empty() {
            return None;
        }
        let p = &self.part;
        let arrays: Vec<ArrayRef> = p
            .columns
            .iter()
            .map(|c| (c.build)(&p.data, &keys))
            .collect();
        let opts = RecordBatchOptions::new().with_row_count(Some(keys.len()));
        Some(
            RecordBatch::try_new_with_options(Arc::clone(&p.schema), arrays, &opts)
                .map_err(Into::into),
        )
    }
}

// Column builders over keys.

pub fn u64s(keys: &[u64], f: impl Fn(u64) -> Option<u64>) -> ArrayRef {
    let mut b = UInt64Builder::with_capacity(keys.len());
    for &k in keys {
        b.append_option(f(k));
    }
    Arc::new(b.finish())
}

pub fn i64s(keys: &[u64], f: impl Fn(u64) -> Option<i64>) -> ArrayRef {
    let mut b = Int64Builder::with_capacity(keys.len());
    for &k in keys {
        b.append_option(f(k));
    }
    Arc::new(b.finish())
}

pub fn u32s(keys: &[u64], f: impl Fn(u64) -> Option<u32>) -> ArrayRef {
    let mut b = UInt32Builder::with_capacity(keys.len());
    for &k in keys {
        b.append_option(f(k));
    }
    Arc::new(b.finish())
}

pub fn bools(keys: &[u64], f: impl Fn(u64) -> Option<bool>) -> ArrayRef {
    let mut b = BooleanBuilder::with_capacity(keys.len());
    for &k in keys {
        b.append_option(f(k));
    }
    Arc::new(b.finish())
}

pub fn strs<S: AsRef<str>>(keys: &[u64], f: impl Fn(u64) -> Option<S>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(keys.len(), keys.len() * 16);
    for &k in keys {
        b.append_option(f(k));
    }
    Arc::new(b.finish())
}

/// The columns every object row has: id, class, sizes, dominator, reachability.
pub fn object_columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef::ids("id", |d, k| u64s(k, |o| Some(d.id(o as ObjectIndex)))),
        ColumnDef::new("class", DataType::Utf8, |d, k| {
            strs(k, |o| Some(d.g().heap.class_name(o as ObjectIndex)))
        }),
        ColumnDef::ids("class_id", |d, k| {
            let classes = &d.g().heap.snap.classes;
            u64s(k, |o| {
                let c = d.g().heap.class(o as ObjectIndex);
                ((c as usize) < classes.len()).then(|| classes.get(c).id)
            })
        }),
        ColumnDef::new("shallow", DataType::UInt64, |d, k| {
            u64s(k, |o| Some(d.g().heap.index.shallow(o as ObjectIndex)))
        }),
        ColumnDef::new("retained", DataType::UInt64, |d, k| {
            u64s(k, |o| Some(d.g().retained(o as ObjectIndex)))
        }),
        ColumnDef::ids("dominator", |d, k| {
            u64s(k, |o| {
                let i = d.g().retention.idom(o as ObjectIndex)?;
                ((i as usize) < d.len()).then(|| d.id(i))
            })
        }),
        ColumnDef::new("reachability", DataType::Utf8, |d, k| {
            strs(k, |o| {
                LEVEL_NAMES
                    .get(d.g().heap.index.level(o as ObjectIndex) as usize)
                    .copied()
            })
        }),
        ColumnDef::new("reachable", DataType::Boolean, |d, k| {
            bools(k, |o| Some(d.g().retention.is_reachable(o as ObjectIndex)))
        }),
        // Without the edges the index restores: what Eclipse MAT (and so OQL) counts as reachable.
        ColumnDef::new("dump_reachable", DataType::Boolean, |d, k| {
            bools(k, |o| Some(d.dump_reachable(o as ObjectIndex)))
        }),
        ColumnDef::new("is_root", DataType::Boolean, |d, k| {
            bools(k, |o| Some(d.is_root(o as ObjectIndex)))
        }),
    ]
}

/// The `objects` table's columns: [`object_columns`], the record kind and array length.
pub fn objects() -> Vec<ColumnDef> {
    let mut cols = object_columns();
    cols.push(ColumnDef::new("kind", DataType::Utf8, |d, k| {
        let data = d.g().heap.snap.bytes.bytes();
        strs(k, |o| {
            Some(match d.g().heap.index.kind(data, o as ObjectIndex) {
                ObjectKindTag::Instance => "instance",
                ObjectKindTag::ObjectArray => "object array",
                ObjectKindTag::PrimitiveArray => "primitive array",
                ObjectKindTag::Class => "class",
            })
        })
    }));
    cols.push(length_column());
    cols
}

/// Array length (null for other objects).
pub fn length_column() -> ColumnDef {
    ColumnDef::new("length", DataType::Int64, |d, k| {
        i64s(k, |o| {
            d.g().heap.array_length(o as ObjectIndex).map(i64::from)
        })
    })
}

pub fn classes() -> Vec<ColumnDef> {
    use crate::heap::classes::NO_CLASS;
    vec![
        ColumnDef::ids("id", |d, k| {
            u64s(k, |c| Some(d.g().heap.snap.classes.classes[c as usize].id))
        }),
        ColumnDef::new("name", DataType::Utf8, |d, k| {
            strs(k, |c| {
                Some(d.g().heap.snap.classes.classes[c as usize].name.as_str())
            })
        }),
        ColumnDef::ids("loader", |d, k| {
            u64s(k, |c| {
                Some(d.g().heap.snap.classes.classes[c as usize].loader_id).filter(|&l| l != 0)
            })
        }),
        ColumnDef::new("super", DataType::Utf8, |d, k| {
            let classes = &d.g().heap.snap.classes;
            strs(k, |c| {
                let s = classes.parent(c as u32);
                (s != NO_CLASS).then(|| classes.get(s).name.as_str())
            })
        }),
        ColumnDef::new("instances", DataType::UInt64, |d, k| {
            u64s(k, |c| d.class_totals().get(c as usize).map(|t| t.0))
        }),
        ColumnDef::new("shallow", DataType::UInt64, |d, k| {
            u64s(k, |c| d.class_totals().get(c as usize).map(|t| t.1))
        }),
        ColumnDef::new("retained", DataType::UInt64, |d, k| {
            u64s(k, |c| d.class_retained().get(c as usize).copied())
        }),
    ]
}

pub fn roots() -> Vec<ColumnDef> {
    vec![
        ColumnDef::ids("object", |d, k| {
            u64s(k, |r| Some(d.id(d.g().heap.index.roots[r as usize].object)))
        }),
        ColumnDef::new("kind", DataType::Utf8, |d, k| {
            strs(k, |r| Some(d.g().heap.index.roots[r as usize].kind.name()))
        }),
        ColumnDef::ids("thread", |d, k| {
            u64s(k, |r| {
                let s = d.g().heap.index.roots[r as usize].thread_serial?;
                Some(d.id(d.thread_object(s)?))
            })
        }),
        ColumnDef::new("frame", DataType::UInt32, |d, k| {
            u32s(k, |r| d.g().heap.index.roots[r as usize].frame)
        }),
    ]
}

pub fn loaders() -> Vec<ColumnDef> {
    let obj = |d: &HeapData, l: u64| d.loaders()[l as usize].0;
    vec![
        ColumnDef::ids("id", move |d, k| u64s(k, |l| Some(d.id(obj(d, l))))),
        ColumnDef::new("class", DataType::Utf8, move |d, k| {
            strs(k, |l| Some(d.g().heap.class_name(obj(d, l))))
        }),
        ColumnDef::new("name", DataType::Utf8, move |d, k| {
            strs(k, |l| {
                let h = &d.g().heap;
                h.field_object(obj(d, l), "name")
                    .and_then(|s| h.string(s, 1000))
            })
        }),
        ColumnDef::new("classes", DataType::UInt64, |d, k| {
            u64s(k, |l| Some(d.loaders()[l as usize].1))
        }),
        ColumnDef::new("retained", DataType::UInt64, move |d, k| {
            u64s(k, |l| Some(d.g().retained(obj(d, l))))
        }),
    ]
}

pub fn refs() -> Vec<ColumnDef> {
    let split = |k: u64| ((k >> 32) as ObjectIndex, (k & 0xffff_ffff) as usize);
    let target = move |d: &HeapData, k: u64| {
        let (o, i) = split(k);
        d.g().heap.index.refs.successors(o)[i]
    };
    vec![
        ColumnDef::ids("from", move |d, k| u64s(k, |e| Some(d.id(split(e).0)))),
        ColumnDef::ids("to", move |d, k| u64s(k, |e| Some(d.id(target(d, e))))),
        ColumnDef::new("field", DataType::Utf8, move |d, k| {
            strs(k, |e| Some(d.g().edge_label(split(e).0, target(d, e))))
        }),
    ]
}

/// The `strings` table: each `java.lang.String` with its text.
pub fn strings() -> Vec<ColumnDef> {
    vec![
        ColumnDef::ids("id", |d, k| u64s(k, |o| Some(d.id(o as ObjectIndex)))),
        ColumnDef::new("value", DataType::Utf8, |d, k| {
            strs(k, |o| d.g().heap.string(o as ObjectIndex, usize::MAX))
        }),
        ColumnDef::new("length", DataType::Int64, |d, k| strs_len(d, k)),
        ColumnDef::new("retained", DataType::UInt64, |d, k| {
            u64s(k, |o| Some(d.g().retained(o as ObjectIndex)))
        }),
    ]
}

/// Characters of each string (Java's `length()`).
fn strs_len(d: &HeapData, k: &[u64]) -> ArrayRef {
    i64s(k, |o| {
        d.g()
            .heap
            .string(o as ObjectIndex, usize::MAX)
            .map(|s| s.encode_utf16().count() as i64)
    })
}
