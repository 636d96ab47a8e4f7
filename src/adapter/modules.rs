//! Shared code: `import "name" as ns;` in an adapter script reads `name.rhai` from the
//! script's own folder, and nothing else.
//!
//! Imports are resolved once, when the script is compiled (`compile_into_self_contained`):
//! each module is read, checked like a script ([`super::calls`]), evaluated in the sandbox
//! and embedded in the compiled script, so a request never touches the disk and a script
//! shared by a thousand tenants compiles its modules once. A module's name is a file name
//! of the folder without `.rhai` — letters, digits, `-` and `_` — so no import reaches a
//! path outside it, and modules that import each other in a circle are refused.
//!
//! The folder is known only while a script compiles: [`resolving_in`] sets it for this
//! thread, and outside it every import fails (an import with a computed name, which
//! compilation cannot embed, is refused before that).

use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope, AST};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type SharedModule = Arc<Module>;

/// At most this many modules are imported by one script, its modules included.
pub const MAX_MODULES: usize = 32;

/// The module files a compiled script embeds, by name, with the SHA-256 of each one's
/// content: the same script elsewhere is the same compiled adapter only if its folder holds
/// the same modules.
pub type ModuleDigests = BTreeMap<String, [u8; 32]>;

/// The engine's resolver: imports resolve in the folder of the script being compiled.
pub struct FolderResolver;

struct Resolving {
    folder: PathBuf,
    /// The modules being compiled, outermost first (a name twice is a circle).
    importing: Vec<String>,
    read: ModuleDigests,
}

thread_local! {
    static RESOLVING: RefCell<Option<Resolving>> = const { RefCell::new(None) };
}

/// Runs `compile` with imports resolving in `folder`; answers its result and the modules it
/// read.
pub fn resolving_in<T>(folder: &Path, compile: impl FnOnce() -> T) -> (T, ModuleDigests) {
    RESOLVING.with(|r| {
        *r.borrow_mut() = Some(Resolving {
            folder: folder.to_path_buf(),
            importing: Vec::new(),
            read: ModuleDigests::new(),
        })
    });
    let result = compile();
    let read = RESOLVING
        .with(|r| r.borrow_mut().take())
        .map(|r| r.read)
        .unwrap_or_default();
    (result, read)
}

/// The file a module name stands for in `folder`, if the name is one a module may have.
pub fn module_file(folder: &Path, name: &str) -> Option<PathBuf> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then(|| folder.join(format!("{name}.rhai")))
}

/// Whether every module in `digests` reads the same in `folder` today.
pub fn unchanged_in(folder: &Path, digests: &ModuleDigests) -> bool {
    digests.iter().all(|(name, digest)| {
        module_file(folder, name)
            .and_then(|file| std::fs::read_to_string(file).ok())
            .is_some_and(|source| super::source_hash(&source) == *digest)
    })
}

impl ModuleResolver for FolderResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        name: &str,
        position: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let Some(folder) = RESOLVING.with(|r| r.borrow().as_ref().map(|r| r.folder.clone())) else {
            return Err(EvalAltResult::ErrorModuleNotFound(name.into(), position).into());
        };
        let file = module_file(&folder, name).ok_or_else(|| {
            located(format!(
                "import \"{name}\": a module is named by a file of the adapter's folder, without \
                 `.rhai`, in letters, digits, `-` and `_`"
            ))
        })?;
        let circle = RESOLVING.with(|r| {
            let mut r = r.borrow_mut();
            let r = r.as_mut().expect("set while compiling");
            let circle = r.importing.iter().any(|n| n == name);
            let chain = [r.importing.as_slice(), &[name.to_string()]].concat();
            r.importing.push(name.to_string());
            circle.then(|| chain.join(" → "))
        });
        let result = match circle {
            Some(chain) => Err(located(format!(
                "modules import each other in a circle: {chain}"
            ))),
            None => compile_module(engine, &file, name),
        };
        RESOLVING.with(|r| {
            if let Some(r) = r.borrow_mut().as_mut() {
                r.importing.pop();
            }
        });
        result
    }
}

fn compile_module(
    engine: &Engine,
    file: &Path,
    name: &str,
) -> Result<SharedModule, Box<EvalAltResult>> {
    let source = std::fs::read_to_string(file).map_err(|e| {
        located(format!(
            "{}: cannot read the module imported as \"{name}\": {e}",
            file.display()
        ))
    })?;
    RESOLVING.with(|r| {
        if let Some(r) = r.borrow_mut().as_mut() {
            r.read.insert(name.to_string(), super::source_hash(&source));
        }
    });
    let ast = compile(engine, file, &source).map_err(located)?;
    let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
        .map_err(|e| located(describe(&e, file)))?;
    Ok(module.into())
}

/// Compiles `source` (read from `file`) with its imports embedded, and checks every call it
/// makes; errors as `file:line:column: what`, one per line.
pub fn compile(engine: &Engine, file: &Path, source: &str) -> Result<AST, String> {
    let ast = engine
        .compile_into_self_contained(&Scope::new(), source)
        .map_err(|e| describe(&e, file))?;
    let problems = super::calls::unresolved(engine, &ast);
    if problems.is_empty() {
        Ok(ast)
    } else {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| format!("{}:{problem}", file.display()))
            .collect();
        Err(lines.join("\n"))
    }
}

/// An error whose text already says where it is.
#[derive(Debug)]
struct Located(String);

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Located {}

fn located(text: String) -> Box<EvalAltResult> {
    EvalAltResult::ErrorSystem(String::new(), Box::new(Located(text))).into()
}

/// `err` as `file:line:column: what`, unless it already says where it is (a module's own).
fn describe(err: &EvalAltResult, file: &Path) -> String {
    match err {
        EvalAltResult::ErrorSystem(_, inner) if inner.is::<Located>() => inner.to_string(),
        EvalAltResult::ErrorInModule(_, inner, _) if is_located(inner) => describe(inner, file),
        EvalAltResult::ErrorParsing(kind, position) => at(file, *position, kind),
        other => at(file, other.position(), other),
    }
}

fn is_located(err: &EvalAltResult) -> bool {
    match err {
        EvalAltResult::ErrorSystem(_, inner) => inner.is::<Located>(),
        EvalAltResult::ErrorInModule(_, inner, _) => is_located(inner),
        _ => false,
    }
}

fn at(file: &Path, position: Position, what: impl std::fmt::Display) -> String {
    format!(
        "{}:{}:{}: {what}",
        file.display(),
        position.line().unwrap_or(0),
        position.position().unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::super::{engine, Adapter, ScriptCache};
    use rhai::{CallFnOptions, Dynamic, Engine, Scope};
    use std::path::Path;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, source) in files {
            std::fs::write(dir.path().join(name), source).expect("write");
        }
        dir
    }

    fn compile(engine: &Engine, dir: &Path, script: &str) -> anyhow::Result<Adapter> {
        let path = dir.join("adapter.rhai");
        std::fs::write(&path, script).expect("write");
        Adapter::compile_source(engine, &path, script)
    }

    fn refused(engine: &Engine, dir: &Path, script: &str) -> String {
        match compile(engine, dir, script) {
            Ok(_) => panic!("compiled: {script}"),
            Err(error) => error.to_string(),
        }
    }

    fn call(engine: &Engine, adapter: &Adapter, function: &str, arg: i64) -> i64 {
        let options = CallFnOptions::new().eval_ast(true);
        engine
            .call_fn_with_options::<Dynamic>(
                options,
                &mut Scope::new(),
                &adapter.ast,
                function,
                (arg,),
            )
            .expect("runs")
            .as_int()
            .expect("a number")
    }

    const COMMON: &str =
        "fn twice(x) { x * 2 }\nfn fetch(id) { http_get(id) }\nprivate fn hidden() { 1 }\n";

    #[test]
    fn a_function_reaches_a_module_of_its_folder() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[
            ("common.rhai", COMMON),
            ("inner.rhai", "fn plus(x) { x + 1 }"),
        ]);
        let adapter = compile(
            &engine,
            dir.path(),
            "import \"common\" as common;\nfn f(x) { common::twice(x) }\nfn g(x) { common::fetch(x) }",
        )
        .expect("compiles");
        assert_eq!(call(&engine, &adapter, "f", 21), 42);
        assert_eq!(adapter.modules.keys().collect::<Vec<_>>(), ["common"]);
        // A module function that only computes keeps its caller in place; one that waits
        // does not.
        assert!(adapter.runs_in_place("f", 1));
        assert!(!adapter.runs_in_place("g", 1));
    }

    #[test]
    fn a_module_may_import_another_of_the_folder() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[
            (
                "outer.rhai",
                "import \"inner\" as inner;\nfn twice_plus(x) { inner::plus(x) * 2 }",
            ),
            ("inner.rhai", "fn plus(x) { x + 1 }"),
        ]);
        let adapter = compile(
            &engine,
            dir.path(),
            "import \"outer\" as outer;\nfn f(x) { outer::twice_plus(x) }",
        )
        .expect("compiles");
        assert_eq!(call(&engine, &adapter, "f", 20), 42);
        assert_eq!(adapter.modules.len(), 2);
    }

    #[test]
    fn calls_into_a_module_are_checked_against_its_public_functions() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[("common.rhai", COMMON)]);
        let error = refused(
            &engine,
            dir.path(),
            "import \"common\" as common;\nfn f(x) {\n  common::thrice(x) + common::hidden() + common::twice(1, 2)\n}",
        );
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 3, "{error}");
        assert!(
            lines[0].contains("adapter.rhai:3:")
                && lines[0].contains("`common::thrice` is not a public function"),
            "{error}"
        );
        assert!(
            lines[1].contains("`common::hidden` is not a public function"),
            "{error}"
        );
        assert!(
            lines[2].contains("`common::twice` is given 2 argument(s); it takes 1"),
            "{error}"
        );
        let error = refused(&engine, dir.path(), "fn f(x) {\n  other::twice(x)\n}");
        assert!(
            error.contains("adapter.rhai:2:") && error.contains("other"),
            "{error}"
        );
    }

    #[test]
    fn a_mistake_in_a_module_is_named_at_the_modules_line() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[
            ("common.rhai", "fn f(x) {\n  misspelt(x)\n}"),
            ("broken.rhai", "fn f( {"),
        ]);
        let error = refused(
            &engine,
            dir.path(),
            "import \"common\" as c;\nfn g(x) { c::f(x) }",
        );
        assert!(
            error.contains("common.rhai:2:3: `misspelt` is not a function"),
            "{error}"
        );
        let error = refused(
            &engine,
            dir.path(),
            "import \"broken\" as b;\nfn g(x) { b::f(x) }",
        );
        assert!(error.contains("broken.rhai:1:"), "{error}");
    }

    #[test]
    fn no_import_reaches_beyond_the_folder() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[]);
        std::fs::write(
            dir.path().parent().unwrap().join("outside.rhai"),
            "fn f() { 1 }",
        )
        .ok();
        for name in ["../outside", "/etc/passwd", "sub/x", "common.rhai", ""] {
            let error = refused(
                &engine,
                dir.path(),
                &format!("import \"{name}\" as m;\nfn g() {{ m::f() }}"),
            );
            assert!(
                error.contains("a module is named by a file of the adapter's folder"),
                "{name}: {error}"
            );
        }
        let error = refused(
            &engine,
            dir.path(),
            "import \"missing\" as m;\nfn g() { m::f() }",
        );
        assert!(
            error.contains("missing.rhai: cannot read the module imported as \"missing\""),
            "{error}"
        );
        let error = refused(&engine, dir.path(), "fn g(n) { import n as m; m::f() }");
        assert!(
            error.contains("`import` names its module in quotes"),
            "{error}"
        );
    }

    #[test]
    fn modules_that_import_each_other_in_a_circle_are_refused() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[
            ("a.rhai", "import \"b\" as b;\nfn f() { 1 }"),
            ("b.rhai", "import \"a\" as a;\nfn g() { 2 }"),
        ]);
        let error = refused(&engine, dir.path(), "import \"a\" as a;\nfn h() { a::f() }");
        assert!(
            error.contains("modules import each other in a circle: a → b → a"),
            "{error}"
        );
    }

    #[test]
    fn a_statement_outside_a_function_is_refused() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[]);
        let error = refused(&engine, dir.path(), "fn f() { 1 }\nlet base = \"/v1\";\n");
        assert!(
            error.contains("adapter.rhai:2:1: a statement outside a function never runs"),
            "{error}"
        );
    }

    #[test]
    fn a_script_is_compiled_again_only_when_a_module_it_imports_changes() {
        let engine = engine::build(&Default::default());
        let dir = folder(&[("common.rhai", COMMON), ("unused.rhai", "fn x() { 1 }")]);
        let path = dir.path().join("adapter.rhai");
        std::fs::write(
            &path,
            "import \"common\" as common;\nfn f(x) { common::twice(x) }",
        )
        .unwrap();
        let mut cache = ScriptCache::new(&engine, []);
        let first = cache.get(&path).expect("compiles");
        std::fs::write(dir.path().join("unused.rhai"), "fn x() { 2 }").unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &cache.get(&path).unwrap()));
        std::fs::write(dir.path().join("common.rhai"), "fn twice(x) { x * 3 }").unwrap();
        let second = cache.get(&path).expect("compiles");
        assert!(!std::sync::Arc::ptr_eq(&first, &second));
        assert_eq!(call(&engine, &second, "f", 2), 6);
        // The same script in another folder, with the same module, shares the compiled one.
        let other = folder(&[("common.rhai", "fn twice(x) { x * 3 }")]);
        let elsewhere = other.path().join("adapter.rhai");
        std::fs::copy(&path, &elsewhere).unwrap();
        assert!(std::sync::Arc::ptr_eq(
            &second,
            &cache.get(&elsewhere).unwrap()
        ));
    }
}
