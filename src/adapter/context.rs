//! The context of the script call running on this thread.
//!
//! Host functions are registered once on the shared engine, yet each call must reach its own
//! tenant's upstream client, key/value namespace, settings and deadline. A script call runs
//! start to finish on one thread (a script thread, or in place on a pingora worker), so the
//! context lives in a thread-local that [`enter`] sets for exactly the duration of the call.

use crate::ordering::RequestLocks;
use crate::provisioning::CallLog;
use crate::store::Store;
use crate::upstream::UpstreamClient;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What one script call may touch.
pub struct CallContext {
    pub tenant: String,
    pub upstream: Arc<UpstreamClient>,
    pub store: Store,
    /// The tenant's adapter settings table, as Rhai sees it.
    pub settings: Arc<rhai::Map>,
    /// Parameters captured by the tenant's route template (e.g. `idp_id`).
    pub route_params: BTreeMap<String, String>,
    /// Default region for phone numbers written without a country code.
    pub default_region: Option<phonenumber::country::Id>,
    pub deadline: Instant,
    /// Where the host records the request's calls to the target (provisioning log).
    pub calls: CallLog,
    /// The I/O runtime, where the host's store and lock calls run (HTTP runs on the script
    /// thread's own runtime).
    pub io: tokio::runtime::Handle,
    /// The resource locks the request holds (`lock_users` adds to them).
    pub locks: Arc<RequestLocks>,
    /// What the client asked to be returned (`scim_requested`).
    pub projection: Projection,
    /// How fresh the tenant's directory index must be to vouch for a "not found"
    /// (`index_value`); `None` when the tenant keeps no index.
    pub index_fresh: Option<std::time::Duration>,
    /// The call runs in place on a pingora worker (see `super::placement`), which must
    /// never wait.
    pub in_place: bool,
    /// Set when a call running in place reached a host function that waits: it runs again
    /// on a script thread.
    pub needed_thread: AtomicBool,
}

impl CallContext {
    /// Fails a call running in place before it waits (the call then runs again on a script
    /// thread); the error cannot be caught by the script's `try`.
    pub fn may_wait(&self) -> Result<(), Box<rhai::EvalAltResult>> {
        if !self.in_place {
            return Ok(());
        }
        self.needed_thread.store(true, Ordering::Relaxed);
        Err(Box::new(rhai::EvalAltResult::ErrorTerminated(
            "this call waits and runs on a script thread".into(),
            rhai::Position::NONE,
        )))
    }

    /// Waits for `io` on the I/O runtime (the store, the lock table).
    pub fn wait<F: Future>(&self, io: F) -> Result<F::Output, Box<rhai::EvalAltResult>> {
        self.may_wait()?;
        Ok(self.io.block_on(io))
    }

    /// Whether the call, run in place, found it must run on a script thread.
    pub fn needs_thread(&self) -> bool {
        self.needed_thread.load(Ordering::Relaxed)
    }
}

/// The client's `attributes` and `excludedAttributes` (both empty: the default set).
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<CallContext>>> = const { RefCell::new(None) };
}

/// Makes `ctx` the current context until the guard drops.
pub fn enter(ctx: Arc<CallContext>) -> Guard {
    CURRENT.with(|c| *c.borrow_mut() = Some(ctx));
    Guard(())
}

pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// The current call's context. Host functions are only reachable from inside a call, so
/// its absence is a programming error reported as a script error, not a panic.
pub fn current() -> Result<Arc<CallContext>, Box<rhai::EvalAltResult>> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| "host function called outside of a gateway request".into())
}

/// True once the current call has run past its deadline (checked by the engine's
/// progress callback, which aborts the script).
pub fn deadline_passed() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|ctx| Instant::now() >= ctx.deadline)
    })
}
