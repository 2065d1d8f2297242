//! Terminal rendering of the class-loader report and of one class-loader suspect.

use super::text::{human_bytes, thousands, Style, Table};
use crate::analyses::class_families::Engine;
use crate::analyses::heap::classloaders::{
    ClassLoaderSuspect, ClassLoaders, LoaderPath, Reachability,
};
use std::fmt::Write;

/// How many single loaders the text lists (JSON lists all).
const LOADER_ROWS: usize = 15;
/// How many families and duplicate names the text lists.
const FAMILY_ROWS: usize = 15;

fn reach(r: Reachability) -> &'static str {
    match r {
        Reachability::Vm => "vm",
        Reachability::Strong => "strong",
        Reachability::SoftOnly => "soft only",
        Reachability::Unreachable => "unreachable",
    }
}

fn path_lines(p: &LoaderPath, style: &Style, out: &mut String, indent: &str) {
    for (k, s) in p.steps.iter().enumerate() {
        let via = if k == 0 {
            s.via.clone()
        } else {
            format!(".{}", s.via)
        };
        let _ = writeln!(
            out,
            "{indent}{}{} {} {}",
            "  ".repeat(k.min(12)),
            style.cyan(&via),
            s.object.description,
            style.dim(&format!("@{}", s.object.id)),
        );
    }
}

pub fn classloaders(r: &ClassLoaders, style: &Style) -> String {
    let mut out = String::new();
    let t = &r.totals;
    let _ = writeln!(
        out,
        "{}: {} loaders of {} types, {} classes ({} bootstrap); Metaspace estimate {}",
        style.bold("Class loaders"),
        thousands(t.loaders),
        thousands(t.loader_types),
        thousands(t.classes),
        thousands(t.bootstrap_classes),
        human_bytes(t.metaspace_estimate_bytes),
    );
    if t.idle_reachable_loaders > 0 {
        let _ = writeln!(
            out,
            "{}",
            style.yellow(&format!(
                "{} loaders define classes with no live instance yet stay reachable (leak signature)",
                thousands(t.idle_reachable_loaders)
            ))
        );
    }
    if t.soft_only_loaders > 0 {
        let _ = writeln!(
            out,
            "{} loaders are held only through SoftReferences",
            thousands(t.soft_only_loaders)
        );
    }

    if !r.suspects.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Suspects"));
        for (i, s) in r.suspects.iter().enumerate() {
            let _ = write!(out, "\n{}. ", i + 1);
            out.push_str(&suspect(s, style));
        }
    }

    let _ = writeln!(out, "\n{}", style.bold("By loader type"));
    let mut tab = Table::new(&[
        "loaders",
        "classes",
        "live inst.",
        "retained",
        "metaspace~",
        "idle+reach.",
        "type",
    ]);
    for g in &r.groups {
        tab.row(vec![
            thousands(g.loaders),
            thousands(g.classes),
            thousands(g.live_instances),
            human_bytes(g.retained_bytes),
            human_bytes(g.metaspace_estimate_bytes),
            thousands(g.idle_reachable_loaders),
            g.type_name.clone(),
        ]);
    }
    tab.render(style, &mut out);

    let _ = writeln!(out, "\n{}", style.bold("Why each loader type is alive"));
    for g in &r.groups {
        if let Some(p) = &g.path {
            let _ = writeln!(out, "  {}: {}", g.type_name, p.summary);
        }
    }

    let _ = writeln!(
        out,
        "\n{} {}",
        style.bold("Loaders"),
        style.dim(&format!(
            "(first {} of {} by classes defined; --json lists all)",
            LOADER_ROWS.min(r.loaders.len()),
            r.loaders.len()
        ))
    );
    let mut tab = Table::new(&[
        "classes",
        "live inst.",
        "retained",
        "metaspace~",
        "held",
        "id",
        "type",
    ]);
    for l in r.loaders.iter().take(LOADER_ROWS) {
        tab.row(vec![
            thousands(l.classes),
            thousands(l.live_instances),
            human_bytes(l.retained_bytes),
            human_bytes(l.metaspace_estimate_bytes),
            format!(
                "{}{}",
                reach(l.reachability),
                if l.leak_signature { ", idle" } else { "" }
            ),
            l.id.clone(),
            l.type_name.clone(),
        ]);
    }
    tab.render(style, &mut out);

    if !r.families.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Generated-class families"));
        let mut tab = Table::new(&["classes", "loaders", "live inst.", "kind", "family"]);
        for f in r.families.iter().take(FAMILY_ROWS) {
            tab.row(vec![
                thousands(f.classes),
                thousands(f.loaders),
                thousands(f.live_instances),
                f.label.to_string(),
                f.key.clone(),
            ]);
        }
        tab.render(style, &mut out);
    }
    if !r.duplicates.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Classes defined by several loaders")
        );
        let mut tab = Table::new(&["copies", "live inst.", "loader types", "class"]);
        for d in r.duplicates.iter().take(FAMILY_ROWS) {
            tab.row(vec![
                thousands(d.copies),
                thousands(d.live_instances),
                d.loader_types
                    .iter()
                    .map(|t| format!("{} x{}", t.type_name, t.loaders))
                    .collect::<Vec<_>>()
                    .join(", "),
                d.name.clone(),
            ]);
        }
        tab.render(style, &mut out);
    }

    let rf = &r.reflection;
    let _ = writeln!(out, "\n{}", style.bold("Reflection inflation"));
    let _ = writeln!(out, "  {}", rf.note);
    if rf.method_accessors + rf.constructor_accessors + rf.serialization_constructor_accessors > 0 {
        let _ = writeln!(
            out,
            "  accessor classes: {} method, {} constructor, {} serialization; held: {} strongly, {} only softly, {} unreachable{}",
            thousands(rf.method_accessors),
            thousands(rf.constructor_accessors),
            thousands(rf.serialization_constructor_accessors),
            thousands(rf.strongly_held),
            thousands(rf.soft_only),
            thousands(rf.unreachable),
            if rf.only_softly { " (Method objects held only softly: dropped and inflated again)" } else { "" }
        );
        for tc in rf.targets.iter().take(10) {
            let _ = writeln!(out, "  {:>7}  {}", thousands(tc.accessors), tc.class);
            for m in tc.methods.iter().take(5) {
                let _ = writeln!(out, "  {:>7}    {}", thousands(m.accessors), m.method);
            }
        }
    }

    let _ = writeln!(
        out,
        "\n{}",
        style.dim(&format!("metaspace~: {}", r.metaspace_estimate.description))
    );
    for w in &r.warnings {
        let _ = writeln!(out, "{} {}", style.yellow("warning:"), w.message);
    }
    out
}

/// What to do about classes an engine keeps making: the advice for that engine.
pub fn engine_advice(e: Engine) -> &'static str {
    match e {
        Engine::Groovy => "Groovy: compile each script once and cache the compiled Class (keyed by the script text), e.g. one GroovyShell or GroovyClassLoader for all scripts and shell.parse only on a cache miss; a new GroovyShell/GroovyClassLoader per call defines every script again in a fresh InnerLoader. Call GroovyClassLoader.clearCache() when scripts are replaced, and do not keep Script instances, their classes or their loaders in long-lived maps; on Groovy 2.x also -Dgroovy.use.classvalue=true (GROOVY-7591) so that metaclasses do not pin loaders.",
        Engine::Rhino => "Rhino: compile each script once (Context.compileString) and reuse the Script object; every compilation in optimizing mode defines a new class org.mozilla.javascript.gen.<source>_<n> in a new DefiningClassLoader. Cache compiled scripts by their text, or run scripts interpreted (cx.setOptimizationLevel(-1)) so that no classes are generated, and drop references to old Scripts.",
        Engine::Nashorn => "Nashorn: reuse one ScriptEngine and compile scripts once (Compilable.compile) instead of evaluating new script text per call; each eval of new text defines classes in a fresh ScriptLoader. Cap the class cache (--class-cache-size) and do not create a ScriptEngine per request.",
        Engine::Aviator => "Aviator: compile expressions with caching (AviatorEvaluator.compile(expr, true), or an AviatorEvaluatorInstance with setCachedExpressionByDefault(true)) and use a bounded LRU cache (useLRUExpressionCache); each uncached compile defines a new Script_<n>_<n> class in a new AviatorClassLoader.",
        Engine::Janino => "Janino: compile each expression or class body once and keep the compiled result (ExpressionEvaluator/ScriptEvaluator/ClassBodyEvaluator.cook once, evaluate many times); each cook defines classes in a new ByteArrayClassLoader, kept as long as the evaluator or its classes are referenced.",
        Engine::ReflectionAccessors => "Reflection accessors: cache Method/Constructor objects strongly instead of looking them up again (each fresh Method inflates again after 15 calls), or raise -Dsun.reflect.inflationThreshold; on JDK 18+ reflection uses method handles and generates no accessor classes.",
        Engine::LambdasAndHiddenClasses => "Lambdas and hidden classes: cache MethodHandles, CallSites and LambdaMetafactory results instead of spinning them per call; classes that contain lambdas and are themselves generated per call multiply their lambda classes.",
        Engine::DynamicProxy => "java.lang.reflect.Proxy: create proxies with a stable class loader and interface list (the proxy class is cached per loader and interfaces); a new loader per call makes a new $Proxy class each time.",
        Engine::Cglib => "cglib: reuse Enhancer instances with setUseCache(true) and the same callback types; a new class loader or callback class per call makes a new $$EnhancerByCGLIB$$ class each time.",
        Engine::Javassist => "Javassist: reuse one ProxyFactory (and ClassPool) and cache the created proxy classes; ProxyFactory.useCache must stay true.",
        Engine::ByteBuddy => "ByteBuddy: cache generated types in a TypeCache keyed by what varies, and load them with a stable ClassLoadingStrategy; creating a new type per call (or per mock) defines a new class each time.",
    }
}

/// One suspect: title, counts, holders, explanation, fix (the engine's advice when the engine is
/// known), path.
pub fn suspect(s: &ClassLoaderSuspect, style: &Style) -> String {
    let mut out = String::new();
    let c = &s.counts;
    let _ = writeln!(out, "{}", style.bold(&s.title));
    let _ = writeln!(
        out,
        "   {} loaders, {} classes, {} live instances; heap {}, Metaspace {} (threshold {})",
        thousands(c.loaders),
        thousands(c.classes),
        thousands(c.live_instances),
        human_bytes(c.retained_bytes),
        metaspace(c.metaspace_estimate_bytes, s.metaspace_from_jvm),
        thousands(c.threshold),
    );
    if let Some(e) = s.engine {
        let _ = writeln!(out, "   engine: {}", e.label());
    }
    if let Some(f) = &s.family {
        if s.family_templates > 1 {
            let _ = writeln!(out, "   family: {f} ({} templates)", s.family_templates);
        } else {
            let _ = writeln!(out, "   family: {f}");
        }
    }
    if let Some(p) = &s.parents {
        let _ = writeln!(
            out,
            "   with their parents: {} {} (made per call too; {} classes)",
            thousands(p.loaders),
            p.type_name,
            thousands(p.classes)
        );
    }
    if s.holders.len() > 1 {
        let _ = writeln!(out, "   held by {} holders:", s.holders.len());
        for h in &s.holders {
            let _ = writeln!(
                out,
                "     {} loaders ({} classes): {}",
                thousands(h.loaders),
                thousands(h.classes),
                h.path_summary
            );
        }
    } else if let Some(p) = &s.path_summary {
        let _ = writeln!(out, "   held by: {p}");
    }
    let _ = writeln!(out, "   why: {}", s.explanation);
    match s.engine {
        Some(e) => {
            let _ = writeln!(out, "   fix: {}", engine_advice(e));
        }
        None => {
            let _ = writeln!(out, "   fix: {}", s.fix);
        }
    }
    if !s.path.is_empty() {
        let _ = writeln!(out, "   path from a GC root:");
        let p = LoaderPath {
            reachability: s.reachability.unwrap_or(Reachability::Strong),
            steps: s.path.clone(),
            through_own_classes: false,
            summary: String::new(),
        };
        path_lines(&p, style, &mut out, "     ");
    }
    out
}

/// A Metaspace figure: the JVM's own, or an estimate (`~`).
fn metaspace(bytes: u64, from_jvm: bool) -> String {
    if from_jvm {
        format!("{} (the JVM's VM.classloader_stats)", human_bytes(bytes))
    } else {
        format!("~{} (estimate)", human_bytes(bytes))
    }
}
