//! An occupant, and how one bulk item changes it: fields left out stay unchanged, an explicit
//! `null` clears, every write is checked before anything is stored.

use serde::Serialize;
use serde_json::{Map, Value};

pub(super) type Fields = Map<String, Value>;

/// An occupant as stored and answered: every writable field is present (`null` when unset).
#[derive(Clone, Serialize)]
pub(super) struct Occupant {
    #[serde(rename = "userID")]
    pub user_id: String,
    #[serde(flatten)]
    pub fields: Fields,
    /// Soft deletion: the occupant stays, hidden from lists and lookups.
    pub deleted: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Flag,
}

/// The writable fields. `userID` and `deleted` belong to Maptician.
const WRITABLE: &[(&str, Kind)] = &[
    ("email", Kind::Text),
    ("firstName", Kind::Text),
    ("lastName", Kind::Text),
    ("title", Kind::Text),
    ("userType", Kind::Text),
    ("department", Kind::Text),
    ("organization", Kind::Text),
    ("employeeID", Kind::Text),
    ("externalId", Kind::Text),
    ("city", Kind::Text),
    ("state", Kind::Text),
    ("workPhone", Kind::Text),
    ("mobilePhone", Kind::Text),
    ("active", Kind::Flag),
];

/// A new occupant's fields before its first item is applied: all unset, active.
pub(super) fn blank() -> Fields {
    WRITABLE
        .iter()
        .map(|(name, kind)| {
            let value = if *kind == Kind::Flag {
                Value::Bool(true)
            } else {
                Value::Null
            };
            (name.to_string(), value)
        })
        .collect()
}

/// `current` with `changes` applied. An unknown field, a value of the wrong type, or a
/// missing or blank `email` is an item error; `active: null` puts it back to true.
pub(super) fn merged(current: &Fields, changes: Fields) -> Result<Fields, String> {
    let mut fields = current.clone();
    for (key, value) in changes {
        let Some(&(_, kind)) = WRITABLE.iter().find(|(name, _)| *name == key) else {
            return Err(format!("unknown field '{key}'"));
        };
        let value = match (kind, value) {
            (Kind::Flag, Value::Null) => Value::Bool(true),
            (_, Value::Null) => Value::Null,
            (Kind::Text, v @ Value::String(_)) | (Kind::Flag, v @ Value::Bool(_)) => v,
            (Kind::Text, _) => return Err(format!("'{key}' must be a string")),
            (Kind::Flag, _) => return Err(format!("'{key}' must be a boolean")),
        };
        fields.insert(key, value);
    }
    if email(&fields).is_none_or(|e| e.trim().is_empty()) {
        return Err("email is required".into());
    }
    Ok(fields)
}

pub(super) fn email(fields: &Fields) -> Option<&str> {
    fields.get("email").and_then(Value::as_str)
}
