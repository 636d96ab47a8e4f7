//! The gateway's integration tests, in one binary: every test runs the real path — a
//! `scimitar` process on loopback, real testbeds speaking the targets' native APIs, a real
//! HTTP client — and checks what the target holds. The harness is `support/`, by role.

mod support;

mod adapter_kit;
mod adapter_sandbox;
mod bad_input;
mod cli;
mod entra_validator;
mod graceful_shutdown;
mod integrity;
mod kept_attributes;
mod listener_tls;
mod live_reload;
mod maptician_translate;
mod mediusflow_translate;
mod meta_networks_translate;
mod mx3_translate;
mod observability;
mod provisioning_log;
mod proxy_hooks;
mod proxy_meta_networks;
mod proxy_passthrough;
mod proxy_tls;
mod real_size;
mod rhombus_translate;
mod security;
mod tenant_limits;
mod upstream_faults;
