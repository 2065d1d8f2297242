//! One parallel pass over every heap dump sub-record that counts objects per class and collects
//! the class dumps: all the class histogram needs, without building an object index.
//!
//! Work is split by heap dump body: HotSpot (JDK 13+) writes bodies of about 1 MiB, so there are
//! thousands of independent units; older single-record dumps are walked by one thread.

use super::fxhash::{new_map, FxHashMap};
use crate::formats::hprof::{
    BasicType, ClassDump, Directory, GcRoot, HeapBody, ObjectKind, RootKind, SubRecord, SubRecords,
    Warning,
};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Counts for one class: plain instances, or arrays with what their sizes need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub instances: u64,
    /// Arrays only: total elements.
    pub elements: u64,
    /// Arrays only: how many arrays have a length of each residue modulo 8 (their padding
    /// depends only on that, so sizes can be computed after the layout is known).
    pub by_len_mod8: [u64; 8],
}

impl Counts {
    #[inline]
    fn add_array(&mut self, len: u32) {
        self.instances += 1;
        self.elements += len as u64;
        self.by_len_mod8[(len & 7) as usize] += 1;
    }

    fn merge(&mut self, o: &Counts) {
        self.instances += o.instances;
        self.elements += o.elements;
        for i in 0..8 {
            self.by_len_mod8[i] += o.by_len_mod8[i];
        }
    }
}

/// What an object was, for the address-gap samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectShape {
    Instance { class_id: u64 },
    ObjectArray { class_id: u64, len: u32 },
    PrimitiveArray { ty: BasicType, len: u32 },
}

/// An object and the distance to the next object's address in the same body. After a full GC
/// (`jmap -dump:live`) objects are packed, so the distance is the object's real size: the
/// evidence used to tell compressed oops and header sizes from the dump itself.
#[derive(Clone, Copy, Debug)]
pub struct GapSample {
    pub shape: ObjectShape,
    pub gap: u64,
}

/// A heap body with the range of object ids it holds (to find an object without an index).
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub body: HeapBody,
    pub min_id: u64,
    pub max_id: u64,
    pub objects: u64,
}

/// Result of the census pass.
pub struct Census<'a> {
    pub class_dumps: Vec<ClassDump<'a>>,
    /// Instances and object arrays per class id.
    pub by_class: FxHashMap<u64, Counts>,
    /// Primitive arrays per element type (`BasicType::index`).
    pub primitive_arrays: [Counts; 9],
    pub roots: BTreeMap<RootKind, u64>,
    /// Every GC root record, in file order (a few per thread and loaded class: small).
    pub gc_roots: Vec<GcRoot>,
    pub objects: u64,
    pub units: Vec<Unit>,
    pub gap_samples: Vec<GapSample>,
    pub warnings: Vec<Warning>,
}

const SAMPLES_PER_UNIT: usize = 256;

struct Partial<'a> {
    class_dumps: Vec<ClassDump<'a>>,
    by_class: FxHashMap<u64, Counts>,
    primitive_arrays: [Counts; 9],
    roots: BTreeMap<RootKind, u64>,
    gc_roots: Vec<GcRoot>,
    objects: u64,
    unit: Unit,
    samples: Vec<GapSample>,
    warning: Option<Warning>,
}

fn scan_body<'a>(
    dir: &Directory<'a>,
    body: HeapBody,
    progress: &(dyn Fn(u64) + Sync),
) -> Partial<'a> {
    if dir.id_size() == 4 {
        scan_body_ids::<4>(dir, body, progress)
    } else {
        scan_body_ids::<8>(dir, body, progress)
    }
}

/// Counts of the current run of instances of one class: objects of one class often come in runs,
/// so most instances cost no map lookup.
struct Run {
    class_id: u64,
    instances: u64,
}

fn flush(run: &mut Run, by_class: &mut FxHashMap<u64, Counts>) {
    if run.instances > 0 {
        by_class.entry(run.class_id).or_default().instances += run.instances;
        run.instances = 0;
    }
}

/// Counts one object (from the fast header path or a full record alike) and returns its id and
/// shape for the gap samples: the one place that knows how each kind of object is counted.
#[inline]
fn count_object(
    p: &mut Partial<'_>,
    run: &mut Run,
    id: u64,
    kind: ObjectKind,
    class_id: u64,
    length: u32,
) -> (u64, ObjectShape) {
    match kind {
        ObjectKind::Instance => {
            if class_id != run.class_id {
                flush(run, &mut p.by_class);
                run.class_id = class_id;
            }
            run.instances += 1;
            (id, ObjectShape::Instance { class_id })
        }
        ObjectKind::ObjectArray => {
            p.by_class.entry(class_id).or_default().add_array(length);
            (
                id,
                ObjectShape::ObjectArray {
                    class_id,
                    len: length,
                },
            )
        }
        ObjectKind::PrimitiveArray(ty) => {
            p.primitive_arrays[ty.index()].add_array(length);
            (id, ObjectShape::PrimitiveArray { ty, len: length })
        }
    }
}

fn scan_body_ids<'a, const ID: usize>(
    dir: &Directory<'a>,
    body: HeapBody,
    progress: &(dyn Fn(u64) + Sync),
) -> Partial<'a> {
    let mut p = Partial {
        class_dumps: vec![],
        by_class: new_map(),
        primitive_arrays: [Counts::default(); 9],
        roots: BTreeMap::new(),
        gc_roots: vec![],
        objects: 0,
        unit: Unit {
            body,
            min_id: u64::MAX,
            max_id: 0,
            objects: 0,
        },
        samples: vec![],
        warning: None,
    };
    let mut subs = SubRecords::new(dir.data, body.start, body.end, dir.id_size());
    let mut run = Run {
        class_id: u64::MAX,
        instances: 0,
    };
    let mut prev: Option<(u64, ObjectShape)> = None;
    let mut reported = body.start as u64;
    loop {
        let (id, shape) = if let Some(h) = subs.next_object::<ID>() {
            count_object(&mut p, &mut run, h.id, h.kind, h.class_id, h.length)
        } else {
            let rec = match subs.next_sub_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    let message = if e.is_truncation() {
                        format!("the file is truncated inside a heap dump record: {e}; analysed the objects before it")
                    } else {
                        format!("stopped reading this heap dump segment: {e}")
                    };
                    p.warning = Some(Warning {
                        offset: e.offset(),
                        message,
                    });
                    break;
                }
            };
            match rec {
                // Objects the fast path declined (it never declines a complete object record, so
                // these are not expected; counted by the same helper all the same).
                SubRecord::Instance(i) => {
                    count_object(&mut p, &mut run, i.id, ObjectKind::Instance, i.class_id, 0)
                }
                SubRecord::ObjectArray(a) => count_object(
                    &mut p,
                    &mut run,
                    a.id,
                    ObjectKind::ObjectArray,
                    a.class_id,
                    a.length,
                ),
                SubRecord::PrimitiveArray(a) => count_object(
                    &mut p,
                    &mut run,
                    a.id,
                    ObjectKind::PrimitiveArray(a.element_type),
                    0,
                    a.length,
                ),
                SubRecord::Class(c) => {
                    p.class_dumps.push(c);
                    prev = None;
                    continue;
                }
                SubRecord::Root(r) => {
                    *p.roots.entry(r.kind).or_default() += 1;
                    p.gc_roots.push(r);
                    continue;
                }
                SubRecord::HeapDumpInfo { .. } => {
                    prev = None;
                    continue;
                }
            }
        };
        p.objects += 1;
        p.unit.min_id = p.unit.min_id.min(id);
        p.unit.max_id = p.unit.max_id.max(id);
        if p.samples.len() < SAMPLES_PER_UNIT {
            if let Some((pid, pshape)) = prev {
                if id > pid {
                    p.samples.push(GapSample {
                        shape: pshape,
                        gap: id - pid,
                    });
                }
            }
            prev = Some((id, shape));
        }
        if p.objects & 0xFFFF == 0 {
            let pos = subs.position();
            progress(pos - reported);
            reported = pos;
        }
    }
    flush(&mut run, &mut p.by_class);
    progress(body.end as u64 - reported);
    p.unit.objects = p.objects;
    p
}

impl<'a> Census<'a> {
    /// Runs the pass over every heap body of `dir`. `progress` is called with bytes done.
    pub fn scan(dir: &Directory<'a>, progress: &(dyn Fn(u64) + Sync)) -> Census<'a> {
        let mut c = Census {
            class_dumps: vec![],
            by_class: new_map(),
            primitive_arrays: [Counts::default(); 9],
            roots: BTreeMap::new(),
            gc_roots: vec![],
            objects: 0,
            units: vec![],
            gap_samples: vec![],
            warnings: vec![],
        };
        // A batch of bodies at a time: a partial result takes about 1 KB, and a dump of millions
        // of empty segments (9 bytes each) must not cost a gigabyte of them at once.
        for batch in dir.heap_bodies.chunks(4096) {
            let parts: Vec<Partial<'a>> = batch
                .par_iter()
                .map(|&b| scan_body(dir, b, progress))
                .collect();
            c.merge(parts);
        }
        c
    }

    /// Adds the partial results of consecutive bodies, in order.
    fn merge(&mut self, parts: Vec<Partial<'a>>) {
        let c = self;
        for p in parts {
            c.class_dumps.extend(p.class_dumps);
            for (k, v) in p.by_class {
                c.by_class.entry(k).or_default().merge(&v);
            }
            for i in 0..9 {
                c.primitive_arrays[i].merge(&p.primitive_arrays[i]);
            }
            for (k, v) in p.roots {
                *c.roots.entry(k).or_default() += v;
            }
            c.gc_roots.extend(p.gc_roots);
            c.objects += p.objects;
            // Only bodies with objects are walked again (object table, lookups by id).
            if p.unit.objects > 0 {
                c.units.push(p.unit);
            }
            c.gap_samples.extend(p.samples);
            if let Some(w) = p.warning {
                c.warnings.push(w);
            }
        }
    }

    /// Finds the sub-record of the object with id `id` by walking the bodies whose id range
    /// holds it. For a handful of lookups (version strings and the like), not for graph work.
    pub fn find_object(&self, dir: &Directory<'a>, id: u64) -> Option<SubRecord<'a>> {
        for u in &self.units {
            if u.objects == 0 || id < u.min_id || id > u.max_id {
                continue;
            }
            let mut subs = SubRecords::new(dir.data, u.body.start, u.body.end, dir.id_size());
            while let Ok(Some(r)) = subs.next_sub_record() {
                let rid = match r {
                    SubRecord::Instance(i) => i.id,
                    SubRecord::ObjectArray(a) => a.id,
                    SubRecord::PrimitiveArray(a) => a.id,
                    _ => continue,
                };
                if rid == id {
                    return Some(r);
                }
            }
        }
        None
    }
}
