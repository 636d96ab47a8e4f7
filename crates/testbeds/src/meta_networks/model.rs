//! Meta's resources, and the one validation path every write goes through: a create is a JSON
//! merge patch (RFC 7396) applied to an empty resource, so create and PATCH cannot drift apart.

use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::api::ApiError;
use crate::random;
use crate::store::Collection;

pub(super) type Fields = Map<String, Value>;

/// A user. `fields` holds the writable fields, absent when unset (a `null` in a PATCH removes
/// one, so it is also absent from answers).
#[derive(Clone, Serialize)]
pub(super) struct User {
    pub id: String,
    pub org_id: String,
    #[serde(flatten)]
    pub fields: Fields,
    pub roles: Vec<String>,
    pub tags: Vec<String>,
    /// The SCIM integration (IdP id) that created the user through `/v1/scim/{idp_id}`;
    /// absent for users made through the native API. Read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_id: Option<String>,
    pub created_at: String,
    pub modified_at: String,
}

/// A group; `users` holds member ids in the order they were added.
#[derive(Clone, Serialize)]
pub(super) struct Group {
    pub id: String,
    #[serde(flatten)]
    pub fields: Fields,
    pub users: Vec<String>,
    /// As for [`User::idp_id`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_id: Option<String>,
    pub created_at: String,
    pub modified_at: String,
}

/// What the handlers need from users and groups alike.
pub(super) trait Resource {
    /// The name used in messages: `user 'usr-...' not found`.
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn fields(&self) -> &Fields;
}

impl Resource for User {
    const KIND: &'static str = "user";
    fn id(&self) -> &str {
        &self.id
    }
    fn fields(&self) -> &Fields {
        &self.fields
    }
}

impl Resource for Group {
    const KIND: &'static str = "group";
    fn id(&self) -> &str {
        &self.id
    }
    fn fields(&self) -> &Fields {
        &self.fields
    }
}

impl Group {
    /// Replaces the member list, touching `modified_at` only when it changed.
    pub fn set_members(&mut self, users: Vec<String>) {
        if users != self.users {
            self.users = users;
            self.modified_at = now();
        }
    }
}

/// The resource `id`, or 404 `not_found`.
pub(super) fn found<'a, T: Resource>(
    items: &'a Collection<T>,
    id: &str,
) -> Result<&'a T, ApiError> {
    items
        .get(id)
        .ok_or_else(|| ApiError::not_found(T::KIND, id))
}

/// 409 `conflict` when another resource than `except` has the same `key` (ignoring case).
pub(super) fn ensure_unique<T: Resource>(
    items: &Collection<T>,
    key: &str,
    fields: &Fields,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let Some(wanted) = text(fields, key) else {
        return Ok(());
    };
    match items
        .values()
        .find(|item| Some(item.id()) != except && text_is(item.fields(), key, wanted))
    {
        Some(other) => Err(ApiError::conflict(format!(
            "{} {} already has {key} {wanted:?}",
            T::KIND,
            other.id()
        ))),
        None => Ok(()),
    }
}

/// The JSON type a writable field must have.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Flag,
}

/// Which fields a write may carry. Read-only fields are ignored, so that a client may send back
/// an object it read; any other unknown field is a 400 `unknown_field`, so that an adapter's
/// typo (`givenName`) fails loudly instead of being silently lost.
pub(super) struct Schema {
    writable: &'static [(&'static str, Kind)],
    read_only: &'static [&'static str],
    /// Present and not blank after every write: a PATCH cannot remove or blank them either.
    required: &'static [&'static str],
}

pub(super) const USER: Schema = Schema {
    writable: &[
        ("email", Kind::Text),
        ("enabled", Kind::Flag),
        ("given_name", Kind::Text),
        ("family_name", Kind::Text),
        ("name", Kind::Text),
        ("phone", Kind::Text),
        ("description", Kind::Text),
        ("provisioned_by", Kind::Text),
    ],
    read_only: &[
        "id",
        "org_id",
        "created_at",
        "modified_at",
        "roles",
        "tags",
        "idp_id",
    ],
    required: &["email", "given_name", "family_name"],
};

/// `provisioned_by` is read-only on groups, except that their creator sets it.
pub(super) const NEW_GROUP: Schema = Schema {
    writable: &[
        ("name", Kind::Text),
        ("description", Kind::Text),
        ("provisioned_by", Kind::Text),
    ],
    read_only: &["id", "users", "created_at", "modified_at", "idp_id"],
    required: &["name"],
};

pub(super) const GROUP: Schema = Schema {
    writable: &[("name", Kind::Text), ("description", Kind::Text)],
    read_only: &[
        "id",
        "users",
        "created_at",
        "modified_at",
        "provisioned_by",
        "idp_id",
    ],
    required: &["name"],
};

impl Schema {
    /// `current` with the merge patch `body` applied, checked against the schema. `current` is
    /// left alone so that a later check (a conflict, say) can still reject the write.
    pub fn merged(&self, current: &Fields, body: Value) -> Result<Fields, ApiError> {
        let Value::Object(patch) = body else {
            return Err(ApiError::bad_request(
                "invalid_json",
                "the body must be a JSON object",
            ));
        };
        let mut fields = current.clone();
        for (key, value) in patch {
            if self.read_only.contains(&key.as_str()) {
                continue;
            }
            let Some(&(_, kind)) = self.writable.iter().find(|(name, _)| *name == key) else {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!("unknown field `{key}`"),
                ));
            };
            match (kind, &value) {
                (_, Value::Null) => {
                    fields.remove(&key);
                }
                (Kind::Text, Value::String(_)) | (Kind::Flag, Value::Bool(_)) => {
                    fields.insert(key, value);
                }
                (Kind::Text, _) => return Err(wrong_type(&key, "a string")),
                (Kind::Flag, _) => return Err(wrong_type(&key, "a boolean")),
            }
        }
        if let Some(missing) = self
            .required
            .iter()
            .find(|key| text(&fields, key).is_none_or(|v| v.trim().is_empty()))
        {
            return Err(ApiError::bad_request(
                "missing_field",
                format!("`{missing}` is required"),
            ));
        }
        Ok(fields)
    }
}

fn wrong_type(key: &str, expected: &str) -> ApiError {
    ApiError::bad_request("invalid_json", format!("`{key}` must be {expected}"))
}

/// A user's fields after the merge patch `body`: checked, `enabled` defaulting to true (so a
/// `null` puts it back to its default) and `phone` in E.164.
pub(super) fn user_fields(current: &Fields, body: Value) -> Result<Fields, ApiError> {
    let mut fields = USER.merged(current, body)?;
    fields.entry("enabled").or_insert(Value::Bool(true));
    if let Some(phone) = text(&fields, "phone") {
        check_phone(phone)?;
    }
    Ok(fields)
}

/// 400 `invalid_phone` unless `phone` is in E.164.
pub(super) fn check_phone(phone: &str) -> Result<(), ApiError> {
    if is_e164(phone) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "invalid_phone",
        format!("`phone` must be in E.164 format (+16175551212), not {phone:?}"),
    ))
}

/// `^\+[1-9][0-9]{1,14}$`.
fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A text field's value, if set.
pub(super) fn text<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Value::as_str)
}

/// Whether a text field equals `wanted`, ignoring case: emails and group names are unique and
/// filtered without regard to case, as email addresses are in practice.
pub(super) fn text_is(fields: &Fields, key: &str, wanted: &str) -> bool {
    text(fields, key).is_some_and(|v| v.to_lowercase() == wanted.to_lowercase())
}

/// A new id: `prefix` and 10 lowercase base36 characters, unused in `existing`.
pub(super) fn new_id<T>(prefix: &str, existing: &Collection<T>) -> String {
    loop {
        let id = format!("{prefix}{}", random::base36(10));
        if !existing.contains(&id) {
            return id;
        }
    }
}

/// The current time in RFC 3339, UTC (`2024-05-01T12:00:00.123456789Z`).
pub(super) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("the current time is representable in RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn e164() {
        for good in ["+16175551212", "+12", "+123456789012345"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in [
            "16175551212",
            "+0123",
            "+1",
            "+1234567890123456",
            "+1 617",
            "+1-617",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn merge_patch_semantics() {
        let created = user_fields(
            &Fields::new(),
            json!({"email":"a@x.io","given_name":"A","family_name":"B","phone":"+15550001","id":"ignored"}),
        )
        .unwrap();
        assert_eq!(created["enabled"], json!(true));
        assert!(!created.contains_key("id"));
        let patched = user_fields(&created, json!({"phone":null,"enabled":false})).unwrap();
        assert!(!patched.contains_key("phone"));
        assert_eq!(patched["enabled"], json!(false));
        let code = |body| user_fields(&created, body).unwrap_err().code;
        assert_eq!(code(json!({"given_name":" "})), "missing_field");
        assert_eq!(code(json!({"family_name":null})), "missing_field");
        assert_eq!(code(json!({"givenName":"A"})), "unknown_field");
        assert_eq!(code(json!({"enabled":"false"})), "invalid_json");
        assert_eq!(code(json!([])), "invalid_json");
        assert_eq!(code(json!({"phone":"617-555-1212"})), "invalid_phone");
    }
}
