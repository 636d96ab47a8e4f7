//! What a list function (`list_users(query)`, `list_groups(query)`) may answer:
//!
//! - an array: every resource that may match (the adapter pushed the filter down loosely
//!   or not at all); the gateway checks the whole filter and cuts the page itself — fine for
//!   what a filter narrowed down, never for a whole directory;
//! - a page, `#{ resources, total, next }`: the resources from `query.start_index` (or
//!   after `query.cursor`) on, cut natively; `total` is how many match in all (`()` when the
//!   target cannot say), `next` the cursor of what follows (`()` at the end). More resources
//!   than `query.count` may come; the gateway keeps the first `count`.

use crate::failure::Failure;
use scimitar_scim::ScimError;
use serde_json::Value;

pub enum Listing {
    All(Vec<Value>),
    Page {
        resources: Vec<Value>,
        total: Option<u64>,
        next: Value,
    },
}

impl Listing {
    /// Reads what `function` answered; anything else is the script's fault.
    pub fn parse(function: &str, answer: Value) -> Result<Listing, Failure> {
        let not_a_list = || {
            Failure::script_fault(ScimError::internal(format!(
                "{function} must return an array of resources or #{{ resources, total, next }}"
            )))
        };
        match answer {
            Value::Null => Ok(Listing::All(Vec::new())),
            Value::Array(items) => Ok(Listing::All(items)),
            Value::Object(mut map) => {
                let resources = match map.remove("resources").or_else(|| map.remove("Resources")) {
                    Some(Value::Array(items)) => items,
                    Some(Value::Null) | None => Vec::new(),
                    Some(_) => return Err(not_a_list()),
                };
                if !(map.contains_key("total") || map.contains_key("next")) {
                    return Ok(Listing::All(resources));
                }
                let total = match map.remove("total") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(not_a_list)?),
                    Some(_) => return Err(not_a_list()),
                };
                Ok(Listing::Page {
                    resources,
                    total,
                    next: map.remove("next").unwrap_or(Value::Null),
                })
            }
            _ => Err(not_a_list()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_are_everything_and_maps_with_a_total_or_cursor_are_pages() {
        assert!(
            matches!(Listing::parse("f", json!([{"id": "1"}])), Ok(Listing::All(v)) if v.len() == 1)
        );
        assert!(matches!(
            Listing::parse("f", json!({"resources": []})),
            Ok(Listing::All(_))
        ));
        let Ok(Listing::Page {
            resources,
            total,
            next,
        }) = Listing::parse(
            "f",
            json!({"resources": [{"id": "1"}], "total": 9, "next": "c2"}),
        )
        else {
            panic!("not a page");
        };
        assert_eq!((resources.len(), total, next), (1, Some(9), json!("c2")));
        let Ok(Listing::Page { total, next, .. }) =
            Listing::parse("f", json!({"resources": [], "total": null, "next": null}))
        else {
            panic!("not a page");
        };
        assert_eq!((total, next), (None, Value::Null));
        assert!(Listing::parse("f", json!(7)).is_err());
        assert!(Listing::parse("f", json!({"resources": [], "total": -1})).is_err());
    }
}
