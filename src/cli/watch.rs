//! `oomsleuth watch PID`: the sampling loop, and where its output goes: the terminal UI when
//! stdout is a terminal ([`crate::reports::watch_tui`]), else one line per sample (JSON with
//! `--json`, plain words otherwise: never escape codes into a pipe).

use super::record::parse_duration;
use crate::analyses::process::watch::Watch;
use crate::inputs::live::watch::{now_ms, Target, Tick};
use crate::reports::{watch_text, watch_tui};
use anyhow::{bail, Result};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// The JVM's pid, as this host sees it (`oomsleuth jvms` lists them, containers included).
    pub pid: u32,
    /// Time between samples (e.g. 500ms, 1s, 10s).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub every: Duration,
    /// One JSON line per sample (schema `oomsleuth.watch/1`, docs/json.md), and a last line when
    /// the JVM exits.
    #[arg(long)]
    pub json: bool,
    /// Stop after N samples.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
}

/// Smallest interval: reading the file is cheap, but the verdict is decided again each sample.
const MIN_EVERY: Duration = Duration::from_millis(100);

pub fn run(args: &WatchArgs) -> Result<i32> {
    if args.every < MIN_EVERY {
        bail!("--every must be at least 100ms");
    }
    if args.count == Some(0) {
        bail!("--count must be at least 1");
    }
    let target = Target::open(args.pid)?;
    let mut w = Watch::new(args.pid, target.container_pid);
    let r = if !args.json && std::io::stdout().is_terminal() {
        tui(&target, &mut w, args)
    } else {
        lines(&target, &mut w, args)
    };
    match r {
        // `oomsleuth watch PID --json | head`: the reader has seen enough.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(super::EXIT_OK)
        }
        r => r.map(|()| super::EXIT_OK),
    }
}

/// Takes a sample into `w`; false when the target exited. A sample that cannot be read (a JVM
/// still starting) is skipped, and said once in `note`.
fn sample(target: &Target, w: &mut Watch, note: &mut Option<String>) -> bool {
    match target.tick() {
        Tick::Exited => false,
        Tick::Sample(s) => {
            match w.add(s.unix_seconds, &s.perf, s.smaps_rollup, s.status_rss) {
                Ok(_) => *note = None,
                Err(e) => *note = Some(format!("sample skipped: {e}")),
            }
            true
        }
    }
}

/// One line per sample on stdout, until `--count` samples, the target exits, or SIGINT, SIGTERM
/// or SIGHUP (caught, so that a watch started in the background, where a shell ignores SIGINT,
/// still stops on it, and the last line is whole).
fn lines(target: &Target, w: &mut Watch, args: &WatchArgs) -> Result<()> {
    super::stop::catch(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]);
    let started = Instant::now();
    let mut note = None;
    let mut ticks = 0u32;
    while !super::stop::requested() {
        let before = w.samples;
        if !sample(target, w, &mut note) {
            let mut out = std::io::stdout().lock();
            if args.json {
                let line = serde_json::to_string(&w.exit_line(now_ms() as f64 / 1000.0))?;
                writeln!(out, "{line}")?;
            } else {
                writeln!(
                    out,
                    "JVM {} exited after {} samples; the verdict: {}",
                    w.pid, w.samples, w.verdict.summary
                )?;
            }
            out.flush()?;
            return Ok(());
        }
        if let Some(n) = &note {
            eprintln!("note: {n}");
        }
        if w.samples > before {
            let mut out = std::io::stdout().lock();
            let text = if args.json {
                w.line().map(|l| serde_json::to_string(&l)).transpose()?
            } else {
                watch_text::plain_line(w)
            };
            if let Some(t) = text {
                writeln!(out, "{t}")?;
                out.flush()?;
            }
            if args.count.is_some_and(|n| w.samples >= n) {
                return Ok(());
            }
        }
        ticks += 1;
        let next = args.every.saturating_mul(ticks);
        wait_until(started + next, target.pid);
    }
    Ok(())
}

/// Sleeps until `at`, waking early when the target exits or a stop is requested.
fn wait_until(at: Instant, pid: u32) {
    while Instant::now() < at {
        if !crate::inputs::live::watch::running(pid) || super::stop::requested() {
            return;
        }
        std::thread::sleep((at - Instant::now()).min(Duration::from_millis(50)));
    }
}

/// The terminal UI: samples every `--every`, redraws on each sample and resize, quits on q, Esc
/// or Ctrl-C (any key once the target exited), SIGTERM or SIGHUP. The terminal is restored
/// whatever ends it.
fn tui(target: &Target, w: &mut Watch, args: &WatchArgs) -> Result<()> {
    // SIGTERM and SIGHUP end the UI like q (in raw mode Ctrl-C is a key, not SIGINT).
    super::stop::catch(&[libc::SIGTERM, libc::SIGHUP]);
    let mut terminal = ratatui::try_init()?;
    let r = tui_loop(&mut terminal, target, w, args);
    ratatui::restore();
    r?;
    println!(
        "oomsleuth watch {}: {} samples; the verdict: {}",
        w.pid, w.samples, w.verdict.summary
    );
    Ok(())
}

fn tui_loop(
    terminal: &mut ratatui::DefaultTerminal,
    target: &Target,
    w: &mut Watch,
    args: &WatchArgs,
) -> Result<()> {
    let mut next = Instant::now();
    let mut exited: Option<f64> = None;
    let mut note: Option<String> = None;
    let mut dirty = true;
    loop {
        if exited.is_none() && Instant::now() >= next {
            if sample(target, w, &mut note) {
                next += args.every;
            } else {
                exited = Some(now_ms() as f64 / 1000.0);
            }
            dirty = true;
        }
        if exited.is_none() && !crate::inputs::live::watch::running(target.pid) {
            exited = Some(now_ms() as f64 / 1000.0);
            dirty = true;
        }
        if dirty {
            let status = watch_tui::Status {
                every_seconds: args.every.as_secs_f64(),
                exited,
                note: note.as_deref(),
            };
            terminal.draw(|f| watch_tui::draw(f, w, &status))?;
            dirty = false;
        }
        if super::stop::requested()
            || (exited.is_none() && args.count.is_some_and(|n| w.samples >= n))
        {
            return Ok(());
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        if !event::poll(wait)? {
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind == KeyEventKind::Press => {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if exited.is_some() || ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                {
                    return Ok(());
                }
            }
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    }
}
