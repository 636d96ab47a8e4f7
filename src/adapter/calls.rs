//! The calls an adapter script makes, read off its compiled form: which functions it reaches
//! (for [`super::placement`]) and which of its calls nothing defines.
//!
//! Rhai resolves a call only when it runs, so a misspelt function (`existing_usr`) or a host
//! function given the wrong number of arguments would pass compilation and fail the first
//! request that reaches that line. Every call whose target the script names statically is
//! checked when the script is compiled instead — by `scimitar check`, at start and on reload.
//! A call into an imported module (`ns::f(…)`) is checked against the module's public
//! functions.

use rhai::{ASTNode, Engine, Expr, FnPtr, Position, Stmt, AST};
use std::collections::{BTreeSet, HashMap};

/// Names the script may call that are Rhai's own keywords, not functions of a module.
const KEYWORDS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "eval",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
];

/// How a call names its function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    /// `name(args…)`
    Function,
    /// `object.name(args…)`: native functions get the object as their first argument; a
    /// script function gets it as `this` (or, for one declared that way, as a parameter).
    Method,
    /// `Fn("name")` or a closure: called later, with arguments not known here.
    Pointer,
}

/// One call in the script.
pub struct Call<'a> {
    pub name: &'a str,
    /// `ns` of `ns::name(…)` (`a::b` for a module's sub-module); `None` for a plain call.
    pub module: Option<String>,
    /// The arguments written at the call, without a method call's object.
    pub args: usize,
    pub style: Style,
    pub position: Position,
}

/// Every call `ast` makes or holds a pointer to (operators aside), in its functions and its
/// top-level statements.
pub fn each_call(ast: &AST, mut visit: impl FnMut(Call<'_>)) {
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, position)))
            | Some(ASTNode::Stmt(Stmt::FnCall(call, position)))
                if call.op_token.is_none() =>
            {
                let module = call.is_qualified().then(|| {
                    let path: Vec<&str> = call
                        .namespace
                        .path
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect();
                    path.join("::")
                });
                visit(Call {
                    name: call.name.as_str(),
                    module,
                    args: call.args.len(),
                    style: Style::Function,
                    position: *position,
                })
            }
            Some(ASTNode::Expr(Expr::MethodCall(call, position))) => visit(Call {
                name: call.name.as_str(),
                module: None,
                args: call.args.len(),
                style: Style::Method,
                position: *position,
            }),
            Some(ASTNode::Expr(Expr::DynamicConstant(value, position))) => {
                if let Some(pointer) = value.read_lock::<FnPtr>() {
                    visit(Call {
                        name: pointer.fn_name(),
                        module: None,
                        args: 0,
                        style: Style::Pointer,
                        position: *position,
                    })
                }
            }
            _ => {}
        }
        true
    });
}

/// Functions by name, with the numbers of arguments each takes.
type Arities = HashMap<String, BTreeSet<usize>>;

/// The functions a call can reach.
struct Defined {
    host: Arities,
    script: Arities,
    /// The public functions of each module the script imports, by the name it is imported as.
    modules: HashMap<String, Arities>,
}

/// An `import` of the script: `import "name" as alias;`.
pub struct Import {
    /// The module's name; `None` when the import computes it (which cannot be embedded).
    pub name: Option<String>,
    pub alias: String,
    pub position: Position,
}

/// Every `import` in `ast`, at the top or inside a function.
pub fn imports(ast: &AST) -> Vec<Import> {
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Import(import, position))) = path.last() {
            let (expr, alias) = &**import;
            found.push(Import {
                name: match expr {
                    Expr::StringConstant(name, _) => Some(name.to_string()),
                    _ => None,
                },
                alias: alias.name.to_string(),
                position: *position,
            });
        }
        true
    });
    found
}

/// The module `ast` embeds for `import "name"`.
pub fn embedded(ast: &AST, name: &str) -> Option<std::sync::Arc<rhai::Module>> {
    let modules = ast.resolver()?;
    modules
        .iter()
        .find(|(path, _)| *path == name)
        .map(|(_, module)| module.clone())
}

impl Defined {
    fn new(engine: &Engine, ast: &AST) -> Self {
        let mut host = Arities::new();
        for (name, arity) in engine.collect_fn_metadata(
            None,
            |f| Some((f.metadata.name.to_string(), f.metadata.num_params)),
            true,
        ) {
            host.entry(name).or_default().insert(arity);
        }
        let mut script = Arities::new();
        for f in ast.iter_functions() {
            script
                .entry(f.name.to_string())
                .or_default()
                .insert(f.params.len());
        }
        let mut modules: HashMap<String, Arities> = HashMap::new();
        for import in imports(ast) {
            let module = import.name.and_then(|name| embedded(ast, &name));
            let functions = modules.entry(import.alias).or_default();
            for (_, access, name, arity, _) in module.iter().flat_map(|m| m.iter_script_fn_info()) {
                if access == rhai::FnAccess::Public {
                    functions.entry(name.to_string()).or_default().insert(arity);
                }
            }
        }
        Self {
            host,
            script,
            modules,
        }
    }

    /// Whether `call` reaches a function; `None` when no function has its name at all.
    fn resolves(&self, call: &Call) -> Option<bool> {
        let host = self.host.get(call.name);
        let script = self.script.get(call.name);
        if host.is_none() && script.is_none() {
            return None;
        }
        let host_takes = |n| host.is_some_and(|a| a.contains(&n));
        let script_takes = |n| script.is_some_and(|a| a.contains(&n));
        Some(match call.style {
            Style::Function => host_takes(call.args) || script_takes(call.args),
            Style::Method => {
                host_takes(call.args + 1) || script_takes(call.args) || script_takes(call.args + 1)
            }
            Style::Pointer => true,
        })
    }

    /// What is wrong with `module::name(…)`, if anything.
    fn module_problem(&self, module: &str, call: &Call) -> Option<String> {
        if module.contains("::") {
            return None; // a module's own sub-module: beyond what is checked here
        }
        // (An alias nothing imports is refused by Rhai's parser already.)
        let functions = self.modules.get(module)?;
        match functions.get(call.name) {
            None => Some(format!(
                "`{module}::{}` is not a public function of the module imported as `{module}`",
                call.name
            )),
            Some(arities) if !arities.contains(&call.args) => Some(format!(
                "`{module}::{}` is given {} argument(s); it takes {}",
                call.name,
                call.args,
                either([arities])
            )),
            Some(_) => None,
        }
    }

    /// "1 or 2": the numbers of arguments `name` takes.
    fn arities(&self, name: &str) -> String {
        either(self.host.get(name).into_iter().chain(self.script.get(name)))
    }
}

/// "1, 2 or 3": every number in `sets`.
fn either<'a>(sets: impl IntoIterator<Item = &'a BTreeSet<usize>>) -> String {
    let all: BTreeSet<usize> = sets.into_iter().flatten().copied().collect();
    let all: Vec<String> = all.iter().map(usize::to_string).collect();
    match all.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// One message per call of `ast` that will fail when it runs, as `line:column: what`:
/// a function that neither the script, its modules nor the host defines, or a defined one
/// given a number of arguments it does not take; and an import that computes its name.
pub fn unresolved(engine: &Engine, ast: &AST) -> Vec<String> {
    let defined = Defined::new(engine, ast);
    let mut problems = Vec::new();
    for import in imports(ast) {
        if import.name.is_none() {
            let what = "`import` names its module in quotes (`import \"name\" as ns;`): a \
                        computed name cannot be read when the script compiles";
            problems.push((import.position, what.to_string()));
        }
    }
    each_call(ast, |call| {
        if let Some(module) = &call.module {
            if let Some(problem) = defined.module_problem(module, &call) {
                problems.push((call.position, problem));
            }
            return;
        }
        if KEYWORDS.contains(&call.name) {
            return;
        }
        let problem = match defined.resolves(&call) {
            Some(true) => return,
            None => format!(
                "`{}` is not a function of the script or of the host",
                call.name
            ),
            Some(false) if call.style == Style::Method => format!(
                "`.{}(…)` is given {} argument(s) after the dot; `{}` takes {} (the value \
                 before the dot counts as the first)",
                call.name,
                call.args,
                call.name,
                defined.arities(call.name)
            ),
            Some(false) => format!(
                "`{}` is given {} argument(s); it takes {}",
                call.name,
                call.args,
                defined.arities(call.name)
            ),
        };
        problems.push((call.position, problem));
    });
    let mut located: Vec<(usize, usize, String)> = problems
        .into_iter()
        .map(|(at, problem)| (at.line().unwrap_or(0), at.position().unwrap_or(0), problem))
        .collect();
    located.sort();
    located.dedup();
    located
        .into_iter()
        .map(|(line, column, problem)| format!("{line}:{column}: {problem}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(source: &str) -> Vec<String> {
        let mut engine = Engine::new();
        engine.register_fn("http_get", |_: &str| 0_i64);
        engine.register_fn("http_get", |_: &str, _: rhai::Map| 0_i64);
        let ast = engine.compile(source).expect("compiles");
        unresolved(&engine, &ast)
    }

    #[test]
    fn a_script_whose_calls_all_resolve_has_no_problems() {
        let found = problems(
            r#"
            fn existing_user(id) { http_get(`/users/${id}`) }
            fn get_user(id) {
                let found = existing_user(id);
                let names = [1, 2].map(|n| n + 1);
                let f = Fn("existing_user");
                if found == () { return (); }
                print(type_of(found)); f.call(id);
                `${id}`.len() + id.existing_user() + names.len()
            }
            "#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_misspelt_function_is_named_with_its_line() {
        let found = problems(
            "fn existing_user(id) { http_get(id) }\n\
             fn get_user(id) {\n  existing_usr(id)\n}\n",
        );
        assert_eq!(
            found,
            ["3:3: `existing_usr` is not a function of the script or of the host"]
        );
    }

    #[test]
    fn a_wrong_number_of_arguments_is_named_with_what_the_function_takes() {
        let found = problems(
            "fn one(a) { a }\nfn f(id) {\n  http_get(id, #{}, 3);\n  one(1, 2);\n  id.one(2, 3)\n}\n",
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("3:3: `http_get` is given 3 argument(s); it takes 1 or 2"));
        assert!(found[1].starts_with("4:3: `one` is given 2 argument(s); it takes 1"));
        assert!(found[2].contains("`.one(…)` is given 2 argument(s) after the dot"));
    }

    #[test]
    fn a_pointer_to_a_function_that_does_not_exist_is_found() {
        let found = problems("fn f(ids) { ids.map(Fn(\"nothing_here\")) }");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("`nothing_here`"), "{found:?}");
    }
}
