//! The self-contained HTML report: one file that opens offline from disk. The report's data is
//! embedded as JSON; a small inline script draws the suspects, a zoomable icicle (flame graph) of
//! the dominator tree on a canvas, sortable and filterable tables, and a panel with the path and
//! fields of any object clicked. No network, no external assets.
//!
//! Several dumps of one JVM (`diff --html`, `analyze OLD NEW --html`) add the growth view
//! (`html/growth.js`): the newest dump's paths as a flame graph sized and coloured by growth, and
//! a chart of each top path over time. Both pages share `html/style.css`.

use crate::analyses::heap::growth::{DiffReport, GrowthFrame};
use crate::analyses::process::verdict::VerdictReport;
use crate::analyses::report::Report;
use serde::Serialize;

const TEMPLATE: &str = include_str!("html/report.html");
const DIFF_TEMPLATE: &str = include_str!("html/diff.html");
const STYLE: &str = include_str!("html/style.css");
const GROWTH_SECTION: &str = include_str!("html/growth-section.html");
const GROWTH_JS: &str = include_str!("html/growth.js");
const GROWTH_SELFTEST: &str = include_str!("html/growth-selftest.js");

/// What the growth view draws: the diff and the newest dump's paths with their bytes in every dump.
#[derive(Serialize)]
pub struct Growth<'g> {
    pub diff: &'g DiffReport,
    pub flame: &'g GrowthFrame,
}

#[derive(Serialize)]
struct Page<'r> {
    report: Option<&'r Report>,
    /// The verdict of NMT, pmap, logs and jstat outputs, with their time series (charts).
    verdict: Option<&'r VerdictReport>,
    flame: Option<&'r crate::analyses::report::FlameNode>,
    objects: Option<&'r std::collections::BTreeMap<String, crate::analyses::report::ObjectDetail>>,
    growth: Option<&'r Growth<'r>>,
}

/// JSON that is safe inside a `<script>` element: no `</` (`<\/` is the same JSON string).
fn script_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/")
        .replace("<!--", "<\\u0021--")
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Fills a template: the shared style and growth view first, the data last (so nothing in the
/// data is taken for a placeholder).
fn fill(template: &str, title: &str, data: &str) -> String {
    template
        .replace("{{STYLE}}", STYLE)
        .replace("{{GROWTH_SECTION}}", GROWTH_SECTION)
        .replace("{{GROWTH_JS}}", GROWTH_JS)
        .replace("{{GROWTH_SELFTEST}}", GROWTH_SELFTEST)
        .replace("{{TITLE}}", &escape_html(title))
        .replace("{{DATA}}", data)
}

/// The report of one dump; with `growth` (`analyze OLD NEW`), also the growth view of the dumps.
pub fn render(r: &Report, growth: Option<&Growth<'_>>) -> String {
    let page = Page {
        report: Some(r),
        verdict: r.native.as_ref(),
        flame: r.flame.as_ref(),
        objects: Some(&r.objects),
        growth,
    };
    fill(
        TEMPLATE,
        &format!("oomsleuth: {}", r.dump.path),
        &script_json(&page),
    )
}

/// The page of `diff --html`: the growth view alone.
pub fn render_diff(growth: &Growth<'_>) -> String {
    let page = Page {
        report: None,
        verdict: None,
        flame: None,
        objects: None,
        growth: Some(growth),
    };
    let newest = growth
        .diff
        .dumps
        .last()
        .map_or("dumps", |d| d.path.as_str());
    fill(
        DIFF_TEMPLATE,
        &format!("oomsleuth diff: {newest}"),
        &script_json(&page),
    )
}

/// The report of `analyze` without a heap dump: the verdict and a chart per time series.
pub fn render_verdict(v: &VerdictReport) -> String {
    let page = Page {
        report: None,
        verdict: Some(v),
        flame: None,
        objects: None,
        growth: None,
    };
    let what = v
        .inputs
        .first()
        .map(|i| i.path.as_str())
        .unwrap_or("inputs");
    fill(TEMPLATE, &format!("oomsleuth: {what}"), &script_json(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let s = script_json(&vec!["</script><script>alert(1)</script>", "<!-- x"]);
        assert!(!s.contains("</"));
        assert!(!s.contains("<!--"));
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back[0], "</script><script>alert(1)</script>");
    }
}
