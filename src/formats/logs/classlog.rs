//! Class loading and unloading logs:
//!
//! - unified logging (JDK 9+), `-Xlog:class+load,class+unload` with any decorations, and `-verbose:class`
//!   (the same lines on stdout):
//!   `[0.067s][info][class,load] Gen_00000000 source: __JVM_DefineClass__`,
//!   `[0.141s][info][class,unload] unloading class Gen_00000199 0x00007f798c0a5000`;
//!   the `debug` line that follows a load (`klass: 0x... loader: ...`) is recognised and ignored;
//! - JDK 8 `-verbose:class` / `-XX:+TraceClassLoading` / `-XX:+TraceClassUnloading` (documented shape):
//!   `[Loaded java.lang.Object from /usr/lib/jvm/.../rt.jar]`, `[Unloading class Foo 0x00000007c0060828]`.

use super::{decoration_time, split_decorations, LineStats};
use serde::Serialize;

/// One load or unload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassEvent {
    /// Seconds (JVM uptime, or wall clock when the log has only `time`); `None` in JDK 8 logs.
    pub t: Option<f64>,
    pub unload: bool,
    /// The class name as logged (`Gen_00000001`, `LeakLab$$Lambda$14/0x00007f798c000d08`).
    pub name: String,
    /// Where it came from (loads only): `shared objects file`, `jrt:/java.base`, `__JVM_DefineClass__`,
    /// a jar or directory URL, or the defining class of a lambda.
    pub source: Option<String>,
}

/// A parsed class log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClassLog {
    pub events: Vec<ClassEvent>,
    pub stats: LineStats,
}

/// One line: `Some(event)` for a load or unload, `None` for anything else.
pub fn parse_line(line: &str) -> Option<ClassEvent> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("[Loaded ") {
        let body = rest.strip_suffix(']').unwrap_or(rest);
        let (name, source) = match body.split_once(" from ") {
            Some((n, s)) => (n, Some(s.to_string())),
            None => (body, None),
        };
        return Some(ClassEvent {
            t: None,
            unload: false,
            name: name.trim().to_string(),
            source,
        });
    }
    if let Some(rest) = line.strip_prefix("[Unloading class ") {
        let body = rest.strip_suffix(']').unwrap_or(rest);
        let name = body.split_whitespace().next()?;
        return Some(ClassEvent {
            t: None,
            unload: true,
            name: name.to_string(),
            source: None,
        });
    }
    let (decos, msg) = split_decorations(line)?;
    let tags = decos.iter().find(|d| d.starts_with("class,"))?;
    let tags: Vec<&str> = tags.split(',').map(str::trim).collect();
    let t = decoration_time(&decos);
    match tags.as_slice() {
        ["class", "load"] => {
            let (name, source) = msg.split_once(" source: ")?;
            let name = name.trim();
            if name.is_empty() || name.contains(' ') {
                return None;
            }
            Some(ClassEvent {
                t,
                unload: false,
                name: name.to_string(),
                source: Some(source.trim().to_string()),
            })
        }
        ["class", "unload"] => {
            let name = msg
                .trim()
                .strip_prefix("unloading class ")?
                .split_whitespace()
                .next()?;
            Some(ClassEvent {
                t,
                unload: true,
                name: name.to_string(),
                source: None,
            })
        }
        _ => None,
    }
}

/// Parses a class log; never fails. Debug lines of `class+load` and lines of other tags are counted
/// as skipped only when they look like nothing this module knows.
pub fn parse(text: &str) -> ClassLog {
    let mut c = ClassLog::default();
    for (no, raw) in text.lines().enumerate() {
        c.stats.lines += 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw) {
            Some(e) => c.events.push(e),
            None => {
                // Debug/trace lines of class+load (klass, loader, bitmap details) are known, not used.
                let known_debug = split_decorations(raw.trim()).is_some_and(|(d, _)| {
                    d.iter().any(|x| matches!(*x, "debug" | "trace"))
                        && d.iter().any(|x| x.starts_with("class,"))
                });
                if !known_debug {
                    c.stats.skip(no, raw);
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::formats::logs::sample;

    #[test]
    fn jdk17_and_25() {
        for (f, unloads) in [
            ("jdk17-class-load-unload-log.txt", 8),
            ("jdk25-class-load-unload-log.txt", 8),
        ] {
            let c = parse(&sample(f));
            let u = c.events.iter().filter(|e| e.unload).count();
            assert_eq!(u, unloads, "{f}");
            let g = c.events.iter().find(|e| e.name == "Gen_00000000").unwrap();
            assert_eq!(g.source.as_deref(), Some("__JVM_DefineClass__"));
            assert!(g.t.unwrap() > 0.0);
            // Only the "# ..." comment lines of the sample are unknown.
            assert!(
                c.stats.skipped_examples.iter().all(|l| l.contains(": #")),
                "{:?}",
                c.stats.skipped_examples
            );
        }
    }

    #[test]
    fn decorations_and_jdk8() {
        let e = parse_line("[2026-11-22T15:45:05.252+0000][0.090s][90484526ns][6474][6481][info][class,unload] unloading class Gen_00000019 0x00007f635400b000").unwrap();
        assert!(e.unload);
        assert_eq!(e.name, "Gen_00000019");
        assert_eq!(e.t, Some(0.090484526));
        let e = parse_line("[0.065s][info ][class,load] Gen_00000000 source: __JVM_DefineClass__")
            .unwrap();
        assert_eq!(e.name, "Gen_00000000");
        // JDK 8 -verbose:class (documented shape).
        let e = parse_line(
            "[Loaded java.lang.Object from /usr/lib/jvm/java-8-openjdk-amd64/jre/lib/rt.jar]",
        )
        .unwrap();
        assert_eq!(
            e.source.as_deref(),
            Some("/usr/lib/jvm/java-8-openjdk-amd64/jre/lib/rt.jar")
        );
        let e =
            parse_line("[Loaded sun.reflect.GeneratedMethodAccessor1 from __JVM_DefineClass__]")
                .unwrap();
        assert_eq!(e.name, "sun.reflect.GeneratedMethodAccessor1");
        let e =
            parse_line("[Unloading class sun.reflect.GeneratedMethodAccessor1 0x00000007c0060828]")
                .unwrap();
        assert!(e.unload);
        assert!(parse_line("[0.1s][info][gc] GC(1) Pause").is_none());
    }
}
