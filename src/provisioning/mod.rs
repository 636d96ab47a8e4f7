//! The provisioning log: one entry per SCIM operation — who, what, which target calls with
//! what outcome — so that an operator can answer "did Entra's last cycle reach the app, and
//! if not, why?" with `scimitar log`.
//!
//! Requests only hand their entry to a bounded channel; a background writer stores entries
//! in batches and enforces the retention, so the request path never waits on the store.
//! Entries never hold tokens or secrets: target calls are recorded as method, path, status
//! and latency (no headers, no bodies, no query strings).

mod print;

pub use print::{print, LogFormat};

use crate::store::Store;
pub use crate::store::{format_time, now, Entry, TargetCall};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Entries waiting for the writer; past this, new entries are dropped (and counted) rather
/// than slowing requests down.
const QUEUE: usize = 10_000;
/// Most entries written in one statement batch.
const BATCH: usize = 500;
/// How often the writer flushes a partial batch.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The target calls of one request, shared by every script call it makes.
pub type CallLog = Arc<Mutex<Vec<TargetCall>>>;

/// The sending side, cloned into every request's path.
#[derive(Clone)]
pub struct ProvisioningLog {
    sender: Option<mpsc::Sender<Entry>>,
}

impl ProvisioningLog {
    /// A log that records nothing (`[provisioning_log] enabled = false`, or `check`).
    pub fn disabled() -> Self {
        Self { sender: None }
    }

    /// Starts the writer on `runtime`.
    pub fn start(store: Store, retention: Duration, runtime: &tokio::runtime::Handle) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        runtime.spawn(write_batches(store, retention, receiver));
        Self {
            sender: Some(sender),
        }
    }

    /// Hands an entry to the writer without waiting.
    pub fn record(&self, entry: Entry) {
        let Some(sender) = &self.sender else { return };
        if sender.try_send(entry).is_err() {
            crate::metrics::PROVISIONING_LOG_DROPPED.inc();
        }
    }
}

async fn write_batches(store: Store, retention: Duration, mut receiver: mpsc::Receiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_prune = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        let closed = tokio::select! {
            received = receiver.recv() => match received {
                Some(entry) => { batch.push(entry); false }
                None => true,
            },
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
        };
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(error) = store.insert_log(&batch).await {
                tracing::error!(%error, entries = batch.len(), "provisioning log entries could not be stored");
                crate::metrics::PROVISIONING_LOG_DROPPED.inc_by(batch.len() as u64);
            }
            batch.clear();
        }
        if last_prune.elapsed() > Duration::from_secs(3600) {
            let cutoff = now_minus(retention);
            if let Err(error) = store.prune_log(&cutoff).await {
                tracing::warn!(%error, "old provisioning log entries could not be removed");
            }
            last_prune = std::time::Instant::now();
        }
        if closed {
            return;
        }
    }
}

fn now_minus(age: Duration) -> String {
    format_time(time::OffsetDateTime::now_utc() - age)
}

/// Reads `1h`, `30m`, `7d`, `90s` or an RFC 3339 time into the fixed-width form.
pub fn parse_since(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    let unit = |suffix: char, secs: u64| -> Option<u64> {
        text.strip_suffix(suffix)?
            .parse::<u64>()
            .ok()
            .map(|n| n * secs)
    };
    let age = unit('s', 1)
        .or(unit('m', 60))
        .or(unit('h', 3600))
        .or(unit('d', 86_400));
    if let Some(secs) = age {
        return Ok(now_minus(Duration::from_secs(secs)));
    }
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            anyhow::anyhow!("--since takes an age (90s, 30m, 1h, 7d) or an RFC 3339 time")
        })?;
    Ok(format_time(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_fixed_width_rfc3339_utc() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_000_000).unwrap();
        assert_eq!(format_time(t), "2026-11-18T11:06:40.123Z");
        assert_eq!(
            format_time(time::OffsetDateTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn since_takes_ages_and_times() {
        assert_eq!(
            parse_since("2026-11-18T12:06:40+01:00").unwrap(),
            "2026-11-18T11:06:40.000Z"
        );
        assert!(parse_since("1h").unwrap() < now());
        assert!(parse_since("yesterday").is_err());
    }
}
