//! `sql`, `oql` and `export --parquet`: queries over the heap (feature `sql`; without it the
//! commands say how to build it).

#[cfg(feature = "sql")]
use super::with_graph;
use super::{Env, GraphArgs};
use anyhow::Result;
use std::path::PathBuf;

/// How results print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Table,
    Json,
    Csv,
}

#[derive(clap::Args, Debug)]
pub(super) struct QueryArgs {
    #[command(flatten)]
    pub(super) graph: GraphArgs,
    /// The query; none: an interactive prompt with history.
    pub(super) query: Option<String>,
    /// Print JSON (schema oomsleuth.sql/1, see docs/json.md).
    #[arg(long, conflicts_with = "csv")]
    pub(super) json: bool,
    /// Print CSV (ids in hex).
    #[arg(long)]
    pub(super) csv: bool,
    /// At most this many rows in a table or JSON (CSV prints all).
    #[arg(long, default_value_t = crate::commands::SQL_MAX_ROWS)]
    pub(super) max_rows: usize,
}

impl QueryArgs {
    fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.csv {
            Format::Csv
        } else {
            Format::Table
        }
    }
}

#[derive(clap::Args, Debug)]
pub(super) struct ExportArgs {
    /// Heap dumps to export (`FILE#N` for the N-th dump of a file holding several).
    #[arg(required = true, value_name = "DUMP")]
    pub(super) dumps: Vec<PathBuf>,
    /// The directory to write: DIR/<table>/dump=<name>/part-0.parquet (0700, files 0600).
    #[arg(long, value_name = "DIR", required = true)]
    pub(super) parquet: PathBuf,
    /// Also export the table of this class (repeatable); default: the top classes by retained size.
    #[arg(long = "class", value_name = "CLASS")]
    pub(super) classes: Vec<String>,
    /// How many classes by retained size get their own table when no --class is given.
    #[arg(long, default_value_t = 10)]
    pub(super) top_classes: usize,
    /// Neither read nor write the index caches.
    #[arg(long)]
    pub(super) no_cache: bool,
}

#[cfg(not(feature = "sql"))]
fn unavailable() -> anyhow::Error {
    anyhow::anyhow!("this oomsleuth was built without queries: build it with `cargo build --release --features sql`")
}

#[cfg(not(feature = "sql"))]
pub(super) fn sql(_: QueryArgs, _: &Env, _: bool) -> Result<String> {
    Err(unavailable())
}

#[cfg(not(feature = "sql"))]
pub(super) fn export(_: ExportArgs, _: &Env) -> Result<String> {
    Err(unavailable())
}

/// `sql` (or `oql` when `oql`): one query, or the prompt.
#[cfg(feature = "sql")]
pub(super) fn sql(args: QueryArgs, env: &Env, oql: bool) -> Result<String> {
    use crate::analyses::heap::query;
    let format = args.format();
    let json = format == Format::Json;
    with_graph(&args.graph.request(), env, json, |g| {
        let opts = query::Options::default();
        match &args.query {
            Some(q) => {
                let sql = if oql {
                    query::translate_oql(g, q)?
                } else {
                    q.clone()
                };
                one_query(g, &sql, q, format, args.max_rows, &opts)
            }
            None => {
                prompt(g, oql, args.max_rows, &opts, &args.graph.dump.dump)?;
                Ok(String::new())
            }
        }
    })
}

#[cfg(feature = "sql")]
fn one_query(
    g: &crate::analyses::heap::graph::Graph<'_, '_>,
    sql: &str,
    original: &str,
    format: Format,
    max_rows: usize,
    opts: &crate::analyses::heap::query::Options,
) -> Result<String> {
    use crate::analyses::heap::query::{self, render};
    use std::io::Write;
    match format {
        Format::Json => {
            // What the MCP server's `sql` tool returns too.
            let mut r = crate::commands::sql(g, sql, max_rows)?;
            r.query = original.to_string();
            Ok(crate::reports::to_json(&r))
        }
        Format::Csv => {
            // Streamed: a CSV of every object is not held in memory.
            let out = std::io::stdout();
            let mut out = std::io::BufWriter::new(out.lock());
            let mut header = false;
            let schema = query::run_with(g, sql, opts, &mut |b| {
                if !header {
                    let names: Vec<String> = b
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| render::csv_field(f.name()))
                        .collect();
                    writeln!(out, "{}", names.join(","))?;
                    header = true;
                }
                for row in render::text_cells(b) {
                    let cells: Vec<String> = row.iter().map(|c| render::csv_field(c)).collect();
                    writeln!(out, "{}", cells.join(","))?;
                }
                Ok(true)
            })?;
            if !header {
                let names: Vec<String> = schema
                    .fields()
                    .iter()
                    .map(|f| render::csv_field(f.name()))
                    .collect();
                writeln!(out, "{}", names.join(","))?;
            }
            out.flush()?;
            Ok(String::new())
        }
        Format::Table => table(g, sql, max_rows, opts),
    }
}

#[cfg(feature = "sql")]
fn table(
    g: &crate::analyses::heap::graph::Graph<'_, '_>,
    sql: &str,
    max_rows: usize,
    opts: &crate::analyses::heap::query::Options,
) -> Result<String> {
    use crate::analyses::heap::query::{self, render};
    let mut rows: Vec<Vec<String>> = vec![];
    let mut truncated = false;
    let schema = query::run_with(g, sql, opts, &mut |b| {
        for r in render::text_cells(b) {
            if rows.len() >= max_rows {
                truncated = true;
                return Ok(false);
            }
            rows.push(r);
        }
        Ok(true)
    })?;
    Ok(render::text_table(&schema, &rows, truncated))
}

/// Where the prompt keeps its history: $XDG_STATE_HOME/oomsleuth, else ~/.local/state/oomsleuth.
#[cfg(feature = "sql")]
fn history_file(oql: bool) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let dir = base.join("oomsleuth");
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&dir).ok()?;
    Some(dir.join(if oql { "oql_history" } else { "sql_history" }))
}

/// The interactive prompt: one query per line (or several lines ending with `;`), history kept
/// in a 0600 file (queries name what is in the dump).
#[cfg(feature = "sql")]
fn prompt(
    g: &crate::analyses::heap::graph::Graph<'_, '_>,
    oql: bool,
    max_rows: usize,
    opts: &crate::analyses::heap::query::Options,
    dump: &std::path::Path,
) -> Result<()> {
    use rustyline::error::ReadlineError;
    let mut rl = rustyline::DefaultEditor::new()?;
    let history = history_file(oql);
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let lang = if oql { "oql" } else { "sql" };
    eprintln!(
        "{lang} over {}: tables objects, classes, refs, roots, loaders, strings and \"<class name>\"; end a query with ';' or a blank line; Ctrl-D quits",
        dump.display()
    );
    let mut buf = String::new();
    loop {
        let p = if buf.is_empty() {
            format!("{lang}> ")
        } else {
            "   ...> ".into()
        };
        match rl.readline(&p) {
            Ok(line) => {
                if !buf.is_empty() {
                    buf.push('\n');
                }
                buf.push_str(&line);
                let done = line.trim().is_empty() || line.trim_end().ends_with(';');
                if !done {
                    continue;
                }
                let q = buf.trim().trim_end_matches(';').to_string();
                buf.clear();
                if q.is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(q.as_str());
                let sql = if oql {
                    crate::analyses::heap::query::translate_oql(g, &q)
                } else {
                    Ok(q.clone())
                };
                match sql.and_then(|s| table(g, &s, max_rows, opts)) {
                    Ok(t) => print!("{t}"),
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
            Err(ReadlineError::Interrupted) => buf.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        if rl.save_history(h).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(h, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    Ok(())
}

/// `export --parquet DIR DUMP...`: each dump's tables, one partition per dump.
#[cfg(feature = "sql")]
pub(super) fn export(args: ExportArgs, env: &Env) -> Result<String> {
    use crate::analyses::heap::query::{self, export as ex};
    let choice = if args.classes.is_empty() {
        ex::ClassChoice::Top(args.top_classes)
    } else {
        ex::ClassChoice::Named(args.classes.clone())
    };
    let mut out = String::new();
    for d in &args.dumps {
        let input = crate::commands::dump_input(d)?;
        let name = input
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dump".into());
        let name = match input.heap_dump {
            Some(n) => format!("{name}#{n}"),
            None => name,
        };
        let graph = GraphArgs {
            dump: super::DumpArgs {
                dump: input.path.clone(),
                compressed_oops: None,
                heap_dump: input.heap_dump,
            },
            keep_unreachable: false,
            strong_only: false,
            no_cache: args.no_cache,
        };
        let written = with_graph(&graph.request(), env, false, |g| {
            ex::export(g, &name, &args.parquet, &choice, &query::Options::default())
        })?;
        for w in written {
            out.push_str(&format!(
                "{:>12} rows  {}\n",
                crate::units::thousands(w.rows),
                w.path.display()
            ));
        }
    }
    Ok(out)
}
