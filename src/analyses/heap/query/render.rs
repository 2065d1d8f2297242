//! Query results as JSON rows, CSV lines and aligned text tables. Columns of object ids (marked
//! in their field's metadata) print in hex in text and CSV, as every other command prints ids;
//! JSON keeps them numbers.

use super::tables::OBJECT_ID;
use super::ResultColumn;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Schema,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Value};

fn is_id(f: &datafusion::arrow::datatypes::Field) -> bool {
    f.metadata().contains_key(OBJECT_ID) && f.data_type() == &DataType::UInt64
}

pub fn columns(schema: &Schema) -> Vec<ResultColumn> {
    schema
        .fields()
        .iter()
        .map(|f| ResultColumn {
            name: f.name().clone(),
            ty: f.data_type().to_string(),
            object_id: is_id(f),
        })
        .collect()
}

/// One JSON value for row `i` of `a`.
fn json_cell(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(a.as_primitive::<$t>().value(i))
        };
    }
    match a.data_type() {
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => {
            serde_json::Number::from_f64(a.as_primitive::<Float32Type>().value(i) as f64)
                .map_or(Value::Null, Value::Number)
        }
        DataType::Float64 => serde_json::Number::from_f64(a.as_primitive::<Float64Type>().value(i))
            .map_or(Value::Null, Value::Number),
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).to_string()),
        _ => {
            let opts = FormatOptions::default();
            ArrayFormatter::try_new(a, &opts)
                .map(|f| Value::String(f.value(i).to_string()))
                .unwrap_or(Value::Null)
        }
    }
}

pub fn json_rows(b: &RecordBatch) -> Vec<Map<String, Value>> {
    let schema = b.schema();
    (0..b.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(b.columns())
                .map(|(f, a)| (f.name().clone(), json_cell(a.as_ref(), i)))
                .collect()
        })
        .collect()
}

/// The cells of a batch as text (ids in hex, null empty), row by row.
pub fn text_cells(b: &RecordBatch) -> Vec<Vec<String>> {
    let schema = b.schema();
    let opts = FormatOptions::default().with_null("");
    let formatters: Vec<Option<ArrayFormatter<'_>>> = b
        .columns()
        .iter()
        .map(|a| ArrayFormatter::try_new(a.as_ref(), &opts).ok())
        .collect();
    (0..b.num_rows())
        .map(|i| {
            b.columns()
                .iter()
                .zip(schema.fields())
                .zip(&formatters)
                .map(|((a, f), fmt)| {
                    if a.is_null(i) {
                        String::new()
                    } else if is_id(f) {
                        crate::units::hex(a.as_primitive::<UInt64Type>().value(i))
                    } else {
                        fmt.as_ref()
                            .map_or(String::new(), |f| f.value(i).to_string())
                    }
                })
                .collect()
        })
        .collect()
}

/// A CSV field: quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Whether a column is right-aligned (numbers).
fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

/// An aligned table: a header, a rule, the rows; numbers right-aligned; a row count line.
pub fn text_table(schema: &Schema, rows: &[Vec<String>], truncated: bool) -> String {
    let fields = schema.fields();
    let mut width: Vec<usize> = fields.iter().map(|f| f.name().chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count().min(120));
        }
    }
    let right: Vec<bool> = fields
        .iter()
        .map(|f| is_numeric(f.data_type()) && !is_id(f))
        .collect();
    let line = |cells: Vec<String>| -> String {
        let mut out = String::new();
        for (k, c) in cells.iter().enumerate() {
            let c: String = if c.chars().count() > 120 {
                c.chars().take(119).chain(['…']).collect()
            } else {
                c.clone()
            };
            let pad = width[k].saturating_sub(c.chars().count());
            if k > 0 {
                out.push_str("  ");
            }
            if right[k] {
                out.push_str(&" ".repeat(pad));
                out.push_str(&c);
            } else {
                out.push_str(&c);
                if k + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(fields.iter().map(|f| f.name().clone()).collect());
    out.push_str(&line(width.iter().map(|&w| "-".repeat(w)).collect()));
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    let n = rows.len();
    out.push_str(&format!(
        "({} row{}{})\n",
        crate::units::thousands(n as u64),
        if n == 1 { "" } else { "s" },
        if truncated { ", more left out" } else { "" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;

    #[test]
    fn tables_align_and_count_rows() {
        let schema = Schema::new(vec![
            Field::new("class", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]);
        let rows = vec![
            vec!["java.lang.String".to_string(), "12".to_string()],
            vec!["int[]".to_string(), "1234".to_string()],
        ];
        let t = text_table(&schema, &rows, false);
        assert_eq!(
            t,
            "class                n\n----------------  ----\njava.lang.String    12\nint[]             1234\n(2 rows)\n"
        );
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
