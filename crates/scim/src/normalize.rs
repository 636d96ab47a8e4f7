//! Normalising POST/PUT resource bodies into canonical form before adapters see them.
//!
//! Entra's create bodies carry `meta`, explicit nulls, `"True"` strings, the enterprise
//! extension under a misspelt URN, extension objects whose URN is missing from `schemas`, and
//! for groups a Microsoft schema URN with no object. After [`normalize_resource`]:
//! - the body is an object with canonical attribute names and URNs;
//! - `id`, `meta` and other read-only attributes are gone (the server owns them);
//! - nulls are gone (null means unassigned) and values are coerced by the schema;
//! - `schemas` lists the core schema first, then every extension present; the Microsoft
//!   `ADSCIM/2.0/Group` URN is dropped, since no attribute ever belongs to it and adapters
//!   should only see schemas they can act on.

use serde_json::{Map, Value};

use crate::coerce::coerce_object;
use crate::error::ScimError;
use crate::schema::{self, Mutability, ResourceKind};
use crate::urn::{self, UrnKey, MICROSOFT_ADSCIM_GROUP};
use crate::validate::check_value;

/// Validates and normalises a resource body (see the module docs).
pub fn normalize_resource(body: Value, kind: ResourceKind) -> Result<Value, ScimError> {
    let Value::Object(input) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "a {} must be a JSON object",
            kind.name()
        )));
    };
    let mut schemas = vec![kind.schema_urn().to_owned()];
    let mut core = Map::new();
    let mut extensions: Map<String, Value> = Map::new();
    for (key, value) in input {
        if key.eq_ignore_ascii_case("schemas") {
            let listed = value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            schemas.extend(
                listed
                    .filter(|s| *s != MICROSOFT_ADSCIM_GROUP)
                    .map(urn::canonicalize),
            );
            continue;
        }
        match urn::classify_key(&key, value.is_object()) {
            Some(UrnKey::Extension(ext)) if urn::is_core(&ext) => {
                let Value::Object(attrs) = value else {
                    continue;
                };
                core.extend(attrs);
            }
            Some(UrnKey::Extension(ext)) => {
                let Value::Object(attrs) = value else {
                    return Err(ScimError::invalid_syntax(format!(
                        "\"{key}\" must be an object"
                    )));
                };
                extension_object(&mut extensions, &ext).extend(attrs);
            }
            Some(UrnKey::Attribute { urn, attr }) if urn::is_core(&urn) => {
                core.insert(attr.to_owned(), value);
            }
            Some(UrnKey::Attribute { urn, attr }) => {
                extension_object(&mut extensions, &urn).insert(attr.to_owned(), value);
            }
            None => {
                core.insert(key, value);
            }
        }
    }

    // A multi-valued attribute is a list in a resource (a PATCH may add one element).
    for (key, value) in &core {
        if let Some(def) = schema::attribute(kind, None, key) {
            if def.multi_valued && !(value.is_array() || value.is_null()) {
                check_value(def, value, def.name)?;
            }
        }
    }
    let mut out = coerce_object(core, |key| schema::attribute(kind, None, key));
    out.retain(|key, _| {
        schema::attribute(kind, None, key).is_none_or(|d| d.mutability != Mutability::ReadOnly)
    });
    for (key, value) in &out {
        if let Some(def) = schema::attribute(kind, None, key) {
            check_value(def, value, def.name)?;
        }
    }
    for (ext, attrs) in extensions {
        let Value::Object(attrs) = attrs else {
            continue;
        };
        let attrs = coerce_object(attrs, |key| schema::attribute(kind, Some(&ext), key));
        for (key, value) in &attrs {
            if let Some(def) = schema::attribute(kind, Some(&ext), key) {
                check_value(def, value, &format!("{ext}:{}", def.name))?;
            }
        }
        if !attrs.is_empty() {
            schemas.push(ext.clone());
            out.insert(ext, Value::Object(attrs));
        }
    }
    dedup_case_insensitive(&mut schemas);
    out.insert(
        "schemas".to_owned(),
        schemas.into_iter().map(Value::String).collect(),
    );
    Ok(Value::Object(out))
}

fn extension_object<'a>(
    extensions: &'a mut Map<String, Value>,
    ext: &str,
) -> &'a mut Map<String, Value> {
    match extensions
        .entry(ext.to_owned())
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(map) => map,
        _ => unreachable!("extension entries are always objects"),
    }
}

fn dedup_case_insensitive(list: &mut Vec<String>) {
    let mut seen: Vec<String> = Vec::new();
    list.retain(|s| {
        let fresh = !seen.iter().any(|x| x.eq_ignore_ascii_case(s));
        seen.push(s.clone());
        fresh
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::urn::{ENTERPRISE_USER, ENTERPRISE_USER_MISSPELT, GROUP, USER};

    #[test]
    fn entra_create_user_body_is_canonical() {
        let body = json!({
            "schemas": [USER, ENTERPRISE_USER_MISSPELT],
            "externalId": "0a21f0f2",
            "UserName": "Test_User_ab6490ee@contoso.com",
            "active": "True",
            "displayName": "BobIsAmazing",
            "meta": {"resourceType": "User"},
            "id": "client-chosen",
            "nickName": null,
            "roles": [{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
            "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan", "middleName": null},
            "emails": [{"Primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com", "$ref": null}],
            ENTERPRISE_USER_MISSPELT: {"Department": "Sales", "manager": "boss-1", "costCenter": null},
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": "42"}
        });
        let user = normalize_resource(body, ResourceKind::User).unwrap();
        assert_eq!(
            user,
            json!({
                "schemas": [USER, ENTERPRISE_USER, "urn:ietf:params:scim:schemas:extension:acme:2.0:User"],
                "externalId": "0a21f0f2",
                "userName": "Test_User_ab6490ee@contoso.com",
                "active": true,
                "displayName": "BobIsAmazing",
                "roles": [{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
                "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
                "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
                ENTERPRISE_USER: {"department": "Sales", "manager": {"value": "boss-1"}},
                "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": "42"}
            })
        );
    }

    #[test]
    fn empty_manager_and_role_json_strings() {
        let body = json!({
            "userName": "u",
            ENTERPRISE_USER: {"manager": ""},
            "roles": [{"value": "{\"id\":\"r1\",\"value\":\"Reader\"}", "primary": "false"}]
        });
        let user = normalize_resource(body, ResourceKind::User).unwrap();
        assert_eq!(
            user,
            json!({"schemas": [USER], "userName": "u", "roles": [{"id": "r1", "value": "Reader", "primary": false}]})
        );
    }

    #[test]
    fn entra_create_group_body_drops_the_microsoft_urn() {
        let body = json!({
            "externalId": "8aa1a0c0",
            "displayName": "Group1",
            "meta": {"resourceType": "Group"},
            "schemas": [GROUP, MICROSOFT_ADSCIM_GROUP],
            "members": []
        });
        let group = normalize_resource(body, ResourceKind::Group).unwrap();
        assert_eq!(
            group,
            json!({"schemas": [GROUP], "externalId": "8aa1a0c0", "displayName": "Group1", "members": []})
        );
    }

    #[test]
    fn url_qualified_attributes_move_into_their_extension() {
        let body = json!({"userName": "u", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"});
        let user = normalize_resource(body, ResourceKind::User).unwrap();
        assert_eq!(user[ENTERPRISE_USER], json!({"employeeNumber": "7"}));
        assert_eq!(user["schemas"], json!([USER, ENTERPRISE_USER]));
    }

    #[test]
    fn non_objects_are_rejected() {
        let err = normalize_resource(json!([1]), ResourceKind::User).unwrap_err();
        assert_eq!(err.scim_type.as_deref(), Some("invalidSyntax"));
        let err =
            normalize_resource(json!({ENTERPRISE_USER: "x"}), ResourceKind::User).unwrap_err();
        assert_eq!(err.status, 400);
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE_USER_KEY: &str = crate::urn::ENTERPRISE_USER;

    #[test]
    fn wrong_types_are_invalid_value() {
        for body in [
            json!({"userName": "a", "name": "Ann"}),
            json!({"userName": "a", "emails": "a@b.c"}),
            json!({"userName": 7}),
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "phoneNumbers": {"value": "+1 617 555 1212"}}),
            json!({"userName": "a", "name": {"givenName": ["A"]}}),
            json!({"userName": "a", ENTERPRISE_USER_KEY: {"department": 7}}),
        ] {
            let err = normalize_resource(body.clone(), ResourceKind::User).unwrap_err();
            assert_eq!(
                (err.status, err.scim_type.as_deref()),
                (400, Some("invalidValue")),
                "{body}"
            );
        }
        assert!(normalize_resource(
            json!({"userName": "a", "active": "False", "name": {"givenName": "A"}}),
            ResourceKind::User
        )
        .is_ok());
    }
}
