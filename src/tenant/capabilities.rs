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

/// What Entra will ask of a translate tenant that its adapter cannot answer (each a SCIM 501
/// at run time): per resource type the script offers (or the `[schema]` declares extensions
/// of), the operations Entra's provisioning cycle uses.
pub fn missing_operations(adapter: &Adapter, declared: &TenantSchema) -> Vec<String> {
    let mut missing = Vec::new();
    for (kind, plural, endpoint, extensions) in [
        ("user", "users", "/Users", &declared.user_extensions),
        ("group", "groups", "/Groups", &declared.group_extensions),
    ] {
        if !adapter.defines(&format!("get_{kind}"), 1) {
            if !extensions.is_empty() {
                missing.push(format!(
                    "[schema] declares {kind} extensions, but the script has no get_{kind}(id), \
                     so there is no {endpoint}"
                ));
            }
            continue;
        }
        let needed = [
            (
                format!("list_{plural}"),
                1,
                "Entra matches by filter before it creates",
            ),
            (format!("create_{kind}"), 1, "Entra creates"),
            (format!("delete_{kind}"), 1, "Entra deletes on hard delete"),
        ];
        for (function, arity, why) in needed {
            if !adapter.defines(&function, arity) {
                missing.push(format!("no {function}(…): {why} on {endpoint}"));
            }
        }
        if !adapter.defines(&format!("patch_{kind}"), 2)
            && !adapter.defines(&format!("replace_{kind}"), 2)
        {
            missing.push(format!(
                "no patch_{kind}(id, patch) or replace_{kind}(id, resource): Entra updates \
                 {endpoint} with PATCH"
            ));
        }
    }
    missing
}
