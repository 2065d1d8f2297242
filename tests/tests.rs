//! Integration tests, in one binary (one link step instead of many).

mod support;
mod synthetic;
mod bad_input;
