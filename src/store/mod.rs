//! The gateway's only state: the adapters' per-tenant key/value store.
//!
//! SQLite (embedded, zero set-up) by default; PostgreSQL when several replicas must share
//! state. Both are reached through sqlx and carry their own migrations, run at start.

use crate::config::StoreUrl;
use anyhow::Context;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use std::str::FromStr;

/// Runs one statement on whichever database the store is, with the same values bound:
/// only the SQL differs (placeholders, JSON column types). Answers the rows affected.
macro_rules! execute {
    ($store:expr, sqlite: $sqlite:expr, postgres: $postgres:expr, $($bind:expr),+ $(,)?) => {
        match $store {
            Store::Sqlite(pool) => sqlx::query($sqlite)$(.bind($bind))+.execute(pool).await?.rows_affected(),
            Store::Postgres(pool) => sqlx::query($postgres)$(.bind($bind))+.execute(pool).await?.rows_affected(),
        }
    };
}

/// Fetches every row of one query, as [`execute!`] runs a statement.
macro_rules! fetch {
    ($store:expr, sqlite: $sqlite:expr, postgres: $postgres:expr $(, $bind:expr)* $(,)?) => {
        match $store {
            Store::Sqlite(pool) => sqlx::query_as($sqlite)$(.bind($bind))*.fetch_all(pool).await?,
            Store::Postgres(pool) => sqlx::query_as($postgres)$(.bind($bind))*.fetch_all(pool).await?,
        }
    };
}

mod directory;
mod kept;
mod log_entry;

pub use directory::{now_ms, IndexEntry, SyncState};
pub use kept::KeptValue;
pub use log_entry::{format_time, now, Entry, TargetCall};

/// What `scimitar log` asks for; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub tenant: Option<String>,
    /// RFC 3339 lower bound.
    pub since: Option<String>,
    pub outcome: Option<String>,
    /// A user name (or group display name) or SCIM id.
    pub user: Option<String>,
    pub limit: usize,
}

/// A store operation that failed: the store is unreachable or refused the statement, or
/// a stored value is not the JSON it was written as.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    #[error("a stored value is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
}

#[derive(Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Connects to `sqlite://file` (created when missing) or `postgres://…` and migrates.
    pub async fn open(url: &StoreUrl) -> anyhow::Result<Store> {
        match url {
            StoreUrl::Postgres(url) => Self::open_postgres(url).await,
            StoreUrl::Sqlite(url) => Self::open_sqlite(url).await,
        }
    }

    async fn open_postgres(url: &str) -> anyhow::Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .context("cannot connect to PostgreSQL")?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .context("PostgreSQL migrations failed")?;
        Ok(Store::Postgres(pool))
    }

    async fn open_sqlite(url: &str) -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::from_str(url)
            .context("bad SQLite URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Takes effect when the file is created: freed pages (a log past its size
            // limit) can then go back to the file system.
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            // The write-ahead log is truncated back to this after each checkpoint
            // rather than staying as large as the biggest burst made it.
            .pragma("journal_size_limit", (16 * 1024 * 1024).to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the SQLite store {url}"))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .context("SQLite migrations failed")?;
        Ok(Store::Sqlite(pool))
    }

    pub async fn kv_get(&self, tenant: &str, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(self
            .kv_get_versioned(tenant, key)
            .await?
            .map(|(value, _)| value))
    }

    /// A value with its version, which changes on every write of the key.
    pub async fn kv_get_versioned(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<(Value, i64)>, StoreError> {
        Ok(match self {
            Store::Sqlite(pool) => {
                let row: Option<(String, i64)> =
                    sqlx::query_as("SELECT value, version FROM kv WHERE tenant = ? AND key = ?")
                        .bind(tenant)
                        .bind(key)
                        .fetch_optional(pool)
                        .await?;
                match row {
                    Some((text, version)) => Some((serde_json::from_str(&text)?, version)),
                    None => None,
                }
            }
            Store::Postgres(pool) => {
                sqlx::query_as("SELECT value, version FROM kv WHERE tenant = $1 AND key = $2")
                    .bind(tenant)
                    .bind(key)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    pub async fn kv_set(&self, tenant: &str, key: &str, value: &Value) -> Result<(), StoreError> {
        execute!(
            self,
            sqlite: "INSERT INTO kv (tenant, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value, \
                     version = kv.version + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            postgres: "INSERT INTO kv (tenant, key, value) VALUES ($1, $2, $3::jsonb) \
                       ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value, \
                       version = kv.version + 1, updated_at = now()",
            tenant, key, value.to_string()
        );
        Ok(())
    }

    pub async fn kv_remove(&self, tenant: &str, key: &str) -> Result<(), StoreError> {
        execute!(
            self,
            sqlite: "DELETE FROM kv WHERE tenant = ?1 AND key = ?2",
            postgres: "DELETE FROM kv WHERE tenant = $1 AND key = $2",
            tenant, key
        );
        Ok(())
    }

    /// Writes `new` (or removes the key, for `None`) only if the key is still at `expected`
    /// (`None`: absent). True when it was written; false when another writer came first.
    pub async fn kv_compare_and_set(
        &self,
        tenant: &str,
        key: &str,
        expected: Option<i64>,
        new: Option<&Value>,
    ) -> Result<bool, StoreError> {
        let affected = match (expected, new) {
            (None, None) => return Ok(self.kv_get_versioned(tenant, key).await?.is_none()),
            (None, Some(value)) => execute!(
                self,
                sqlite: "INSERT INTO kv (tenant, key, value) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (tenant, key) DO NOTHING",
                postgres: "INSERT INTO kv (tenant, key, value) VALUES ($1, $2, $3::jsonb) \
                           ON CONFLICT (tenant, key) DO NOTHING",
                tenant, key, value.to_string()
            ),
            (Some(version), Some(value)) => execute!(
                self,
                sqlite: "UPDATE kv SET value = ?3, version = version + 1, \
                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                         WHERE tenant = ?1 AND key = ?2 AND version = ?4",
                postgres: "UPDATE kv SET value = $3::jsonb, version = version + 1, updated_at = now() \
                           WHERE tenant = $1 AND key = $2 AND version = $4",
                tenant, key, value.to_string(), version
            ),
            (Some(version), None) => execute!(
                self,
                sqlite: "DELETE FROM kv WHERE tenant = ?1 AND key = ?2 AND version = ?3",
                postgres: "DELETE FROM kv WHERE tenant = $1 AND key = $2 AND version = $3",
                tenant, key, version
            ),
        };
        Ok(affected == 1)
    }

    /// Records an access token (by its hash) until `expires_at`, and forgets the tenant's
    /// tokens that expired by `now` (Unix seconds both).
    pub async fn insert_access_token(
        &self,
        tenant: &str,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        execute!(
            self,
            sqlite: "DELETE FROM access_tokens WHERE tenant = ?1 AND expires_at <= ?2",
            postgres: "DELETE FROM access_tokens WHERE tenant = $1 AND expires_at <= $2",
            tenant, now
        );
        execute!(
            self,
            sqlite: "INSERT INTO access_tokens (tenant, token_hash, expires_at) VALUES (?1, ?2, ?3)",
            postgres: "INSERT INTO access_tokens (tenant, token_hash, expires_at) VALUES ($1, $2, $3)",
            tenant, token_hash, expires_at
        );
        Ok(())
    }

    /// When the tenant's access token with this hash expires, if it was issued.
    pub async fn access_token_expiry(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        let rows: Vec<(i64,)> = fetch!(
            self,
            sqlite: "SELECT expires_at FROM access_tokens WHERE tenant = ?1 AND token_hash = ?2",
            postgres: "SELECT expires_at FROM access_tokens WHERE tenant = $1 AND token_hash = $2",
            tenant, token_hash
        );
        Ok(rows.first().map(|(at,)| *at))
    }

    /// Stores a batch of provisioning log entries in one transaction.
    pub async fn insert_log(&self, entries: &[Entry]) -> anyhow::Result<()> {
        // One multi-row INSERT per chunk, all in one transaction: a batch is a handful of
        // statements, not one round trip per entry. (SQLite allows 32,766 bound values.)
        const ROWS_PER_STATEMENT: usize = 1_000;
        const COLUMNS: &str = "INSERT INTO provisioning_log (at, tenant, resource, operation, \
                               scim_id, subject, status, outcome, detail, target_calls, duration_ms) ";
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in entries.chunks(ROWS_PER_STATEMENT) {
                    let calls = chunk
                        .iter()
                        .map(|e| serde_json::to_string(&e.target_calls))
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(COLUMNS);
                    insert.push_values(chunk.iter().zip(calls), |mut row, (e, calls)| {
                        row.push_bind(&e.at)
                            .push_bind(&e.tenant)
                            .push_bind(&e.resource)
                            .push_bind(&e.operation)
                            .push_bind(&e.scim_id)
                            .push_bind(&e.subject)
                            .push_bind(i64::from(e.status))
                            .push_bind(&e.outcome)
                            .push_bind(&e.detail)
                            .push_bind(calls)
                            .push_bind(e.duration_ms);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in entries.chunks(ROWS_PER_STATEMENT) {
                    let calls = chunk
                        .iter()
                        .map(|e| serde_json::to_value(&e.target_calls))
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(COLUMNS);
                    insert.push_values(chunk.iter().zip(calls), |mut row, (e, calls)| {
                        row.push_bind(&e.at)
                            .push_unseparated("::timestamptz")
                            .push_bind(&e.tenant)
                            .push_bind(&e.resource)
                            .push_bind(&e.operation)
                            .push_bind(&e.scim_id)
                            .push_bind(&e.subject)
                            .push_bind(i32::from(e.status))
                            .push_bind(&e.outcome)
                            .push_bind(&e.detail)
                            .push_bind(calls)
                            .push_bind(e.duration_ms);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Removes entries older than `cutoff` (RFC 3339), whatever their order in the table
    /// (replicas, clocks and retried batches do not store entries in time order).
    pub async fn prune_log(&self, cutoff: &str) -> anyhow::Result<()> {
        execute!(
            self,
            sqlite: "DELETE FROM provisioning_log WHERE at < ?1",
            postgres: "DELETE FROM provisioning_log WHERE at < $1::timestamptz",
            cutoff
        );
        Ok(())
    }

    /// The bytes the provisioning log's live entries take in the store. SQLite: the pages
    /// of its table and index. PostgreSQL keeps a table at its largest size and reuses the
    /// room of removed rows, so there it is the entries times the average size of the newest
    /// thousand, with their row header and index entries.
    pub async fn log_bytes(&self) -> anyhow::Result<u64> {
        /// A PostgreSQL row's header and line pointer, and its entries in the two indexes.
        const ROW_OVERHEAD: i64 = 64;
        let bytes: i64 = match self {
            Store::Sqlite(pool) => sqlx::query_scalar(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat \
                 WHERE name IN ('provisioning_log', 'provisioning_log_tenant_at')",
            )
            .fetch_one(pool)
            .await?,
            Store::Postgres(pool) => sqlx::query_scalar(
                "SELECT (coalesce(max(id) - min(id) + 1, 0) * (coalesce((SELECT avg(pg_column_size(newest.*)) \
                 FROM (SELECT * FROM provisioning_log ORDER BY id DESC LIMIT 1000) newest), 0) + $1))::BIGINT \
                 FROM provisioning_log",
            )
            .bind(ROW_OVERHEAD)
            .fetch_one(pool)
            .await?,
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Removes the oldest entries until the log takes at most 90% of `max_bytes` (some room,
    /// so that the next check does not find it over again at once); SQLite gives the pages
    /// back to the file system. Answers how many entries went.
    pub async fn shrink_log(&self, max_bytes: u64) -> anyhow::Result<u64> {
        let bytes = self.log_bytes().await?;
        if bytes <= max_bytes {
            return Ok(0);
        }
        const IDS: &str = "SELECT min(id), max(id) FROM provisioning_log";
        let ids: Vec<(Option<i64>, Option<i64>)> = fetch!(self, sqlite: IDS, postgres: IDS);
        let Some(&(Some(first), Some(last))) = ids.first() else {
            return Ok(0);
        };
        let entries = (last - first + 1) as f64;
        let keep = (max_bytes as f64 * 0.9 / bytes as f64).clamp(0.0, 1.0);
        let remove = ((entries * (1.0 - keep)).ceil() as i64).max(1);
        let removed = execute!(
            self,
            sqlite: "DELETE FROM provisioning_log WHERE id < ?1",
            postgres: "DELETE FROM provisioning_log WHERE id < $1",
            first + remove
        );
        if let Store::Sqlite(pool) = self {
            // A no-op unless the file was created with incremental auto-vacuum (every
            // store since this version); older files reuse the freed pages instead.
            sqlx::query("PRAGMA incremental_vacuum")
                .execute(pool)
                .await?;
        }
        Ok(removed)
    }

    /// Entries matching `filter`, newest first.
    pub async fn query_log(&self, filter: &LogFilter) -> anyhow::Result<Vec<Entry>> {
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            String,
            Option<String>,
            String,
            f64,
        );
        let rows: Vec<Row> = match self {
            Store::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT at, tenant, resource, operation, scim_id, subject, status, outcome, detail, \
                     target_calls, duration_ms FROM provisioning_log \
                     WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR at >= ?2) \
                     AND (?3 IS NULL OR outcome = ?3) \
                     AND (?4 IS NULL OR lower(subject) = lower(?4) OR scim_id = ?4) \
                     ORDER BY id DESC LIMIT ?5",
                )
                .bind(&filter.tenant)
                .bind(&filter.since)
                .bind(&filter.outcome)
                .bind(&filter.user)
                .bind(filter.limit as i64)
                .fetch_all(pool)
                .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), tenant, resource, \
                     operation, scim_id, subject, status::BIGINT, outcome, detail, target_calls::TEXT, duration_ms \
                     FROM provisioning_log \
                     WHERE ($1::TEXT IS NULL OR tenant = $1) AND ($2::TEXT IS NULL OR at >= $2::timestamptz) \
                     AND ($3::TEXT IS NULL OR outcome = $3) \
                     AND ($4::TEXT IS NULL OR lower(subject) = lower($4) OR scim_id = $4) \
                     ORDER BY id DESC LIMIT $5",
                )
                .bind(&filter.tenant)
                .bind(&filter.since)
                .bind(&filter.outcome)
                .bind(&filter.user)
                .bind(filter.limit as i64)
                .fetch_all(pool)
                .await?
            }
        };
        rows.into_iter()
            .map(|r| {
                Ok(Entry {
                    at: r.0,
                    tenant: r.1,
                    resource: r.2,
                    operation: r.3,
                    scim_id: r.4,
                    subject: r.5,
                    status: u16::try_from(r.6).unwrap_or(0),
                    outcome: r.7,
                    detail: r.8,
                    target_calls: serde_json::from_str(&r.9)?,
                    duration_ms: r.10,
                })
            })
            .collect()
    }

    /// Cheap liveness check for `/readyz`.
    pub async fn ping(&self) -> bool {
        match self {
            Store::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
            Store::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(store: &Store, tenant: &str) {
        let other = format!("{tenant}-other");
        store.kv_remove(tenant, "k").await.unwrap();
        assert_eq!(store.kv_get(tenant, "k").await.unwrap(), None);
        store
            .kv_set(tenant, "k", &serde_json::json!({"a": [1, "x"]}))
            .await
            .unwrap();
        store
            .kv_set(tenant, "k", &serde_json::json!({"a": [2]}))
            .await
            .unwrap();
        assert_eq!(
            store.kv_get(tenant, "k").await.unwrap(),
            Some(serde_json::json!({"a": [2]}))
        );
        assert_eq!(
            store.kv_get(&other, "k").await.unwrap(),
            None,
            "tenants are isolated"
        );
        store.kv_remove(tenant, "k").await.unwrap();
        assert_eq!(store.kv_get(tenant, "k").await.unwrap(), None);
        compare_and_set(store, tenant).await;
        log_round_trip(store, tenant).await;
    }

    async fn compare_and_set(store: &Store, tenant: &str) {
        let (one, two) = (serde_json::json!([1]), serde_json::json!([1, 2]));
        store.kv_remove(tenant, "cas").await.unwrap();
        assert!(store
            .kv_compare_and_set(tenant, "cas", None, Some(&one))
            .await
            .unwrap());
        assert!(
            !store
                .kv_compare_and_set(tenant, "cas", None, Some(&two))
                .await
                .unwrap(),
            "a second insert of an absent key loses"
        );
        let (value, version) = store
            .kv_get_versioned(tenant, "cas")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(value, one);
        assert!(store
            .kv_compare_and_set(tenant, "cas", Some(version), Some(&two))
            .await
            .unwrap());
        assert!(
            !store
                .kv_compare_and_set(tenant, "cas", Some(version), Some(&one))
                .await
                .unwrap(),
            "a write from a stale version loses"
        );
        let (_, newer) = store
            .kv_get_versioned(tenant, "cas")
            .await
            .unwrap()
            .unwrap();
        store.kv_set(tenant, "cas", &one).await.unwrap();
        assert!(!store
            .kv_compare_and_set(tenant, "cas", Some(newer), None)
            .await
            .unwrap());
        let (_, latest) = store
            .kv_get_versioned(tenant, "cas")
            .await
            .unwrap()
            .unwrap();
        assert!(store
            .kv_compare_and_set(tenant, "cas", Some(latest), None)
            .await
            .unwrap());
        assert_eq!(store.kv_get(tenant, "cas").await.unwrap(), None);
    }

    async fn log_round_trip(store: &Store, tenant: &str) {
        let entry = |subject: &str, outcome: &str, at: &str| Entry {
            at: at.into(),
            tenant: tenant.into(),
            resource: "Users".into(),
            operation: "create".into(),
            scim_id: Some("usr-1".into()),
            subject: Some(subject.into()),
            status: if outcome == "success" { 201 } else { 409 },
            outcome: outcome.into(),
            detail: (outcome != "success").then(|| "duplicate".to_string()),
            target_calls: vec![TargetCall {
                method: "POST".into(),
                target: "127.0.0.1:1/v1/users".into(),
                status: Some(201),
                latency_ms: 1.5,
            }],
            duration_ms: 2.0,
        };
        let old = entry("old@x.com", "success", "2000-01-01T00:00:00.000Z");
        let ok = entry("Ann@x.com", "success", &now());
        let failed = entry("bob@x.com", "failure", &now());
        store
            .insert_log(&[old, ok.clone(), failed.clone()])
            .await
            .unwrap();
        store.prune_log("2001-01-01T00:00:00.000Z").await.unwrap();
        let mine = LogFilter {
            tenant: Some(tenant.into()),
            limit: 10,
            ..LogFilter::default()
        };
        assert_eq!(
            store.query_log(&mine).await.unwrap(),
            vec![failed.clone(), ok.clone()]
        );
        let by_user = LogFilter {
            user: Some("ann@X.com".into()),
            ..mine.clone()
        };
        assert_eq!(store.query_log(&by_user).await.unwrap(), vec![ok]);
        let failures = LogFilter {
            outcome: Some("failure".into()),
            ..mine
        };
        assert_eq!(store.query_log(&failures).await.unwrap(), vec![failed]);
    }

    /// A log past its size limit loses its oldest entries, down to within the limit.
    async fn size_limit(store: &Store, tenant: &str) {
        let entries: Vec<Entry> = (0..3000)
            .map(|i| Entry {
                at: now(),
                tenant: tenant.into(),
                resource: "Users".into(),
                operation: "list".into(),
                scim_id: None,
                subject: Some(format!("user{i}@x.com")),
                status: 200,
                outcome: "success".into(),
                detail: None,
                target_calls: Vec::new(),
                duration_ms: 1.0,
            })
            .collect();
        store.insert_log(&entries).await.unwrap();
        let before = store.log_bytes().await.unwrap();
        let limit = before / 2;
        let removed = store.shrink_log(limit).await.unwrap();
        assert!((1..3000).contains(&removed), "{removed} of 3000 removed");
        let after = store.log_bytes().await.unwrap();
        assert!(
            after <= limit,
            "{after} bytes left, over the limit of {limit}"
        );
        let newest = LogFilter {
            tenant: Some(tenant.into()),
            limit: 1,
            ..LogFilter::default()
        };
        let kept = store.query_log(&newest).await.unwrap();
        assert_eq!(kept[0].subject.as_deref(), Some("user2999@x.com"));
        assert_eq!(
            store.shrink_log(limit).await.unwrap(),
            0,
            "within the limit, nothing more goes"
        );
    }

    #[tokio::test]
    async fn sqlite_log_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        size_limit(&Store::open(&url.parse().unwrap()).await.unwrap(), "t1").await;
    }

    /// In a schema of its own: the size limit removes the oldest entries of every tenant,
    /// and other tests share the database.
    #[tokio::test]
    async fn postgres_log_size_limit() {
        let url = std::env::var("SCIMITAR_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("log_size_{}", std::process::id());
        let admin = PgPool::connect(&url)
            .await
            .expect("PostgreSQL must be reachable");
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        let own = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let store = Store::open(&own.parse().unwrap()).await.unwrap();
        size_limit(&store, "t1").await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sqlite_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kv.db").display());
        round_trip(&Store::open(&url.parse().unwrap()).await.unwrap(), "t1").await;
    }

    /// Uses the PostgreSQL server at 127.0.0.1:5432 (database `test`), as CI provides.
    #[tokio::test]
    async fn postgres_round_trip() {
        let url = std::env::var("SCIMITAR_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let store = Store::open(&url.parse().unwrap())
            .await
            .expect("PostgreSQL must be reachable for this test");
        let tenant = format!("pg-test-{}", std::process::id());
        round_trip(&store, &tenant).await;
    }
}
