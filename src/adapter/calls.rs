//! The calls an adapter script makes, read off its compiled form: which functions it reaches
//! (for [`super::placement`]) and which of its calls nothing defines.
//!
//! Rhai resolves a call only when it runs, so a misspelt function (`existing_usr`) or a host
//! function given the wrong number of arguments would pass compilation and fail the first
//! request that reaches that line. Every call whose target the script names statically is
//! checked when the script is compiled instead — by `scimitar check`, at start and on reload.

use rhai::{ASTNode, Engine, Expr, FnPtr, Position, Stmt, AST};
use std::collections::{BTreeSet, HashMap, HashSet};

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
    /// The arguments written at the call, without a method call's object.
    pub args: usize,
    pub style: Style,
    pub position: Position,
}

/// Every call `ast` makes or holds a pointer to (operators and namespaced calls aside), in
/// its functions and its top-level statements.
pub fn each_call(ast: &AST, mut visit: impl FnMut(Call<'_>)) {
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, position)))
            | Some(ASTNode::Stmt(Stmt::FnCall(call, position)))
                if call.op_token.is_none() && !call.is_qualified() =>
            {
                visit(Call {
                    name: call.name.as_str(),
                    args: call.args.len(),
                    style: Style::Function,
                    position: *position,
                })
            }
            Some(ASTNode::Expr(Expr::MethodCall(call, position))) => visit(Call {
                name: call.name.as_str(),
                args: call.args.len(),
                style: Style::Method,
                position: *position,
            }),
            Some(ASTNode::Expr(Expr::DynamicConstant(value, position))) => {
                if let Some(pointer) = value.read_lock::<FnPtr>() {
                    visit(Call {
                        name: pointer.fn_name(),
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

/// The functions a call can reach, by name, with the numbers of arguments each takes.
struct Defined {
    host: HashMap<String, BTreeSet<usize>>,
    script: HashMap<String, BTreeSet<usize>>,
}

impl Defined {
    /// `functions`: the script's own, as `(name, arity)`.
    fn new(engine: &Engine, functions: &HashSet<(String, usize)>) -> Self {
        let mut host: HashMap<String, BTreeSet<usize>> = HashMap::new();
        for (name, arity) in engine.collect_fn_metadata(
            None,
            |f| Some((f.metadata.name.to_string(), f.metadata.num_params)),
            true,
        ) {
            host.entry(name).or_default().insert(arity);
        }
        let mut script: HashMap<String, BTreeSet<usize>> = HashMap::new();
        for (name, arity) in functions {
            script.entry(name.clone()).or_default().insert(*arity);
        }
        Self { host, script }
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

    /// "1 or 2": the numbers of arguments `name` takes.
    fn arities(&self, name: &str) -> String {
        let all: BTreeSet<usize> = [self.host.get(name), self.script.get(name)]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        let all: Vec<String> = all.iter().map(usize::to_string).collect();
        match all.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// One message per call of `ast` that will fail when it runs, as `line:column: what`:
/// a function that neither the script nor the host defines, or a defined one given a number
/// of arguments it does not take. `functions` are the script's own, as `(name, arity)`.
pub fn unresolved(engine: &Engine, ast: &AST, functions: &HashSet<(String, usize)>) -> Vec<String> {
    let defined = Defined::new(engine, functions);
    let mut problems = Vec::new();
    each_call(ast, |call| {
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
        let line = call.position.line().unwrap_or(0);
        let column = call.position.position().unwrap_or(0);
        problems.push((line, column, problem));
    });
    problems.sort();
    problems.dedup();
    problems
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
        let functions = ast
            .iter_functions()
            .map(|f| (f.name.to_string(), f.params.len()))
            .collect();
        unresolved(&engine, &ast, &functions)
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
