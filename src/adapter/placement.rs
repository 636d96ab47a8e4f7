//! Where an adapter function runs: in place on the pingora worker that handles the request,
//! or on a script thread.
//!
//! A script thread costs two thread hops a call (hand the call over, hand the answer back),
//! which is most of what a short hook costs. Only a call that may *wait* — on HTTP, the
//! store or a lock — needs one: a function that can reach none of the host functions that
//! wait runs in place, bounded like any script by the sandbox's operation limit and the
//! request deadline. The decision is read off the compiled script once: a function waits if
//! it calls a waiting host function, a script function that waits, or something the script
//! cannot name statically (`call`, `Fn`, `eval`); a function pointer it holds (a closure, a
//! `Fn("name")` literal) counts as a call to its target. A call into an imported module
//! (`ns::f(…)`) waits if that function of the module does; the module's own imports are not
//! followed (its calls into them count as waiting).
//!
//! The host guards the rest: a waiting host function reached in place fails before it waits
//! (`CallContext::may_wait`), and the call runs again on a script thread — it cannot have
//! done anything outside the sandbox before it got there.

use rhai::AST;
use std::collections::{HashMap, HashSet};

/// Calls the script makes that cannot be followed statically.
const DYNAMIC_CALLS: &[&str] = &["call", "Fn", "eval"];

/// The `(name, arity)` of every function of `ast` that can run in place: none of its calls
/// may reach a host function in `waiting`.
pub fn in_place_functions(ast: &AST, waiting: &[&str]) -> HashSet<(String, usize)> {
    let waits = |called: &str| {
        waiting.contains(&called) || DYNAMIC_CALLS.contains(&called) || called.contains("::")
    };
    let mut module_in_place: HashSet<String> = HashSet::new();
    for import in super::calls::imports(ast) {
        if let Some(module) = import
            .name
            .and_then(|name| super::calls::embedded(ast, &name))
        {
            let module = AST::new_from_module(module);
            for (name, _) in in_place_within(&module, &waits) {
                module_in_place.insert(format!("{}::{name}", import.alias));
            }
        }
    }
    in_place_within(ast, &|called| {
        waits(called) && !module_in_place.contains(called)
    })
}

/// The functions of `ast` that can run in place, where a call to a name waits if `waits`
/// says so or it is a function of `ast` that waits.
fn in_place_within(ast: &AST, waits: &dyn Fn(&str) -> bool) -> HashSet<(String, usize)> {
    let functions: Vec<(String, usize)> = ast
        .iter_functions()
        .map(|f| (f.name.to_string(), f.params.len()))
        .collect();
    let calls: HashMap<(String, usize), HashSet<String>> = functions
        .iter()
        .map(|(name, arity)| {
            // (`clone_functions_only_filtered` keeps every function when it starts empty.)
            let mut body = ast.clone();
            body.clear_statements()
                .retain_functions(|_, _, n, a| n == name && a == *arity);
            ((name.clone(), *arity), names_called(&body))
        })
        .collect();
    // Script functions are called by name: a name waits if any arity of it does.
    let mut waiting: HashSet<String> = HashSet::new();
    loop {
        let before = waiting.len();
        for ((name, _), called) in &calls {
            let reaches_wait = called.iter().any(|c| waiting.contains(c) || waits(c));
            if reaches_wait {
                waiting.insert(name.clone());
            }
        }
        if waiting.len() == before {
            break;
        }
    }
    functions
        .into_iter()
        .filter(|(name, _)| !waiting.contains(name))
        .collect()
}

/// Every function name `ast` calls or holds a pointer to.
fn names_called(ast: &AST) -> HashSet<String> {
    let mut names = HashSet::new();
    super::calls::each_call(ast, |call| {
        names.insert(match call.module {
            Some(module) => format!("{module}::{}", call.name),
            None => call.name.to_string(),
        });
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAITING: &[&str] = &["http", "kv_get"];

    fn in_place(source: &str) -> Vec<String> {
        let engine = rhai::Engine::new();
        let ast = engine.compile(source).expect("compiles");
        let mut names: Vec<String> = in_place_functions(&ast, WAITING)
            .into_iter()
            .map(|(name, arity)| format!("{name}/{arity}"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_function_that_only_computes_runs_in_place() {
        let names = in_place(
            r#"
            fn urn() { "urn:x" }
            fn on_request(req) { req.path = req.path + urn(); req }
            fn get_user(id) { http(#{ method: "GET", path: id }) }
            "#,
        );
        assert_eq!(names, ["on_request/1", "urn/0"]);
    }

    #[test]
    fn waiting_is_followed_through_script_functions_and_method_calls() {
        let names = in_place(
            r#"
            fn fetch(id) { kv_get(id) }
            fn middle(id) { id.fetch() }
            fn outer(id) { middle(id) }
            fn pure(x) { x + 1 }
            "#,
        );
        assert_eq!(names, ["pure/1"]);
    }

    #[test]
    fn closures_and_function_pointers_count_as_calls_to_their_target() {
        let names = in_place(
            r#"
            fn fetch(id) { http(#{ path: id }) }
            fn by_pointer(ids) { ids.map(Fn("fetch")) }
            fn by_closure(ids) { ids.map(|id| http(#{ path: id })) }
            fn pure_closure(ids) { ids.map(|id| id + 1) }
            "#,
        );
        let named: Vec<&String> = names.iter().filter(|n| !n.starts_with("anon")).collect();
        assert_eq!(named, ["pure_closure/1"]);
        // The closures themselves: one waits, one does not.
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn calls_that_cannot_be_followed_never_run_in_place() {
        let names = in_place(
            r#"
            fn named(name) { call(Fn(name), 1) }
            fn pointer(f) { f.call(1) }
            "#,
        );
        assert!(names.is_empty(), "{names:?}");
    }
}
