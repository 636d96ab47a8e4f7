//! Entra's provisioning sequences (shared/entra.md) through the gateway to the Rhombus
//! Systems testbed, asserting the testbed's native state after each step; target faults and
//! Rhombus's rate limit become retryable SCIM errors.

use std::num::NonZeroU32;

use crate::support::*;
use reqwest::Method;
use scimitar_testbeds::rhombus::{Options, RateLimit};
use serde_json::{json, Value};

/// A testbed without rate limit, for the tests that are not about it.
async fn setup() -> Setup {
    rhombus_setup(Options {
        rate_limit: None,
        ..Options::default()
    })
    .await
}

/// Entra's create body for Rhombus: every attribute of the seed's table.
fn rhombus_user(user_name: &str, given: &str, family: &str, role: &str) -> Value {
    let mut user = entra_user(user_name, given, family, None);
    user["roles"] =
        json!([{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": role}]);
    user
}

async fn native_user(rhombus: &Setup, email: &str) -> Option<Value> {
    rhombus.native("users", "email", email).await
}

/// The name of the permission group a native user belongs to.
async fn group_name(rhombus: &Setup, native: &Value) -> String {
    let state = rhombus.state().await;
    let groups = state["permission_groups"].as_array().unwrap();
    let group = groups
        .iter()
        .find(|g| g["uuid"] == native["permissionGroupUuid"])
        .unwrap();
    group["name"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn test_connection_and_discovery_have_users_only() {
    let rhombus = setup().await;
    let (status, body) = rhombus
        .get("/Users?filter=userName+eq+%22e3b0c442-98fc-1c14-9afb-f4c8996fb924%22")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 0);
    let (_, types) = rhombus.get("/ResourceTypes").await;
    let names: Vec<_> = types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("User")]);
}

#[tokio::test]
async fn user_lifecycle_match_create_update_role_disable() {
    let rhombus = setup().await;
    let (_, body) = rhombus
        .get("/Users?filter=userName+eq+%22ana%40contoso.com%22")
        .await;
    assert_eq!(body["totalResults"], 0);

    // Create: a given name with a space survives Rhombus's one-`name` create.
    let (status, created) = rhombus
        .post(
            "/Users",
            rhombus_user("ana@contoso.com", "Ana Maria", "Lopez", "Member"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 22);
    let native = native_user(&rhombus, "ana@contoso.com").await.unwrap();
    assert_eq!(
        (&native["uuid"], &native["firstName"], &native["lastName"]),
        (&json!(id), &json!("Ana Maria"), &json!("Lopez"))
    );
    assert_eq!(group_name(&rhombus, &native).await, "Member");

    // Every mapped attribute comes back on GET and through the matching filter.
    let (status, user) = rhombus.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(user["userName"], "ana@contoso.com");
    assert_eq!(user["name"]["givenName"], "Ana Maria");
    assert_eq!(user["name"]["familyName"], "Lopez");
    assert_eq!(user["active"], true);
    assert_eq!(user["roles"][0]["value"], "Member");
    assert_eq!(user["roles"][0]["primary"], true);
    let (_, found) = rhombus
        .get("/Users?filter=userName%20eq%20%22ANA%40contoso.com%22")
        .await;
    assert_eq!(found["Resources"][0]["id"], id.as_str());

    // A duplicate is a 409 and creates nothing.
    let (status, body) = rhombus
        .post(
            "/Users",
            rhombus_user("ana@contoso.com", "Ana", "Lopez", "Member"),
        )
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    assert_eq!(rhombus.state().await["users"].as_array().unwrap().len(), 1);

    // Entra's default dialect: names by path, and a role as a JSON string without `primary`.
    let (status, body) = rhombus
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Replace", "path": "name.familyName", "value": "López"},
                {"op": "Add", "path": "roles", "value": [
                    {"value": "{\"id\":\"r-admin\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}
                ]}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"][0]["value"], "Admin");
    let native = native_user(&rhombus, "ana@contoso.com").await.unwrap();
    assert_eq!(native["lastName"], "López");
    assert_eq!(group_name(&rhombus, &native).await, "Admin");

    // The compliance flag's dialect: pathless, dotted keys; the role through its filter path.
    let (status, body) = rhombus
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "replace", "value": {"name.givenName": "Ann", "userName": "ann@contoso.com"}},
                {"op": "replace", "path": "roles[primary eq \"True\"].value", "value": "Viewer"}
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = native_user(&rhombus, "ann@contoso.com").await.unwrap();
    assert_eq!(native["firstName"], "Ann");
    assert_eq!(group_name(&rhombus, &native).await, "Viewer");

    // An unknown role is a 400 naming it, and changes nothing.
    let (status, body) = rhombus
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Add", "path": "roles", "value": [{"value": "Janitor", "primary": true}]}])),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("Janitor"));
    let native = native_user(&rhombus, "ann@contoso.com").await.unwrap();
    assert_eq!(group_name(&rhombus, &native).await, "Viewer");

    // Disable (the string "False"): Rhombus removes the user; GET is then a 404.
    let (status, body) = rhombus
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert!(rhombus.state().await["users"]
        .as_array()
        .unwrap()
        .is_empty());
    let (status, body) = rhombus.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn every_required_attribute_is_checked_before_anything_is_written() {
    let rhombus = setup().await;
    let complete = rhombus_user("bo@contoso.com", "Bo", "Berg", "Member");
    let without = |pointer: &str| {
        let mut user = complete.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() {
            &mut user
        } else {
            user.pointer_mut(parent).unwrap()
        };
        parent.as_object_mut().unwrap().remove(key);
        user
    };
    for (user, named) in [
        (without("/userName"), "userName"),
        (without("/active"), "active"),
        (without("/name/givenName"), "name.givenName"),
        (without("/name/familyName"), "name.familyName"),
        (without("/roles"), "roles[primary eq \"True\"].value"),
    ] {
        let (status, body) = rhombus.post("/Users", user).await;
        assert_scim_error(status, &body, 400, Some("invalidValue"));
        assert!(
            body["detail"].as_str().unwrap().contains(named),
            "{named}: {body}"
        );
    }
    let mut unknown_role = complete.clone();
    unknown_role["roles"][0]["value"] = json!("Owner");
    let (status, body) = rhombus.post("/Users", unknown_role).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(rhombus.state().await["users"]
        .as_array()
        .unwrap()
        .is_empty());

    // A boolean `primary` (the flag's dialect) is as good as "True".
    let mut boolean = complete.clone();
    boolean["roles"][0]["primary"] = json!(true);
    let (status, body) = rhombus.post("/Users", boolean).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn replace_and_hard_delete() {
    let rhombus = setup().await;
    let (_, created) = rhombus
        .post(
            "/Users",
            rhombus_user("cy@contoso.com", "Cy", "Cole", "Viewer"),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = rhombus
        .put(
            &format!("/Users/{id}"),
            rhombus_user("cy@contoso.com", "Cyril", "Cole", "Admin"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let native = native_user(&rhombus, "cy@contoso.com").await.unwrap();
    assert_eq!(native["firstName"], "Cyril");
    assert_eq!(group_name(&rhombus, &native).await, "Admin");

    let (status, _) = rhombus.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, 204);
    assert!(native_user(&rhombus, "cy@contoso.com").await.is_none());
    let (status, body) = rhombus.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = rhombus.delete(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn target_failures_are_503_and_nothing_is_reported_done() {
    let rhombus = setup().await;
    let user = rhombus_user("di@contoso.com", "Di", "Dunn", "Member");
    // The create's first call (permission groups, a read) is retried, the createUser never:
    // enough 503s fail both.
    for fault in [
        json!({"status": 503, "count": 10}),
        json!({"drop": true, "count": 10}),
    ] {
        rhombus.inject_fault(fault.clone()).await;
        let (status, body) = rhombus.post("/Users", user.clone()).await;
        assert_scim_error(status, &body, 503, None);
        rhombus.clear_faults().await;
        assert!(
            rhombus.state().await["users"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{fault}"
        );
    }
    // A passing failure of a read is retried out of sight.
    let (status, created) = rhombus.post("/Users", user.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    rhombus
        .inject_fault(json!({"status": 503, "count": 1}))
        .await;
    let (status, body) = rhombus.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200, "{body}");

    // The createUser call itself is dropped after the read went through (a pure delay
    // fault lets the first call pass): 503, and no user.
    let second = rhombus_user("ed@contoso.com", "Ed", "Eng", "Member");
    rhombus
        .inject_fault(json!({"delay_ms": 1, "count": 1}))
        .await;
    rhombus
        .inject_fault(json!({"drop": true, "count": 1}))
        .await;
    let (status, body) = rhombus.post("/Users", second).await;
    assert_scim_error(status, &body, 503, None);
    assert!(native_user(&rhombus, "ed@contoso.com").await.is_none());
}

#[tokio::test]
async fn a_slow_target_times_out_as_a_retryable_error() {
    // The harness's upstream timeout is 3 s; the testbed holds every call 5 s.
    let rhombus = setup().await;
    rhombus
        .inject_fault(json!({"delay_ms": 5000, "count": 3}))
        .await;
    let (status, body) = rhombus
        .post(
            "/Users",
            rhombus_user("fay@contoso.com", "Fay", "Fox", "Member"),
        )
        .await;
    assert_scim_error(status, &body, 503, None);
    assert!(native_user(&rhombus, "fay@contoso.com").await.is_none());
}

#[tokio::test]
async fn the_rate_limit_is_waited_out_or_passed_on_as_429() {
    // A bucket of two that refills at one a second: every SCIM call makes two RPC calls, so
    // the gateway meets 429s and must wait them out (Retry-After) to succeed.
    let rhombus = rhombus_setup(Options {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        }),
        ..Options::default()
    })
    .await;
    for name in ["gus", "hal", "ida"] {
        let (status, body) = rhombus
            .post(
                "/Users",
                rhombus_user(&format!("{name}@contoso.com"), name, "Test", "Member"),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(rhombus.state().await["users"].as_array().unwrap().len(), 3);
    let metrics = reqwest::get(format!("{}/metrics", rhombus.gateway.admin_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("scimitar_upstream_requests_total")
                && l.contains("status=\"429\"")),
        "the gateway never met the rate limit"
    );

    // Throttled for longer than the request may wait: SCIM 429 with Retry-After, no user.
    rhombus
        .inject_fault(json!({"status": 429, "retry_after": 120, "count": 5}))
        .await;
    let response = rhombus
        .client
        .request(Method::POST, format!("{}/Users", rhombus.scim))
        .bearer_auth(&rhombus.token)
        .header("content-type", SCIM_JSON)
        .body(rhombus_user("jo@contoso.com", "Jo", "Test", "Member").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "120");
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 429, None);
    assert!(native_user(&rhombus, "jo@contoso.com").await.is_none());
}
