//! The gateway's only state: the adapters' per-tenant key/value store.
//!
//! SQLite (embedded, zero set-up) by default; PostgreSQL when several replicas must share
//! state. Both are reached through sqlx and carry their own migrations, run at start.

use crate::provisioning::Entry;
use anyhow::Context;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;

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

#[derive(Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Connects to `sqlite://file` (created when missing) or `postgres://…` and migrates.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
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
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .context("bad SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
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
        } else {
            anyhow::bail!("store.url must start with sqlite:// or postgres://")
        }
    }

    pub async fn kv_get(&self, tenant: &str, key: &str) -> anyhow::Result<Option<Value>> {
        Ok(match self {
            Store::Sqlite(pool) => {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT value FROM kv WHERE tenant = ? AND key = ?")
                        .bind(tenant)
                        .bind(key)
                        .fetch_optional(pool)
                        .await?;
                row.map(|(text,)| serde_json::from_str(&text)).transpose()?
            }
            Store::Postgres(pool) => {
                let row: Option<(Value,)> =
                    sqlx::query_as("SELECT value FROM kv WHERE tenant = $1 AND key = $2")
                        .bind(tenant)
                        .bind(key)
                        .fetch_optional(pool)
                        .await?;
                row.map(|(value,)| value)
            }
        })
    }

    pub async fn kv_set(&self, tenant: &str, key: &str, value: &Value) -> anyhow::Result<()> {
        match self {
            Store::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO kv (tenant, key, value) VALUES (?, ?, ?) \
                     ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value, \
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                )
                .bind(tenant)
                .bind(key)
                .bind(value.to_string())
                .execute(pool)
                .await?;
            }
            Store::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO kv (tenant, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value, updated_at = now()",
                )
                .bind(tenant)
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    pub async fn kv_remove(&self, tenant: &str, key: &str) -> anyhow::Result<()> {
        match self {
            Store::Sqlite(pool) => {
                sqlx::query("DELETE FROM kv WHERE tenant = ? AND key = ?")
                    .bind(tenant)
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
            Store::Postgres(pool) => {
                sqlx::query("DELETE FROM kv WHERE tenant = $1 AND key = $2")
                    .bind(tenant)
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Stores a batch of provisioning log entries in one transaction.
    pub async fn insert_log(&self, entries: &[Entry]) -> anyhow::Result<()> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for e in entries {
                    sqlx::query(
                        "INSERT INTO provisioning_log (at, tenant, resource, operation, scim_id, subject, \
                         status, outcome, detail, target_calls, duration_ms) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&e.at)
                    .bind(&e.tenant)
                    .bind(&e.resource)
                    .bind(&e.operation)
                    .bind(&e.scim_id)
                    .bind(&e.subject)
                    .bind(i64::from(e.status))
                    .bind(&e.outcome)
                    .bind(&e.detail)
                    .bind(serde_json::to_string(&e.target_calls)?)
                    .bind(e.duration_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for e in entries {
                    sqlx::query(
                        "INSERT INTO provisioning_log (at, tenant, resource, operation, scim_id, subject, \
                         status, outcome, detail, target_calls, duration_ms) \
                         VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(&e.at)
                    .bind(&e.tenant)
                    .bind(&e.resource)
                    .bind(&e.operation)
                    .bind(&e.scim_id)
                    .bind(&e.subject)
                    .bind(i32::from(e.status))
                    .bind(&e.outcome)
                    .bind(&e.detail)
                    .bind(serde_json::to_value(&e.target_calls)?)
                    .bind(e.duration_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Removes entries older than `cutoff` (RFC 3339).
    pub async fn prune_log(&self, cutoff: &str) -> anyhow::Result<()> {
        match self {
            Store::Sqlite(pool) => {
                sqlx::query("DELETE FROM provisioning_log WHERE at < ?")
                    .bind(cutoff)
                    .execute(pool)
                    .await?;
            }
            Store::Postgres(pool) => {
                sqlx::query("DELETE FROM provisioning_log WHERE at < $1::timestamptz")
                    .bind(cutoff)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
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
        log_round_trip(store, tenant).await;
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
            target_calls: vec![crate::provisioning::TargetCall {
                method: "POST".into(),
                target: "127.0.0.1:1/v1/users".into(),
                status: Some(201),
                latency_ms: 1.5,
            }],
            duration_ms: 2.0,
        };
        let old = entry("old@x.com", "success", "2000-01-01T00:00:00.000Z");
        let ok = entry("Ann@x.com", "success", &crate::provisioning::now());
        let failed = entry("bob@x.com", "failure", &crate::provisioning::now());
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

    #[tokio::test]
    async fn sqlite_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kv.db").display());
        round_trip(&Store::open(&url).await.unwrap(), "t1").await;
    }

    /// Uses the PostgreSQL server at 127.0.0.1:5432 (database `test`), as CI provides.
    #[tokio::test]
    async fn postgres_round_trip() {
        let url = std::env::var("SCIMITAR_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let store = Store::open(&url)
            .await
            .expect("PostgreSQL must be reachable for this test");
        let tenant = format!("pg-test-{}", std::process::id());
        round_trip(&store, &tenant).await;
    }
}
