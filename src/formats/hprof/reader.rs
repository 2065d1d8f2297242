//! Zero-copy HPROF parsing over a byte slice (normally the mmap'd dump): the header, top-level
//! records, and heap-dump sub-records. Records are views into the slice plus their file offsets;
//! nothing is copied and nothing is allocated per record.
//!
//! Iteration is lazy and fallible (`next() -> Result<Option<_>>`): on the first bad byte the
//! caller gets an error naming the offset, and everything read before it stays usable.

use super::error::{Context, Found, HprofError};
use super::raw::{BasicType, RootKind, SubTag, Tag, MAGIC_PREFIX};

/// Parsed file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Minor version: 1 (`1.0.1`), 2 (`1.0.2`, HotSpot) or 3 (`1.0.3`, Android).
    pub version: u8,
    /// Identifier size: 4 or 8.
    pub id_size: u8,
    /// Dump time in milliseconds since the epoch.
    pub timestamp_ms: u64,
    /// Offset of the first record.
    pub records_start: usize,
}

impl Header {
    pub fn version_string(&self) -> String {
        format!("1.0.{}", self.version)
    }
}

/// Reads the header at the start of `data`.
pub fn parse_header(data: &[u8]) -> Result<Header, HprofError> {
    if data.len() < MAGIC_PREFIX.len() || !data.starts_with(MAGIC_PREFIX) {
        // A prefix of the magic is a truncated header, anything else is not HPROF at all.
        if !data.is_empty() && MAGIC_PREFIX.starts_with(data) {
            return Err(HprofError::Truncated {
                offset: data.len() as u64,
                context: Context::Header,
                expected: "the \"JAVA PROFILE 1.0.x\" magic",
                needed: (MAGIC_PREFIX.len() + 2 - data.len()) as u64,
            });
        }
        return Err(HprofError::NotHprof {
            found: Found::new(data),
        });
    }
    let nul = match data.iter().take(32).position(|&b| b == 0) {
        Some(p) => p,
        None if data.len() < 32 => {
            return Err(HprofError::Truncated {
                offset: data.len() as u64,
                context: Context::Header,
                expected: "the NUL that ends the version string",
                needed: 1,
            })
        }
        None => {
            return Err(HprofError::NotHprof {
                found: Found::new(data),
            })
        }
    };
    let digit = data[MAGIC_PREFIX.len()];
    let version = match digit {
        b'1'..=b'9' if nul == MAGIC_PREFIX.len() + 1 => digit - b'0',
        _ => {
            return Err(HprofError::Corrupt {
                offset: MAGIC_PREFIX.len() as u64,
                context: Context::Header,
                expected: "a version digit 1, 2 or 3 followed by NUL",
                found: digit,
            })
        }
    };
    let mut c = Cursor::new(data, nul + 1, Context::Header);
    let id_size = c.u32("the identifier size")?;
    if id_size != 4 && id_size != 8 {
        return Err(HprofError::UnsupportedIdSize {
            offset: (nul + 1) as u64,
            size: id_size,
        });
    }
    let hi = c.u32("the dump timestamp")? as u64;
    let lo = c.u32("the dump timestamp")? as u64;
    Ok(Header {
        version,
        id_size: id_size as u8,
        timestamp_ms: (hi << 32) | lo,
        records_start: c.pos,
    })
}

/// Bounds-checked big-endian reads from a slice, reporting file offsets in errors.
#[derive(Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pub pos: usize,
    context: Context,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8], pos: usize, context: Context) -> Cursor<'a> {
        Cursor { data, pos, context }
    }

    #[inline]
    fn truncated(&self, expected: &'static str, n: usize) -> HprofError {
        HprofError::Truncated {
            offset: self.data.len() as u64,
            context: self.context,
            expected,
            needed: (self.pos + n - self.data.len()) as u64,
        }
    }

    #[inline]
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], HprofError> {
        match self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
        {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.truncated(what, n.min(usize::MAX / 2))),
        }
    }

    #[inline]
    pub fn u8(&mut self, what: &'static str) -> Result<u8, HprofError> {
        Ok(self.bytes(1, what)?[0])
    }

    #[inline]
    pub fn u16(&mut self, what: &'static str) -> Result<u16, HprofError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    #[inline]
    pub fn u32(&mut self, what: &'static str) -> Result<u32, HprofError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    pub fn id(&mut self, id_size: u8, what: &'static str) -> Result<u64, HprofError> {
        let b = self.bytes(id_size as usize, what)?;
        Ok(read_id(b, id_size))
    }
}

/// Reads an identifier of `id_size` (4 or 8) bytes from the start of `b`.
#[inline]
pub fn read_id(b: &[u8], id_size: u8) -> u64 {
    if id_size == 8 {
        u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    } else {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64
    }
}

/// One top-level record.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub tag: Tag,
    /// File offset of the tag byte.
    pub offset: u64,
    /// Microseconds since the header's timestamp.
    pub time: u32,
    /// The record body (may be shorter than declared if the file is truncated: see `truncated`).
    pub body: &'a [u8],
    /// The declared length disagreed with the real one and was repaired (huge old dumps).
    pub length_repaired: bool,
    /// The file ends inside this record.
    pub truncated: bool,
}

impl Record<'_> {
    /// File offset of the first body byte.
    pub fn body_offset(&self) -> u64 {
        self.offset + 9
    }
}

/// Iterator over top-level records.
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    id_size: u8,
    failed: bool,
}

impl<'a> Records<'a> {
    pub fn new(data: &'a [u8], header: &Header) -> Records<'a> {
        Records {
            data,
            pos: header.records_start,
            id_size: header.id_size,
            failed: false,
        }
    }

    /// Offset of the next record to read.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    pub fn next_record(&mut self) -> Result<Option<Record<'a>>, HprofError> {
        if self.failed || self.pos >= self.data.len() {
            return Ok(None);
        }
        let start = self.pos;
        let tag = Tag(self.data[start]);
        if !tag.is_known() {
            self.failed = true;
            return Err(HprofError::Corrupt {
                offset: start as u64,
                context: Context::Record(tag),
                expected: "a top-level record tag",
                found: tag.0,
            });
        }
        let mut c = Cursor::new(self.data, start + 1, Context::Record(tag));
        let header = c
            .u32("the record time")
            .and_then(|t| Ok((t, c.u32("the record length")?)));
        let (time, len) = match header {
            Ok(v) => v,
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        let body_start = start + 9;
        let declared_end = body_start as u64 + len as u64;
        let mut end = declared_end;
        let mut repaired = false;
        if tag.is_heap_dump() && !self.plausible_next(declared_end, 3) {
            if let Some(real) = heap_dump_real_end(self.data, body_start, len, self.id_size) {
                repaired = real != declared_end;
                end = real;
            }
        }
        let truncated = end > self.data.len() as u64;
        let body_end = end.min(self.data.len() as u64) as usize;
        self.pos = body_end;
        if truncated {
            self.failed = true;
        }
        Ok(Some(Record {
            tag,
            offset: start as u64,
            time,
            body: &self.data[body_start..body_end],
            length_repaired: repaired,
            truncated,
        }))
    }

    /// Whether a chain of `depth` record headers starting at `pos` looks valid (or the file ends).
    fn plausible_next(&self, pos: u64, depth: u32) -> bool {
        plausible_chain(self.data, pos, depth)
    }
}

fn plausible_chain(data: &[u8], mut pos: u64, depth: u32) -> bool {
    for _ in 0..depth {
        if pos == data.len() as u64 {
            return true;
        }
        if pos > data.len() as u64 {
            return false;
        }
        let p = pos as usize;
        let tag = Tag(data[p]);
        if !tag.is_known() {
            return false;
        }
        let Some(h) = data.get(p + 5..p + 9) else {
            return false;
        };
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        if tag == Tag::HEAP_DUMP_END && len != 0 {
            return false;
        }
        pos += 9 + len;
        if pos > data.len() as u64 {
            return false;
        }
    }
    true
}

/// Finds where a HEAP DUMP record really ends when its u4 length is wrong: old JVMs wrote a
/// single record for the whole heap and its length wrapped past 4 GiB. Walks the sub-records
/// and accepts the first boundary congruent to the declared length modulo 2^32 that is followed
/// by plausible records or the end of the file. `None` if the walk fails before such a boundary
/// (then the declared length stands, and the sub-record walk reports the error).
fn heap_dump_real_end(
    data: &[u8],
    body_start: usize,
    declared_len: u32,
    id_size: u8,
) -> Option<u64> {
    let declared_end = body_start as u64 + declared_len as u64;
    let mut subs = SubRecords::new(data, body_start, data.len(), id_size);
    loop {
        let p = subs.position();
        if p == declared_end && (data.len() as u64) < declared_end + (1u64 << 32) {
            // The walk lands on the declared end and the data is too short for a wrapped
            // length: the length is right; whatever follows is the next record's problem. (With
            // 4 GiB more data, a wrapped length can also land on a sub-record boundary by
            // chance: then the walk goes on to find the real end.)
            return Some(declared_end);
        }
        if p > declared_end
            && (p - body_start as u64) % (1u64 << 32) == declared_len as u64
            && plausible_chain(data, p, 3)
        {
            return Some(p);
        }
        if p as usize >= data.len() {
            return Some(p.max(declared_end));
        }
        match subs.next_sub_record() {
            Ok(Some(_)) => {}
            Ok(None) => return Some(p),
            Err(e) if e.is_truncation() => return Some(declared_end.max(data.len() as u64)),
            Err(_) => return None,
        }
    }
}

/// A GC root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcRoot {
    pub kind: RootKind,
    pub object_id: u64,
    /// Thread serial number for thread-related roots.
    pub thread_serial: Option<u32>,
    /// Frame number in the thread's stack trace (java-frame and jni-local roots).
    pub frame: Option<u32>,
    /// For JNI globals: the JNI global reference id.
    pub jni_ref: Option<u64>,
}

/// INSTANCE DUMP.
#[derive(Clone, Copy, Debug)]
pub struct InstanceDump<'a> {
    pub offset: u64,
    pub id: u64,
    pub stack_serial: u32,
    pub class_id: u64,
    /// Field values: this class's fields, then the superclass's, and so on up.
    pub fields: &'a [u8],
}

/// OBJECT ARRAY DUMP.
#[derive(Clone, Copy, Debug)]
pub struct ObjectArrayDump<'a> {
    pub offset: u64,
    pub id: u64,
    pub stack_serial: u32,
    pub class_id: u64,
    pub length: u32,
    pub elements: &'a [u8],
}

/// PRIMITIVE ARRAY DUMP (and Android's PRIMITIVE ARRAY NODATA, with empty `data`).
#[derive(Clone, Copy, Debug)]
pub struct PrimitiveArrayDump<'a> {
    pub offset: u64,
    pub id: u64,
    pub stack_serial: u32,
    pub element_type: BasicType,
    pub length: u32,
    pub data: &'a [u8],
}

/// CLASS DUMP: a view; constant pool, statics and fields are iterated lazily.
#[derive(Clone, Copy, Debug)]
pub struct ClassDump<'a> {
    pub offset: u64,
    pub id: u64,
    pub stack_serial: u32,
    pub super_id: u64,
    pub loader_id: u64,
    pub signers_id: u64,
    pub protection_domain_id: u64,
    /// Bytes of field data in an INSTANCE DUMP of this class (HPROF sizes, not heap sizes).
    pub instance_data_size: u32,
    pub constant_pool_count: u16,
    pub statics_count: u16,
    pub statics: &'a [u8],
    pub fields_count: u16,
    pub fields: &'a [u8],
    pub id_size: u8,
}

/// A static field of a class dump with its value bytes.
#[derive(Clone, Copy, Debug)]
pub struct StaticField<'a> {
    pub name_id: u64,
    pub ty: BasicType,
    pub value: &'a [u8],
}

impl StaticField<'_> {
    /// The value as an object id, if it is a reference.
    pub fn object_id(&self, id_size: u8) -> Option<u64> {
        (self.ty == BasicType::Object).then(|| read_id(self.value, id_size))
    }
}

/// An instance field declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDecl {
    pub name_id: u64,
    pub ty: BasicType,
}

impl<'a> ClassDump<'a> {
    /// Static fields (already validated while parsing the record).
    pub fn statics(&self) -> impl Iterator<Item = StaticField<'a>> + 'a {
        let id_size = self.id_size;
        let mut rest = self.statics;
        (0..self.statics_count).map_while(move |_| {
            let name_id = read_id(rest.get(..id_size as usize)?, id_size);
            let ty = BasicType::from_u8(*rest.get(id_size as usize)?)?;
            let start = id_size as usize + 1;
            let n = ty.hprof_size(id_size);
            let value = rest.get(start..start + n)?;
            rest = &rest[start + n..];
            Some(StaticField { name_id, ty, value })
        })
    }

    /// Instance field declarations of this class only (not its superclasses), in dump order.
    pub fn fields(&self) -> impl Iterator<Item = FieldDecl> + 'a {
        let id_size = self.id_size as usize;
        self.fields
            .chunks_exact(id_size + 1)
            .take(self.fields_count as usize)
            .filter_map(move |ch| {
                Some(FieldDecl {
                    name_id: read_id(ch, id_size as u8),
                    ty: BasicType::from_u8(ch[id_size])?,
                })
            })
    }
}

/// A heap-dump sub-record.
#[derive(Clone, Copy, Debug)]
pub enum SubRecord<'a> {
    Root(GcRoot),
    Class(ClassDump<'a>),
    Instance(InstanceDump<'a>),
    ObjectArray(ObjectArrayDump<'a>),
    PrimitiveArray(PrimitiveArrayDump<'a>),
    /// Android: the heap the following objects belong to (app, image, zygote).
    HeapDumpInfo {
        heap_type: u32,
        name_id: u64,
    },
}

/// Iterator over the sub-records of a HEAP DUMP or HEAP DUMP SEGMENT body.
pub struct SubRecords<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    id_size: u8,
    failed: bool,
}

impl<'a> SubRecords<'a> {
    /// Sub-records of `data[start..end]`; `data` is the whole file so offsets are file offsets.
    pub fn new(data: &'a [u8], start: usize, end: usize, id_size: u8) -> SubRecords<'a> {
        SubRecords {
            data,
            pos: start,
            end: end.min(data.len()),
            id_size,
            failed: false,
        }
    }

    /// Sub-records of a top-level heap dump record.
    pub fn of_record(data: &'a [u8], record: &Record<'a>, id_size: u8) -> SubRecords<'a> {
        let start = record.body_offset() as usize;
        SubRecords::new(data, start, start + record.body.len(), id_size)
    }

    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// The next sub-record if it is a complete object (instance, object or primitive array), read
    /// without building a [`SubRecord`]: the hot path of whole-heap passes, specialised for the
    /// identifier size `ID`. Anything else (another tag, a record cut short, a bad element type)
    /// gives `None` and leaves the position alone, for [`next_sub_record`](Self::next_sub_record)
    /// to read or report.
    #[inline(always)]
    pub fn next_object<const ID: usize>(&mut self) -> Option<ObjectHeader> {
        use super::raw::object_layout as L;
        let d = &self.data[..self.end];
        let p = self.pos;
        let tag = *d.get(p)?;
        let id_at = |o: usize| -> Option<u64> {
            let b = d.get(o..o + ID)?;
            Some(if ID == 8 {
                u64::from_be_bytes(b.try_into().ok()?)
            } else {
                u32::from_be_bytes(b.try_into().ok()?) as u64
            })
        };
        let u32_at = |o: usize| -> Option<u32> {
            Some(u32::from_be_bytes(d.get(o..o + 4)?.try_into().ok()?))
        };
        let (h, next) = match SubTag(tag) {
            SubTag::INSTANCE_DUMP => {
                let id = id_at(p + L::ID)?;
                let class_id = id_at(p + L::instance_class(ID))?;
                let n = u32_at(p + L::instance_length(ID))? as usize;
                let data_start = p + L::instance_fields(ID);
                (
                    ObjectHeader {
                        kind: ObjectKind::Instance,
                        id,
                        class_id,
                        length: n as u32,
                        data_start,
                    },
                    data_start + n,
                )
            }
            SubTag::OBJECT_ARRAY_DUMP => {
                let id = id_at(p + L::ID)?;
                let len = u32_at(p + L::array_length(ID))?;
                let class_id = id_at(p + L::object_array_class(ID))?;
                let data_start = p + L::object_array_elements(ID);
                (
                    ObjectHeader {
                        kind: ObjectKind::ObjectArray,
                        id,
                        class_id,
                        length: len,
                        data_start,
                    },
                    data_start + len as usize * ID,
                )
            }
            SubTag::PRIMITIVE_ARRAY_DUMP => {
                let id = id_at(p + L::ID)?;
                let len = u32_at(p + L::array_length(ID))?;
                let ty = BasicType::from_u8(*d.get(p + L::primitive_array_type(ID))?)?;
                let size = match ty {
                    BasicType::Object => return None,
                    t => t.hprof_size(ID as u8),
                };
                let data_start = p + L::primitive_array_elements(ID);
                (
                    ObjectHeader {
                        kind: ObjectKind::PrimitiveArray(ty),
                        id,
                        class_id: 0,
                        length: len,
                        data_start,
                    },
                    data_start + len as usize * size,
                )
            }
            _ => return None,
        };
        if next > d.len() {
            return None;
        }
        self.pos = next;
        Some(h)
    }

    pub fn next_sub_record(&mut self) -> Result<Option<SubRecord<'a>>, HprofError> {
        if self.failed || self.pos >= self.end {
            return Ok(None);
        }
        match parse_sub_record(&self.data[..self.end], self.pos, self.id_size) {
            Ok((rec, next)) => {
                self.pos = next;
                Ok(Some(rec))
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

/// What kind of object an [`ObjectHeader`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Instance,
    ObjectArray,
    PrimitiveArray(BasicType),
}

/// The fixed part of an object sub-record; its contents are at `data_start` (file offset):
/// `length` bytes of field values for an instance, `length` elements for an array.
#[derive(Clone, Copy, Debug)]
pub struct ObjectHeader {
    pub kind: ObjectKind,
    pub id: u64,
    /// The class (instances) or array class (object arrays); 0 for primitive arrays.
    pub class_id: u64,
    pub length: u32,
    pub data_start: usize,
}

/// Parses one sub-record at `pos`; returns it and the offset just past it.
#[inline]
pub fn parse_sub_record(
    data: &[u8],
    pos: usize,
    id_size: u8,
) -> Result<(SubRecord<'_>, usize), HprofError> {
    // `pos` may come from elsewhere (an index cache): out of range is an error, not a panic.
    let Some(&tag) = data.get(pos) else {
        return Err(HprofError::BadLength {
            offset: pos as u64,
            context: Context::Header,
            what: "a sub-record offset past the end of the data",
        });
    };
    let tag = SubTag(tag);
    let mut c = Cursor::new(data, pos + 1, Context::SubRecord(tag));
    let offset = pos as u64;
    let ids = id_size;
    let root = |kind,
                c: &mut Cursor<'_>,
                thread: bool,
                frame: bool|
     -> Result<SubRecord<'static>, HprofError> {
        let object_id = c.id(ids, "the root's object id")?;
        let thread_serial = if thread {
            Some(c.u32("the thread serial number")?)
        } else {
            None
        };
        let frame = if frame {
            Some(c.u32("the frame number")?)
        } else {
            None
        };
        Ok(SubRecord::Root(GcRoot {
            kind,
            object_id,
            thread_serial,
            frame,
            jni_ref: None,
        }))
    };
    let rec = match tag {
        SubTag::INSTANCE_DUMP => {
            let id = c.id(ids, "the object id")?;
            let stack_serial = c.u32("the stack trace serial")?;
            let class_id = c.id(ids, "the class id")?;
            let n = c.u32("the field data length")? as usize;
            let fields = c.bytes(n, "the instance field data")?;
            SubRecord::Instance(InstanceDump {
                offset,
                id,
                stack_serial,
                class_id,
                fields,
            })
        }
        SubTag::OBJECT_ARRAY_DUMP => {
            let id = c.id(ids, "the array id")?;
            let stack_serial = c.u32("the stack trace serial")?;
            let length = c.u32("the array length")?;
            let class_id = c.id(ids, "the array class id")?;
            let elements = c.bytes(length as usize * ids as usize, "the array elements")?;
            SubRecord::ObjectArray(ObjectArrayDump {
                offset,
                id,
                stack_serial,
                class_id,
                length,
                elements,
            })
        }
        SubTag::PRIMITIVE_ARRAY_DUMP | SubTag::PRIMITIVE_ARRAY_NODATA => {
            let id = c.id(ids, "the array id")?;
            let stack_serial = c.u32("the stack trace serial")?;
            let length = c.u32("the array length")?;
            let ty_pos = c.pos;
            let ty_byte = c.u8("the element type")?;
            let element_type = match BasicType::from_u8(ty_byte) {
                Some(t) if t != BasicType::Object => t,
                _ => {
                    return Err(HprofError::Corrupt {
                        offset: ty_pos as u64,
                        context: Context::SubRecord(tag),
                        expected: "a primitive element type (4..11)",
                        found: ty_byte,
                    })
                }
            };
            let data = if tag == SubTag::PRIMITIVE_ARRAY_DUMP {
                let n = length as usize * element_type.hprof_size(ids);
                c.bytes(n, "the array elements")?
            } else {
                &[]
            };
            SubRecord::PrimitiveArray(PrimitiveArrayDump {
                offset,
                id,
                stack_serial,
                element_type,
                length,
                data,
            })
        }
        SubTag::CLASS_DUMP => SubRecord::Class(parse_class_dump(&mut c, offset, ids)?),
        SubTag::ROOT_UNKNOWN => root(RootKind::Unknown, &mut c, false, false)?,
        SubTag::ROOT_JNI_GLOBAL => {
            let object_id = c.id(ids, "the root's object id")?;
            let jni = c.id(ids, "the JNI global ref id")?;
            SubRecord::Root(GcRoot {
                kind: RootKind::JniGlobal,
                object_id,
                thread_serial: None,
                frame: None,
                jni_ref: Some(jni),
            })
        }
        SubTag::ROOT_JNI_LOCAL => root(RootKind::JniLocal, &mut c, true, true)?,
        SubTag::ROOT_JAVA_FRAME => root(RootKind::JavaFrame, &mut c, true, true)?,
        SubTag::ROOT_NATIVE_STACK => root(RootKind::NativeStack, &mut c, true, false)?,
        SubTag::ROOT_STICKY_CLASS => root(RootKind::StickyClass, &mut c, false, false)?,
        SubTag::ROOT_THREAD_BLOCK => root(RootKind::ThreadBlock, &mut c, true, false)?,
        SubTag::ROOT_MONITOR_USED => root(RootKind::MonitorUsed, &mut c, false, false)?,
        SubTag::ROOT_THREAD_OBJECT => {
            // object id, thread serial, stack trace serial (kept in `frame` slot is wrong: drop it).
            let object_id = c.id(ids, "the thread object id")?;
            let thread_serial = c.u32("the thread serial number")?;
            let _stack = c.u32("the stack trace serial")?;
            SubRecord::Root(GcRoot {
                kind: RootKind::ThreadObject,
                object_id,
                thread_serial: Some(thread_serial),
                frame: None,
                jni_ref: None,
            })
        }
        SubTag::ROOT_INTERNED_STRING => root(RootKind::InternedString, &mut c, false, false)?,
        SubTag::ROOT_FINALIZING => root(RootKind::Finalizing, &mut c, false, false)?,
        SubTag::ROOT_DEBUGGER => root(RootKind::Debugger, &mut c, false, false)?,
        SubTag::ROOT_REFERENCE_CLEANUP => root(RootKind::ReferenceCleanup, &mut c, false, false)?,
        SubTag::ROOT_VM_INTERNAL => root(RootKind::VmInternal, &mut c, false, false)?,
        SubTag::ROOT_JNI_MONITOR => root(RootKind::JniMonitor, &mut c, true, true)?,
        SubTag::UNREACHABLE => root(RootKind::Unreachable, &mut c, false, false)?,
        SubTag::HEAP_DUMP_INFO => {
            let heap_type = c.u32("the heap type")?;
            let name_id = c.id(ids, "the heap name id")?;
            SubRecord::HeapDumpInfo { heap_type, name_id }
        }
        _ => {
            return Err(HprofError::Corrupt {
                offset,
                context: Context::SubRecord(tag),
                expected: "a heap dump sub-record tag",
                found: tag.0,
            })
        }
    };
    Ok((rec, c.pos))
}

fn basic_type(
    c: &mut Cursor<'_>,
    tag: SubTag,
    what: &'static str,
) -> Result<BasicType, HprofError> {
    let pos = c.pos;
    let b = c.u8(what)?;
    BasicType::from_u8(b).ok_or(HprofError::Corrupt {
        offset: pos as u64,
        context: Context::SubRecord(tag),
        expected: "a basic type code (2, 4..11)",
        found: b,
    })
}

fn parse_class_dump<'a>(
    c: &mut Cursor<'a>,
    offset: u64,
    ids: u8,
) -> Result<ClassDump<'a>, HprofError> {
    let tag = SubTag::CLASS_DUMP;
    let id = c.id(ids, "the class id")?;
    let stack_serial = c.u32("the stack trace serial")?;
    let super_id = c.id(ids, "the superclass id")?;
    let loader_id = c.id(ids, "the class loader id")?;
    let signers_id = c.id(ids, "the signers id")?;
    let protection_domain_id = c.id(ids, "the protection domain id")?;
    c.id(ids, "a reserved id")?;
    c.id(ids, "a reserved id")?;
    let instance_data_size = c.u32("the instance size")?;
    let constant_pool_count = c.u16("the constant pool count")?;
    for _ in 0..constant_pool_count {
        c.u16("a constant pool index")?;
        let ty = basic_type(c, tag, "a constant pool entry type")?;
        c.bytes(ty.hprof_size(ids), "a constant pool value")?;
    }
    let statics_count = c.u16("the static field count")?;
    let statics_start = c.pos;
    for _ in 0..statics_count {
        c.id(ids, "a static field name id")?;
        let ty = basic_type(c, tag, "a static field type")?;
        c.bytes(ty.hprof_size(ids), "a static field value")?;
    }
    let statics = &c.data[statics_start..c.pos];
    let fields_count = c.u16("the instance field count")?;
    let fields_start = c.pos;
    for _ in 0..fields_count {
        c.id(ids, "an instance field name id")?;
        basic_type(c, tag, "an instance field type")?;
    }
    let fields = &c.data[fields_start..c.pos];
    Ok(ClassDump {
        offset,
        id,
        stack_serial,
        super_id,
        loader_id,
        signers_id,
        protection_domain_id,
        instance_data_size,
        constant_pool_count,
        statics_count,
        statics,
        fields_count,
        fields,
        id_size: ids,
    })
}

/// A STRING record: id and UTF-8 (modified UTF-8, in practice) bytes.
pub fn parse_string<'a>(record: &Record<'a>, id_size: u8) -> Result<(u64, &'a [u8]), HprofError> {
    let n = id_size as usize;
    if record.body.len() < n {
        return Err(HprofError::BadLength {
            offset: record.offset,
            context: Context::Record(record.tag),
            what: "a STRING record shorter than an identifier",
        });
    }
    Ok((read_id(record.body, id_size), &record.body[n..]))
}

/// A LOAD CLASS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadClass {
    pub serial: u32,
    pub class_id: u64,
    pub stack_serial: u32,
    pub name_id: u64,
}

pub fn parse_load_class(record: &Record<'_>, id_size: u8) -> Result<LoadClass, HprofError> {
    let mut c = Cursor::new(record.body, 0, Context::Record(record.tag));
    let r = (|| {
        Ok(LoadClass {
            serial: c.u32("the class serial")?,
            class_id: c.id(id_size, "the class id")?,
            stack_serial: c.u32("the stack trace serial")?,
            name_id: c.id(id_size, "the class name id")?,
        })
    })();
    r.map_err(|_: HprofError| HprofError::BadLength {
        offset: record.offset,
        context: Context::Record(record.tag),
        what: "a LOAD CLASS record too short for its fields",
    })
}

/// A STACK FRAME record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackFrame {
    pub frame_id: u64,
    pub method_name_id: u64,
    pub signature_id: u64,
    pub source_file_id: u64,
    pub class_serial: u32,
    /// > 0 line number; 0 none; -1 unknown; -2 compiled; -3 native.
    pub line: i32,
}

pub fn parse_stack_frame(record: &Record<'_>, id_size: u8) -> Result<StackFrame, HprofError> {
    let mut c = Cursor::new(record.body, 0, Context::Record(record.tag));
    let r = (|| {
        Ok(StackFrame {
            frame_id: c.id(id_size, "the frame id")?,
            method_name_id: c.id(id_size, "the method name id")?,
            signature_id: c.id(id_size, "the signature id")?,
            source_file_id: c.id(id_size, "the source file id")?,
            class_serial: c.u32("the class serial")?,
            line: c.u32("the line number")? as i32,
        })
    })();
    r.map_err(|_: HprofError| HprofError::BadLength {
        offset: record.offset,
        context: Context::Record(record.tag),
        what: "a STACK FRAME record too short for its fields",
    })
}

/// A STACK TRACE record: serial, thread serial and frame ids.
#[derive(Clone, Copy, Debug)]
pub struct StackTrace<'a> {
    pub serial: u32,
    pub thread_serial: u32,
    pub frame_ids: &'a [u8],
    pub frame_count: u32,
}

impl StackTrace<'_> {
    pub fn frames(&self, id_size: u8) -> impl Iterator<Item = u64> + '_ {
        self.frame_ids
            .chunks_exact(id_size as usize)
            .map(move |b| read_id(b, id_size))
    }
}

pub fn parse_stack_trace<'a>(
    record: &Record<'a>,
    id_size: u8,
) -> Result<StackTrace<'a>, HprofError> {
    let mut c = Cursor::new(record.body, 0, Context::Record(record.tag));
    let r = (|| {
        let serial = c.u32("the trace serial")?;
        let thread_serial = c.u32("the thread serial")?;
        let frame_count = c.u32("the frame count")?;
        let frame_ids = c.bytes(frame_count as usize * id_size as usize, "the frame ids")?;
        Ok(StackTrace {
            serial,
            thread_serial,
            frame_ids,
            frame_count,
        })
    })();
    r.map_err(|_: HprofError| HprofError::BadLength {
        offset: record.offset,
        context: Context::Record(record.tag),
        what: "a STACK TRACE record too short for its frames",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: u32) -> Vec<u8> {
        let mut v = b"JAVA PROFILE 1.0.2\0".to_vec();
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 5]);
        v
    }

    #[test]
    fn header_parses() {
        let h = parse_header(&header(8)).unwrap();
        assert_eq!(h.version, 2);
        assert_eq!(h.id_size, 8);
        assert_eq!(h.timestamp_ms, (256u64 << 32) | 5);
        assert_eq!(h.records_start, 31);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(
            parse_header(b""),
            Err(HprofError::NotHprof { .. })
        ));
        assert!(matches!(
            parse_header(b"hello world, this is text"),
            Err(HprofError::NotHprof { .. })
        ));
        assert!(matches!(
            parse_header(b"JAVA PRO"),
            Err(HprofError::Truncated { .. })
        ));
        assert!(matches!(
            parse_header(&header(6)),
            Err(HprofError::UnsupportedIdSize { size: 6, .. })
        ));
        let h = header(8);
        assert!(matches!(
            parse_header(&h[..25]),
            Err(HprofError::Truncated { .. })
        ));
    }

    #[test]
    fn unknown_top_level_tag_is_reported_with_offset() {
        let mut d = header(4);
        d.push(0x77);
        d.extend_from_slice(&[0; 8]);
        let h = parse_header(&d).unwrap();
        let mut r = Records::new(&d, &h);
        let e = r.next_record().unwrap_err();
        assert_eq!(e.offset(), 31);
        assert!(e.to_string().contains("0x77"), "{e}");
        assert!(r.next_record().unwrap().is_none());
    }
}
