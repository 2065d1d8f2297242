//! oomsleuth finds out why a JVM runs out of memory.
//!
//! Layers, each using only those above it in this list:
//!
//! - [`formats`]: bytes in, typed records out (HPROF, class files, core files, hsperfdata, the
//!   text outputs of JVM and OS tools);
//! - [`inputs`]: the paths a user names, walked, told apart by content and read (the evidence
//!   files beside heap dumps, `analyze`'s sorting), and running processes ([`inputs::live`]:
//!   /proc, hsperfdata, the attach protocol, `record`; it still builds on the scan and JVM list
//!   of `analyses::process`);
//! - [`heap`]: classes, the object census, HotSpot's object layout, the heap index, dominators
//!   and retained sizes, the index cache;
//! - [`analyses`]: one module per question, each returning a `Serialize` struct: `heap/` asks
//!   heap dumps, `process/` the other evidence (NMT, maps, logs, jstat) and gives the verdict;
//!   `report` assembles `analyze`'s document from both;
//! - [`reports`]: text, JSON and HTML renderings of those structs;
//! - [`commands`]: what each heap command computes from its arguments (opening the graph
//!   through the index cache, finding objects by id), shared by the CLI and the MCP server;
//! - `cli` (binary only): arguments, output choice, exit codes; `oomsleuth mcp` (feature `mcp`).
//!
//! [`units`] writes numbers for people (hex ids, thousands, binary sizes) for every layer.
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
