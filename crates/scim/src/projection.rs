//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9).
//!
//! Names are case-insensitive and may be dotted (`name.givenName`, `emails.value`) or
//! URN-qualified (`urn:...:enterprise:2.0:User:department`, or the extension URN alone for the
//! whole extension). `schemas`, `id` and `meta` are always returned, and `returned: never`
//! attributes (`password`) never are, whatever the lists say.

use serde_json::{Map, Value};

use crate::filter::AttrPath;
use crate::schema::{self, Returned};
use crate::urn;

/// Attributes returned whatever `attributes`/`excludedAttributes` say.
const ALWAYS: [&str; 3] = ["schemas", "id", "meta"];

/// Applies the projection to a resource in place. With a non-empty `attributes`, only those
/// (and the always-returned ones) remain; `excluded` is then removed. Unparseable names are
/// ignored, as a name no resource has would be.
pub fn project(resource: &mut Value, attributes: &[String], excluded: &[String]) {
    let Value::Object(map) = resource else { return };
    map.retain(|key, _| {
        schema::attribute_in_any(None, key).is_none_or(|d| d.returned != Returned::Never)
    });
    if !attributes.is_empty() {
        let mut kept: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| is_always(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for name in attributes {
            if let Some(selector) = Selector::parse(name) {
                selector.copy(map, &mut kept);
            }
        }
        *map = kept;
    }
    for name in excluded {
        if let Some(selector) = Selector::parse(name) {
            selector.remove(map);
        }
    }
}

/// Whether a client asking with `attributes`/`excluded` wants `attribute` (`members`,
/// `name.givenName`) in the answer, so that an adapter can skip reading what would be cut
/// (a group's fifty thousand members when Entra says `excludedAttributes=members`).
pub fn requested(attribute: &str, attributes: &[String], excluded: &[String]) -> bool {
    let Ok(path) = AttrPath::parse(attribute.trim()) else {
        return true;
    };
    let leaf = match &path.sub_attr {
        Some(sub) => serde_json::json!({ sub: true }),
        None => Value::Bool(true),
    };
    let mut probe = Value::Object(Map::from_iter([(path.attr.clone(), leaf)]));
    project(&mut probe, attributes, excluded);
    let kept = probe.get(&path.attr);
    match &path.sub_attr {
        Some(sub) => kept.and_then(|v| v.get(sub)).is_some(),
        None => kept.is_some(),
    }
}

fn is_always(key: &str) -> bool {
    ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(key))
}

/// One name from an attribute list, resolved to where it lives in a resource.
struct Selector {
    /// The extension object holding the attribute; `None` for core attributes.
    extension: Option<String>,
    /// `None` when the selector is a whole extension.
    attr: Option<String>,
    sub_attr: Option<String>,
}

impl Selector {
    fn parse(name: &str) -> Option<Self> {
        if let Some(ext) = urn::canonical_schema(name).filter(|u| !urn::is_core(u)) {
            return Some(Selector {
                extension: Some(ext.to_owned()),
                attr: None,
                sub_attr: None,
            });
        }
        let path = AttrPath::parse(name.trim()).ok()?;
        let extension = path.urn.filter(|u| !urn::is_core(u));
        Some(Selector {
            extension,
            attr: Some(path.attr),
            sub_attr: path.sub_attr,
        })
    }

    /// Copies the selected part of `from` into `into`, merging with earlier selections.
    fn copy(&self, from: &Map<String, Value>, into: &mut Map<String, Value>) {
        let (from, into) = match &self.extension {
            None => (from, into),
            Some(ext) => {
                let Some((key, Value::Object(source))) = find(from, ext) else {
                    return;
                };
                let Value::Object(target) = into
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                else {
                    return;
                };
                if self.attr.is_none() {
                    *target = source.clone();
                    return;
                }
                (source, target)
            }
        };
        let Some((key, value)) = self.attr.as_deref().and_then(|attr| find(from, attr)) else {
            return;
        };
        let Some(sub) = &self.sub_attr else {
            into.insert(key.clone(), value.clone());
            return;
        };
        match (
            value,
            into.entry(key.clone()).or_insert_with(|| empty_like(value)),
        ) {
            (Value::Array(source), Value::Array(target)) => {
                for (element, kept) in source.iter().zip(target.iter_mut()) {
                    copy_sub(element, kept, sub);
                }
            }
            (source, target) => copy_sub(source, target, sub),
        }
    }

    /// Removes the selected part from `map` (never an always-returned attribute).
    fn remove(&self, map: &mut Map<String, Value>) {
        let map = match &self.extension {
            None => map,
            Some(ext) => {
                let Some(key) = find(map, ext).map(|(k, _)| k.clone()) else {
                    return;
                };
                if self.attr.is_none() {
                    map.remove(&key);
                    return;
                }
                let Some(Value::Object(extension)) = map.get_mut(&key) else {
                    return;
                };
                extension
            }
        };
        let Some(key) = self
            .attr
            .as_deref()
            .and_then(|attr| find(map, attr))
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        if self.extension.is_none() && is_always(&key) {
            return;
        }
        match (&self.sub_attr, map.get_mut(&key)) {
            (None, _) => {
                map.remove(&key);
            }
            (Some(sub), Some(Value::Array(items))) => {
                items.iter_mut().for_each(|item| remove_sub(item, sub))
            }
            (Some(sub), Some(item)) => remove_sub(item, sub),
            (Some(_), None) => {}
        }
    }
}

/// Finds a key case-insensitively (URN keys by canonical URN, so misspellings still match).
fn find<'a>(map: &'a Map<String, Value>, name: &str) -> Option<(&'a String, &'a Value)> {
    map.iter().find(|(k, _)| {
        k.eq_ignore_ascii_case(name) || (urn::is_urn(k) && urn::canonicalize(k) == name)
    })
}

/// An empty container shaped like `value`: one empty object per element for arrays, so that
/// sub-attribute selections of the same attribute line up element by element.
fn empty_like(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(vec![Value::Object(Map::new()); items.len()]),
        _ => Value::Object(Map::new()),
    }
}

fn copy_sub(source: &Value, target: &mut Value, sub: &str) {
    if let (Value::Object(source), Value::Object(target)) = (source, target) {
        if let Some((key, value)) = find(source, sub) {
            target.insert(key.clone(), value.clone());
        }
    }
}

fn remove_sub(item: &mut Value, sub: &str) {
    if let Value::Object(map) = item {
        map.retain(|k, _| !k.eq_ignore_ascii_case(sub));
    }
}

#[cfg(test)]
mod requested_tests {
    use super::requested;

    #[test]
    fn what_the_lists_ask_for_is_requested() {
        let none: [String; 0] = [];
        let members = ["members".to_string()];
        assert!(requested("members", &none, &none));
        assert!(!requested("members", &none, &members));
        assert!(!requested("members", &["displayName".to_string()], &none));
        assert!(requested("MEMBERS", &members, &none));
        assert!(requested("name.givenName", &["name".to_string()], &none));
        assert!(!requested(
            "name.givenName",
            &none,
            &["name.givenName".to_string()]
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::urn::{ENTERPRISE_USER, GROUP, USER};

    fn user() -> Value {
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "id": "1",
            "meta": {"resourceType": "User"},
            "userName": "u",
            "password": "secret",
            "name": {"givenName": "G", "familyName": "F"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            ENTERPRISE_USER: {"department": "D", "employeeNumber": "7"}
        })
    }

    fn projected(attributes: &[&str], excluded: &[&str]) -> Value {
        let mut resource = user();
        let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        project(&mut resource, &owned(attributes), &owned(excluded));
        resource
    }

    #[test]
    fn excluded_members_are_dropped_from_groups() {
        let mut group =
            json!({"schemas": [GROUP], "id": "g", "displayName": "G", "members": [{"value": "1"}]});
        project(&mut group, &[], &["MEMBERS".to_owned()]);
        assert_eq!(
            group,
            json!({"schemas": [GROUP], "id": "g", "displayName": "G"})
        );
    }

    #[test]
    fn attributes_select_dotted_and_qualified_names() {
        let got = projected(
            &[
                "USERNAME",
                "name.givenName",
                "emails.value",
                "emails.type",
                &format!("{ENTERPRISE_USER}:department"),
            ],
            &[],
        );
        assert_eq!(
            got,
            json!({
                "schemas": [USER, ENTERPRISE_USER],
                "id": "1",
                "meta": {"resourceType": "User"},
                "userName": "u",
                "name": {"givenName": "G"},
                "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
                ENTERPRISE_USER: {"department": "D"}
            })
        );
    }

    #[test]
    fn whole_extensions_and_always_returned_attributes() {
        let got = projected(&[ENTERPRISE_USER], &["id", "schemas"]);
        assert_eq!(got["id"], "1");
        assert_eq!(got[ENTERPRISE_USER]["employeeNumber"], "7");
        assert!(got.get("userName").is_none());
        let got = projected(&[], &[ENTERPRISE_USER, "emails.type", "name"]);
        assert!(got.get(ENTERPRISE_USER).is_none() && got.get("name").is_none());
        assert_eq!(got["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
        assert!(got.get("password").is_none());
    }
}
