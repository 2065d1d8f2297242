//! Eclipse MAT's OQL, translated to the SQL the query engine runs (`oomsleuth oql`): one engine,
//! two languages. A construct with no translation is an error that names it.
//!
//! `SELECT [DISTINCT] [OBJECTS] items FROM [INSTANCEOF] class [alias] [WHERE cond] [UNION (...)]`
//! becomes `SELECT items FROM "class" alias WHERE alias.dump_reachable AND (cond)` (MAT's snapshot
//! holds only reachable objects); `FROM OBJECTS 0x1, 0x2`, `FROM "java.lang.*"` and
//! `FROM (subquery)` select from the `objects` table. In expressions:
//!
//! - `s` alone is `s.id`; `s.field` the class table's column, or `field(s.id, 'field')` when the
//!   table has none (a subclass's field); `s.a.b` is `field(s."a", 'b')`;
//! - `@objectId`, `@objectAddress` -> id; `@usedHeapSize` -> shallow; `@retainedHeapSize` ->
//!   retained; `@length` -> the array length; `@displayName` -> describe(..); `@GCRootInfo` ->
//!   text when the object is a GC root, else null; `@clazz` -> the class name;
//! - `toString(x)`, `toHex(x)`, `classof(x)` (the class name), `dominatorof(x)`;
//!   `dominators(x)` (what x immediately dominates), `outbounds(x)`, `inbounds(x)` as the one
//!   item of `SELECT OBJECTS`, after `IN`, or counted with `.size()` / `.length`;
//! - `"text"` -> `'text'`, `LIKE "regex"` -> a whole-string regex match, `= null` -> `IS NULL`,
//!   `0x10` -> 16, `1024L` -> 1024.

use std::fmt::Write;

/// What the translator asks of the tables: whether a table has a column, and which column
/// holds a Java field (a field named like a built-in column, `size` or `id`, has another name).
pub trait Columns {
    fn has(&self, table: &str, column: &str) -> bool;

    /// The column of `table` holding the Java field `field` (the one `x.field` means in Java).
    fn field_column(&self, table: &str, field: &str) -> Option<String> {
        self.has(table, field).then(|| field.to_string())
    }
}

/// Without the tables: every `alias.name` is taken as a column.
pub struct AnyColumn;

impl Columns for AnyColumn {
    fn has(&self, _: &str, _: &str) -> bool {
        true
    }
}

/// Why an OQL statement has no translation.
#[derive(Debug, PartialEq, Eq)]
pub struct OqlError(pub String);

impl std::fmt::Display for OqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OQL: {}", self.0)
    }
}

impl std::error::Error for OqlError {}

fn err<T>(msg: impl Into<String>) -> Result<T, OqlError> {
    Err(OqlError(msg.into()))
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Attr(String),
    Number(String),
    Str(String),
    Punct(String),
}

impl Tok {
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn is_p(&self, p: &str) -> bool {
        matches!(self, Tok::Punct(x) if x == p)
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, OqlError> {
    let c: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '"' || ch == '\'' {
            let mut j = i + 1;
            let mut text = String::new();
            while j < c.len() && c[j] != ch {
                if c[j] == '\\' && j + 1 < c.len() {
                    j += 1;
                }
                text.push(c[j]);
                j += 1;
            }
            if j >= c.len() {
                return err(format!("unterminated string starting at {}", i + 1));
            }
            out.push(Tok::Str(text));
            i = j + 1;
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < c.len() && (c[j].is_ascii_alphanumeric() || c[j] == '.') {
                j += 1;
            }
            out.push(Tok::Number(c[i..j].iter().collect()));
            i = j;
        } else if ch == '@' || ch.is_alphabetic() || ch == '_' || ch == '$' {
            if ch == '$' && c.get(i + 1) == Some(&'{') {
                return err("${...} expressions (MAT's snapshot API) have no SQL translation: name a class or use FROM OBJECTS 0x...");
            }
            let mut j = i + 1;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_' || c[j] == '$') {
                j += 1;
            }
            let w: String = c[i..j].iter().collect();
            out.push(match w.strip_prefix('@') {
                Some(a) => Tok::Attr(a.to_string()),
                None => Tok::Word(w),
            });
            i = j;
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            if ["<=", ">=", "!=", "<>", "[]"].contains(&two.as_str()) {
                out.push(Tok::Punct(two));
                i += 2;
            } else if "(),.*+-/<>=%".contains(ch) {
                out.push(Tok::Punct(ch.to_string()));
                i += 1;
            } else {
                return err(format!("unexpected character {ch:?}"));
            }
        }
    }
    Ok(out)
}

/// Translates one OQL statement to SQL, asking `cols` which columns the class tables have.
pub fn translate_with(oql: &str, cols: &dyn Columns) -> Result<String, OqlError> {
    let toks = tokenize(oql)?;
    let parts = split_top(&toks, "union");
    let mut sql = vec![];
    for (k, p) in parts.iter().enumerate() {
        let mut p: &[Tok] = p;
        if k > 0 {
            // MAT writes `q1 UNION (q2)`.
            if p.first().is_some_and(|t| t.is_p("(")) && p.last().is_some_and(|t| t.is_p(")")) {
                p = &p[1..p.len() - 1];
            }
        }
        sql.push(select(p, cols)?);
    }
    Ok(sql.join(" UNION ALL "))
}

/// [`translate_with`] taking every `alias.name` as a column.
pub fn translate(oql: &str) -> Result<String, OqlError> {
    translate_with(oql, &AnyColumn)
}

/// Splits at a keyword outside parentheses.
fn split_top<'t>(toks: &'t [Tok], kw: &str) -> Vec<&'t [Tok]> {
    let mut out = vec![];
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.is_p("(") {
            depth += 1;
        } else if t.is_p(")") {
            depth -= 1;
        } else if depth == 0 && t.is_kw(kw) {
            out.push(&toks[start..i]);
            start = i + 1;
        }
    }
    out.push(&toks[start..]);
    out
}

/// Where keyword `kw` is outside parentheses, from `from`.
fn find_top(toks: &[Tok], kw: &str, from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(from) {
        if t.is_p("(") {
            depth += 1;
        } else if t.is_p(")") {
            depth -= 1;
        } else if depth == 0 && t.is_kw(kw) {
            return Some(i);
        }
    }
    None
}

/// The FROM clause: SQL text, the alias, the table whose columns the alias has.
struct From {
    sql: String,
    alias: String,
    table: String,
    /// Objects named by address are taken as they are, reachable or not.
    filter_reachable: bool,
}

fn select(toks: &[Tok], cols: &dyn Columns) -> Result<String, OqlError> {
    if !toks.first().is_some_and(|t| t.is_kw("select")) {
        return err("a statement starts with SELECT");
    }
    let from_at = find_top(toks, "from", 1).ok_or_else(|| OqlError("no FROM clause".into()))?;
    let where_at = find_top(toks, "where", from_at);
    let mut head = &toks[1..from_at];
    let mut distinct = false;
    let mut objects = false;
    if head.first().is_some_and(|t| t.is_kw("distinct")) {
        distinct = true;
        head = &head[1..];
    }
    if head.len() >= 3 && head[0].is_kw("as") && head[1].is_kw("retained") && head[2].is_kw("set") {
        return err("AS RETAINED SET has no SQL translation (a set's retained set is not a sum of dominator subtrees): use `oomsleuth retained DUMP 0xID...`");
    }
    if head.first().is_some_and(|t| t.is_kw("objects")) {
        objects = true;
        head = &head[1..];
    }
    if head.is_empty() {
        return err("SELECT lists nothing");
    }
    let from = from_clause(&toks[from_at + 1..where_at.unwrap_or(toks.len())], cols)?;
    let cond = match where_at {
        Some(w) => Some(expr(&toks[w + 1..], &from, cols)?),
        None => None,
    };
    if cond.as_deref() == Some("") {
        return err("WHERE without a condition");
    }
    let mut out = String::from("SELECT ");
    if distinct {
        out.push_str("DISTINCT ");
    }
    let mut joins = String::new();
    let items = split_commas(head);
    let mut rendered = vec![];
    for item in &items {
        if let [Tok::Punct(p)] = item.as_slice() {
            if p == "*" {
                rendered.push(if objects {
                    format!("{}.id AS object", from.alias)
                } else {
                    "*".to_string()
                });
                continue;
            }
        }
        if objects && items.len() == 1 {
            if let Some((func, arg)) = set_function(item) {
                let x = expr(arg, &from, cols)?;
                let (j, col) = set_join(&func, &x, "_set")?;
                joins = j;
                rendered.push(format!("{col} AS object"));
                continue;
            }
        }
        let (body, name) = match item.iter().rposition(|t| t.is_kw("as")) {
            Some(a) if a + 1 < item.len() => (&item[..a], Some(&item[a + 1..])),
            _ => (&item[..], None),
        };
        let mut e = expr(body, &from, cols)?;
        if objects {
            e = format!("{e} AS object");
        } else if let Some(n) = name {
            let n = match n {
                [Tok::Str(s)] | [Tok::Word(s)] => s.clone(),
                _ => return err("AS takes one name"),
            };
            let _ = write!(e, " AS {}", quote_ident(&n));
        }
        rendered.push(e);
    }
    out.push_str(&rendered.join(", "));
    let _ = write!(out, " FROM {}{joins}", from.sql);
    let mut conds = vec![];
    if from.filter_reachable {
        conds.push(format!("{}.dump_reachable", from.alias));
    }
    if let Some(c) = cond {
        conds.push(format!("({c})"));
    }
    if !conds.is_empty() {
        let _ = write!(out, " WHERE {}", conds.join(" AND "));
    }
    Ok(out)
}

fn split_commas(toks: &[Tok]) -> Vec<Vec<Tok>> {
    let mut out = vec![vec![]];
    let mut depth = 0i32;
    for t in toks {
        if t.is_p("(") {
            depth += 1;
        } else if t.is_p(")") {
            depth -= 1;
        }
        if depth == 0 && t.is_p(",") {
            out.push(vec![]);
        } else if let Some(last) = out.last_mut() {
            last.push(t.clone());
        }
    }
    out
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An id literal (`0x1f`, `31`) as a decimal number.
fn id_literal(t: &Tok) -> Option<u64> {
    let Tok::Number(n) = t else { return None };
    match n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => n.trim_end_matches(['L', 'l']).parse().ok(),
    }
}

fn from_clause(toks: &[Tok], cols: &dyn Columns) -> Result<From, OqlError> {
    let mut t = toks;
    let instanceof = t.first().is_some_and(|x| x.is_kw("instanceof"));
    if instanceof {
        t = &t[1..];
    }
    let objects = t.first().is_some_and(|x| x.is_kw("objects"));
    if objects {
        t = &t[1..];
    }
    // The alias: a last word after the source (not part of a dotted class name).
    let alias_of = |rest: &[Tok]| -> Result<Option<String>, OqlError> {
        match rest {
            [] => Ok(None),
            [Tok::Word(a)] => Ok(Some(a.clone())),
            _ => err(format!(
                "cannot read the FROM clause near {:?}",
                rest.first()
            )),
        }
    };
    if t.first().is_some_and(|x| x.is_p("(")) {
        let close = matching(t, 0)?;
        let inner = select(&t[1..close], cols)?;
        let alias = alias_of(&t[close + 1..])?.unwrap_or_else(|| "_q".into());
        return Ok(From {
            sql: format!("({inner}) {alias}"),
            alias,
            table: "objects".into(),
            filter_reachable: false,
        });
    }
    if let Some(Tok::Str(pattern)) = t.first() {
        let alias = alias_of(&t[1..])?.unwrap_or_else(|| "_p".into());
        return Ok(From {
            sql: format!(
                "(SELECT * FROM objects WHERE class ~ {}) {alias}",
                quote_str(&format!("^(?:{pattern})$"))
            ),
            alias,
            table: "objects".into(),
            filter_reachable: true,
        });
    }
    if t.first().is_some_and(|x| matches!(x, Tok::Number(_))) {
        // OBJECTS 0x1, 0x2 [alias]
        let mut ids = vec![];
        let mut i = 0;
        while i < t.len() {
            match id_literal(&t[i]) {
                Some(id) => ids.push(id.to_string()),
                None => break,
            }
            i += 1;
            if t.get(i).is_some_and(|x| x.is_p(",")) {
                i += 1;
            } else {
                break;
            }
        }
        let alias = alias_of(&t[i..])?.unwrap_or_else(|| "_o".into());
        return Ok(From {
            sql: format!(
                "(SELECT * FROM objects WHERE id IN ({})) {alias}",
                ids.join(", ")
            ),
            alias,
            table: "objects".into(),
            filter_reachable: false,
        });
    }
    if objects {
        return err("FROM OBJECTS takes object addresses (0x...) or a subquery in parentheses");
    }
    // A class name: words joined by dots, maybe ending in [].
    let mut name = String::new();
    let mut i = 0;
    loop {
        match t.get(i) {
            Some(Tok::Word(w)) => name.push_str(w),
            _ => return err(
                "FROM names a class (java.lang.String), a \"pattern\", OBJECTS 0x... or a subquery",
            ),
        }
        i += 1;
        while t.get(i).is_some_and(|x| x.is_p("[]")) {
            name.push_str("[]");
            i += 1;
        }
        if t.get(i).is_some_and(|x| x.is_p(".")) {
            name.push('.');
            i += 1;
        } else {
            break;
        }
    }
    let table = if instanceof {
        format!("instanceof {name}")
    } else {
        name
    };
    let alias = alias_of(&t[i..])?.unwrap_or_else(|| "_c".into());
    Ok(From {
        sql: format!("{} {alias}", quote_ident(&table)),
        alias,
        table,
        filter_reachable: true,
    })
}

/// The position of the parenthesis closing the one at `open`.
fn matching(t: &[Tok], open: usize) -> Result<usize, OqlError> {
    let mut depth = 0;
    for (i, x) in t.iter().enumerate().skip(open) {
        if x.is_p("(") {
            depth += 1;
        } else if x.is_p(")") {
            depth -= 1;
            if depth == 0 {
                return Ok(i);
            }
        }
    }
    err("unbalanced parentheses")
}

/// `dominators(x)`, `outbounds(x)`, `inbounds(x)` as a whole item: the function and argument.
fn set_function(item: &[Tok]) -> Option<(String, &[Tok])> {
    let Tok::Word(f) = item.first()? else {
        return None;
    };
    let f = f.to_ascii_lowercase();
    if !["dominators", "outbounds", "inbounds"].contains(&f.as_str()) {
        return None;
    }
    let close = matching(item, 1).ok()?;
    (close == item.len() - 1 && item[1].is_p("(")).then(|| (f, &item[2..close]))
}

/// The join (and the column it yields) for a set function of the id expression `x`.
fn set_join(func: &str, x: &str, alias: &str) -> Result<(String, String), OqlError> {
    Ok(match func {
        "dominators" => (
            format!(" JOIN objects {alias} ON {alias}.dominator = {x}"),
            format!("{alias}.id"),
        ),
        "outbounds" => (
            format!(" JOIN refs {alias} ON {alias}.\"from\" = {x}"),
            format!("{alias}.\"to\""),
        ),
        "inbounds" => (
            format!(" JOIN refs {alias} ON {alias}.\"to\" = {x}"),
            format!("{alias}.\"from\""),
        ),
        _ => return err(format!("{func}() is not a set function")),
    })
}

/// The subquery of a set function of `x` that selects one member, up to `member = ` (the member
/// compared with is appended by the caller).
fn set_members(func: &str, x: &str) -> Result<String, OqlError> {
    Ok(match func {
        "dominators" => format!("SELECT 1 FROM objects _d WHERE _d.dominator = {x} AND _d.id = "),
        "outbounds" => format!("SELECT 1 FROM refs _r WHERE _r.\"from\" = {x} AND _r.\"to\" = "),
        "inbounds" => format!("SELECT 1 FROM refs _r WHERE _r.\"to\" = {x} AND _r.\"from\" = "),
        _ => return err(format!("{func}() is not a set function")),
    })
}

/// The subquery of a set function of `x`: its members (for `IN`), or with `count` how many.
fn set_subquery(func: &str, x: &str, count: bool) -> Result<String, OqlError> {
    let what = |member: &str| {
        if count {
            "count(*)".to_string()
        } else {
            member.to_string()
        }
    };
    Ok(match func {
        "dominators" => format!(
            "SELECT {} FROM objects _d WHERE _d.dominator = {x}",
            what("_d.id")
        ),
        "outbounds" => format!(
            "SELECT {} FROM refs _r WHERE _r.\"from\" = {x}",
            what("_r.\"to\"")
        ),
        "inbounds" => format!(
            "SELECT {} FROM refs _r WHERE _r.\"to\" = {x}",
            what("_r.\"from\"")
        ),
        _ => return err(format!("{func}() is not a set function")),
    })
}

/// An attribute of the object whose id is `x`.
fn attr_of(attr: &str, x: &str) -> Result<String, OqlError> {
    Ok(match attr {
        "objectId" | "objectAddress" => x.to_string(),
        "usedHeapSize" => format!("shallow_of({x})"),
        "retainedHeapSize" => format!("retained_of({x})"),
        "length" => format!("length_of({x})"),
        "displayName" => format!("describe({x})"),
        "clazz" => format!("class_of({x})"),
        _ => return err(format!("the attribute @{attr} has no SQL translation (known: @objectId, @objectAddress, @usedHeapSize, @retainedHeapSize, @length, @displayName, @clazz, @GCRootInfo)")),
    })
}

/// An attribute of the FROM alias: its table's column where there is one.
fn alias_attr(attr: &str, f: &From, cols: &dyn Columns) -> Result<String, OqlError> {
    let a = &f.alias;
    let col = |c: &str| format!("{a}.{c}");
    Ok(match attr {
        "objectId" | "objectAddress" => col("id"),
        "usedHeapSize" => col("shallow"),
        "retainedHeapSize" => col("retained"),
        "length" if cols.has(&f.table, "length") => col("length"),
        "GCRootInfo" => format!("CASE WHEN is_root_of({a}.id) THEN 'GC root' END"),
        _ => attr_of(attr, &col("id"))?,
    })
}

/// Translates an expression.
fn expr(t: &[Tok], f: &From, cols: &dyn Columns) -> Result<String, OqlError> {
    let mut out: Vec<String> = vec![];
    let mut i = 0;
    while i < t.len() {
        let (text, next) = term(t, i, f, cols)?;
        match text.strip_prefix(NOT_IN_SET) {
            // `v NOT IN set(x)` as `NOT EXISTS (... AND member = v)`: DataFusion cannot plan the
            // null-aware anti join a correlated `NOT IN` subquery becomes.
            Some(rest) => {
                let Some(v) = out.pop() else {
                    return err("NOT IN needs a value before it");
                };
                out.push(format!("NOT EXISTS ({rest}{v})"));
            }
            None => out.push(text),
        }
        i = next;
    }
    Ok(out.join(" "))
}

/// Marks a term that is `NOT IN` a set function: the rest is that set's subquery, ending with
/// `member = `, for [`expr`] to complete with the value before it.
const NOT_IN_SET: &str = "\u{0}not-in-set\u{0}";

/// One term at `i`: returns its SQL and the position after it.
fn term(t: &[Tok], i: usize, f: &From, cols: &dyn Columns) -> Result<(String, usize), OqlError> {
    let tok = &t[i];
    match tok {
        Tok::Str(s) => Ok((quote_str(s), i + 1)),
        Tok::Number(n) => {
            let v = if n.starts_with("0x") || n.starts_with("0X") {
                id_literal(tok)
                    .ok_or_else(|| OqlError(format!("bad number {n}")))?
                    .to_string()
            } else {
                n.trim_end_matches(['L', 'l']).to_string()
            };
            Ok((v, i + 1))
        }
        Tok::Punct(p) => {
            let eq_null = |k: usize| t.get(k).is_some_and(|x| x.is_kw("null"));
            match p.as_str() {
                "=" if eq_null(i + 1) => Ok(("IS NULL".into(), i + 2)),
                "!=" | "<>" if eq_null(i + 1) => Ok(("IS NOT NULL".into(), i + 2)),
                "[]" => err("[] outside a class name"),
                _ => Ok((p.clone(), i + 1)),
            }
        }
        Tok::Attr(a) => {
            // `@attr` without an alias: the current object's.
            let (base, next) = (alias_attr(a, f, cols)?, i + 1);
            chain(t, next, base, f, cols)
        }
        Tok::Word(w) => word(t, i, w, f, cols),
    }
}

fn word(
    t: &[Tok],
    i: usize,
    w: &str,
    f: &From,
    cols: &dyn Columns,
) -> Result<(String, usize), OqlError> {
    let lw = w.to_ascii_lowercase();
    let call = t.get(i + 1).is_some_and(|x| x.is_p("("));
    if lw == "like" || (lw == "not" && t.get(i + 1).is_some_and(|x| x.is_kw("like"))) {
        let at = if lw == "like" { i + 1 } else { i + 2 };
        let Some(Tok::Str(re)) = t.get(at) else {
            return err("LIKE takes a \"regex\" string");
        };
        let op = if lw == "like" { "~" } else { "!~" };
        return Ok((
            format!("{op} {}", quote_str(&format!("^(?:{re})$"))),
            at + 1,
        ));
    }
    if lw == "implements" {
        return err("IMPLEMENTS has no SQL translation: use FROM INSTANCEOF");
    }
    if lw == "in" || (lw == "not" && t.get(i + 1).is_some_and(|x| x.is_kw("in"))) {
        let at = if lw == "in" { i + 1 } else { i + 2 };
        let kw = if lw == "in" { "IN" } else { "NOT IN" };
        if let Some(Tok::Word(g)) = t.get(at) {
            if t.get(at + 1).is_some_and(|x| x.is_p("(")) {
                let close = matching(t, at + 1)?;
                let gl = g.to_ascii_lowercase();
                let x = expr(&t[at + 2..close], f, cols)?;
                if kw == "NOT IN" {
                    return Ok((format!("{NOT_IN_SET}{}", set_members(&gl, &x)?), close + 1));
                }
                return Ok((
                    format!("{kw} ({})", set_subquery(&gl, &x, false)?),
                    close + 1,
                ));
            }
        }
        return Ok((kw.to_string(), at));
    }
    if call {
        let close = matching(t, i + 1)?;
        let args: Vec<String> = split_commas(&t[i + 2..close])
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| expr(a, f, cols))
            .collect::<Result<_, _>>()?;
        let one = || -> Result<&String, OqlError> {
            match args.as_slice() {
                [a] => Ok(a),
                _ => err(format!("{w}() takes one argument")),
            }
        };
        let base = match lw.as_str() {
            "tostring" => format!("to_string({})", one()?),
            "tohex" => format!("concat('0x', to_hex({}))", one()?),
            "classof" => format!("class_of({})", one()?),
            "dominatorof" => format!("dominator_of({})", one()?),
            "dominators" | "outbounds" | "inbounds" => {
                // Only counted here: `.size()` or `.length` must follow.
                let x = one()?.clone();
                let mut k = close + 1;
                let counted = if t.get(k).is_some_and(|x| x.is_p(".")) {
                    match t.get(k + 1) {
                        Some(Tok::Word(m)) if m == "length" => {
                            k += 2;
                            true
                        }
                        Some(Tok::Word(m)) if m == "size" && t.get(k + 2).is_some_and(|x| x.is_p("(")) && t.get(k + 3).is_some_and(|x| x.is_p(")")) => {
                            k += 4;
                            true
                        }
                        _ => false,
                    }
                } else {
                    false
                };
                if !counted {
                    return err(format!("{w}(x) is a set of objects: use it as SELECT OBJECTS {w}(x), after IN, or count it with .size() or .length"));
                }
                return Ok((format!("({})", set_subquery(&lw, &x, true)?), k));
            }
            "count" | "sum" | "min" | "max" | "avg" | "abs" | "lower" | "upper" | "length" => {
                format!("{lw}({})", args.join(", "))
            }
            _ => return err(format!("the function {w}() has no SQL translation (known: toString, toHex, classof, dominatorof, dominators, outbounds, inbounds)")),
        };
        return chain(t, close + 1, base, f, cols);
    }
    if w == f.alias {
        return path(t, i + 1, f, cols);
    }
    // Keywords and operators pass through.
    Ok((w.to_string(), i + 1))
}

/// `alias` followed by `.field`s and `.@attr`s.
fn path(
    t: &[Tok],
    mut i: usize,
    f: &From,
    cols: &dyn Columns,
) -> Result<(String, usize), OqlError> {
    let a = &f.alias;
    if !t.get(i).is_some_and(|x| x.is_p(".")) {
        return Ok((format!("{a}.id"), i));
    }
    let base = match t.get(i + 1) {
        Some(Tok::Attr(at)) => alias_attr(at, f, cols)?,
        Some(Tok::Word(name)) => {
            if t.get(i + 2).is_some_and(|x| x.is_p("(")) {
                return err(format!(
                    "method calls ({a}.{name}()) have no SQL translation"
                ));
            }
            match cols.field_column(&f.table, name) {
                Some(c) => format!("{a}.{}", quote_ident(&c)),
                None => format!("field({a}.id, {})", quote_str(name)),
            }
        }
        _ => return err(format!("{a}. must be followed by a field or @attribute")),
    };
    i += 2;
    chain(t, i, base, f, cols)
}

/// `.field` and `.@attr` after an id expression.
fn chain(
    t: &[Tok],
    mut i: usize,
    mut base: String,
    _f: &From,
    _cols: &dyn Columns,
) -> Result<(String, usize), OqlError> {
    while t.get(i).is_some_and(|x| x.is_p(".")) {
        match t.get(i + 1) {
            Some(Tok::Attr(a)) => base = attr_of(a, &base)?,
            Some(Tok::Word(name)) => {
                if t.get(i + 2).is_some_and(|x| x.is_p("(")) {
                    return err(format!("method calls (.{name}()) have no SQL translation"));
                }
                base = format!("field({base}, {})", quote_str(name));
            }
            _ => return err("a '.' must be followed by a field or @attribute"),
        }
        i += 2;
    }
    Ok((base, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class tables have their own fields: `value`, `count`, `offset` of String here.
    struct StringColumns;

    impl Columns for StringColumns {
        fn has(&self, table: &str, column: &str) -> bool {
            ["id", "shallow", "retained", "reachable", "length", "class"].contains(&column)
                && (column != "length" || table.ends_with("[]") || table == "objects")
                || (table == "java.lang.String" && ["value", "count", "offset"].contains(&column))
        }
    }

    fn t(oql: &str) -> String {
        translate_with(oql, &StringColumns).unwrap()
    }

    fn e(oql: &str) -> String {
        translate_with(oql, &StringColumns).unwrap_err().0
    }

    #[test]
    fn select_star_from_a_class_keeps_reachable_objects() {
        assert_eq!(
            t("select * from java.lang.String"),
            "SELECT * FROM \"java.lang.String\" _c WHERE _c.dump_reachable"
        );
        assert_eq!(
            t("SELECT * FROM INSTANCEOF java.lang.ref.Reference"),
            "SELECT * FROM \"instanceof java.lang.ref.Reference\" _c WHERE _c.dump_reachable"
        );
        assert_eq!(
            t("select * from byte[]"),
            "SELECT * FROM \"byte[]\" _c WHERE _c.dump_reachable"
        );
    }

    #[test]
    fn attributes_and_fields_become_columns() {
        assert_eq!(
            t("select s.@objectId, s.value, s.count, s.@retainedHeapSize AS r from java.lang.String s"),
            "SELECT s.id, s.\"value\", s.\"count\", s.retained AS \"r\" FROM \"java.lang.String\" s WHERE s.dump_reachable"
        );
    }

    /// ArrayList's field `size` is the column `ArrayList.size` (the table's `size` is the
    /// collection model's).
    struct RenamedColumns;

    impl Columns for RenamedColumns {
        fn has(&self, _: &str, column: &str) -> bool {
            ["id", "size", "ArrayList.size", "elementData"].contains(&column)
        }

        fn field_column(&self, _: &str, field: &str) -> Option<String> {
            match field {
                "size" => Some("ArrayList.size".into()),
                "elementData" => Some(field.into()),
                _ => None,
            }
        }
    }

    #[test]
    fn a_field_named_like_a_built_in_column_reads_the_field() {
        assert_eq!(
            translate_with(
                "SELECT s.size FROM java.util.ArrayList s WHERE s.elementData != null AND s.id > 0",
                &RenamedColumns
            )
            .unwrap(),
            "SELECT s.\"ArrayList.size\" FROM \"java.util.ArrayList\" s WHERE s.dump_reachable AND (s.\"elementData\" IS NOT NULL AND field(s.id, 'id') > 0)"
        );
    }

    #[test]
    fn field_paths_hop_through_objects() {
        assert_eq!(
            t("SELECT * FROM java.lang.String s WHERE s.count > 1000 OR s.value.@length > 1000"),
            "SELECT * FROM \"java.lang.String\" s WHERE s.dump_reachable AND (s.\"count\" > 1000 OR length_of(s.\"value\") > 1000)"
        );
        assert_eq!(
            t("SELECT s.value.hash FROM java.lang.String s"),
            "SELECT field(s.\"value\", 'hash') FROM \"java.lang.String\" s WHERE s.dump_reachable"
        );
        // A field the table lacks (a subclass's) is read per object.
        assert_eq!(
            t("SELECT s.value FROM INSTANCEOF java.lang.Number s"),
            "SELECT field(s.id, 'value') FROM \"instanceof java.lang.Number\" s WHERE s.dump_reachable"
        );
    }

    #[test]
    fn functions_literals_and_null() {
        assert_eq!(
            t("SELECT * FROM java.lang.String s WHERE toString(s) LIKE \"java.*\""),
            "SELECT * FROM \"java.lang.String\" s WHERE s.dump_reachable AND (to_string(s.id) ~ '^(?:java.*)$')"
        );
        assert_eq!(
            t("SELECT * FROM java.lang.String s WHERE toString(s) NOT LIKE \"a'b\""),
            "SELECT * FROM \"java.lang.String\" s WHERE s.dump_reachable AND (to_string(s.id) !~ '^(?:a''b)$')"
        );
        assert_eq!(
            t("SELECT * FROM java.lang.Thread s WHERE s.@GCRootInfo != null"),
            "SELECT * FROM \"java.lang.Thread\" s WHERE s.dump_reachable AND (CASE WHEN is_root_of(s.id) THEN 'GC root' END IS NOT NULL)"
        );
        assert_eq!(
            t("SELECT * FROM java.lang.String s WHERE s.@retainedHeapSize > 1024L"),
            "SELECT * FROM \"java.lang.String\" s WHERE s.dump_reachable AND (s.retained > 1024)"
        );
        assert_eq!(
            t("select toHex(s.@objectAddress), classof(s), dominatorof(s) from objects 0x17c38b80 s"),
            "SELECT concat('0x', to_hex(s.id)), class_of(s.id), dominator_of(s.id) FROM (SELECT * FROM objects WHERE id IN (398691200)) s"
        );
    }

    #[test]
    fn set_functions_join_count_or_filter() {
        assert_eq!(
            t("select objects dominators(s) from objects 0x10 s"),
            "SELECT _set.id AS object FROM (SELECT * FROM objects WHERE id IN (16)) s JOIN objects _set ON _set.dominator = s.id"
        );
        assert_eq!(
            t("SELECT * FROM java.lang.String s WHERE dominators(s).size() = 0"),
            "SELECT * FROM \"java.lang.String\" s WHERE s.dump_reachable AND ((SELECT count(*) FROM objects _d WHERE _d.dominator = s.id) = 0)"
        );
        assert_eq!(
            t("SELECT * FROM java.lang.String s WHERE s.value NOT IN dominators(s)"),
            "SELECT * FROM \"java.lang.String\" s WHERE s.dump_reachable AND (NOT EXISTS (SELECT 1 FROM objects _d WHERE _d.dominator = s.id AND _d.id = s.\"value\"))"
        );
        assert_eq!(
            t("select objects outbounds(s) from objects 1 s"),
            "SELECT _set.\"to\" AS object FROM (SELECT * FROM objects WHERE id IN (1)) s JOIN refs _set ON _set.\"from\" = s.id"
        );
    }

    #[test]
    fn from_patterns_subqueries_and_unions() {
        assert_eq!(
            t("select * from \"java.lang.*\""),
            "SELECT * FROM (SELECT * FROM objects WHERE class ~ '^(?:java.lang.*)$') _p WHERE _p.dump_reachable"
        );
        assert_eq!(
            t("select objects dominators(s) from objects (select * from java.lang.String) s"),
            "SELECT _set.id AS object FROM (SELECT * FROM \"java.lang.String\" _c WHERE _c.dump_reachable) s JOIN objects _set ON _set.dominator = s.id"
        );
        assert_eq!(
            t("select * from objects 0,1 union (select * from objects 2)"),
            "SELECT * FROM (SELECT * FROM objects WHERE id IN (0, 1)) _o UNION ALL SELECT * FROM (SELECT * FROM objects WHERE id IN (2)) _o"
        );
        assert_eq!(
            t("SELECT DISTINCT OBJECTS classof(s) FROM java.lang.String s"),
            "SELECT DISTINCT class_of(s.id) AS object FROM \"java.lang.String\" s WHERE s.dump_reachable"
        );
    }

    #[test]
    fn untranslatable_constructs_are_named() {
        assert!(e("select as retained set * from java.lang.String").contains("AS RETAINED SET"));
        assert!(e("SELECT * FROM ${snapshot}.getClasses()").contains("${...}"));
        assert!(e("SELECT * FROM java.lang.Class c WHERE c implements x.Y").contains("IMPLEMENTS"));
        assert!(e("SELECT s.toString() FROM java.lang.String s").contains("method calls"));
        assert!(e("SELECT eval(s) FROM java.lang.String s").contains("eval()"));
        assert!(e("SELECT s.@referenceArray FROM java.lang.Object[] s").contains("@referenceArray"));
        assert!(e("SELECT dominators(s) FROM java.lang.String s").contains("set of objects"));
        assert!(e("select dominatorsof(s) from").contains("FROM"));
        assert!(e("SELECT * FROM x WHERE").contains("WHERE"));
        assert!(e("DELETE FROM x").contains("SELECT"));
        assert!(
            e("SELECT * FROM java.lang.String s WHERE toString(s) = \"x").contains("unterminated")
        );
    }
}
