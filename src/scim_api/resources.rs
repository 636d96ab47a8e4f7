//! Users and Groups: each SCIM operation turned into calls of the tenant's adapter.
//!
//! Function names follow the resource: `get_user(id)`, `list_users(query)`,
//! `create_user(resource)`, `replace_user(id, resource)`, `patch_user(id, patch)`,
//! `delete_user(id)`, the same for groups, plus `add_members(group_id, ids)` and
//! `remove_members(group_id, ids)`. What the script leaves out the gateway either composes
//! from what it has (PATCH as get + apply + replace) or answers with SCIM 501.

use super::endpoint::{noun, noun_plural};
use super::message::{ScimRequest, ScimResponse};
use crate::adapter::PatchHandle;
use crate::gateway::Invocation;
use rhai::Dynamic;
use scimitar_scim::list::{list_response, ListQuery};
use scimitar_scim::patch::{parse_patch, split_member_changes, MemberChange, PatchOp};
use scimitar_scim::ResourceKind;
use scimitar_scim::{normalize::normalize_resource, projection::project, ScimError};
use serde_json::{json, Value};

pub struct Resources<'a> {
    pub call: Invocation<'a>,
    pub kind: ResourceKind,
    pub request: &'a ScimRequest,
}

impl Resources<'_> {
    fn function(&self, verb: &str) -> String {
        format!("{verb}_{}", noun(self.kind))
    }

    fn require(&self, function: &str, arity: usize) -> Result<(), ScimError> {
        if self.call.defines(function, arity) {
            Ok(())
        } else {
            Err(ScimError::not_implemented(format!(
                "this tenant's adapter does not implement {function}"
            )))
        }
    }

    /// Calls `function` if the adapter has it, else SCIM 501.
    async fn invoke(&self, function: &str, args: Vec<Dynamic>) -> Result<Value, ScimError> {
        self.require(function, args.len())?;
        self.call.call(function, args).await
    }

    pub async fn get(&self, id: &str) -> Result<ScimResponse, ScimError> {
        let query = ListQuery::from_query_string(&self.request.query)?;
        let mut resource = self.fetch(id).await?;
        project(&mut resource, &query.attributes, &query.excluded_attributes);
        Ok(ScimResponse::ok(resource))
    }

    /// The resource as the adapter returns it, shaped; SCIM 404 when it does not exist.
    async fn fetch(&self, id: &str) -> Result<Value, ScimError> {
        let found = self.invoke(&self.function("get"), vec![id.into()]).await?;
        if found.is_null() {
            return Err(ScimError::not_found(format!(
                "{} {id} not found",
                noun(self.kind)
            )));
        }
        self.shape(found)
    }

    pub async fn list(&self, query: ListQuery) -> Result<ScimResponse, ScimError> {
        let function = format!("list_{}", noun_plural(self.kind).to_ascii_lowercase());
        let argument = list_argument(&query);
        let answer = self
            .invoke(&function, vec![crate::adapter::json_to_dynamic(&argument)])
            .await?;
        let listed = match answer {
            Value::Array(items) => items,
            Value::Object(mut map) => {
                match map.remove("resources").or_else(|| map.remove("Resources")) {
                    Some(Value::Array(items)) => items,
                    _ => {
                        return Err(ScimError::internal(format!(
                            "{function} must return an array of resources"
                        )))
                    }
                }
            }
            Value::Null => Vec::new(),
            _ => {
                return Err(ScimError::internal(format!(
                    "{function} must return an array of resources"
                )))
            }
        };
        // The adapter may push the filter down loosely (or not at all): the gateway checks
        // every resource against the whole filter, so the answer is always exact.
        let mut matching = Vec::with_capacity(listed.len());
        for item in listed {
            let resource = self.shape(item)?;
            if query.filter.as_ref().is_none_or(|f| f.matches(&resource)) {
                matching.push(resource);
            }
        }
        let total = matching.len();
        let mut page = scimitar_scim::list::page(matching, query.start_index, query.count);
        for resource in &mut page {
            project(resource, &query.attributes, &query.excluded_attributes);
        }
        Ok(ScimResponse::ok(list_response(
            page,
            total,
            query.start_index,
        )))
    }

    pub async fn create(&self) -> Result<ScimResponse, ScimError> {
        let resource = normalize_resource(self.request.json()?, self.kind)?;
        let created = self
            .invoke(
                &self.function("create"),
                vec![crate::adapter::json_to_dynamic(&resource)],
            )
            .await?;
        let created = self.shape(created)?;
        let location = created
            .pointer("/meta/location")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(ScimResponse::created(created, location))
    }

    pub async fn replace(&self, id: &str) -> Result<ScimResponse, ScimError> {
        let resource = normalize_resource(self.request.json()?, self.kind)?;
        let replaced = self
            .invoke(
                &self.function("replace"),
                vec![id.into(), crate::adapter::json_to_dynamic(&resource)],
            )
            .await?;
        let replaced = if replaced.is_null() {
            self.fetch(id).await?
        } else {
            self.shape(replaced)?
        };
        Ok(ScimResponse::ok(replaced))
    }

    pub async fn delete(&self, id: &str) -> Result<ScimResponse, ScimError> {
        let answer = self
            .invoke(&self.function("delete"), vec![id.into()])
            .await?;
        if answer == Value::Bool(false) {
            return Err(ScimError::not_found(format!(
                "{} {id} not found",
                noun(self.kind)
            )));
        }
        Ok(ScimResponse::no_content())
    }

    /// PATCH: group membership goes to `add_members`/`remove_members` when the adapter has
    /// them; the other operations go to `patch_{noun}`, or, failing that, are applied to
    /// the resource in memory and written back with `replace_{noun}`.
    pub async fn patch(&self, id: &str) -> Result<ScimResponse, ScimError> {
        let ops = parse_patch(&self.request.json()?, self.kind)?;
        let members_separately = self.kind == ResourceKind::Group
            && self.call.defines("add_members", 2)
            && self.call.defines("remove_members", 2);
        let (member_changes, ops) = if members_separately {
            split_member_changes(ops)
        } else {
            (Vec::new(), ops)
        };

        let mut patched = None;
        if !ops.is_empty() || member_changes.is_empty() {
            patched = self.patch_attributes(id, ops).await?;
        }
        for change in member_changes {
            self.change_members(id, change).await?;
        }
        match self.kind {
            // Entra expects 204 for groups (their members can be many).
            ResourceKind::Group => Ok(ScimResponse::no_content()),
            ResourceKind::User => {
                let resource = match patched {
                    Some(resource) => resource,
                    None => self.fetch(id).await?,
                };
                Ok(ScimResponse::ok(resource))
            }
        }
    }

    async fn patch_attributes(
        &self,
        id: &str,
        ops: Vec<PatchOp>,
    ) -> Result<Option<Value>, ScimError> {
        let patch_fn = self.function("patch");
        if self.call.defines(&patch_fn, 2) {
            let result = self
                .call
                .call(
                    &patch_fn,
                    vec![id.into(), Dynamic::from(PatchHandle::new(ops))],
                )
                .await?;
            return Ok(if result.is_null() {
                None
            } else {
                Some(self.shape(result)?)
            });
        }
        let replace_fn = self.function("replace");
        self.require(&replace_fn, 2)?;
        let mut resource = self.fetch(id).await?;
        scimitar_scim::patch::apply_patch(&mut resource, &ops)?;
        let replaced = self
            .call
            .call(
                &replace_fn,
                vec![id.into(), crate::adapter::json_to_dynamic(&resource)],
            )
            .await?;
        Ok(if replaced.is_null() {
            None
        } else {
            Some(self.shape(replaced)?)
        })
    }

    async fn change_members(&self, id: &str, change: MemberChange) -> Result<(), ScimError> {
        let (add, remove) = match change {
            MemberChange::Add(ids) => (ids, Vec::new()),
            MemberChange::Remove(ids) => (Vec::new(), ids),
            MemberChange::RemoveAll => (Vec::new(), member_ids(&self.fetch(id).await?)),
            MemberChange::Replace(wanted) => {
                let current = member_ids(&self.fetch(id).await?);
                let add = wanted
                    .iter()
                    .filter(|w| !current.contains(w))
                    .cloned()
                    .collect();
                let remove = current
                    .into_iter()
                    .filter(|c| !wanted.contains(c))
                    .collect();
                (add, remove)
            }
        };
        for (function, ids) in [("add_members", add), ("remove_members", remove)] {
            if !ids.is_empty() {
                let ids: rhai::Array = ids.into_iter().map(Dynamic::from).collect();
                self.call
                    .call(function, vec![id.into(), ids.into()])
                    .await?;
            }
        }
        Ok(())
    }

    /// Completes what the adapter returned into a SCIM resource: `schemas` and `meta`
    /// (`resourceType`, `location`), keeping what the adapter set itself.
    fn shape(&self, resource: Value) -> Result<Value, ScimError> {
        let Value::Object(mut map) = resource else {
            return Err(ScimError::internal(format!(
                "the adapter returned a {} that is not an object",
                noun(self.kind)
            )));
        };
        let Some(id) = map.get("id").and_then(id_text) else {
            return Err(ScimError::internal(format!(
                "the adapter returned a {} without an id",
                noun(self.kind)
            )));
        };
        map.insert("id".into(), Value::String(id.clone()));
        map.entry("schemas")
            .or_insert_with(|| json!([core_schema(self.kind)]));
        let resource_type = match self.kind {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        };
        let location = format!(
            "{}/{}/{}",
            self.request.base_url,
            noun_plural(self.kind),
            urlencode(&id)
        );
        let version = version_of(&map);
        let meta = map.entry("meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert("resourceType".into(), resource_type.into());
            meta.insert("location".into(), location.into());
            meta.entry("version").or_insert(version.into());
        }
        Ok(Value::Object(map))
    }
}

/// A weak entity tag of the resource's content (its `meta` left out), for `meta.version`
/// when the target has no version of its own: it changes exactly when the resource does.
fn version_of(resource: &serde_json::Map<String, Value>) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for (key, value) in resource.iter().filter(|(k, _)| k.as_str() != "meta") {
        hasher.update(key.as_bytes());
        hasher.update(value.to_string().as_bytes());
    }
    format!("W/\"{}\"", hex::encode(&hasher.finalize()[..8]))
}

fn core_schema(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => scimitar_scim::USER,
        ResourceKind::Group => scimitar_scim::GROUP,
    }
}

/// Ids may come back from scripts as numbers (e.g. integer native ids).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn member_ids(group: &Value) -> Vec<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("value").and_then(id_text))
                .collect()
        })
        .unwrap_or_default()
}

/// Characters an id cannot carry as-is in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?');

fn urlencode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

/// What `list_{nouns}(query)` receives: the filter as an AST (to push down), the simple
/// `attribute eq value` case spelt out, and the paging the client asked for.
fn list_argument(query: &ListQuery) -> Value {
    let eq = query
        .filter
        .as_ref()
        .and_then(|f| f.simple_eq())
        .map(|(path, value)| json!({ "attribute": path.to_string(), "value": value }));
    json!({
        "filter": query.filter.as_ref().map(|f| serde_json::to_value(f).unwrap_or(Value::Null)),
        "eq": eq,
        "start_index": query.start_index,
        "count": query.count,
    })
}
