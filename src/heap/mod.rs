//! The heap as objects and classes: class table, JVM layout model, census of objects.
//!
//! Uses `formats::hprof`; knows nothing of analyses or reports.

pub mod cache;
pub mod census;
pub mod checks;
pub mod classes;
pub mod column;
pub mod dominators;
pub mod fxhash;
pub mod graph;
pub mod index;
pub mod jdk;
pub mod layout;
pub mod names;
pub mod objects;
pub mod plan;
pub mod reachability;
pub mod retained;
pub mod snapshot;
pub mod timing;
pub mod values;
pub mod vm;
