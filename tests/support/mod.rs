pub mod hprof_writer;
pub mod jdk_classes;
pub mod jvm;
