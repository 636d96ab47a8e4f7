//! Discovery endpoints generated per tenant from what its adapter really implements, so
//! that `/ResourceTypes` and `/Schemas` never promise what the tenant cannot do.

use super::message::ScimResponse;
use scimitar_scim::discovery::{self, Capabilities};
use scimitar_scim::ResourceKind;
use scimitar_scim::ScimError;

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
