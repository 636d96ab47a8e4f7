//! Discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//!
//! They are generated per tenant from [`Capabilities`] — what the tenant's adapter supports —
//! so a client is never told about an operation or resource type that would then fail.

use serde_json::{json, Value};

use crate::list::list_response;
use crate::schema::{core_schema, schema_json, ResourceKind};
use crate::urn::{RESOURCE_TYPE, SERVICE_PROVIDER_CONFIG};

/// What one tenant supports.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    pub patch: bool,
    pub filter_max_results: usize,
    pub bulk: bool,
    pub sort: bool,
    pub etag: bool,
    pub change_password: bool,
    pub resource_types: Vec<ResourceTypeInfo>,
    /// Attributes the target requires beyond what the schemas require (`name.givenName`,
    /// `roles`, `urn:…:User:department`): marked `required` in `/Schemas`, so that a client
    /// learns them before it is refused.
    pub required: Vec<String>,
    /// Extension schemas this crate has no definition of, declared by the tenant.
    pub custom_schemas: Vec<CustomSchema>,
}

/// A tenant's own extension schema (e.g. MediusFlow's `urn:…:medius:2.0:User`): every
/// attribute a single-valued, read-write, case-insensitive string.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSchema {
    pub urn: String,
    pub name: String,
    pub attributes: Vec<String>,
}

/// A resource type the tenant serves, with the extension schema URNs it supports.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTypeInfo {
    pub kind: ResourceKind,
    pub extensions: Vec<String>,
}

/// The `/ServiceProviderConfig` document (RFC 7643 §5). Authentication is an OAuth bearer
/// token, which is what Entra sends.
pub fn service_provider_config(caps: &Capabilities, base_url: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": caps.patch},
        "bulk": {"supported": caps.bulk, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": caps.filter_max_results},
        "changePassword": {"supported": caps.change_password},
        "sort": {"supported": caps.sort},
        "etag": {"supported": caps.etag},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": meta("ServiceProviderConfig", format!("{}/ServiceProviderConfig", trim(base_url))),
    })
}

/// The `/ResourceTypes` ListResponse.
pub fn resource_types(caps: &Capabilities, base_url: &str) -> Value {
    let all: Vec<Value> = caps
        .resource_types
        .iter()
        .map(|info| resource_type_json(info, base_url))
        .collect();
    let total = all.len();
    list_response(all, total, 1)
}

/// One resource type by name (`User`, `Group`; case-insensitive), if the tenant serves it.
pub fn resource_type(caps: &Capabilities, base_url: &str, name: &str) -> Option<Value> {
    let kind = ResourceKind::from_name(name)?;
    caps.resource_types
        .iter()
        .find(|info| info.kind == kind)
        .map(|info| resource_type_json(info, base_url))
}

/// The `/Schemas` ListResponse: the core schema of every served type and every supported
/// extension this crate has a definition for.
pub fn schemas(caps: &Capabilities, base_url: &str) -> Value {
    let all: Vec<Value> = supported_schemas(caps)
        .filter_map(|urn| schema_with_meta(caps, urn, base_url))
        .collect();
    let total = all.len();
    list_response(all, total, 1)
}

/// One schema by URN, if the tenant supports it.
pub fn schema(caps: &Capabilities, base_url: &str, urn: &str) -> Option<Value> {
    supported_schemas(caps)
        .find(|s| s.eq_ignore_ascii_case(urn))
        .and_then(|s| schema_with_meta(caps, s, base_url))
}

fn supported_schemas(caps: &Capabilities) -> impl Iterator<Item = &str> {
    caps.resource_types.iter().flat_map(|info| {
        std::iter::once(info.kind.schema_urn()).chain(info.extensions.iter().map(String::as_str))
    })
}

fn schema_with_meta(caps: &Capabilities, urn: &str, base_url: &str) -> Option<Value> {
    let mut schema = schema_json(urn).or_else(|| {
        let custom = caps
            .custom_schemas
            .iter()
            .find(|c| c.urn.eq_ignore_ascii_case(urn))?;
        Some(custom_schema_json(custom))
    })?;
    for path in &caps.required {
        mark_required(&mut schema, urn, path);
    }
    let location = format!(
        "{}/Schemas/{}",
        trim(base_url),
        schema["id"].as_str().unwrap_or(urn)
    );
    schema["meta"] = meta("Schema", location);
    Some(schema)
}

fn custom_schema_json(custom: &CustomSchema) -> Value {
    let attributes: Vec<Value> = custom
        .attributes
        .iter()
        .map(|name| {
            json!({
                "name": name, "type": "string", "multiValued": false,
                "description": format!("The {name} attribute."), "required": false,
                "caseExact": false, "mutability": "readWrite", "returned": "default",
                "uniqueness": "none",
            })
        })
        .collect();
    json!({
        "schemas": [crate::urn::SCHEMA],
        "id": custom.urn,
        "name": custom.name,
        "description": format!("{} extension", custom.name),
        "attributes": attributes,
    })
}

/// Sets `required: true` on the attribute (or sub-attribute) `path` names, when it belongs
/// to the schema `urn` (paths without a URN belong to the core schemas).
fn mark_required(schema: &mut Value, urn: &str, path: &str) {
    let (path_urn, rest) = match crate::urn::split_qualified(path) {
        Some((u, rest)) => (Some(u), rest),
        None => (None, path),
    };
    let belongs = match &path_urn {
        Some(u) => u.eq_ignore_ascii_case(urn),
        None => crate::urn::is_core(urn),
    };
    if !belongs {
        return;
    }
    // A required sub-attribute makes its parent required too: it cannot be sent without it.
    let mut names = rest.split('.');
    let Some(first) = names.next() else { return };
    let Some(mut attribute) = find_attribute(&mut schema["attributes"], first) else {
        return;
    };
    attribute["required"] = Value::Bool(true);
    for sub in names {
        match find_attribute(&mut attribute["subAttributes"], sub) {
            Some(inner) => {
                inner["required"] = Value::Bool(true);
                attribute = inner;
            }
            None => return,
        }
    }
}

fn find_attribute<'a>(list: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    list.as_array_mut()?.iter_mut().find(|a| {
        a["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn resource_type_json(info: &ResourceTypeInfo, base_url: &str) -> Value {
    let name = info.kind.name();
    json!({
        "schemas": [RESOURCE_TYPE],
        "id": name,
        "name": name,
        "endpoint": info.kind.endpoint(),
        "description": core_schema(info.kind).description,
        "schema": info.kind.schema_urn(),
        "schemaExtensions": info.extensions.iter().map(|ext| json!({"schema": ext, "required": false})).collect::<Vec<_>>(),
        "meta": meta("ResourceType", format!("{}/ResourceTypes/{name}", trim(base_url))),
    })
}

fn meta(resource_type: &str, location: String) -> Value {
    json!({"resourceType": resource_type, "location": location})
}

fn trim(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urn::{ENTERPRISE_USER, GROUP, USER};

    fn caps(groups: bool) -> Capabilities {
        let mut resource_types = vec![ResourceTypeInfo {
            kind: ResourceKind::User,
            extensions: vec![ENTERPRISE_USER.into()],
        }];
        if groups {
            resource_types.push(ResourceTypeInfo {
                kind: ResourceKind::Group,
                extensions: vec![],
            });
        }
        Capabilities {
            patch: true,
            filter_max_results: 200,
            bulk: false,
            sort: false,
            etag: false,
            change_password: false,
            resource_types,
            required: vec![],
            custom_schemas: vec![],
        }
    }

    #[test]
    fn declared_requirements_and_custom_schemas_are_published() {
        let medius = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";
        let mut caps = caps(false);
        caps.resource_types[0].extensions.push(medius.into());
        caps.custom_schemas.push(CustomSchema {
            urn: medius.into(),
            name: "MediusUser".into(),
            attributes: vec!["configurationFilter".into()],
        });
        caps.required = vec![
            "name.givenName".into(),
            format!("{ENTERPRISE_USER}:department"),
            format!("{medius}:configurationFilter"),
        ];
        let user = schema(&caps, "https://gw", USER).unwrap();
        let name = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "name")
            .unwrap();
        let given = name["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "givenName")
            .unwrap();
        assert_eq!(given["required"], true);
        let family = name["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "familyName")
            .unwrap();
        assert_eq!(family["required"], false);
        let enterprise = schema(&caps, "https://gw", ENTERPRISE_USER).unwrap();
        let department = enterprise["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "department")
            .unwrap();
        assert_eq!(department["required"], true);
        let custom = schema(&caps, "https://gw", medius).unwrap();
        assert_eq!(custom["attributes"][0]["name"], "configurationFilter");
        assert_eq!(custom["attributes"][0]["required"], true);
        assert_eq!(schemas(&caps, "https://gw")["totalResults"], 3);
    }

    #[test]
    fn service_provider_config_advertises_bearer_tokens() {
        let spc = service_provider_config(&caps(true), "https://gw/scim/");
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(
            spc["meta"]["location"],
            "https://gw/scim/ServiceProviderConfig"
        );
    }

    #[test]
    fn resource_types_follow_capabilities() {
        assert_eq!(
            resource_types(&caps(false), "https://gw")["totalResults"],
            1
        );
        let group = resource_type(&caps(true), "https://gw", "group").unwrap();
        assert_eq!(
            (group["endpoint"].as_str(), group["schema"].as_str()),
            (Some("/Groups"), Some(GROUP))
        );
        assert!(resource_type(&caps(false), "https://gw", "Group").is_none());
        let user = resource_type(&caps(true), "https://gw", "User").unwrap();
        assert_eq!(
            user["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER, "required": false}])
        );
    }

    #[test]
    fn schemas_list_only_supported_ones() {
        let list = schemas(&caps(false), "https://gw");
        let ids: Vec<&str> = list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![USER, ENTERPRISE_USER]);
        assert!(schema(&caps(false), "https://gw", GROUP).is_none());
        let user = schema(&caps(true), "https://gw", USER).unwrap();
        assert_eq!(
            user["meta"]["location"],
            format!("https://gw/Schemas/{USER}")
        );
    }
}
