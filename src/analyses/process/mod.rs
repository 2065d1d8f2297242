//! Process-evidence analyses, beyond the heap dump: native memory tracking and process maps
//! (`native`), GC and class-loading logs, jstat, class histograms over time, series of
//! snapshots, the JVMs running on this machine, `watch`, and the `verdict` that weighs every
//! kind of evidence (heap dumps included) to say which memory ran out.

pub mod class_growth;
pub mod classlog;
pub mod gclog;
pub mod jstat;
pub mod jvms;
pub mod native;
pub mod scan;
pub mod series;
pub mod verdict;
pub mod watch;
