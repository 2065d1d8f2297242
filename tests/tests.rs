//! Integration tests, in one binary (one link step instead of many).

mod analyze;
mod bad_input;
mod classloaders;
mod cli;
mod collections;
mod diff;
mod generated;
mod graph;
mod instance_sizes;
mod jvm_histogram;
mod jvms;
mod native;
mod oracle;
mod reachability;
mod regression;
mod retained_set;
mod support;
mod suspects;
mod synthetic;
