//! Any bytes as a class file, and through the CAFEBABE scanner: `Ok` or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oomsleuth::analyses::process::scan::{Region, Scanner};
use oomsleuth::formats::classfile;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = classfile::parse(data) {
        assert!(c.len <= data.len());
    }
    let mut s = Scanner::new("fuzz".into());
    s.scan(&Region { start: 0, name: "fuzz".into(), perms: "rw-p".into(), bytes: data }, None);
    let _ = s.finish(5, 0.0);
});
