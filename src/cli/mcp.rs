//! `oomsleuth mcp`: a Model Context Protocol server on stdio, so an assistant can investigate a
//! dump the way a person does with the CLI. Each tool takes the arguments of the CLI command of
//! its name and returns exactly that command's `--json` document (docs/json.md), computed by
//! the same library functions ([`commands`]). Opened dumps' graphs are kept between calls
//! ([`OpenDumps`]). Nothing leaves the machine: stdin and stdout carry the protocol, there is
//! no listener; progress goes to MCP progress notifications when the client asks for them.

use crate::analyses::heap::graph::Graph;
use crate::analyses::heap::{dominator_tree, suspects, top::TopBy};
use crate::commands::{self, DumpInput, GraphRequest, OpenGraphs};
use crate::heap::snapshot::Progress;
use anyhow::{Context, Result};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, ServiceExt};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Runs the server until stdin closes. `max_open` bounds the dumps kept open between calls.
pub fn serve(cache_dir: Option<PathBuf>, max_open: usize) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the MCP server's event loop")?;
    let server = Server {
        dumps: Arc::new(OpenDumps::new(cache_dir, max_open.max(1))),
    };
    runtime.block_on(async move {
        let running = match server.serve(rmcp::transport::stdio()).await {
            Ok(r) => r,
            // The client went away before initialising: nothing to serve.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => anyhow::bail!("MCP initialisation failed: {e}"),
        };
        running
            .waiting()
            .await
            .map_err(|e| anyhow::anyhow!("the MCP server stopped: {e}"))?;
        Ok::<(), anyhow::Error>(())
    })?;
    // A call still running when stdin closed has nobody to answer: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

#[derive(Clone)]
struct Server {
    dumps: Arc<OpenDumps>,
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("oomsleuth", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let progress = context
            .meta
            .get_progress_token()
            .map(|token| McpProgress::new(context.peer.clone(), token));
        let dumps = self.dumps.clone();
        let name = request.name.to_string();
        let args = Value::Object(request.arguments.unwrap_or_default());
        let run = tokio::task::spawn_blocking(move || {
            let graphs = CallGraphs {
                dumps: &dumps,
                progress: progress.map_or_else(
                    || Arc::new(crate::heap::snapshot::NoProgress) as Arc<dyn Progress + Send>,
                    |p| Arc::new(p) as Arc<dyn Progress + Send>,
                ),
            };
            call(&graphs, &name, args)
        });
        let result = match run.await {
            Ok(Ok(doc)) => document_result(doc),
            Ok(Err(e)) => error_result(&commands::error_text(&e)),
            Err(e) => error_result(&format!(
                "the tool stopped unexpectedly ({e}): this is a bug in oomsleuth, please report it"
            )),
        };
        Ok(result.into())
    }
}

const INSTRUCTIONS: &str = "oomsleuth analyses JVM heap dumps (.hprof, .hprof.gz) on this machine. Start with `analyze` on the dump: its suspects name what accumulates, who holds it and the path from a GC root. Then `top` and `dominators` list the biggest objects with their ids (\"0x...\"); give such an id to `inspect` (fields, referrers) or `path` (why it is alive). `diff` compares dumps of one JVM taken apart (oldest first) to confirm what grows. Paths are files on this machine; absolute paths are safest.";

/// A document as a tool result: the JSON both as structured content and as text (exactly what
/// the CLI's `--json` prints).
fn document_result(doc: Document) -> CallToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(doc.text)]);
    r.structured_content = Some(doc.value);
    r
}

fn error_result(message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!("error: {message}"))])
}

/// Runs tool `name` on its JSON arguments; the document it returns, or the CLI's error.
fn call(graphs: &CallGraphs<'_>, name: &str, args: Value) -> Result<Document> {
    match name {
        "analyze" => {
            let a: AnalyzeArgs = parse(name, args)?;
            Ok(match commands::analyze(graphs, a.request()?)? {
                commands::Analysis::Verdict { verdict, .. } => to_value(&verdict),
                commands::Analysis::Heap(h) => to_value(&h.report),
            })
        }
        "top" => {
            let a: TopArgs = parse(name, args)?;
            let by = a.by;
            let n = a.top;
            on_graph(graphs, &a.graph, move |g| {
                Ok(to_value(&commands::top(g, by, n)))
            })
        }
        "dominators" => {
            let a: DominatorsArgs = parse(name, args)?;
            let opts = dominator_tree::Options {
                depth: a.depth,
                min_percent: a.min_percent,
                max_children: a.max_children,
            };
            let root = a.root;
            on_graph(graphs, &a.graph, move |g| {
                commands::dominators(g, root.as_deref(), &opts).map(|r| to_value(&r))
            })
        }
        "path" => {
            let a: PathArgs = parse(name, args)?;
            let (object, n) = (a.object, a.paths);
            on_graph(graphs, &a.graph, move |g| {
                commands::path(g, &object, n).map(|r| to_value(&r))
            })
        }
        "inspect" => {
            let a: InspectArgs = parse(name, args)?;
            let (object, referrers) = (a.object, a.referrers);
            on_graph(graphs, &a.graph, move |g| {
                commands::inspect(g, &object, referrers).map(|r| to_value(&r))
            })
        }
        "diff" => {
            let a: DiffArgs = parse(name, args)?;
            let (r, _) = commands::diff(
                graphs,
                &inputs(&a.dumps),
                on(a.compressed_oops),
                a.no_cache,
                a.top,
            )?;
            Ok(to_value(&r))
        }
        #[cfg(feature = "sql")]
        "sql" => {
            let a: SqlArgs = parse(name, args)?;
            let (query, max_rows) = (a.query, a.max_rows);
            on_graph(graphs, &a.graph, move |g| {
                commands::sql(g, &query, max_rows).map(|r| to_value(&r))
            })
        }
        _ => anyhow::bail!(
            "no tool named {name:?}: the tools are {}",
            tool_names().join(", ")
        ),
    }
}

fn tool_names() -> Vec<String> {
    tools().into_iter().map(|t| t.name.to_string()).collect()
}

fn inputs(paths: &[InputPath]) -> Vec<DumpInput> {
    paths.iter().map(|p| p.0.clone()).collect()
}

/// A tool's document: the value for structured content, the text exactly as the CLI prints it
/// (fields in the order docs/json.md gives, which a `Value` would sort).
struct Document {
    value: Value,
    text: String,
}

fn to_value<T: serde::Serialize>(v: &T) -> Document {
    Document {
        value: serde_json::to_value(v).unwrap_or_else(|e| json!({ "error": e.to_string() })),
        text: crate::reports::to_json(v),
    }
}

fn parse<T: serde::de::DeserializeOwned>(tool: &str, args: Value) -> Result<T> {
    serde_json::from_value(args).map_err(|e| {
        anyhow::anyhow!("{tool}: bad arguments: {e} (tools/list gives each tool's input schema)")
    })
}

/// Runs `f` on the graph the arguments name. The reader refuses what is not a regular file (a
/// FIFO or a device would block the server) with the CLI's message.
fn on_graph(
    graphs: &CallGraphs<'_>,
    args: &GraphArgs,
    f: impl FnOnce(&Graph<'_, '_>) -> Result<Document> + Send + 'static,
) -> Result<Document> {
    let req = args.request()?;
    graphs.with_graph(&req, move |g, _| f(g))
}

fn on(o: Option<OnOff>) -> Option<bool> {
    o.map(|o| o == OnOff::On)
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum OnOff {
    On,
    Off,
}

/// A path that may be `FILE#N` (the N-th heap dump of a file holding several).
#[derive(Debug)]
struct InputPath(DumpInput);

impl std::ops::Deref for InputPath {
    type Target = DumpInput;
    fn deref(&self) -> &DumpInput {
        &self.0
    }
}

impl<'de> Deserialize<'de> for InputPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<InputPath, D::Error> {
        let s = String::deserialize(d)?;
        commands::dump_input(Path::new(&s))
            .map(InputPath)
            .map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

/// The arguments of every graph tool (the CLI's DUMP, --compressed-oops, --dump N,
/// --keep-unreachable, --strong-only, --no-cache).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphArgs {
    dump: PathBuf,
    #[serde(default)]
    compressed_oops: Option<OnOff>,
    #[serde(default)]
    heap_dump: Option<u32>,
    #[serde(default)]
    keep_unreachable: bool,
    #[serde(default)]
    strong_only: bool,
    #[serde(default)]
    no_cache: bool,
}

impl GraphArgs {
    fn request(&self) -> Result<GraphRequest> {
        if self.heap_dump == Some(0) {
            anyhow::bail!("heap_dump: heap dumps in a file are numbered from 1");
        }
        Ok(GraphRequest {
            dump: commands::DumpRequest {
                path: self.dump.clone(),
                compressed_oops: on(self.compressed_oops),
                heap_dump: self.heap_dump,
            },
            keep_unreachable: self.keep_unreachable,
            strong_only: self.strong_only,
            no_cache: self.no_cache,
        })
    }
}

/// Splits a tool's arguments into the graph's and the tool's own (serde cannot flatten with
/// `deny_unknown_fields`).
macro_rules! graph_tool_args {
    ($name:ident { $($field:ident : $ty:ty = $default:expr),* $(,)? }) => {
        #[derive(Debug)]
        struct $name {
            graph: GraphArgs,
            $($field: $ty,)*
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                use serde::de::Error;
                let mut map = serde_json::Map::<String, Value>::deserialize(d)?;
                $(
                    let $field: $ty = match map.remove(stringify!($field)) {
                        Some(v) => serde_json::from_value(v).map_err(|e| {
                            D::Error::custom(format!("{}: {e}", stringify!($field)))
                        })?,
                        None => $default,
                    };
                )*
                let graph = serde_json::from_value(Value::Object(map)).map_err(D::Error::custom)?;
                Ok($name { graph, $($field,)* })
            }
        }
    };
}

graph_tool_args!(TopArgs {
    by: TopBy = TopBy::Retained,
    top: usize = commands::TOP_ROWS,
});

graph_tool_args!(DominatorsArgs {
    root: Option<String> = None,
    depth: usize = commands::DOMINATOR_DEPTH,
    min_percent: f64 = commands::DOMINATOR_MIN_PERCENT,
    max_children: usize = commands::DOMINATOR_MAX_CHILDREN,
});

graph_tool_args!(PathArgs {
    object: String = return Err(D::Error::missing_field("object")),
    paths: usize = commands::PATHS,
});

#[cfg(feature = "sql")]
graph_tool_args!(SqlArgs {
    query: String = return Err(D::Error::missing_field("query")),
    max_rows: usize = commands::SQL_MAX_ROWS,
});

graph_tool_args!(InspectArgs {
    object: String = return Err(D::Error::missing_field("object")),
    referrers: bool = false,
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffArgs {
    dumps: Vec<InputPath>,
    #[serde(default)]
    compressed_oops: Option<OnOff>,
    #[serde(default)]
    no_cache: bool,
    #[serde(default = "top_rows")]
    top: usize,
}

fn top_rows() -> usize {
    commands::TOP_ROWS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeArgs {
    paths: Vec<InputPath>,
    #[serde(default)]
    compressed_oops: Option<OnOff>,
    #[serde(default)]
    heap_dump: Option<u32>,
    #[serde(default)]
    keep_unreachable: bool,
    #[serde(default)]
    strong_only: bool,
    #[serde(default)]
    no_cache: bool,
    #[serde(default = "threshold")]
    threshold: f64,
    #[serde(default)]
    min_retained: Option<Value>,
    #[serde(default = "max_suspects")]
    max_suspects: usize,
}

fn threshold() -> f64 {
    commands::SUSPECT_THRESHOLD_PERCENT
}

fn max_suspects() -> usize {
    commands::MAX_SUSPECTS
}

impl AnalyzeArgs {
    fn request(&self) -> Result<commands::AnalyzeRequest> {
        let min_retained = match &self.min_retained {
            None => commands::SUSPECT_MIN_RETAINED,
            Some(Value::Number(n)) => n
                .as_u64()
                .with_context(|| format!("min_retained: {n} is not a byte count"))?,
            Some(Value::String(s)) => {
                commands::parse_size(s).map_err(|e| anyhow::anyhow!("min_retained: {e}"))?
            }
            Some(v) => anyhow::bail!("min_retained: {v} is not a size (give 1048576 or \"1MiB\")"),
        };
        if self.heap_dump == Some(0) {
            anyhow::bail!("heap_dump: heap dumps in a file are numbered from 1");
        }
        // The CLI's paths: `FILE#N` written back as it was given.
        let paths = self
            .paths
            .iter()
            .map(|p| match p.heap_dump {
                Some(n) => PathBuf::from(format!("{}#{n}", p.path.display())),
                None => p.path.clone(),
            })
            .collect();
        Ok(commands::AnalyzeRequest {
            paths,
            compressed_oops: on(self.compressed_oops),
            heap_dump: self.heap_dump,
            keep_unreachable: self.keep_unreachable,
            strong_only: self.strong_only,
            no_cache: self.no_cache,
            suspects: suspects::Options {
                threshold_percent: self.threshold,
                min_retained,
                max_suspects: self.max_suspects,
            },
            details: false,
        })
    }
}

/// The tools and their input schemas.
fn tools() -> Vec<Tool> {
    let dump_props = graph_properties();
    let with = |extra: Value, required: &[&str]| {
        let mut props = dump_props.clone();
        if let Value::Object(m) = extra {
            props.extend(m);
        }
        schema(props, required)
    };
    #[allow(unused_mut)]
    let mut list = vec![
        tool(
            "analyze",
            "Analyze a heap dump (the main job): leak suspects (what accumulates, who holds it, the path from a GC root, the map key or field value that sets the leaked objects apart, what to fix), heap summary, largest collections, wasted memory. Returns oomsleuth.report/1 (as `oomsleuth analyze --json`). Give older dumps of the same JVM first (oldest first) to rank suspects by growth; NMT/GC/class logs or directories beside the dump add the native-memory verdict (a directory alone gives oomsleuth.verdict/1).",
            analyze_schema(),
        ),
        tool(
            "top",
            "The biggest objects and classes by retained size (what freeing them would free). Returns oomsleuth.top/1 (as `oomsleuth top --json`); each object's `id` can be given to inspect, path or dominators.",
            with(
                json!({
                    "by": {"type": "string", "enum": ["retained", "shallow", "count"], "default": "retained", "description": "What to rank by."},
                    "top": {"type": "integer", "minimum": 0, "default": commands::TOP_ROWS, "description": "How many objects and classes to list (CLI -n)."}
                }),
                &["dump"],
            ),
        ),
        tool(
            "dominators",
            "The dominator tree: who keeps what alive, with retained sizes, from the GC roots or from one object. Returns oomsleuth.dominators/1 (as `oomsleuth dominators --json`).",
            with(
                json!({
                    "root": object_id_property("Start at this object instead of the GC roots."),
                    "depth": {"type": "integer", "minimum": 0, "default": commands::DOMINATOR_DEPTH, "description": "Levels to show below the start."},
                    "min_percent": {"type": "number", "minimum": 0, "default": commands::DOMINATOR_MIN_PERCENT, "description": "Hide subtrees retaining less than this percentage of the reachable heap."},
                    "max_children": {"type": "integer", "minimum": 0, "default": commands::DOMINATOR_MAX_CHILDREN, "description": "At most this many children per node."}
                }),
                &["dump"],
            ),
        ),
        tool(
            "path",
            "Shortest strong paths from GC roots to one object (why it is alive), with field names and array indexes, each from a different root. Returns oomsleuth.path/1 (as `oomsleuth path --json`).",
            with(
                json!({
                    "object": object_id_property("The object to explain."),
                    "paths": {"type": "integer", "minimum": 1, "default": commands::PATHS, "description": "How many paths (each from a different GC root)."}
                }),
                &["dump", "object"],
            ),
        ),
        tool(
            "inspect",
            "One object: class, sizes, fields with values, array elements, its dominator; its referrers on request. Returns oomsleuth.inspect/1 (as `oomsleuth inspect --json`).",
            with(
                json!({
                    "object": object_id_property("The object to inspect."),
                    "referrers": {"type": "boolean", "default": false, "description": "Also list the objects that reference this one."}
                }),
                &["dump", "object"],
            ),
        ),
        tool(
            "diff",
            "What grew between two or more heap dumps of one JVM taken apart (oldest first): paths from the GC roots matched across the dumps (not by object id), with retained bytes, collection sizes and growth per hour; with three dumps or more, what grew on every step (a leak) apart from what grew once (a cache that filled). Returns oomsleuth.diff/1 (as `oomsleuth diff --json`).",
            diff_schema(),
        ),
    ];
    #[cfg(feature = "sql")]
    list.push(tool(
        "sql",
        "SQL over every object of the dump (Apache DataFusion's dialect): tables objects (id, class, class_id, shallow, retained, dominator, reachability, reachable, is_root, kind, length), classes (id, name, loader, super, instances, shallow, retained), refs (from, to, field), roots (object, kind, thread, frame), loaders, strings (id, value, length, retained), and one per class by its Java name in double quotes (\"java.util.HashMap\": id, shallow, retained, size and capacity for JDK collections, then its instance fields; a field named like one of those columns is \"Declarer.field\"); functions describe(id), path_from_roots(id), to_string(id), field(id, 'name'), class_of(id). Returns oomsleuth.sql/1 (as `oomsleuth sql --json`): rows keyed by column name, object ids as numbers.",
        with(
            json!({
                "query": {"type": "string", "description": "The SQL query, e.g. SELECT class, count(*) n, sum(retained) r FROM objects GROUP BY class ORDER BY r DESC LIMIT 10."},
                "max_rows": {"type": "integer", "minimum": 0, "default": commands::SQL_MAX_ROWS, "description": "At most this many rows (truncated says whether more were left out)."}
            }),
            &["dump", "query"],
        ),
    ));
    list
}

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let Value::Object(schema) = schema else {
        unreachable!("schemas are objects")
    };
    let annotations = rmcp::model::ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false);
    Tool::new(name, description, Arc::new(schema)).with_annotations(annotations)
}

fn schema(properties: serde_json::Map<String, Value>, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

fn object_id_property(what: &str) -> Value {
    json!({
        "type": "string",
        "pattern": "^\\s*(0[xX][0-9a-fA-F]+|[0-9a-fA-F]+)\\s*$",
        "description": format!("{what} An object id as the dump writes it, in hex with 0x (e.g. \"0x7f3a0c10\"): take it from the `id` fields of top, dominators, analyze (suspects, paths) or path results of the same dump.")
    })
}

fn dump_path_property() -> Value {
    json!({
        "type": "string",
        "description": "Path of the heap dump file on this machine: .hprof, or .hprof.gz as written by `jcmd PID GC.heap_dump -gz=1` (absolute, or relative to the server's working directory)."
    })
}

fn common_properties() -> serde_json::Map<String, Value> {
    let Value::Object(m) = json!({
        "compressed_oops": {"type": "string", "enum": ["on", "off"], "description": "Override the detection of compressed oops (how big references and headers are). Rarely needed."},
        "no_cache": {"type": "boolean", "default": false, "description": "Neither read nor write the index cache (<dump>.oomsleuth-index, which makes later opens fast)."}
    }) else {
        unreachable!()
    };
    m
}

fn graph_properties() -> serde_json::Map<String, Value> {
    let mut m = common_properties();
    let Value::Object(more) = json!({
        "dump": dump_path_property(),
        "heap_dump": {"type": "integer", "minimum": 1, "description": "Which heap dump to read when the file holds several (the JVMTI hprof agent appends one per request): 1-based, default the last (CLI --dump N)."},
        "keep_unreachable": {"type": "boolean", "default": false, "description": "Count objects no GC root reaches, as roots of their own (as Eclipse MAT's option does)."},
        "strong_only": {"type": "boolean", "default": false, "description": "Referents of soft, weak, final and phantom references are not edges: what a GC under memory pressure would leave."}
    }) else {
        unreachable!()
    };
    m.extend(more);
    m
}

fn analyze_schema() -> Value {
    let mut props = graph_properties();
    props.remove("dump");
    let Value::Object(more) = json!({
        "paths": {
            "type": "array", "minItems": 1,
            "items": {"type": "string"},
            "description": "A heap dump (.hprof, .hprof.gz), and/or NMT outputs, pmap -x / smaps, GC logs, class logs, jstat outputs, or directories holding them (told apart by content). With several dumps of one JVM (oldest first) the newest is analysed and its suspects ranked by growth; \"FILE#N\" is the N-th heap dump of a file holding several."
        },
        "threshold": {"type": "number", "minimum": 0, "maximum": 100, "default": commands::SUSPECT_THRESHOLD_PERCENT, "description": "Report objects and groups retaining at least this percentage of the reachable heap."},
        "min_retained": {"type": ["integer", "string"], "default": "1MiB", "description": "...and at least this many bytes: a byte count or a size such as \"512KiB\", \"1MiB\", \"0\"."},
        "max_suspects": {"type": "integer", "minimum": 0, "default": commands::MAX_SUSPECTS, "description": "At most this many suspects."}
    }) else {
        unreachable!()
    };
    props.extend(more);
    if let Some(h) = props.get_mut("heap_dump") {
        h["description"] = json!("Which heap dump to analyse when the newest file holds several: 1-based, default the last (CLI --dump N); \"FILE#N\" in paths chooses per input.")
    }
    schema(props, &["paths"])
}

fn diff_schema() -> Value {
    let mut props = common_properties();
    let Value::Object(more) = json!({
        "dumps": {
            "type": "array", "minItems": 2,
            "items": {"type": "string"},
            "description": "Two or more heap dumps of one JVM (.hprof, .hprof.gz), oldest first; \"FILE#N\" is the N-th heap dump of a file holding several."
        },
        "top": {"type": "integer", "minimum": 0, "default": commands::TOP_ROWS, "description": "How many growing paths to list (and twice as many classes)."}
    }) else {
        unreachable!()
    };
    props.extend(more);
    schema(props, &["dumps"])
}

/// The graphs one call uses: the server's open dumps, reporting to the call's progress.
struct CallGraphs<'d> {
    dumps: &'d OpenDumps,
    progress: Arc<dyn Progress + Send>,
}

impl OpenGraphs for CallGraphs<'_> {
    fn with_graph<T: Send + 'static>(
        &self,
        req: &GraphRequest,
        f: impl FnOnce(&Graph<'_, '_>, &dyn Progress) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let worker = self.dumps.worker(req, self.progress.clone())?;
        let (tx, rx) = mpsc::sync_channel(1);
        let progress = self.progress.clone();
        let job: Job = Box::new(move |g| {
            let _ = tx.send(f(g, progress.as_ref()));
        });
        let gone = || {
            anyhow::anyhow!(
                "{}: the analysis stopped unexpectedly: this is a bug in oomsleuth, please report it (the server goes on)",
                req.dump.path.display()
            )
        };
        worker.send(job).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }
}

type Job = Box<dyn FnOnce(&Graph<'_, '_>) + Send>;

/// Dumps whose graphs stay open between calls: each on a thread of its own that holds the
/// graph and runs the calls' jobs on it, most recently used first, at most `max` of them
/// (the least recently used one is closed to open another). A dump is known by its path, its
/// modification time and size, and the options that shape its graph: a rewritten file is
/// opened again.
struct OpenDumps {
    cache_dir: Option<PathBuf>,
    max: usize,
    open: Mutex<Vec<(DumpKey, mpsc::Sender<Job>)>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct DumpKey {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    /// The request, without `no_cache` (which does not change the graph).
    graph: GraphRequest,
}

impl DumpKey {
    fn of(req: &GraphRequest) -> Result<DumpKey> {
        let path = std::fs::canonicalize(&req.dump.path).with_context(|| {
            format!(
                "{}: cannot read it: is the path right?",
                req.dump.path.display()
            )
        })?;
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("{}: cannot read it", req.dump.path.display()))?;
        let mut graph = req.clone();
        graph.no_cache = false;
        Ok(DumpKey {
            path,
            modified: meta.modified().ok(),
            len: meta.len(),
            graph,
        })
    }
}

impl OpenDumps {
    fn new(cache_dir: Option<PathBuf>, max: usize) -> OpenDumps {
        OpenDumps {
            cache_dir,
            max,
            open: Mutex::new(vec![]),
        }
    }

    /// The job queue of the thread holding the request's graph, opening it when needed.
    fn worker(
        &self,
        req: &GraphRequest,
        progress: Arc<dyn Progress + Send>,
    ) -> Result<mpsc::Sender<Job>> {
        let Ok(key) = DumpKey::of(req) else {
            // The reader says what is wrong with the path, in the CLI's words (this graph,
            // should it open after all, serves this call only).
            return open_worker(req.clone(), self.cache_dir.clone(), progress);
        };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = open.iter().position(|(k, _)| *k == key) {
            let entry = open.remove(at);
            let tx = entry.1.clone();
            open.insert(0, entry);
            return Ok(tx);
        }
        // Opening can take long; other dumps' calls wait meanwhile (one analysis at a time
        // is what the machine can do anyway).
        let tx = open_worker(req.clone(), self.cache_dir.clone(), progress)?;
        // A dump rewritten since it was opened is closed (every graph of it).
        open.retain(|(k, _)| k.path != key.path || (k.modified, k.len) == (key.modified, key.len));
        open.insert(0, (key, tx.clone()));
        open.truncate(self.max);
        Ok(tx)
    }
}

/// Starts a thread that opens the graph and runs jobs on it until its queue is dropped.
fn open_worker(
    req: GraphRequest,
    cache_dir: Option<PathBuf>,
    progress: Arc<dyn Progress + Send>,
) -> Result<mpsc::Sender<Job>> {
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<()>>(1);
    let name = format!("mcp {}", req.dump.path.display());
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let ready = ready_tx.clone();
            let r = commands::open_graph(&req, cache_dir.as_deref(), progress.as_ref(), |g| {
                let _ = ready.send(Ok(()));
                while let Ok(job) = jobs_rx.recv() {
                    // A panic is a bug; it ends this call (its caller says so), not the server.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(g)));
                }
                Ok(())
            });
            if let Err(e) = r {
                let _ = ready_tx.send(Err(e));
            }
        })
        .context("cannot start a thread for the dump")?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(jobs_tx),
        Ok(Err(e)) => Err(e),
        Err(_) => anyhow::bail!("the dump could not be opened: the reader stopped unexpectedly (a bug in oomsleuth, please report it)"),
    }
}

/// Progress as MCP progress notifications, at most a few a second.
struct McpProgress {
    peer: Peer<RoleServer>,
    token: ProgressToken,
    runtime: tokio::runtime::Handle,
    state: Mutex<ProgressState>,
}

struct ProgressState {
    phase: String,
    total: u64,
    done: u64,
    /// Phases so far: the notification's progress increases across phases.
    phases: u64,
    last: Option<Instant>,
}

impl McpProgress {
    fn new(peer: Peer<RoleServer>, token: ProgressToken) -> McpProgress {
        McpProgress {
            peer,
            token,
            runtime: tokio::runtime::Handle::current(),
            state: Mutex::new(ProgressState {
                phase: String::new(),
                total: 0,
                done: 0,
                phases: 0,
                last: None,
            }),
        }
    }

    fn notify(&self, s: &mut ProgressState, force: bool) {
        let now = Instant::now();
        if !force && s.last.is_some_and(|t| now - t < Duration::from_millis(250)) {
            return;
        }
        s.last = Some(now);
        let fraction = if s.total == 0 {
            0.0
        } else {
            (s.done.min(s.total) as f64) / s.total as f64
        };
        let mut p = ProgressNotificationParam::new(self.token.clone(), s.phases as f64 + fraction);
        p.message = Some(format!("{} {:.0}%", s.phase, fraction * 100.0));
        let peer = self.peer.clone();
        self.runtime.spawn(async move {
            let _ = peer.notify_progress(p).await;
        });
    }
}

impl Progress for McpProgress {
    fn phase(&self, name: &str, total: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.phases += 1;
        s.phase = name.to_string();
        s.total = total;
        s.done = 0;
        self.notify(&mut s, true);
    }

    fn advance(&self, n: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.done = s.done.saturating_add(n);
        self.notify(&mut s, false);
    }

    fn finish(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_arguments_take_the_cli_defaults_and_refuse_unknown_names() {
        let t: TopArgs = parse("top", json!({"dump": "x.hprof"})).unwrap();
        assert_eq!((t.by, t.top), (TopBy::Retained, commands::TOP_ROWS));
        let t: TopArgs = parse("top", json!({"dump": "x", "by": "count", "top": 3})).unwrap();
        assert_eq!((t.by, t.top), (TopBy::Count, 3));
        let e = parse::<TopArgs>("top", json!({"dump": "x", "limit": 3})).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        let e = parse::<TopArgs>("top", json!({"dump": "x", "top": "many"})).unwrap_err();
        assert!(e.to_string().contains("top"), "{e}");
        assert!(parse::<TopArgs>("top", json!({})).is_err());
        let a: AnalyzeArgs = parse(
            "analyze",
            json!({"paths": ["a.hprof#2"], "min_retained": "2MiB"}),
        )
        .unwrap();
        let r = a.request().unwrap();
        assert_eq!(r.paths, vec![PathBuf::from("a.hprof#2")]);
        assert_eq!(r.suspects.min_retained, 2 << 20);
        assert_eq!(
            r.suspects.threshold_percent,
            commands::SUSPECT_THRESHOLD_PERCENT
        );
    }

    #[test]
    fn every_tool_schema_requires_what_the_tool_needs() {
        for t in tools() {
            let s = &*t.input_schema;
            assert_eq!(s["type"], "object", "{}", t.name);
            assert!(tool_names().contains(&t.name.to_string()));
            for r in s["required"].as_array().unwrap() {
                assert!(
                    s["properties"].get(r.as_str().unwrap()).is_some(),
                    "{}: {r}",
                    t.name
                );
            }
        }
        let mut names = tool_names();
        names.sort();
        names.dedup();
        assert_eq!(tools().len(), names.len());
    }

    fn demo_request(strong_only: bool, path: &Path) -> GraphRequest {
        GraphRequest {
            dump: commands::DumpRequest {
                path: path.to_path_buf(),
                compressed_oops: None,
                heap_dump: None,
            },
            keep_unreachable: false,
            strong_only,
            no_cache: true,
        }
    }

    #[test]
    fn open_dumps_keep_the_most_recently_used_and_reopen_a_rewritten_file() {
        let dir = std::env::temp_dir().join(format!("oomsleuth-mcp-lru-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dump = dir.join("demo.hprof.gz");
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/leaking-map.hprof.gz");
        std::fs::copy(&demo, &dump).unwrap();
        let dumps = OpenDumps::new(Some(dir.clone()), 2);
        let graphs = CallGraphs {
            dumps: &dumps,
            progress: Arc::new(crate::heap::snapshot::NoProgress),
        };
        let objects = |req: &GraphRequest| {
            graphs
                .with_graph(req, |g, _| Ok(g.heap.index.len()))
                .unwrap()
        };
        let keys = || -> Vec<bool> {
            let open = dumps.open.lock().unwrap();
            open.iter().map(|(k, _)| k.graph.strong_only).collect()
        };
        let n = objects(&demo_request(false, &dump));
        assert!(n > 10_000, "{n}");
        assert_eq!(objects(&demo_request(false, &dump)), n);
        assert_eq!(keys(), [false]);
        objects(&demo_request(true, &dump));
        assert_eq!(keys(), [true, false], "most recently used first");
        objects(&demo_request(false, &dump));
        assert_eq!(keys(), [false, true]);
        // Rewritten (a new mtime): its old graphs are closed, the new one opened.
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&dump)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(objects(&demo_request(false, &dump)), n);
        assert_eq!(keys(), [false]);
        assert_eq!(dumps.open.lock().unwrap()[0].0.modified, Some(later));
        // A bound of one keeps one.
        let one = OpenDumps::new(Some(dir.clone()), 1);
        let graphs = CallGraphs {
            dumps: &one,
            progress: Arc::new(crate::heap::snapshot::NoProgress),
        };
        graphs
            .with_graph(&demo_request(false, &dump), |_, _| Ok(()))
            .unwrap();
        graphs
            .with_graph(&demo_request(true, &dump), |_, _| Ok(()))
            .unwrap();
        assert_eq!(one.open.lock().unwrap().len(), 1);
        // A missing file: the reader's error, nothing kept.
        let e = graphs
            .with_graph(&demo_request(false, &dir.join("gone.hprof")), |_, _| Ok(()))
            .unwrap_err();
        assert!(format!("{e:#}").contains("gone.hprof"), "{e:#}");
        assert_eq!(one.open.lock().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
