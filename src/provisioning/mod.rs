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
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Entries waiting for the writer; past this, new entries are dropped (and counted) rather
/// than slowing requests down. (A few seconds of Entra's fastest pace, a few MB.)
const QUEUE: usize = 20_000;
/// Most entries written in one transaction.
const BATCH: usize = 2_000;
/// How long the writer lets entries gather after the first one of a batch: at any real
/// rate a transaction carries hundreds of entries, not one per request.
const LINGER: Duration = Duration::from_millis(250);
/// How often the log's age and size are brought back within the retention.
const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// The target calls of one request, shared by every script call it makes.
pub type CallLog = Arc<Mutex<Vec<TargetCall>>>;

/// How long entries are kept, and how much room they may take.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_age: Duration,
    /// The most bytes the log's table and index may take in the store; the oldest entries
    /// go first.
    pub max_bytes: u64,
}

enum Message {
    Entry(Entry),
    /// Answered once every entry queued before it is stored.
    Flush(oneshot::Sender<()>),
}

/// The sending side, cloned into every request's path.
#[derive(Clone)]
pub struct ProvisioningLog {
    sender: Option<mpsc::Sender<Message>>,
}

impl ProvisioningLog {
    /// A log that records nothing (`[provisioning_log] enabled = false`, or `check`).
    pub fn disabled() -> Self {
        Self { sender: None }
    }

    /// Starts the writer on `runtime`.
    pub fn start(store: Store, retention: Retention, runtime: &tokio::runtime::Handle) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        runtime.spawn(write_batches(store, retention, receiver));
        Self {
            sender: Some(sender),
        }
    }

    /// Hands an entry to the writer without waiting; a full queue drops it (counted).
    pub fn record(&self, entry: Entry) {
        let Some(sender) = &self.sender else { return };
        if sender.try_send(Message::Entry(entry)).is_err() {
            crate::metrics::PROVISIONING_LOG_DROPPED.inc();
        }
    }

    /// Waits until every entry recorded so far is stored (or was dropped): at shutdown, so
    /// that the last requests are not missing from the log.
    pub async fn flush(&self) {
        let Some(sender) = &self.sender else { return };
        let (done, stored) = oneshot::channel();
        if sender.send(Message::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }
}

async fn write_batches(store: Store, retention: Retention, mut receiver: mpsc::Receiver<Message>) {
    let mut messages = Vec::with_capacity(BATCH);
    let mut next_retention = Instant::now();
    loop {
        // Sleep until the first message (or until retention is due), then let a batch gather
        // for LINGER without waiting on the queue: a receiver that waits is woken by every
        // entry, one wake-up of this thread per request.
        let first = tokio::select! {
            message = receiver.recv() => message,
            _ = tokio::time::sleep_until(next_retention) => {
                enforce(&store, retention).await;
                next_retention = Instant::now() + RETENTION_EVERY;
                continue;
            }
        };
        let Some(first) = first else { return };
        let wants_flush = matches!(first, Message::Flush(_));
        messages.push(first);
        if !wants_flush {
            tokio::time::sleep(LINGER).await;
        }
        // Everything queued by now, a transaction of up to BATCH entries at a time.
        loop {
            while messages.len() < BATCH {
                match receiver.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
            let full = messages.len() >= BATCH;
            store_batch(&store, &mut messages).await;
            if !full {
                break;
            }
        }
    }
}

/// Stores the entries among `messages` in one transaction, then answers the flushes.
async fn store_batch(store: &Store, messages: &mut Vec<Message>) {
    let mut flushed = Vec::new();
    let entries: Vec<Entry> = messages
        .drain(..)
        .filter_map(|message| match message {
            Message::Entry(entry) => Some(entry),
            Message::Flush(done) => {
                flushed.push(done);
                None
            }
        })
        .collect();
    if !entries.is_empty() {
        if let Err(error) = store.insert_log(&entries).await {
            tracing::error!(%error, entries = entries.len(), "provisioning log entries could not be stored");
            crate::metrics::PROVISIONING_LOG_DROPPED.inc_by(entries.len() as u64);
        }
    }
    for done in flushed {
        let _ = done.send(());
    }
}

/// Removes what is older than the retention, then the oldest entries while the log takes
/// more room than it may.
async fn enforce(store: &Store, retention: Retention) {
    let cutoff = now_minus(retention.max_age);
    if let Err(error) = store.prune_log(&cutoff).await {
        tracing::warn!(%error, "old provisioning log entries could not be removed");
    }
    match store.shrink_log(retention.max_bytes).await {
        Ok(0) => {}
        Ok(removed) => {
            tracing::info!(
                removed,
                max_bytes = retention.max_bytes,
                "the provisioning log reached its size limit; the oldest entries were removed"
            );
        }
        Err(error) => {
            tracing::warn!(%error, "the provisioning log could not be kept within its size limit")
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

    /// Every entry recorded is stored — in a few large transactions, not one per entry —
    /// and a flush returns only once they all are.
    #[tokio::test]
    async fn every_recorded_entry_is_stored_by_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let store = Store::open(&url.parse().unwrap()).await.unwrap();
        let retention = Retention {
            max_age: Duration::from_secs(86_400),
            max_bytes: u64::MAX,
        };
        let log =
            ProvisioningLog::start(store.clone(), retention, &tokio::runtime::Handle::current());
        let entry = |i: usize| Entry {
            at: now(),
            tenant: "t".into(),
            resource: "Users".into(),
            operation: "get".into(),
            scim_id: Some(format!("u{i}")),
            subject: None,
            status: 200,
            outcome: "success".into(),
            detail: None,
            target_calls: Vec::new(),
            duration_ms: 1.0,
        };
        for i in 0..5_000 {
            log.record(entry(i));
        }
        log.flush().await;
        let all = crate::store::LogFilter {
            limit: 10_000,
            ..Default::default()
        };
        let stored = store.query_log(&all).await.unwrap();
        assert_eq!(stored.len(), 5_000);
        assert_eq!(stored[0].scim_id.as_deref(), Some("u4999"), "newest first");
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
