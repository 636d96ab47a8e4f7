//! MediusFlow's resources: users (PascalCase, integer `Id`), user configurations and roles.
//! A write body is parsed into the writable fields with unknown fields refused, so an
//! adapter's typo (`Firstname`) fails loudly instead of being silently lost.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::{without_id, ApiError};

/// A user as stored and answered.
#[derive(Clone, Serialize)]
pub(super) struct User {
    #[serde(rename = "Id")]
    pub id: u64,
    #[serde(flatten)]
    pub fields: UserFields,
}

/// What a POST or PUT writes. A field left out takes its default (null, `IsActive` true,
/// no roles or companies): PUT replaces the whole user.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct UserFields {
    pub user_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub formatted_name: Option<String>,
    pub email: Option<String>,
    #[serde(default = "active_by_default")]
    pub is_active: bool,
    pub external_id: Option<String>,
    pub manager_id: Option<u64>,
    pub identity_provider: Option<String>,
    pub name_identifier: Option<String>,
    pub custom_field_text1: Option<String>,
    pub custom_field_text2: Option<String>,
    pub custom_field_text3: Option<String>,
    pub custom_field_text4: Option<String>,
    pub custom_field_text5: Option<String>,
    pub configuration_name: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub companies: Vec<String>,
}

fn active_by_default() -> bool {
    true
}

impl UserFields {
    /// A user with nothing set (as a PUT of `{}` would leave it).
    pub fn empty() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("every field has a default")
    }

    /// The writable fields of a request body (its `Id`, if any, is ignored).
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let fields: UserFields = serde_json::from_value(without_id(body)?)
            .map_err(|e| ApiError::bad_request(format!("The request is invalid: {e}")))?;
        if fields
            .user_name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
        {
            return Err(ApiError::bad_request("UserName is required"));
        }
        Ok(fields)
    }
}

/// A named template for new users: the roles and companies they start with.
#[derive(Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Configuration {
    pub name: &'static str,
    pub roles: &'static [&'static str],
    pub companies: &'static [&'static str],
}

/// The configurations every tenant has (targets.md §4).
pub(super) const CONFIGURATIONS: &[Configuration] = &[
    Configuration {
        name: "Default",
        roles: &["User"],
        companies: &["Contoso AB"],
    },
    Configuration {
        name: "Approver",
        roles: &["User", "Approver"],
        companies: &["Contoso AB"],
    },
];

/// The configuration called `name` (ignoring case), or 400.
pub(super) fn configuration(name: &str) -> Result<&'static Configuration, ApiError> {
    CONFIGURATIONS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| ApiError::bad_request(format!("User configuration '{name}' does not exist")))
}

/// A role (what SCIM calls a group), with its members' user ids in the order they were added.
#[derive(Clone, Serialize)]
pub(super) struct Role {
    #[serde(rename = "Id")]
    pub id: u64,
    #[serde(flatten)]
    pub fields: RoleFields,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct RoleFields {
    pub name: Option<String>,
    pub external_id: Option<String>,
    #[serde(default)]
    pub user_ids: Vec<u64>,
}

impl RoleFields {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields: RoleFields = serde_json::from_value(without_id(body)?)
            .map_err(|e| ApiError::bad_request(format!("The request is invalid: {e}")))?;
        if fields.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(ApiError::bad_request("Name is required"));
        }
        dedup(&mut fields.user_ids);
        Ok(fields)
    }
}

/// `{"UserIds":[...]}`, the body of the role membership endpoints.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct UserIds {
    pub user_ids: Vec<u64>,
}

/// Keeps the first of each repeated id.
pub(super) fn dedup(ids: &mut Vec<u64>) {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
}

/// Case-insensitive equality of an optional text field with `wanted`: user names and role
/// names are unique and filtered ignoring case, as in Medius's SQL Server collation.
pub(super) fn same_text(value: Option<&str>, wanted: &str) -> bool {
    value.is_some_and(|v| v.to_lowercase() == wanted.to_lowercase())
}
