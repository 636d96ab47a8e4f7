//! `/v1/groups`: list (with `name=`), create, read, merge-patch and delete groups, and change
//! their members with `add_users` / `remove_users`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::api::{page, ApiError, MergePatch, PageQuery};
use super::model::{
    ensure_unique, found, new_id, now, text_is, Fields, Group, Resource, User, GROUP, NEW_GROUP,
};
use super::Meta;
use crate::extract::{JsonBody, Params};
use crate::store::Collection;

#[derive(Deserialize)]
pub(super) struct GroupQuery {
    /// Exact match, ignoring case.
    name: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) async fn list(
    State(meta): State<Arc<Meta>>,
    Params(query): Params<GroupQuery>,
) -> Result<Json<Value>, ApiError> {
    let name = query.name.as_deref();
    page(&meta.db().groups, &query.page, |group| {
        name.is_none_or(|n| text_is(&group.fields, "name", n))
    })
}

pub(super) async fn create(
    State(meta): State<Arc<Meta>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Group>, ApiError> {
    let fields = NEW_GROUP.merged(&Fields::new(), body)?;
    let mut db = meta.db();
    ensure_unique(&db.groups, "name", &fields, None)?;
    let created_at = now();
    let group = Group {
        id: new_id("grp-", &db.groups),
        fields,
        users: Vec::new(),
        idp_id: None,
        modified_at: created_at.clone(),
        created_at,
    };
    db.groups.insert(group.id.clone(), group.clone());
    Ok(Json(group))
}

pub(super) async fn get(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
) -> Result<Json<Group>, ApiError> {
    found(&meta.db().groups, &id).cloned().map(Json)
}

pub(super) async fn patch(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
    MergePatch(body): MergePatch,
) -> Result<Json<Group>, ApiError> {
    let mut db = meta.db();
    let fields = GROUP.merged(&found(&db.groups, &id)?.fields, body)?;
    ensure_unique(&db.groups, "name", &fields, Some(&id))?;
    let group = db
        .groups
        .get_mut(&id)
        .expect("found above, under the same lock");
    group.fields = fields;
    group.modified_at = now();
    Ok(Json(group.clone()))
}

/// Answers the deleted group.
pub(super) async fn delete(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
) -> Result<Json<Group>, ApiError> {
    let mut db = meta.db();
    db.groups
        .remove(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(Group::KIND, &id))
}

/// `POST /v1/groups/{id}/add_users` with `["usr-...", ...]`; members already in stay once.
pub(super) async fn add_users(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
    JsonBody(users): JsonBody<Vec<String>>,
) -> Result<Json<Group>, ApiError> {
    change_members(&meta, &id, &users, |members| {
        let mut members = members.to_vec();
        for user in &users {
            if !members.contains(user) {
                members.push(user.clone());
            }
        }
        members
    })
}

/// `POST /v1/groups/{id}/remove_users` with `["usr-...", ...]`; non-members are no-ops.
pub(super) async fn remove_users(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
    JsonBody(users): JsonBody<Vec<String>>,
) -> Result<Json<Group>, ApiError> {
    change_members(&meta, &id, &users, |members| without(members, &users))
}

/// Checks the group and every user in `users` exist (404 `not_found` otherwise, with nothing
/// changed), then sets the members to `change(current members)`.
fn change_members(
    meta: &Meta,
    id: &str,
    users: &[String],
    change: impl FnOnce(&[String]) -> Vec<String>,
) -> Result<Json<Group>, ApiError> {
    let mut db = meta.db();
    found(&db.groups, id)?;
    if let Some(unknown) = users.iter().find(|user| !db.users.contains(user)) {
        return Err(ApiError::not_found(User::KIND, unknown));
    }
    let group = db
        .groups
        .get_mut(id)
        .expect("found above, under the same lock");
    group.set_members(change(&group.users));
    Ok(Json(group.clone()))
}

/// Takes a deleted user out of every group it was in.
pub(super) fn forget_member(groups: &mut Collection<Group>, user: &str) {
    let gone = [user.to_owned()];
    for group in groups.values_mut() {
        group.set_members(without(&group.users, &gone));
    }
}

fn without(members: &[String], removed: &[String]) -> Vec<String> {
    members
        .iter()
        .filter(|member| !removed.contains(member))
        .cloned()
        .collect()
}
