//! Rhombus's objects: users and permission groups, with their uuids and timestamps.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum Status {
    Joined,
    Pending,
    Inactive,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub uuid: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Always `firstName lastName` (whichever are set): derived, never stored apart.
    pub name: String,
    pub status: Status,
    pub permission_group_uuid: String,
    pub created_at_millis: i64,
    pub updated_at_millis: i64,
}

impl User {
    /// A new, invited user. `name` is split at its first whitespace: Rhombus takes one
    /// name on create and reads first and last apart.
    pub fn new(uuid: String, email: String, name: &str, permission_group_uuid: String) -> Self {
        let (first, last) = match name.trim().split_once(char::is_whitespace) {
            Some((first, last)) => (first.to_owned(), Some(last.trim().to_owned())),
            None => (name.trim().to_owned(), None),
        };
        let now = now_millis();
        let mut user = User {
            uuid,
            email,
            first_name: Some(first),
            last_name: last,
            name: String::new(),
            status: Status::Pending,
            permission_group_uuid,
            created_at_millis: now,
            updated_at_millis: now,
        };
        user.touch();
        user
    }

    /// Recomputes `name` and `updatedAtMillis` after a change.
    pub fn touch(&mut self) {
        self.name = [&self.first_name, &self.last_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        self.updated_at_millis = now_millis();
    }
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct PermissionGroup {
    pub uuid: String,
    pub name: String,
    pub description: String,
}

impl PermissionGroup {
    /// The organisation's permission groups, as every Rhombus testbed starts with them.
    pub fn seeded() -> Vec<PermissionGroup> {
        [
            ("Admin", "Full access to the organisation"),
            ("Member", "Views and manages devices"),
            ("Viewer", "Read-only access"),
        ]
        .into_iter()
        .map(|(name, description)| PermissionGroup {
            uuid: new_uuid(),
            name: name.into(),
            description: description.into(),
        })
        .collect()
    }
}

/// A Rhombus uuid: 16 random bytes as 22 characters of URL-safe base64 (no padding).
pub(super) fn new_uuid() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_22_url_safe_characters() {
        let uuid = new_uuid();
        assert_eq!(uuid.len(), 22);
        assert!(uuid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn name_is_split_at_the_first_space() {
        let user = User::new("u".into(), "a@x".into(), " Mary Ann  Smith ", "g".into());
        assert_eq!(user.first_name.as_deref(), Some("Mary"));
        assert_eq!(user.last_name.as_deref(), Some("Ann  Smith"));
        assert_eq!(user.name, "Mary Ann  Smith");
        let single = User::new("u".into(), "a@x".into(), "Cher", "g".into());
        assert_eq!((single.last_name, single.name.as_str()), (None, "Cher"));
    }
}
