//! `/Users`: Meta's users as SCIM Users. `userName` ↔ `email`, `name.givenName` /
//! `name.familyName` ↔ `given_name` / `family_name`, `displayName` ↔ `name`, `active` ↔
//! `enabled`, the `work` phone number ↔ `phone`. Every write is turned into a native merge
//! patch and judged by the native model, so both APIs hold users to the same rules.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use scimitar_scim::{urn, ResourceKind, ScimError, ENTERPRISE_USER, USER};
use serde_json::{json, Map, Value};

use super::errors::{Failure, ScimBody};
use super::{
    created, list_answer, list_query, member, no_content, ok, patch, projected, resource_object,
    string_attr, Endpoint,
};
use crate::meta_networks::groups::forget_member;
use crate::meta_networks::model::{
    check_phone, ensure_unique, new_id, now, text, user_fields, Fields, User,
};
use crate::meta_networks::Meta;

/// Why `emails` and `manager` are refused, as Meta's documentation puts it.
const NOT_ACCEPTED: &str = "emails and manager are not accepted since 2022";

/// The SCIM form of a native user.
pub(super) fn to_scim(user: &User, base: &str) -> Value {
    let fields = &user.fields;
    let mut resource = json!({
        "schemas": [USER],
        "id": user.id,
        "userName": text(fields, "email"),
        "name": {
            "givenName": text(fields, "given_name"),
            "familyName": text(fields, "family_name"),
        },
        "active": fields.get("enabled").cloned().unwrap_or(Value::Bool(true)),
        "meta": {
            "resourceType": "User",
            "created": user.created_at,
            "lastModified": user.modified_at,
            "location": format!("{base}/Users/{}", user.id),
        },
    });
    if let Some(name) = text(fields, "name") {
        resource["displayName"] = json!(name);
    }
    if let Some(phone) = text(fields, "phone") {
        resource["phoneNumbers"] = json!([{"value": phone, "type": "work", "primary": true}]);
    }
    resource
}

/// The native merge patch that makes a user hold exactly what the SCIM `resource` says: every
/// mapped field is set, or `null` (cleared) when the resource leaves it out. Fields SCIM does
/// not map (`description`, `provisioned_by`) are not touched.
fn native_patch(resource: &Map<String, Value>) -> Result<Value, Failure> {
    if let Some(emails) = member(resource, "emails").filter(|v| *v != &json!([])) {
        return Err(ScimError::invalid_value(format!(
            "`emails` is not accepted ({NOT_ACCEPTED}); the login is `userName`, not {emails}"
        ))
        .into());
    }
    let enterprise = resource
        .iter()
        .filter(|(key, _)| urn::canonical_schema(key) == Some(ENTERPRISE_USER))
        .filter_map(|(_, value)| value.as_object());
    if enterprise
        .into_iter()
        .any(|ext| member(ext, "manager").is_some())
    {
        return Err(ScimError::invalid_value(format!(
            "the enterprise `manager` is not accepted ({NOT_ACCEPTED})"
        ))
        .into());
    }
    let (given, family) = match member(resource, "name") {
        None => (None, None),
        Some(Value::Object(name)) => (
            string_attr(name, "givenName", "name.givenName")?,
            string_attr(name, "familyName", "name.familyName")?,
        ),
        Some(other) => {
            return Err(
                ScimError::invalid_value(format!("`name` must be an object, not {other}")).into(),
            )
        }
    };
    let active = match member(resource, "active") {
        None => Value::Null,
        Some(Value::Bool(active)) => Value::Bool(*active),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`active` must be a boolean (true or false), not {other}"
            ))
            .into())
        }
    };
    Ok(json!({
        "email": string_attr(resource, "userName", "userName")?,
        "given_name": given,
        "family_name": family,
        "name": string_attr(resource, "displayName", "displayName")?,
        "phone": phone(resource)?,
        "enabled": active,
    }))
}

/// The one phone number Meta keeps: the `work` one, else the primary one, else the first.
/// Every number sent must be E.164 all the same, by the native rule.
fn phone(resource: &Map<String, Value>) -> Result<Option<String>, Failure> {
    let numbers = match member(resource, "phoneNumbers") {
        None => return Ok(None),
        Some(Value::Array(numbers)) => numbers,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`phoneNumbers` must be an array, not {other}"
            ))
            .into())
        }
    };
    let mut values = Vec::new();
    for number in numbers {
        let Some(object) = number.as_object() else {
            return Err(ScimError::invalid_value(format!(
                "a `phoneNumbers` element must be an object, not {number}"
            ))
            .into());
        };
        let Some(value) = string_attr(object, "value", "phoneNumbers.value")? else {
            return Err(
                ScimError::invalid_value("every `phoneNumbers` element needs a `value`").into(),
            );
        };
        check_phone(value)?;
        let is_work = member(object, "type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("work"));
        let is_primary = member(object, "primary") == Some(&Value::Bool(true));
        let rank = if is_work {
            0
        } else if is_primary {
            1
        } else {
            2
        };
        values.push((rank, value));
    }
    // `min_by_key` keeps the first of equals, so "first" wins among the same rank.
    Ok(values
        .into_iter()
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, value)| value.to_owned()))
}

pub(super) async fn list(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let query = list_query(raw.as_deref())?;
    let users = meta
        .db()
        .users
        .values()
        .map(|user| to_scim(user, &endpoint.base))
        .collect();
    Ok(list_answer(users, &query))
}

pub(super) async fn create(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    ScimBody(body): ScimBody,
) -> Result<Response, Failure> {
    let mut native = native_patch(resource_object(&body, USER)?)?;
    native["provisioned_by"] = json!("SCIM");
    let fields = user_fields(&Fields::new(), native)?;
    let mut db = meta.db();
    ensure_unique(&db.users, "email", &fields, None)?;
    let created_at = now();
    let user = User {
        id: new_id("usr-", &db.users),
        org_id: meta.org_id.clone(),
        fields,
        roles: Vec::new(),
        tags: Vec::new(),
        idp_id: Some(endpoint.idp_id),
        modified_at: created_at.clone(),
        created_at,
    };
    db.users.insert(user.id.clone(), user.clone());
    Ok(created(to_scim(&user, &endpoint.base)))
}

pub(super) async fn get(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    Path((_, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let query = list_query(raw.as_deref())?;
    let user = meta
        .db()
        .users
        .get(&id)
        .cloned()
        .ok_or_else(|| not_found(&id))?;
    let resource = to_scim(&user, &endpoint.base);
    Ok(ok(projected(resource, &query)))
}

/// PUT: the user becomes what the body says; mapped attributes it leaves out are cleared.
pub(super) async fn replace(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    Path((_, id)): Path<(String, String)>,
    ScimBody(body): ScimBody,
) -> Result<Response, Failure> {
    let native = native_patch(resource_object(&body, USER)?)?;
    write(&meta, &id, &endpoint.base, |_| Ok(native))
}

/// PATCH: the operations are applied to the user's SCIM form, which is then written as a PUT
/// would be. Answers 200 with the user.
pub(super) async fn patch(
    State(meta): State<Arc<Meta>>,
    endpoint: Endpoint,
    Path((_, id)): Path<(String, String)>,
    ScimBody(body): ScimBody,
) -> Result<Response, Failure> {
    let ops = patch::operations(&body, ResourceKind::User)?;
    write(&meta, &id, &endpoint.base, |current| {
        let patched = patch::applied(to_scim(current, &endpoint.base), &ops)?;
        native_patch(patched.as_object().expect("a SCIM user is an object"))
    })
}

/// 204; the user also leaves every group.
pub(super) async fn delete(
    State(meta): State<Arc<Meta>>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let mut db = meta.db();
    db.users.remove(&id).ok_or_else(|| not_found(&id))?;
    forget_member(&mut db.groups, &id);
    Ok(no_content())
}

/// Sets user `id` to the native merge patch `change` computes from it, checked by the model
/// and for a unique email, all under one lock.
fn write(
    meta: &Meta,
    id: &str,
    base: &str,
    change: impl FnOnce(&User) -> Result<Value, Failure>,
) -> Result<Response, Failure> {
    let mut db = meta.db();
    let current = db.users.get(id).ok_or_else(|| not_found(id))?;
    let fields = user_fields(&current.fields, change(current)?)?;
    ensure_unique(&db.users, "email", &fields, Some(id))?;
    let user = db
        .users
        .get_mut(id)
        .expect("found above, under the same lock");
    user.fields = fields;
    user.modified_at = now();
    Ok(ok(to_scim(user, base)))
}

fn not_found(id: &str) -> Failure {
    ScimError::not_found(format!("user {id} not found")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn work_phone_wins_and_every_phone_is_checked() {
        let numbers = |list: Value| phone(&object(json!({ "phoneNumbers": list })));
        assert_eq!(
            numbers(
                json!([{"value":"+15550001","type":"mobile"},{"value":"+15550002","type":"Work"}])
            )
            .unwrap()
            .as_deref(),
            Some("+15550002")
        );
        assert_eq!(
            numbers(json!([{"value":"+15550001"},{"value":"+15550002","primary":true}]))
                .unwrap()
                .as_deref(),
            Some("+15550002")
        );
        let Failure(error) =
            numbers(json!([{"value":"+15550001","type":"work"},{"value":"555 0002"}])).unwrap_err();
        assert_eq!(error.scim_type.as_deref(), Some("invalidValue"));
        assert!(error.detail.contains("E.164"), "{}", error.detail);
    }

    #[test]
    fn emails_manager_and_string_booleans_are_refused() {
        for body in [
            json!({"emails": [{"value": "a@x.io", "type": "work"}]}),
            json!({(ENTERPRISE_USER): {"manager": {"value": "usr-1"}}}),
            json!({"active": "False"}),
            json!({"name": {"givenName": 7}}),
        ] {
            let Failure(error) = native_patch(&object(body.clone())).unwrap_err();
            assert_eq!(error.scim_type.as_deref(), Some("invalidValue"), "{body}");
        }
        let allowed = native_patch(&object(json!({"emails": [], "userName": "a@x.io"}))).unwrap();
        assert_eq!(allowed["email"], "a@x.io");
        assert_eq!(allowed["phone"], Value::Null);
    }
}
