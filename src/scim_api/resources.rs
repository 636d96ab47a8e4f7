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
use crate::directory;
use crate::failure::Failure;
use crate::gateway::Invocation;
use crate::ordering::{name_key, resource_key};
use rhai::Dynamic;
use scimitar_scim::patch::{parse_patch, split_member_changes, MemberChange, PatchOp};
use scimitar_scim::validate::{check_declared, check_declared_ops};
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
    pub(super) async fn invoke(
        &self,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Result<Value, Failure> {
        self.require(function, args.len())?;
        self.call.call(function, args).await
    }

    pub async fn get(&self, id: &str) -> Result<ScimResponse, Failure> {
        let query = self.request.list_query()?;
        let mut resource = self.fetch(id).await?;
        project(&mut resource, &query.attributes, &query.excluded_attributes);
        Ok(ScimResponse::ok(resource))
    }

    /// The resource as the adapter returns it, shaped; SCIM 404 when it does not exist.
    pub(super) async fn fetch(&self, id: &str) -> Result<Value, Failure> {
        self.fetch_if_exists(id).await?.ok_or_else(|| {
            ScimError::not_found(format!("{} {id} not found", noun(self.kind))).into()
        })
    }

    /// The same, `None` when it does not exist.
    pub(super) async fn fetch_if_exists(&self, id: &str) -> Result<Option<Value>, Failure> {
        let found = self.invoke(&self.function("get"), vec![id.into()]).await?;
        if found.is_null() {
            return Ok(None);
        }
        let mut resource = self.shape(found)?;
        self.put_kept(std::slice::from_mut(&mut resource)).await?;
        Ok(Some(resource))
    }

    pub async fn create(&self) -> Result<ScimResponse, Failure> {
        let mut resource = self.normalized_body()?;
        let name = resource
            .get(self.name_attribute())
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut keys: Vec<String> = name.iter().map(|n| name_key(self.kind, n)).collect();
        keys.extend(user_keys(&member_ids(&resource)));
        self.lock(&keys).await?;
        let members = member_ids(&resource);
        let kept = self.kept_in(&resource);
        let mut created = if self.kind == ResourceKind::Group
            && !members.is_empty()
            && self.call.defines("add_members", 2)
        {
            resource["members"] = json!([]);
            self.create_group_then_add(resource, name.as_deref(), members)
                .await?
        } else {
            let created = self
                .invoke(
                    &self.function("create"),
                    vec![crate::adapter::json_to_dynamic(&resource)],
                )
                .await?;
            self.shape(created)?
        };
        let id = created["id"].as_str().unwrap_or_default().to_string();
        self.keep(&id, &kept, Some(&mut created)).await?;
        self.indexed(&created).await;
        self.counted(1).await;
        let location = created
            .pointer("/meta/location")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(ScimResponse::created(created, location))
    }

    /// A group created with members, when the adapter adds members separately: the group
    /// first, then its members. Should adding them fail, the group is deleted again, so
    /// that Entra's retry starts over instead of meeting a 409; should that fail too (the
    /// target is down), the gateway remembers the group, and the retry completes it.
    async fn create_group_then_add(
        &self,
        group: Value,
        name: Option<&str>,
        members: Vec<String>,
    ) -> Result<Value, Failure> {
        let pending = name.map(|n| format!("{PENDING_CREATE}{}", n.to_lowercase()));
        let id = match self.pending_group(pending.as_deref()).await {
            Some(id) => id,
            None => {
                let created = self
                    .invoke(
                        "create_group",
                        vec![crate::adapter::json_to_dynamic(&group)],
                    )
                    .await?;
                let id = self.shape(created)?["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some(key) = &pending {
                    self.remember(key, Some(&json!(id))).await;
                }
                id
            }
        };
        if let Err(failure) = self.add_members(&id, members).await {
            match self
                .call
                .call("delete_group", vec![id.as_str().into()])
                .await
            {
                Ok(_) => {
                    if let Some(key) = &pending {
                        self.remember(key, None).await;
                    }
                }
                Err(undo) => tracing::warn!(
                    tenant = %self.call.tenant.name,
                    group = %id,
                    detail = %undo.error().detail,
                    "a group whose members could not be added could not be deleted either; \
                     Entra's retry of the create completes it"
                ),
            }
            return Err(failure);
        }
        if let Some(key) = &pending {
            self.remember(key, None).await;
        }
        self.fetch(&id).await
    }

    /// The id of a group an earlier, failed create of the same name left at the target.
    async fn pending_group(&self, key: Option<&str>) -> Option<String> {
        let key = key?;
        let store = &self.call.gateway.store;
        let id = store
            .kv_get(&self.gateway_namespace(), key)
            .await
            .ok()??
            .as_str()?
            .to_string();
        match self.call.call("get_group", vec![id.as_str().into()]).await {
            Ok(found) if !found.is_null() => Some(id),
            _ => {
                self.remember(key, None).await;
                None
            }
        }
    }

    /// Records (or, for `None`, forgets) what the gateway itself must remember for the
    /// tenant, apart from the script's own keys. Best effort: losing it costs a 409 later.
    async fn remember(&self, key: &str, value: Option<&Value>) {
        let store = &self.call.gateway.store;
        let namespace = self.gateway_namespace();
        let written = match value {
            Some(value) => store.kv_set(&namespace, key, value).await,
            None => store.kv_remove(&namespace, key).await,
        };
        if let Err(error) = written {
            tracing::warn!(tenant = %self.call.tenant.name, %error, "the store failed to record a pending create");
        }
    }

    /// The tenant's key/value namespace for the gateway's own records: apart from the
    /// script's, so that neither can overwrite the other.
    fn gateway_namespace(&self) -> String {
        format!("{}\u{0}gateway", self.call.tenant.name)
    }

    fn name_attribute(&self) -> &'static str {
        match self.kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    /// The body, validated and normalised, with the tenant's declared extensions checked.
    fn normalized_body(&self) -> Result<Value, ScimError> {
        let resource = normalize_resource(self.request.json()?, self.kind)?;
        check_declared(&resource, &self.call.tenant.capabilities.custom_schemas)?;
        Ok(resource)
    }

    /// Takes the locks that order this request's writes with every other write of the
    /// same resources (see `crate::ordering`).
    async fn lock(&self, keys: &[String]) -> Result<(), Failure> {
        self.call
            .locks
            .take(keys)
            .await
            .map_err(|error| error.to_failure())
    }

    pub async fn replace(&self, id: &str) -> Result<ScimResponse, Failure> {
        let resource = self.normalized_body()?;
        let mut keys = vec![resource_key(self.kind, id)];
        keys.extend(user_keys(&member_ids(&resource)));
        self.lock(&keys).await?;
        let replaced = self
            .invoke(
                &self.function("replace"),
                vec![id.into(), crate::adapter::json_to_dynamic(&resource)],
            )
            .await?;
        let mut replaced = if replaced.is_null() {
            self.fetch(id).await?
        } else {
            self.shape(replaced)?
        };
        self.keep(id, &self.kept_in(&resource), Some(&mut replaced))
            .await?;
        self.indexed(&replaced).await;
        Ok(ScimResponse::ok(replaced))
    }

    pub async fn delete(&self, id: &str) -> Result<ScimResponse, Failure> {
        self.lock(&[resource_key(self.kind, id)]).await?;
        // What the script returns is not used: "not found" is only ever its explicit
        // `scim_error(404, …)`, never a last expression that happens to be `false`.
        self.invoke(&self.function("delete"), vec![id.into()])
            .await?;
        self.forget_kept(id).await;
        directory::forget(&self.call.gateway.store, self.call.tenant, self.kind, id).await;
        self.counted(-1).await;
        Ok(ScimResponse::no_content())
    }

    /// Keeps the tenant's directory index in step with what a write left at the target.
    async fn indexed(&self, resource: &Value) {
        directory::record(
            &self.call.gateway.store,
            self.call.tenant,
            self.kind,
            resource,
        )
        .await;
    }

    async fn counted(&self, delta: i64) {
        directory::count(&self.call.gateway.store, self.call.tenant, self.kind, delta).await;
    }

    /// PATCH: group membership goes to `add_members`/`remove_members` when the adapter has
    /// them; the other operations go to `patch_{noun}`, or, failing that, are applied to
    /// the resource in memory and written back with `replace_{noun}`.
    pub async fn patch(&self, id: &str) -> Result<ScimResponse, Failure> {
        let ops = parse_patch(&self.request.json()?, self.kind)?;
        check_declared_ops(&ops, &self.call.tenant.capabilities.custom_schemas)?;
        let mut keys = vec![resource_key(self.kind, id)];
        if self.kind == ResourceKind::Group {
            let (touched, _) = split_member_changes(ops.clone());
            keys.extend(touched.iter().flat_map(|change| match change {
                MemberChange::Add(ids) | MemberChange::Remove(ids) | MemberChange::Replace(ids) => {
                    user_keys(ids)
                }
                MemberChange::RemoveAll => Vec::new(),
            }));
        }
        self.lock(&keys).await?;
        let kept = self.kept_after(id, &ops).await?;
        let members_separately = self.kind == ResourceKind::Group
            && self.call.defines("add_members", 2)
            && self.call.defines("remove_members", 2);
        let (member_changes, ops) = if members_separately {
            split_member_changes(ops)
        } else {
            (Vec::new(), ops)
        };

        let mut patched = None;
        let attributes_changed = !ops.is_empty();
        if attributes_changed || member_changes.is_empty() {
            patched = self.patch_attributes(id, ops).await?;
        }
        for change in member_changes {
            self.change_members(id, change).await?;
        }
        let indexed = self
            .call
            .tenant
            .index
            .as_ref()
            .is_some_and(|i| i.of(self.kind).is_some());
        if patched.is_none() && (self.kind == ResourceKind::User || (indexed && attributes_changed))
        {
            // The answer (users), or what the index must now hold (a renamed group).
            patched = self.fetch_if_exists(id).await?;
        }
        if let Some(values) = &kept {
            self.keep(id, values, patched.as_mut()).await?;
        }
        if let Some(resource) = &patched {
            self.indexed(resource).await;
        }
        match (self.kind, patched) {
            // Entra expects 204 for groups (their members can be many).
            (ResourceKind::Group, _) => Ok(ScimResponse::no_content()),
            (ResourceKind::User, Some(resource)) => Ok(ScimResponse::ok(resource)),
            (ResourceKind::User, None) => {
                Err(ScimError::not_found(format!("user {id} not found")).into())
            }
        }
    }

    async fn patch_attributes(
        &self,
        id: &str,
        ops: Vec<PatchOp>,
    ) -> Result<Option<Value>, Failure> {
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

    async fn change_members(&self, id: &str, change: MemberChange) -> Result<(), Failure> {
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
        self.add_members(id, add).await?;
        if !remove.is_empty() {
            let ids: rhai::Array = remove.into_iter().map(Dynamic::from).collect();
            self.call
                .call("remove_members", vec![id.into(), ids.into()])
                .await?;
        }
        Ok(())
    }

    /// `add_members`, where a 404 means either that the group is gone or that a member
    /// does not exist: the group is looked up to tell which (a missing member is the
    /// client's 400, not a missing group).
    async fn add_members(&self, id: &str, add: Vec<String>) -> Result<(), Failure> {
        if add.is_empty() {
            return Ok(());
        }
        let ids: rhai::Array = add.iter().cloned().map(Dynamic::from).collect();
        match self
            .call
            .call("add_members", vec![id.into(), ids.into()])
            .await
        {
            Err(failure) if failure.status() == 404 => {
                let group = self.call.call("get_group", vec![id.into()]).await?;
                if group.is_null() {
                    return Err(failure);
                }
                Err(ScimError::invalid_value(format!(
                    "a member to add is not a user of the target application: {} ({})",
                    add.join(", "),
                    failure.error().detail
                ))
                .into())
            }
            other => other.map(|_| ()),
        }
    }

    /// Completes what the adapter returned into a SCIM resource: `schemas` and `meta`
    /// (`resourceType`, `location`), keeping what the adapter set itself. A value that is
    /// no resource is the script's fault.
    pub(super) fn shape(&self, resource: Value) -> Result<Value, Failure> {
        let Value::Object(mut map) = resource else {
            return Err(Failure::script_fault(ScimError::internal(format!(
                "the adapter returned a {} that is not an object",
                noun(self.kind)
            ))));
        };
        let Some(id) = map.get("id").and_then(id_text) else {
            return Err(Failure::script_fault(ScimError::internal(format!(
                "the adapter returned a {} without an id",
                noun(self.kind)
            ))));
        };
        map.insert("id".into(), Value::String(id.clone()));
        let schemas = schemas_of(&map, self.kind);
        map.insert("schemas".into(), schemas);
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

/// `schemas` of a resource: its core schema first, then what the adapter listed, then every
/// extension whose attributes it carries; each once.
fn schemas_of(resource: &serde_json::Map<String, Value>, kind: ResourceKind) -> Value {
    let listed = resource
        .get("schemas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let present = resource
        .iter()
        .filter(|(key, value)| {
            value.is_object() && key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        })
        .map(|(key, _)| key.as_str());
    let mut schemas: Vec<&str> = vec![core_schema(kind)];
    for urn in listed.chain(present) {
        if !schemas.iter().any(|s| s.eq_ignore_ascii_case(urn)) {
            schemas.push(urn);
        }
    }
    json!(schemas)
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

/// Lock keys of the users a membership change names.
fn user_keys(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| resource_key(ResourceKind::User, id))
        .collect()
}

/// Where the gateway remembers a group whose create failed half-way (its members could not
/// be added, nor the group deleted again), by lowercased `displayName`.
const PENDING_CREATE: &str = "pending-create:group:";

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
