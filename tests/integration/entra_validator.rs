//! A replay of the Microsoft Entra SCIM Validator's test list (shared/entra.md) against the
//! real gateway in front of the Meta Networks testbed: each step asserts the status, the SCIM
//! body and, where the step writes, the testbed's native state.
//!
//! Meta Networks stores no emails, addresses or enterprise attributes: the validator's user
//! carries them (Entra sends them), the gateway must accept them, and only what Meta stores
//! comes back.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A PatchOp body.
fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

/// The user the validator generates: core attributes, emails, addresses and the enterprise
/// extension, as Entra's attribute mappings would send them.
fn validator_user(user_name: &str) -> Value {
    let mut user = entra_user(user_name, "Grace", "Hopper", Some("+1 617 555 0199"));
    user["emails"] = json!([{"type": "work", "value": user_name, "primary": true}]);
    user["addresses"] = json!([{"type": "work", "locality": "Arlington", "country": "US"}]);
    user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Navy", "employeeNumber": "1906"});
    user
}

/// Asserts a ListResponse and returns its resources.
fn list(status: StatusCode, body: &Value) -> &Vec<Value> {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["schemas"], json!([LIST_RESPONSE]), "{body}");
    let resources = body["Resources"].as_array().expect("Resources");
    assert_eq!(body["totalResults"], resources.len(), "{body}");
    resources
}

/// `GET path` must list exactly the resource `id`.
async fn assert_lists_only(meta: &MetaSetup, path: &str, id: &str) -> Value {
    let (status, body) = meta.get(path).await;
    let resources = list(status, &body);
    assert_eq!(resources.len(), 1, "{path}: {body}");
    assert_eq!(resources[0]["id"], id, "{path}: {body}");
    resources[0].clone()
}

#[tokio::test]
async fn user_tests() {
    let meta = meta_setup().await;

    // Create a new user.
    let (status, created) = meta
        .post("/Users", validator_user("grace@contoso.com"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["userName"], "grace@contoso.com");
    assert_eq!(created["active"], true);
    assert_eq!(created["meta"]["resourceType"], "User");
    let native = meta.native_user("grace@contoso.com").await.expect("native");
    assert_eq!(
        (
            &native["given_name"],
            &native["family_name"],
            &native["phone"]
        ),
        (&json!("Grace"), &json!("Hopper"), &json!("+16175550199"))
    );

    // Get the user by id.
    let (status, user) = meta.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["id"], id);
    assert_eq!(user["name"]["givenName"], "Grace");
    assert_eq!(
        user["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );

    // Filter by userName: `+` and `%20` encodings, any case.
    for filter in [
        "userName+eq+%22grace%40contoso.com%22",
        "userName%20eq%20%22grace%40contoso.com%22",
        "userName%20eq%20%22GRACE%40Contoso.COM%22",
        "USERNAME+EQ+%22grace%40contoso.com%22",
    ] {
        let found = assert_lists_only(&meta, &format!("/Users?filter={filter}"), &id).await;
        assert_eq!(found["userName"], "grace@contoso.com");
    }

    // Filter by a user that does not exist: 200 with an empty list, never 404.
    let (status, body) = meta
        .get("/Users?filter=userName+eq+%22b1c5f9e2-7a0d-4c1e-9f3b-2d8e6a4c0f17%22")
        .await;
    assert!(list(status, &body).is_empty(), "{body}");

    // Patch attributes, Entra's default dialect (capitalised ops, filtered path, enterprise URN).
    let (status, body) = meta
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Replace", "path": "name.familyName", "value": "Murray"},
                {"op": "Replace", "path": "displayName", "value": "Grace Murray"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+44 20 7946 0018"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "gm@contoso.com"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Research"}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"]["familyName"], "Murray");
    assert_eq!(body["displayName"], "Grace Murray");
    let native = meta.native_user("grace@contoso.com").await.expect("native");
    assert_eq!(
        (&native["family_name"], &native["name"], &native["phone"]),
        (
            &json!("Murray"),
            &json!("Grace Murray"),
            &json!("+442079460018")
        )
    );

    // Patch userName, the aadOptscim062020 dialect (pathless, dotted keys).
    let (status, body) = meta
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "replace", "value": {"userName": "ghopper@contoso.com", "name.givenName": "G."}}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userName"], "ghopper@contoso.com");
    assert!(meta.native_user("grace@contoso.com").await.is_none());
    let native = meta
        .native_user("ghopper@contoso.com")
        .await
        .expect("renamed");
    assert_eq!(native["given_name"], "G.");
    assert_lists_only(
        &meta,
        "/Users?filter=userName+eq+%22ghopper%40contoso.com%22",
        &id,
    )
    .await;

    // Disable with the string "False" (default dialect), re-enable with "True", disable with
    // the boolean (the flag's dialect). A disabled user is still found, with active false.
    for (value, enabled) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!(false), false),
    ] {
        let (status, body) = meta
            .patch(
                &format!("/Users/{id}"),
                patch_op(json!([{"op": "Replace", "path": "active", "value": value}])),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], enabled, "{value}: {body}");
        let native = meta.native_user("ghopper@contoso.com").await.expect("kept");
        assert_eq!(native["enabled"], enabled, "{value}");
    }
    let found = assert_lists_only(
        &meta,
        "/Users?filter=userName+eq+%22ghopper%40contoso.com%22",
        &id,
    )
    .await;
    assert_eq!(found["active"], false);

    // Delete, then the user is gone: GET 404, a second DELETE 404, filters find nothing.
    let (status, body) = meta.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204, "{body}");
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
    let (status, body) = meta.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = meta.delete(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = meta
        .get("/Users?filter=userName+eq+%22ghopper%40contoso.com%22")
        .await;
    assert!(list(status, &body).is_empty(), "{body}");
}

#[tokio::test]
async fn duplicates_are_409() {
    let meta = meta_setup().await;
    let (status, body) = meta.post("/Users", validator_user("ada@contoso.com")).await;
    assert_eq!(status, 201, "{body}");
    // userName is unique ignoring case.
    for user_name in ["ada@contoso.com", "ADA@contoso.com"] {
        let (status, body) = meta.post("/Users", validator_user(user_name)).await;
        assert_scim_error(status, &body, 409, Some("uniqueness"));
    }
    assert_eq!(meta.state().await["users"].as_array().unwrap().len(), 1);

    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Analysts"});
    let (status, body) = meta.post("/Groups", group.clone()).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = meta.post("/Groups", group).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    assert_eq!(meta.state().await["groups"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pagination_with_count_5() {
    let meta = meta_setup().await;
    for i in 0..12 {
        let (status, body) = meta
            .post("/Users", validator_user(&format!("page{i:02}@contoso.com")))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // Walk the pages as the validator does; every user shows up exactly once.
    let mut seen = Vec::new();
    for (start, expected) in [(1, 5), (6, 5), (11, 2)] {
        let (status, body) = meta
            .get(&format!("/Users?startIndex={start}&count=5"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["schemas"], json!([LIST_RESPONSE]));
        assert_eq!(body["totalResults"], 12, "{body}");
        assert_eq!(body["startIndex"], start, "{body}");
        assert_eq!(body["itemsPerPage"], expected, "{body}");
        let page = body["Resources"].as_array().unwrap();
        assert_eq!(page.len(), expected, "{body}");
        seen.extend(
            page.iter()
                .map(|u| u["userName"].as_str().unwrap().to_owned()),
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12, "{seen:?}");
    // count=0 answers only the total.
    let (status, body) = meta.get("/Users?count=0").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 12);
    assert!(
        body["Resources"].as_array().is_none_or(Vec::is_empty),
        "{body}"
    );
}

#[tokio::test]
async fn group_tests() {
    let meta = meta_setup().await;
    let mut members = Vec::new();
    for name in ["m1", "m2", "m3"] {
        let (status, body) = meta
            .post("/Users", validator_user(&format!("{name}@contoso.com")))
            .await;
        assert_eq!(status, 201, "{body}");
        members.push(body["id"].as_str().unwrap().to_owned());
    }

    // Create a group (no members, Microsoft's extra schema URN), get it by id.
    let (status, created) = meta
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                               "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "externalId": "0f6a7e52-3c3b-4a8e-9d2e-6b1c1f0e8a11", "displayName": "Engineers",
                   "meta": {"resourceType": "Group"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let gid = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["displayName"], "Engineers");
    assert_eq!(created["meta"]["resourceType"], "Group");
    let (status, group) = meta.get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        (status.as_u16(), &group["displayName"]),
        (200, &json!("Engineers"))
    );

    // Filter by displayName with excludedAttributes=members, any case; a missing group is empty.
    for filter in [
        "displayName+eq+%22Engineers%22",
        "displayName%20eq%20%22engineers%22",
    ] {
        let path = format!("/Groups?excludedAttributes=members&filter={filter}");
        let found = assert_lists_only(&meta, &path, &gid).await;
        assert!(found.get("members").is_none(), "{found}");
    }
    let (status, body) = meta
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Nobody%22")
        .await;
    assert!(list(status, &body).is_empty(), "{body}");

    // Add members (Entra sends `$ref: null`): 204, the testbed has them.
    let add: Vec<Value> = members
        .iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect();
    let (status, body) = meta
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Add", "path": "members", "value": add}])),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        meta.native_group("Engineers").await.unwrap()["users"],
        json!(members)
    );

    // Remove one member by value list: only that one goes.
    let (status, body) = meta
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(
                json!([{"op": "Remove", "path": "members", "value": [{"value": members[1]}]}]),
            ),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        meta.native_group("Engineers").await.unwrap()["users"],
        json!([members[0], members[2]])
    );

    // excludedAttributes=members on GET by id hides them; a plain GET shows them.
    let (status, body) = meta
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("members").is_none(), "{body}");
    let (_, body) = meta.get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        body["members"],
        json!([{"value": members[0]}, {"value": members[2]}])
    );

    // Rename (Replace displayName).
    let (status, body) = meta
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Engineering"}])),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert!(meta.native_group("Engineers").await.is_none());
    assert!(meta.native_group("Engineering").await.is_some());

    // Delete, then 404.
    let (status, body) = meta.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(status, 204, "{body}");
    assert!(meta.state().await["groups"].as_array().unwrap().is_empty());
    let (status, body) = meta.get(&format!("/Groups/{gid}")).await;
    assert_scim_error(status, &body, 404, None);
    // Deleting a group leaves its members alone.
    assert_eq!(meta.state().await["users"].as_array().unwrap().len(), 3);
}
