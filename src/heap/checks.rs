//! What a dump's writer got wrong and the reader survives: each finding is repaired so that
//! every analysis goes on, and said once as a warning (how many, a few examples), never per
//! record. Also the GC roots of last resort for a dump that lost its own (see [`fallback_roots`]).

use super::census::Census;
use super::classes::{ClassIndex, ClassTable, NO_CLASS};
use super::index::{ObjectIndex, Root};
use crate::formats::hprof::{RootKind, Warning};

/// How many example names a warning lists.
const EXAMPLES: usize = 3;

/// Cuts every superclass cycle (A -> B -> A, a class its own superclass): the class whose
/// superclass closes the cycle is taken to have none, so walks up the hierarchy end and sizes
/// count each field once. Linear in the number of classes: each is visited once.
pub fn break_superclass_cycles(classes: &mut ClassTable<'_>) -> Option<Warning> {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let n = classes.classes.len();
    let mut state = vec![NEW; n];
    let mut cut: Vec<ClassIndex> = vec![];
    let mut path: Vec<ClassIndex> = vec![];
    for start in 0..n {
        let mut cur = start as ClassIndex;
        while cur != NO_CLASS && state[cur as usize] == NEW {
            state[cur as usize] = ON_PATH;
            path.push(cur);
            cur = classes.classes[cur as usize].super_index;
        }
        if cur != NO_CLASS && state[cur as usize] == ON_PATH {
            // The last class on the path names a class already on it: the cycle closes there.
            let last = *path.last().expect("a class was pushed");
            classes.classes[last as usize].super_index = NO_CLASS;
            cut.push(last);
        }
        for c in path.drain(..) {
            state[c as usize] = DONE;
        }
    }
    if cut.is_empty() {
        return None;
    }
    classes.refresh_hierarchy();
    let names: Vec<&str> = cut
        .iter()
        .take(EXAMPLES)
        .map(|&c| classes.classes[c as usize].name.as_str())
        .collect();
    Some(Warning {
        offset: 0,
        message: format!(
            "{} superclass cycle(s) in the CLASS DUMP records (a class that is its own superclass, directly or through others: {}{}); each was cut at that class, taken to have no superclass",
            cut.len(),
            names.join(", "),
            if cut.len() > EXAMPLES { ", ..." } else { "" }
        ),
    })
}

/// Objects whose class id has no CLASS DUMP record: they are counted (as `<unknown class>`) with
/// a size of 0 and their fields cannot be read. Said for every output, whatever it shows.
pub fn undeclared_classes(census: &Census<'_>, classes: &ClassTable<'_>) -> Option<Warning> {
    let mut ids: Vec<u64> = census
        .by_class
        .iter()
        .filter(|(id, c)| c.instances > 0 && classes.index_of(**id).is_none())
        .map(|(id, _)| *id)
        .collect();
    if ids.is_empty() {
        return None;
    }
    ids.sort_unstable();
    let objects: u64 = ids.iter().map(|id| census.by_class[id].instances).sum();
    let shown: Vec<String> = ids
        .iter()
        .take(EXAMPLES)
        .map(|id| format!("0x{id:x}"))
        .collect();
    Some(Warning {
        offset: 0,
        message: format!(
            "{objects} object(s) are of {} class id(s) that have no CLASS DUMP record ({}{}): their sizes are unknown and counted as 0, and their fields cannot be read",
            ids.len(),
            shown.join(", "),
            if ids.len() > EXAMPLES { ", ..." } else { "" }
        ),
    })
}

/// Which GC roots of last resort were taken (see [`fallback_roots`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RootFallback {
    /// The dump's own roots were used.
    None = 0,
    /// System classes (defined by the bootstrap loader) and thread objects.
    SystemClassesAndThreads = 1,
    /// Every object that no other object references.
    Unreferenced = 2,
}

impl RootFallback {
    pub fn from_code(c: u64) -> Option<RootFallback> {
        match c {
            0 => Some(RootFallback::None),
            1 => Some(RootFallback::SystemClassesAndThreads),
            2 => Some(RootFallback::Unreferenced),
            _ => None,
        }
    }

    pub fn warning(self) -> Option<String> {
        let why = "the dump has no GC root that names an object in it (a truncated JDK 17+ dump loses them all: they are written last)";
        match self {
            RootFallback::None => None,
            RootFallback::SystemClassesAndThreads => Some(format!("{why}: as Eclipse MAT does, system classes (defined by the bootstrap loader) and thread objects were taken as the GC roots; what is reachable, retained sizes and paths rest on that")),
            RootFallback::Unreferenced => Some(format!("{why}, nor a system class or thread object: as Eclipse MAT does, every object that no other object references was taken as a GC root; what is reachable, retained sizes and paths rest on that")),
        }
    }
}

/// What the fallback needs of the index being built.
pub struct RootEvidence<'x> {
    pub classes: &'x ClassTable<'x>,
    /// Class of each object (`NO_CLASS` when unknown).
    pub class_of: &'x [ClassIndex],
    /// Class objects: object number -> class index.
    pub class_objects: &'x [(ObjectIndex, ClassIndex)],
    /// Every object-to-object reference target.
    pub targets: &'x [ObjectIndex],
}

/// The roots MAT falls back to when a dump has none: system classes and thread objects, else
/// every object no other object references. Costs one pass over the objects (and, for the last
/// resort, over the references, with a bit per object).
pub fn fallback_roots(e: &RootEvidence<'_>) -> (Vec<Root>, RootFallback) {
    let root = |object, kind| Root {
        object,
        kind,
        thread_serial: None,
        frame: None,
    };
    let mut roots: Vec<Root> = e
        .class_objects
        .iter()
        .filter(|&&(_, c)| e.classes.get(c).loader_id == 0)
        .map(|&(o, _)| root(o, RootKind::StickyClass))
        .collect();
    let thread = thread_classes(e.classes);
    roots.extend(
        e.class_of
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != NO_CLASS && thread.get(c as usize) == Some(&true))
            .map(|(o, _)| root(o as ObjectIndex, RootKind::ThreadObject)),
    );
    if !roots.is_empty() {
        return (roots, RootFallback::SystemClassesAndThreads);
    }
    let n = e.class_of.len();
    let mut referenced = vec![0u64; n.div_ceil(64)];
    for &t in e.targets {
        if (t as usize) < n {
            referenced[t as usize / 64] |= 1 << (t % 64);
        }
    }
    let roots: Vec<Root> = (0..n)
        .filter(|&o| referenced[o / 64] & (1 << (o % 64)) == 0)
        .map(|o| root(o as ObjectIndex, RootKind::Unknown))
        .collect();
    if roots.is_empty() {
        return (roots, RootFallback::None);
    }
    (roots, RootFallback::Unreferenced)
}

/// Per class: whether it is `java.lang.Thread` or a subclass. Each class's answer is found once
/// (memoised up the chain), so deep hierarchies stay linear.
fn thread_classes(classes: &ClassTable<'_>) -> Vec<bool> {
    const UNKNOWN: u8 = 2;
    let n = classes.classes.len();
    let mut memo = vec![UNKNOWN; n];
    let Some(thread) = classes.find("java.lang.Thread") else {
        return vec![false; n];
    };
    let mut path = vec![];
    for start in 0..n {
        let mut cur = start as ClassIndex;
        let mut answer = 0u8;
        // Bounded by the number of classes: a cycle (not cut yet) cannot loop forever.
        while cur != NO_CLASS && path.len() <= n {
            if memo[cur as usize] != UNKNOWN {
                answer = memo[cur as usize];
                break;
            }
            if cur == thread {
                answer = 1;
                break;
            }
            path.push(cur);
            cur = classes.classes[cur as usize].super_index;
        }
        for c in path.drain(..) {
            memo[c as usize] = answer;
        }
        if start as ClassIndex == thread {
            memo[start] = 1;
        }
    }
    memo.into_iter().map(|m| m == 1).collect()
}

/// The warnings for what the index found wrong with the dump's objects and roots.
pub fn index_warnings(
    dangling_roots: u64,
    duplicate_ids: u64,
    fallback: RootFallback,
) -> Vec<Warning> {
    let mut w = vec![];
    if dangling_roots > 0 {
        w.push(format!("{dangling_roots} GC root record(s) name objects that are not in the dump; they were ignored"));
    }
    if duplicate_ids > 0 {
        w.push(format!("{duplicate_ids} object id(s) are used by more than one record (a damaged or hand-made dump); the graph keeps the first record of each id, while the histogram counts every record"));
    }
    w.extend(fallback.warning());
    w.into_iter()
        .map(|message| Warning { offset: 0, message })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::hprof::Directory;

    /// A 4-byte-id dump of one HEAP DUMP record holding CLASS DUMPs of (class id, super id),
    /// without fields or names.
    fn classes_dump(classes: &[(u32, u32)]) -> Vec<u8> {
        let mut body = vec![];
        for &(id, sup) in classes {
            body.push(0x20);
            for v in [id, 0, sup, 0, 0, 0, 0, 0, 8] {
                body.extend_from_slice(&v.to_be_bytes()); // ids and u4s alike: 4 bytes
            }
            body.extend_from_slice(&[0; 6]); // no constants, statics or fields
        }
        let mut b = b"JAVA PROFILE 1.0.2\0".to_vec();
        b.extend_from_slice(&4u32.to_be_bytes());
        b.extend_from_slice(&[0; 8]);
        b.push(0x0C);
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&(body.len() as u32).to_be_bytes());
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn every_superclass_cycle_is_cut_once_and_chains_end() {
        // 1 -> 2 -> 1 and 3 -> 3 are cycles; 4 leads into one; 5 has no superclass.
        let data = classes_dump(&[(1, 2), (2, 1), (3, 3), (4, 1), (5, 0)]);
        let dir = Directory::read(&data).unwrap();
        let census = Census::scan(&dir, &|_| {});
        let mut classes = ClassTable::build(&dir, &census.class_dumps);
        assert_eq!(classes.len(), 5);
        let w = break_superclass_cycles(&mut classes).expect("a warning");
        assert!(
            w.message.starts_with("2 superclass cycle(s)"),
            "{}",
            w.message
        );
        for c in 0..5 {
            let chain: Vec<ClassIndex> = classes.ancestry(c).collect();
            assert!(chain.len() <= 3, "class {c}: {chain:?}");
        }
        // Cut where each cycle closes, nowhere else: 4 still extends 1, 1 still extends 2.
        let sup = |id: u64| {
            let c = classes.get(classes.index_of(id).unwrap()).super_index;
            (c != NO_CLASS).then(|| classes.get(c).id)
        };
        assert_eq!(sup(4), Some(1));
        assert_eq!(sup(1), Some(2));
        assert_eq!(sup(2), None);
        assert_eq!(sup(3), None);
        assert!(break_superclass_cycles(&mut classes).is_none());
    }

    #[test]
    fn index_warnings_say_each_finding_once() {
        assert!(index_warnings(0, 0, RootFallback::None).is_empty());
        let w = index_warnings(100_000, 2, RootFallback::Unreferenced);
        assert_eq!(w.len(), 3);
        assert!(w[0].message.starts_with("100000 GC root record(s)"));
        assert!(w[2].message.contains("no other object references"));
        for f in [
            RootFallback::None,
            RootFallback::SystemClassesAndThreads,
            RootFallback::Unreferenced,
        ] {
            assert_eq!(RootFallback::from_code(f as u64), Some(f));
        }
        assert_eq!(RootFallback::from_code(3), None);
    }
}
