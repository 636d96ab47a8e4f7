//! The provisioning log at sustained load, through the gateway's own writer: entries are
//! recorded at `--rate` a second (as requests record them: an enqueue, never a wait) into a
//! fresh SQLite file and into PostgreSQL; then the bytes an entry takes, and what the size
//! limit leaves of a log that outgrew it. Prints one JSON line per store; `scripts/bench`
//! puts them in BENCHMARKS.md.
//! Usage: log_throughput --entries 200000 --rate 25000 [--postgres postgres://…]

use clap::Parser;
use scimitar::provisioning::{Entry, ProvisioningLog, Retention, TargetCall};
use scimitar::store::Store;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 200_000)]
    entries: usize,
    /// Entries offered a second.
    #[arg(long, default_value_t = 25_000)]
    rate: usize,
    /// The size limit applied afterwards, in MiB.
    #[arg(long, default_value_t = 16)]
    max_size_mb: u64,
    /// A PostgreSQL database to measure as well (entries go to a tenant of this run's own,
    /// removed afterwards).
    #[arg(long)]
    postgres: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("log.db");
    let sqlite = format!("sqlite://{}", file.display());
    let tenant = format!("bench-{}", std::process::id());
    let mut stores = vec![("sqlite", sqlite)];
    if let Some(url) = &args.postgres {
        stores.push(("postgres", url.clone()));
    }
    for (kind, url) in stores {
        let store = runtime.block_on(Store::open(&url.parse()?))?;
        let retention = Retention {
            max_age: Duration::from_secs(86_400),
            max_bytes: u64::MAX,
        };
        let log = ProvisioningLog::start(store.clone(), retention, runtime.handle());
        let dropped_before = scimitar::metrics::PROVISIONING_LOG_DROPPED.get();
        let started = Instant::now();
        runtime.block_on(offer(&log, &tenant, args.entries, args.rate));
        runtime.block_on(log.flush());
        let seconds = started.elapsed().as_secs_f64();
        let dropped = scimitar::metrics::PROVISIONING_LOG_DROPPED.get() - dropped_before;
        let bytes = runtime.block_on(store.log_bytes())?;
        let limit = args.max_size_mb * 1024 * 1024;
        let removed = runtime.block_on(store.shrink_log(limit))?;
        let bytes_after = runtime.block_on(store.log_bytes())?;
        let file_bytes = (kind == "sqlite").then(|| std::fs::metadata(&file).map(|m| m.len()));
        println!(
            "{}",
            serde_json::json!({
                "store": kind,
                "entries": args.entries,
                "offered_per_sec": args.rate,
                "seconds": seconds,
                "stored_per_sec": (args.entries as u64 - dropped) as f64 / seconds,
                "dropped": dropped,
                "bytes_per_entry": bytes as f64 / args.entries as f64,
                "max_size_mb": args.max_size_mb,
                "removed_by_size_limit": removed,
                "log_mb_after": bytes_after as f64 / 1048576.0,
                "file_mb_after": file_bytes.transpose()?.map(|b| b as f64 / 1048576.0),
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

/// Records `entries` at `rate` a second, a millisecond's share at a time.
async fn offer(log: &ProvisioningLog, tenant: &str, entries: usize, rate: usize) {
    let per_tick = (rate / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0;
    while sent < entries {
        tick.tick().await;
        for i in sent..(sent + per_tick).min(entries) {
            log.record(entry(tenant, i));
        }
        sent += per_tick;
    }
}

/// An entry as a typical Entra request leaves it: a match filter with one target call.
fn entry(tenant: &str, i: usize) -> Entry {
    Entry {
        at: scimitar::provisioning::now(),
        tenant: tenant.to_string(),
        resource: "Users".into(),
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
