//! `scimitar log`: the provisioning log as a table or as JSON lines.

use super::Entry;
use crate::store::{LogFilter, Store};
use std::io::Write;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Table,
    Json,
}

pub fn print(
    store_url: &crate::config::StoreUrl,
    filter: &LogFilter,
    format: LogFormat,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let entries =
        runtime.block_on(async { Store::open(store_url).await?.query_log(filter).await })?;
    let mut out = std::io::stdout().lock();
    match format {
        LogFormat::Json => {
            for entry in &entries {
                writeln!(out, "{}", serde_json::to_string(entry)?)?;
            }
        }
        LogFormat::Table => {
            writeln!(
                out,
                "{:<24} {:<16} {:<8} {:<9} {:>6}  {:<30} {:<24} TARGET CALLS / DETAIL",
                "TIME", "TENANT", "RESOURCE", "OPERATION", "STATUS", "SUBJECT", "SCIM ID"
            )?;
            for entry in &entries {
                writeln!(out, "{}", row(entry))?;
            }
        }
    }
    Ok(())
}

fn row(e: &Entry) -> String {
    let calls: Vec<String> = e
        .target_calls
        .iter()
        .map(|c| {
            format!(
                "{} {} → {} ({:.0} ms)",
                c.method,
                c.target,
                c.status.map_or("no answer".into(), |s| s.to_string()),
                c.latency_ms
            )
        })
        .collect();
    let mut tail = calls.join("; ");
    if let Some(detail) = &e.detail {
        if !tail.is_empty() {
            tail.push_str(" | ");
        }
        tail.push_str(detail);
    }
    format!(
        "{:<24} {:<16} {:<8} {:<9} {:>6}  {:<30} {:<24} {}",
        e.at,
        e.tenant,
        e.resource,
        e.operation,
        e.status,
        e.subject.as_deref().unwrap_or("-"),
        e.scim_id.as_deref().unwrap_or("-"),
        tail
    )
}
