//! How many provisioning log entries a second the store takes, written as the gateway's log
//! writer writes them (batches of 500 in one transaction each), into a fresh SQLite file and
//! into PostgreSQL. Prints one JSON line per store; `scripts/bench` puts it in BENCHMARKS.md.
//! Usage: log_throughput --entries 100000 [--postgres postgres://…]

use clap::Parser;
use scimitar::provisioning::{Entry, TargetCall};
use scimitar::store::Store;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// A PostgreSQL database to measure as well (entries go to a tenant of this run's own,
    /// removed afterwards).
    #[arg(long)]
    postgres: Option<String>,
}

const BATCH: usize = 500;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("log.db").display());
    let tenant = format!("bench-{}", std::process::id());
    let mut stores = vec![("sqlite", sqlite)];
    if let Some(url) = args.postgres {
        stores.push(("postgres", url));
    }
    for (kind, url) in stores {
        let store = runtime.block_on(Store::open(&url))?;
        let entries: Vec<Entry> = (0..args.entries).map(|i| entry(&tenant, i)).collect();
        let started = Instant::now();
        for batch in entries.chunks(BATCH) {
            runtime.block_on(store.insert_log(batch))?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let bytes = match kind {
            "sqlite" => std::fs::metadata(dir.path().join("log.db"))?.len(),
            _ => 0,
        };
        println!(
            "{}",
            serde_json::json!({
                "store": kind,
                "entries": args.entries,
                "seconds": seconds,
                "entries_per_sec": args.entries as f64 / seconds,
                "bytes_per_entry": (bytes > 0).then(|| bytes as f64 / args.entries as f64),
            })
        );
        if let Store::Postgres(pool) = &store {
            runtime.block_on(
                sqlx::query("DELETE FROM provisioning_log WHERE tenant = $1")
                    .bind(&tenant)
                    .execute(pool),
            )?;
        }
    }
    Ok(())
}

/// An entry as a typical Entra request leaves it: a match filter with one target call.
fn entry(tenant: &str, i: usize) -> Entry {
    Entry {
        at: scimitar::provisioning::now(),
        tenant: tenant.to_string(),
        resource: "User".into(),
        operation: "list".into(),
        scim_id: None,
        subject: Some(format!("user{i}@contoso.com")),
        status: 200,
        outcome: "success".into(),
        detail: None,
        target_calls: vec![TargetCall {
            method: "GET".into(),
            target: "api.example.com/v1/users".into(),
            status: Some(200),
            latency_ms: 3.2,
        }],
        duration_ms: 4.1,
    }
}
