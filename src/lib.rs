//! scimitar: a SCIM 2.0 gateway. Entra ID (or any SCIM client) in front; for each tenant a
//! sandboxed Rhai adapter turns SCIM calls into the target application's own API.
//!
//! The request path, module by module (see ARCHITECTURE.md):
//! `front` (pingora front door) → `tenant` (route) → `auth` → `body` limits →
//! `scim_api` (SCIM front, with the protocol core in `scimitar-scim`) → `adapter`
//! (Rhai, host API) → `upstream` (the target's API) → answer → `metrics`. What fails is a
//! typed `failure::Failure` up to the front door, which answers, counts and logs it.
//!
//! The public face is what the binary and the benchmarks use: `server` (serve, check), `config`,
//! `store` and `provisioning` (the `log` command), `auth` (`token`), `kit` (`adapter`), `logging`, `metrics`,
//! and the `demo`; every other module is the gateway's own.

mod adapter;
mod admin;
pub mod auth;
mod body;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
mod directory;
mod failure;
mod front;
mod gateway;
pub mod kit;
pub mod logging;
pub mod metrics;
mod ordering;
pub mod provisioning;
mod proxy;
mod public_url;
mod reload;
mod scim_api;
pub mod server;
pub mod store;
mod tenant;
mod tls;
mod upstream;
