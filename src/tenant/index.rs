//! What a tenant's directory index holds (from `[tenants.index]`): the resource kinds it
//! covers, their indexed attributes, and how an equality filter or a resource maps onto its
//! rows. The rows themselves live in the store; `crate::directory` keeps them current.

use super::attribute::KeyedAttribute;
use crate::config::IndexConfig;
use crate::store::IndexEntry;
use anyhow::{bail, Context};
use scimitar_scim::filter::Filter;
use scimitar_scim::schema::ResourceKind;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A tenant's index settings, typed, and where its passes stand.
#[derive(Debug)]
pub struct DirectoryIndex {
    kinds: Vec<IndexedKind>,
    pub fresh: Duration,
    pub page_size: usize,
    pub pages_per_sec: u32,
}

/// How far a pass over one kind got: a pass cut short (a request's deadline) is resumed by
/// the next, so that a large directory is walked once, not once per attempt.
#[derive(Debug, Clone)]
pub struct PassProgress {
    /// When the pass began (Unix ms): what its completion will vouch for.
    pub started_ms: i64,
    pub next_start: usize,
    pub cursor: Value,
    pub seen: i64,
}

/// The indexed attributes of one resource kind (none: the kind is only counted), and the
/// state of its passes in this process.
#[derive(Debug)]
pub struct IndexedKind {
    pub kind: ResourceKind,
    attributes: Vec<KeyedAttribute>,
    progress: Mutex<Option<PassProgress>>,
    /// A request waits for the pass under way: it stops pacing itself.
    hurry: AtomicBool,
}

impl DirectoryIndex {
    pub fn build(config: &IndexConfig) -> anyhow::Result<Self> {
        let mut kinds = Vec::new();
        for (kind, attributes) in [
            (ResourceKind::User, &config.users),
            (ResourceKind::Group, &config.groups),
        ] {
            let Some(attributes) = attributes else {
                continue;
            };
            let attributes = attributes
                .iter()
                .map(|name| KeyedAttribute::parse(kind, name))
                .collect::<anyhow::Result<_>>()
                .with_context(|| {
                    format!(
                        "index.{}",
                        kind.endpoint().trim_start_matches('/').to_lowercase()
                    )
                })?;
            kinds.push(IndexedKind {
                kind,
                attributes,
                progress: Mutex::new(None),
                hurry: AtomicBool::new(false),
            });
        }
        if config.page_size == 0 || config.pages_per_sec == 0 || config.fresh_secs == 0 {
            bail!("index: fresh_secs, page_size and pages_per_sec must be at least 1");
        }
        Ok(Self {
            kinds,
            fresh: Duration::from_secs(config.fresh_secs),
            page_size: config.page_size,
            pages_per_sec: config.pages_per_sec,
        })
    }

    /// The kind's index, when the tenant indexes (or counts) it.
    pub fn of(&self, kind: ResourceKind) -> Option<&IndexedKind> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &IndexedKind> {
        self.kinds.iter()
    }
}

impl IndexedKind {
    /// The indexed attribute an equality of `filter` names, and its value as compared: the
    /// index can answer the filter (each candidate is then checked against all of it).
    pub fn lookup_key(&self, filter: &Filter) -> Option<(&str, String)> {
        KeyedAttribute::lookup_key(&self.attributes, filter)
    }

    /// The rows the index holds for `resource` (a SCIM resource as the adapter answers it).
    pub fn entries(&self, resource: &Value) -> Vec<IndexEntry> {
        let mut entries = Vec::new();
        for attribute in &self.attributes {
            for value in attribute.values(resource).iter().filter_map(Value::as_str) {
                let entry = IndexEntry {
                    attribute: attribute.name.clone(),
                    key: attribute.key(value),
                    value: value.to_string(),
                };
                if !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
        }
        entries
    }

    /// Where an unfinished pass stopped (taken: the pass that resumes it owns it now).
    pub fn take_progress(&self) -> Option<PassProgress> {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn save_progress(&self, progress: PassProgress) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(progress);
    }

    /// Asks the pass under way to stop pacing itself (a request waits for it).
    pub fn hurry(&self) {
        self.hurry.store(true, Ordering::Relaxed);
    }

    /// Whether a request waits; cleared once a pass completes.
    pub fn hurried(&self) -> bool {
        self.hurry.load(Ordering::Relaxed)
    }

    pub fn completed(&self) {
        self.hurry.store(false, Ordering::Relaxed);
    }

    /// Whether the kind is only counted (no attribute indexed).
    pub fn counts_only(&self) -> bool {
        self.attributes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users(attributes: &[&str]) -> DirectoryIndex {
        DirectoryIndex::build(&IndexConfig {
            users: Some(attributes.iter().map(|a| a.to_string()).collect()),
            groups: None,
            fresh_secs: 60,
            page_size: 100,
            pages_per_sec: 5,
        })
        .unwrap()
    }

    #[test]
    fn filters_find_their_indexed_attribute_and_compare_as_the_schema_says() {
        let index = users(&["userName", "externalId", "emails.value"]);
        let kind = index.of(ResourceKind::User).unwrap();
        let key = |f: &str| kind.lookup_key(&scimitar_scim::filter::parse(f).unwrap());
        assert_eq!(
            key(r#"userName eq "Ann@X""#),
            Some(("userName", "ann@x".into()))
        );
        assert_eq!(
            key(r#"externalId eq "AbC""#),
            Some(("externalId", "AbC".into()))
        );
        assert_eq!(
            key(r#"emails[type eq "work"].value eq "A@B""#),
            Some(("emails.value", "a@b".into()))
        );
        assert_eq!(key(r#"displayName eq "x""#), None);
        assert_eq!(key(r#"userName sw "a""#), None);
        assert!(index.of(ResourceKind::Group).is_none());
    }

    #[test]
    fn a_resource_gives_a_row_per_value() {
        let index = users(&["userName", "emails.value"]);
        let kind = index.of(ResourceKind::User).unwrap();
        let rows = kind.entries(&json!({
            "id": "1", "userName": "Ann@X",
            "emails": [{"type": "work", "value": "A@W"}, {"type": "home", "value": "a@h"}]
        }));
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.attribute.as_str(), r.key.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("userName", "ann@x", "Ann@X"),
                ("emails.value", "a@w", "A@W"),
                ("emails.value", "a@h", "a@h")
            ]
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut config = IndexConfig {
            users: Some(vec!["emails[type eq".into()]),
            groups: None,
            fresh_secs: 60,
            page_size: 100,
            pages_per_sec: 5,
        };
        assert!(DirectoryIndex::build(&config).is_err());
        config.users = Some(vec![]);
        config.page_size = 0;
        assert!(DirectoryIndex::build(&config).is_err());
    }
}
