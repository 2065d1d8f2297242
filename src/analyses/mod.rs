//! Analyses: one module per question a user asks. Each returns a plain `Serialize` struct that
//! is its JSON contract; reports render those structs.

pub mod dump_info;
pub mod histogram;
