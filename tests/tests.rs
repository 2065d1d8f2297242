//! Integration tests, in one binary (one link step instead of many).

mod bad_input;
mod cli;
mod graph;
mod jvm_histogram;
mod native;
mod support;
mod synthetic;
