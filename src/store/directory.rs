//! The directory index's rows (the index itself is `src/directory/`): for each indexed attribute of each
//! resource, its value and the value as compared, and per resource kind when the index last
//! saw the whole directory. Pages are written in one transaction each, so a lookup never sees
//! a resource half re-indexed.

use super::{Store, StoreError};

/// One indexed value of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The attribute path as configured, e.g. `emails.value`.
    pub attribute: String,
    /// The value as compared: lowercased unless the attribute is case-exact.
    pub key: String,
    /// The value as the resource has it.
    pub value: String,
}

/// What the index knows of its own completeness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncState {
    /// When the last complete pass over the directory started (Unix ms); `None`: never,
    /// or the index was found wanting since.
    pub complete_at_ms: Option<i64>,
    /// Resources the directory held then, kept current by the gateway's creates and deletes.
    pub total: Option<i64>,
}

impl SyncState {
    /// Whether a "not found" may rest on the index: its last complete pass began less than
    /// `fresh` ago.
    pub fn is_fresh(&self, fresh: std::time::Duration) -> bool {
        let fresh_ms = i64::try_from(fresh.as_millis()).unwrap_or(i64::MAX);
        self.complete_at_ms
            .is_some_and(|at| now_ms().saturating_sub(at) < fresh_ms)
    }
}

/// Now, as the index counts time (Unix ms).
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Replaces the rows of the resources named in `ids` (a JSON array) with `rows` (JSON
    /// arrays), in one transaction: `sqlite` or `postgres` are the delete and the insert
    /// that do it on each database.
    pub(super) async fn replace_rows(
        &self,
        sqlite: [&str; 2],
        postgres: [&str; 2],
        tenant: &str,
        kind: &str,
        ids: String,
        rows: String,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => replace_rows(pool, sqlite, tenant, kind, ids, rows).await?,
            Store::Postgres(pool) => replace_rows(pool, postgres, tenant, kind, ids, rows).await?,
        }
        Ok(())
    }
}

async fn replace_rows<DB>(
    pool: &sqlx::Pool<DB>,
    statements: [&str; 2],
    tenant: &str,
    kind: &str,
    ids: String,
    rows: String,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let mut transaction = pool.begin().await?;
    let [delete, insert] = statements;
    sqlx::query(delete)
        .bind(tenant)
        .bind(kind)
        .bind(ids)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(insert)
        .bind(tenant)
        .bind(kind)
        .bind(rows)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await
}

const SQLITE_REPLACE: [&str; 2] = [
    "DELETE FROM directory_index WHERE tenant = ?1 AND kind = ?2 \
     AND id IN (SELECT value FROM json_each(?3))",
    "INSERT INTO directory_index (tenant, kind, attribute, key, value, id) \
     SELECT ?1, ?2, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'), \
     json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]') FROM json_each(?3) e \
     WHERE true ON CONFLICT DO NOTHING",
];

const POSTGRES_REPLACE: [&str; 2] = [
    "DELETE FROM directory_index WHERE tenant = $1 AND kind = $2 \
     AND id IN (SELECT jsonb_array_elements_text($3::jsonb))",
    "INSERT INTO directory_index (tenant, kind, attribute, key, value, id) \
     SELECT $1, $2, e->>0, e->>1, e->>2, e->>3 FROM jsonb_array_elements($3::jsonb) e \
     ON CONFLICT DO NOTHING",
];

impl Store {
    /// Makes the index hold exactly `entries` for each resource `(id, entries)` listed.
    pub async fn index_put(
        &self,
        tenant: &str,
        kind: &str,
        resources: &[(String, Vec<IndexEntry>)],
    ) -> Result<(), StoreError> {
        if resources.is_empty() {
            return Ok(());
        }
        let ids = serde_json::to_string(&resources.iter().map(|(id, _)| id).collect::<Vec<_>>())?;
        let rows: Vec<[&str; 4]> = resources
            .iter()
            .flat_map(|(id, entries)| {
                entries
                    .iter()
                    .map(move |e| [e.attribute.as_str(), e.key.as_str(), e.value.as_str(), id])
            })
            .collect();
        let rows = serde_json::to_string(&rows)?;
        self.replace_rows(SQLITE_REPLACE, POSTGRES_REPLACE, tenant, kind, ids, rows)
            .await
    }

    /// Forgets a resource.
    pub async fn index_forget(&self, tenant: &str, kind: &str, id: &str) -> Result<(), StoreError> {
        self.index_put(tenant, kind, &[(id.to_string(), Vec::new())])
            .await
    }

    /// The ids of the resources whose `attribute` compares equal to `key`.
    pub async fn index_find(
        &self,
        tenant: &str,
        kind: &str,
        attribute: &str,
        key: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = fetch!(
            self,
            sqlite: "SELECT id FROM directory_index WHERE tenant = ?1 AND kind = ?2 \
                     AND attribute = ?3 AND key = ?4 ORDER BY id",
            postgres: "SELECT id FROM directory_index WHERE tenant = $1 AND kind = $2 \
                       AND attribute = $3 AND key = $4 ORDER BY id",
            tenant, kind, attribute, key
        );
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The value of `attribute` the index holds for resource `id`.
    pub async fn index_value(
        &self,
        tenant: &str,
        kind: &str,
        id: &str,
        attribute: &str,
    ) -> Result<Option<String>, StoreError> {
        let rows: Vec<(String,)> = fetch!(
            self,
            sqlite: "SELECT value FROM directory_index WHERE tenant = ?1 AND kind = ?2 \
                     AND id = ?3 AND attribute = ?4 LIMIT 1",
            postgres: "SELECT value FROM directory_index WHERE tenant = $1 AND kind = $2 \
                       AND id = $3 AND attribute = $4 LIMIT 1",
            tenant, kind, id, attribute
        );
        Ok(rows.into_iter().next().map(|(value,)| value))
    }

    pub async fn sync_state(&self, tenant: &str, kind: &str) -> Result<SyncState, StoreError> {
        let rows: Vec<(Option<i64>, Option<i64>)> = fetch!(
            self,
            sqlite: "SELECT complete_at_ms, total FROM directory_sync WHERE tenant = ?1 AND kind = ?2",
            postgres: "SELECT complete_at_ms, total FROM directory_sync WHERE tenant = $1 AND kind = $2",
            tenant, kind
        );
        Ok(rows
            .into_iter()
            .next()
            .map(|(complete_at_ms, total)| SyncState {
                complete_at_ms,
                total,
            })
            .unwrap_or_default())
    }

    /// Records a complete pass that started at `started_ms` and saw `total` resources.
    pub async fn sync_completed(
        &self,
        tenant: &str,
        kind: &str,
        started_ms: i64,
        total: i64,
    ) -> Result<(), StoreError> {
        execute!(
            self,
            sqlite: "INSERT INTO directory_sync (tenant, kind, complete_at_ms, total) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (tenant, kind) DO UPDATE SET complete_at_ms = excluded.complete_at_ms, \
                     total = excluded.total",
            postgres: "INSERT INTO directory_sync (tenant, kind, complete_at_ms, total) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (tenant, kind) DO UPDATE SET complete_at_ms = excluded.complete_at_ms, \
                       total = excluded.total",
            tenant, kind, started_ms, total
        );
        Ok(())
    }

    /// The index can no longer vouch for a "not found" (a write it missed): the next lookup
    /// that needs one waits for a complete pass.
    pub async fn sync_invalidate(&self, tenant: &str, kind: &str) -> Result<(), StoreError> {
        execute!(
            self,
            sqlite: "UPDATE directory_sync SET complete_at_ms = NULL WHERE tenant = ?1 AND kind = ?2",
            postgres: "UPDATE directory_sync SET complete_at_ms = NULL WHERE tenant = $1 AND kind = $2",
            tenant, kind
        );
        Ok(())
    }

    /// Counts a resource the gateway created (`+1`) or deleted (`-1`).
    pub async fn sync_count(&self, tenant: &str, kind: &str, delta: i64) -> Result<(), StoreError> {
        execute!(
            self,
            sqlite: "UPDATE directory_sync SET total = max(total + ?3, 0) \
                     WHERE tenant = ?1 AND kind = ?2 AND total IS NOT NULL",
            postgres: "UPDATE directory_sync SET total = greatest(total + $3, 0) \
                       WHERE tenant = $1 AND kind = $2 AND total IS NOT NULL",
            tenant, kind, delta
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(attribute: &str, value: &str) -> IndexEntry {
        IndexEntry {
            attribute: attribute.into(),
            key: value.to_lowercase(),
            value: value.into(),
        }
    }

    async fn round_trip(store: &Store, tenant: &str) {
        let user = |id: &str, name: &str| (id.to_string(), vec![entry("userName", name)]);
        store
            .index_put(tenant, "User", &[user("1", "Ann@X"), user("2", "bo@x")])
            .await
            .unwrap();
        assert_eq!(
            store
                .index_find(tenant, "User", "userName", "ann@x")
                .await
                .unwrap(),
            ["1"]
        );
        assert_eq!(
            store
                .index_value(tenant, "User", "1", "userName")
                .await
                .unwrap()
                .as_deref(),
            Some("Ann@X")
        );
        // Re-indexing a resource replaces what it had.
        store
            .index_put(tenant, "User", &[user("1", "cy@x")])
            .await
            .unwrap();
        assert!(store
            .index_find(tenant, "User", "userName", "ann@x")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .index_find(tenant, "User", "userName", "cy@x")
                .await
                .unwrap(),
            ["1"]
        );
        store.index_forget(tenant, "User", "2").await.unwrap();
        assert!(store
            .index_find(tenant, "User", "userName", "bo@x")
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .index_find(tenant, "Group", "userName", "cy@x")
            .await
            .unwrap()
            .is_empty());

        assert_eq!(
            store.sync_state(tenant, "User").await.unwrap(),
            SyncState::default()
        );
        store.sync_count(tenant, "User", 1).await.unwrap();
        store
            .sync_completed(tenant, "User", 1_000, 1)
            .await
            .unwrap();
        store.sync_count(tenant, "User", 1).await.unwrap();
        let state = store.sync_state(tenant, "User").await.unwrap();
        assert_eq!((state.complete_at_ms, state.total), (Some(1_000), Some(2)));
        store.sync_invalidate(tenant, "User").await.unwrap();
        assert_eq!(
            store
                .sync_state(tenant, "User")
                .await
                .unwrap()
                .complete_at_ms,
            None
        );
    }

    #[tokio::test]
    async fn sqlite_index_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("index.db").display());
        round_trip(&Store::open(&url.parse().unwrap()).await.unwrap(), "t").await;
    }

    #[tokio::test]
    async fn postgres_index_round_trip() {
        let url = std::env::var("SCIMITAR_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let store = Store::open(&url.parse().unwrap())
            .await
            .expect("PostgreSQL must be reachable");
        let tenant = format!(
            "index-test-{}-{:?}",
            std::process::id(),
            std::time::Instant::now()
        );
        round_trip(&store, &tenant).await;
    }
}
