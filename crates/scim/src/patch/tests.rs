use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::urn::{ENTERPRISE_USER, ENTERPRISE_USER_MISSPELT, GROUP, PATCH_OP, USER};

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

fn user_ops(ops: Value) -> Vec<PatchOp> {
    parse_patch(&body(ops), ResourceKind::User).unwrap()
}

fn group_ops(ops: Value) -> Vec<PatchOp> {
    parse_patch(&body(ops), ResourceKind::Group).unwrap()
}

/// The canonical JSON of parsed operations, which is what adapters see.
fn canonical(ops: &[PatchOp]) -> Value {
    serde_json::to_value(ops).unwrap()
}

fn patched(mut resource: Value, ops: &[PatchOp]) -> Value {
    apply_patch(&mut resource, ops).unwrap();
    resource
}

fn user() -> Value {
    json!({
        "schemas": [USER],
        "id": "u1",
        "userName": "bjensen",
        "active": true,
        "emails": [{"type": "work", "value": "b@work", "primary": true}, {"type": "home", "value": "b@home"}]
    })
}

fn group() -> Value {
    json!({"schemas": [GROUP], "id": "g1", "displayName": "G", "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]})
}

#[test]
fn op_names_are_case_insensitive() {
    let ops = user_ops(json!([
        {"op": "Replace", "path": "displayName", "value": "X"},
        {"op": "ADD", "path": "title", "value": "T"},
        {"op": "remove", "path": "nickName"}
    ]));
    assert_eq!(
        canonical(&ops),
        json!([
            {"op": "replace", "path": "displayName", "value": "X"},
            {"op": "add", "path": "title", "value": "T"},
            {"op": "remove", "path": "nickName"}
        ])
    );
}

#[test]
fn body_validation() {
    let cases = [
        (json!([]), "invalidSyntax"),
        (
            json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": [PATCH_OP], "Operations": []}),
            "invalidSyntax",
        ),
        (
            body(json!([{"op": "move", "path": "title"}])),
            "invalidSyntax",
        ),
        (body(json!([{"op": "remove"}])), "noTarget"),
        (body(json!([{"op": "add", "value": "x"}])), "invalidSyntax"),
        (
            body(json!([{"op": "add", "path": "title"}])),
            "invalidSyntax",
        ),
        (
            body(json!([{"op": "add", "path": "emails[type eq ]", "value": "x"}])),
            "invalidPath",
        ),
        (
            body(json!([{"op": "replace", "path": "id", "value": "x"}])),
            "mutability",
        ),
    ];
    for (body, scim_type) in cases {
        let err = parse_patch(&body, ResourceKind::User).unwrap_err();
        assert_eq!(
            (err.status, err.scim_type.as_deref()),
            (400, Some(scim_type)),
            "{body}"
        );
    }
    // Lowercase "operations" and a recased PatchOp URN are tolerated.
    let lenient = json!({"schemas": [PATCH_OP.to_uppercase()], "operations": [{"op": "add", "path": "title", "value": "x"}]});
    assert_eq!(parse_patch(&lenient, ResourceKind::User).unwrap().len(), 1);
}

#[test]
fn pathless_object_with_dotted_and_urn_keys_is_split() {
    let ops = user_ops(json!([{"op": "replace", "value": {
        "name.givenName": "K",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
        "ACTIVE": "False",
        "displayName": "Kay"
    }}]));
    let mut paths: Vec<Value> = canonical(&ops).as_array().unwrap().clone();
    paths.sort_by_key(|op| op["path"].as_str().unwrap().to_owned());
    assert_eq!(
        paths,
        vec![
            json!({"op": "replace", "path": "active", "value": false}),
            json!({"op": "replace", "path": "displayName", "value": "Kay"}),
            json!({"op": "replace", "path": "name.givenName", "value": "K"}),
            json!({"op": "replace", "path": format!("{ENTERPRISE_USER}:employeeNumber"), "value": "7"}),
        ]
    );
    let after = patched(user(), &ops);
    assert_eq!(after["name"], json!({"givenName": "K"}));
    assert_eq!(after["active"], json!(false));
    assert_eq!(after[ENTERPRISE_USER], json!({"employeeNumber": "7"}));
    assert_eq!(after["schemas"], json!([USER, ENTERPRISE_USER]));
}

#[test]
fn pathless_extension_object_becomes_per_attribute_ops() {
    let ops = user_ops(
        json!([{"op": "add", "value": {ENTERPRISE_USER_MISSPELT: {"department": "x", "Manager": "boss"}}}]),
    );
    let mut got = canonical(&ops).as_array().unwrap().clone();
    got.sort_by_key(|op| op["path"].as_str().unwrap().to_owned());
    assert_eq!(
        got,
        vec![
            json!({"op": "add", "path": format!("{ENTERPRISE_USER}:department"), "value": "x"}),
            json!({"op": "add", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": "boss"}}),
        ]
    );
    // A path naming the extension itself behaves the same.
    let ops =
        user_ops(json!([{"op": "add", "path": ENTERPRISE_USER, "value": {"department": "x"}}]));
    assert_eq!(
        canonical(&ops),
        json!([{"op": "add", "path": format!("{ENTERPRISE_USER}:department"), "value": "x"}])
    );
}

#[test]
fn disable_with_a_string_false() {
    let ops = user_ops(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(
        canonical(&ops),
        json!([{"op": "replace", "path": "active", "value": false}])
    );
    assert_eq!(patched(user(), &ops)["active"], json!(false));
}

#[test]
fn member_add_with_null_ref() {
    let ops = group_ops(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "d"}]}]),
    );
    assert_eq!(
        canonical(&ops),
        json!([{"op": "add", "path": "members", "value": [{"value": "d"}]}])
    );
    let after = patched(group(), &ops);
    assert_eq!(
        after["members"],
        json!([{"value": "a"}, {"value": "b"}, {"value": "c"}, {"value": "d"}])
    );
    // Adding an existing member again does not duplicate it.
    assert_eq!(patched(after.clone(), &ops), after);
}

#[test]
fn member_remove_by_value_list_keeps_the_others() {
    let ops = group_ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "b"}]}]));
    assert_eq!(
        patched(group(), &ops)["members"],
        json!([{"value": "a"}, {"value": "c"}])
    );
    let (changes, rest) = split_member_changes(ops);
    assert_eq!(
        (changes, rest),
        (vec![MemberChange::Remove(vec!["b".into()])], vec![])
    );
}

#[test]
fn member_remove_by_filter() {
    let ops = group_ops(json!([{"op": "remove", "path": "members[value eq \"c\"]"}]));
    assert_eq!(
        patched(group(), &ops)["members"],
        json!([{"value": "a"}, {"value": "b"}])
    );
    assert_eq!(
        split_member_changes(ops).0,
        vec![MemberChange::Remove(vec!["c".into()])]
    );
}

#[test]
fn member_changes_are_split_in_order() {
    let ops = group_ops(json!([
        {"op": "Replace", "path": "displayName", "value": "New"},
        {"op": "Add", "path": "members", "value": [{"value": "x"}, {"value": "y"}]},
        {"op": "Remove", "path": "members[value eq \"a\" or value eq \"b\"]"},
        {"op": "Remove", "path": "members[display eq \"Z\"]"},
        {"op": "replace", "path": "members", "value": [{"value": "z"}]},
        {"op": "remove", "path": "members"}
    ]));
    let (changes, rest) = split_member_changes(ops);
    assert_eq!(
        changes,
        vec![
            MemberChange::Add(vec!["x".into(), "y".into()]),
            MemberChange::Remove(vec!["a".into(), "b".into()]),
            MemberChange::Replace(vec!["z".into()]),
            MemberChange::RemoveAll,
        ]
    );
    assert_eq!(
        canonical(&rest),
        json!([
            {"op": "replace", "path": "displayName", "value": "New"},
            {"op": "remove", "path": "members[display eq \"Z\"]"}
        ])
    );
    assert_eq!(
        serde_json::to_value(MemberChange::RemoveAll).unwrap(),
        json!({"op": "removeAll"})
    );
}

#[test]
fn member_values_must_carry_ids() {
    let err = parse_patch(
        &body(json!([{"op": "add", "path": "members", "value": ["x"]}])),
        ResourceKind::Group,
    )
    .unwrap_err();
    assert_eq!(err.scim_type.as_deref(), Some("invalidValue"));
}

#[test]
fn manager_as_bare_string_and_cleared_with_empty_string() {
    let path = format!("{ENTERPRISE_USER}:manager");
    let ops = user_ops(json!([{"op": "Add", "path": path, "value": "boss"}]));
    assert_eq!(
        canonical(&ops),
        json!([{"op": "add", "path": path, "value": {"value": "boss"}}])
    );
    let managed = patched(user(), &ops);
    assert_eq!(
        managed[ENTERPRISE_USER],
        json!({"manager": {"value": "boss"}})
    );

    for clear in [json!(""), json!({"value": ""}), Value::Null] {
        let ops = user_ops(json!([{"op": "Replace", "path": path, "value": clear}]));
        assert_eq!(
            canonical(&ops),
            json!([{"op": "remove", "path": path}]),
            "{clear}"
        );
        assert_eq!(patched(managed.clone(), &ops), user(), "{clear}");
    }
    let ops = user_ops(json!([{"op": "replace", "path": format!("{path}.value"), "value": ""}]));
    assert_eq!(canonical(&ops), json!([{"op": "remove", "path": path}]));
    // The older array form.
    let ops = user_ops(
        json!([{"op": "add", "path": path, "value": [{"$ref": "../Users/boss", "value": "boss"}]}]),
    );
    assert_eq!(
        ops[0].value,
        Some(json!({"$ref": "../Users/boss", "value": "boss"}))
    );
}

#[test]
fn role_values_as_json_strings_are_parsed() {
    let ops = user_ops(json!([{"op": "add", "path": "roles", "value": [
        {"value": "{\"id\":\"06b07648\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"},
        {"value": "Reader", "primary": "True"}
    ]}]));
    assert_eq!(
        ops[0].value,
        Some(
            json!([{"id": "06b07648", "value": "Admin", "displayName": "Admin"}, {"value": "Reader", "primary": true}])
        )
    );
}

#[test]
fn attribute_names_are_canonicalised() {
    let ops = user_ops(json!([
        {"op": "replace", "path": "emails[Type eq \"other\"].Value", "value": "o@x"},
        {"op": "replace", "path": "USERNAME", "value": "u"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:Name.FamilyName", "value": "F"}
    ]));
    assert_eq!(
        canonical(&ops),
        json!([
            {"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"},
            {"op": "replace", "path": "userName", "value": "u"},
            {"op": "replace", "path": "name.familyName", "value": "F"}
        ])
    );
}

#[test]
fn add_on_an_absent_filtered_element_creates_it() {
    let ops = user_ops(json!([
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
        {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Paris"},
        {"op": "Add", "path": "emails[type eq \"other\"].value", "value": "o@x"}
    ]));
    let after = patched(user(), &ops);
    assert_eq!(
        after["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555"}])
    );
    assert_eq!(
        after["addresses"],
        json!([{"type": "work", "locality": "Paris"}])
    );
    assert_eq!(after["emails"][2], json!({"type": "other", "value": "o@x"}));
}

#[test]
fn filtered_replace_and_remove_touch_only_matches() {
    let ops = user_ops(
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work"}]),
    );
    let after = patched(user(), &ops);
    assert_eq!(
        after["emails"][0],
        json!({"type": "work", "value": "new@work", "primary": true})
    );
    assert_eq!(after["emails"][1], user()["emails"][1]);
    let ops = user_ops(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]));
    assert_eq!(
        patched(user(), &ops)["emails"],
        json!([{"type": "home", "value": "b@home"}])
    );
    let ops = user_ops(
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@x"}}]),
    );
    assert_eq!(
        patched(user(), &ops)["emails"][1],
        json!({"type": "home", "value": "h@x"})
    );
}

#[test]
fn primary_is_unique() {
    let ops = user_ops(
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
    );
    let after = patched(user(), &ops);
    assert_eq!(after["emails"][0]["primary"], json!(false));
    assert_eq!(after["emails"][1]["primary"], json!(true));
    let ops = user_ops(
        json!([{"op": "add", "path": "emails", "value": {"type": "other", "value": "o@x", "primary": true}}]),
    );
    let after = patched(user(), &ops);
    assert_eq!(after["emails"][0]["primary"], json!(false));
    assert_eq!(after["emails"][2]["primary"], json!(true));
}

#[test]
fn misspelt_enterprise_urn_in_paths() {
    let ops = user_ops(
        json!([{"op": "add", "path": format!("{ENTERPRISE_USER_MISSPELT}:Department"), "value": "Sales"}]),
    );
    assert_eq!(
        canonical(&ops),
        json!([{"op": "add", "path": format!("{ENTERPRISE_USER}:department"), "value": "Sales"}])
    );
    let mut resource = user();
    resource[ENTERPRISE_USER_MISSPELT] = json!({"division": "D"});
    let after = patched(resource, &ops);
    assert_eq!(
        after[ENTERPRISE_USER_MISSPELT],
        json!({"division": "D", "department": "Sales"})
    );
}

#[test]
fn complex_replace_merges_and_sub_attribute_removal_cleans_up() {
    let resource = json!({"schemas": [USER], "name": {"givenName": "G", "familyName": "F"}});
    let ops = user_ops(json!([{"op": "replace", "path": "name", "value": {"givenName": "H"}}]));
    assert_eq!(
        patched(resource.clone(), &ops)["name"],
        json!({"givenName": "H", "familyName": "F"})
    );
    let ops = user_ops(
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
    );
    assert_eq!(patched(resource, &ops), json!({"schemas": [USER]}));
}

#[test]
fn removing_absent_things_succeeds() {
    let ops = user_ops(json!([
        {"op": "remove", "path": "title"},
        {"op": "remove", "path": "phoneNumbers[type eq \"fax\"]"},
        {"op": "remove", "path": format!("{ENTERPRISE_USER}:department")},
        {"op": "remove", "path": "name.givenName"}
    ]));
    assert_eq!(patched(user(), &ops), user());
}

#[test]
fn pathless_ops_apply_directly_too() {
    let op = PatchOp {
        op: PatchOpKind::Replace,
        path: None,
        value: Some(json!({"title": "T", "name.givenName": "G"})),
    };
    let after = patched(user(), &[op]);
    assert_eq!(
        (after["title"].as_str(), after["name"]["givenName"].as_str()),
        (Some("T"), Some("G"))
    );
}

fn arb_resource() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,5}".prop_map(Value::from)
    ];
    let attrs = proptest::collection::btree_map("[a-z]{1,6}", scalar.clone(), 0..6);
    let ext = proptest::option::of(proptest::collection::btree_map("[a-z]{1,6}", scalar, 1..4));
    (attrs, ext).prop_map(|(attrs, ext)| {
        let mut resource = json!({"schemas": [USER], "id": "u1"});
        for (k, v) in attrs {
            resource[k] = v;
        }
        if let Some(ext) = ext {
            resource["schemas"]
                .as_array_mut()
                .unwrap()
                .push(json!(ENTERPRISE_USER));
            resource[ENTERPRISE_USER] = json!(ext);
        }
        resource
    })
}

proptest! {
    #[test]
    fn add_then_remove_of_a_new_attribute_restores_the_resource(
        resource in arb_resource(),
        name in "new[A-Za-z]{1,6}",
        qualified in any::<bool>(),
        custom in any::<bool>(),
        value in "[ -~]{0,10}",
    ) {
        let path = match (qualified, custom) {
            (false, _) => name,
            (true, false) => format!("{ENTERPRISE_USER}:{name}"),
            (true, true) => format!("urn:ietf:params:scim:schemas:extension:acme:2.0:User:{name}"),
        };
        let ops = user_ops(json!([{"op": "add", "path": path, "value": value}, {"op": "remove", "path": path}]));
        prop_assert_eq!(patched(resource.clone(), &ops), resource);
    }
}

#[test]
fn a_filter_on_primary_spelt_true_matches_and_creates_booleans() {
    let mut user = json!({"roles": [{"value": "Admin", "primary": true}]});
    let ops = parse_patch(
        &json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "roles[primary eq \"True\"].value", "value": "Viewer"}
        ]}),
        ResourceKind::User,
    )
    .unwrap();
    apply_patch(&mut user, &ops).unwrap();
    assert_eq!(user["roles"], json!([{"value": "Viewer", "primary": true}]));

    let mut empty = json!({});
    apply_patch(&mut empty, &ops).unwrap();
    assert_eq!(empty["roles"][0]["primary"], json!(true));
}

#[test]
fn wrong_typed_values_are_invalid_value_at_every_path_form() {
    let ext = ENTERPRISE_USER;
    for op in [
        json!({"op": "replace", "path": "name", "value": []}),
        json!({"op": "replace", "path": "name", "value": "Ann"}),
        json!({"op": "add", "path": "name.givenName", "value": {"x": 1}}),
        json!({"op": "replace", "path": "emails", "value": "x"}),
        json!({"op": "add", "path": "emails", "value": ["x"]}),
        json!({"op": "replace", "path": "emails[type eq \"work\"]", "value": "x"}),
        json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": ["x"]}),
        json!({"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": 16175551212u64}),
        json!({"op": "replace", "path": "active", "value": "perhaps"}),
        json!({"op": "replace", "value": {"name.familyName": 7}}),
        json!({"op": "replace", "value": {"name": []}}),
        json!({"op": "replace", "value": {"emails": "x"}}),
        json!({"op": "replace", "path": format!("{ext}:department"), "value": {"a": 1}}),
        json!({"op": "replace", "value": {format!("{ext}:employeeNumber"): 7}}),
        json!({"op": "add", "path": "addresses[type eq \"work\"].locality", "value": true}),
    ] {
        let error = parse_patch(&body(json!([op.clone()])), ResourceKind::User).unwrap_err();
        assert_eq!(
            (error.status, error.scim_type.as_deref()),
            (400, Some("invalidValue")),
            "{op}: {}",
            error.detail
        );
    }
    // The same paths with values of the right type pass.
    user_ops(json!([
        {"op": "replace", "path": "name", "value": {"givenName": "Ann"}},
        {"op": "add", "path": "emails", "value": {"value": "a@b", "type": "work"}},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@b"},
        {"op": "replace", "path": "active", "value": "False"},
        {"op": "replace", "value": {"name.familyName": "A", format!("{ext}:employeeNumber"): "7"}},
    ]));
}
