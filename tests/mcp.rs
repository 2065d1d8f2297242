//! `oomsleuth mcp` driven by a scripted client over stdio (JSON-RPC 2.0, one message a line):
//! the tool list and input schemas; every tool's result equals what the CLI command of its name
//! prints with `--json` for the same arguments, on the shipped demo dump and on real fixture
//! dumps (a planted leak, a growing heap); the planted leak's suspect is the fixture's recorded
//! holder; bad paths, object ids and dumps are tool errors in the CLI's words, after which the
//! server still answers; the server exits cleanly when stdin closes.

use crate::support::jvm::{capture, capture_steps, have, Jdk};
use crate::synthetic::oomsleuth;
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long one answer may take (a first open of a fixture dump on a busy 2-core machine).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// A client speaking to one `oomsleuth mcp` process.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    next_id: u64,
}

impl Client {
    /// Starts the server with a cache directory of its own and initialises the session.
    fn start(cache_dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
            .args([
                "--cache-dir".as_ref(),
                cache_dir.as_os_str(),
                "mcp".as_ref(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start oomsleuth mcp");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut c = Client {
            child,
            stdin,
            lines,
            next_id: 0,
        };
        let init = c.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "oomsleuth-tests", "version": "1"}
            }),
        );
        assert_eq!(
            init["result"]["serverInfo"]["name"], "oomsleuth",
            "{init:#}"
        );
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init:#}"
        );
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        c
    }

    fn send(&mut self, msg: &Json) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{msg}").expect("write to the server");
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response, skipping notifications (progress).
    fn request(&mut self, method: &str, params: Json) -> Json {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self
                .lines
                .recv_timeout(ANSWER_TIMEOUT)
                .unwrap_or_else(|e| panic!("no answer to {method} {params}: {e}"));
            let msg: Json = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carries a line that is not JSON ({e}): {line}"));
            assert_eq!(msg["jsonrpc"], "2.0", "{msg}");
            if msg.get("id").is_none() {
                assert!(msg["method"].as_str().is_some(), "{msg}");
                continue;
            }
            assert_eq!(msg["id"], id, "{msg}");
            return msg;
        }
    }

    /// `tools/call`: the result (an `isError` result included).
    fn call(&mut self, tool: &str, args: Json) -> Json {
        let r = self.request(
            "tools/call",
            json!({"name": tool, "arguments": args, "_meta": {"progressToken": format!("p{}", self.next_id)}}),
        );
        assert!(r.get("error").is_none(), "{tool}: a protocol error: {r:#}");
        r["result"].clone()
    }

    /// A successful call's document, checked to be the same as structured content and as text.
    fn document(&mut self, tool: &str, args: Json) -> Json {
        let r = self.call(tool, args.clone());
        assert_ne!(r["isError"], true, "{tool} {args}: {r:#}");
        let text = r["content"][0]["text"].as_str().expect("a text block");
        let parsed: Json = serde_json::from_str(text).expect("the text is JSON");
        assert_eq!(
            parsed, r["structuredContent"],
            "{tool}: text and structured content"
        );
        // The text starts as the CLI's does: the schema first.
        assert!(
            text.starts_with("{\n  \"schema\": "),
            "{}",
            &text[..80.min(text.len())]
        );
        parsed
    }

    /// A failed call's message (checked to be a tool error).
    fn error(&mut self, tool: &str, args: Json) -> String {
        let r = self.call(tool, args.clone());
        assert_eq!(r["isError"], true, "{tool} {args} should fail: {r:#}");
        r["content"][0]["text"].as_str().unwrap().to_string()
    }

    /// Closes stdin and expects the server to exit with success.
    fn close(mut self) {
        drop(self.stdin.take());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the server exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the server did not exit within 10 s of stdin closing");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh directory for one test's index caches and inflated dumps.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oomsleuth-mcp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/leaking-map.hprof.gz")
}

/// The CLI's `--json` document for `args` (run with the same cache directory).
fn cli_json(cache_dir: &Path, args: &[&str]) -> Json {
    let mut all = vec!["--cache-dir", cache_dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = oomsleuth(&all);
    assert_eq!(run.code, 0, "oomsleuth {all:?}: {}", run.stderr);
    run.json()
}

/// The CLI's error line for `args`, as the server's tool error says it.
fn cli_error(cache_dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["--cache-dir", cache_dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = oomsleuth(&all);
    assert_eq!(run.code, 2, "oomsleuth {all:?} should fail: {}", run.stdout);
    run.stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {}", run.stderr))
        .to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Calls every graph tool on `dump` and checks each result equals the CLI's `--json`; returns
/// the analyze document. Object ids come from `top`'s result, as an assistant would take them.
fn check_tools_equal_cli(c: &mut Client, cache: &Path, dump: &Path) -> Json {
    let d = s(dump);
    let analysis = c.document("analyze", json!({"paths": [d]}));
    // The server wrote the index cache the CLI then reads.
    let cached = std::fs::read_dir(cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(".oomsleuth-index")
        });
    assert!(cached, "no index cache in {}", cache.display());
    assert_eq!(analysis, cli_json(cache, &["analyze", "--json", d]));
    assert_eq!(analysis["schema"], "oomsleuth.report/1");
    let top = c.document("top", json!({"dump": d}));
    assert_eq!(top, cli_json(cache, &["top", "--json", d]));
    assert_eq!(top["schema"], "oomsleuth.top/1");
    let top = c.document("top", json!({"dump": d, "by": "count", "top": 5}));
    assert_eq!(
        top,
        cli_json(cache, &["top", "--json", "--by", "count", "-n", "5", d])
    );
    let top = c.document("top", json!({"dump": d, "top": 3}));
    let id = top["objects"][0]["id"]
        .as_str()
        .expect("top lists objects")
        .to_string();
    assert!(id.starts_with("0x"), "{id}");
    let doms = c.document("dominators", json!({"dump": d}));
    assert_eq!(doms, cli_json(cache, &["dominators", "--json", d]));
    assert_eq!(doms["schema"], "oomsleuth.dominators/1");
    let doms = c.document(
        "dominators",
        json!({"dump": d, "root": id, "depth": 2, "min_percent": 0.5, "max_children": 5}),
    );
    let cli = cli_json(
        cache,
        &[
            "dominators",
            "--json",
            "--root",
            &id,
            "--depth",
            "2",
            "--min-percent",
            "0.5",
            "--max-children",
            "5",
            d,
        ],
    );
    assert_eq!(doms, cli);
    let path = c.document("path", json!({"dump": d, "object": id}));
    assert_eq!(path, cli_json(cache, &["path", "--json", d, &id]));
    assert_eq!(path["schema"], "oomsleuth.path/1");
    let path = c.document(
        "path",
        json!({"dump": d, "object": id, "paths": 1, "strong_only": true}),
    );
    assert_eq!(
        path,
        cli_json(
            cache,
            &["path", "--json", "-n", "1", "--strong-only", d, &id]
        )
    );
    let inspect = c.document(
        "inspect",
        json!({"dump": d, "object": id, "referrers": true}),
    );
    assert_eq!(
        inspect,
        cli_json(cache, &["inspect", "--json", "--referrers", d, &id])
    );
    assert_eq!(inspect["schema"], "oomsleuth.inspect/1");
    let inspect = c.document(
        "inspect",
        json!({"dump": d, "object": id, "no_cache": true}),
    );
    assert_eq!(
        inspect,
        cli_json(cache, &["inspect", "--json", "--no-cache", d, &id])
    );
    analysis
}

#[test]
fn tools_list_names_every_tool_with_a_schema_an_assistant_can_follow() {
    let cache = temp_dir("list");
    let mut c = Client::start(&cache);
    let list = c.request("tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().expect("tools");
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    let mut want = vec!["analyze", "diff", "dominators", "inspect", "path", "top"];
    if cfg!(feature = "sql") {
        want.push("sql");
        want.sort();
    }
    assert_eq!(names, want);
    let required = |t: &Json| -> Vec<String> {
        let mut r: Vec<String> = t["inputSchema"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        r.sort();
        r
    };
    for t in tools {
        let name = t["name"].as_str().unwrap();
        let schema = &t["inputSchema"];
        assert_eq!(schema["type"], "object", "{name}");
        assert_eq!(schema["additionalProperties"], false, "{name}");
        let desc = t["description"].as_str().unwrap();
        assert!(
            desc.contains("oomsleuth."),
            "{name}: names its document: {desc}"
        );
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{name}");
        for (prop, p) in schema["properties"].as_object().unwrap() {
            assert!(
                p["description"].as_str().is_some_and(|d| d.len() > 10),
                "{name}.{prop} has no description"
            );
        }
        let want: &[&str] = match name {
            "analyze" => &["paths"],
            "diff" => &["dumps"],
            "path" | "inspect" => &["dump", "object"],
            "sql" => &["dump", "query"],
            _ => &["dump"],
        };
        assert_eq!(required(t), want, "{name}");
        if let Some(obj) = schema["properties"]
            .get("object")
            .or(schema["properties"].get("root"))
        {
            // Says what an id looks like and where to get one.
            let d = obj["description"].as_str().unwrap();
            assert!(
                d.contains("0x") && d.contains("top") && d.contains("dominators"),
                "{d}"
            );
        }
    }
    let top = tools.iter().find(|t| t["name"] == "top").unwrap();
    assert_eq!(
        top["inputSchema"]["properties"]["by"]["enum"],
        json!(["retained", "shallow", "count"])
    );
    assert_eq!(top["inputSchema"]["properties"]["top"]["default"], 20);
    c.close();
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn every_tool_on_the_demo_dump_returns_the_cli_json() {
    let cache = temp_dir("demo");
    let mut c = Client::start(&cache);
    let analysis = check_tools_equal_cli(&mut c, &cache, &demo());
    // The demo's planted leak (demo/leaking-map.planted.json) is what the assistant is told.
    let planted: Json = serde_json::from_str(
        &std::fs::read_to_string(demo().with_file_name("leaking-map.planted.json")).unwrap(),
    )
    .unwrap();
    let s = &analysis["suspects"][0];
    assert_eq!(
        s["owner"]["class"], "com.example.ConnectionRegistry",
        "{s:#}"
    );
    assert_eq!(s["owner"]["field"], "byIp");
    assert_eq!(
        s["accumulated"]["count"],
        planted["leak"]["leaked_contexts"]
    );
    // analyze's own options, as the CLI takes them.
    let d = s_demo();
    let a = c.document(
        "analyze",
        json!({"paths": [d], "threshold": 5, "min_retained": "512KiB", "max_suspects": 2}),
    );
    let cli = cli_json(
        &cache,
        &[
            "analyze",
            "--json",
            "--threshold",
            "5",
            "--min-retained",
            "512KiB",
            "--max-suspects",
            "2",
            &d,
        ],
    );
    assert_eq!(a, cli);
    c.close();
    let _ = std::fs::remove_dir_all(&cache);
}

fn s_demo() -> String {
    demo().to_str().unwrap().to_string()
}

#[test]
fn every_tool_on_a_planted_leak_returns_the_cli_json_and_names_the_recorded_holder() {
    if !have(Jdk::J17) {
        eprintln!("note: JDK 17 is not available: the MCP fixture test is skipped");
        return;
    }
    let cap = capture("LeakingMap", Jdk::J17, true, false, &[]);
    let cache = temp_dir("leak");
    let mut c = Client::start(&cache);
    let analysis = check_tools_equal_cli(&mut c, &cache, &cap.hprof);
    let s = &analysis["suspects"][0];
    let leak = &cap.planted["leak"];
    assert_eq!(s["pattern"], "map_key", "{s:#}");
    assert_eq!(
        s["owner"]["class"], "com.example.ConnectionRegistry",
        "{s:#}"
    );
    assert_eq!(s["owner"]["field"], "byIp");
    assert_eq!(
        s["map"]["keys"][0]["key"],
        format!("{:?}", leak["key"].as_str().unwrap())
    );
    assert_eq!(s["accumulated"]["class"], "com.example.ChannelContext");
    assert_eq!(s["accumulated"]["count"], leak["leaked_contexts"]);
    // The JVM's own count of ChannelContext: the leaked ones plus the open ones.
    assert_eq!(
        cap.histo_before.instances("com.example.ChannelContext"),
        s["accumulated"]["count"].as_u64().unwrap() + leak["open_contexts"].as_u64().unwrap()
    );
    c.close();
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn diff_of_a_growing_heap_returns_the_cli_json() {
    if !have(Jdk::J17) {
        eprintln!("note: JDK 17 is not available: the MCP diff test is skipped");
        return;
    }
    let cap = capture_steps(
        "GrowingLeak",
        &["GrowingLeak.java", "Planted.java"],
        Jdk::J17,
        3,
    );
    let dumps: Vec<&str> = cap.hprofs.iter().map(|p| s(p)).collect();
    let cache = temp_dir("diff");
    let mut c = Client::start(&cache);
    let diff = c.document("diff", json!({"dumps": dumps, "top": 5}));
    let mut args = vec!["diff", "--json", "-n", "5"];
    args.extend(&dumps);
    assert_eq!(diff, cli_json(&cache, &args));
    assert_eq!(diff["schema"], "oomsleuth.diff/1");
    // The session map grew on every step, as Java's size() did.
    let first = &diff["growth"][0];
    assert!(first.to_string().contains("SESSIONS"), "{first:#}");
    // analyze OLD MID NEW ranks the newest dump's suspects by growth, as the CLI does.
    let a = c.document("analyze", json!({"paths": dumps}));
    let mut args = vec!["analyze", "--json"];
    args.extend(&dumps);
    assert_eq!(a, cli_json(&cache, &args));
    assert!(a["history"].is_object(), "{:#}", a["history"]);
    let e = c.error("diff", json!({"dumps": [dumps[0]]}));
    assert!(e.contains("two or more heap dumps"), "{e}");
    c.close();
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn bad_paths_ids_and_dumps_are_tool_errors_in_the_cli_words_and_the_server_goes_on() {
    let cache = temp_dir("errors");
    let mut c = Client::start(&cache);
    let demo = s_demo();
    // A path that does not exist, a directory, a FIFO: named, in the CLI's words.
    let missing = cache.join("no-such.hprof");
    let e = c.error("top", json!({"dump": s(&missing)}));
    assert_eq!(e, cli_error(&cache, &["top", s(&missing)]));
    assert!(e.contains(s(&missing)), "{e}");
    let e = c.error("inspect", json!({"dump": s(&cache), "object": "0x1"}));
    assert_eq!(e, cli_error(&cache, &["inspect", s(&cache), "0x1"]));
    let fifo = cache.join("pipe.hprof");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let e = c.error("dominators", json!({"dump": s(&fifo)}));
        assert!(e.contains("FIFO") && e.contains(s(&fifo)), "{e}");
    }
    let e = c.error("analyze", json!({"paths": [s(&missing)]}));
    assert_eq!(e, cli_error(&cache, &["analyze", s(&missing)]));
    // An object id the dump does not hold, and one that is not an id.
    let e = c.error("inspect", json!({"dump": demo, "object": "0x12345"}));
    assert_eq!(e, cli_error(&cache, &["inspect", &demo, "0x12345"]));
    assert!(e.contains("leaking-map.hprof.gz"), "{e}");
    let e = c.error("path", json!({"dump": demo, "object": "not-an-id"}));
    assert_eq!(e, cli_error(&cache, &["path", &demo, "not-an-id"]));
    let e = c.error("dominators", json!({"dump": demo, "root": "0x12345"}));
    assert_eq!(
        e,
        cli_error(&cache, &["dominators", &demo, "--root", "0x12345"])
    );
    // A dump cut inside its header cannot be read: the file and the offset are named.
    let whole = inflate_demo(&cache);
    let header_cut = cache.join("header-cut.hprof");
    std::fs::write(&header_cut, &whole[..20]).unwrap();
    let e = c.error("top", json!({"dump": s(&header_cut)}));
    assert_eq!(e, cli_error(&cache, &["top", s(&header_cut)]));
    assert!(e.contains(s(&header_cut)) && e.contains("byte 20"), "{e}");
    // A dump cut in its body is analysed as far as it goes, as the CLI does, with a warning.
    let body_cut = cache.join("body-cut.hprof");
    std::fs::write(&body_cut, &whole[..whole.len() / 3]).unwrap();
    let a = c.document("analyze", json!({"paths": [s(&body_cut)]}));
    assert_eq!(a, cli_json(&cache, &["analyze", "--json", s(&body_cut)]));
    assert_eq!(a["dump"]["truncated"], true, "{:#}", a["dump"]);
    assert!(!a["warnings"].as_array().unwrap().is_empty());
    // Arguments the schema does not allow, and a tool that does not exist.
    let e = c.error("top", json!({"dump": demo, "limit": 3}));
    assert!(e.contains("limit"), "{e}");
    let e = c.error("path", json!({"dump": demo}));
    assert!(e.contains("object"), "{e}");
    let e = c.error("analyze", json!({"paths": [demo], "threshold": 200}));
    assert_eq!(
        e,
        cli_error(&cache, &["analyze", "--threshold", "200", &demo])
    );
    let e = c.error("histogram", json!({"dump": demo}));
    assert!(e.contains("histogram") && e.contains("analyze"), "{e}");
    // After all that the server still answers.
    let top = c.document("top", json!({"dump": demo, "top": 2}));
    assert_eq!(top, cli_json(&cache, &["top", "--json", "-n", "2", &demo]));
    c.close();
    let _ = std::fs::remove_dir_all(&cache);
}

/// The demo dump's bytes, inflated (a plain HPROF file to cut).
fn inflate_demo(dir: &Path) -> Vec<u8> {
    let out = dir.join("demo.hprof");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -dc '{}' > '{}'", s(&demo()), s(&out)))
        .status()
        .expect("gzip");
    assert!(status.success());
    std::fs::read(&out).unwrap()
}

#[test]
fn the_server_ends_when_stdin_closes_even_before_initialising() {
    let child = Command::new(env!("CARGO_BIN_EXE_oomsleuth"))
        .arg("mcp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start oomsleuth mcp");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing on stdout but the protocol: here, nothing at all.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// The `sql` tool (with the `sql` feature) returns what `oomsleuth sql --json` prints: the same
/// rows for a query over every object, `max_rows` truncating as `--max-rows` does, and a bad
/// query as a tool error in the CLI's words, after which the server still answers.
#[cfg(feature = "sql")]
#[test]
fn sql_tool_returns_what_sql_json_prints() {
    let cache = temp_dir("sql");
    let mut c = Client::start(&cache);
    let demo = demo();
    let d = s(&demo);
    let q = "SELECT class, count(*) AS n, sum(retained) AS bytes FROM objects GROUP BY class ORDER BY bytes DESC, class LIMIT 5";
    let doc = c.document("sql", json!({"dump": d, "query": q}));
    assert_eq!(doc, cli_json(&cache, &["sql", "--json", d, q]));
    assert_eq!(doc["schema"], "oomsleuth.sql/1");
    assert_eq!(doc["rows"].as_array().map(Vec::len), Some(5), "{doc:#}");
    // The demo's planted leak is a class the query finds, with the count its fixture planted.
    let planted: Json = serde_json::from_str(
        &std::fs::read_to_string(demo.with_file_name("leaking-map.planted.json")).unwrap(),
    )
    .unwrap();
    let q = "SELECT count(*) AS n FROM \"com.example.ChannelContext\"";
    let doc = c.document("sql", json!({"dump": d, "query": q}));
    assert_eq!(doc, cli_json(&cache, &["sql", "--json", d, q]));
    assert_eq!(
        doc["rows"][0]["n"],
        planted["planted"]["com.example.ChannelContext"]
    );
    let q = "SELECT id FROM objects ORDER BY id";
    let doc = c.document("sql", json!({"dump": d, "query": q, "max_rows": 3}));
    assert_eq!(
        doc,
        cli_json(&cache, &["sql", "--json", "--max-rows", "3", d, q])
    );
    assert_eq!(doc["truncated"], true);
    let q = "SELECT * FROM \"com.example.ChanelContext\"";
    let e = c.error("sql", json!({"dump": d, "query": q}));
    // The CLI's first line, then its hint naming the closest class.
    let cli = cli_error(&cache, &["sql", d, q]);
    assert_eq!(e.lines().next(), Some(cli.as_str()), "{e}");
    assert!(e.contains("\"com.example.ChannelContext\""), "{e}");
    assert!(c.error("sql", json!({"dump": d})).contains("query"));
    let top = c.document("top", json!({"dump": d, "top": 1}));
    assert_eq!(top["schema"], "oomsleuth.top/1");
    c.close();
}
