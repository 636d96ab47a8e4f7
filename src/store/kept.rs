//! The rows of the attributes the gateway keeps for a target (`[tenants.keep]`; the rules
//! are `crate::scim_api::kept`'s): per resource and attribute, the value as JSON and, for
//! text, the value as compared. A resource's rows are replaced in one transaction.

use super::{Store, StoreError};
use serde_json::Value;
use std::collections::HashMap;

/// One kept value of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptValue {
    /// The attribute path as configured, e.g. `externalId`.
    pub attribute: String,
    pub value: Value,
    /// The value as compared, when it is text.
    pub key: Option<String>,
}

const SQLITE_REPLACE: [&str; 2] = [
    "DELETE FROM kept_attributes WHERE tenant = ?1 AND kind = ?2 \
     AND id IN (SELECT value FROM json_each(?3))",
    "INSERT INTO kept_attributes (tenant, kind, id, attribute, value, key) \
     SELECT ?1, ?2, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'), \
     json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]') FROM json_each(?3) e \
     WHERE true ON CONFLICT DO NOTHING",
];

const POSTGRES_REPLACE: [&str; 2] = [
    "DELETE FROM kept_attributes WHERE tenant = $1 AND kind = $2 \
     AND id IN (SELECT jsonb_array_elements_text($3::jsonb))",
    "INSERT INTO kept_attributes (tenant, kind, id, attribute, value, key) \
     SELECT $1, $2, e->>0, e->>1, e->>2, e->>3 FROM jsonb_array_elements($3::jsonb) e \
     ON CONFLICT DO NOTHING",
];

impl Store {
    /// Makes the gateway keep exactly `values` for resource `id` (none: forgets it).
    pub async fn kept_put(
        &self,
        tenant: &str,
        kind: &str,
        id: &str,
        values: &[KeptValue],
    ) -> Result<(), StoreError> {
        let ids = serde_json::to_string(&[id])?;
        let rows: Vec<(&str, &str, String, Option<&str>)> = values
            .iter()
            .map(|v| {
                (
                    id,
                    v.attribute.as_str(),
                    v.value.to_string(),
                    v.key.as_deref(),
                )
            })
            .collect();
        let rows = serde_json::to_string(&rows)?;
        self.replace_rows(SQLITE_REPLACE, POSTGRES_REPLACE, tenant, kind, ids, rows)
            .await
    }

    /// What the gateway keeps for each of `ids` (one read for a page of resources), as
    /// `(attribute, value)` pairs by id.
    pub async fn kept_get(
        &self,
        tenant: &str,
        kind: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, Vec<(String, Value)>>, StoreError> {
        let ids = serde_json::to_string(ids)?;
        let rows: Vec<(String, String, String)> = fetch!(
            self,
            sqlite: "SELECT id, attribute, value FROM kept_attributes WHERE tenant = ?1 \
                     AND kind = ?2 AND id IN (SELECT value FROM json_each(?3))",
            postgres: "SELECT id, attribute, value FROM kept_attributes WHERE tenant = $1 \
                       AND kind = $2 AND id IN (SELECT jsonb_array_elements_text($3::jsonb))",
            tenant, kind, ids
        );
        let mut kept: HashMap<String, Vec<(String, Value)>> = HashMap::new();
        for (id, attribute, value) in rows {
            kept.entry(id)
                .or_default()
                .push((attribute, serde_json::from_str(&value)?));
        }
        Ok(kept)
    }

    /// The ids of the resources whose kept `attribute` compares equal to `key`.
    pub async fn kept_find(
        &self,
        tenant: &str,
        kind: &str,
        attribute: &str,
        key: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = fetch!(
            self,
            sqlite: "SELECT id FROM kept_attributes WHERE tenant = ?1 AND kind = ?2 \
                     AND attribute = ?3 AND key = ?4 ORDER BY id",
            postgres: "SELECT id FROM kept_attributes WHERE tenant = $1 AND kind = $2 \
                       AND attribute = $3 AND key = $4 ORDER BY id",
            tenant, kind, attribute, key
        );
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn round_trip(store: &Store, tenant: &str) {
        let external = |value: &str| KeptValue {
            attribute: "externalId".into(),
            value: json!(value),
            key: Some(value.to_string()),
        };
        let number = KeptValue {
            attribute: "x:level".into(),
            value: json!(3),
            key: None,
        };
        store
            .kept_put(tenant, "User", "1", &[external("E1"), number.clone()])
            .await
            .unwrap();
        store
            .kept_put(tenant, "User", "2", &[external("E2")])
            .await
            .unwrap();
        store
            .kept_put(tenant, "Group", "1", &[external("E1")])
            .await
            .unwrap();
        let kept = store
            .kept_get(tenant, "User", &["1", "2", "3"])
            .await
            .unwrap();
        assert_eq!(
            kept["1"]
                .iter()
                .find(|(a, _)| a == "x:level")
                .map(|(_, v)| v.clone()),
            Some(json!(3)),
            "{kept:?}"
        );
        assert_eq!(kept["2"], [("externalId".to_string(), json!("E2"))]);
        assert!(!kept.contains_key("3"));
        assert_eq!(
            store
                .kept_find(tenant, "User", "externalId", "E1")
                .await
                .unwrap(),
            ["1"]
        );
        // A resource's values are replaced whole; none forgets it.
        store
            .kept_put(tenant, "User", "1", &[external("E9")])
            .await
            .unwrap();
        assert!(store
            .kept_find(tenant, "User", "externalId", "E1")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.kept_get(tenant, "User", &["1"]).await.unwrap()["1"].len(),
            1
        );
        store.kept_put(tenant, "User", "1", &[]).await.unwrap();
        assert!(store
            .kept_get(tenant, "User", &["1"])
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .kept_find(tenant, "Group", "externalId", "E1")
                .await
                .unwrap(),
            ["1"],
            "kinds are apart"
        );
        assert!(store
            .kept_find(&format!("{tenant}-other"), "User", "externalId", "E2")
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn sqlite_kept_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kept.db").display());
        round_trip(&Store::open(&url.parse().unwrap()).await.unwrap(), "t").await;
    }

    #[tokio::test]
    async fn postgres_kept_round_trip() {
        let url = std::env::var("SCIMITAR_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let store = Store::open(&url.parse().unwrap())
            .await
            .expect("PostgreSQL must be reachable");
        let tenant = format!(
            "kept-test-{}-{:?}",
            std::process::id(),
            std::time::Instant::now()
        );
        round_trip(&store, &tenant).await;
    }
}
