//! Any bytes as an ELF core file, scanned for class files: a report or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = oomsleuth::analyses::process::scan::scan_core(std::path::Path::new("fuzz.core"), data, 5);
});
