//! The PATCH engine on arbitrary JSON: `parse_patch` must never panic, its canonical form must
//! be a fixed point (serialised and parsed again, it is unchanged), and applying it to a fixed
//! user or group must never panic and must leave a JSON object.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scimitar_scim::{apply_patch, parse_patch, split_member_changes, ResourceKind, PATCH_OP};
use serde_json::{json, Value};

static USER: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "usr-1", "externalId": "alice", "userName": "alice@contoso.com", "active": true,
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"type": "work", "value": "alice@contoso.com", "primary": true},
                   {"type": "home", "value": "a@example.com"}],
        "phoneNumbers": [{"type": "mobile", "value": "+16175551212"}],
        "roles": [{"value": "Admin", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"department": "Sales", "manager": {"value": "usr-2"}}
    })
});

static GROUP: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "grp-1", "displayName": "Sales",
        "members": [{"value": "usr-1"}, {"value": "usr-2", "type": "User"}]
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for (kind, resource) in [(ResourceKind::User, &*USER), (ResourceKind::Group, &*GROUP)] {
        let Ok(ops) = parse_patch(&body, kind) else {
            continue;
        };
        // A pathless op with an empty object is a valid no-op, but an empty Operations list
        // is not a valid body: only non-empty results have a canonical body to re-parse.
        if !ops.is_empty() {
            let canonical = json!({"schemas": [PATCH_OP], "Operations": ops});
            assert_eq!(
                parse_patch(&canonical, kind).as_ref(),
                Ok(&ops),
                "not a fixed point: {canonical}"
            );
        }
        let mut patched = resource.clone();
        if apply_patch(&mut patched, &ops).is_ok() {
            assert!(patched.is_object(), "patched into {patched}");
        }
        split_member_changes(ops);
    }
});
