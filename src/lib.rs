//! oomsleuth finds out why a JVM runs out of memory.
//!
//! Layers, each using only those above it in this list:
//!
//! - [`formats`]: bytes in, typed records out (HPROF);
//! - [`heap`]: classes, the object census, HotSpot's object layout;
//! - [`analyses`]: one module per question (histogram, ...), each returning a `Serialize` struct;
//! - [`reports`]: text and JSON renderings of those structs;
//! - [`commands`]: what each heap command computes from its arguments (opening the graph
//!   through the index cache, finding objects by id), shared by the CLI and the MCP server;
//! - `cli` (binary only): arguments, output choice, exit codes; `oomsleuth mcp` (feature `mcp`).
//!
//! [`live`] reads running processes for the commands that take a PID (beside [`formats`], it hands
//! bytes to the analyses); [`units`] writes numbers for people (hex ids, thousands, binary sizes) for
//! every layer.
//!
//! ```no_run
//! use oomsleuth::formats::hprof::DumpBytes;
//! use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
//! let bytes = DumpBytes::open("heap.hprof".as_ref(), None).unwrap();
//! let snap = Snapshot::load(&bytes, Default::default(), &NoProgress).unwrap();
//! let h = oomsleuth::analyses::heap::histogram::histogram(&snap, &Default::default());
//! println!("{} classes, {} bytes", h.total.classes, h.total.shallow_bytes);
//! ```

pub mod analyses;
pub mod cli;
pub mod commands;
pub mod formats;
pub mod heap;
pub mod inputs;
pub mod reports;
pub mod units;
