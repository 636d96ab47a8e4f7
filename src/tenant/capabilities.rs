//! What a tenant offers through discovery (`/ServiceProviderConfig`, `/ResourceTypes`,
//! `/Schemas`), computed once when the tenant is built from what its adapter defines.

use crate::adapter::Adapter;
use crate::config::TenantSchema;
use scimitar_scim::discovery::{Capabilities, CustomSchema, ResourceTypeInfo};
use scimitar_scim::ResourceKind;

/// A resource type is offered when the adapter can at least read it, with the extensions
/// and required attributes the tenant's `[schema]` declares.
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
