//! Meta Networks' own SCIM endpoint behind the gateway in proxy mode, with the hooks of
//! adapters/meta-networks-scim.rhai: Entra's sequences reach the strict target in a shape it
//! accepts, asserted on the testbed's native state.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test]
async fn entra_users_reach_the_strict_endpoint_in_its_shape() {
    let m = meta_scim_setup().await;
    // Test Connection through Entra's one tenant URL.
    let (status, body) = m
        .send(Method::GET, "/Users?filter=userName+eq+%22nobody%22", None)
        .await;
    assert_eq!(
        (status.as_u16(), &body["totalResults"]),
        (200, &json!(0)),
        "{body}"
    );

    // A create with everything Meta would refuse: a national phone number, emails, a manager,
    // the misspelt enterprise URN and a string boolean.
    let mut user = entra_user("ann@contoso.com", "Ann", "Arbor", Some("(617) 555-1212"));
    user["emails"] = json!([{"type": "work", "value": "ann@contoso.com", "primary": true}]);
    user["urn:ietf:params:scim:schemas:extension:enterprise:2.0User"] =
        json!({"manager": {"value": "usr-boss"}});
    user["active"] = json!("True");
    let (status, created) = m.send(Method::POST, "/Users", Some(user)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let native = m.native_user("ann@contoso.com").await;
    assert_eq!(native["phone"], "+16175551212");
    assert_eq!(native["enabled"], true);
    assert_eq!(native["provisioned_by"], "SCIM");

    // Entra's default PATCH dialect: capitalised ops, "False", a new national work number.
    let ops = json!([
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "617-555-0199"},
        {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ann@contoso.com"}
    ]);
    let (status, body) = m
        .send(Method::PATCH, &format!("/Users/{id}"), Some(patch(ops)))
        .await;
    assert!(status.is_success(), "{status} {body}");
    let native = m.native_user("ann@contoso.com").await;
    assert_eq!(
        (native["enabled"].as_bool(), native["phone"].as_str()),
        (Some(false), Some("+16175550199"))
    );

    // The aadOptscim062020 dialect: a pathless op with dotted keys.
    let ops = json!([{"op": "replace", "value": {"name.givenName": "Anne", "active": true}}]);
    let (status, body) = m
        .send(Method::PATCH, &format!("/Users/{id}"), Some(patch(ops)))
        .await;
    assert!(status.is_success(), "{status} {body}");
    let native = m.native_user("ann@contoso.com").await;
    assert_eq!(
        (native["given_name"].as_str(), native["enabled"].as_bool()),
        (Some("Anne"), Some(true))
    );

    // A number no region makes valid is refused at the gateway: the target never sees it.
    let before = m.state().await["requests"].clone();
    let ops = json!([{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "call me"}]);
    let (status, body) = m
        .send(Method::PATCH, &format!("/Users/{id}"), Some(patch(ops)))
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert_eq!(
        m.state().await["requests"].get("PATCH /v1/scim/{idp_id}/Users/{id}"),
        before.get("PATCH /v1/scim/{idp_id}/Users/{id}")
    );

    let (status, _) = m.send(Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, body) = m.send(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn entra_group_membership_reaches_the_endpoint() {
    let m = meta_scim_setup().await;
    let mut ids = Vec::new();
    for name in ["g1", "g2"] {
        let (status, body) = m
            .send(
                Method::POST,
                "/Users",
                Some(entra_user(
                    &format!("{name}@contoso.com"),
                    name,
                    "Member",
                    None,
                )),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                                   "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                       "displayName": "Ops", "externalId": "x"});
    let (status, created) = m.send(Method::POST, "/Groups", Some(group)).await;
    assert_eq!(status, 201, "{created}");
    let gid = created["id"].as_str().unwrap();
    let add = json!([{"op": "Add", "path": "members", "value": ids.iter().map(|i| json!({"$ref": null, "value": i})).collect::<Vec<_>>()}]);
    let (status, body) = m
        .send(Method::PATCH, &format!("/Groups/{gid}"), Some(patch(add)))
        .await;
    assert!(status.is_success(), "{status} {body}");
    let remove = json!([{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}]);
    let (status, body) = m
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(remove)),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let state = m.state().await;
    let native = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Ops")
        .unwrap();
    assert_eq!(native["users"], json!([ids[1]]));
    // Removal by filter path, and a rename in Entra's capitalised op.
    let ops = json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])},
        {"op": "Replace", "path": "displayName", "value": "Ops renamed"}
    ]);
    let (status, body) = m
        .send(Method::PATCH, &format!("/Groups/{gid}"), Some(patch(ops)))
        .await;
    assert!(status.is_success(), "{status} {body}");
    let state = m.state().await;
    let native = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid)
        .unwrap();
    assert_eq!(
        (&native["name"], &native["users"]),
        (&json!("Ops renamed"), &json!([]))
    );
}

#[tokio::test]
async fn target_failures_are_retryable_scim_errors() {
    let m = meta_scim_setup().await;
    let (status, _) = m
        .send(Method::GET, "/Users?filter=userName+eq+%22warm%22", None)
        .await;
    assert_eq!(status, 200);
    m.inject_fault(json!({"status": 503, "count": 1})).await;
    let response = m
        .post_response("/Users", &entra_user("f@contoso.com", "F", "G", None))
        .await;
    assert_eq!(response.status(), 503);
    // The target's 503 named no time; Entra still learns when to retry.
    assert!(response.headers().contains_key("retry-after"));
    assert!(m.native_user("f@contoso.com").await.is_null());
    m.client
        .post(format!("{}/_testbed/faults", m.testbed.url))
        .json(&json!({"delay_ms": 5000, "count": 1}))
        .send()
        .await
        .unwrap();
    let (status, body) = m.send(Method::GET, "/Users", None).await;
    assert_scim_error(status, &body, 504, None);
    m.client
        .post(format!("{}/_testbed/faults", m.testbed.url))
        .json(&json!({"drop": true, "count": 1}))
        .send()
        .await
        .unwrap();
    // A fresh connection: the previous answer (504) closed the pooled one, and a client
    // racing that close is not what this step is about.
    let response = reqwest::Client::new()
        .get(format!("{}/meta-scim/Users", m.gateway.url))
        .bearer_auth(&m.token)
        .send()
        .await;
    let response = response.unwrap_or_else(|e| panic!("{e}\n{}", m.gateway.log()));
    let (status, body) = read(response).await;
    assert!(status.is_server_error(), "{status} {body}");
}

/// The target's own 413 and 504 reach the client as they are and are no refusal of the
/// gateway's; the gateway's own deadline is.
#[tokio::test]
async fn a_targets_own_refusals_are_not_counted_as_the_gateways() {
    let m = meta_scim_setup().await;
    let (status, _) = m.send(Method::GET, "/Users", None).await;
    assert_eq!(status, 200);
    for status in [413, 504] {
        m.inject_fault(json!({"status": status, "count": 1})).await;
        let (answered, _) = m.send(Method::GET, "/Users", None).await;
        assert_eq!(answered, status);
    }
    assert_eq!(m.gateway.rejected("meta-scim", "body_too_large").await, 0);
    assert_eq!(m.gateway.rejected("meta-scim", "deadline").await, 0);

    m.inject_fault(json!({"delay_ms": 5000, "count": 1})).await;
    let (status, body) = m.send(Method::GET, "/Users", None).await;
    assert_scim_error(status, &body, 504, None);
    assert_eq!(m.gateway.rejected("meta-scim", "deadline").await, 1);
}

/// Every PATCH form of Entra's (shared/entra.md) through the proxy: each is answered 2xx and
/// leaves the native user as translate mode would, or is a SCIM error that changed nothing.
#[tokio::test]
async fn every_entra_patch_form_reaches_the_strict_endpoint_as_it_accepts() {
    let m = meta_scim_setup().await;
    let user = entra_user("pat@contoso.com", "Pat", "Form", Some("+1 617 555 0100"));
    let (status, created) = m.send(Method::POST, "/Users", Some(user)).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let forms: Vec<(&str, Value, &str, Value)> = vec![
        (
            "replace a sub-attribute",
            json!([{"op": "Replace", "path": "name.givenName", "value": "Patty"}]),
            "given_name",
            json!("Patty"),
        ),
        (
            "replace a filtered phone value",
            json!([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "(617) 555-0101"}]),
            "phone",
            json!("+16175550101"),
        ),
        (
            "remove a filtered sub-attribute",
            json!([{"op": "Remove", "path": "phoneNumbers[type eq \"work\"].value"}]),
            "phone",
            Value::Null,
        ),
        (
            "add on a filtered path that does not exist yet",
            json!([{"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "617-555-0102"}]),
            "phone",
            json!("+16175550102"),
        ),
        (
            "a name in another case",
            json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].Value", "value": "617-555-0103"}]),
            "phone",
            json!("+16175550103"),
        ),
        (
            "pathless, dotted and URN keys",
            json!([{"op": "replace", "value": {"name.familyName": "Formal", format!("{enterprise}:department"): "Sales"}}]),
            "family_name",
            json!("Formal"),
        ),
        (
            "an enterprise attribute by URN path",
            json!([{"op": "Add", "path": format!("{enterprise}:department"), "value": "Support"}]),
            "family_name",
            json!("Formal"),
        ),
        (
            "the manager as a bare id (dropped)",
            json!([{"op": "Add", "path": format!("{enterprise}:manager"), "value": "usr-boss"}]),
            "given_name",
            json!("Patty"),
        ),
        (
            "e-mails by filter (dropped)",
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "pat@contoso.com"}]),
            "email",
            json!("pat@contoso.com"),
        ),
        (
            "roles as JSON text",
            json!([{"op": "Add", "path": "roles", "value": [{"value": "{\"id\":\"r1\",\"value\":\"Admin\"}"}]}]),
            "given_name",
            json!("Patty"),
        ),
        (
            "disable with \"False\"",
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            "enabled",
            json!(false),
        ),
        (
            "enable with a boolean",
            json!([{"op": "Replace", "path": "active", "value": true}]),
            "enabled",
            json!(true),
        ),
    ];
    for (form, ops, field, expected) in forms {
        let (status, body) = m.send(Method::PATCH, &path, Some(patch(ops))).await;
        assert!(status.is_success(), "{form}: {status} {body}");
        let native = m.native_user("pat@contoso.com").await;
        assert_eq!(native[field], expected, "{form}: {native}");
    }
}
