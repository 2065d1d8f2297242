//! The self-contained HTML report: one file that opens offline from disk. The report's data is
//! embedded as JSON; a small inline script draws the suspects, a zoomable icicle (flame graph) of
//! the dominator tree on a canvas, sortable and filterable tables, and a panel with the path and
//! fields of any object clicked. No network, no external assets.

use crate::analyses::report::Report;
use crate::analyses::verdict::VerdictReport;
use serde::Serialize;

const TEMPLATE: &str = include_str!("html/report.html");

#[derive(Serialize)]
struct Page<'r> {
    report: Option<&'r Report>,
    /// The verdict of NMT, pmap, logs and jstat outputs, with their time series (charts).
    verdict: Option<&'r VerdictReport>,
    flame: Option<&'r crate::analyses::report::FlameNode>,
    objects: Option<&'r std::collections::BTreeMap<String, crate::analyses::report::ObjectDetail>>,
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

pub fn render(r: &Report) -> String {
    let page = Page {
        report: Some(r),
        verdict: r.native.as_ref(),
        flame: r.flame.as_ref(),
        objects: Some(&r.objects),
    };
    TEMPLATE
        .replace(
            "{{TITLE}}",
            &escape_html(&format!("oomsleuth: {}", r.dump.path)),
        )
        .replace("{{DATA}}", &script_json(&page))
}

/// The report of `analyze` without a heap dump: the verdict and a chart per time series.
pub fn render_verdict(v: &VerdictReport) -> String {
    let page = Page {
        report: None,
        verdict: Some(v),
        flame: None,
        objects: None,
    };
    let what = v
        .inputs
        .first()
        .map(|i| i.path.as_str())
        .unwrap_or("inputs");
    TEMPLATE
        .replace("{{TITLE}}", &escape_html(&format!("oomsleuth: {what}")))
        .replace("{{DATA}}", &script_json(&page))
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
