//! The filter parser on arbitrary text: it must never panic, and whatever it accepts must
//! print to a canonical form that parses back to the same tree and can be evaluated.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scimitar_scim::filter::{parse, MAX_LEN};
use serde_json::{json, Value};

/// A user with every shape the evaluator walks: strings, booleans, numbers, a complex
/// attribute, multi-valued complex attributes and an extension.
static USER: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "usr-1", "externalId": "alice", "userName": "alice@contoso.com", "active": "True",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"type": "work", "value": "alice@contoso.com", "primary": true},
                   {"type": "home", "value": "a@example.com"}],
        "phoneNumbers": [{"type": "mobile", "value": "+16175551212"}],
        "meta": {"resourceType": "User", "lastModified": "2026-01-02T03:04:05Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": 7, "department": "Sales", "manager": {"value": "usr-2"}}
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = parse(text) else {
        return;
    };
    filter.matches(&USER);
    let printed = filter.to_string();
    // The canonical form can be longer or one level deeper than the input (parentheses added
    // around an `or` inside `[...]` followed by `.sub eq`), so only the limits may reject it.
    match parse(&printed) {
        Ok(reparsed) => assert_eq!(reparsed, filter, "{text:?} printed as {printed:?}"),
        Err(e) => assert!(
            printed.len() > MAX_LEN || e.detail.contains("nesting"),
            "{text:?} printed as {printed:?}, which does not parse: {}",
            e.detail
        ),
    }
});
