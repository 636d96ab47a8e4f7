//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`, from the protocol core's
//! generators, with the schemas cut down to the attributes Meta keeps.

use axum::extract::Path;
use axum::response::Response;
use scimitar_scim::discovery::{self, Capabilities, ResourceTypeInfo};
use scimitar_scim::{ResourceKind, ScimError, GROUP, USER};
use serde_json::Value;

use super::errors::Failure;
use super::{ok, Endpoint, MAX_RESULTS};

/// What the endpoint supports: PATCH and filters; no bulk, sort, ETags or passwords; no
/// extension schemas (the enterprise `manager` is refused, the rest ignored).
fn capabilities() -> Capabilities {
    Capabilities {
        patch: true,
        filter_max_results: MAX_RESULTS,
        bulk: false,
        sort: false,
        etag: false,
        change_password: false,
        resource_types: [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .map(|kind| ResourceTypeInfo {
                kind,
                extensions: Vec::new(),
            })
            .collect(),
        // Meta refuses users without both names.
        required: vec!["name.givenName".into(), "name.familyName".into()],
        custom_schemas: Vec::new(),
    }
}

/// The attributes each schema keeps: those mapped onto Meta's fields.
fn kept(urn: &str) -> &'static [&'static str] {
    if urn == USER {
        &["userName", "name", "displayName", "active", "phoneNumbers"]
    } else if urn == GROUP {
        &["displayName", "members"]
    } else {
        &[]
    }
}

/// A schema document without the attributes Meta does not keep.
fn trimmed(mut schema: Value) -> Value {
    let keep = kept(schema["id"].as_str().unwrap_or_default());
    if let Some(Value::Array(attributes)) = schema.get_mut("attributes") {
        attributes.retain(|a| a["name"].as_str().is_some_and(|n| keep.contains(&n)));
    }
    schema
}

pub(super) async fn service_provider_config(endpoint: Endpoint) -> Response {
    ok(discovery::service_provider_config(
        &capabilities(),
        &endpoint.base,
    ))
}

pub(super) async fn resource_types(endpoint: Endpoint) -> Response {
    ok(discovery::resource_types(&capabilities(), &endpoint.base))
}

pub(super) async fn resource_type(
    endpoint: Endpoint,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, Failure> {
    discovery::resource_type(&capabilities(), &endpoint.base, &name)
        .map(ok)
        .ok_or_else(|| ScimError::not_found(format!("resource type {name} not found")).into())
}

pub(super) async fn schemas(endpoint: Endpoint) -> Response {
    let mut list = discovery::schemas(&capabilities(), &endpoint.base);
    if let Some(Value::Array(resources)) = list.get_mut("Resources") {
        for schema in resources.iter_mut() {
            *schema = trimmed(schema.take());
        }
    }
    ok(list)
}

pub(super) async fn schema(
    endpoint: Endpoint,
    Path((_, urn)): Path<(String, String)>,
) -> Result<Response, Failure> {
    discovery::schema(&capabilities(), &endpoint.base, &urn)
        .map(|schema| ok(trimmed(schema)))
        .ok_or_else(|| ScimError::not_found(format!("schema {urn} not found")).into())
}
