//! `/v1/users`: list (with `email=`), create, read, merge-patch and delete users.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::api::{page, ApiError, MergePatch, PageQuery};
use super::groups;
use super::model::{
    ensure_unique, found, new_id, now, text_is, user_fields, Fields, Resource, User,
};
use super::Meta;
use crate::extract::{JsonBody, Params};

#[derive(Deserialize)]
pub(super) struct UserQuery {
    /// Exact match, ignoring case.
    email: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) async fn list(
    State(meta): State<Arc<Meta>>,
    Params(query): Params<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let email = query.email.as_deref();
    page(&meta.db().users, &query.page, |user| {
        email.is_none_or(|e| text_is(&user.fields, "email", e))
    })
}

pub(super) async fn create(
    State(meta): State<Arc<Meta>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<User>, ApiError> {
    let fields = user_fields(&Fields::new(), body)?;
    let mut db = meta.db();
    ensure_unique(&db.users, "email", &fields, None)?;
    let created_at = now();
    let user = User {
        id: new_id("usr-", &db.users),
        org_id: meta.org_id.clone(),
        fields,
        roles: Vec::new(),
        tags: Vec::new(),
        idp_id: None,
        modified_at: created_at.clone(),
        created_at,
    };
    db.users.insert(user.id.clone(), user.clone());
    Ok(Json(user))
}

pub(super) async fn get(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    found(&meta.db().users, &id).cloned().map(Json)
}

pub(super) async fn patch(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
    MergePatch(body): MergePatch,
) -> Result<Json<User>, ApiError> {
    let mut db = meta.db();
    let fields = user_fields(&found(&db.users, &id)?.fields, body)?;
    ensure_unique(&db.users, "email", &fields, Some(&id))?;
    let user = db
        .users
        .get_mut(&id)
        .expect("found above, under the same lock");
    user.fields = fields;
    user.modified_at = now();
    Ok(Json(user.clone()))
}

/// Answers the deleted user, and takes it out of every group.
pub(super) async fn delete(
    State(meta): State<Arc<Meta>>,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let mut db = meta.db();
    let user = db
        .users
        .remove(&id)
        .ok_or_else(|| ApiError::not_found(User::KIND, &id))?;
    groups::forget_member(&mut db.groups, &id);
    Ok(Json(user))
}
