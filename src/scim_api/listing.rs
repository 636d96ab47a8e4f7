//! `GET /Users`, `GET /Groups` and `.search`: a filter answered from what the gateway keeps
//! when it names a kept attribute, from the tenant's directory index when it names an
//! indexed one, otherwise by the adapter's list function —
//! whose page, when it cuts one natively, the gateway takes as it is (with native cursors
//! kept for the next page), never holding a whole directory to cut it.

use super::endpoint::noun_plural;
use super::message::ScimResponse;
use super::resources::Resources;
use crate::adapter::{json_to_dynamic, Listing};
use crate::directory;
use crate::failure::Failure;
use crate::metrics;
use scimitar_scim::list::{list_response, page, ListQuery};
use scimitar_scim::projection::project;
use scimitar_scim::ScimError;
use serde_json::{json, Value};

/// Resources an adapter may hand over at once for the gateway to filter and page; a longer
/// list is a whole directory, which the adapter must page natively instead.
const IN_MEMORY_AT_MOST: usize = 10_000;

impl Resources<'_> {
    pub async fn list(&self, query: &ListQuery) -> Result<ScimResponse, Failure> {
        let count = self.page_size(query);
        let found = match self.list_from_kept(query).await? {
            Some(found) => Some(found),
            None => self.list_from_index(query).await?,
        };
        if let Some(found) = found {
            let total = found.len() as u64;
            let cut = page(found, query.start_index, Some(count));
            return Ok(self.answer(cut, total, query, count));
        }
        let function = format!("list_{}", noun_plural(self.kind).to_ascii_lowercase());
        let filter_text = query
            .filter
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_default();
        let cursors = &self.call.tenant.cursors;
        let cursor = cursors.get(self.kind, &filter_text, query.start_index);
        let argument = list_argument(query, count, cursor);
        let answer = self
            .invoke(&function, vec![json_to_dynamic(&argument)])
            .await?;
        match Listing::parse(&function, answer)? {
            Listing::All(items) => {
                if items.len() > IN_MEMORY_AT_MOST {
                    // A filter the target cannot narrow down: more than the gateway will
                    // filter by itself (RFC 7644 `tooMany`); the adapter should page.
                    return Err(ScimError::too_many(format!(
                        "this filter would have the gateway look through {} resources (at most \
                         {IN_MEMORY_AT_MOST}): filter on an attribute the target or the \
                         tenant's index can match ({function} must answer a page)",
                        items.len()
                    ))
                    .into());
                }
                // The adapter may push the filter down loosely (or not at all): the gateway
                // checks every resource against the whole filter, so the answer is exact.
                let matching = self.matching(items, query).await?;
                let total = matching.len() as u64;
                let cut = page(matching, query.start_index, Some(count));
                Ok(self.answer(cut, total, query, count))
            }
            Listing::Page {
                resources,
                total,
                next,
            } => {
                let returned = resources.len();
                let mut found = self.matching(resources, query).await?;
                found.truncate(count);
                let total = match total {
                    Some(total) => total,
                    // Nothing follows: what came is all there is from here on.
                    None if next.is_null() => (query.start_index - 1 + returned) as u64,
                    None => self.index_total().await?.ok_or_else(|| {
                        Failure::script_fault(ScimError::internal(format!(
                            "{function} answered a page without a total: keep a count with \
                             [tenants.index] ({} = [])",
                            noun_plural(self.kind).to_ascii_lowercase()
                        )))
                    })?,
                };
                if !next.is_null() {
                    cursors.put(self.kind, &filter_text, query.start_index + returned, next);
                }
                Ok(self.answer(found, total, query, count))
            }
        }
    }

    /// The page size: what the client asked, within what discovery declares
    /// (`filter.maxResults`).
    fn page_size(&self, query: &ListQuery) -> usize {
        query.capped_count(self.call.tenant.capabilities.filter_max_results)
    }

    /// Every resource of `items` (as the adapter answered them, with what the gateway keeps
    /// of them) the whole filter matches.
    async fn matching(&self, items: Vec<Value>, query: &ListQuery) -> Result<Vec<Value>, Failure> {
        let mut resources = items
            .into_iter()
            .map(|item| self.shape(item))
            .collect::<Result<Vec<_>, _>>()?;
        self.put_kept(&mut resources).await?;
        resources.retain(|resource| query.filter.as_ref().is_none_or(|f| f.matches(resource)));
        Ok(resources)
    }

    fn answer(
        &self,
        mut found: Vec<Value>,
        total: u64,
        query: &ListQuery,
        count: usize,
    ) -> ScimResponse {
        found.truncate(count);
        for resource in &mut found {
            project(resource, &query.attributes, &query.excluded_attributes);
        }
        ScimResponse::ok(list_response(found, total as usize, query.start_index))
    }

    /// How many resources the tenant's index counts, when it counts this kind.
    async fn index_total(&self) -> Result<Option<u64>, Failure> {
        let tenant = self.call.tenant;
        if tenant
            .index
            .as_ref()
            .and_then(|i| i.of(self.kind))
            .is_none()
        {
            return Ok(None);
        }
        let store = &self.call.gateway.store;
        let mut state = directory::state(store, tenant, self.kind).await?;
        if state.total.is_none() {
            // No pass has counted the directory yet: one now, within the deadline.
            directory::sync::ensure_fresh(self.call.gateway, tenant, self.kind, self.call.deadline)
                .await?;
            state = directory::state(store, tenant, self.kind).await?;
        }
        Ok(state.total.and_then(|t| u64::try_from(t).ok()))
    }

    /// Every resource matching a filter whose equality names an indexed attribute, found
    /// through the index: each id it names is read and checked against the whole filter.
    /// A stale index is brought up to date before it may answer "none". `None`: the filter
    /// is not the index's to answer.
    async fn list_from_index(&self, query: &ListQuery) -> Result<Option<Vec<Value>>, Failure> {
        let tenant = self.call.tenant;
        let (Some(index), Some(filter)) = (tenant.index.as_ref(), query.filter.as_ref()) else {
            return Ok(None);
        };
        let Some((attribute, key)) = index.of(self.kind).and_then(|k| k.lookup_key(filter)) else {
            return Ok(None);
        };
        let store = &self.call.gateway.store;
        let mut rebuilt = false;
        loop {
            let mut matching = Vec::new();
            for id in directory::find(store, tenant, self.kind, attribute, &key).await? {
                match self.fetch_if_exists(&id).await? {
                    Some(resource) => {
                        directory::record(store, tenant, self.kind, &resource).await;
                        if filter.matches(&resource) {
                            matching.push(resource);
                        }
                    }
                    None => directory::forget(store, tenant, self.kind, &id).await,
                }
            }
            let fresh = || async {
                directory::state(store, tenant, self.kind)
                    .await
                    .map(|s| s.is_fresh(index.fresh))
            };
            if !matching.is_empty() || rebuilt || fresh().await? {
                let result = match (matching.is_empty(), rebuilt) {
                    (false, _) => "found",
                    (true, false) => "not_found",
                    (true, true) => "rebuilt",
                };
                metrics::INDEX_LOOKUPS
                    .with_label_values(&[&tenant.name, self.kind.name(), result])
                    .inc();
                return Ok(Some(matching));
            }
            directory::sync::ensure_fresh(self.call.gateway, tenant, self.kind, self.call.deadline)
                .await?;
            rebuilt = true;
        }
    }
}

/// What `list_{nouns}(query)` receives: the filter as an AST (to push down), the simple
/// `attribute eq value` case spelt out, the page the client asked for (and the native
/// cursor that leads there, when an earlier page left one), and what to return.
fn list_argument(query: &ListQuery, count: usize, cursor: Value) -> Value {
    let eq = query
        .filter
        .as_ref()
        .and_then(|f| f.simple_eq())
        .map(|(path, value)| json!({ "attribute": path.to_string(), "value": value }));
    json!({
        "filter": query.filter.as_ref().map(|f| serde_json::to_value(f).unwrap_or(Value::Null)),
        "eq": eq,
        "start_index": query.start_index,
        "count": count,
        "cursor": cursor,
        "attributes": query.attributes,
        "excluded_attributes": query.excluded_attributes,
    })
}
