//! Generated-class families: class names grouped by shape, so that thousands of generated classes
//! read as one row.
//!
//! A *family key* is the class name with its varying parts replaced by placeholders:
//!
//! - every run of decimal digits becomes `<n>` (`Script_1576227587357_58` -> `Script_<n>_<n>`,
//!   `jdk.proxy3.$Proxy12` -> `jdk.proxy<n>.$Proxy<n>`): this is what finds families generically,
//!   not only from the list below;
//! - a hidden class's address suffix becomes `/<hex>` (`Foo$$Lambda$14/0x0000000800066840` ->
//!   `Foo$$Lambda$<n>/<hex>`, `java.lang.invoke.LambdaForm$MH/0x00000008000c4000` ->
//!   `java.lang.invoke.LambdaForm$MH/<hex>`);
//! - the random or hash part that code generators append becomes `<id>`: cglib
//!   (`$$EnhancerByCGLIB$$1a2b3c4d`, `$$FastClassByCGLIB$$..`, Spring's `$$EnhancerBySpringCGLIB$$..`),
//!   ByteBuddy (`$ByteBuddy$aB3dEfGh`, `$auxiliary$..`, Mockito's `$MockitoMock$..`), Javassist
//!   (`_$$_jvst1a2_3`, `_$$_javassist_12`), and any `$`/`_`/`.`-separated token of eight or more
//!   hex digits that mixes digits and letters.
//!
//! The key is a pure function of the name (no state, no allocation beyond the result), so the
//! class-log parser and the heap-dump analyses group the same names the same way.
//!
//! [`classify`] adds the [`FamilyKind`]: which known generator, if any, makes classes of that shape.

use serde::Serialize;

/// The family key of a class name (Java source form, `a.b.C$D`; `/`-separated names work too).
///
/// ```
/// use oomsleuth::analyses::class_families::family_key;
/// assert_eq!(family_key("Script_1576227587357_58"), "Script_<n>_<n>");
/// assert_eq!(
///     family_key("jdk.internal.reflect.GeneratedMethodAccessor412"),
///     "jdk.internal.reflect.GeneratedMethodAccessor<n>"
/// );
/// assert_eq!(family_key("java.lang.String"), "java.lang.String");
/// ```
pub fn family_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Hidden-class suffix: `/0x<hex>` or `+0x<hex>` up to the end or an array suffix.
        if (b[i] == b'/' || b[i] == b'+') && b[i + 1..].starts_with(b"0x") {
            let end = i + 3 + count_while(&b[i + 3..], |c| c.is_ascii_hexdigit());
            if end > i + 3 && (end == b.len() || b[end] == b'[') {
                out.push_str("/<hex>");
                i = end;
                continue;
            }
        }
        // Random or hash suffixes after a known generator marker.
        if let Some((marker, id_len)) = generator_marker(&b[i..]) {
            out.push_str(marker);
            i += marker.len();
            if id_len > 0 {
                out.push_str("<id>");
                i += id_len;
            }
            continue;
        }
        // Hash-like tokens: at a token start, 8+ hex digits with both digits and letters.
        if at_token_start(b, i) {
            let len = count_while(&b[i..], |c| c.is_ascii_hexdigit());
            let token_end = i + len;
            let ends_token = token_end == b.len() || is_separator(b[token_end]);
            if len >= 8 && ends_token {
                let t = &b[i..token_end];
                if t.iter().any(u8::is_ascii_digit) && t.iter().any(u8::is_ascii_alphabetic) {
                    out.push_str("<id>");
                    i = token_end;
                    continue;
                }
            }
        }
        if b[i].is_ascii_digit() {
            i += count_while(&b[i..], |c| c.is_ascii_digit());
            out.push_str("<n>");
            continue;
        }
        // Copy one UTF-8 character.
        let ch_len = utf8_len(b[i]);
        let end = (i + ch_len).min(b.len());
        out.push_str(std::str::from_utf8(&b[i..end]).unwrap_or("?"));
        i = end;
    }
    out
}

/// Which generator makes classes of a shape. `Numbered` is the generic catch-all (a name with
/// numeric parts that no known generator explains); `Plain` is a name without any varying part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyKind {
    /// `GeneratedMethodAccessor<n>`: reflection inflation (JDK 8-17).
    ReflectionMethodAccessor,
    /// `GeneratedConstructorAccessor<n>`: reflection inflation for constructors.
    ReflectionConstructorAccessor,
    /// `GeneratedSerializationConstructorAccessor<n>`: Java serialization's constructors.
    SerializationConstructorAccessor,
    /// `$Proxy<n>`, `jdk.proxy<n>.$Proxy<n>`: `java.lang.reflect.Proxy`.
    DynamicProxy,
    /// `java.lang.invoke.LambdaForm$..`: method-handle plumbing.
    LambdaForm,
    /// `..$$Lambda$..`: lambda and method-reference classes.
    Lambda,
    /// cglib / Spring cglib proxies and fast classes.
    Cglib,
    /// ByteBuddy (also Mockito, Hibernate 6) generated classes.
    ByteBuddy,
    /// Javassist proxies (Hibernate 5 and older).
    Javassist,
    /// Groovy scripts compiled at run time (`Script<n>`).
    GroovyScript,
    /// Groovy closures (`..$_name_closure<n>`).
    GroovyClosure,
    /// Expression or template engines' script classes (`Script_<n>_<n>`, Aviator and similar).
    ExpressionScript,
    /// Any other name with numeric or hash parts.
    Numbered,
    /// A name with nothing that varies.
    Plain,
}

impl FamilyKind {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            FamilyKind::ReflectionMethodAccessor => "reflection method accessors",
            FamilyKind::ReflectionConstructorAccessor => "reflection constructor accessors",
            FamilyKind::SerializationConstructorAccessor => "serialization constructor accessors",
            FamilyKind::DynamicProxy => "dynamic proxies",
            FamilyKind::LambdaForm => "lambda forms",
            FamilyKind::Lambda => "lambdas",
            FamilyKind::Cglib => "cglib classes",
            FamilyKind::ByteBuddy => "ByteBuddy classes",
            FamilyKind::Javassist => "Javassist classes",
            FamilyKind::GroovyScript => "Groovy scripts",
            FamilyKind::GroovyClosure => "Groovy closures",
            FamilyKind::ExpressionScript => "expression-engine scripts",
            FamilyKind::Numbered => "numbered classes",
            FamilyKind::Plain => "plain classes",
        }
    }

    /// Whether classes of this kind are made at run time by a known generator.
    pub fn is_generated(self) -> bool {
        !matches!(self, FamilyKind::Numbered | FamilyKind::Plain)
    }
}

/// A class name's family: its key and kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Family {
    pub key: String,
    pub kind: FamilyKind,
}

/// The family of a class name: [`family_key`] plus the generator that explains it.
pub fn classify(name: &str) -> Family {
    let key = family_key(name);
    let kind = kind_of(name, &key);
    Family { key, kind }
}

/// The kind for a name and its key (the key must be `family_key(name)`).
pub fn kind_of(name: &str, key: &str) -> FamilyKind {
    let simple = simple_name(name);
    let base = key.trim_end_matches("[]");
    if base.ends_with("GeneratedSerializationConstructorAccessor<n>") {
        FamilyKind::SerializationConstructorAccessor
    } else if base.ends_with("GeneratedMethodAccessor<n>") {
        FamilyKind::ReflectionMethodAccessor
    } else if base.ends_with("GeneratedConstructorAccessor<n>") {
        FamilyKind::ReflectionConstructorAccessor
    } else if simple.starts_with("$Proxy") && base.ends_with("$Proxy<n>") {
        FamilyKind::DynamicProxy
    } else if name.starts_with("java.lang.invoke.LambdaForm$") {
        FamilyKind::LambdaForm
    } else if name.contains("$$Lambda") {
        FamilyKind::Lambda
    } else if name.contains("CGLIB$$") || name.contains("$$SpringCGLIB$$") {
        FamilyKind::Cglib
    } else if name.contains("$ByteBuddy$")
        || name.contains("$auxiliary$")
        || name.contains("$MockitoMock$")
        || name.contains("$HibernateProxy$")
        || name.starts_with("net.bytebuddy.")
    {
        FamilyKind::ByteBuddy
    } else if name.contains("_$$_jvst") || name.contains("_$$_javassist") {
        FamilyKind::Javassist
    } else if base.contains("_closure<n>") && base.contains("$_") {
        FamilyKind::GroovyClosure
    } else if simple_name(base) == "Script<n>" {
        FamilyKind::GroovyScript
    } else if simple_name(base).starts_with("Script_<n>") {
        FamilyKind::ExpressionScript
    } else if key != name {
        FamilyKind::Numbered
    } else {
        FamilyKind::Plain
    }
}

/// The engine or library that makes classes (and often a class loader per call), recognised by
/// its loaders' types and the names of the classes it generates. The reports give advice per
/// engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Groovy,
    Rhino,
    Nashorn,
    Aviator,
    Janino,
    /// The JDK's generated reflection accessors (`GeneratedMethodAccessor<n>`, JDK 8-17).
    ReflectionAccessors,
    /// Lambda, method-handle and other hidden classes.
    LambdasAndHiddenClasses,
    DynamicProxy,
    Cglib,
    Javassist,
    ByteBuddy,
}

impl Engine {
    pub fn label(self) -> &'static str {
        match self {
            Engine::Groovy => "Groovy",
            Engine::Rhino => "Rhino (Mozilla JavaScript)",
            Engine::Nashorn => "Nashorn (JavaScript)",
            Engine::Aviator => "Aviator",
            Engine::Janino => "Janino",
            Engine::ReflectionAccessors => "JDK reflection accessors",
            Engine::LambdasAndHiddenClasses => "lambdas and hidden classes",
            Engine::DynamicProxy => "java.lang.reflect.Proxy",
            Engine::Cglib => "cglib",
            Engine::Javassist => "Javassist",
            Engine::ByteBuddy => "ByteBuddy",
        }
    }
}

/// The engine behind a class loader type, if it is one of the known ones.
pub fn engine_of_loader(loader_type: &str) -> Option<Engine> {
    let t = loader_type;
    Some(
        if t.starts_with("groovy.")
            || t.starts_with("org.codehaus.groovy.")
            || t.starts_with("org.apache.groovy.")
        {
            Engine::Groovy
        } else if t.starts_with("org.mozilla.javascript.") {
            Engine::Rhino
        } else if t.contains(".nashorn.") {
            Engine::Nashorn
        } else if t.starts_with("com.googlecode.aviator.") {
            Engine::Aviator
        } else if t.starts_with("org.codehaus.janino.")
            || t.starts_with("org.codehaus.commons.compiler.")
        {
            Engine::Janino
        } else if t.ends_with(".DelegatingClassLoader") {
            Engine::ReflectionAccessors
        } else if t.starts_with("net.bytebuddy.") {
            Engine::ByteBuddy
        } else if t.starts_with("javassist.") {
            Engine::Javassist
        } else if t.contains(".cglib.") {
            Engine::Cglib
        } else {
            return None;
        },
    )
}

/// The engine that generates a class of this name (and its [`FamilyKind`]), if known.
pub fn engine_of_class(name: &str, kind: FamilyKind) -> Option<Engine> {
    Some(match kind {
        FamilyKind::ReflectionMethodAccessor
        | FamilyKind::ReflectionConstructorAccessor
        | FamilyKind::SerializationConstructorAccessor => Engine::ReflectionAccessors,
        FamilyKind::LambdaForm | FamilyKind::Lambda => Engine::LambdasAndHiddenClasses,
        FamilyKind::DynamicProxy => Engine::DynamicProxy,
        FamilyKind::Cglib => Engine::Cglib,
        FamilyKind::ByteBuddy => Engine::ByteBuddy,
        FamilyKind::Javassist => Engine::Javassist,
        FamilyKind::GroovyScript | FamilyKind::GroovyClosure => Engine::Groovy,
        _ if name.starts_with("org.mozilla.javascript.gen.") => Engine::Rhino,
        _ if name.contains(".nashorn.internal.scripts.") => Engine::Nashorn,
        _ if name.starts_with("com.googlecode.aviator.") || name.starts_with("AviatorScript_") => {
            Engine::Aviator
        }
        _ => return None,
    })
}

/// The key of a family that spans templates: the simple name's text before its first
/// placeholder becomes `*` (`org.mozilla.javascript.gen.credit_note_js_<n>` and
/// `org.mozilla.javascript.gen.invoice_js_<n>` are both `org.mozilla.javascript.gen.*_<n>`).
/// `None` when the simple name starts with a placeholder or has none.
///
/// ```
/// use oomsleuth::analyses::class_families::spanning_key;
/// assert_eq!(
///     spanning_key("org.mozilla.javascript.gen.credit_note_js_<n>").as_deref(),
///     Some("org.mozilla.javascript.gen.*_<n>")
/// );
/// assert_eq!(spanning_key("Script<n>").as_deref(), Some("*<n>"));
/// assert_eq!(spanning_key("a.B"), None);
/// ```
pub fn spanning_key(key: &str) -> Option<String> {
    let (pkg, simple) = match key.rfind('.') {
        Some(i) => (&key[..=i], &key[i + 1..]),
        None => ("", key),
    };
    let at = simple.find(['<'])?;
    if at == 0 {
        return None;
    }
    // Keep the separator right before the placeholder (`_<n>`, `$<n>`).
    let cut = match simple[..at].char_indices().last() {
        Some((i, '_' | '$' | '-')) => i,
        _ => at,
    };
    Some(format!("{pkg}*{}", &simple[cut..]))
}

/// The name after the last `.` (package dropped).
fn simple_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Known generator markers at the start of `b`: the marker text, and the length of the random
/// part after it (0 when none follows).
fn generator_marker(b: &[u8]) -> Option<(&'static str, usize)> {
    const MARKERS: [&str; 9] = [
        "$$EnhancerBySpringCGLIB$$",
        "$$EnhancerByCGLIB$$",
        "$$FastClassBySpringCGLIB$$",
        "$$FastClassByCGLIB$$",
        "$ByteBuddy$",
        "$auxiliary$",
        "$MockitoMock$",
        "$HibernateProxy$",
        "_$$_jvst",
    ];
    for m in MARKERS {
        if b.starts_with(m.as_bytes()) {
            // The random part: letters and digits (cglib: hex; ByteBuddy: [A-Za-z0-9]{8};
            // Javassist: hex, `_`, hex).
            let rest = &b[m.len()..];
            let mut len = count_while(rest, |c| c.is_ascii_alphanumeric());
            if m == "_$$_jvst" && rest.get(len) == Some(&b'_') {
                len += 1 + count_while(&rest[len + 1..], |c| c.is_ascii_alphanumeric());
            }
            return Some((m, len));
        }
    }
    None
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'$' | b'_' | b'.' | b'/' | b'[')
}

fn at_token_start(b: &[u8], i: usize) -> bool {
    i == 0 || is_separator(b[i - 1])
}

fn count_while(b: &[u8], f: impl Fn(u8) -> bool) -> usize {
    b.iter().take_while(|&&c| f(c)).count()
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str) -> (String, FamilyKind) {
        let f = classify(name);
        (f.key, f.kind)
    }

    #[test]
    fn known_shapes() {
        use FamilyKind::*;
        let cases: &[(&str, &str, FamilyKind)] = &[
            ("Script_1576227587357_58", "Script_<n>_<n>", ExpressionScript),
            (
                "com.googlecode.aviator.Script_1_2",
                "com.googlecode.aviator.Script_<n>_<n>",
                ExpressionScript,
            ),
            (
                "jdk.internal.reflect.GeneratedMethodAccessor412",
                "jdk.internal.reflect.GeneratedMethodAccessor<n>",
                ReflectionMethodAccessor,
            ),
            (
                "sun.reflect.GeneratedMethodAccessor1",
                "sun.reflect.GeneratedMethodAccessor<n>",
                ReflectionMethodAccessor,
            ),
            (
                "jdk.internal.reflect.GeneratedConstructorAccessor7",
                "jdk.internal.reflect.GeneratedConstructorAccessor<n>",
                ReflectionConstructorAccessor,
            ),
            (
                "jdk.internal.reflect.GeneratedSerializationConstructorAccessor23",
                "jdk.internal.reflect.GeneratedSerializationConstructorAccessor<n>",
                SerializationConstructorAccessor,
            ),
            ("com.sun.proxy.$Proxy12", "com.sun.proxy.$Proxy<n>", DynamicProxy),
            ("jdk.proxy2.$Proxy31", "jdk.proxy<n>.$Proxy<n>", DynamicProxy),
            ("$Proxy4", "$Proxy<n>", DynamicProxy),
            (
                "java.lang.invoke.LambdaForm$MH/0x0000000800c0b000",
                "java.lang.invoke.LambdaForm$MH/<hex>",
                LambdaForm,
            ),
            (
                "java.lang.invoke.LambdaForm$DMH/1234567",
                "java.lang.invoke.LambdaForm$DMH/<n>",
                LambdaForm,
            ),
            (
                "com.acme.Foo$$Lambda$14/0x0000000800066840",
                "com.acme.Foo$$Lambda$<n>/<hex>",
                Lambda,
            ),
            (
                "com.acme.Foo$$Lambda/0x00007f0c1c00a000",
                "com.acme.Foo$$Lambda/<hex>",
                Lambda,
            ),
            (
                "com.acme.Service$$EnhancerByCGLIB$$8b5c5a1f",
                "com.acme.Service$$EnhancerByCGLIB$$<id>",
                Cglib,
            ),
            (
                "com.acme.Service$$EnhancerBySpringCGLIB$$8b5c5a1f$$FastClassBySpringCGLIB$$1d2e3f40",
                "com.acme.Service$$EnhancerBySpringCGLIB$$<id>$$FastClassBySpringCGLIB$$<id>",
                Cglib,
            ),
            (
                "com.acme.Repo$ByteBuddy$aB3dEfGh",
                "com.acme.Repo$ByteBuddy$<id>",
                ByteBuddy,
            ),
            (
                "com.acme.Repo$MockitoMock$1234567",
                "com.acme.Repo$MockitoMock$<id>",
                ByteBuddy,
            ),
            (
                "com.acme.User_$$_jvst1a2_3",
                "com.acme.User_$$_jvst<id>",
                Javassist,
            ),
            (
                "com.acme.User_$$_javassist_17",
                "com.acme.User_$$_javassist_<n>",
                Javassist,
            ),
            ("Script14", "Script<n>", GroovyScript),
            (
                "Script14$_run_closure3",
                "Script<n>$_run_closure<n>",
                GroovyClosure,
            ),
            (
                "com.acme.Foo$_bar_closure2",
                "com.acme.Foo$_bar_closure<n>",
                GroovyClosure,
            ),
            ("com.acme.Foo$bar$3", "com.acme.Foo$bar$<n>", Numbered),
            ("java.lang.String", "java.lang.String", Plain),
            ("java.util.HashMap$Node[]", "java.util.HashMap$Node[]", Plain),
            ("Script_1_2[]", "Script_<n>_<n>[]", ExpressionScript),
        ];
        for (name, key, kind) in cases {
            assert_eq!(k(name), (key.to_string(), *kind), "{name}");
        }
    }

    #[test]
    fn generic_numbers_and_hashes() {
        assert_eq!(
            family_key("com.acme.Gen$Impl$42$7"),
            "com.acme.Gen$Impl$<n>$<n>"
        );
        assert_eq!(family_key("a.b.Cache_deadbeef01"), "a.b.Cache_<id>");
        // Words that happen to be hex are not hashes: no digit, or too short.
        assert_eq!(family_key("a.b.Deadbeef"), "a.b.Deadbeef");
        assert_eq!(family_key("a.b.Cafe12"), "a.b.Cafe<n>");
        // Internal form and the dump's hidden-class `+0x` spelling.
        assert_eq!(
            family_key("com/acme/Foo$$Lambda$3+0x0000000800c0b000"),
            "com/acme/Foo$$Lambda$<n>/<hex>"
        );
        // Distinct numbers, same key; distinct shapes, distinct keys.
        assert_eq!(family_key("Script_1_22"), family_key("Script_9999999_3"));
        assert_ne!(family_key("Script_1_22"), family_key("Script_1"));
        // Non-ASCII survives.
        assert_eq!(family_key("a.Über7"), "a.Über<n>");
        assert_eq!(family_key(""), "");
    }

    #[test]
    fn labels_and_generated() {
        assert!(FamilyKind::ReflectionMethodAccessor.is_generated());
        assert!(!FamilyKind::Numbered.is_generated());
        assert_eq!(FamilyKind::DynamicProxy.label(), "dynamic proxies");
    }
}
