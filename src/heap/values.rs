//! Reading a few field values without an object index: Java strings and static fields.

use super::census::Census;
use super::classes::ClassTable;
use crate::formats::hprof::{BasicType, Directory, SubRecord};

/// Decodes the `java.lang.String` with id `id` (JDK 9+ compact strings in byte[] with a coder,
/// or JDK 8 char[]). Slow path: finds objects by walking the bodies that may hold them.
pub fn read_string(
    dir: &Directory<'_>,
    census: &Census<'_>,
    classes: &ClassTable<'_>,
    id: u64,
) -> Option<String> {
    let SubRecord::Instance(inst) = census.find_object(dir, id)? else {
        return None;
    };
    let class = classes.index_of(inst.class_id)?;
    let (_, value) = classes.instance_field(dir, class, inst.fields, "value")?;
    let value_id = crate::formats::hprof::reader::read_id(value, dir.id_size());
    let coder = classes
        .instance_field(dir, class, inst.fields, "coder")
        .map(|(_, b)| b[0])
        .unwrap_or(0);
    let SubRecord::PrimitiveArray(arr) = census.find_object(dir, value_id)? else {
        return None;
    };
    // JDK 5-7u5 strings may share a longer char[]: `offset` and `count` say which chars.
    let int_field = |name: &str| {
        classes
            .instance_field(dir, class, inst.fields, name)
            .and_then(|(_, b)| Some(u32::from_be_bytes(b.try_into().ok()?) as usize))
    };
    let data = match (int_field("offset"), int_field("count")) {
        (Some(offset), Some(count)) if arr.element_type == BasicType::Char => arr
            .data
            .get(offset.checked_mul(2)?..offset.checked_add(count)?.checked_mul(2)?)?,
        _ => arr.data,
    };
    Some(decode_string_value(arr.element_type, data, coder))
}

/// Decodes a String's `value` array: `byte[]` Latin-1 (coder 0) or UTF-16 in the JVM's byte
/// order, little-endian on the platforms HotSpot dumps come from (coder 1); or `char[]` (JDK 8),
/// which HPROF writes big-endian.
pub fn decode_string_value(ty: BasicType, data: &[u8], coder: u8) -> String {
    match ty {
        BasicType::Byte if coder == 0 => data.iter().map(|&b| b as char).collect(),
        BasicType::Byte => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        BasicType::Char => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::new(),
    }
}
