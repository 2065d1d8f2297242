//! `oomsleuth watch`'s terminal screen, drawn with ratatui from a [`Watch`]: a title line, six
//! panels (heap, live set, Metaspace, classes, GC, RSS) each with its numbers and a sparkline of
//! its trend, the verdict with its evidence, and a status line. Only drawing: the numbers and the
//! verdict come from [`crate::analyses::process::watch`], the terminal and its keys from the CLI.

use crate::analyses::process::verdict::Area;
use crate::analyses::process::watch::{Point, Watch};
use crate::reports::watch_text as words;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

/// What the screen says beside the samples.
pub struct Status<'a> {
    /// Seconds between samples.
    pub every_seconds: f64,
    /// When the target exited (seconds since the epoch), if it did.
    pub exited: Option<f64>,
    /// The last problem reading a sample, if any.
    pub note: Option<&'a str>,
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, w: &Watch, status: &Status<'_>) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(15),
            Constraint::Length(verdict_height(area.height)),
            Constraint::Length(1),
        ])
        .split(area);
    frame.render_widget(Paragraph::new(title(w, status)), rows[0]);
    match w.last() {
        Some(p) => panels(frame, rows[1], w, p),
        None => frame.render_widget(
            Paragraph::new("waiting for the first sample...").block(Block::bordered()),
            rows[1],
        ),
    }
    frame.render_widget(verdict(w), rows[2]);
    frame.render_widget(Paragraph::new(status_line(w, status)), rows[3]);
}

/// The verdict panel's height: a third of the screen, at least 5 rows.
fn verdict_height(h: u16) -> u16 {
    (h / 3).clamp(5, 14)
}

fn title(w: &Watch, status: &Status<'_>) -> Line<'static> {
    let mut s = format!("oomsleuth watch {}", w.pid);
    if let Some(c) = w.container_pid {
        s.push_str(&format!(" (pid {c} in its container)"));
    }
    if let Some(p) = w.last() {
        let j = &p.jvm;
        if let Some(m) = &j.main {
            s.push_str(&format!(" {m}"));
        }
        if let Some(v) = &j.java_version {
            s.push_str(&format!(" | JDK {v}"));
        }
        if let Some(g) = &j.gc_policy {
            s.push_str(&format!(" | {g}"));
        }
        if let Some(u) = j.uptime_seconds {
            s.push_str(&format!(" | up {}", words::duration(u)));
        }
    }
    s.push_str(&format!(
        " | sample {} every {}s",
        w.samples, status.every_seconds
    ));
    Line::from(Span::styled(s, Style::new().add_modifier(Modifier::BOLD)))
}

/// The six panels, in two columns of three.
fn panels(frame: &mut Frame<'_>, area: Rect, w: &Watch, p: &Point) {
    let cols = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(area);
    let thirds = [Constraint::Ratio(1, 3); 3];
    let left = Layout::vertical(thirds).split(cols[0]);
    let right = Layout::vertical(thirds).split(cols[1]);
    let growing = |a: Area| w.verdict.area == a;
    let heap_used = w.trend(|q| q.jvm.heap.used_bytes);
    let live = w.trend(|q| q.live_set_bytes);
    let meta = w.trend(|q| q.jvm.metaspace.used_bytes);
    let classes = w.trend(|q| {
        Some(
            q.jvm
                .classes_loaded?
                .saturating_sub(q.jvm.classes_unloaded.unwrap_or(0)),
        )
    });
    let gc = w.trend(|q| q.jvm.gc_seconds.map(|s| (s * 1e3) as u64));
    let rss = w.trend(|q| q.rss_bytes);
    let [h1, _] = words::heap(p);
    let [_, l2] = words::heap(p);
    let heap_lines = [h1, format!("old {}", bytes(p.old.used_bytes))];
    let live_lines = [
        l2,
        "old generation used after the last collection".to_string(),
    ];
    panel(frame, left[0], "Heap", &heap_lines, &heap_used, false);
    panel(
        frame,
        right[0],
        "Live set after GC",
        &live_lines,
        &live,
        growing(Area::Heap),
    );
    panel(
        frame,
        left[1],
        "Metaspace",
        &words::metaspace(p),
        &meta,
        growing(Area::Metaspace),
    );
    panel(
        frame,
        right[1],
        "Classes",
        &words::classes(w, p),
        &classes,
        growing(Area::Metaspace),
    );
    panel(frame, left[2], "GC", &words::gc(w, p), &gc, false);
    panel(
        frame,
        right[2],
        "RSS",
        &words::rss(p),
        &rss,
        growing(Area::Native),
    );
}

fn bytes(v: Option<u64>) -> String {
    v.map_or("-".into(), crate::units::human_bytes)
}

/// One panel: its numbers, and the trend under them (the last samples that fit its width, the
/// smallest value kept as the floor so that growth shows).
fn panel(
    frame: &mut Frame<'_>,
    area: Rect,
    name: &str,
    lines: &[String; 2],
    trend: &[Option<u64>],
    growing: bool,
) {
    let colour = if growing { Color::Red } else { Color::Cyan };
    let mut title = name.to_string();
    if growing {
        title.push_str(" (grows)");
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, Style::new().fg(colour)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let parts = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).split(inner);
    let text: Vec<Line<'_>> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    frame.render_widget(Paragraph::new(text), parts[0]);
    let width = usize::from(parts[1].width);
    let tail = &trend[trend.len().saturating_sub(width)..];
    let (data, max) = scaled(tail);
    frame.render_widget(
        Sparkline::default()
            .data(&data)
            .max(max)
            .style(Style::new().fg(colour)),
        parts[1],
    );
}

/// A trend as bar heights over a floor an eighth of its range below its smallest value, so that
/// growth fills the panel and a flat trend is a low line; and the top of the scale.
fn scaled(trend: &[Option<u64>]) -> (Vec<Option<u64>>, u64) {
    let lo = trend.iter().flatten().min().copied().unwrap_or(0);
    let hi = trend.iter().flatten().max().copied().unwrap_or(0);
    if hi == lo {
        return (trend.iter().map(|v| v.map(|_| 1)).collect(), 8);
    }
    let floor = lo.saturating_sub((hi - lo) / 8);
    (
        trend.iter().map(|v| v.map(|x| x - floor)).collect(),
        hi - floor,
    )
}

/// The verdict, its evidence, what to capture next.
fn verdict(w: &Watch) -> Paragraph<'static> {
    let v = &w.verdict;
    let colour = if v.area == Area::None {
        Color::Green
    } else {
        Color::Red
    };
    let mut lines = vec![Line::from(Span::styled(
        v.summary.clone(),
        Style::new().fg(colour).add_modifier(Modifier::BOLD),
    ))];
    for e in &v.evidence {
        lines.push(Line::from(format!("  evidence ({}): {}", e.source, e.what)));
    }
    if let Some(next) = v.capture_next.first() {
        lines.push(Line::from(format!("  next: {next}")));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::bordered().title(Span::styled(
            format!("Verdict: {}", words::verdict_head(w)),
            Style::new().fg(colour),
        )))
}

fn status_line(w: &Watch, status: &Status<'_>) -> Line<'static> {
    if let Some(t) = status.exited {
        return Line::from(Span::styled(
            format!(
                "JVM {} exited at {} UTC after {} samples: its last state is shown. Press any key to quit.",
                w.pid,
                words::clock(t),
                w.samples
            ),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    let mut s = "q, Esc or Ctrl-C quits".to_string();
    if let Some(n) = status.note {
        s.push_str(&format!(" | {n}"));
    }
    Line::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(w: &Watch, width: u16, height: u16, exited: Option<f64>) -> String {
        let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
        let status = Status {
            every_seconds: 1.0,
            exited,
            note: None,
        };
        t.draw(|f| draw(f, w, &status)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..height {
            for x in 0..width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn draws_at_any_size_without_panicking() {
        let w = Watch::new(42, None);
        for (x, y) in [(120, 40), (20, 5), (1, 1), (300, 100)] {
            let s = screen(&w, x, y, None);
            assert_eq!(s.lines().count(), usize::from(y));
        }
        let s = screen(&w, 120, 40, Some(3723.0));
        assert!(s.contains("JVM 42 exited at 01:02:03"), "{s}");
        assert!(s.contains("waiting for the first sample"), "{s}");
    }

    #[test]
    fn trends_fill_the_panel_from_their_floor() {
        assert_eq!(scaled(&[Some(5), Some(5)]), (vec![Some(1), Some(1)], 8));
        assert_eq!(
            scaled(&[Some(100), None, Some(180)]),
            (vec![Some(10), None, Some(90)], 90)
        );
        assert_eq!(scaled(&[]), (vec![], 8));
    }
}
