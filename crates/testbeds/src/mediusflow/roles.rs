//! `Backend/Rest/Roles`: list (with `name=`, paged), create, read, replace and delete roles
//! (SCIM groups), and change their members through `Roles/{Id}/Users`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::api::{page, parse_id, ApiError, PageQuery};
use super::model::{dedup, same_text, Role, RoleFields, UserIds};
use super::{Db, Medius};
use crate::extract::{JsonBody, Params};

#[derive(Deserialize)]
pub(super) struct RoleQuery {
    name: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) async fn list(
    State(medius): State<Arc<Medius>>,
    Params(query): Params<RoleQuery>,
) -> Result<Response, ApiError> {
    let db = medius.db();
    let wanted = query.name.as_deref();
    let roles = db
        .roles
        .values()
        .filter(|r| wanted.is_none_or(|w| same_text(r.fields.name.as_deref(), w)))
        .collect();
    page(roles, &query.page)
}

pub(super) async fn create(
    State(medius): State<Arc<Medius>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Role>), ApiError> {
    let fields = RoleFields::parse(body)?;
    let mut db = medius.db();
    check(&db, &fields, None)?;
    db.last_role_id += 1;
    let role = Role {
        id: db.last_role_id,
        fields,
    };
    db.roles.insert(role.id.to_string(), role.clone());
    Ok((StatusCode::CREATED, Json(role)))
}

pub(super) async fn get(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Role>, ApiError> {
    let id = parse_id("Role", &id)?;
    medius.db().role(id).cloned().map(Json)
}

/// Replaces the name, external id and members (left out: none).
pub(super) async fn replace(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Role>, ApiError> {
    let id = parse_id("Role", &id)?;
    let fields = RoleFields::parse(body)?;
    let mut db = medius.db();
    db.role(id)?;
    check(&db, &fields, Some(id))?;
    let role = db.roles.get_mut(&id.to_string()).expect("found above");
    role.fields = fields;
    Ok(Json(role.clone()))
}

pub(super) async fn delete(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("Role", &id)?;
    medius
        .db()
        .roles
        .remove(&id.to_string())
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| ApiError::not_found(format!("Role {id} was not found")))
}

/// `POST .../Roles/{Id}/Users` `{"UserIds":[...]}`: members already in stay once.
pub(super) async fn add_users(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UserIds>,
) -> Result<Json<Role>, ApiError> {
    change_members(&medius, &id, &body.user_ids, |members| {
        members.extend(&body.user_ids);
        dedup(members);
    })
}

/// `DELETE .../Roles/{Id}/Users` `{"UserIds":[...]}`: removing a non-member is a no-op.
pub(super) async fn remove_users(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UserIds>,
) -> Result<Json<Role>, ApiError> {
    change_members(&medius, &id, &body.user_ids, |members| {
        members.retain(|m| !body.user_ids.contains(m))
    })
}

/// Checks the role (404) and every user named (400) exist, with nothing changed otherwise,
/// then applies `change` to the members.
fn change_members(
    medius: &Medius,
    id: &str,
    users: &[u64],
    change: impl FnOnce(&mut Vec<u64>),
) -> Result<Json<Role>, ApiError> {
    let id = parse_id("Role", id)?;
    let mut db = medius.db();
    db.role(id)?;
    db.check_users_exist(users)?;
    let role = db.roles.get_mut(&id.to_string()).expect("found above");
    change(&mut role.fields.user_ids);
    Ok(Json(role.clone()))
}

/// A unique name (409) and members that exist (400).
fn check(db: &Db, fields: &RoleFields, id: Option<u64>) -> Result<(), ApiError> {
    let name = fields.name.as_deref().unwrap_or_default();
    if let Some(other) = db
        .roles
        .values()
        .find(|r| Some(r.id) != id && same_text(r.fields.name.as_deref(), name))
    {
        return Err(ApiError::conflict(format!(
            "Role {} already has the name '{name}'",
            other.id
        )));
    }
    db.check_users_exist(&fields.user_ids)
}
