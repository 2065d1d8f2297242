//! File formats: bytes and text in, typed records out. Nothing here analyses or prints.

pub mod hprof;
