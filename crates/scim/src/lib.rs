//! The SCIM 2.0 protocol core of scimitar: errors, schemas, filters, PATCH, list queries,
//! projections and discovery documents, with Microsoft Entra ID's dialect normalised into
//! one canonical form on the way in.
//!
//! Everything here is pure (no I/O, no async) so the gateway can call it from any context and
//! every rule can be unit-tested.

mod coerce;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod normalize;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod select;
pub mod urn;
pub mod validate;

pub use error::{ScimError, MAX_RETRY_AFTER_SECS};
pub use filter::{AttrPath, CompareOp, Filter};
pub use list::{list_response, page, ListQuery};
pub use normalize::normalize_resource;
pub use patch::{
    apply_patch, parse_patch, split_member_changes, MemberChange, PatchOp, PatchOpKind, PatchPath,
};
pub use projection::project;
pub use schema::{schema_json, ResourceKind};
pub use select::values_at;
pub use urn::{
    ENTERPRISE_USER, ERROR, GROUP, LIST_RESPONSE, PATCH_OP, RESOURCE_TYPE, SCHEMA, SEARCH_REQUEST,
    SERVICE_PROVIDER_CONFIG, USER,
};
