//! Functions over object ids: what a person asks of one object in a query.
//!
//! - `describe(id)`: the one-line description oomsleuth prints (`java.util.HashMap (size 3)`);
//! - `path_from_roots(id)`: the shortest path from a GC root, as `oomsleuth path` walks it;
//! - `to_string(id)`: a `java.lang.String`'s text (null for other objects);
//! - `class_of(id)`, `dominator_of(id)`, `retained_of(id)`, `shallow_of(id)`, `length_of(id)`
//!   (array length), `is_root_of(id)`;
//! - `field(id, 'name')`: the field of that name of the object, typed by what the dump's classes
//!   declare under the name (ids for references, integers, reals, booleans; text if they differ);
//!   `field(id, 'length')` of an array is its length;
//! - `oid('0x7f3a0c10')`: an id written in hex, as the other commands print them.

use super::class_tables::field_array;
use super::tables::{self, OBJECT_ID};
use super::HeapData;
use crate::formats::hprof::BasicType;
use crate::heap::index::ObjectIndex;
use crate::heap::objects::Value;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;

/// How many characters `to_string` returns at most (a string can be 2 GB).
const STRING_CHARS: usize = 1 << 20;

pub fn register(ctx: &SessionContext, data: &Arc<HeapData>) {
    let d = data;
    ctx.register_udf(text_fn(d, "describe", |d, o| {
        Some(crate::analyses::heap::describe::describe(&d.g().heap, o))
    }));
    ctx.register_udf(text_fn(d, "path_from_roots", path_text));
    ctx.register_udf(text_fn(d, "to_string", |d, o| {
        d.g().heap.string(o, STRING_CHARS)
    }));
    ctx.register_udf(text_fn(d, "class_of", |d, o| {
        Some(d.g().heap.class_name(o).to_string())
    }));
    ctx.register_udf(id_fn(d, "dominator_of", DataType::UInt64, |d, k| {
        tables::u64s(k, |o| {
            let i = d.g().retention.idom(o as ObjectIndex)?;
            ((i as usize) < d.len()).then(|| d.id(i))
        })
    }));
    ctx.register_udf(id_fn(d, "retained_of", DataType::UInt64, |d, k| {
        tables::u64s(k, |o| Some(d.g().retained(o as ObjectIndex)))
    }));
    ctx.register_udf(id_fn(d, "shallow_of", DataType::UInt64, |d, k| {
        tables::u64s(k, |o| Some(d.g().heap.index.shallow(o as ObjectIndex)))
    }));
    ctx.register_udf(id_fn(d, "length_of", DataType::Int64, |d, k| {
        tables::i64s(k, |o| {
            d.g().heap.array_length(o as ObjectIndex).map(i64::from)
        })
    }));
    ctx.register_udf(id_fn(d, "is_root_of", DataType::Boolean, |d, k| {
        tables::bools(k, |o| Some(d.is_root(o as ObjectIndex)))
    }));
    ctx.register_udf(ScalarUDF::from(FieldFn {
        data: Arc::clone(d),
        signature: Signature::any(2, Volatility::Immutable),
    }));
    ctx.register_udf(create_udf(
        "oid",
        vec![DataType::Utf8],
        DataType::UInt64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let a = ColumnarValue::values_to_arrays(args)?;
            let s = cast(&a[0], &DataType::Utf8)?;
            let s = s.as_string::<i32>();
            let v: datafusion::arrow::array::UInt64Array =
                s.iter().map(|t| t.and_then(parse_id)).collect();
            Ok(ColumnarValue::Array(Arc::new(v)))
        }),
    ));
}

/// `0x7f3a0c10`, `7f3a0c10` with hex letters, or decimal.
fn parse_id(t: &str) -> Option<u64> {
    let t = t.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None if t.chars().any(|c| c.is_ascii_alphabetic()) => u64::from_str_radix(t, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The object numbers of a column of ids (null where the dump has no such object).
fn objects_of(d: &HeapData, a: &ArrayRef) -> DfResult<Vec<Option<ObjectIndex>>> {
    let ids = cast(a, &DataType::UInt64)?;
    let ids = ids.as_primitive::<UInt64Type>();
    Ok(ids.iter().map(|id| d.g().heap.find(id?)).collect())
}

/// A function of one id returning text.
fn text_fn(
    data: &Arc<HeapData>,
    name: &str,
    f: fn(&HeapData, ObjectIndex) -> Option<String>,
) -> ScalarUDF {
    let d = Arc::clone(data);
    create_udf(
        name,
        vec![DataType::UInt64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let a = ColumnarValue::values_to_arrays(args)?;
            let mut b = StringBuilder::new();
            for o in objects_of(&d, &a[0])? {
                b.append_option(o.and_then(|o| f(&d, o)));
            }
            Ok(ColumnarValue::Array(Arc::new(b.finish())))
        }),
    )
}

/// A function of one id built like a table column (over object numbers as keys; an id the
/// dump lacks gives null).
fn id_fn(
    data: &Arc<HeapData>,
    name: &str,
    ty: DataType,
    build: fn(&HeapData, &[u64]) -> ArrayRef,
) -> ScalarUDF {
    let d = Arc::clone(data);
    create_udf(
        name,
        vec![DataType::UInt64],
        ty.clone(),
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let a = ColumnarValue::values_to_arrays(args)?;
            let objects = objects_of(&d, &a[0])?;
            let keys: Vec<u64> = objects.iter().map(|o| o.unwrap_or(0) as u64).collect();
            let full = build(&d, &keys);
            // Rows whose id is not an object are null.
            let valid: datafusion::arrow::array::BooleanArray =
                objects.iter().map(|o| Some(o.is_some())).collect();
            let nulls = datafusion::arrow::compute::nullif(
                &full,
                &datafusion::arrow::compute::not(&valid)?,
            )?;
            Ok(ColumnarValue::Array(nulls))
        }),
    )
}

/// The path of `o` from a GC root as one line: `GC root (kind) class ... → .field class ...`.
fn path_text(d: &HeapData, o: ObjectIndex) -> Option<String> {
    let steps = crate::analyses::heap::paths::shortest_path(&d.g, o)?;
    let parts: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let via = if i == 0 {
                s.via.clone()
            } else {
                format!(".{}", s.via)
            };
            format!("{via} {} @{}", s.object.description, s.object.id)
        })
        .collect();
    Some(parts.join(" → "))
}

/// `field(id, 'name')`.
struct FieldFn {
    data: Arc<HeapData>,
    signature: Signature,
}

impl std::fmt::Debug for FieldFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field(id, name)")
    }
}

impl PartialEq for FieldFn {
    fn eq(&self, other: &FieldFn) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }
}

impl Eq for FieldFn {}

impl std::hash::Hash for FieldFn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "field".hash(state);
    }
}

/// What the dump's classes declare under a field name: one Arrow type for all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldKind {
    Reference,
    Integer,
    Real,
    Boolean,
    /// Types differ, or char: the value as text.
    Text,
    /// No class declares it: `length` of arrays.
    ArrayLength,
}

impl FieldKind {
    fn of(ty: BasicType) -> FieldKind {
        match ty {
            BasicType::Object => FieldKind::Reference,
            BasicType::Boolean => FieldKind::Boolean,
            BasicType::Float | BasicType::Double => FieldKind::Real,
            BasicType::Char => FieldKind::Text,
            _ => FieldKind::Integer,
        }
    }

    fn arrow(self) -> DataType {
        match self {
            FieldKind::Reference => DataType::UInt64,
            FieldKind::Integer | FieldKind::ArrayLength => DataType::Int64,
            FieldKind::Real => DataType::Float64,
            FieldKind::Boolean => DataType::Boolean,
            FieldKind::Text => DataType::Utf8,
        }
    }
}

impl FieldFn {
    fn kind(&self, name: &str) -> FieldKind {
        let heap = &self.data.g().heap;
        let mut kind = None;
        for c in &heap.snap.classes.classes {
            for f in c.dump.fields() {
                if heap
                    .snap
                    .dir
                    .strings
                    .get(&f.name_id)
                    .is_some_and(|s| *s == name.as_bytes())
                {
                    let k = FieldKind::of(f.ty);
                    kind = Some(match kind {
                        None => k,
                        Some(old) if old == k => k,
                        // Integers and reals widen to reals (Integer.value, Double.value).
                        Some(FieldKind::Integer | FieldKind::Real)
                            if matches!(k, FieldKind::Integer | FieldKind::Real) =>
                        {
                            FieldKind::Real
                        }
                        Some(_) => return FieldKind::Text,
                    });
                }
            }
        }
        kind.unwrap_or(if name == "length" {
            FieldKind::ArrayLength
        } else {
            FieldKind::Text
        })
    }

    fn value(&self, o: ObjectIndex, name: &str) -> Option<Value> {
        let heap = &self.data.g().heap;
        if name == "length" {
            if let Some(n) = heap.array_length(o) {
                return Some(Value::Long(n as i64));
            }
        }
        heap.field(o, name)
    }
}

fn literal_name(v: Option<&ScalarValue>) -> Option<String> {
    match v? {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

impl ScalarUDFImpl for FieldFn {
    fn name(&self) -> &str {
        "field"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let name = literal_name(args.scalar_arguments.get(1).copied().flatten());
        let kind = name.as_deref().map_or(FieldKind::Text, |n| self.kind(n));
        let mut f = Field::new("field", kind.arrow(), true);
        if kind == FieldKind::Reference {
            f = f.with_metadata(HashMap::from([(OBJECT_ID.to_string(), "true".to_string())]));
        }
        Ok(Arc::new(f))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let ty = args.return_field.data_type().clone();
        let a = args.args[0].to_array(n)?;
        let names = cast(&args.args[1].to_array(n)?, &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let objects = objects_of(&self.data, &a)?;
        let values = objects.iter().enumerate().map(|(i, o)| {
            let name = names.is_valid(i).then(|| names.value(i))?;
            self.value((*o)?, name)
        });
        let out: ArrayRef = match ty {
            DataType::UInt64 => field_array(BasicType::Object, values),
            DataType::Int64 => field_array(
                BasicType::Long,
                values.map(|v| v.and_then(|v| v.as_i64()).map(Value::Long)),
            ),
            DataType::Float64 => field_array(
                BasicType::Double,
                values.map(|v| match v {
                    Some(Value::Float(x)) => Some(Value::Double(x as f64)),
                    Some(Value::Double(x)) => Some(Value::Double(x)),
                    v => v.and_then(|v| v.as_i64()).map(|x| Value::Double(x as f64)),
                }),
            ),
            DataType::Boolean => field_array(BasicType::Boolean, values),
            _ => {
                let mut b = StringBuilder::new();
                for v in values {
                    b.append_option(v.map(value_text));
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn value_text(v: Value) -> String {
    match v {
        Value::Object(id) => crate::units::hex(id),
        Value::Boolean(b) => b.to_string(),
        Value::Char(c) => char::from_u32(c as u32).unwrap_or('\u{fffd}').to_string(),
        Value::Float(x) => x.to_string(),
        Value::Double(x) => x.to_string(),
        Value::Byte(x) => x.to_string(),
        Value::Short(x) => x.to_string(),
        Value::Int(x) => x.to_string(),
        Value::Long(x) => x.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_hex_or_decimal() {
        assert_eq!(parse_id("0x10"), Some(16));
        assert_eq!(parse_id("ff"), Some(255));
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("zz"), None);
    }
}
