//! Analyses: one module per question a user asks. Each returns a plain `Serialize` struct that
//! is its JSON contract; reports render those structs.

pub mod class_families;
pub mod classloaders;
pub mod collections;
pub mod describe;
pub mod dominator_tree;
pub mod dump_info;
pub mod graph;
pub mod growth;
pub mod histogram;
pub mod inspect;
pub mod jvms;
pub mod metaspace_estimate;
pub mod oql;
pub mod path_summary;
pub mod paths;
#[cfg(feature = "sql")]
pub mod query;
pub mod reflection;
pub mod report;
pub mod retained_set;
pub mod suspects;
pub mod top;
pub mod waste;

// Beyond the heap dump (issue 7): native memory, process maps, GC/class logs, jstat, the verdict.
pub mod class_growth;
pub mod classlog;
pub mod gclog;
pub mod jstat;
pub mod native;
pub mod scan;
pub mod series;
pub mod verdict;
pub mod watch;
