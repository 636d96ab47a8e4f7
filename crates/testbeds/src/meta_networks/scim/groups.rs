//! `/Groups`: Meta's groups as SCIM Groups. `displayName` ↔ `name`, `members` ↔ `users`
//! (user ids only: Meta's groups hold users, not groups). Every write is judged by the native
//! model, like the native API's; a member that is no user is a 400 `invalidValue`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use scimitar_scim::{ResourceKind, ScimError, GROUP};
use serde_json::{json, Map, Value};

use super::errors::{Failure, ScimBody};
use super::{
    created, list_answer, list_query, member, no_content, ok, patch, projected, resource_object,
    string_attr, Endpoint,
};
use crate::meta_networks::model::{
    ensure_unique, new_id, now, text, Fields, Group, User, GROUP as GROUP_FIELDS, NEW_GROUP,
};
use crate::meta_networks::Meta;
use crate::store::Collection;

/// The SCIM form of a native group; members show their user's display name (or login).
pub(super) fn to_scim(group: &Group, users: &Collection<User>, base: &str) -> Value {
    let members: Vec<Value> = group
        .users
        .iter()
        .map(|id| {
            let display = users
                .get(id)
                .and_then(|user| text(&user.fields, "name").or(text(&user.fields, "email")));
            json!({
                "value": id,
                "display": display,
                "type": "User",
                "$ref": format!("{base}/Users/{id}"),
            })
        })
        .collect();
    json!({
        "schemas": [GROUP],
        "id": group.id,
        "displayName": text(&group.fields, "name"),
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": group.created_at,
            "lastModified": group.modified_at,
            "location": format!("{base}/Groups/{}", group.id),
        },
    })
}

/// What a SCIM group says, natively: the merge patch for its fields (`name`, `null` when left
/// out) and its member ids, in order and once each. Every member must be a user.
fn native(
    resource: &Map<String, Value>,
    users: &Collection<User>,
) -> Result<(Value, Vec<String>), Failure> {
    let name = string_attr(resource, "displayName", "displayName")?;
    let members = match member(resource, "members") {
        None => &Vec::new(),
        Some(Value::Array(members)) => members,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`members` must be an array, not {other}"
            ))
            .into())
        }
    };
    let mut ids: Vec<String> = Vec::new();
    for entry in members {
        let id = entry
            .as_object()
            .map(|entry| string_attr(entry, "value", "members.value"))
            .transpose()?
            .flatten()
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "a `members` element must be an object with a `value`, not {entry}"
                ))
            })?;
        if !users.contains(id) {
            return Err(ScimError::invalid_value(format!(
                "member {id:?} is not a user (Meta's groups hold users only)"
            ))
            .into());
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    Ok((json!({ "name": name }), ids))
}

pub(super) async fn list(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let query = list_query(raw.as_deref())?;
    let db = meta.db();
    let groups = db
        .groups
        .values()
        .map(|group| to_scim(group, &db.users, &endpoint.base))
        .collect();
    Ok(list_answer(groups, &query))
}

pub(super) async fn create(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    ScimBody(body): ScimBody,
) -> Result<Response, Failure> {
    let resource = resource_object(&body, GROUP)?;
    let mut db = meta.db();
    let (mut fields, users) = native(resource, &db.users)?;
    fields["provisioned_by"] = json!("SCIM");
    let fields = NEW_GROUP.merged(&Fields::new(), fields)?;
    ensure_unique(&db.groups, "name", &fields, None)?;
    let created_at = now();
    let group = Group {
        id: new_id("grp-", &db.groups),
        fields,
        users,
        idp_id: Some(endpoint.idp_id),
        modified_at: created_at.clone(),
        created_at,
    };
    db.groups.insert(group.id.clone(), group.clone());
    Ok(created(to_scim(&group, &db.users, &endpoint.base)))
}

pub(super) async fn get(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    Path((_, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let query = list_query(raw.as_deref())?;
    let db = meta.db();
    let group = db.groups.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(ok(projected(
        to_scim(group, &db.users, &endpoint.base),
        &query,
    )))
}

/// PUT: the group becomes what the body says, members included (none when left out).
pub(super) async fn replace(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    Path((_, id)): Path<(String, String)>,
    ScimBody(body): ScimBody,
) -> Result<Response, Failure> {
    let resource = resource_object(&body, GROUP)?.clone();
    write(&meta, &id, &endpoint.base, |_| Ok(resource))
}

/// PATCH: the operations are applied to the group's SCIM form, which is then written as a PUT
/// would be. Answers 200 with the group.
pub(super) async fn patch(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    Path((_, id)): Path<(String, String)>,
    ScimBody(body): ScimBody,
) -> Result<Response, Failure> {
    let ops = patch::operations(&body, ResourceKind::Group)?;
    write(
        &meta,
        &id,
        &endpoint.base,
        |current| match patch::applied(current, &ops)? {
            Value::Object(patched) => Ok(patched),
            _ => Err(ScimError::internal("a patched group is not an object").into()),
        },
    )
}

pub(super) async fn delete(
    State(meta): State<Arc<Meta>>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    meta.db().groups.remove(&id).ok_or_else(|| not_found(&id))?;
    Ok(no_content())
}

/// Sets group `id` to the SCIM group `change` computes from its current SCIM form, checked by
/// the model and for a unique name, all under one lock.
fn write(
    meta: &Meta,
    id: &str,
    base: &str,
    change: impl FnOnce(Value) -> Result<Map<String, Value>, Failure>,
) -> Result<Response, Failure> {
    let mut db = meta.db();
    let current = db.groups.get(id).ok_or_else(|| not_found(id))?;
    let resource = change(to_scim(current, &db.users, base))?;
    let (patch, users) = native(&resource, &db.users)?;
    let fields = GROUP_FIELDS.merged(&current.fields, patch)?;
    ensure_unique(&db.groups, "name", &fields, Some(id))?;
    let group = db
        .groups
        .get_mut(id)
        .expect("found above, under the same lock");
    if group.fields != fields {
        group.fields = fields;
        group.modified_at = now();
    }
    group.set_members(users);
    let group = group.clone();
    Ok(ok(to_scim(&group, &db.users, base)))
}

fn not_found(id: &str) -> Failure {
    ScimError::not_found(format!("group {id} not found")).into()
}
