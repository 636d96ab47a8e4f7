//! Reading a resource by SCIM attribute path: `userName`, `name.givenName`,
//! `phoneNumbers[type eq "work"].value`, `urn:…:enterprise:2.0:User:manager.value`.
//!
//! Adapters map attributes by the same paths Entra's attribute tables use, so one function
//! replaces the loops every script would otherwise write to pick a typed value.

use serde_json::Value;

use crate::error::ScimError;
use crate::filter::eval::get_ci;
use crate::patch::PatchPath;
use crate::urn;

/// Every value `path` reaches in `resource`, multi-valued attributes flattened, in order.
/// A path that reaches nothing gives an empty list; a path that does not parse is
/// `400 invalidPath`.
pub fn values_at(resource: &Value, path: &str) -> Result<Vec<Value>, ScimError> {
    let path = PatchPath::parse(path)?;
    let container = match &path.attr.urn {
        Some(u) if !urn::is_core(u) => match get_ci(resource, &urn::canonicalize(u)) {
            Some(extension) => extension,
            None => return Ok(Vec::new()),
        },
        _ => resource,
    };
    let Some(value) = get_ci(container, &path.attr.attr) else {
        return Ok(Vec::new());
    };
    let elements: Vec<&Value> = match value {
        Value::Array(items) => items
            .iter()
            .filter(|item| path.value_filter.as_ref().is_none_or(|f| f.matches(item)))
            .collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    let selected = elements
        .into_iter()
        .filter_map(|element| match &path.sub_attr {
            Some(sub) => get_ci(element, sub),
            None => Some(element),
        });
    Ok(selected.filter(|v| !v.is_null()).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "userName": "a@b.c",
            "name": {"givenName": "A"},
            "phoneNumbers": [{"type": "mobile", "value": "1"}, {"type": "work", "value": "2"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}, "department": "D"}
        })
    }

    #[test]
    fn simple_sub_and_filtered_paths() {
        let u = user();
        assert_eq!(values_at(&u, "userName").unwrap(), vec![json!("a@b.c")]);
        assert_eq!(values_at(&u, "name.givenName").unwrap(), vec![json!("A")]);
        assert_eq!(
            values_at(&u, "name.familyName").unwrap(),
            Vec::<Value>::new()
        );
        assert_eq!(
            values_at(&u, "phoneNumbers[type eq \"WORK\"].value").unwrap(),
            vec![json!("2")]
        );
        assert_eq!(
            values_at(&u, "phoneNumbers.value").unwrap(),
            vec![json!("1"), json!("2")]
        );
    }

    #[test]
    fn extension_paths() {
        let u = user();
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert_eq!(
            values_at(&u, &format!("{ent}:department")).unwrap(),
            vec![json!("D")]
        );
        assert_eq!(
            values_at(&u, &format!("{ent}:manager.value")).unwrap(),
            vec![json!("m1")]
        );
        assert!(values_at(&u, "emails[type eq").is_err());
    }
}
