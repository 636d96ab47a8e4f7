//! The host API: the functions an adapter script can call.
//!
//! Everything that reaches outside the sandbox goes through here, and through the current
//! [`CallContext`](super::context::CallContext), so the host — not the script — enforces the
//! tenant's allow-list, timeouts, retries, token caching and metrics.

mod answers;
mod html;
mod http;
mod index;
mod json;
mod kv;
mod locks;
mod log;
mod mapping;
mod paging;
mod phone;
mod random;

pub(crate) use random::uuid_v4;
mod scim;

pub use phone::parse_region;
pub use scim::PatchHandle;

pub fn register(engine: &mut rhai::Engine) {
    answers::register(engine);
    html::register(engine);
    http::register(engine);
    index::register(engine);
    json::register(engine);
    kv::register(engine);
    locks::register(engine);
    log::register(engine);
    mapping::register(engine);
    paging::register(engine);
    phone::register(engine);
    random::register(engine);
    scim::register(engine);
}

/// The host functions that wait (on HTTP, the store or a lock): a script function that can
/// reach none of them runs in place (`super::placement`). Each one calls
/// `CallContext::may_wait` (or `wait`) before it waits, so one missing here costs a second
/// run of the call on a script thread, never a blocked worker.
pub const WAITING: &[&str] = &[
    "http",
    "http_get",
    "http_post",
    "http_delete",
    "index_value",
    "kv_get",
    "kv_set",
    "kv_remove",
    "kv_update",
    "lock_users",
    "native_page",
    "native_list",
];

/// Shorthand for host functions' results.
type HostResult<T> = Result<T, Box<rhai::EvalAltResult>>;
