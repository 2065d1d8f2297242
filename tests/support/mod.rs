pub mod hprof_writer;
pub mod jvm;
