//! SCIM PATCH (RFC 7644 §3.5.2): parsing Entra's dialect into canonical operations, applying
//! them to a JSON resource, and pulling group membership changes out for adapters.
//!
//! # Canonical form (what [`parse_patch`] guarantees)
//! - `op` is one of [`PatchOpKind`]; there is always a `path` (pathless ops are split, one op
//!   per attribute);
//! - attribute names are spelt as in the schema, URNs are canonical, and core-URN-qualified
//!   paths are plain (`urn:...:core:2.0:User:userName` → `userName`);
//! - values are coerced by the schema (string booleans, `$ref: null`, manager ids, role JSON);
//! - an `add`/`replace` whose value means "unassigned" (null, or an empty manager) is a
//!   `remove` with no value.
//!
//! # JSON form (`Serialize`)
//! `{"op":"add"|"replace"|"remove","path":"emails[type eq \"work\"].value","value":...}`;
//! `path` is the canonical path text and `value` is left out when absent.

mod apply;
mod members;
mod parse;
mod path;

use serde::Serialize;
use serde_json::Value;

pub use crate::schema::ResourceKind;
pub use apply::apply_patch;
pub use members::{split_member_changes, MemberChange};
pub use parse::parse_patch;
pub use path::PatchPath;

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

impl PatchOpKind {
    /// Parses an op name case-insensitively (Entra sends `Add`, `Replace`, `Remove`).
    pub fn from_name(name: &str) -> Option<Self> {
        [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name))
    }

    /// The lowercase op name.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        }
    }
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOp {
    pub op: PatchOpKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PatchPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

#[cfg(test)]
mod tests;
