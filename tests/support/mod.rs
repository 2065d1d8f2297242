pub mod jvm;
pub mod hprof_writer;
