//! Entra's provisioning sequences (shared/entra.md) through the gateway to the MX3
//! Diagnostics testbed: users, groups as tags, and one SCIM URL for two organisations told
//! apart by their tokens; asserting the testbed's native state after each step.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The native users of organisation `org` (0: the first tenant's, 1: the other's).
async fn native_users(mx3: &Setup, org: usize) -> Vec<Value> {
    let state = mx3.state().await;
    state["organisations"][org]["users"]
        .as_array()
        .unwrap()
        .clone()
}

async fn native_user(mx3: &Setup, email: &str) -> Option<Value> {
    native_users(mx3, 0)
        .await
        .into_iter()
        .find(|u| u["email"] == email)
}

/// The ids of the first organisation's users carrying `tag`.
async fn tagged(mx3: &Setup, tag: &str) -> Vec<String> {
    native_users(mx3, 0)
        .await
        .iter()
        .filter(|u| u["tags"].as_array().unwrap().contains(&json!(tag)))
        .map(|u| u["user_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn create(mx3: &Setup, user_name: &str) -> String {
    let (status, body) = mx3
        .post("/Users", entra_user(user_name, "Test", "User", None))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn test_connection_and_discovery() {
    let mx3 = mx3_setup().await;
    for path in [
        "/Users?filter=userName+eq+%22e3b0c442-98fc-1c14-9afb-f4c8996fb924%22",
        "/Groups?excludedAttributes=members&filter=displayName+eq+%22nobody%22",
    ] {
        let (status, body) = mx3.get(path).await;
        assert_eq!((status.as_u16(), &body["totalResults"]), (200, &json!(0)));
    }
    let (_, types) = mx3.get("/ResourceTypes").await;
    assert_eq!(types["totalResults"], 2);
}

#[tokio::test]
async fn user_lifecycle_match_create_update_disable_delete() {
    let mx3 = mx3_setup().await;
    let (status, created) = mx3
        .post(
            "/Users",
            entra_user("ann@contoso.com", "Ann", "Archer", None),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let native = native_user(&mx3, "ann@contoso.com").await.unwrap();
    assert_eq!(
        native,
        json!({"user_id": id, "email": "ann@contoso.com", "name_first": "Ann", "name_last": "Archer",
               "external_id": "ann", "active": true, "tags": []})
    );

    // Matched on userName (ignoring case) and on externalId; every attribute comes back.
    for filter in [
        "userName+eq+%22ANN%40contoso.com%22",
        "externalId%20eq%20%22ann%22",
    ] {
        let (_, body) = mx3.get(&format!("/Users?filter={filter}")).await;
        assert_eq!(body["totalResults"], 1, "{filter}");
        let user = &body["Resources"][0];
        assert_eq!(
            (
                &user["id"],
                &user["userName"],
                &user["externalId"],
                &user["active"]
            ),
            (
                &json!(id),
                &json!("ann@contoso.com"),
                &json!("ann"),
                &json!(true)
            )
        );
        assert_eq!(
            user["name"],
            json!({"givenName": "Ann", "familyName": "Archer"})
        );
    }

    let (status, body) = mx3
        .post(
            "/Users",
            entra_user("ann@contoso.com", "Ann", "Archer", None),
        )
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));

    let (status, body) = mx3
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Replace", "path": "name.givenName", "value": "Anna"},
                {"op": "Replace", "path": "externalId", "value": "anna"}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = mx3
        .patch(
            &format!("/Users/{id}"),
            patch_op(
                json!([{"op": "replace", "value": {"name.familyName": "Arch", "active": "False"}}]),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    let native = native_user(&mx3, "ann@contoso.com").await.unwrap();
    assert_eq!(
        (
            &native["name_first"],
            &native["name_last"],
            &native["external_id"],
            &native["active"]
        ),
        (
            &json!("Anna"),
            &json!("Arch"),
            &json!("anna"),
            &json!(false)
        )
    );
    // Disabled, still there.
    let (status, body) = mx3.get(&format!("/Users/{id}")).await;
    assert_eq!((status.as_u16(), &body["active"]), (200, &json!(false)));

    let (status, _) = mx3.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204);
    assert!(native_user(&mx3, "ann@contoso.com").await.is_none());
    let (status, body) = mx3.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = mx3.delete(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn groups_are_tags_on_their_members() {
    let mx3 = mx3_setup().await;
    let mut ids = Vec::new();
    for name in ["u1", "u2", "u3"] {
        ids.push(create(&mx3, &format!("{name}@contoso.com")).await);
    }

    // Created empty: no tag anywhere, yet the group exists for Entra.
    let (status, group) = mx3
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                               "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Sales"}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    assert!(tagged(&mx3, "Sales").await.is_empty());
    let (_, found) = mx3
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22sales%22")
        .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], gid.as_str());
    assert_eq!(
        found["Resources"][0]["externalId"],
        "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    );
    let (status, body) = mx3.post("/Groups", json!({"displayName": "SALES"})).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));

    // Members added: they carry the tag.
    let (status, _) = mx3
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Add", "path": "members",
                "value": ids.iter().map(|i| json!({"$ref": null, "value": i})).collect::<Vec<_>>()}])),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(tagged(&mx3, "Sales").await, ids);

    // Removal by value list takes out only those listed; by filter path, one more.
    let (status, _) = mx3
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}])),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(tagged(&mx3, "Sales").await, ids[1..]);
    let (status, _) = mx3
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]),
            ),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(tagged(&mx3, "Sales").await, ids[2..]);
    let (_, body) = mx3.get(&format!("/Groups/{gid}")).await;
    assert_eq!(body["members"], json!([{"value": ids[2]}]));
    let (_, body) = mx3
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(body.get("members").is_none(), "{body}");

    // Rename: the tag moves with the group.
    let (status, _) = mx3
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}])),
        )
        .await;
    assert_eq!(status, 204);
    assert!(tagged(&mx3, "Sales").await.is_empty());
    assert_eq!(tagged(&mx3, "Sales EMEA").await, ids[2..]);
    let (_, all) = mx3.get("/Groups").await;
    assert_eq!(all["totalResults"], 1);
    assert_eq!(all["Resources"][0]["displayName"], "Sales EMEA");
    assert_eq!(all["Resources"][0]["members"], json!([{"value": ids[2]}]));

    // Delete: the tag goes from every member, the group from the gateway.
    let (status, _) = mx3.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(status, 204);
    assert!(tagged(&mx3, "Sales EMEA").await.is_empty());
    let (status, body) = mx3.get(&format!("/Groups/{gid}")).await;
    assert_scim_error(status, &body, 404, None);
    let (_, all) = mx3.get("/Groups").await;
    assert_eq!(all["totalResults"], 0);
}

#[tokio::test]
async fn one_url_serves_each_organisation_by_its_token() {
    let mx3 = mx3_setup().await;
    let id = create(&mx3, "kim@contoso.com").await;
    // The other organisation's tenant, at the same URL, sees nothing of the first's.
    let (status, body) = mx3
        .send_as(
            &mx3.other_token,
            Method::GET,
            "/Users?filter=userName+eq+%22kim%40contoso.com%22",
            None,
        )
        .await;
    assert_eq!((status.as_u16(), &body["totalResults"]), (200, &json!(0)));
    let (status, body) = mx3
        .send_as(&mx3.other_token, Method::GET, &format!("/Users/{id}"), None)
        .await;
    assert_scim_error(status, &body, 404, None);
    // It provisions its own user with the same userName, in its own organisation.
    let (status, body) = mx3
        .send_as(
            &mx3.other_token,
            Method::POST,
            "/Users",
            Some(entra_user("kim@contoso.com", "Kim", "Other", None)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(native_users(&mx3, 0).await.len(), 1);
    let second = native_users(&mx3, 1).await;
    assert_eq!(
        (second.len(), &second[0]["name_last"]),
        (1, &json!("Other"))
    );
    // Groups live in each tenant's own store too.
    mx3.post("/Groups", json!({"displayName": "Ops"})).await;
    let (_, body) = mx3
        .send_as(&mx3.other_token, Method::GET, "/Groups", None)
        .await;
    assert_eq!(body["totalResults"], 0);
    // A token of neither tenant opens nothing.
    let (status, _) = mx3
        .send_as("not-a-token", Method::GET, "/Users", None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn target_failures_are_503_and_nothing_is_reported_done() {
    let mx3 = mx3_setup().await;
    for fault in [
        json!({"status": 503, "count": 10}),
        json!({"drop": true, "count": 10}),
        json!({"delay_ms": 5000, "count": 1}),
    ] {
        mx3.inject_fault(fault.clone()).await;
        let (status, body) = mx3
            .post("/Users", entra_user("lee@contoso.com", "Lee", "Long", None))
            .await;
        assert_scim_error(status, &body, 503, None);
        mx3.clear_faults().await;
        // A slow create may land after the gateway gave up (as with any timeout); the
        // others must leave nothing.
        if fault.get("delay_ms").is_none() {
            assert!(native_users(&mx3, 0).await.is_empty(), "{fault}");
        }
    }

    // A failed membership change is a 503 too, and Entra's retry completes it.
    let id = create(&mx3, "max@contoso.com").await;
    let (_, group) = mx3.post("/Groups", json!({"displayName": "Lab"})).await;
    let gid = group["id"].as_str().unwrap();
    let add = patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]));
    // The membership read passes; the tag write fails.
    mx3.inject_fault(json!({"delay_ms": 1, "count": 1})).await;
    mx3.inject_fault(json!({"status": 503, "count": 1})).await;
    let (status, body) = mx3.patch(&format!("/Groups/{gid}"), add.clone()).await;
    assert_scim_error(status, &body, 503, None);
    assert!(tagged(&mx3, "Lab").await.is_empty());
    let (status, _) = mx3.patch(&format!("/Groups/{gid}"), add).await;
    assert_eq!(status, 204);
    assert_eq!(tagged(&mx3, "Lab").await, [id]);
}
