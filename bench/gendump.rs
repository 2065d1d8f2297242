//! Writes a realistic HotSpot heap dump of any size, without a JVM, at disk speed.
//!
//! ```text
//! cargo run --release --example gendump -- --size 40G --seed 1 -o target/bench/gen-40g.hprof
//! ```
//!
//! The dump is what `jmap -dump` (no `:live`) of a JDK 17 service with compressed oops would write:
//! HPROF 1.0.2, 8-byte ids that are the objects' addresses, STRING and LOAD CLASS records, one stack
//! trace per thread, CLASS DUMPs for the JDK and application classes (with the field layouts of
//! JDK 17: `java.lang.String` is 24 bytes, `HashMap$Node` 32), then the objects in address order in
//! heap dump segments, the GC roots last, and HEAP DUMP END. The heap is an order service's:
//! customers shared by orders, an order cache, web sessions (some without a user), request threads
//! with locals on their stacks, unreachable garbage, and one planted leak, seed 5's shape: a
//! registry `ip -> set of connections` whose `$UNKNOWN` set only grows.
//!
//! Next to the dump, `DUMP.manifest.json` records what was written: per class the instances and
//! the shallow bytes the JVM would report, the planted leak's holder, container, element class,
//! count and exact retained bytes, and the planted sessions without a user. `tests/gendump.rs`
//! checks on small sizes that oomsleuth reads back exactly that.
//!
//! Standard library only: this is an independent writer, not a second copy of oomsleuth's reader.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Instant;

const HEADER_BYTES: u64 = 12; // mark word + compressed class pointer
const HEAP_BASE: u64 = 0x0000_0006_0000_0000;

/// HPROF basic types, with their codes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Obj,
    Bool,
    Char,
    Float,
    Double,
    Byte,
    Short,
    Int,
    Long,
}

impl Ty {
    fn code(self) -> u8 {
        match self {
            Ty::Obj => 2,
            Ty::Bool => 4,
            Ty::Char => 5,
            Ty::Float => 6,
            Ty::Double => 7,
            Ty::Byte => 8,
            Ty::Short => 9,
            Ty::Int => 10,
            Ty::Long => 11,
        }
    }
    /// Bytes of a value in the dump (references are ids).
    fn dump_size(self) -> u64 {
        match self {
            Ty::Obj | Ty::Double | Ty::Long => 8,
            Ty::Int | Ty::Float => 4,
            Ty::Char | Ty::Short => 2,
            Ty::Bool | Ty::Byte => 1,
        }
    }
    /// Bytes of a field in the JVM's heap with compressed oops.
    fn heap_size(self, ref_size: u64) -> u64 {
        match self {
            Ty::Obj => ref_size,
            t => t.dump_size(),
        }
    }
    fn array_name(self) -> &'static str {
        match self {
            Ty::Bool => "[Z",
            Ty::Char => "[C",
            Ty::Float => "[F",
            Ty::Double => "[D",
            Ty::Byte => "[B",
            Ty::Short => "[S",
            Ty::Int => "[I",
            Ty::Long => "[J",
            Ty::Obj => "[Ljava/lang/Object;",
        }
    }
}

/// A field value as written in an instance dump.
#[derive(Clone, Copy)]
enum V {
    Ref(u64),
    I(i64),
}

/// JDK 15+ field layout: the superclass's fields stay where they are and its holes may be
/// filled; primitives go largest first, then references, each at the first hole that holds it
/// aligned, else at the end.
#[derive(Clone, Default)]
struct Layout {
    end: u64,
    holes: Vec<(u64, u64)>,
}

impl Layout {
    fn object() -> Layout {
        Layout {
            end: HEADER_BYTES,
            holes: Vec::new(),
        }
    }

    fn extend(&self, fields: &[Ty], ref_size: u64) -> Layout {
        let mut l = self.clone();
        let mut sizes: Vec<(u64, bool)> = fields
            .iter()
            .map(|&t| (t.heap_size(ref_size), t == Ty::Obj))
            .collect();
        // Primitives by size descending, then references (stable).
        sizes.sort_by_key(|&(s, is_ref)| (is_ref, std::cmp::Reverse(s)));
        for (size, _) in sizes {
            l.place(size);
        }
        l
    }

    fn place(&mut self, size: u64) {
        for i in 0..self.holes.len() {
            let (start, len) = self.holes[i];
            let at = start.div_ceil(size) * size;
            if at + size <= start + len {
                self.holes.remove(i);
                if at > start {
                    self.holes.insert(i, (start, at - start));
                }
                if at + size < start + len {
                    let j = if at > start { i + 1 } else { i };
                    self.holes.insert(j, (at + size, start + len - at - size));
                }
                return;
            }
        }
        let at = self.end.div_ceil(size) * size;
        if at > self.end {
            self.holes.push((self.end, at - self.end));
        }
        self.end = at + size;
    }

    fn instance_size(&self) -> u64 {
        self.end.div_ceil(8) * 8
    }
}

struct Class {
    name: String,
    id: u64,
    super_id: u64,
    loader: u64,
    /// Declared instance fields (name, type), in declaration order.
    fields: Vec<(&'static str, Ty)>,
    statics: Vec<(&'static str, Ty, V)>,
    layout: Layout,
    /// Field types of the instance dump, own class first then superclasses.
    dump_types: Vec<Ty>,
    shallow: u64,
}

/// xorshift64*: deterministic from the seed, fast.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Output with 8 MiB of buffer, the heap dump segment open and its length patched when closed.
struct Out {
    file: File,
    buf: Vec<u8>,
    pos: u64,
    segment_start: Option<u64>,
    segment_max: u64,
}

impl Out {
    fn flush(&mut self) {
        self.file.write_all(&self.buf).expect("write");
        self.buf.clear();
    }
    fn u1(&mut self, v: u8) {
        self.buf.push(v);
        self.pos += 1;
    }
    fn u4(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self.pos += 4;
    }
    fn u8(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self.pos += 8;
    }
    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.pos += b.len() as u64;
        if self.buf.len() >= 8 << 20 {
            self.flush();
        }
    }
    fn record(&mut self, tag: u8, body: &[u8]) {
        self.close_segment();
        self.u1(tag);
        self.u4(0);
        self.u4(body.len() as u32);
        self.bytes(body);
    }
    /// Makes sure a heap dump segment is open with room to grow; call before each sub-record.
    fn in_segment(&mut self) {
        if let Some(start) = self.segment_start {
            if self.pos - start < self.segment_max {
                return;
            }
            self.close_segment();
        }
        self.segment_start = Some(self.pos);
        self.u1(0x1C);
        self.u4(0);
        self.u4(0); // patched
        if self.buf.len() >= 8 << 20 {
            self.flush();
        }
    }
    fn close_segment(&mut self) {
        let Some(start) = self.segment_start.take() else {
            return;
        };
        let len = self.pos - start - 9;
        let buffered_from = self.pos - self.buf.len() as u64;
        if start + 5 >= buffered_from {
            let at = (start + 5 - buffered_from) as usize;
            self.buf[at..at + 4].copy_from_slice(&(len as u32).to_be_bytes());
        } else {
            self.flush();
            self.file.seek(SeekFrom::Start(start + 5)).expect("seek");
            self.file
                .write_all(&(len as u32).to_be_bytes())
                .expect("write");
            self.file.seek(SeekFrom::Start(self.pos)).expect("seek");
        }
    }
}

/// Per class: instances written and their shallow bytes in the JVM.
#[derive(Clone, Copy, Default)]
struct Tally {
    instances: u64,
    shallow: u64,
}

/// A `HashMap` whose nodes are written as they are put (each chain grows at its head) and whose
/// table is written when the map is closed. The map object's address is taken when the map is
/// made, so statics can name it before it is written.
struct MapBuild {
    addr: u64,
    heads: Vec<u64>,
    size: u64,
}

struct Gen {
    out: Out,
    rng: Rng,
    next_addr: u64,
    next_string_id: u64,
    strings: BTreeMap<String, u64>,
    classes: Vec<Class>,
    by_name: BTreeMap<String, usize>,
    /// Indexed like `classes` (array classes count their arrays).
    tally: Vec<Tally>,
    objects: u64,
    roots: Vec<(u8, u64, u32, u32)>,
    ref_size: u64,
    /// The array class of each primitive type.
    primitive_classes: Vec<(Ty, usize)>,
}

/// Class indexes used while writing objects.
struct K {
    object: usize,
    string: usize,
    integer: usize,
    long: usize,
    array_list: usize,
    hash_map: usize,
    node: usize,
    hash_set: usize,
    thread: usize,
    app_loader: usize,
    order: usize,
    line_item: usize,
    customer: usize,
    session: usize,
    connection: usize,
    object_array: usize,
    node_array: usize,
}

impl Gen {
    fn alloc(&mut self, size: u64) -> u64 {
        let a = self.next_addr;
        self.next_addr += size;
        a
    }

    fn string_id(&mut self, s: &str) -> u64 {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        self.next_string_id += 1;
        let id = self.next_string_id;
        self.strings.insert(s.to_string(), id);
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(s.as_bytes());
        self.out.record(0x01, &body);
        id
    }

    fn count(&mut self, class: usize, shallow: u64) {
        let t = &mut self.tally[class];
        t.instances += 1;
        t.shallow += shallow;
        self.objects += 1;
    }

    fn define(
        &mut self,
        name: &str,
        super_name: Option<&str>,
        fields: &[(&'static str, Ty)],
        statics: Vec<(&'static str, Ty, V)>,
    ) -> usize {
        let (super_id, super_layout, super_types) = match super_name {
            Some(s) => {
                let c = &self.classes[self.by_name[s]];
                (c.id, c.layout.clone(), c.dump_types.clone())
            }
            None => (0, Layout::object(), Vec::new()),
        };
        let types: Vec<Ty> = fields.iter().map(|f| f.1).collect();
        // HotSpot injects fields the dump does not show: ClassLoader's `loader_data` pointer.
        let mut laid_out = types.clone();
        if name == "java.lang.ClassLoader" {
            laid_out.push(Ty::Long);
        }
        let layout = super_layout.extend(&laid_out, self.ref_size);
        let mut dump_types = types;
        dump_types.extend(super_types);
        let serial = self.classes.len() as u32 + 1;
        let id = self.alloc(96); // the class mirror (Class objects are not in the manifest)
        let index = self.classes.len();
        self.classes.push(Class {
            name: name.to_string(),
            id,
            super_id,
            loader: 0,
            fields: fields.to_vec(),
            statics,
            shallow: layout.instance_size(),
            layout,
            dump_types,
        });
        self.tally.push(Tally::default());
        self.by_name.insert(name.to_string(), index);
        let name_id = self.string_id(&name.replace('.', "/"));
        let mut body = Vec::with_capacity(24);
        body.extend_from_slice(&serial.to_be_bytes());
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&name_id.to_be_bytes());
        self.out.record(0x02, &body);
        index
    }

    fn array_class(&mut self, name: &str) -> usize {
        let i = self.define(name, Some("java.lang.Object"), &[], Vec::new());
        self.classes[i].shallow = 0;
        i
    }

    fn write_class_dumps(&mut self) {
        // Every name first: a STRING record between two class dumps would end the segment.
        for i in 0..self.classes.len() {
            let names: Vec<&'static str> = self.classes[i]
                .fields
                .iter()
                .map(|f| f.0)
                .chain(self.classes[i].statics.iter().map(|s| s.0))
                .collect();
            for n in names {
                self.string_id(n);
            }
        }
        for i in 0..self.classes.len() {
            let names: Vec<&'static str> = self.classes[i]
                .fields
                .iter()
                .map(|f| f.0)
                .chain(self.classes[i].statics.iter().map(|s| s.0))
                .collect();
            let name_ids: Vec<u64> = names.into_iter().map(|n| self.string_id(n)).collect();
            let c = &self.classes[i];
            let mut b = Vec::with_capacity(128);
            b.push(0x20);
            b.extend_from_slice(&c.id.to_be_bytes());
            b.extend_from_slice(&0u32.to_be_bytes());
            b.extend_from_slice(&c.super_id.to_be_bytes());
            b.extend_from_slice(&c.loader.to_be_bytes());
            b.extend_from_slice(&[0u8; 32]); // signers, protection domain, reserved x2
            let inst: u64 = c.dump_types.iter().map(|t| t.dump_size()).sum();
            b.extend_from_slice(&(inst as u32).to_be_bytes());
            b.extend_from_slice(&0u16.to_be_bytes());
            b.extend_from_slice(&(c.statics.len() as u16).to_be_bytes());
            let nf = c.fields.len();
            for (k, &(_, t, v)) in c.statics.iter().enumerate() {
                b.extend_from_slice(&name_ids[nf + k].to_be_bytes());
                b.push(t.code());
                put_value(&mut b, t, v);
            }
            b.extend_from_slice(&(nf as u16).to_be_bytes());
            for (k, &(_, t)) in c.fields.iter().enumerate() {
                b.extend_from_slice(&name_ids[k].to_be_bytes());
                b.push(t.code());
            }
            self.out.in_segment();
            self.out.bytes(&b);
        }
    }

    /// An instance; `values` in dump order (own fields first, then the superclasses').
    fn instance(&mut self, class: usize, addr: u64, values: &[V]) {
        let c = &self.classes[class];
        assert_eq!(values.len(), c.dump_types.len(), "{}", c.name);
        let mut b = [0u8; 256];
        let mut n = 0;
        for (&t, &v) in c.dump_types.iter().zip(values) {
            n += put_value_at(&mut b[n..], t, v);
        }
        let (id, shallow) = (c.id, c.shallow);
        self.out.in_segment();
        self.out.u1(0x21);
        self.out.u8(addr);
        self.out.u4(0);
        self.out.u8(id);
        self.out.u4(n as u32);
        self.out.bytes(&b[..n]);
        self.count(class, shallow);
    }

    fn new_instance(&mut self, class: usize) -> u64 {
        let size = self.classes[class].shallow;
        self.alloc(size)
    }

    fn primitive_array(&mut self, ty: Ty, len: u64, fill: u8) -> u64 {
        let shallow = (16 + len * ty.dump_size()).div_ceil(8) * 8;
        let addr = self.alloc(shallow);
        self.primitive_array_at(addr, ty, &vec![fill; (len * ty.dump_size()) as usize]);
        addr
    }

    fn primitive_array_at(&mut self, addr: u64, ty: Ty, data: &[u8]) {
        let len = data.len() as u64 / ty.dump_size();
        let shallow = (16 + data.len() as u64).div_ceil(8) * 8;
        self.out.in_segment();
        self.out.u1(0x23);
        self.out.u8(addr);
        self.out.u4(0);
        self.out.u4(len as u32);
        self.out.u1(ty.code());
        self.out.bytes(data);
        let class = self
            .primitive_classes
            .iter()
            .find(|p| p.0 == ty)
            .map(|p| p.1);
        self.count(class.expect("primitive array class"), shallow);
    }

    fn object_array_shallow(&self, len: u64) -> u64 {
        (16 + len * self.ref_size).div_ceil(8) * 8
    }

    fn object_array_at(&mut self, class: usize, addr: u64, elements: &[u64]) {
        let id = self.classes[class].id;
        self.out.in_segment();
        self.out.u1(0x22);
        self.out.u8(addr);
        self.out.u4(0);
        self.out.u4(elements.len() as u32);
        self.out.u8(id);
        for chunk in elements.chunks(4096) {
            for &e in chunk {
                self.out.buf.extend_from_slice(&e.to_be_bytes());
            }
            self.out.pos += 8 * chunk.len() as u64;
            if self.out.buf.len() >= 8 << 20 {
                self.out.flush();
            }
        }
        let shallow = self.object_array_shallow(elements.len() as u64);
        self.count(class, shallow);
    }

    /// A Latin-1 `java.lang.String` of `len` random letters and its `byte[]`.
    fn string(&mut self, k: &K, len: u64) -> u64 {
        let text: Vec<u8> = (0..len).map(|_| b'a' + self.rng.below(26) as u8).collect();
        self.string_of(k, &text)
    }

    fn string_of(&mut self, k: &K, text: &[u8]) -> u64 {
        let s = self.new_instance(k.string);
        let value = self.alloc((16 + text.len() as u64).div_ceil(8) * 8);
        self.primitive_array_at(value, Ty::Byte, text);
        let hash = self.rng.next() as u32 as i32 as i64;
        // value, coder (Latin-1), hash, hashIsZero
        self.instance(k.string, s, &[V::Ref(value), V::I(0), V::I(hash), V::I(0)]);
        s
    }

    fn map(&mut self, k: &K, capacity: u64) -> MapBuild {
        let addr = self.new_instance(k.hash_map);
        MapBuild {
            addr,
            heads: vec![0; capacity as usize],
            size: 0,
        }
    }

    /// Puts a node (key -> value) into the map: the node is written now, at the head of its chain.
    fn put(&mut self, k: &K, m: &mut MapBuild, key: u64, value: u64) -> u64 {
        let hash = self.rng.next() as u32;
        let b = (hash as usize) & (m.heads.len() - 1);
        let node = self.new_instance(k.node);
        let next = m.heads[b];
        self.instance(
            k.node,
            node,
            &[
                V::I(hash as i32 as i64),
                V::Ref(key),
                V::Ref(value),
                V::Ref(next),
            ],
        );
        m.heads[b] = node;
        m.size += 1;
        node
    }

    /// Writes the map's table and then the map object itself.
    fn close_map(&mut self, k: &K, m: MapBuild) -> u64 {
        let table = self.alloc(self.object_array_shallow(m.heads.len() as u64));
        self.object_array_at(k.node_array, table, &m.heads);
        let threshold = (m.heads.len() as u64 * 3 / 4) as i64;
        // HashMap: table, entrySet, size, modCount, threshold, loadFactor; AbstractMap: keySet, values
        self.instance(
            k.hash_map,
            m.addr,
            &[
                V::Ref(table),
                V::Ref(0),
                V::I(m.size as i64),
                V::I(m.size as i64),
                V::I(threshold),
                V::I(0.75f32.to_bits() as i64),
                V::Ref(0),
                V::Ref(0),
            ],
        );
        m.addr
    }

    fn array_list(&mut self, k: &K, elements: &[u64]) -> u64 {
        let capacity = (elements.len() as u64).max(10);
        let mut data = elements.to_vec();
        data.resize(capacity as usize, 0);
        let array = self.alloc(self.object_array_shallow(capacity));
        self.object_array_at(k.object_array, array, &data);
        let list = self.new_instance(k.array_list);
        // ArrayList: elementData, size; AbstractList: modCount
        self.instance(
            k.array_list,
            list,
            &[V::Ref(array), V::I(elements.len() as i64), V::I(1)],
        );
        list
    }

    /// The manifest name of class `i`'s objects: Java names, arrays as `T[]`.
    fn java_name(&self, i: usize) -> String {
        let n = &self.classes[i].name;
        if let Some(&(t, _)) = self.primitive_classes.iter().find(|p| p.1 == i) {
            return primitive_name(t).to_string();
        }
        match n.strip_prefix("[L").and_then(|n| n.strip_suffix(';')) {
            Some(inner) => format!("{}[]", inner.replace('/', ".")),
            None => n.clone(),
        }
    }
}

fn primitive_name(t: Ty) -> &'static str {
    match t {
        Ty::Byte => "byte[]",
        Ty::Char => "char[]",
        Ty::Int => "int[]",
        Ty::Long => "long[]",
        Ty::Bool => "boolean[]",
        Ty::Short => "short[]",
        Ty::Float => "float[]",
        Ty::Double => "double[]",
        Ty::Obj => "java.lang.Object[]",
    }
}

fn put_value(b: &mut Vec<u8>, t: Ty, v: V) {
    let mut tmp = [0u8; 8];
    let n = put_value_at(&mut tmp, t, v);
    b.extend_from_slice(&tmp[..n]);
}

fn put_value_at(b: &mut [u8], t: Ty, v: V) -> usize {
    let raw = match v {
        V::Ref(a) => a,
        V::I(i) => i as u64,
    };
    let n = t.dump_size() as usize;
    b[..n].copy_from_slice(&raw.to_be_bytes()[8 - n..]);
    n
}

struct Args {
    size: u64,
    seed: u64,
    out: PathBuf,
    leak_percent: u64,
    segment_max: u64,
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let m = match s[i..].to_ascii_uppercase().trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                _ => return None,
            };
            (&s[..i], m)
        }
        None => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    Some((n * mult as f64) as u64)
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        size: 1 << 30,
        seed: 1,
        out: PathBuf::from("gen.hprof"),
        leak_percent: 35,
        segment_max: 1 << 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--size" => a.size = parse_size(&val()?).ok_or("--size: e.g. 512M, 40G")?,
            "--seed" => a.seed = val()?.parse().map_err(|_| "--seed: a number")?,
            "-o" | "--output" => a.out = PathBuf::from(val()?),
            "--leak-percent" => {
                a.leak_percent = val()?.parse().map_err(|_| "--leak-percent: 0-90")?
            }
            "--segment" => a.segment_max = parse_size(&val()?).ok_or("--segment: a size")?,
            "-h" | "--help" => {
                return Err("usage: gendump --size SIZE [--seed N] [-o FILE] [--leak-percent P] [--segment SIZE]".into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.leak_percent > 90 {
        return Err("--leak-percent: at most 90".into());
    }
    Ok(a)
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gendump: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let file = File::create(&a.out).unwrap_or_else(|e| {
        eprintln!("gendump: cannot create {}: {e}", a.out.display());
        std::process::exit(1)
    });
    let mut g = Gen {
        out: Out {
            file,
            buf: Vec::with_capacity(9 << 20),
            pos: 0,
            segment_start: None,
            segment_max: a.segment_max.clamp(1 << 16, 1 << 31),
        },
        rng: Rng(a.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        next_addr: HEAP_BASE,
        next_string_id: 0x1000,
        strings: BTreeMap::new(),
        classes: Vec::new(),
        by_name: BTreeMap::new(),
        tally: Vec::new(),
        objects: 0,
        roots: Vec::new(),
        ref_size: 4,
        primitive_classes: Vec::new(),
    };
    let mut header = b"JAVA PROFILE 1.0.2\0".to_vec();
    header.extend_from_slice(&8u32.to_be_bytes());
    header.extend_from_slice(&1_764_547_200_000u64.to_be_bytes());
    g.out.bytes(&header);
    let planted = write_heap(&mut g, &a);
    g.out.close_segment();
    g.out.record(0x2C, &[]);
    g.out.flush();
    let secs = started.elapsed().as_secs_f64();
    let bytes = g.out.pos;
    let mut classes = Vec::new();
    for i in 0..g.classes.len() {
        let t = g.tally[i];
        if t.instances > 0 {
            classes.push(format!(
                "    {{\"name\": {:?}, \"instances\": {}, \"shallow_bytes\": {}}}",
                g.java_name(i),
                t.instances,
                t.shallow
            ));
        }
    }
    let json = format!(
        "{{\n  \"schema\": \"oomsleuth.gendump/1\",\n  \"seed\": {},\n  \"dump_bytes\": {},\n  \"objects\": {},\n  \"class_objects\": {},\n  \"seconds\": {:.2},\n{}  \"classes\": [\n{}\n  ]\n}}\n",
        a.seed,
        bytes,
        g.objects,
        g.classes.len(),
        secs,
        planted,
        classes.join(",\n")
    );
    let mpath = PathBuf::from(format!("{}.manifest.json", a.out.display()));
    std::fs::write(&mpath, json).expect("write manifest");
    eprintln!(
        "gendump: {} bytes, {} objects in {:.1} s ({:.0} MB/s) -> {}",
        bytes,
        g.objects,
        secs,
        bytes as f64 / secs / 1e6,
        a.out.display()
    );
}

/// The parts of the heap, each filling its share of the dump.
const LEAK: usize = 0;
const ORDERS: usize = 1;
const SESSIONS: usize = 2;
const GARBAGE: usize = 3;

/// Defines the classes, writes the heap, returns the manifest's planted-leak and facts lines.
fn write_heap(g: &mut Gen, a: &Args) -> String {
    let k = define_classes(g);
    for t in 0..32u32 {
        frames(g, t + 1, 100 + t);
    }
    let target = a.size.max(1 << 20);
    // Rough dump bytes per unit of each part, to size the hash tables up front.
    let leak_est = (target * a.leak_percent / 100 / 330).max(16);
    let orders_est = (target * (100 - a.leak_percent) * 30 / 65 / 100 / 1400).max(16);
    let sessions_est = (target * (100 - a.leak_percent) * 20 / 65 / 100 / 700).max(16);
    // Objects that statics name are placed first, so the class dumps can be written now.
    let loader = g.new_instance(k.app_loader);
    let present = g.new_instance(k.object);
    let version = g.string_of(&k, b"17.0.15");
    let mut leak = g.map(&k, pow2_for(leak_est));
    let leak_set = g.new_instance(k.hash_set);
    let mut by_ip = g.map(&k, 64);
    let mut order_cache = g.map(&k, pow2_for(orders_est / 3));
    let mut sessions = g.map(&k, pow2_for(sessions_est));
    for (class, field, value) in [
        ("com.example.net.ConnectionRegistry", "byIp", by_ip.addr),
        ("com.example.order.OrderCache", "byId", order_cache.addr),
        ("com.example.web.SessionManager", "sessions", sessions.addr),
        ("java.util.HashSet", "PRESENT", present),
        ("java.lang.VersionProps", "java_version", version),
    ] {
        set_static(g, class, field, value);
    }
    for c in g.classes.iter_mut() {
        if c.name.starts_with("com.example.") {
            c.loader = loader;
        }
    }
    g.write_class_dumps();
    g.instance(k.object, present, &[]);
    let unknown = g.string_of(&k, b"$UNKNOWN"); // the ip of every connection that lost it
    let customers: Vec<u64> = (0..(target / 200_000).clamp(64, 5_000_000))
        .map(|i| customer(g, &k, i))
        .collect();
    let mut small_sets: Vec<(u64, MapBuild)> = (0..8)
        .map(|_| {
            let ip = g.string(&k, 12);
            (ip, g.map(&k, 16))
        })
        .collect();
    let (mut leak_count, mut leak_bytes) = (0u64, 0u64);
    let (mut null_users, mut sessions_total) = (0u64, 0u64);
    let mut recent: Vec<u64> = Vec::new();
    let start = g.out.pos;
    let mut written = [0u64; 4];
    // The rest split as 30 : 20 : 15 between orders, sessions and garbage.
    let rest = 100 - a.leak_percent;
    let shares = [
        a.leak_percent,
        rest * 30 / 65,
        rest * 20 / 65,
        rest - rest * 50 / 65,
    ];
    let mut next_report = 1u64 << 30;
    while g.out.pos - start < target {
        // The part furthest behind its share goes next.
        let total = g.out.pos - start;
        let part = (0..4)
            .max_by_key(|&i| {
                (shares[i] * total / 100) as i64 - written[i] as i64 + shares[i] as i64
            })
            .unwrap_or(ORDERS);
        let before = g.out.pos;
        match part {
            LEAK => {
                let (conn, bytes) = connection(g, &k, unknown);
                if g.rng.chance(90) {
                    g.put(&k, &mut leak, conn, present);
                    leak_count += 1;
                    leak_bytes += bytes + g.classes[k.node].shallow;
                } else {
                    let i = g.rng.below(small_sets.len() as u64) as usize;
                    g.put(&k, &mut small_sets[i].1, conn, present);
                }
            }
            ORDERS => {
                let c = customers[g.rng.below(customers.len() as u64) as usize];
                let o = order(g, &k, c);
                if g.rng.chance(33) {
                    let key = g.new_instance(k.long);
                    let id = g.rng.next() as i64;
                    g.instance(k.long, key, &[V::I(id)]);
                    g.put(&k, &mut order_cache, key, o);
                } // else garbage: an order already served
                if recent.len() < 256 {
                    recent.push(o);
                } else {
                    let i = g.rng.below(256) as usize;
                    recent[i] = o;
                }
            }
            SESSIONS => {
                let (id, s, null_user) = session(g, &k);
                sessions_total += 1;
                null_users += null_user as u64;
                g.put(&k, &mut sessions, id, s);
            }
            _ => garbage(g, &k),
        }
        written[part] += g.out.pos - before;
        if g.out.pos >= next_report {
            eprintln!("gendump: {} GiB written", g.out.pos >> 30);
            next_report += 1 << 30;
        }
    }
    let _ = GARBAGE;
    // Close the collections: the leak's set, the registry, the caches.
    let leak_table = g.object_array_shallow(leak.heads.len() as u64);
    let leak_map = g.close_map(&k, leak);
    g.instance(k.hash_set, leak_set, &[V::Ref(leak_map)]);
    let leak_retained =
        leak_bytes + g.classes[k.hash_map].shallow + leak_table + g.classes[k.hash_set].shallow;
    g.put(&k, &mut by_ip, unknown, leak_set);
    for (ip, m) in small_sets {
        let inner = g.close_map(&k, m);
        let set = g.new_instance(k.hash_set);
        g.instance(k.hash_set, set, &[V::Ref(inner)]);
        g.put(&k, &mut by_ip, ip, set);
    }
    g.close_map(&k, by_ip);
    g.close_map(&k, order_cache);
    g.close_map(&k, sessions);
    threads_and_loader(g, &k, loader, &recent);
    write_roots(g);
    format!(
        "  \"planted_leak\": {{\"holder_class\": \"com.example.net.ConnectionRegistry\", \"holder_field\": \"byIp\", \"container_class\": \"java.util.HashSet\", \"container_id\": \"0x{:x}\", \"element_class\": \"com.example.net.Connection\", \"count\": {}, \"retained_bytes\": {}}},\n  \"facts\": {{\"sessions\": {}, \"sessions_without_user\": {}}},\n",
        leak_set, leak_count, leak_retained, sessions_total, null_users
    )
}

fn pow2_for(entries: u64) -> u64 {
    (entries * 4 / 3 + 1).next_power_of_two().max(16)
}

fn set_static(g: &mut Gen, class: &str, field: &str, value: u64) {
    let i = g.by_name[class];
    for s in g.classes[i].statics.iter_mut() {
        if s.0 == field {
            s.2 = V::Ref(value);
        }
    }
}

/// Short-lived buffers and boxed values nothing refers to any more.
fn garbage(g: &mut Gen, k: &K) {
    match g.rng.below(4) {
        0 => {
            let n = 16 + g.rng.below(2048);
            g.primitive_array(Ty::Char, n, b'x');
        }
        1 => {
            let n = 4 + g.rng.below(512);
            g.primitive_array(Ty::Int, n, 7);
        }
        2 => {
            let n = 2 + g.rng.below(256);
            g.primitive_array(Ty::Long, n, 1);
        }
        _ => {
            let v = g.new_instance(k.integer);
            let x = g.rng.below(1 << 20) as i64;
            g.instance(k.integer, v, &[V::I(x)]);
        }
    }
}

fn define_classes(g: &mut Gen) -> K {
    let o = Some("java.lang.Object");
    let object = g.define("java.lang.Object", None, &[], Vec::new());
    g.define("java.lang.Number", o, &[], Vec::new());
    let string = g.define(
        "java.lang.String",
        o,
        &[
            ("value", Ty::Obj),
            ("coder", Ty::Byte),
            ("hash", Ty::Int),
            ("hashIsZero", Ty::Bool),
        ],
        Vec::new(),
    );
    let integer = g.define(
        "java.lang.Integer",
        Some("java.lang.Number"),
        &[("value", Ty::Int)],
        Vec::new(),
    );
    let long = g.define(
        "java.lang.Long",
        Some("java.lang.Number"),
        &[("value", Ty::Long)],
        Vec::new(),
    );
    g.define("java.util.AbstractCollection", o, &[], Vec::new());
    g.define(
        "java.util.AbstractList",
        Some("java.util.AbstractCollection"),
        &[("modCount", Ty::Int)],
        Vec::new(),
    );
    let array_list = g.define(
        "java.util.ArrayList",
        Some("java.util.AbstractList"),
        &[("elementData", Ty::Obj), ("size", Ty::Int)],
        Vec::new(),
    );
    g.define(
        "java.util.AbstractMap",
        o,
        &[("keySet", Ty::Obj), ("values", Ty::Obj)],
        Vec::new(),
    );
    let hash_map = g.define(
        "java.util.HashMap",
        Some("java.util.AbstractMap"),
        &[
            ("table", Ty::Obj),
            ("entrySet", Ty::Obj),
            ("size", Ty::Int),
            ("modCount", Ty::Int),
            ("threshold", Ty::Int),
            ("loadFactor", Ty::Float),
        ],
        Vec::new(),
    );
    let node = g.define(
        "java.util.HashMap$Node",
        o,
        &[
            ("hash", Ty::Int),
            ("key", Ty::Obj),
            ("value", Ty::Obj),
            ("next", Ty::Obj),
        ],
        Vec::new(),
    );
    g.define(
        "java.util.AbstractSet",
        Some("java.util.AbstractCollection"),
        &[],
        Vec::new(),
    );
    let hash_set = g.define(
        "java.util.HashSet",
        Some("java.util.AbstractSet"),
        &[("map", Ty::Obj)],
        vec![("PRESENT", Ty::Obj, V::Ref(0))],
    );
    let thread = g.define(
        "java.lang.Thread",
        o,
        &[
            ("name", Ty::Obj),
            ("priority", Ty::Int),
            ("daemon", Ty::Bool),
            ("tid", Ty::Long),
            ("contextClassLoader", Ty::Obj),
            ("threadLocals", Ty::Obj),
            ("threadStatus", Ty::Int),
        ],
        Vec::new(),
    );
    g.define(
        "java.lang.ClassLoader",
        o,
        &[
            ("parent", Ty::Obj),
            ("name", Ty::Obj),
            ("classes", Ty::Obj),
            ("packages", Ty::Obj),
        ],
        Vec::new(),
    );
    g.define(
        "java.security.SecureClassLoader",
        Some("java.lang.ClassLoader"),
        &[("pdcache", Ty::Obj)],
        Vec::new(),
    );
    g.define(
        "jdk.internal.loader.BuiltinClassLoader",
        Some("java.security.SecureClassLoader"),
        &[
            ("parent", Ty::Obj),
            ("nameToModule", Ty::Obj),
            ("ucp", Ty::Obj),
        ],
        Vec::new(),
    );
    let app_loader = g.define(
        "jdk.internal.loader.ClassLoaders$AppClassLoader",
        Some("jdk.internal.loader.BuiltinClassLoader"),
        &[],
        Vec::new(),
    );
    let ref_scale = g.ref_size as i64;
    g.define(
        "jdk.internal.misc.Unsafe",
        o,
        &[],
        vec![
            ("ADDRESS_SIZE", Ty::Int, V::I(8)),
            ("ARRAY_OBJECT_INDEX_SCALE", Ty::Int, V::I(ref_scale)),
            ("ARRAY_INT_BASE_OFFSET", Ty::Int, V::I(16)),
        ],
    );
    g.define(
        "java.lang.VersionProps",
        o,
        &[],
        vec![("java_version", Ty::Obj, V::Ref(0))],
    );
    g.define("java.lang.Class", o, &[], Vec::new());
    let object_array = g.array_class("[Ljava/lang/Object;");
    let node_array = g.array_class("[Ljava/util/HashMap$Node;");
    for t in [
        Ty::Bool,
        Ty::Char,
        Ty::Float,
        Ty::Double,
        Ty::Byte,
        Ty::Short,
        Ty::Int,
        Ty::Long,
    ] {
        let i = g.array_class(t.array_name());
        g.primitive_classes.push((t, i));
    }
    // Application classes (their loader is the app loader, set once its instance has an address).
    let customer = g.define(
        "com.example.crm.Customer",
        o,
        &[
            ("id", Ty::Long),
            ("name", Ty::Obj),
            ("email", Ty::Obj),
            ("tier", Ty::Int),
        ],
        Vec::new(),
    );
    let order = g.define(
        "com.example.order.Order",
        o,
        &[
            ("id", Ty::Long),
            ("customer", Ty::Obj),
            ("items", Ty::Obj),
            ("createdAt", Ty::Long),
            ("status", Ty::Int),
            ("total", Ty::Double),
            ("note", Ty::Obj),
        ],
        Vec::new(),
    );
    let line_item = g.define(
        "com.example.order.LineItem",
        o,
        &[
            ("order", Ty::Obj),
            ("sku", Ty::Obj),
            ("qty", Ty::Int),
            ("price", Ty::Double),
        ],
        Vec::new(),
    );
    g.define(
        "com.example.order.OrderCache",
        o,
        &[],
        vec![("byId", Ty::Obj, V::Ref(0))],
    );
    let session = g.define(
        "com.example.web.Session",
        o,
        &[
            ("id", Ty::Obj),
            ("user", Ty::Obj),
            ("createdHour", Ty::Int),
            ("lastAccess", Ty::Long),
            ("attributes", Ty::Obj),
        ],
        Vec::new(),
    );
    g.define(
        "com.example.web.SessionManager",
        o,
        &[],
        vec![("sessions", Ty::Obj, V::Ref(0))],
    );
    let connection = g.define(
        "com.example.net.Connection",
        o,
        &[
            ("id", Ty::Obj),
            ("ip", Ty::Obj),
            ("port", Ty::Int),
            ("fd", Ty::Int),
            ("openedAt", Ty::Long),
            ("buffer", Ty::Obj),
        ],
        Vec::new(),
    );
    g.define(
        "com.example.net.ConnectionRegistry",
        o,
        &[],
        vec![("byIp", Ty::Obj, V::Ref(0))],
    );
    K {
        object,
        string,
        integer,
        long,
        array_list,
        hash_map,
        node,
        hash_set,
        thread,
        app_loader,
        order,
        line_item,
        customer,
        session,
        connection,
        object_array,
        node_array,
    }
}

fn customer(g: &mut Gen, k: &K, i: u64) -> u64 {
    let c = g.new_instance(k.customer);
    let (name_len, email_len) = (8 + g.rng.below(16), 12 + g.rng.below(20));
    let name = g.string(k, name_len);
    let email = g.string(k, email_len);
    let tier = g.rng.below(4) as i64;
    g.instance(
        k.customer,
        c,
        &[V::I(i as i64), V::Ref(name), V::Ref(email), V::I(tier)],
    );
    c
}

/// An order of 1-8 line items for a customer.
fn order(g: &mut Gen, k: &K, customer: u64) -> u64 {
    let o = g.new_instance(k.order);
    let n = 1 + g.rng.below(8);
    let mut items = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let item = g.new_instance(k.line_item);
        let sku = g.string(k, 10);
        let qty = 1 + g.rng.below(5) as i64;
        g.instance(
            k.line_item,
            item,
            &[
                V::Ref(o),
                V::Ref(sku),
                V::I(qty),
                V::I(12.5f64.to_bits() as i64),
            ],
        );
        items.push(item);
    }
    let list = g.array_list(k, &items);
    let note = if g.rng.chance(20) {
        let n = 40 + g.rng.below(200);
        g.string(k, n)
    } else {
        0
    };
    let id = g.rng.next() as i64;
    let status = g.rng.below(5) as i64;
    g.instance(
        k.order,
        o,
        &[
            V::I(id),
            V::Ref(customer),
            V::Ref(list),
            V::I(1_764_547_200_000),
            V::I(status),
            V::I(99.5f64.to_bits() as i64),
            V::Ref(note),
        ],
    );
    o
}

/// A session with a small attribute map; a tenth of them have no user. Returns (id, session,
/// whether its user is null).
fn session(g: &mut Gen, k: &K) -> (u64, u64, bool) {
    let s = g.new_instance(k.session);
    let id = g.string(k, 32);
    let null_user = g.rng.chance(10);
    let user = if null_user {
        0
    } else {
        let n = 6 + g.rng.below(10);
        g.string(k, n)
    };
    let mut attrs = g.map(k, 16);
    for _ in 0..g.rng.below(4) {
        let key = g.string(k, 8);
        let v = g.new_instance(k.integer);
        let x = g.rng.below(1000) as i64;
        g.instance(k.integer, v, &[V::I(x)]);
        g.put(k, &mut attrs, key, v);
    }
    let attributes = g.close_map(k, attrs);
    let hour = g.rng.below(24) as i64;
    g.instance(
        k.session,
        s,
        &[
            V::Ref(id),
            V::Ref(user),
            V::I(hour),
            V::I(1_764_547_200_000),
            V::Ref(attributes),
        ],
    );
    (id, s, null_user)
}

/// A connection with its id string and read buffer; returns it and the bytes only it holds.
fn connection(g: &mut Gen, k: &K, ip: u64) -> (u64, u64) {
    let c = g.new_instance(k.connection);
    let id_len = 16;
    let id = g.string(k, id_len);
    let buf_len = 64 * (1 + g.rng.below(4));
    let buffer = g.primitive_array(Ty::Byte, buf_len, 0);
    let port = 1024 + g.rng.below(60000) as i64;
    let fd = g.rng.below(65536) as i64;
    g.instance(
        k.connection,
        c,
        &[
            V::Ref(id),
            V::Ref(ip),
            V::I(port),
            V::I(fd),
            V::I(1_764_547_200_000),
            V::Ref(buffer),
        ],
    );
    let bytes = g.classes[k.connection].shallow
        + g.classes[k.string].shallow
        + (16 + id_len).div_ceil(8) * 8
        + (16 + buf_len).div_ceil(8) * 8;
    (c, bytes)
}

/// Request threads (the recent orders on their stacks as locals) and the app loader with its
/// list of classes.
fn threads_and_loader(g: &mut Gen, k: &K, loader: u64, recent: &[u64]) {
    let app_classes: Vec<u64> = g
        .classes
        .iter()
        .filter(|c| c.name.starts_with("com.example."))
        .map(|c| c.id)
        .collect();
    let classes_list = g.array_list(k, &app_classes);
    let name = g.string_of(k, b"app");
    // AppClassLoader: BuiltinClassLoader's parent, nameToModule, ucp; SecureClassLoader's
    // pdcache; ClassLoader's parent, name, classes, packages.
    g.instance(
        k.app_loader,
        loader,
        &[
            V::Ref(0),
            V::Ref(0),
            V::Ref(0),
            V::Ref(0),
            V::Ref(0),
            V::Ref(name),
            V::Ref(classes_list),
            V::Ref(0),
        ],
    );
    g.roots.push((0x01, loader, 0, 0)); // JNI global
    for t in 0..32u32 {
        let th = g.new_instance(k.thread);
        let tname = g.string(k, 18);
        g.instance(
            k.thread,
            th,
            &[
                V::Ref(tname),
                V::I(5),
                V::I(0),
                V::I(t as i64 + 1),
                V::Ref(loader),
                V::Ref(0),
                V::I(4),
            ],
        );
        let (serial, trace) = (t + 1, 100 + t);
        g.roots.push((0x08, th, serial, trace));
        for (d, &o) in recent.iter().skip(t as usize * 8).take(8).enumerate() {
            g.roots.push((0x03, o, serial, d as u32));
        }
    }
}

/// A three-frame stack trace for a thread (written before the heap, as HotSpot does).
fn frames(g: &mut Gen, thread_serial: u32, trace_serial: u32) {
    let method = g.string_id("handle");
    let sig = g.string_id("(Lcom/example/web/Request;)V");
    let file = g.string_id("Handler.java");
    let mut ids = Vec::new();
    for d in 0..3u64 {
        let frame_id = 0x7000_0000 + (trace_serial as u64) * 16 + d;
        let mut b = Vec::new();
        for v in [frame_id, method, sig, file] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&(40 + d as u32).to_be_bytes());
        g.out.record(0x04, &b);
        ids.push(frame_id);
    }
    let mut b = Vec::new();
    b.extend_from_slice(&trace_serial.to_be_bytes());
    b.extend_from_slice(&thread_serial.to_be_bytes());
    b.extend_from_slice(&(ids.len() as u32).to_be_bytes());
    for id in ids {
        b.extend_from_slice(&id.to_be_bytes());
    }
    g.out.record(0x05, &b);
}

/// The GC roots, last as JDK 17 writes them: JNI globals, threads and their frames' locals, and
/// every class of the boot loader as a sticky class.
fn write_roots(g: &mut Gen) {
    let boot: Vec<u64> = g
        .classes
        .iter()
        .filter(|c| c.loader == 0)
        .map(|c| c.id)
        .collect();
    for id in boot {
        g.roots.push((0x05, id, 0, 0));
    }
    for (tag, id, a, b) in std::mem::take(&mut g.roots) {
        g.out.in_segment();
        g.out.u1(tag);
        g.out.u8(id);
        match tag {
            0x01 => g.out.u8(0x5000_0000 + id % 4096),
            0x03 | 0x08 => {
                g.out.u4(a);
                g.out.u4(b);
            }
            _ => {}
        }
    }
}
