//! `log_info(msg)`, `log_warn(msg)`, `log_error(msg)`: script logs, tagged with the tenant.

use super::HostResult;
use crate::adapter::context;
use rhai::Engine;

pub fn register(engine: &mut Engine) {
    engine.register_fn("log_info", |msg: &str| -> HostResult<()> {
        let ctx = context::current()?;
        tracing::info!(target: "scimitar::script", tenant = %ctx.tenant, "{msg}");
        Ok(())
    });
    engine.register_fn("log_warn", |msg: &str| -> HostResult<()> {
        let ctx = context::current()?;
        tracing::warn!(target: "scimitar::script", tenant = %ctx.tenant, "{msg}");
        Ok(())
    });
    engine.register_fn("log_error", |msg: &str| -> HostResult<()> {
        let ctx = context::current()?;
        tracing::error!(target: "scimitar::script", tenant = %ctx.tenant, "{msg}");
        Ok(())
    });
}
