//! Reports: render analysis results as text for a terminal or as JSON. Nothing here computes.

pub mod classloaders_text;
pub mod diff_text;
pub mod graph_text;
pub mod html;
pub mod jvms_text;
pub mod native_text;
pub mod report_text;
pub mod text;
pub mod watch_text;
pub mod watch_tui;

use serde::Serialize;

/// Pretty JSON with a trailing newline: the `--json` output of every command.
pub fn to_json<T: Serialize>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
