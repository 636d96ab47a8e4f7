//! `Backend/Rest/Users`: list (with `userName=`, paged), create from a user configuration,
//! read, replace and delete; and `Backend/Rest/UserConfigurations`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{page, parse_id, ApiError, PageQuery};
use super::model::{configuration, same_text, User, UserFields, CONFIGURATIONS};
use super::{Db, Medius};
use crate::extract::{JsonBody, Params};

#[derive(Deserialize)]
pub(super) struct UserQuery {
    #[serde(rename = "userName")]
    user_name: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) async fn list(
    State(medius): State<Arc<Medius>>,
    Params(query): Params<UserQuery>,
) -> Result<Response, ApiError> {
    let db = medius.db();
    let wanted = query.user_name.as_deref();
    let users = db
        .users
        .values()
        .filter(|u| wanted.is_none_or(|w| same_text(u.fields.user_name.as_deref(), w)))
        .collect();
    page(users, &query.page)
}

/// The user starts with its configuration's roles and companies, ahead of any it was sent.
pub(super) async fn create(
    State(medius): State<Arc<Medius>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let mut fields = UserFields::parse(body)?;
    if let Some(name) = &fields.configuration_name {
        let config = configuration(name)?;
        fields.configuration_name = Some(config.name.to_owned());
        fields.roles = union(config.roles, &fields.roles);
        fields.companies = union(config.companies, &fields.companies);
    }
    let mut db = medius.db();
    check(&db, &fields, None)?;
    db.last_user_id += 1;
    let user = User {
        id: db.last_user_id,
        fields,
    };
    db.users.insert(user.id.to_string(), user.clone());
    Ok((StatusCode::CREATED, Json(user)))
}

pub(super) async fn get(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<User>, ApiError> {
    let id = parse_id("User", &id)?;
    medius.db().user(id).cloned().map(Json)
}

/// Replaces every field of the user with the body's (left out: default).
pub(super) async fn replace(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<User>, ApiError> {
    let id = parse_id("User", &id)?;
    let mut fields = UserFields::parse(body)?;
    if let Some(name) = &fields.configuration_name {
        fields.configuration_name = Some(configuration(name)?.name.to_owned());
    }
    let mut db = medius.db();
    db.user(id)?;
    check(&db, &fields, Some(id))?;
    let user = db
        .users
        .get_mut(&id.to_string())
        .expect("found above, under the same lock");
    user.fields = fields;
    Ok(Json(user.clone()))
}

/// 204; the user leaves every role, and its reports lose their manager.
pub(super) async fn delete(
    State(medius): State<Arc<Medius>>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("User", &id)?;
    let mut db = medius.db();
    db.user(id)?;
    db.users.remove(&id.to_string());
    for user in db.users.values_mut() {
        if user.fields.manager_id == Some(id) {
            user.fields.manager_id = None;
        }
    }
    for role in db.roles.values_mut() {
        role.fields.user_ids.retain(|member| *member != id);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn configurations() -> Json<Value> {
    Json(json!(CONFIGURATIONS))
}

/// A unique user name (409) and a manager that exists and is someone else (400).
fn check(db: &Db, fields: &UserFields, id: Option<u64>) -> Result<(), ApiError> {
    let name = fields.user_name.as_deref().unwrap_or_default();
    if let Some(other) = db
        .users
        .values()
        .find(|u| Some(u.id) != id && same_text(u.fields.user_name.as_deref(), name))
    {
        return Err(ApiError::conflict(format!(
            "User {} already has the user name '{name}'",
            other.id
        )));
    }
    match fields.manager_id {
        Some(manager) if Some(manager) == id => {
            Err(ApiError::bad_request("A user cannot be their own manager"))
        }
        Some(manager) => db.check_users_exist(&[manager]),
        None => Ok(()),
    }
}

/// `first`, then the items of `then` that are not in it yet.
fn union(first: &[&str], then: &[String]) -> Vec<String> {
    let mut all: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    for item in then {
        if !all.contains(item) {
            all.push(item.clone());
        }
    }
    all
}
