//! The `user` and `permission` RPC methods.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use super::api::{RpcBody, RpcError};
use super::model::{new_uuid, Status, User};
use super::Rhombus;

type Answer = Result<Json<Value>, RpcError>;

/// `getUsersInOrg` and `getPermissionGroups` take `{}`; any JSON object is accepted.
type Empty = Map<String, Value>;

pub(super) async fn list(State(rhombus): State<Arc<Rhombus>>, _: RpcBody<Empty>) -> Answer {
    let users: Vec<_> = rhombus.db().users.values().cloned().collect();
    Ok(Json(json!({ "users": users, "error": false })))
}

pub(super) async fn permission_groups(
    State(rhombus): State<Arc<Rhombus>>,
    _: RpcBody<Empty>,
) -> Answer {
    Ok(Json(
        json!({ "permissionGroups": rhombus.permission_groups, "error": false }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FindRequest {
    email: Option<String>,
}

pub(super) async fn find_by_email(
    State(rhombus): State<Arc<Rhombus>>,
    RpcBody(request): RpcBody<FindRequest>,
) -> Answer {
    let email = request.email.unwrap_or_default();
    let db = rhombus.db();
    let user = db.users.values().find(|u| same_email(&u.email, &email));
    Ok(Json(json!({ "user": user, "error": false })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct CreateRequest {
    email: Option<String>,
    name: Option<String>,
    permission_group_uuid: Option<String>,
}

/// `createUser`: its own `responseStatus` on top of the usual error fields.
pub(super) async fn create(
    State(rhombus): State<Arc<Rhombus>>,
    RpcBody(request): RpcBody<CreateRequest>,
) -> Answer {
    let refused = |status: &str, message: &str| {
        Ok(Json(json!({
            "userUuid": null, "responseStatus": status, "error": true, "errorMsg": message,
        })))
    };
    let email = request.email.unwrap_or_default().trim().to_owned();
    let name = request.name.unwrap_or_default();
    let group = request.permission_group_uuid.unwrap_or_default();
    if !email.contains('@') {
        return refused("BAD_INPUT", "A valid email is required");
    }
    if name.trim().is_empty() {
        return refused("BAD_INPUT", "A name is required");
    }
    if !rhombus.permission_groups.iter().any(|g| g.uuid == group) {
        return refused("BAD_INPUT", "Unknown permission group");
    }
    let mut db = rhombus.db();
    if db.users.values().any(|u| same_email(&u.email, &email)) {
        return refused("USER_EXISTS", "A user with this email already exists");
    }
    let uuid = new_uuid();
    db.users
        .insert(uuid.clone(), User::new(uuid.clone(), email, &name, group));
    Ok(Json(
        json!({ "userUuid": uuid, "responseStatus": "SUCCESS", "error": false }),
    ))
}

/// Absent stays `None`; an explicit `null` is `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UpdateRequest {
    user_uuid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    permission_group_uuid: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    status: Option<Option<Status>>,
}

/// A field that may be changed but not cleared.
fn required<T>(field: Option<Option<T>>, name: &str) -> Result<Option<T>, RpcError> {
    match field {
        Some(None) => Err(RpcError::domain(format!("{name} cannot be null"))),
        Some(Some(value)) => Ok(Some(value)),
        None => Ok(None),
    }
}

/// `updateUserSelective`: fields left out are untouched, `null` clears (first and last
/// name only). Every check passes before anything changes.
pub(super) async fn update(
    State(rhombus): State<Arc<Rhombus>>,
    RpcBody(request): RpcBody<UpdateRequest>,
) -> Answer {
    let uuid = request.user_uuid.unwrap_or_default();
    let email = required(request.email, "email")?.map(|e| e.trim().to_owned());
    let group = required(request.permission_group_uuid, "permissionGroupUuid")?;
    let status = required(request.status, "status")?;
    let mut db = rhombus.db();
    if !db.users.contains(&uuid) {
        return Err(RpcError::domain("User not found"));
    }
    if let Some(email) = &email {
        if !email.contains('@') {
            return Err(RpcError::domain("A valid email is required"));
        }
        if db
            .users
            .values()
            .any(|u| u.uuid != uuid && same_email(&u.email, email))
        {
            return Err(RpcError::domain("A user with this email already exists"));
        }
    }
    if let Some(group) = &group {
        if !rhombus.permission_groups.iter().any(|g| &g.uuid == group) {
            return Err(RpcError::domain("Unknown permission group"));
        }
    }
    let user = db.users.get_mut(&uuid).expect("checked above, same lock");
    if let Some(email) = email {
        user.email = email;
    }
    if let Some(first) = request.first_name {
        user.first_name = first;
    }
    if let Some(last) = request.last_name {
        user.last_name = last;
    }
    if let Some(group) = group {
        user.permission_group_uuid = group;
    }
    if let Some(status) = status {
        user.status = status;
    }
    user.touch();
    Ok(Json(json!({ "error": false })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct DeleteRequest {
    user_uuid: Option<String>,
}

pub(super) async fn delete(
    State(rhombus): State<Arc<Rhombus>>,
    RpcBody(request): RpcBody<DeleteRequest>,
) -> Answer {
    let uuid = request.user_uuid.unwrap_or_default();
    match rhombus.db().users.remove(&uuid) {
        Some(_) => Ok(Json(json!({ "error": false }))),
        None => Err(RpcError::domain("User not found")),
    }
}

/// Emails are unique and looked up ignoring case, as addresses are in practice.
fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
