//! Analyses: one module per question a user asks. Each returns a plain `Serialize` struct that
//! is its JSON contract; reports render those structs.
//!
//! Two rooms, by what the evidence is:
//!
//! - [`heap`]: questions asked of one heap dump (or of two, for growth), over the object graph
//!   that `heap` builds;
//! - [`process`]: questions asked of a running or dead process's other evidence (native memory
//!   tracking, process maps, GC and class logs, jstat, class histograms, scans of directories of
//!   such files), and the verdict that weighs all of it, heap dumps included.
//!
//! [`class_families`] sits below both: the class-log parser and the heap analyses group generated
//! class names the same way. [`report`] sits above both: `analyze`'s one document, the heap
//! analyses of a dump beside the verdict on the other evidence.

pub mod class_families;
pub mod heap;
pub mod process;
pub mod report;
