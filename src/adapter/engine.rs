//! The one sandboxed Rhai engine shared by every tenant.
//!
//! `Engine::new_raw` starts with nothing; we add Rhai's standard package (strings, arrays,
//! maps, maths, time — none of which touch the outside world) and the host API. There is no
//! file system: an `import` reads only a module beside the script, when it compiles
//! ([`super::modules`]). Every resource a script could exhaust is
//! bounded: operations, call depth, expression depth, string/array/map sizes and wall-clock
//! time (the progress callback aborts a call once its request deadline has passed).

use super::{context, host};
use crate::config::Limits;
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine};

/// How many operations run between two wall-clock checks: reading the clock on every
/// operation would cost more than the scripts themselves.
const DEADLINE_CHECK_EVERY: u64 = 1024;

pub fn build(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine.set_module_resolver(super::modules::FolderResolver);
    engine
        .set_max_operations(limits.script_max_operations)
        .set_max_call_levels(limits.script_max_call_depth)
        .set_max_expr_depths(64, 64)
        .set_max_string_size(limits.script_max_string_bytes)
        .set_max_array_size(limits.script_max_array_len)
        .set_max_map_size(limits.script_max_map_len)
        .set_max_modules(super::modules::MAX_MODULES)
        .set_strict_variables(true);
    engine.on_progress(|ops| {
        (ops % DEADLINE_CHECK_EVERY == 0 && context::deadline_passed())
            .then(|| Dynamic::from("request deadline exceeded"))
    });
    // `print` and `debug` would write to the gateway's stdout; scripts log through the host.
    engine.on_print(|text| tracing::info!(target: "scimitar::script", "{text}"));
    engine.on_debug(|text, _, pos| tracing::debug!(target: "scimitar::script", "{pos:?} {text}"));
    host::register(&mut engine);
    engine
}
