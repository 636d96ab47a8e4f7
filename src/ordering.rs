//! Per-resource ordering: operations that write the same resource of a tenant run one after
//! another, so that adapters which read a native object, change it and write it back whole
//! (most native APIs allow nothing finer) never lose a write that ran beside them.
//!
//! A request names what it writes as lock keys (`user:<id>`, `group:<id>`, the user ids a
//! membership change touches, `user-name:<name>` for a create) and holds them until it is
//! answered. Inside one process the keys map onto a fixed table of async mutexes; with the
//! PostgreSQL store they are also PostgreSQL advisory locks, held in a transaction of their
//! own, so that replicas sharing the store order their writes too.
//!
//! Deadlock-free by construction: a request takes all its keys at once, in one global order
//! (local table slots, then advisory keys, each sorted). Keys an adapter adds while it runs
//! (`lock_users`) may break that order, so every wait is bounded: past `limits.lock_wait_secs`
//! (or the request's deadline) the request is refused with 429 and `Retry-After`, which
//! Entra retries, and the other request proceeds.

use crate::failure::{Failure, Reason};
use scimitar_scim::ScimError;
use sha2::Digest;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Slots of the in-process lock table. Two keys that share a slot wait for each other,
/// which is harmless at this size (a request holds a handful of keys).
const SLOTS: usize = 4096;

/// Seconds a refused request is told to wait: the resource is usually free by then.
const RETRY_AFTER_SECS: u64 = 1;

/// The lock tables every request of the process shares.
pub struct LockTable {
    slots: Vec<Arc<Mutex<()>>>,
    /// Advisory locks on the shared PostgreSQL store (`None` with SQLite: one process).
    shared: Option<PgPool>,
    /// Where the advisory-lock transactions run (the store's runtime).
    io: tokio::runtime::Handle,
    wait: Duration,
}

/// Why a lock could not be had: the resource stayed busy, or the store failed.
#[derive(Debug)]
pub enum LockError {
    Busy,
    Store(sqlx::Error),
}

impl LockError {
    /// The failure it answers: SCIM 429 for a busy resource, 503 for a store outage; both
    /// retried.
    pub fn to_failure(&self) -> Failure {
        match self {
            LockError::Busy => Failure::refused(
                Reason::ResourceBusy,
                ScimError::too_many_requests(
                    RETRY_AFTER_SECS,
                    "another operation on this resource is still running; retry shortly",
                ),
            ),
            LockError::Store(error) => {
                tracing::error!(%error, "the lock table's store failed");
                Failure::store_unavailable(RETRY_AFTER_SECS * 5)
            }
        }
    }
}

impl LockTable {
    /// Local ordering only (the SQLite store serves one process).
    pub fn local(wait: Duration, io: tokio::runtime::Handle) -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Arc::new(Mutex::new(()))).collect(),
            shared: None,
            io,
            wait,
        }
    }

    /// Local ordering plus advisory locks on the PostgreSQL server at `url`: a pool of its
    /// own, since every held lock set keeps one connection for as long as its request runs.
    pub async fn shared(
        url: &str,
        connections: u32,
        wait: Duration,
        io: tokio::runtime::Handle,
    ) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(wait)
            .connect_lazy(url)?;
        Ok(Self {
            shared: Some(pool),
            ..Self::local(wait, io)
        })
    }

    /// Takes every key of `tenant` in `keys`, waiting at most the configured time and never
    /// past `deadline`. The locks are held until the returned [`Held`] is dropped.
    pub async fn acquire(
        &self,
        tenant: &str,
        keys: &[String],
        deadline: Instant,
    ) -> Result<Held, LockError> {
        self.acquire_until(tenant, keys, self.until(deadline)).await
    }

    /// The same, waiting until `until` whatever the configured wait (a directory sync waits
    /// for another replica's pass as long as its request may).
    pub async fn acquire_until(
        &self,
        tenant: &str,
        keys: &[String],
        until: Instant,
    ) -> Result<Held, LockError> {
        let mut held = Held {
            slots: Vec::new(),
            slot_ids: BTreeSet::new(),
            shared: None,
            shared_keys: BTreeSet::new(),
            io: self.io.clone(),
        };
        self.extend(&mut held, tenant, keys, until).await?;
        Ok(held)
    }

    /// When a wait that must end by `deadline` gives up.
    fn until(&self, deadline: Instant) -> Instant {
        (Instant::now() + self.wait).min(deadline)
    }

    /// Adds `keys` to a held set (keys it holds already are skipped), waiting until `until`.
    async fn extend(
        &self,
        held: &mut Held,
        tenant: &str,
        keys: &[String],
        until: Instant,
    ) -> Result<(), LockError> {
        let slots: BTreeSet<usize> = keys
            .iter()
            .map(|k| slot_of(tenant, k))
            .filter(|s| !held.slot_ids.contains(s))
            .collect();
        for slot in slots {
            let left = until.saturating_duration_since(Instant::now());
            let guard = tokio::time::timeout(left, self.slots[slot].clone().lock_owned())
                .await
                .map_err(|_| LockError::Busy)?;
            held.slots.push(guard);
            held.slot_ids.insert(slot);
        }
        let Some(pool) = &self.shared else {
            return Ok(());
        };
        let advisory: Vec<i64> = keys
            .iter()
            .map(|k| advisory_key(tenant, k))
            .filter(|k| !held.shared_keys.contains(k))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if advisory.is_empty() {
            return Ok(());
        }
        let (pool, transaction) = (pool.clone(), held.shared.take());
        let result = self
            .io
            .spawn(lock_advisory(pool, transaction, advisory.clone(), until))
            .await
            .map_err(|_| LockError::Busy)?;
        let transaction = result?;
        held.shared = Some(transaction);
        held.shared_keys.extend(advisory);
        Ok(())
    }
}

/// Takes advisory locks in `transaction` (a new one when `None`), in the order given.
async fn lock_advisory(
    pool: PgPool,
    transaction: Option<Transaction<'static, Postgres>>,
    keys: Vec<i64>,
    until: Instant,
) -> Result<Transaction<'static, Postgres>, LockError> {
    let mut transaction = match transaction {
        Some(t) => t,
        None => pool.begin().await.map_err(LockError::Store)?,
    };
    // At least a millisecond: a zero wait still takes a free lock.
    let left = until.saturating_duration_since(Instant::now());
    // `lock_timeout` bounds each wait server-side; PostgreSQL's own deadlock detection
    // ends the rare cycle that keys added by a script can form.
    sqlx::query(&format!(
        "SET LOCAL lock_timeout = {}",
        left.as_millis().max(1)
    ))
    .execute(&mut *transaction)
    .await
    .map_err(LockError::Store)?;
    for key in keys {
        let locked = sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *transaction)
            .await;
        match locked {
            Ok(_) => {}
            // 55P03 lock_not_available (lock_timeout), 40P01 deadlock_detected.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("55P03" | "40P01")) =>
            {
                return Err(LockError::Busy)
            }
            Err(e) => return Err(LockError::Store(e)),
        }
    }
    Ok(transaction)
}

/// The locks one request holds, released when it is dropped: the local ones at once, the
/// advisory ones as their transaction rolls back on the store's runtime.
pub struct Held {
    slots: Vec<OwnedMutexGuard<()>>,
    slot_ids: BTreeSet<usize>,
    shared: Option<Transaction<'static, Postgres>>,
    shared_keys: BTreeSet<i64>,
    io: tokio::runtime::Handle,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(transaction) = self.shared.take() {
            // Rolling back ends the transaction, which releases its advisory locks.
            self.io.spawn(async move {
                let _ = transaction.rollback().await;
            });
        }
    }
}

/// The locks of one request, shared with its script calls (which may add keys through
/// `lock_users`); released when the last of them is done with it — when the operation has
/// its answer, or later if a script that timed out is still writing.
pub struct RequestLocks {
    table: Arc<LockTable>,
    tenant: String,
    deadline: Instant,
    held: std::sync::Mutex<Option<Held>>,
}

impl RequestLocks {
    pub fn new(table: Arc<LockTable>, tenant: &str, deadline: Instant) -> Self {
        Self {
            table,
            tenant: tenant.to_string(),
            deadline,
            held: std::sync::Mutex::new(None),
        }
    }

    /// Takes `keys` too (those held already are skipped).
    pub async fn take(&self, keys: &[String]) -> Result<(), LockError> {
        if keys.is_empty() {
            return Ok(());
        }
        let current = self.lock_held().take();
        let result = match current {
            // What is held stays held when more cannot be had: the request still runs.
            Some(mut held) => {
                let until = self.table.until(self.deadline);
                let extended = self
                    .table
                    .extend(&mut held, &self.tenant, keys, until)
                    .await;
                *self.lock_held() = Some(held);
                extended
            }
            None => self
                .table
                .acquire(&self.tenant, keys, self.deadline)
                .await
                .map(|held| *self.lock_held() = Some(held)),
        };
        result
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn slot_of(tenant: &str, key: &str) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (tenant, key).hash(&mut hasher);
    (hasher.finish() % SLOTS as u64) as usize
}

/// A key every replica computes alike, whatever its build: the first 8 bytes of SHA-256.
fn advisory_key(tenant: &str, key: &str) -> i64 {
    let digest = sha2::Sha256::new()
        .chain_update(tenant.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    i64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"))
}

/// The lock key of a SCIM resource.
pub fn resource_key(kind: scimitar_scim::ResourceKind, id: &str) -> String {
    match kind {
        scimitar_scim::ResourceKind::User => format!("user:{id}"),
        scimitar_scim::ResourceKind::Group => format!("group:{id}"),
    }
}

/// The lock key of a resource being created under a name (`userName`, `displayName`),
/// which match case-insensitively for Entra.
pub fn name_key(kind: scimitar_scim::ResourceKind, name: &str) -> String {
    match kind {
        scimitar_scim::ResourceKind::User => format!("user-name:{}", name.to_lowercase()),
        scimitar_scim::ResourceKind::Group => format!("group-name:{}", name.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordering() -> (tokio::runtime::Runtime, LockTable) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let ordering = LockTable::local(Duration::from_millis(200), runtime.handle().clone());
        (runtime, ordering)
    }

    #[test]
    fn a_held_key_makes_the_next_request_wait_then_refuses_it() {
        let (runtime, ordering) = ordering();
        runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(5);
            let keys = vec!["user:1".to_string()];
            let held = ordering.acquire("t", &keys, deadline).await.unwrap();
            let Err(refused) = ordering.acquire("t", &keys, deadline).await else {
                panic!("a held key was taken twice");
            };
            let failure = refused.to_failure();
            assert_eq!(
                (failure.rejection(), failure.status()),
                (Some("resource_busy"), 429)
            );
            // Another tenant's resource of the same id is another resource.
            let other = ordering.acquire("u", &keys, deadline).await;
            assert!(other.is_ok() || slot_of("t", "user:1") == slot_of("u", "user:1"));
            drop(other);
            drop(held);
            assert!(ordering.acquire("t", &keys, deadline).await.is_ok());
        });
    }

    #[test]
    fn keys_taken_in_any_order_never_deadlock() {
        let (runtime, ordering) = ordering();
        let ordering = Arc::new(ordering);
        runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut tasks = Vec::new();
            for i in 0..50 {
                let ordering = ordering.clone();
                tasks.push(tokio::spawn(async move {
                    let mut keys: Vec<String> = (0..5).map(|k| format!("user:{k}")).collect();
                    keys.rotate_left(i % 5);
                    let held = loop {
                        match ordering.acquire("t", &keys, deadline).await {
                            Ok(held) => break held,
                            Err(_) => tokio::task::yield_now().await,
                        }
                    };
                    tokio::task::yield_now().await;
                    drop(held);
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
        });
    }

    #[test]
    fn advisory_keys_are_stable_and_tenant_scoped() {
        assert_eq!(advisory_key("t", "user:1"), advisory_key("t", "user:1"));
        assert_ne!(advisory_key("t", "user:1"), advisory_key("u", "user:1"));
        assert_ne!(advisory_key("t", "user:1"), advisory_key("t", "user:2"));
    }
}
