//! The gateway's only state: the adapters' per-tenant key/value store.
//!
//! SQLite (embedded, zero set-up) by default; PostgreSQL when several replicas must share
//! state. Both are reached through sqlx and carry their own migrations, run at start.

use anyhow::Context;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;

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
