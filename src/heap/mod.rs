//! The heap as objects and classes: class table, JVM layout model, census of objects.
//!
//! Uses `formats::hprof`; knows nothing of analyses or reports.

pub mod census;
pub mod classes;
pub mod dominators;
pub mod fxhash;
pub mod graph;
pub mod layout;
pub mod names;
pub mod snapshot;
pub mod values;
pub mod vm;
