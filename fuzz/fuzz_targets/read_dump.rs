//! Any bytes, as a plain or gzipped dump, through the whole reading path: header, records,
//! sub-records, class table, census, layout and VM detection, and the histogram. It must return
//! an error or a result, never panic, hang or read out of bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oomsleuth::analyses::heap::histogram::{histogram, Options};
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = DumpBytes::from_bytes(Path::new("fuzz.hprof"), data, None) else {
        return;
    };
    if let Ok(snap) = Snapshot::load(&bytes, Default::default(), &NoProgress) {
        let h = histogram(&snap, &Options::default());
        let _ = serde_json::to_string(&h.total);
    }
});
