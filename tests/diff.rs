//! `oomsleuth diff` on a real JVM that grows between dumps (fixtures/src/GrowingLeak.java, three
//! dumps taken by capture.sh at the moments the fixture signals). The oracles are Java's own
//! `size()` of each structure at each step (planted.json) and `jmap -histo:live` before each dump.

use crate::support::jvm::{capture_steps, have, Jdk, StepsCapture};

/// The sources GrowingLeak is made of: other fixtures' edits do not invalidate its captures.
const SOURCES: [&str; 2] = ["GrowingLeak.java", "Planted.java"];

fn growing(jdk: Jdk) -> StepsCapture {
    capture_steps("GrowingLeak", &SOURCES, jdk, 3)
}

/// Java's `size()` of structure `name` ("leak", "fill_once", ...) at every step.
fn java_sizes(cap: &StepsCapture, name: &str) -> Vec<u64> {
    cap.planted["steps"]
        .as_array()
        .expect("planted.json has steps")
        .iter()
        .map(|s| s[name].as_u64().expect("a size"))
        .collect()
}

fn planted_field(cap: &StepsCapture, name: &str) -> String {
    let s = &cap.planted["structures"][name];
    format!(
        "{}.{}",
        s["holder"].as_str().unwrap(),
        s["field"].as_str().unwrap()
    )
}

/// The fixture itself: three steps, and the JVM's histograms agree with what it says it planted.
#[test]
fn growing_leak_fixture_counts_what_the_jvm_counts() {
    for jdk in [Jdk::J17, Jdk::J21] {
        if !have(jdk) {
            continue;
        }
        let cap = growing(jdk);
        assert_eq!(cap.hprofs.len(), 3);
        let leak = java_sizes(&cap, "leak");
        assert!(leak.windows(2).all(|w| w[1] > w[0]), "{leak:?}");
        let cache = java_sizes(&cap, "fill_once");
        assert!(cache[1] > cache[0] && cache[2] == cache[1], "{cache:?}");
        for (k, histo) in cap.histos.iter().enumerate() {
            assert_eq!(
                histo.instances("com.example.GrowingLeak$Session"),
                leak[k],
                "{jdk} step {}",
                k + 1
            );
        }
        assert_eq!(
            planted_field(&cap, "leak"),
            "com.example.GrowingLeak.SESSIONS"
        );
    }
}
