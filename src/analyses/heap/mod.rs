//! Heap-dump analyses: histograms, dominators, leak suspects, class loaders, collections, paths
//! to GC roots, waste, reflection and Metaspace estimates, the growth between dumps, and the
//! SQL/OQL query engines, each over the object graph of `heap`.

pub mod classloaders;
pub mod collections;
pub mod describe;
pub mod dominator_tree;
pub mod dump_info;
pub mod graph;
pub mod growth;
pub mod histogram;
pub mod inspect;
pub mod metaspace_estimate;
pub mod oql;
pub mod path_summary;
pub mod paths;
#[cfg(feature = "sql")]
pub mod query;
pub mod reflection;
pub mod retained_set;
pub mod suspects;
pub mod top;
pub mod waste;
