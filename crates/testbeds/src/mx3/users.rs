//! `/v1/users` (list by tag, batch create/update, read, update, delete) and `/v1/tags`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::api::{ok, ApiError, Org};
use super::Mx3;
use crate::extract::JsonBody;
use crate::random;
use crate::store::Collection;

#[derive(Clone, Serialize)]
pub(super) struct User {
    user_id: String,
    email: String,
    name_first: Option<String>,
    name_last: Option<String>,
    external_id: Option<String>,
    active: bool,
    tags: Vec<String>,
}

type Answer = Result<Json<Value>, ApiError>;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    tag: Option<String>,
}

pub(super) async fn list(
    State(mx3): State<Arc<Mx3>>,
    Extension(Org(org)): Extension<Org>,
    Query(query): Query<ListQuery>,
) -> Answer {
    let db = mx3.db();
    let users: Vec<&User> = db.organisations[org]
        .values()
        .filter(|u| query.tag.as_ref().is_none_or(|tag| u.tags.contains(tag)))
        .collect();
    Ok(ok(users))
}

pub(super) async fn get(
    State(mx3): State<Arc<Mx3>>,
    Extension(Org(org)): Extension<Org>,
    Path(id): Path<String>,
) -> Answer {
    let db = mx3.db();
    db.organisations[org]
        .get(&id)
        .map(ok)
        .ok_or_else(ApiError::not_found)
}

/// `POST /v1/users` with an array: items with a `user_id` update that user, the others
/// create one. Answers `[{"user_id"}]` in input order.
pub(super) async fn write_many(
    State(mx3): State<Arc<Mx3>>,
    Extension(Org(org)): Extension<Org>,
    JsonBody(body): JsonBody<Value>,
) -> Answer {
    let Value::Array(items) = body else {
        return Err(ApiError::bad_request("Expected a list of users."));
    };
    let ids = apply(&mut mx3.db().organisations[org], items)?;
    let data: Vec<_> = ids.iter().map(|id| json!({ "user_id": id })).collect();
    Ok(ok(data))
}

/// `POST /v1/users/{id}`: updates one user, answers it.
pub(super) async fn write_one(
    State(mx3): State<Arc<Mx3>>,
    Extension(Org(org)): Extension<Org>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Answer {
    let Value::Object(mut item) = body else {
        return Err(ApiError::bad_request("Expected a user object."));
    };
    item.insert("user_id".into(), Value::String(id.clone()));
    let mut db = mx3.db();
    let users = &mut db.organisations[org];
    apply(users, vec![Value::Object(item)])?;
    Ok(ok(users.get(&id)))
}

pub(super) async fn delete(
    State(mx3): State<Arc<Mx3>>,
    Extension(Org(org)): Extension<Org>,
    Path(id): Path<String>,
) -> Answer {
    match mx3.db().organisations[org].remove(&id) {
        Some(_) => Ok(ok(json!({ "user_id": id }))),
        None => Err(ApiError::not_found()),
    }
}

/// `GET /v1/tags`: every tag some user carries, with its member count, by name.
pub(super) async fn tags(
    State(mx3): State<Arc<Mx3>>,
    Extension(Org(org)): Extension<Org>,
) -> Answer {
    let db = mx3.db();
    let mut counts = BTreeMap::<&str, usize>::new();
    for tag in db.organisations[org].values().flat_map(|u| &u.tags) {
        *counts.entry(tag).or_default() += 1;
    }
    let tags: Vec<_> = counts
        .into_iter()
        .map(|(name, count)| json!({ "name": name, "count": count }))
        .collect();
    Ok(ok(tags))
}

/// Checks every item against the organisation's users as they will be after the whole
/// write, then commits all of it, or nothing. Answers the items' user ids in input order.
fn apply(users: &mut Collection<User>, items: Vec<Value>) -> Result<Vec<String>, ApiError> {
    let mut staged: Vec<User> = Vec::new();
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(item) = item else {
            return Err(ApiError::bad_request("Each user must be an object."));
        };
        let user = match item.get("user_id") {
            None | Some(Value::Null) => {
                staged.push(User::blank(new_id(users)));
                staged.last_mut().expect("just pushed")
            }
            Some(Value::String(id)) => match staged.iter().position(|u| &u.user_id == id) {
                Some(at) => &mut staged[at],
                None => {
                    staged.push(users.get(id).cloned().ok_or_else(ApiError::not_found)?);
                    staged.last_mut().expect("just pushed")
                }
            },
            Some(_) => return Err(ApiError::bad_request("user_id must be a string.")),
        };
        user.merge(item)?;
        ids.push(user.user_id.clone());
    }
    for user in &staged {
        let clash = |other: &User| {
            other.user_id != user.user_id && other.email.eq_ignore_ascii_case(&user.email)
        };
        let staged_ids = |other: &User| staged.iter().any(|s| s.user_id == other.user_id);
        if staged.iter().any(clash) || users.values().any(|u| !staged_ids(u) && clash(u)) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("A user with email {} already exists.", user.email),
            ));
        }
    }
    for user in staged {
        match users.get_mut(&user.user_id) {
            Some(existing) => *existing = user,
            None => users.insert(user.user_id.clone(), user),
        }
    }
    Ok(ids)
}

impl User {
    /// A pre-existing user of `seed` (see [`crate::seed`]), carrying `tags`.
    pub(super) fn seeded(account: crate::seed::SeedUser, tags: Vec<String>) -> Self {
        User {
            user_id: crate::random::uuid_v4(),
            email: account.email,
            name_first: Some(account.given.to_owned()),
            name_last: Some(account.family),
            external_id: Some(account.external_id),
            active: true,
            tags,
        }
    }

    pub(super) fn id(&self) -> &str {
        &self.user_id
    }

    /// A user about to be created: its fields come from the item merged next.
    fn blank(user_id: String) -> Self {
        User {
            user_id,
            email: String::new(),
            name_first: None,
            name_last: None,
            external_id: None,
            active: true,
            tags: Vec::new(),
        }
    }

    /// Writes an item's fields; `user_id` has already chosen the user.
    fn merge(&mut self, item: Map<String, Value>) -> Result<(), ApiError> {
        for (key, value) in item {
            match key.as_str() {
                "user_id" => {}
                "email" => match value {
                    Value::String(email) if email.contains('@') => {
                        self.email = email.trim().to_owned()
                    }
                    _ => return Err(ApiError::bad_request("email must be a valid address.")),
                },
                "name_first" => self.name_first = optional_text(&key, value)?,
                "name_last" => self.name_last = optional_text(&key, value)?,
                "external_id" => self.external_id = optional_text(&key, value)?,
                "active" => {
                    self.active = value
                        .as_bool()
                        .ok_or_else(|| ApiError::bad_request("active must be a boolean."))?
                }
                "tags" => self.tags = tag_list(value)?,
                other => return Err(ApiError::bad_request(format!("Unknown field {other}."))),
            }
        }
        if self.email.is_empty() {
            return Err(ApiError::bad_request("email is required."));
        }
        Ok(())
    }
}

fn optional_text(key: &str, value: Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        _ => Err(ApiError::bad_request(format!("{key} must be a string."))),
    }
}

/// A tag list: strings, kept in order without duplicates; `null` clears.
fn tag_list(value: Value) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::bad_request("tags must be a list of non-empty strings.");
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(invalid()),
    };
    let mut tags: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(tag) if !tag.trim().is_empty() => {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(tags)
}

/// A fresh UUIDv4, unused in `users`.
fn new_id(users: &Collection<User>) -> String {
    loop {
        let id = random::uuid_v4();
        if !users.contains(&id) {
            return id;
        }
    }
}
