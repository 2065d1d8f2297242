//! Integration tests, in one binary (one link step instead of many).

// The synthetic dumps name their classes com.Foo, com.Bar as HPROF test suites do; `foo` is the
// com.Foo class there, not a placeholder.
#![allow(clippy::disallowed_names)]

mod analyze;
mod attach;
mod bad_input;
mod classloaders;
mod cli;
mod collections;
mod diff;
mod gendump;
mod generated;
mod graph;
mod instance_sizes;
mod jvm_histogram;
mod jvms;
#[cfg(feature = "mcp")]
mod mcp;
mod native;
mod oracle;
mod outputs;
mod reachability;
mod record;
mod regression;
mod retained_set;
#[cfg(feature = "sql")]
mod sql;
mod support;
mod suspects;
mod synthetic;
mod watch;
