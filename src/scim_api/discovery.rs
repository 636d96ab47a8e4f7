//! Discovery endpoints generated per tenant from what its adapter really implements, so
//! that `/ResourceTypes` and `/Schemas` never promise what the tenant cannot do.

use super::message::ScimResponse;
use crate::adapter::Adapter;
use crate::config::TenantSchema;
use scimitar_scim::discovery::{self, Capabilities, CustomSchema, ResourceTypeInfo};
use scimitar_scim::ResourceKind;
use scimitar_scim::ScimError;

/// A resource type is offered when the adapter can at least read it, with the extensions
/// and required attributes the tenant's `[schema]` declares.
/// Computed once per tenant when it is built (see `Tenant::capabilities`).
pub fn capabilities(adapter: &Adapter, declared: &TenantSchema) -> Capabilities {
    let mut resource_types = Vec::new();
    if adapter.defines("get_user", 1) {
        resource_types.push(ResourceTypeInfo {
            kind: ResourceKind::User,
            extensions: declared.user_extensions.clone(),
        });
    }
    if adapter.defines("get_group", 1) {
        resource_types.push(ResourceTypeInfo {
            kind: ResourceKind::Group,
            extensions: declared.group_extensions.clone(),
        });
    }
    let patch = adapter.defines("patch_user", 2)
        || adapter.defines("patch_group", 2)
        || adapter.defines("replace_user", 2)
        || adapter.defines("replace_group", 2);
    Capabilities {
        patch,
        filter_max_results: 1000,
        bulk: false,
        sort: false,
        etag: false,
        change_password: false,
        resource_types,
        required: declared.required.clone(),
        custom_schemas: declared
            .custom
            .iter()
            .map(|c| CustomSchema {
                urn: c.urn.clone(),
                name: c.name.clone(),
                attributes: c.attributes.clone(),
            })
            .collect(),
    }
}

pub fn supports(capabilities: &Capabilities, kind: ResourceKind) -> bool {
    capabilities.resource_types.iter().any(|t| t.kind == kind)
}

pub fn service_provider_config(capabilities: &Capabilities, base_url: &str) -> serde_json::Value {
    discovery::service_provider_config(capabilities, base_url)
}

pub fn schemas(
    capabilities: &Capabilities,
    base_url: &str,
    id: Option<&str>,
) -> Result<ScimResponse, ScimError> {
    match id {
        None => Ok(ScimResponse::ok(discovery::schemas(capabilities, base_url))),
        Some(urn) => discovery::schema(capabilities, base_url, urn)
            .map(ScimResponse::ok)
            .ok_or_else(|| {
                ScimError::not_found(format!("schema {urn} is not offered by this tenant"))
            }),
    }
}

pub fn resource_types(
    capabilities: &Capabilities,
    base_url: &str,
    id: Option<&str>,
) -> Result<ScimResponse, ScimError> {
    match id {
        None => Ok(ScimResponse::ok(discovery::resource_types(
            capabilities,
            base_url,
        ))),
        Some(name) => discovery::resource_type(capabilities, base_url, name)
            .map(ScimResponse::ok)
            .ok_or_else(|| {
                ScimError::not_found(format!(
                    "resource type {name} is not offered by this tenant"
                ))
            }),
    }
}
