//! Testbeds: faithful local simulations of the native REST APIs that scimitar's adapters
//! talk to, with in-memory state. The gateway's integration tests, its `demo` command and its
//! benchmarks run against them, because none of the real applications can be reached here.
//!
//! Every testbed, beyond its own API (see `targets.md`), serves a control surface that is never
//! subject to faults:
//! - `GET /_testbed/state`: the whole state as JSON, plus `requests` (how many requests reached
//!   each native route, keyed `"METHOD /route/{template}"`) and `faults` (what is still pending);
//! - `GET /_testbed/requests`: the request counts alone, `{"total", "by_route"}` (cheap at any
//!   directory size);
//! - `POST /_testbed/reset`: forget all data, request counts and pending faults, keep the
//!   configuration (credentials, organisation);
//! - `POST /_testbed/faults`, `DELETE /_testbed/faults`: queue or clear injected faults;
//! - `POST /_testbed/seed`: add accounts that existed before Entra (see `seed.rs`).
//!
//! A testbed runs as tasks on the caller's tokio runtime and stops when its [`Testbed`] handle is
//! shut down or dropped.

pub mod acme_hr;
mod control;
mod extract;
mod faults;
pub mod maptician;
pub mod mediusflow;
pub mod meta_networks;
pub mod mx3;
mod random;
mod registry;
pub mod rhombus;
mod seed;
mod server;
mod store;
mod tokens;

pub use registry::Target;
pub use server::Testbed;
