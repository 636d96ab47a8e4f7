//! Entra's provisioning sequences (shared/entra.md) through the gateway to the Meta Networks
//! testbed, asserting the testbed's native state after each step.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn test_connection_answers_an_empty_list() {
    let meta = meta_setup().await;
    let (status, body) = meta
        .get("/Users?filter=userName+eq+%22e3b0c442-98fc-1c14-9afb-f4c8996fb924%22")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["Resources"], json!([]));
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let (status, body) = meta
        .get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22nobody%22")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 0);
    // Entra's compliance flag may trail the Tenant URL.
    let (status, _) = meta
        .get("/Users?aadOptscim062020&filter=userName+eq+%22x%22")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn user_lifecycle_match_create_update_disable_enable_delete() {
    let meta = meta_setup().await;

    // Match before create: nothing there yet.
    let (status, body) = meta
        .get("/Users?filter=userName+eq+%22alice%40contoso.com%22")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 0);

    // Create, with a national phone number that the adapter normalises to E.164.
    let (status, created) = meta
        .post(
            "/Users",
            entra_user(
                "alice@contoso.com",
                "Alice",
                "Smith",
                Some("(617) 555-1212"),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("usr-"));
    assert_eq!(created["userName"], "alice@contoso.com");
    assert_eq!(created["meta"]["resourceType"], "User");
    let first_version = created["meta"]["version"].as_str().unwrap().to_string();
    assert!(first_version.starts_with("W/\""), "{first_version}");
    assert!(created["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/Users/{id}")));
    let native = meta.native_user("alice@contoso.com").await.unwrap();
    assert_eq!(native["given_name"], "Alice");
    assert_eq!(native["family_name"], "Smith");
    assert_eq!(native["phone"], "+16175551212");
    assert_eq!(native["enabled"], true);
    assert_eq!(native["provisioned_by"], "SCIM");

    // Match again, case-insensitively, with %20 encoding: found.
    let (status, body) = meta
        .get("/Users?filter=userName%20eq%20%22ALICE%40contoso.com%22")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], id);

    // A duplicate create is a 409 uniqueness error, and nothing new appears.
    let (status, body) = meta
        .post(
            "/Users",
            entra_user("alice@contoso.com", "Alice", "Smith", None),
        )
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    assert_eq!(meta.state().await["users"].as_array().unwrap().len(), 1);

    // Attribute update, Entra's default dialect: capitalised op names, filtered paths.
    let (status, body) = meta
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+44 20 7946 0018"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(
        body["meta"]["version"],
        first_version.as_str(),
        "meta.version follows changes"
    );
    let native = meta.native_user("alice@contoso.com").await.unwrap();
    assert_eq!(native["given_name"], "Alicia");
    assert_eq!(native["phone"], "+442079460018");

    // The aadOptscim062020 dialect: one pathless op with dotted keys.
    let (status, body) = meta
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "value": {"name.familyName": "Jones", "name.givenName": "Ally"}}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = meta.native_user("alice@contoso.com").await.unwrap();
    assert_eq!(
        (
            native["given_name"].as_str(),
            native["family_name"].as_str()
        ),
        (Some("Ally"), Some("Jones"))
    );

    // Disable with the string "False": enabled goes false, the user stays.
    let (status, body) = meta
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(
        meta.native_user("alice@contoso.com").await.unwrap()["enabled"],
        false
    );
    // A disabled user is still found by GET and by filter, with active false.
    let (status, body) = meta.get(&format!("/Users/{id}")).await;
    assert_eq!((status.as_u16(), &body["active"]), (200, &json!(false)));
    let (_, body) = meta
        .get("/Users?filter=userName+eq+%22alice%40contoso.com%22")
        .await;
    assert_eq!(body["Resources"][0]["active"], false);

    // Re-enable with a boolean (the flag's dialect).
    let (status, _) = meta
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "path": "active", "value": true}
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        meta.native_user("alice@contoso.com").await.unwrap()["enabled"],
        true
    );

    // Hard delete: 204, then GET 404, second DELETE 404, native user gone.
    let (status, _) = meta.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204);
    assert!(meta.native_user("alice@contoso.com").await.is_none());
    let (status, body) = meta.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = meta.delete(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn user_without_phone_or_manager_and_with_entra_extras() {
    let meta = meta_setup().await;
    // Entra's extras: misspelt enterprise URN, explicit nulls, roles [], an unlisted extension.
    let mut user = entra_user("bob@contoso.com", "Bob", "Brown", None);
    user["urn:ietf:params:scim:schemas:extension:enterprise:2.0User"] =
        json!({"department": "Sales"});
    user["nickName"] = serde_json::Value::Null;
    let (status, created) = meta.post("/Users", user).await;
    assert_eq!(status, 201, "{created}");
    let native = meta.native_user("bob@contoso.com").await.unwrap();
    assert!(native.get("phone").is_none_or(|p| p.is_null()));
    // Replace (PUT) writes the whole user.
    let id = created["id"].as_str().unwrap();
    let mut replacement = entra_user(
        "bob@contoso.com",
        "Robert",
        "Brown",
        Some("+1 617 555 0100"),
    );
    replacement["active"] = json!(false);
    let (status, body) = meta
        .send(
            reqwest::Method::PUT,
            &format!("/Users/{id}"),
            Some(replacement),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = meta.native_user("bob@contoso.com").await.unwrap();
    assert_eq!(
        (native["given_name"].as_str(), native["enabled"].as_bool()),
        (Some("Robert"), Some(false))
    );
    assert_eq!(native["phone"], "+16175550100");
}

#[tokio::test]
async fn group_lifecycle_members_rename_delete() {
    let meta = meta_setup().await;
    let mut ids = Vec::new();
    for name in ["u1", "u2", "u3"] {
        let (status, body) = meta
            .post(
                "/Users",
                entra_user(&format!("{name}@contoso.com"), name, "Test", None),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }

    // Match, then create with no members and Microsoft's extra schema URN.
    let (_, body) = meta
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22")
        .await;
    assert_eq!(body["totalResults"], 0);
    let (status, group) = meta
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                               "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Sales",
                   "meta": {"resourceType": "Group"}}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    assert!(gid.starts_with("grp-"));
    assert_eq!(
        meta.native_group("Sales").await.unwrap()["provisioned_by"],
        "SCIM"
    );

    // Add all three members ($ref: null, as Entra sends them).
    let (status, _) = meta
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Add", "path": "members", "value": ids.iter().map(|i| json!({"$ref": null, "value": i})).collect::<Vec<_>>()}
            ]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        meta.native_group("Sales").await.unwrap()["users"],
        json!(ids)
    );

    // Remove one member by value list: the other two must stay.
    let (status, _) = meta
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}
            ]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        meta.native_group("Sales").await.unwrap()["users"],
        json!([ids[1], ids[2]])
    );

    // Remove by members[value eq "..."].
    let (status, _) = meta
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}
            ]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        meta.native_group("Sales").await.unwrap()["users"],
        json!([ids[2]])
    );

    // GET with excludedAttributes=members has no members; without, it has them.
    let (status, body) = meta
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(status, 200);
    assert!(body.get("members").is_none(), "{body}");
    let (_, body) = meta.get(&format!("/Groups/{gid}")).await;
    assert_eq!(body["members"], json!([{"value": ids[2]}]));

    // Rename.
    let (status, _) = meta
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Sales EMEA"}
            ]}),
        )
        .await;
    assert_eq!(status, 204);
    assert!(meta.native_group("Sales").await.is_none());
    assert_eq!(
        meta.native_group("Sales EMEA").await.unwrap()["users"],
        json!([ids[2]])
    );
    let (_, body) = meta
        .get("/Groups?filter=displayName+eq+%22sales+emea%22")
        .await;
    assert_eq!(
        body["totalResults"], 1,
        "displayName matching is case-insensitive"
    );

    // Delete, then 404.
    let (status, _) = meta.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(status, 204);
    assert!(meta.state().await["groups"].as_array().unwrap().is_empty());
    let (status, body) = meta.get(&format!("/Groups/{gid}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn listing_pages_with_start_index_and_count() {
    let meta = meta_setup().await;
    for i in 0..7 {
        let (status, _) = meta
            .post(
                "/Users",
                entra_user(&format!("p{i}@contoso.com"), "P", &format!("N{i}"), None),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, body) = meta.get("/Users?startIndex=1&count=5").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["totalResults"].as_u64(), body["itemsPerPage"].as_u64()),
        (Some(7), Some(5))
    );
    let (_, body) = meta.get("/Users?startIndex=6&count=5").await;
    assert_eq!(
        (
            body["startIndex"].as_u64(),
            body["Resources"].as_array().unwrap().len()
        ),
        (Some(6), 2)
    );
}

#[tokio::test]
async fn discovery_lists_what_the_adapter_supports() {
    let meta = meta_setup().await;
    let (status, body) = meta.get("/ServiceProviderConfig").await;
    assert_eq!(status, 200);
    assert_eq!(body["patch"]["supported"], true);
    assert_eq!(body["bulk"]["supported"], false);
    let (status, body) = meta.get("/ResourceTypes").await;
    assert_eq!(status, 200);
    let names: Vec<_> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("User"), json!("Group")]);
    let (status, body) = meta.get("/Schemas").await;
    assert_eq!(status, 200);
    assert!(body["totalResults"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn an_unknown_idp_id_is_a_404_on_every_endpoint() {
    let meta = meta_setup().await;
    let before = native_requests(&meta.testbed).await;
    for path in [
        "/Users?filter=userName+eq+%22x%22",
        "/Users/usr-1",
        "/Groups",
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
    ] {
        let response = meta
            .client
            .get(format!("{}/v1/scim/idp-unknown000{path}", meta.gateway.url))
            .bearer_auth(&meta.token)
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_scim_error(status, &body, 404, None);
    }
    assert_eq!(native_requests(&meta.testbed).await, before);
}
