//! `sql`, `oql` and `export --parquet` (feature `sql`) against what the JVM and Eclipse MAT say:
//! per-class counts against the JVM's `jmap -histo:live`, field values against what the
//! QueryFacts fixture counted in Java, retained sizes against `top`, MAT's own OQL test queries
//! on MAT's dumps with MAT's answers, and a Parquet export read back by DuckDB.

use crate::support::jvm::{capture, have, Capture, Jdk};
use crate::synthetic::oomsleuth;
use oomsleuth::analyses::heap::graph::Graph;
use oomsleuth::analyses::heap::query::{self, QueryResult};
use oomsleuth::formats::hprof::DumpBytes;
use oomsleuth::heap::cache;
use oomsleuth::heap::objects::Heap;
use oomsleuth::heap::snapshot::{NoProgress, Snapshot};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Runs `f` on the graph of `path` (no cache).
fn with_graph<T>(path: &Path, f: impl FnOnce(&Graph<'_, '_>) -> T) -> T {
    let bytes = DumpBytes::open(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let snap = Snapshot::load(&bytes, Default::default(), &NoProgress)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let (index, retention) = cache::load_or_build(&snap, None, false, &NoProgress);
    let g = Graph {
        heap: Heap::new(&snap, &index),
        retention: &retention,
    };
    f(&g)
}

fn sql(g: &Graph<'_, '_>, q: &str) -> QueryResult {
    query::run(g, q, usize::MAX, &query::Options::default())
        .unwrap_or_else(|e| panic!("{q}: {e:#}"))
}

/// The one number a query returns.
fn number(g: &Graph<'_, '_>, q: &str) -> u64 {
    let r = sql(g, q);
    assert_eq!(r.rows.len(), 1, "{q}: {:?}", r.rows);
    let v = r.rows[0].values().next().cloned().unwrap_or_default();
    v.as_u64()
        .or_else(|| v.as_i64().map(|x| x as u64))
        .unwrap_or_else(|| panic!("{q}: not a number: {v}"))
}

/// Hidden classes lose their address suffix (as in jvm_histogram.rs).
fn normalise(name: &str) -> String {
    match name.rfind(['/', '+']) {
        Some(i) if name[i + 1..].starts_with("0x") => name[..i].to_string(),
        _ => name.to_string(),
    }
}

fn planted(cap: &Capture, key: &str) -> u64 {
    cap.planted[key]
        .as_u64()
        .unwrap_or_else(|| panic!("planted.json has no {key}: {}", cap.planted))
}

/// `SELECT class, count(*) FROM objects GROUP BY class` equals the JVM's histogram for every
/// class whose row held still while the dump was taken.
fn class_counts_on(jdk: Jdk) {
    if !have(jdk) {
        return;
    }
    let cap = capture("QueryFacts", jdk, true, false, &[]);
    with_graph(&cap.hprof, |g| {
        let r = sql(g, "SELECT class, count(*) AS n FROM objects GROUP BY class");
        let mut ours: HashMap<String, u64> = HashMap::new();
        for row in &r.rows {
            let name = normalise(row["class"].as_str().unwrap());
            *ours.entry(name).or_default() += row["n"].as_u64().unwrap();
        }
        let mut jvm: HashMap<String, u64> = HashMap::new();
        for row in cap.stable_rows() {
            *jvm.entry(normalise(&row.name)).or_default() += row.instances;
        }
        let mut compared = 0;
        let mut wrong = vec![];
        for (name, &n) in &jvm {
            let o = ours.get(name).copied().unwrap_or(0);
            compared += 1;
            // Dormant CDS mirrors are counted by the JVM only (see jvm_histogram.rs).
            let ok = if name == "java.lang.Class" {
                o <= n
            } else {
                o == n
            };
            if !ok {
                wrong.push(format!("{name}: sql {o}, JVM {n}"));
            }
        }
        assert!(compared > 150, "{jdk}: only {compared} stable classes");
        assert!(
            wrong.is_empty(),
            "{jdk}: counts differ:\n{}",
            wrong.join("\n")
        );
        for (class, n) in cap.planted_exact() {
            assert_eq!(ours.get(&class).copied(), Some(n), "{jdk}: planted {class}");
        }
    });
}

#[test]
fn sql_class_counts_equal_jmap_histo_on_jdk11() {
    class_counts_on(Jdk::J11);
}

#[test]
fn sql_class_counts_equal_jmap_histo_on_jdk17() {
    class_counts_on(Jdk::J17);
}

#[test]
fn sql_class_counts_equal_jmap_histo_on_jdk21() {
    class_counts_on(Jdk::J21);
}

#[test]
fn sql_class_counts_equal_jmap_histo_on_jdk25() {
    class_counts_on(Jdk::J25);
}

/// Field values through the class tables equal what the fixture counted in Java.
fn planted_fields_on(jdk: Jdk) {
    if !have(jdk) {
        return;
    }
    let cap = capture("QueryFacts", jdk, true, false, &[]);
    with_graph(&cap.hprof, |g| {
        let s = "\"com.example.QuerySession\"";
        let all = "\"instanceof com.example.QuerySession\"";
        let admin = "\"com.example.QueryAdminSession\"";
        let n = |q: &str| number(g, q);
        assert_eq!(
            n(&format!("SELECT count(*) FROM {s} WHERE user IS NULL")),
            planted(&cap, "null_user_sessions"),
            "{jdk}"
        );
        assert_eq!(
            n(&format!("SELECT sum(hits) FROM {all}")),
            planted(&cap, "hits_sum")
        );
        assert_eq!(
            n(&format!("SELECT count(*) FROM {all} WHERE secure")),
            planted(&cap, "secure_sessions")
        );
        assert_eq!(
            n(&format!("SELECT count(*) FROM {all} WHERE grade = 'A'")),
            planted(&cap, "grade_a_sessions")
        );
        assert_eq!(
            n(&format!("SELECT sum(level) FROM {admin}")),
            planted(&cap, "admin_level_sum")
        );
        // The subclass's own `user` shadows the inherited one, which keeps its declarer's name.
        assert_eq!(
            n(&format!("SELECT count(*) FROM {admin} WHERE user IS NULL")),
            planted(&cap, "admin_null_own_user")
        );
        assert_eq!(
            n(&format!(
                "SELECT count(*) FROM {admin} WHERE to_string(\"QuerySession.user\") LIKE 'admin-%'"
            )),
            40
        );
        // The users map, found through its static field in `refs`: Java's size().
        assert_eq!(
            n("SELECT m.size FROM \"java.util.HashMap\" m JOIN refs r ON r.\"to\" = m.id WHERE r.field = 'static BY_USER'"),
            planted(&cap, "users_size")
        );
        colliding_fields(g, &cap, jdk);
        // The same count through field(): every session's user read by name.
        assert_eq!(
            n(&format!(
                "SELECT count(*) FROM {s} WHERE field(id, 'user') IS NULL"
            )),
            planted(&cap, "null_user_sessions")
        );
    });
}

/// Fields named like the built-in columns (`id`, `size`, `shallow`, `retained`, `capacity`) get
/// columns of their own beside the built-ins, and hold what Java put in them.
fn colliding_fields(g: &Graph<'_, '_>, cap: &Capture, jdk: Jdk) {
    let boxes = "\"com.example.QueryBox\"";
    let r = sql(g, &format!("SELECT * FROM {boxes} LIMIT 1"));
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{jdk}: {names:?}");
    let n = |q: &str| number(g, q);
    // QueryBox is no collection: it has no built-in size or capacity, so those fields keep
    // their names; id and retained are built-ins.
    for (column, fact) in [
        ("QueryBox.id", "box_id_sum"),
        ("size", "box_size_sum"),
        ("QueryBox.retained", "box_retained_sum"),
        ("capacity", "box_capacity_sum"),
    ] {
        assert_eq!(
            n(&format!("SELECT sum(\"{column}\") FROM {boxes}")),
            planted(cap, fact),
            "{jdk}: {column}"
        );
    }
    assert_eq!(
        n(&format!("SELECT sum(\"QueryBox.shallow\") FROM {boxes}")),
        7 * planted_count(cap, "com.example.QueryBox"),
        "{jdk}"
    );
    // The built-ins are still the object's: ids are the dump's, shallow its size in the heap.
    assert_eq!(
        n(&format!(
            "SELECT count(*) FROM {boxes} b JOIN objects o ON o.id = b.id AND o.shallow = b.shallow"
        )),
        planted_count(cap, "com.example.QueryBox"),
        "{jdk}"
    );
    // OQL's `b.size` is the Java field, whatever its column is called.
    let q =
        query::translate_oql(g, "SELECT * FROM com.example.QueryBox b WHERE b.size < 10").unwrap();
    assert_eq!(
        sql(g, &q).rows.len() as u64,
        planted(cap, "box_small"),
        "{jdk}: {q}"
    );
    // An ArrayList subclass with a `size` of its own: Java's `l.size` is its own field,
    // ArrayList's is `ArrayList.size` (Java's size()).
    let lists = "\"com.example.QueryCountedList\"";
    assert_eq!(
        n(&format!("SELECT sum(\"ArrayList.size\") FROM {lists}")),
        planted(cap, "counted_list_size_sum"),
        "{jdk}"
    );
    let q = query::translate_oql(g, "SELECT l.size FROM com.example.QueryCountedList l").unwrap();
    let own: u64 = sql(g, &q)
        .rows
        .iter()
        .map(|r| r.values().next().and_then(|v| v.as_u64()).unwrap_or(0))
        .sum();
    assert_eq!(own, planted(cap, "counted_own_size_sum"), "{jdk}: {q}");
}

fn planted_count(cap: &Capture, class: &str) -> u64 {
    cap.planted_exact()
        .into_iter()
        .find(|(c, _)| c == class)
        .map(|(_, n)| n)
        .unwrap_or_else(|| panic!("planted.json has no {class}"))
}

/// `export --class` of a class whose fields are named like the built-in columns writes its
/// table (its columns do not collide), and the file holds what Java put in the fields.
#[test]
fn export_class_with_fields_named_like_columns() {
    if !have(Jdk::J17) {
        return;
    }
    let cap = capture("QueryFacts", Jdk::J17, true, false, &[]);
    let dir = crate::support::jvm::repo_root().join("target/sql-export-colliding");
    let _ = std::fs::remove_dir_all(&dir);
    let run = oomsleuth([
        "export".to_string(),
        "--no-cache".into(),
        "--parquet".into(),
        dir.display().to_string(),
        "--class".into(),
        "com.example.QueryBox".into(),
        "--class".into(),
        "com.example.QueryCountedList".into(),
        cap.hprof.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let name = cap
        .hprof
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let boxes = dir.join(format!(
        "class/com.example.QueryBox/dump={name}/part-0.parquet"
    ));
    assert!(boxes.is_file(), "{}: {}", boxes.display(), run.stdout);
    assert!(
        run.stdout.contains("com.example.QueryCountedList"),
        "{}",
        run.stdout
    );
    if let Some(python) = duckdb_python() {
        let script = format!(
            "import duckdb\nprint(duckdb.sql(\"SELECT count(*), sum(\\\"QueryBox.id\\\") FROM read_parquet('{}')\").fetchall()[0])",
            boxes.display()
        );
        let out = std::process::Command::new(&python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = format!(
            "({}, {})",
            planted_count(&cap, "com.example.QueryBox"),
            planted(&cap, "box_id_sum")
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
    } else {
        eprintln!("note: no python with duckdb: the exported file was not read back");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sql_field_values_equal_what_java_counted_on_jdk11() {
    planted_fields_on(Jdk::J11);
}

#[test]
fn sql_field_values_equal_what_java_counted_on_jdk17() {
    planted_fields_on(Jdk::J17);
}

#[test]
fn sql_field_values_equal_what_java_counted_on_jdk21() {
    planted_fields_on(Jdk::J21);
}

#[test]
fn sql_field_values_equal_what_java_counted_on_jdk25() {
    planted_fields_on(Jdk::J25);
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/leaking-map.hprof.gz")
}

/// The retained column equals `top --json`'s retained sizes for the biggest objects.
#[test]
fn sql_retained_equals_top() {
    let top = oomsleuth(
        ["top", "--json", "--no-cache", "-n", "10"]
            .iter()
            .map(|s| s.to_string())
            .chain([demo().display().to_string()]),
    );
    assert_eq!(top.code, 0, "{}", top.stderr);
    let top: serde_json::Value = serde_json::from_str(&top.stdout).unwrap();
    with_graph(&demo(), |g| {
        let r = sql(g, "SELECT id, retained, describe(id) AS d FROM objects ORDER BY retained DESC, id LIMIT 10");
        let ours: HashMap<u64, u64> = r
            .rows
            .iter()
            .map(|row| {
                (
                    row["id"].as_u64().unwrap(),
                    row["retained"].as_u64().unwrap(),
                )
            })
            .collect();
        let objects = top["objects"].as_array().unwrap();
        assert!(!objects.is_empty());
        for o in objects {
            let id = u64::from_str_radix(o["id"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap();
            let retained = o["retained_bytes"].as_u64().unwrap();
            let q = format!("SELECT retained FROM objects WHERE id = {id}");
            assert_eq!(number(g, &q), retained, "object {id:#x}");
            if let Some(&r) = ours.get(&id) {
                assert_eq!(r, retained);
            }
        }
        // The biggest object is the same either way.
        let first = u64::from_str_radix(
            objects[0]["id"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        assert_eq!(r.rows[0]["id"].as_u64(), Some(first));
        assert_eq!(r.rows[0]["d"].as_str(), objects[0]["description"].as_str());
    });
}

/// MAT's OQLTest queries on MAT's sun_jdk5_64bit dump give MAT's answers (its README lists them).
#[test]
fn oql_gives_mats_answers_on_mats_dump() {
    let Some(dir) = crate::support::shared_dir("peer-dumps") else {
        eprintln!("skipped: no ../shared/peer-dumps (MAT's dumps)");
        return;
    };
    let dump = dir.join("sun_jdk5_64bit.hprof");
    let cases: &[(&str, usize)] = &[
        ("select * from java.lang.String", 492),
        ("select s.@objectId, s.value, s.count, s.offset from java.lang.String s", 492),
        ("SELECT * FROM INSTANCEOF java.lang.ref.Reference", 21),
        ("SELECT * FROM INSTANCEOF java.util.AbstractMap", 25),
        ("select * from byte[]", 21),
        // MAT's query is INSTANCEOF: the 3 Stacks read the elementCount they inherit from Vector.
        ("select * from instanceof java.util.Vector s where s.elementCount < 10", 11),
        ("SELECT * FROM java.lang.String s WHERE s.count > 51", 16),
        ("SELECT * FROM java.lang.String s WHERE s.count >= 51", 19),
        ("SELECT * FROM java.lang.String s WHERE s.count < 51", 473),
        ("SELECT * FROM java.lang.String s WHERE s.count <= 51", 476),
        ("SELECT * FROM java.lang.String s WHERE toString(s) LIKE \"java.*\"", 27),
        ("SELECT * FROM java.lang.String s WHERE toString(s) = \"file.separator\"", 1),
        ("SELECT * FROM java.lang.String s WHERE s.count > 100 AND s.@retainedHeapSize > s.@usedHeapSize", 6),
        ("SELECT * FROM java.lang.String s WHERE s.count > 1000 OR s.value.@length > 1000", 3),
        ("SELECT * FROM java.lang.String s WHERE s.count < s.value.@length * 0.5", 16),
        ("SELECT * FROM java.lang.String s WHERE s.count < s.value.@length / 2", 16),
        ("SELECT * FROM java.lang.String s WHERE s.count < s.value.@length - 20", 16),
        ("SELECT * FROM java.lang.String s WHERE s.count + 20 < s.value.@length", 16),
        ("SELECT * FROM java.lang.String s WHERE ( s.count > 1000 ) = true", 3),
        ("SELECT * FROM java.lang.String s WHERE s.@retainedHeapSize > 1024L", 4),
        ("SELECT * FROM java.lang.Thread s WHERE s.@GCRootInfo != null", 4),
        ("SELECT * FROM java.lang.String s WHERE dominators(s).size() = 0", 27),
        ("SELECT * FROM java.lang.String s WHERE dominators(s).length = 0", 27),
        ("SELECT * FROM java.lang.String s WHERE s.value NOT IN dominators(s)", 27),
        ("select objects dominators(s) from objects 0x1295e2f8 s", 7),
        ("select objects dominators(s) from objects (select * from java.lang.String) s", 465),
    ];
    with_graph(&dump, |g| {
        let mut wrong = vec![];
        for &(q, want) in cases {
            let s = query::translate_oql(g, q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let got = sql(g, &s).rows.len();
            if got != want {
                wrong.push(format!("{q}: {got} rows, MAT {want}\n  as SQL: {s}"));
            }
        }
        let one = |q: &str| {
            let s = query::translate_oql(g, q).unwrap();
            let r = sql(g, &s);
            assert_eq!(r.rows.len(), 1, "{q}");
            r.rows[0].values().next().cloned().unwrap()
        };
        assert_eq!(
            one("select toString(s) from objects 0x17c38b80 s"),
            "little"
        );
        assert_eq!(
            one("select toHex(s.@objectAddress) from objects 0x17c38b80 s"),
            "0x17c38b80"
        );
        assert_eq!(
            one("select classof(s) from objects 0x17c38b80 s"),
            "java.lang.String"
        );
        assert_eq!(
            one("select dominators(s).length from objects 0x17c38b80 s"),
            1
        );
        assert!(!one("select dominatorof(s) from objects 0x17c38b80 s").is_null());
        assert!(
            wrong.is_empty(),
            "OQL answers differ from MAT's:\n{}",
            wrong.join("\n")
        );
    });
}

/// `oql` and `sql` on the command line: tables, JSON, CSV, and errors that say what to do.
#[test]
fn sql_command_prints_table_json_and_csv() {
    let d = demo().display().to_string();
    let run = |args: &[&str]| {
        oomsleuth(
            args.iter()
                .map(|s| s.to_string())
                .chain([])
                .collect::<Vec<_>>(),
        )
    };
    let q = "SELECT class, count(*) AS n FROM objects WHERE class = 'com.example.ChannelContext' GROUP BY class";
    let t = run(&["sql", "--no-cache", &d, q]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(t.stdout.starts_with("class"), "{}", t.stdout);
    assert!(t.stdout.contains("(1 row)"), "{}", t.stdout);
    let j = run(&["sql", "--no-cache", "--json", &d, q]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["schema"], "oomsleuth.sql/1");
    assert_eq!(v["columns"][1]["name"], "n");
    let n = v["rows"][0]["n"].as_u64().unwrap();
    // What the fixture that made the demo dump planted.
    let planted: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(demo().with_file_name("leaking-map.planted.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        Some(n),
        planted["planted"]["com.example.ChannelContext"].as_u64()
    );
    assert!(
        t.stdout
            .contains(&format!("com.example.ChannelContext  {n}")),
        "{}",
        t.stdout
    );
    let c = run(&[
        "sql",
        "--no-cache",
        "--csv",
        &d,
        "SELECT id, class FROM objects LIMIT 2",
    ]);
    let lines: Vec<&str> = c.stdout.lines().collect();
    assert_eq!(lines[0], "id,class");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("0x"), "ids in hex: {}", lines[1]);
    let e = run(&[
        "sql",
        "--no-cache",
        &d,
        "SELECT * FROM \"com.example.ChanelContext\"",
    ]);
    assert_eq!(e.code, 2);
    assert!(
        e.stderr.contains("\"com.example.ChannelContext\""),
        "{}",
        e.stderr
    );
    let o = run(&[
        "oql",
        "--no-cache",
        &d,
        "select as retained set * from java.lang.String",
    ]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("AS RETAINED SET"), "{}", o.stderr);
}

/// Python with the duckdb package: $OOMSLEUTH_DUCKDB_PYTHON, or the venv scripts/test.sh makes.
fn duckdb_python() -> Option<PathBuf> {
    let p = std::env::var_os("OOMSLEUTH_DUCKDB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::support::jvm::repo_root().join("target/duckdb-venv/bin/python"));
    let ok = std::process::Command::new(&p)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(p)
}

/// `export --parquet` read back with DuckDB: row counts and a join equal the engine's.
#[test]
fn parquet_export_reads_back_in_duckdb() {
    let Some(python) = duckdb_python() else {
        if std::env::var("OOMSLEUTH_REQUIRE_DUCKDB").as_deref() == Ok("1") {
            panic!("no python with duckdb (scripts/test.sh makes target/duckdb-venv)");
        }
        eprintln!("skipped: no python with the duckdb package (scripts/test.sh installs it into target/duckdb-venv)");
        return;
    };
    let dir = crate::support::jvm::repo_root().join("target/sql-export-test");
    let _ = std::fs::remove_dir_all(&dir);
    let d = demo();
    let run = oomsleuth([
        "export".to_string(),
        "--no-cache".into(),
        "--parquet".into(),
        dir.display().to_string(),
        "--class".into(),
        "com.example.ChannelContext".into(),
        d.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join("objects/dump=leaking-map.hprof.gz/part-0.parquet");
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    let script = format!(
        r#"
import duckdb, json
d = {dir:?}
q = lambda s: duckdb.sql(s).fetchall()
out = {{}}
for t in ["objects", "classes", "refs", "roots", "loaders", "strings"]:
    out[t] = q(f"SELECT count(*) FROM read_parquet('{{d}}/{{t}}/*/*.parquet', hive_partitioning=true)")[0][0]
out["join"] = q(f"SELECT count(*) FROM read_parquet('{{d}}/objects/*/*.parquet') o JOIN read_parquet('{{d}}/classes/*/*.parquet') c ON o.class_id = c.id WHERE c.name = 'com.example.ChannelContext'")[0][0]
out["class_table"] = q(f"SELECT count(*) FROM read_parquet('{{d}}/class/com.example.ChannelContext/*/*.parquet')")[0][0]
out["dump"] = q(f"SELECT DISTINCT dump FROM read_parquet('{{d}}/objects/*/*.parquet', hive_partitioning=true)")[0][0]
print(json.dumps(out))
"#,
        dir = dir.display().to_string()
    );
    let out = std::process::Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    with_graph(&d, |g| {
        for t in ["objects", "classes", "refs", "roots", "loaders", "strings"] {
            assert_eq!(
                got[t].as_u64(),
                Some(number(g, &format!("SELECT count(*) FROM {t}"))),
                "{t}"
            );
        }
        let n = number(g, "SELECT count(*) FROM objects o JOIN classes c ON o.class_id = c.id WHERE c.name = 'com.example.ChannelContext'");
        assert_eq!(got["join"].as_u64(), Some(n));
        assert_eq!(got["class_table"].as_u64(), Some(n));
        assert!(n > 0);
    });
    assert_eq!(got["dump"], "leaking-map.hprof.gz");
    let _ = std::fs::remove_dir_all(&dir);
}
