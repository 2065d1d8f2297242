//! Any bytes through the `gclog` parser (and format detection): a result, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oomsleuth::formats::logs;

fuzz_target!(|data: &[u8]| {
    let _ = logs::detect(data);
    let text = String::from_utf8_lossy(data);
    let r = logs::gclog::parse(&text);
    let _ = serde_json::to_string(&r);
});
