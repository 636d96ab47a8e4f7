//! scimitar: a SCIM 2.0 gateway. Entra ID (or any SCIM client) in front; for each tenant a
//! sandboxed Rhai adapter turns SCIM calls into the target application's own API.
//!
//! The request path, module by module (see ARCHITECTURE.md):
//! [`front`] (pingora front door) → [`tenant`] (route) → [`auth`] → [`front::body`] limits →
//! [`scim_api`] (SCIM front, with the protocol core in `scimitar-scim`) → [`adapter`]
//! (Rhai, host API) → [`upstream`] (the target's API) → answer → [`metrics`]. What fails is a
//! typed [`failure::Failure`] up to the front door, which answers, counts and logs it.

pub mod adapter;
pub mod admin;
pub mod auth;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod directory;
pub mod failure;
pub mod front;
pub mod gateway;
pub mod logging;
pub mod metrics;
pub mod ordering;
pub mod provisioning;
pub mod proxy;
pub mod public_url;
pub mod reload;
pub mod scim_api;
pub mod server;
pub mod store;
pub mod tenant;
pub mod upstream;
