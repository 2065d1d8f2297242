//! The first, sequential pass over a dump: the header and every top-level record except the heap
//! dump bodies, which are only located (their sub-records are read later, in parallel).
//! Its cost is proportional to the number of records, not to the size of the heap.

use super::error::HprofError;
use super::raw::Tag;
use super::reader::{
    parse_header, parse_load_class, parse_stack_frame, parse_stack_trace, parse_string, Header,
    LoadClass, Records, StackFrame,
};
use std::collections::HashMap;

/// A problem that did not stop the reading, with the offset where it was seen.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub offset: u64,
    pub message: String,
}

/// Where a heap dump body lies in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapBody {
    /// Offset of the first sub-record.
    pub start: usize,
    /// Offset just past the last byte.
    pub end: usize,
    /// The file ends inside this body.
    pub truncated: bool,
}

/// One heap dump of the file. HotSpot writes one per file; the JVMTI hprof agent writes one per
/// request into the same file, each a HEAP DUMP record or a run of HEAP DUMP SEGMENTs closed by
/// HEAP DUMP END. Their objects must never be mixed: one is analysed (see [`Directory::read_dump`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HeapDump {
    /// 1-based, in file order (as MAT numbers them, `#1`, `#2`).
    pub number: u32,
    /// Offset of its first record.
    pub offset: u64,
    /// Bytes of its record bodies.
    pub bytes: u64,
    /// Its non-empty HEAP DUMP / HEAP DUMP SEGMENT records.
    pub records: u64,
    /// Closed as the format says (a HEAP DUMP record, or segments then HEAP DUMP END).
    pub complete: bool,
    #[serde(skip)]
    segmented: bool,
    /// Its bodies: `first_body..first_body + bodies` of all the file's bodies, in file order.
    #[serde(skip)]
    first_body: usize,
    #[serde(skip)]
    bodies: usize,
}

/// Everything outside the heap dump bodies, plus where those bodies are.
pub struct Directory<'a> {
    pub data: &'a [u8],
    pub header: Header,
    /// STRING records: id -> UTF-8 bytes, borrowed from the dump.
    pub strings: HashMap<u64, &'a [u8]>,
    pub loaded_classes: Vec<LoadClass>,
    pub stack_frames: Vec<StackFrame>,
    /// STACK TRACE records: (serial, thread serial, frame ids offset in the file, frame count).
    pub stack_traces: Vec<(u32, u32, Vec<u64>)>,
    /// The bodies of the analysed heap dump (only its own: see [`Directory::dumps`]).
    pub heap_bodies: Vec<HeapBody>,
    /// Every heap dump of the file, in file order (empty when it holds no objects at all).
    pub dumps: Vec<HeapDump>,
    /// Index in `dumps` of the one analysed.
    pub chosen: usize,
    pub record_counts: HashMap<u8, u64>,
    /// Offset where reading stopped (the file length when all went well).
    pub end_offset: u64,
    pub warnings: Vec<Warning>,
    /// Set when reading stopped early at an error that is not a plain truncation.
    pub error: Option<HprofError>,
    /// A HEAP DUMP END record was seen (HotSpot writes one after segments).
    pub saw_heap_dump_end: bool,
    /// The file reads cleanly but lacks the record it should end with (see
    /// [`Directory::note_missing_end`]): truncated on a record boundary.
    pub ends_early: bool,
    /// The file ends inside a record (even one whose body had not begun, which leaves no
    /// heap body to carry the mark).
    pub cut_inside_record: bool,
}

impl<'a> Directory<'a> {
    /// Reads the header (an error there is fatal) and then as many records as can be read; a
    /// problem after the header becomes a warning and the directory covers what came before it.
    pub fn read(data: &'a [u8]) -> Result<Directory<'a>, HprofError> {
        Directory::read_dump(data, None)
    }

    /// [`read`](Self::read), keeping the bodies of heap dump `choice` (1-based; default the
    /// last, as the latest state of the heap). A file of several dumps says so in a warning. A
    /// choice the file does not hold is an error.
    pub fn read_dump(data: &'a [u8], choice: Option<u32>) -> Result<Directory<'a>, HprofError> {
        let mut d = Directory::read_all(data)?;
        d.choose(choice)?;
        Ok(d)
    }

    fn read_all(data: &'a [u8]) -> Result<Directory<'a>, HprofError> {
        let header = parse_header(data)?;
        let id_size = header.id_size;
        let mut d = Directory {
            data,
            header,
            strings: HashMap::new(),
            loaded_classes: vec![],
            stack_frames: vec![],
            stack_traces: vec![],
            heap_bodies: vec![],
            dumps: vec![],
            chosen: 0,
            record_counts: HashMap::new(),
            end_offset: data.len() as u64,
            warnings: vec![],
            error: None,
            saw_heap_dump_end: false,
            ends_early: false,
            cut_inside_record: false,
        };
        let mut records = Records::new(data, &header);
        let mut groups = DumpGroups::default();
        loop {
            let rec = match records.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    // Where the unreadable record starts (a truncation error's offset is the
                    // end of the data, which would make a file cut inside a record header look
                    // complete).
                    d.end_offset = records.position();
                    d.warnings.push(Warning {
                        offset: e.offset(),
                        message: format!("stopped reading: {e}"),
                    });
                    if !e.is_truncation() {
                        d.error = Some(e);
                    }
                    break;
                }
            };
            *d.record_counts.entry(rec.tag.0).or_default() += 1;
            if rec.length_repaired {
                d.warnings.push(Warning {
                    offset: rec.offset,
                    message: format!("the {} record's length field is too small for its contents (a dump over 4 GiB written as one record); read it to byte {}", rec.tag, rec.body_offset() + rec.body.len() as u64),
                });
            }
            if rec.truncated {
                d.cut_inside_record = true;
                // A heap dump body is read as far as it goes; any other cut record is not used,
                // so reading stopped where it starts.
                d.end_offset = if rec.tag.is_heap_dump() {
                    data.len() as u64
                } else {
                    rec.offset
                };
                d.warnings.push(Warning {
                    offset: data.len() as u64,
                    message: format!("the file is truncated: it ends inside the {} record that starts at byte {}; analysed what was there", rec.tag, rec.offset),
                });
            }
            let res: Result<(), HprofError> = (|| {
                match rec.tag {
                    Tag::STRING if !rec.truncated => {
                        let (id, s) = parse_string(&rec, id_size)?;
                        d.strings.insert(id, s);
                    }
                    Tag::LOAD_CLASS => d.loaded_classes.push(parse_load_class(&rec, id_size)?),
                    Tag::STACK_FRAME => d.stack_frames.push(parse_stack_frame(&rec, id_size)?),
                    Tag::STACK_TRACE => {
                        let t = parse_stack_trace(&rec, id_size)?;
                        d.stack_traces.push((
                            t.serial,
                            t.thread_serial,
                            t.frames(id_size).collect(),
                        ));
                    }
                    // An empty body holds nothing to read: not kept (millions of them must not
                    // cost memory; the record counts still count them).
                    Tag::HEAP_DUMP | Tag::HEAP_DUMP_SEGMENT => {
                        let segment = rec.tag == Tag::HEAP_DUMP_SEGMENT;
                        groups.record(&mut d.dumps, rec.offset, segment, d.heap_bodies.len());
                        if !rec.body.is_empty() {
                            let start = rec.body_offset() as usize;
                            d.heap_bodies.push(HeapBody {
                                start,
                                end: start + rec.body.len(),
                                truncated: rec.truncated,
                            });
                            groups.body(rec.body.len() as u64);
                        }
                        if !segment {
                            groups.close(&mut d.dumps, true);
                        }
                    }
                    Tag::HEAP_DUMP_END => {
                        d.saw_heap_dump_end = true;
                        groups.close(&mut d.dumps, true);
                    }
                    _ => {}
                }
                Ok(())
            })();
            if let Err(e) = res {
                // A malformed small record: note it and go on, the rest of the file is fine.
                d.warnings.push(Warning {
                    offset: e.offset(),
                    message: format!("skipped a malformed record: {e}"),
                });
            }
        }
        groups.close(&mut d.dumps, false);
        d.note_missing_end();
        Ok(d)
    }

    /// Keeps only the bodies of dump `choice` (default the last) and notes the choice when the
    /// file holds more than one dump.
    fn choose(&mut self, choice: Option<u32>) -> Result<(), HprofError> {
        let n = self.dumps.len() as u32;
        let number = match choice {
            None => n.max(1),
            Some(k) if k >= 1 && k <= n.max(1) => k,
            Some(k) => return Err(HprofError::NoSuchDump { asked: k, dumps: n }),
        };
        let Some(dump) = self.dumps.get(number as usize - 1).copied() else {
            return Ok(()); // no dump at all: nothing to keep or drop
        };
        self.chosen = number as usize - 1;
        if n > 1 {
            let all = std::mem::take(&mut self.heap_bodies);
            self.heap_bodies = all[dump.first_body..dump.first_body + dump.bodies].to_vec();
            let listed: Vec<String> = self
                .dumps
                .iter()
                .map(|h| format!("#{} at byte {} ({} bytes)", h.number, h.offset, h.bytes))
                .collect();
            let which = match choice {
                None => format!("#{number}, the last"),
                Some(_) => format!("#{number}"),
            };
            self.warnings.push(Warning {
                offset: dump.offset,
                message: format!(
                    "the file holds {n} heap dumps ({}); analysed only {which} (choose another with --dump N)",
                    listed.join(", ")
                ),
            });
        }
        Ok(())
    }

    /// The heap dump analysed, if the file holds any.
    pub fn chosen_dump(&self) -> Option<&HeapDump> {
        self.dumps.get(self.chosen)
    }

    /// A dump cut on a record boundary reads cleanly to its end: what tells it is truncated is
    /// the record that should come last. HotSpot ends a segmented dump with HEAP DUMP END (and
    /// JDK 17+ writes the GC roots in the last segments, so such a cut loses them all).
    fn note_missing_end(&mut self) {
        if self.error.is_some()
            || self.end_offset < self.data.len() as u64
            || self.cut_inside_record
        {
            return; // reading stopped early, or inside a record, and said so
        }
        let segmented = self.record_counts.contains_key(&Tag::HEAP_DUMP_SEGMENT.0);
        // The last dump's segments must be closed too (an earlier dump's HEAP DUMP END does not
        // close it).
        let last_open = self
            .dumps
            .last()
            .is_some_and(|d| d.segmented && !d.complete);
        let message = if (segmented && !self.saw_heap_dump_end) || last_open {
            "the file is truncated: it ends without the HEAP DUMP END record that closes a segmented heap dump (cut on a record boundary?); analysed what was there, and GC roots written last may be missing"
        } else {
            return;
        };
        self.ends_early = true;
        self.warnings.push(Warning {
            offset: self.data.len() as u64,
            message: message.into(),
        });
    }

    /// The number of heap dumps in the file.
    pub fn dump_count(&self) -> usize {
        self.dumps.len()
    }

    pub fn id_size(&self) -> u8 {
        self.header.id_size
    }

    /// A STRING record's text (lossy for invalid UTF-8).
    pub fn string(&self, id: u64) -> Option<std::borrow::Cow<'a, str>> {
        self.strings.get(&id).map(|b| String::from_utf8_lossy(b))
    }

    /// HEAP DUMP and HEAP DUMP SEGMENT records, empty ones included.
    pub fn heap_records(&self) -> u64 {
        [Tag::HEAP_DUMP, Tag::HEAP_DUMP_SEGMENT]
            .iter()
            .map(|t| self.record_counts.get(&t.0).copied().unwrap_or(0))
            .sum()
    }

    /// Total bytes of heap dump bodies.
    pub fn heap_bytes(&self) -> u64 {
        self.heap_bodies
            .iter()
            .map(|b| (b.end - b.start) as u64)
            .sum()
    }
}

/// Groups heap dump records into dumps while the directory is read: a HEAP DUMP record is one
/// dump; segments run until HEAP DUMP END. A dump with no non-empty record is not kept (millions
/// of empty records cost nothing).
#[derive(Default)]
struct DumpGroups {
    open: Option<HeapDump>,
}

impl DumpGroups {
    /// A heap dump record at `offset`; `next_body` is the index its body will get.
    fn record(&mut self, dumps: &mut Vec<HeapDump>, offset: u64, segment: bool, next_body: usize) {
        if self
            .open
            .is_some_and(|g| g.segmented != segment || !segment)
        {
            self.close(dumps, false); // a HEAP DUMP after open segments: they ended unclosed
        }
        self.open.get_or_insert(HeapDump {
            number: 0,
            offset,
            bytes: 0,
            records: 0,
            complete: false,
            segmented: segment,
            first_body: next_body,
            bodies: 0,
        });
    }

    fn body(&mut self, len: u64) {
        if let Some(g) = &mut self.open {
            g.bytes += len;
            g.records += 1;
            g.bodies += 1;
        }
    }

    fn close(&mut self, dumps: &mut Vec<HeapDump>, complete: bool) {
        if let Some(mut g) = self.open.take() {
            if g.bodies > 0 {
                g.complete = complete;
                g.number = dumps.len() as u32 + 1;
                dumps.push(g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4-byte-id header, then records of (tag, body length).
    fn file(records: &[(u8, usize)]) -> Vec<u8> {
        let mut b = b"JAVA PROFILE 1.0.2\0".to_vec();
        b.extend_from_slice(&4u32.to_be_bytes());
        b.extend_from_slice(&[0; 8]);
        for &(tag, len) in records {
            b.push(tag);
            b.extend_from_slice(&0u32.to_be_bytes());
            b.extend_from_slice(&(len as u32).to_be_bytes());
            // HEAP DUMP INFO sub-records (tag 0xFE, type u4, name id u4): 9 bytes each.
            for _ in 0..len / 9 {
                b.push(0xFE);
                b.extend_from_slice(&[0; 8]);
            }
        }
        b
    }

    #[test]
    fn dumps_are_told_apart_and_one_is_kept() {
        // Two segmented dumps, then one HEAP DUMP record; empty segments make no dump.
        let data = file(&[
            (0x1C, 9),
            (0x1C, 18),
            (0x2C, 0),
            (0x1C, 0),
            (0x2C, 0),
            (0x1C, 9),
            (0x2C, 0),
            (0x0C, 27),
        ]);
        let d = Directory::read(&data).unwrap();
        assert_eq!(d.dumps.len(), 3);
        assert_eq!(d.chosen, 2);
        assert_eq!(d.heap_bodies.len(), 1);
        assert_eq!(d.heap_bytes(), 27);
        assert!(d.dumps.iter().all(|h| h.complete));
        assert_eq!(
            d.dumps
                .iter()
                .map(|h| (h.number, h.records, h.bytes))
                .collect::<Vec<_>>(),
            vec![(1, 2, 27), (2, 1, 9), (3, 1, 27)]
        );
        assert!(d
            .warnings
            .iter()
            .any(|w| w.message.contains("3 heap dumps")));
        let first = Directory::read_dump(&data, Some(1)).unwrap();
        assert_eq!(first.heap_bytes(), 27);
        assert_eq!(first.heap_bodies.len(), 2);
        assert!(matches!(
            Directory::read_dump(&data, Some(4)),
            Err(HprofError::NoSuchDump { asked: 4, dumps: 3 })
        ));
        assert!(Directory::read_dump(&data, Some(0)).is_err());
    }

    #[test]
    fn one_dump_says_nothing_and_an_unclosed_last_dump_is_truncated() {
        let one = file(&[(0x1C, 9), (0x1C, 9), (0x2C, 0)]);
        let d = Directory::read_dump(&one, Some(1)).unwrap();
        assert_eq!(d.dumps.len(), 1);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        // The first dump is closed, the second is cut before its HEAP DUMP END.
        let cut = file(&[(0x1C, 9), (0x2C, 0), (0x1C, 9)]);
        let d = Directory::read(&cut).unwrap();
        assert!(d.ends_early);
        assert!(!d.dumps[1].complete);
    }

    /// Cut right after a heap dump record's header: no body was read, so no heap body can say
    /// the file is truncated; the directory must.
    #[test]
    fn a_cut_before_any_body_byte_is_still_a_cut() {
        let whole = file(&[(0x1C, 9), (0x0C, 9)]);
        let cut = &whole[..whole.len() - 9];
        let d = Directory::read(cut).unwrap();
        assert!(d.heap_bodies.iter().all(|b| !b.truncated));
        assert!(d.cut_inside_record);
        assert!(d
            .warnings
            .iter()
            .any(|w| w.offset == cut.len() as u64 && w.message.contains("truncated")));
    }
}
