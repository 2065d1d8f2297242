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
    pub heap_bodies: Vec<HeapBody>,
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
}

impl<'a> Directory<'a> {
    /// Reads the header (an error there is fatal) and then as many records as can be read; a
    /// problem after the header becomes a warning and the directory covers what came before it.
    pub fn read(data: &'a [u8]) -> Result<Directory<'a>, HprofError> {
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
            record_counts: HashMap::new(),
            end_offset: data.len() as u64,
            warnings: vec![],
            error: None,
            saw_heap_dump_end: false,
            ends_early: false,
        };
        let mut records = Records::new(data, &header);
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
                    Tag::STRING => {
                        if !rec.truncated {
                            let (id, s) = parse_string(&rec, id_size)?;
                            d.strings.insert(id, s);
                        }
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
                    Tag::HEAP_DUMP | Tag::HEAP_DUMP_SEGMENT => {
                        let start = rec.body_offset() as usize;
                        d.heap_bodies.push(HeapBody {
                            start,
                            end: start + rec.body.len(),
                            truncated: rec.truncated,
                        });
                    }
                    Tag::HEAP_DUMP_END => d.saw_heap_dump_end = true,
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
        d.note_missing_end();
        Ok(d)
    }

    /// A dump cut on a record boundary reads cleanly to its end: what tells it is truncated is
    /// the record that should come last. HotSpot ends a segmented dump with HEAP DUMP END (and
    /// JDK 17+ writes the GC roots in the last segments, so such a cut loses them all).
    fn note_missing_end(&mut self) {
        if self.error.is_some()
            || self.end_offset < self.data.len() as u64
            || self.heap_bodies.iter().any(|b| b.truncated)
        {
            return; // reading stopped early, or inside a record, and said so
        }
        let segmented = self.record_counts.contains_key(&Tag::HEAP_DUMP_SEGMENT.0);
        let message = if segmented && !self.saw_heap_dump_end {
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

    pub fn id_size(&self) -> u8 {
        self.header.id_size
    }

    /// A STRING record's text (lossy for invalid UTF-8).
    pub fn string(&self, id: u64) -> Option<std::borrow::Cow<'a, str>> {
        self.strings.get(&id).map(|b| String::from_utf8_lossy(b))
    }

    /// Total bytes of heap dump bodies.
    pub fn heap_bytes(&self) -> u64 {
        self.heap_bodies
            .iter()
            .map(|b| (b.end - b.start) as u64)
            .sum()
    }
}
