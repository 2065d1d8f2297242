//! An index cache of any bytes for a dump of any bytes: the input is a 4-byte little-endian
//! dump length, the dump, then the cache. The cache's checksum is recomputed and its key set to
//! the dump's first ([`forgery::load`]), so every input reaches the loader's shape checks, as a
//! forged cache would. Loading must accept or reject, never panic or read out of bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::cache::forgery;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let n = u32::from_le_bytes(*len) as usize;
    if n > rest.len() {
        return;
    }
    let (dump, cache) = rest.split_at(n);
    let Ok(bytes) = DumpBytes::from_bytes(Path::new("fuzz.hprof"), dump, None) else {
        return;
    };
    let _ = forgery::load(&bytes, cache);
});
