//! File formats: bytes and text in, typed records out. Nothing here analyses or prints.

pub mod classfile;
pub mod core;
pub mod files;
pub mod hprof;
pub mod hsperf;
pub mod logs;
