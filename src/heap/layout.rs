//! Shallow sizes the way HotSpot lays objects out.
//!
//! HPROF records field values but not the layout, so sizes are recomputed here: object and array
//! headers (with and without compressed class pointers), reference size (compressed oops),
//! 8-byte alignment, and the field packing of the JDK that wrote the dump:
//!
//! - JDK 6-14 (`ClassFileParser::layout_fields`): each class's fields start after the superclass's
//!   fields rounded up to a reference size; longs/doubles, then ints/floats, shorts/chars,
//!   bytes/booleans, then references, with one gap before the longs filled by smaller fields.
//! - JDK 15+ (`FieldLayoutBuilder`, JDK-8237767): fields, largest first, go into the smallest
//!   hole anywhere in the layout inherited from the superclasses, else at the end.
//!
//! Both are replicated step by step, including fields HotSpot injects that the dump does not list
//! (`Class.klass`, `ClassLoader.loader_data`, ...) and `@Contended` padding of JDK classes. JDK
//! differences live in [`super::jdk::release`], nowhere else.

use super::classes::{ClassIndex, ClassTable, NO_CLASS};
pub use super::jdk::release::has_hidden_space;
use super::jdk::release::{
    contended_class, contended_group, injected_fields, HARD_CODED_OFFSET_CLASSES,
};
use crate::formats::hprof::{BasicType, Directory};
use serde::Serialize;

/// What determines object sizes in one JVM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LayoutModel {
    /// Java feature release of the JVM that wrote the dump (8, 11, 17, 21, 25, ...).
    pub jdk_feature: u32,
    pub compressed_oops: bool,
    pub compressed_class_pointers: bool,
    pub object_alignment: u32,
    /// Machine word: 8 on 64-bit JVMs, 4 on 32-bit ones (dumps with 4-byte identifiers).
    pub word_size: u32,
}

/// `-XX:ContendedPaddingWidth` default.
const CONTENDED_PADDING: u32 = 128;

impl LayoutModel {
    /// The usual 64-bit HotSpot configuration of a given release.
    pub fn hotspot(jdk_feature: u32, compressed_oops: bool) -> LayoutModel {
        // JDK 15+ (JDK-8241825) keeps compressed class pointers without compressed oops.
        let ccp = compressed_oops || jdk_feature >= 15;
        LayoutModel {
            jdk_feature,
            compressed_oops,
            compressed_class_pointers: ccp,
            object_alignment: 8,
            word_size: 8,
        }
    }

    /// A 32-bit HotSpot: 8-byte headers, 4-byte references, nothing compressed.
    pub fn hotspot_32bit(jdk_feature: u32) -> LayoutModel {
        LayoutModel {
            jdk_feature,
            compressed_oops: false,
            compressed_class_pointers: false,
            object_alignment: 8,
            word_size: 4,
        }
    }

    pub fn header_size(&self) -> u32 {
        if self.word_size == 4 {
            8
        } else if self.compressed_class_pointers {
            12
        } else {
            16
        }
    }

    pub fn oop_size(&self) -> u32 {
        if self.compressed_oops || self.word_size == 4 {
            4
        } else {
            8
        }
    }

    fn align(&self, v: u64) -> u64 {
        let a = self.object_alignment as u64;
        v.div_ceil(a) * a
    }

    /// Offset of the first array element.
    pub fn array_base(&self, elem: BasicType) -> u32 {
        let length_end = self.header_size() + 4;
        if self.word_size == 4 {
            let e = self.element_size(elem);
            return if e == 8 { 16 } else { 12 };
        }
        if self.jdk_feature >= 22 {
            // JDK-8139457: elements start right after the length, aligned to their own size.
            let e = self.element_size(elem);
            length_end.div_ceil(e) * e
        } else {
            length_end.div_ceil(8) * 8
        }
    }

    pub fn element_size(&self, elem: BasicType) -> u32 {
        elem.java_size().unwrap_or_else(|| self.oop_size())
    }

    /// Shallow size of an array of `len` elements.
    pub fn array_size(&self, elem: BasicType, len: u64) -> u64 {
        self.align(self.array_base(elem) as u64 + len * self.element_size(elem) as u64)
    }

    /// Total shallow size of `count` arrays whose lengths add up to `elements`, given how many
    /// lengths fall in each residue modulo 8 (padding depends only on that).
    pub fn arrays_size(&self, elem: BasicType, elements: u64, by_len_mod8: &[u64; 8]) -> u64 {
        let base = self.array_base(elem) as u64;
        let e = self.element_size(elem) as u64;
        let count: u64 = by_len_mod8.iter().sum();
        let mut total = count * base + elements * e;
        for (r, &n) in by_len_mod8.iter().enumerate() {
            let unpadded = base + r as u64 * e;
            total += n * (self.align(unpadded) - unpadded);
        }
        total
    }

    fn uses_field_layout_builder(&self) -> bool {
        self.jdk_feature >= 15
    }
}

/// Instance and mirror sizes of every class of a dump under one model.
#[derive(Clone, Debug)]
pub struct ClassSizes {
    /// Shallow size of an instance (for array classes: 0, arrays are sized by length).
    pub instance: Vec<u32>,
    /// Size of the class's `java.lang.Class` mirror (with its static fields).
    pub mirror: Vec<u32>,
    /// Size of a `java.lang.Class` instance without statics (primitive and array mirrors).
    pub class_instance: u32,
}

/// Per-class layout state that subclasses build on.
#[derive(Clone, Default)]
struct ClassLayout {
    /// JDK 15+: occupied (offset, size) blocks of all instance fields, sorted by offset.
    blocks: Vec<(u32, u32)>,
    /// JDK 15+: the class or a superclass had `@Contended` fields.
    contended: bool,
    /// JDK 6-14: instance field area in reference-size units after the header.
    nonstatic_field_size: u32,
    instance_size: u32,
    /// JDK 6-14: the offset of the class's own field of each [`category`] that has exactly one.
    unique_offsets: [Option<u32>; 5],
    done: bool,
}

/// The field classes HotSpot's pre-JDK-15 layout places together: longs and doubles, ints and
/// floats, shorts and chars, bytes and booleans, references.
fn category(ty: BasicType) -> usize {
    match ty {
        BasicType::Object => 4,
        t => match t.java_size() {
            Some(8) => 0,
            Some(4) => 1,
            Some(2) => 2,
            _ => 3,
        },
    }
}

/// A field offset the JVM itself recorded (a `static long xOffset` that JDK classes fill from
/// `Unsafe.objectFieldOffset`): evidence of the layout, compared with what a model predicts.
#[derive(Clone, Copy, Debug)]
pub struct OffsetProbe {
    pub class: ClassIndex,
    /// The field's [`category`] (by type), which it must be alone in among the class's fields.
    pub category: usize,
    pub offset: u64,
}

impl OffsetProbe {
    pub fn new(class: ClassIndex, ty: BasicType, offset: u64) -> OffsetProbe {
        OffsetProbe {
            class,
            category: category(ty),
            offset,
        }
    }
}

/// A field as the layout sees it: its size (and so alignment) and whether it is a reference.
#[derive(Clone, Copy, Debug)]
struct LField {
    size: u32,
    oop: bool,
    /// `@Contended` group (0 = none; each distinct value is its own group).
    group: u32,
}

pub fn compute_sizes(
    model: &LayoutModel,
    classes: &ClassTable<'_>,
    dir: &Directory<'_>,
) -> ClassSizes {
    compute_sizes_probed(model, classes, dir, &[]).0
}

/// [`compute_sizes`], and for each of the JVM's recorded field offsets whether the model
/// predicts it (`None`: the model cannot place that field alone).
pub fn compute_sizes_probed(
    model: &LayoutModel,
    classes: &ClassTable<'_>,
    dir: &Directory<'_>,
    probes: &[OffsetProbe],
) -> (ClassSizes, Vec<Option<bool>>) {
    let n = classes.len();
    let mut layouts: Vec<ClassLayout> = vec![ClassLayout::default(); n];
    let mut instance = vec![0u32; n];
    for i in 0..n {
        compute_layout(model, classes, dir, i as ClassIndex, &mut layouts);
        instance[i] = if classes.classes[i].is_array() {
            0
        } else {
            layouts[i].instance_size
        };
    }
    let class_instance = classes
        .find("java.lang.Class")
        .map(|c| layouts[c as usize].instance_size)
        .unwrap_or_else(|| {
            // No java.lang.Class in the dump: the usual JDK 11-25 size.
            if model.compressed_oops {
                96
            } else {
                120
            }
        });
    let ids = dir.id_size();
    let mirror = (0..n)
        .map(|i| {
            let c = &classes.classes[i];
            let mut oops = 0u32;
            let mut prims: Vec<u32> = vec![];
            for s in c.dump.statics() {
                let synthetic = dir
                    .strings
                    .get(&s.name_id)
                    .map(|b| b.first() == Some(&b'<'))
                    .unwrap_or(false);
                if synthetic {
                    continue;
                }
                match s.ty.java_size() {
                    None => oops += 1,
                    Some(sz) => prims.push(sz),
                }
            }
            let _ = ids;
            prims.sort_unstable_by(|a, b| b.cmp(a));
            let mut off = class_instance + oops * model.oop_size();
            for sz in prims {
                off = off.div_ceil(sz) * sz + sz;
            }
            model.align(off as u64) as u32
        })
        .collect();
    let matched = probes
        .iter()
        .map(|p| {
            layouts
                .get(p.class as usize)
                .and_then(|l| l.unique_offsets.get(p.category).copied().flatten())
                .map(|o| u64::from(o) == p.offset)
        })
        .collect();
    (
        ClassSizes {
            instance,
            mirror,
            class_instance,
        },
        matched,
    )
}

fn field_name<'d>(dir: &Directory<'d>, id: u64) -> &'d [u8] {
    dir.strings.get(&id).copied().unwrap_or(b"")
}

fn compute_layout(
    model: &LayoutModel,
    classes: &ClassTable<'_>,
    dir: &Directory<'_>,
    i: ClassIndex,
    layouts: &mut [ClassLayout],
) {
    // Iterative over the superclass chain: deep hierarchies must not recurse.
    let chain: Vec<ClassIndex> = classes
        .ancestry(i)
        .take_while(|&c| !layouts[c as usize].done)
        .collect();
    for &c in chain.iter().rev() {
        let info = &classes.classes[c as usize];
        let sup = if info.super_index == NO_CLASS {
            None
        } else {
            Some(layouts[info.super_index as usize].clone())
        };
        let bootstrap = info.loader_id == 0;
        let mut fields: Vec<LField> = info
            .dump
            .fields()
            .map(|f| {
                let name = field_name(dir, f.name_id);
                let group = if bootstrap {
                    contended_group(model.jdk_feature, &info.name, name)
                } else {
                    0
                };
                LField {
                    size: f.ty.java_size().unwrap_or(model.oop_size()),
                    oop: f.ty == BasicType::Object,
                    group,
                }
            })
            .collect();
        if bootstrap {
            // Injected only when the class does not declare the field itself (`may_be_java`,
            // and fields that later releases moved into Java code).
            let declared: Vec<&[u8]> = info
                .dump
                .fields()
                .map(|f| field_name(dir, f.name_id))
                .collect();
            for &(ty, name) in injected_fields(model.jdk_feature, &info.name) {
                if declared.contains(&name.as_bytes()) {
                    continue;
                }
                fields.push(LField {
                    size: ty.java_size().unwrap_or(model.oop_size()),
                    oop: ty == BasicType::Object,
                    group: 0,
                });
            }
        }
        let class_contended = bootstrap && contended_class(model.jdk_feature, &info.name);
        let hard_coded = bootstrap && HARD_CODED_OFFSET_CLASSES.contains(&info.name.as_str());
        let l = if model.uses_field_layout_builder() {
            layout_new(model, sup.as_ref(), &fields, class_contended)
        } else {
            layout_old(model, sup.as_ref(), &fields, class_contended, hard_coded)
        };
        if std::env::var("OOMSLEUTH_DEBUG_LAYOUT")
            .map(|v| v == info.name)
            .unwrap_or(false)
        {
            let names: Vec<String> = info
                .dump
                .fields()
                .map(|f| {
                    format!(
                        "{}:{:?}",
                        String::from_utf8_lossy(field_name(dir, f.name_id)),
                        f.ty
                    )
                })
                .collect();
            eprintln!(
                "{} fields {:?} -> size {} blocks {:?}",
                info.name, names, l.instance_size, l.blocks
            );
        }
        layouts[c as usize] = l;
    }
}

// ---------------------------------------------------------------------------------------------
// JDK 15+: FieldLayoutBuilder.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Reserved,
    Occupied,
    Empty,
    Padding,
}

#[derive(Clone, Copy, Debug)]
struct Block {
    kind: Kind,
    offset: u32,
    size: u32,
}

const INT_MAX: u32 = i32::MAX as u32;

struct RawLayout {
    blocks: Vec<Block>,
    /// Index of the `_start` block.
    start: usize,
}

impl RawLayout {
    fn last(&self) -> usize {
        self.blocks.len() - 1
    }

    fn fits(b: &Block, size: u32, align: u32) -> bool {
        let adj = if !b.offset.is_multiple_of(align) {
            align - b.offset % align
        } else {
            0
        };
        b.size >= size + adj
    }

    /// `FieldLayout::insert`: puts `size` bytes of `kind` at the start of empty block `slot`;
    /// returns the new index of `slot`.
    fn insert(&mut self, slot: usize, kind: Kind, size: u32) -> usize {
        let off = self.blocks[slot].offset;
        self.blocks[slot].offset += size;
        self.blocks[slot].size -= size;
        self.blocks.insert(
            slot,
            Block {
                kind,
                offset: off,
                size,
            },
        );
        if self.start >= slot {
            self.start += 1;
        }
        slot + 1
    }

    /// `FieldLayout::insert_field_block`.
    fn insert_field(&mut self, slot: usize, size: u32, align: u32) {
        let mut slot = slot;
        let off = self.blocks[slot].offset;
        if !off.is_multiple_of(align) {
            slot = self.insert(slot, Kind::Empty, align - off % align);
        }
        slot = self.insert(slot, Kind::Occupied, size);
        if self.blocks[slot].size == 0 && slot != self.last() {
            self.blocks.remove(slot);
            if self.start > slot {
                self.start -= 1;
            }
        }
    }

    /// `FieldLayout::add`: each field into the smallest fitting hole after `start`, else at the
    /// end. `start` is the `_start` block unless given.
    fn add(&mut self, fields: &[u32], start_at_last: bool) {
        let mut last_size = 0;
        let mut last_search_success = false;
        for &size in fields {
            let align = size;
            let candidate;
            // HotSpot's FieldLayout::add: the end of the layout when told so, when the layout is
            // empty, or when the last search for a field of this size found no hole.
            if start_at_last
                || self.start == self.last()
                || (size == last_size && !last_search_success)
            {
                candidate = self.last();
            } else {
                last_size = size;
                last_search_success = true;
                let mut best: Option<usize> = None;
                let mut cursor = self.last() - 1;
                while cursor != self.start {
                    let b = &self.blocks[cursor];
                    if b.kind == Kind::Empty
                        && Self::fits(b, size, align)
                        && best.is_none_or(|c| b.size < self.blocks[c].size)
                    {
                        best = Some(cursor);
                    }
                    if cursor == 0 {
                        break;
                    }
                    cursor -= 1;
                }
                candidate = match best {
                    Some(c) => c,
                    None => {
                        last_search_success = false;
                        self.last()
                    }
                };
            }
            self.insert_field(candidate, size, align);
        }
    }
}

fn layout_new(
    model: &LayoutModel,
    sup: Option<&ClassLayout>,
    fields: &[LField],
    class_contended: bool,
) -> ClassLayout {
    let mut raw = RawLayout {
        blocks: vec![Block {
            kind: Kind::Reserved,
            offset: 0,
            size: model.header_size(),
        }],
        start: 0,
    };
    let mut contended = class_contended || fields.iter().any(|f| f.group != 0);
    match sup {
        None => raw.blocks.push(Block {
            kind: Kind::Empty,
            offset: model.header_size(),
            size: INT_MAX,
        }),
        Some(s) => {
            // reconstruct_layout + fill_holes: holes between inherited fields become empty
            // blocks (padding if the superclass is @Contended) that our fields may fill.
            let fill = if s.contended {
                Kind::Padding
            } else {
                Kind::Empty
            };
            let mut end = model.header_size();
            for &(off, size) in &s.blocks {
                if off > end {
                    raw.blocks.push(Block {
                        kind: fill,
                        offset: end,
                        size: off - end,
                    });
                }
                raw.blocks.push(Block {
                    kind: Kind::Occupied,
                    offset: off,
                    size,
                });
                end = end.max(off + size);
            }
            if s.contended {
                raw.blocks.push(Block {
                    kind: Kind::Padding,
                    offset: end,
                    size: CONTENDED_PADDING,
                });
                end += CONTENDED_PADDING;
            }
            raw.blocks.push(Block {
                kind: Kind::Empty,
                offset: end,
                size: INT_MAX,
            });
            contended |= s.contended;
        }
    }
    raw.start = 0;
    let mut need_tail_padding = false;
    if class_contended {
        raw.start = raw.last();
        let last = raw.last();
        raw.insert(last, Kind::Padding, CONTENDED_PADDING);
        need_tail_padding = true;
    }
    let sorted = |oop: bool, group: u32| -> Vec<u32> {
        let mut v: Vec<u32> = fields
            .iter()
            .filter(|f| f.oop == oop && f.group == group)
            .map(|f| f.size)
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    };
    raw.add(&sorted(false, 0), false);
    raw.add(&sorted(true, 0), false);
    let mut groups: Vec<u32> = fields.iter().map(|f| f.group).filter(|&g| g != 0).collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        let last = raw.last();
        raw.insert(last, Kind::Padding, CONTENDED_PADDING);
        raw.add(&sorted(false, g), true);
        raw.add(&sorted(true, g), true);
        need_tail_padding = true;
    }
    if need_tail_padding {
        let last = raw.last();
        raw.insert(last, Kind::Padding, CONTENDED_PADDING);
    }
    let end = raw.blocks[raw.last()].offset;
    let blocks = raw
        .blocks
        .iter()
        .filter(|b| b.kind == Kind::Occupied)
        .map(|b| (b.offset, b.size))
        .collect();
    ClassLayout {
        blocks,
        contended,
        nonstatic_field_size: 0,
        instance_size: model.align(end as u64) as u32,
        unique_offsets: [None; 5],
        done: true,
    }
}

// ---------------------------------------------------------------------------------------------
// JDK 6-14: ClassFileParser::layout_fields.

fn layout_old(
    model: &LayoutModel,
    sup: Option<&ClassLayout>,
    fields: &[LField],
    class_contended: bool,
    hard_coded: bool,
) -> ClassLayout {
    let oop = model.oop_size();
    let super_size = sup.map(|s| s.nonstatic_field_size).unwrap_or(0);
    let first = model.header_size() + super_size * oop;
    let mut next = first;
    if class_contended {
        next += CONTENDED_PADDING;
    }
    let regular = |f: &&LField| f.group == 0;
    let count = |size: u32, is_oop: bool| {
        fields
            .iter()
            .filter(regular)
            .filter(|f| f.oop == is_oop && f.size == size)
            .count() as u32
    };
    let mut doubles = count(8, false);
    let mut words = count(4, false);
    let mut shorts = count(2, false);
    let mut bytes = count(1, false);
    let mut oops = fields.iter().filter(regular).filter(|f| f.oop).count() as u32;
    let initial = [doubles, words, shorts, bytes, oops];
    // Where the first field of each category went when it filled the gap before the longs.
    let mut in_gap: [Option<u32>; 5] = [None; 5];
    // Hard-coded-offset JDK classes: references first, no gap filling.
    let (style0, compact) = if hard_coded {
        (true, false)
    } else {
        (false, true)
    };
    let mut next_oop;
    let mut next_double;
    if style0 {
        next_oop = next;
        next_double = next_oop + oops * oop;
    } else {
        next_oop = 0;
        next_double = next;
    }
    if doubles > 0 {
        let offset = next_double;
        next_double = offset.div_ceil(8) * 8;
        if compact && offset != next_double {
            let mut length = next_double - offset;
            let mut at = offset;
            if words > 0 {
                in_gap[1] = Some(at);
                words -= 1;
                length -= 4;
                at += 4;
            }
            while length >= 2 && shorts > 0 {
                in_gap[2].get_or_insert(at);
                shorts -= 1;
                length -= 2;
                at += 2;
            }
            while length > 0 && bytes > 0 {
                in_gap[3].get_or_insert(at);
                bytes -= 1;
                length -= 1;
                at += 1;
            }
            if length >= oop && oops > 0 && !style0 {
                in_gap[4] = Some(at);
                oops -= 1;
            }
        }
    }
    let next_word = next_double + doubles * 8;
    let next_short = next_word + words * 4;
    let next_byte = next_short + shorts * 2;
    let mut padded = next_byte + bytes;
    if !style0 {
        next_oop = padded;
        if oops > 0 {
            next_oop = next_oop.div_ceil(oop) * oop;
        }
        padded = next_oop + oops * oop;
    }
    let _ = &mut doubles;
    let starts = [next_double, next_word, next_short, next_byte, next_oop];
    let unique_offsets: [Option<u32>; 5] =
        std::array::from_fn(|k| (initial[k] == 1).then(|| in_gap[k].unwrap_or(starts[k])));
    // @Contended fields: each group padded before, fields in size order.
    let mut groups: Vec<u32> = fields.iter().map(|f| f.group).filter(|&g| g != 0).collect();
    groups.sort_unstable();
    groups.dedup();
    for g in &groups {
        // Each group is padded before and after (`ContendedPaddingWidth`).
        padded += CONTENDED_PADDING;
        let mut sizes: Vec<(u32, bool)> = fields
            .iter()
            .filter(|f| f.group == *g)
            .map(|f| (f.size, f.oop))
            .collect();
        sizes.sort_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        for (s, _) in sizes {
            padded = padded.div_ceil(s) * s + s;
        }
        padded += CONTENDED_PADDING;
    }
    if class_contended {
        padded += CONTENDED_PADDING;
    }
    let end = padded;
    let nonstatic_end = end.div_ceil(oop) * oop;
    ClassLayout {
        blocks: vec![],
        contended: class_contended || !groups.is_empty(),
        nonstatic_field_size: super_size + (nonstatic_end - first) / oop,
        instance_size: model.align(end as u64) as u32,
        unique_offsets,
        done: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(size: u32, oop: bool) -> LField {
        LField {
            size,
            oop,
            group: 0,
        }
    }

    #[test]
    fn new_layout_fills_header_gap() {
        let m = LayoutModel::hotspot(17, true);
        let obj = layout_new(&m, None, &[], false);
        assert_eq!(obj.instance_size, 16);
        // long + int: int goes into the 4-byte gap after the 12-byte header.
        let a = layout_new(&m, Some(&obj), &[f(8, false), f(4, false)], false);
        assert_eq!(a.instance_size, 24);
        // super ends with a byte; subclass int fills the hole after it (JDK 15+).
        let b1 = layout_new(&m, Some(&obj), &[f(1, false)], false);
        assert_eq!(b1.instance_size, 16);
        let b2 = layout_new(&m, Some(&b1), &[f(1, false), f(2, false)], false);
        assert_eq!(b2.instance_size, 16, "{:?}", b2.blocks);
    }

    #[test]
    fn old_layout_rounds_superclass_fields() {
        let m = LayoutModel::hotspot(11, true);
        let obj = layout_old(&m, None, &[], false, false);
        assert_eq!(obj.instance_size, 16);
        let b1 = layout_old(&m, Some(&obj), &[f(1, false)], false, false);
        assert_eq!(b1.instance_size, 16);
        // The subclass starts at 16 (12 + 1 rounded to 4): 16 + 1 + 1 + 2 -> 24.
        let b2 = layout_old(
            &m,
            Some(&b1),
            &[f(1, false), f(1, false), f(2, false)],
            false,
            false,
        );
        assert_eq!(b2.instance_size, 24);
        let a = layout_old(&m, Some(&obj), &[f(8, false), f(4, false)], false, false);
        assert_eq!(a.instance_size, 24);
    }

    /// An `AtomicInteger`: its one int right after the header (what `valueOffset` records) on
    /// each layout; a long after a 12-byte header leaves the gap to the int.
    #[test]
    fn old_layout_places_lone_fields_where_the_jvm_records_them() {
        let int = LField {
            size: 4,
            oop: false,
            group: 0,
        };
        for (m, at) in [
            (LayoutModel::hotspot_32bit(6), 8),
            (LayoutModel::hotspot(6, true), 12),
            (LayoutModel::hotspot(6, false), 16),
        ] {
            let obj = layout_old(&m, None, &[], false, false);
            let l = layout_old(&m, Some(&obj), &[int], false, false);
            assert_eq!(
                l.unique_offsets[category(BasicType::Int)],
                Some(at),
                "{m:?}"
            );
            assert_eq!(l.unique_offsets[category(BasicType::Long)], None);
        }
        let m = LayoutModel::hotspot(8, true);
        let obj = layout_old(&m, None, &[], false, false);
        let l = layout_old(
            &m,
            Some(&obj),
            &[f(8, false), int, f(4, true)],
            false,
            false,
        );
        assert_eq!(l.unique_offsets, [Some(16), Some(12), None, None, Some(24)]);
    }

    #[test]
    fn arrays() {
        let m = LayoutModel::hotspot(17, true);
        assert_eq!(m.array_size(BasicType::Byte, 0), 16);
        assert_eq!(m.array_size(BasicType::Byte, 1), 24);
        assert_eq!(m.array_size(BasicType::Object, 3), 32);
        let big = LayoutModel {
            jdk_feature: 11,
            compressed_oops: false,
            compressed_class_pointers: false,
            object_alignment: 8,
            word_size: 8,
        };
        assert_eq!(big.array_size(BasicType::Int, 1), 32);
        assert_eq!(big.array_size(BasicType::Object, 1), 32);
        let mut by = [0u64; 8];
        by[1] = 2;
        by[0] = 1;
        assert_eq!(m.arrays_size(BasicType::Byte, 2 + 8, &by), 24 + 24 + 24);
    }
}
