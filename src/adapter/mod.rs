//! Adapter scripts: compiling them, knowing what they implement, and running them.
//!
//! Threading: pingora's workers must never block, yet a script is synchronous code that
//! waits on HTTP. So each script call runs on one of the gateway's script threads
//! ([`threads`]), each with a runtime and HTTP client of its own that the host's `http(...)`
//! drives in place; the pingora worker just awaits the call's answer. The store, the
//! provisioning log's writer and the lock table live on the *I/O runtime* ([`ScriptHost::io`]).

mod calls;
mod context;
mod convert;
mod engine;
mod host;
mod listing;
mod modules;
mod placement;
mod share;
mod threads;

pub use context::{CallContext, Projection};
pub use convert::to_dynamic as json_to_dynamic;
pub(crate) use host::uuid_v4;
pub use host::{parse_region, PatchHandle};
pub use listing::Listing;
pub use share::{ScriptShare, ScriptSlot};
pub use threads::block_on_http;

use crate::failure::{Failure, Kind};
use anyhow::Context as _;
use rhai::{CallFnOptions, Dynamic, Engine, Scope, Stmt, AST};
use scimitar_scim::ScimError;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A compiled adapter script and the inventory of functions it defines.
pub struct Adapter {
    ast: AST,
    functions: HashSet<(String, usize)>,
    /// The functions that never wait, which run in place (see [`placement`]).
    in_place: HashSet<(String, usize)>,
    /// SHA-256 of the source: one compiled adapter per distinct script content (and
    /// modules).
    source_hash: [u8; 32],
    /// The modules it imports, compiled into it.
    modules: modules::ModuleDigests,
}

impl Adapter {
    /// A script that defines nothing: a proxy tenant without hooks.
    pub fn empty(engine: &Engine) -> Self {
        Self {
            ast: engine.compile("").unwrap_or_default(),
            functions: HashSet::new(),
            in_place: HashSet::new(),
            source_hash: source_hash(""),
            modules: modules::ModuleDigests::new(),
        }
    }

    /// Compiles a script's source (read from `path`) with the modules it imports from its
    /// folder. Errors name the file, line and column.
    pub fn compile_source(engine: &Engine, path: &Path, source: &str) -> anyhow::Result<Self> {
        let (ast, modules) =
            modules::resolving_in(folder_of(path), || modules::compile(engine, path, source));
        let ast = ast.map_err(anyhow::Error::msg)?;
        if let Some(statement) = ast
            .statements()
            .iter()
            .find(|s| !matches!(s, Stmt::Import(..)))
        {
            let at = statement.position();
            anyhow::bail!(
                "{}:{}:{}: a statement outside a function never runs; only `import` may stand \
                 there (a constant is a function: `fn base() {{ \"/v1\" }}`)",
                path.display(),
                at.line().unwrap_or(0),
                at.position().unwrap_or(0)
            );
        }
        let functions = ast
            .iter_functions()
            .map(|f| (f.name.to_string(), f.params.len()))
            .collect();
        let in_place = placement::in_place_functions(&ast, host::WAITING);
        Ok(Self {
            ast,
            functions,
            in_place,
            source_hash: source_hash(source),
            modules,
        })
    }

    /// Whether the script defines `name` taking `arity` parameters.
    pub fn defines(&self, name: &str, arity: usize) -> bool {
        self.functions.contains(&(name.to_string(), arity))
    }

    /// Whether `name` taking `arity` parameters never waits, and so runs in place.
    pub fn runs_in_place(&self, name: &str, arity: usize) -> bool {
        self.in_place.contains(&(name.to_string(), arity))
    }
}

/// Compiled adapters by script content, so that every tenant whose script reads the same
/// shares one compiled copy (a thousand tenants of one target compile once), and a reload
/// recompiles only scripts whose content changed.
pub struct ScriptCache<'e> {
    engine: &'e Engine,
    /// By the script's hash: its compiled forms, one per set of modules it was compiled with.
    compiled: std::collections::HashMap<[u8; 32], Vec<Arc<Adapter>>>,
}

impl<'e> ScriptCache<'e> {
    /// A cache that already holds `known` (the running tenants' adapters, on a reload).
    pub fn new(engine: &'e Engine, known: impl IntoIterator<Item = Arc<Adapter>>) -> Self {
        let mut compiled: std::collections::HashMap<_, Vec<_>> = Default::default();
        for adapter in known {
            compiled
                .entry(adapter.source_hash)
                .or_default()
                .push(adapter);
        }
        Self { engine, compiled }
    }

    /// The compiled script at `path`, compiled now if its content, or that of a module it
    /// imports from its folder, is new.
    pub fn get(&mut self, path: &Path) -> anyhow::Result<Arc<Adapter>> {
        let source = read_script(path)?;
        let folder = folder_of(path);
        let same = self.compiled.entry(source_hash(&source)).or_default();
        if let Some(adapter) = same
            .iter()
            .find(|a| modules::unchanged_in(folder, &a.modules))
        {
            return Ok(adapter.clone());
        }
        let adapter = Arc::new(Adapter::compile_source(self.engine, path, &source)?);
        same.push(adapter.clone());
        Ok(adapter)
    }

    /// The script of a proxy tenant without hooks.
    pub fn empty(&mut self) -> Arc<Adapter> {
        let same = self.compiled.entry(source_hash("")).or_default();
        if same.is_empty() {
            same.push(Arc::new(Adapter::empty(self.engine)));
        }
        same[0].clone()
    }
}

fn read_script(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read adapter script {}", path.display()))
}

/// The files a change to which may change the script at `path`: itself and every `.rhai`
/// file beside it (the modules it may import).
pub fn script_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(folder_of(path)) {
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "rhai") && p != path),
        );
    }
    files
}

/// The folder of the script at `path` (where its modules are).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

fn source_hash(source: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(source.as_bytes()).into()
}

/// The shared engine, the script threads, and the runtime of the store's I/O.
pub struct ScriptHost {
    engine: Arc<Engine>,
    threads: threads::ScriptThreads,
    io: tokio::runtime::Runtime,
}

impl ScriptHost {
    /// At most `script_threads` script calls run at once; their HTTP clients trust `roots`.
    pub fn new(
        limits: &crate::config::Limits,
        script_threads: usize,
        roots: crate::upstream::TrustedRoots,
    ) -> anyhow::Result<Self> {
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("scimitar-io")
            .enable_all()
            .build()
            .context("cannot start the I/O runtime")?;
        Ok(Self {
            engine: Arc::new(engine::build(limits)),
            threads: threads::ScriptThreads::new(script_threads, roots),
            io,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The runtime of the store's pool, the provisioning log's writer and the lock table;
    /// host functions reach the store through it.
    pub fn io(&self) -> tokio::runtime::Handle {
        self.io.handle().clone()
    }

    /// Runs `function(args...)` of `adapter` on a script thread, holding `slot` of the
    /// tenant's share until it returns, and answers its result as JSON.
    pub async fn call(
        &self,
        adapter: Arc<Adapter>,
        ctx: CallContext,
        slot: ScriptSlot,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Result<serde_json::Value, Failure> {
        let engine = self.engine.clone();
        let name = function.to_string();
        self.threads
            .run(move || {
                let _slot = slot;
                run(&engine, &adapter, Arc::new(ctx), &name, args)
            })
            .await
            .map_err(|_| {
                Failure::script_fault(ScimError::internal("the adapter call was cancelled"))
            })?
    }

    /// Runs `function(args...)` right here, for a function that never waits
    /// ([`Adapter::runs_in_place`]); `None` if it reached a host function that waits after
    /// all, and must run on a script thread instead.
    pub fn call_in_place(
        &self,
        adapter: &Adapter,
        mut ctx: CallContext,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Option<Result<serde_json::Value, Failure>> {
        ctx.in_place = true;
        let ctx = Arc::new(ctx);
        let answer = run(&self.engine, adapter, ctx.clone(), function, args);
        (!ctx.needs_thread()).then_some(answer)
    }
}

/// One script call on this thread, with its context, metrics and logging.
fn run(
    engine: &Engine,
    adapter: &Adapter,
    ctx: Arc<CallContext>,
    function: &str,
    args: Vec<Dynamic>,
) -> Result<serde_json::Value, Failure> {
    let tenant = ctx.tenant.clone();
    let started = Instant::now();
    let _guard = context::enter(ctx);
    // The only statements outside functions are imports (see `Adapter::compile_source`),
    // which must run for a call to reach its modules.
    let options = CallFnOptions::new().eval_ast(!adapter.ast.statements().is_empty());
    let result = engine
        .call_fn_with_options::<Dynamic>(options, &mut Scope::new(), &adapter.ast, function, args)
        .map_err(|e| (convert::script_failure(function, &e), e))
        .and_then(|value| {
            convert::to_json(&value).map_err(|e| {
                let failure = Failure::script_fault(ScimError::internal(format!(
                    "{function} returned a value that is not JSON"
                )));
                (failure, e)
            })
        });
    crate::metrics::SCRIPT_DURATION
        .with_label_values(&[&tenant, function])
        .observe(started.elapsed().as_secs_f64());
    result.map_err(|(failure, raw)| {
        if failure.kind() == Kind::ScriptFault {
            crate::metrics::SCRIPT_ERRORS.with_label_values(&[&tenant, function]).inc();
            tracing::error!(%tenant, function, error = %raw, "adapter script failed");
        } else {
            let error = failure.error();
            tracing::info!(%tenant, function, kind = failure.kind().name(), status = error.status, detail = %error.detail, "adapter answered an error");
        }
        failure
    })
}
