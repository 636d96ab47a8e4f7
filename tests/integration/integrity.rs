//! A 2xx means exactly what the target did: writes that Entra sends in parallel are all
//! kept (in one gateway and across replicas sharing PostgreSQL), wrong-typed input is a
//! SCIM 400 before any target call, retryable answers say when to retry, and half-done
//! creates leave nothing behind — each asserted on the testbeds' native state.

use crate::support::*;
use reqwest::Method;
use scimitar_testbeds::rhombus;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const MEDIUS: &str = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";

fn add_member(user: &str) -> Value {
    patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": user}]}]))
}

async fn create(setup: &Setup, path: &str, body: Value) -> String {
    let (status, created) = setup.post(path, body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

/// A user created as Entra creates one.
async fn new_user(setup: &Setup, user_name: &str) -> String {
    create(setup, "/Users", entra_user(user_name, "Test", "User", None)).await
}

/// Ten groups named `g0`…`g9`, created one after another.
async fn ten_groups(setup: &Setup) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(create(setup, "/Groups", json!({"displayName": format!("g{i}")})).await);
    }
    ids
}

/// The tags a native MX3 user of the first organisation carries.
async fn mx3_tags(state: &Value, user: &str) -> BTreeSet<String> {
    state["organisations"][0]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == user)
        .map(|u| {
            u["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn ten_names() -> BTreeSet<String> {
    (0..10).map(|i| format!("g{i}")).collect()
}

#[tokio::test]
async fn one_user_joining_ten_mx3_groups_at_once_is_in_all_ten() {
    let mx3 = mx3_setup().await;
    let user = new_user(&mx3, "ann@contoso.com").await;
    let groups = ten_groups(&mx3).await;
    let answers = mx3
        .send_parallel(
            groups
                .iter()
                .map(|g| {
                    (
                        Method::PATCH,
                        format!("/Groups/{g}"),
                        Some(add_member(&user)),
                    )
                })
                .collect(),
        )
        .await;
    for (status, body) in &answers {
        assert_eq!(*status, 204, "{body}");
    }
    assert_eq!(mx3_tags(&mx3.state().await, &user).await, ten_names());
    // And each group lists the user as a member.
    for group in &groups {
        let (_, body) = mx3.get(&format!("/Groups/{group}")).await;
        assert_eq!(body["members"], json!([{"value": user}]), "{body}");
    }
}

#[tokio::test]
async fn seven_parallel_single_attribute_patches_of_one_mediusflow_user_all_land() {
    let medius = mediusflow_setup().await;
    let user = new_user(&medius, "ada@contoso.com").await;
    let changes = [
        ("name.givenName", "FirstName"),
        ("name.familyName", "LastName"),
        ("name.formatted", "FormattedName"),
        ("externalId", "ExternalId"),
        (&*format!("{MEDIUS}:customFieldText1"), "CustomFieldText1"),
        (&*format!("{MEDIUS}:customFieldText2"), "CustomFieldText2"),
        (&*format!("{MEDIUS}:nameIdentifier"), "NameIdentifier"),
    ]
    .map(|(path, field)| (path.to_string(), field));
    let answers = medius
        .send_parallel(
            changes
                .iter()
                .map(|(path, field)| {
                    let op =
                        json!([{"op": "Replace", "path": path, "value": format!("new {field}")}]);
                    (Method::PATCH, format!("/Users/{user}"), Some(patch_op(op)))
                })
                .collect(),
        )
        .await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let native = medius
        .native("users", "UserName", "ada@contoso.com")
        .await
        .unwrap();
    for (_, field) in &changes {
        assert_eq!(native[field], format!("new {field}"), "{native}");
    }
}

#[tokio::test]
async fn replicas_sharing_postgresql_order_their_writes_too() {
    let store = test_postgres_url();
    // One tenant, two replicas: a name of this run's own, so no earlier run's state is met.
    let unique = format!("mx3-replicas-{}-{}", std::process::id(), rand_suffix());
    let (token, _) = new_token();
    let (testbed, secrets, spec) = mx3_tenant(&unique, &token, "").await;
    let tenants = tenants_toml(&[spec]);
    let a = start_gateway_on_store(&tenants, "", &store, "").await;
    let b = start_gateway_on_store(&tenants, "", &store, "").await;
    let setup = Setup::from_parts(testbed, a, "/mx3", &token, secrets);
    let a = &setup.gateway;
    let user = new_user(&setup, "bo@contoso.com").await;
    let groups = ten_groups(&setup).await;
    // Both replicas know every group: they share the store.
    let (status, body) = read(
        setup
            .client
            .get(format!("{}/mx3/Groups/{}", b.url, groups[9]))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let requests = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let replica = if i % 2 == 0 { a } else { &b };
            (
                format!("{}/mx3", replica.url),
                (
                    Method::PATCH,
                    format!("/Groups/{g}"),
                    Some(add_member(&user)),
                ),
            )
        })
        .collect();
    for (status, body) in send_all(&setup.client, &token, requests).await {
        assert_eq!(status, 204, "{body}");
    }
    assert_eq!(mx3_tags(&setup.state().await, &user).await, ten_names());
}

/// The testbed's state without what reading it or calling it changes by itself.
async fn data(setup: &Setup) -> Value {
    let mut state = setup.state().await;
    for volatile in ["requests", "faults", "tokens_issued"] {
        state.as_object_mut().unwrap().remove(volatile);
    }
    state
}

/// Wrong-typed values, each a 400 invalidValue that reaches no target.
async fn refuses_wrong_types(setup: &Setup, user: &str, valid: Value) {
    let before = data(setup).await;
    let path = format!("/Users/{user}");
    for op in [
        json!({"op": "replace", "path": "name", "value": []}),
        json!({"op": "replace", "path": "name", "value": "Ann"}),
        json!({"op": "replace", "path": "emails", "value": "x"}),
        json!({"op": "add", "path": "name.givenName", "value": {"a": 1}}),
        json!({"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": 5}),
        json!({"op": "replace", "value": {"name.familyName": ["x"]}}),
        json!({"op": "replace", "path": "active", "value": "sometimes"}),
    ] {
        let (status, body) = setup.patch(&path, patch_op(json!([op.clone()]))).await;
        assert_scim_error(status, &body, 400, Some("invalidValue"));
        assert!(
            body["detail"].as_str().unwrap().contains("must be"),
            "{op}: {body}"
        );
    }
    let mut body = valid;
    body["phoneNumbers"] = json!({"type": "work", "value": "+1 617 555 1212"});
    let (status, answer) = setup.post("/Users", body.clone()).await;
    assert_scim_error(status, &answer, 400, Some("invalidValue"));
    let (status, answer) = setup.put(&path, body).await;
    assert_scim_error(status, &answer, 400, Some("invalidValue"));
    assert_eq!(data(setup).await, before, "nothing reached the target");
}

#[tokio::test]
async fn wrong_typed_values_reach_no_target() {
    let meta = meta_setup().await;
    let valid = entra_user("ty@contoso.com", "Ty", "Pe", None);
    let user = create(&meta, "/Users", valid.clone()).await;
    refuses_wrong_types(&meta, &user, valid).await;

    let medius = mediusflow_setup().await;
    let valid =
        json!({"userName": "ty@contoso.com", "name": {"givenName": "Ty", "familyName": "Pe"}});
    let user = create(&medius, "/Users", valid.clone()).await;
    refuses_wrong_types(&medius, &user, valid).await;
    let (status, body) = medius
        .patch(
            &format!("/Users/{user}"),
            patch_op(json!([{"op": "replace", "path": format!("{MEDIUS}:customFieldText1"), "value": 7}])),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));

    let maptician = maptician_setup().await;
    let valid = entra_user("ty@contoso.com", "Ty", "Pe", None);
    let user = create(&maptician, "/Users", valid.clone()).await;
    refuses_wrong_types(&maptician, &user, valid).await;

    let rhombus = rhombus_setup(rhombus::Options {
        rate_limit: None,
        ..rhombus::Options::default()
    })
    .await;
    let mut valid = entra_user("ty@contoso.com", "Ty", "Pe", None);
    valid["roles"] = json!([{"primary": "True", "value": "Member"}]);
    let user = create(&rhombus, "/Users", valid.clone()).await;
    refuses_wrong_types(&rhombus, &user, valid).await;

    let mx3 = mx3_setup().await;
    let valid = entra_user("ty@contoso.com", "Ty", "Pe", None);
    let user = create(&mx3, "/Users", valid.clone()).await;
    refuses_wrong_types(&mx3, &user, valid).await;
}

#[tokio::test]
async fn a_group_whose_members_cannot_be_added_is_not_left_behind() {
    let meta = meta_setup().await;
    let user = new_user(&meta, "m@contoso.com").await;
    let group = json!({"displayName": "Half", "members": [{"value": user}]});
    // The create goes through, adding the member fails: the group is deleted again.
    meta.inject_fault(json!({"delay_ms": 0, "count": 1})).await;
    meta.inject_fault(json!({"status": 503, "count": 1})).await;
    let (status, body) = meta.post("/Groups", group.clone()).await;
    assert_scim_error(status, &body, 503, None);
    assert!(
        meta.native_group("Half").await.is_none(),
        "the group was undone"
    );

    // Adding fails and so does the undo (the target went down): Entra's retry completes
    // the group the first attempt created, rather than meeting a 409.
    meta.inject_fault(json!({"delay_ms": 0, "count": 1})).await;
    meta.inject_fault(json!({"status": 503, "count": 4})).await;
    let (status, body) = meta.post("/Groups", group.clone()).await;
    assert_scim_error(status, &body, 503, None);
    let left = meta
        .native_group("Half")
        .await
        .expect("the undo failed too");
    assert_eq!(left["users"], json!([]));
    meta.clear_faults().await;
    let (status, body) = meta.post("/Groups", group).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], left["id"], "the retry completed the same group");
    assert_eq!(body["members"], json!([{"value": user}]));
    let state = meta.state().await;
    let named: Vec<_> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] == "Half")
        .collect();
    assert_eq!(named.len(), 1, "no duplicate: {state}");
    assert_eq!(named[0]["users"], json!([user]));
}

#[tokio::test]
async fn an_unknown_member_is_invalid_value_not_a_missing_group() {
    let meta = meta_setup().await;
    let group = create(&meta, "/Groups", json!({"displayName": "Known"})).await;
    let (status, body) = meta
        .patch(&format!("/Groups/{group}"), add_member("usr-nosuchuser"))
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let (status, body) = meta
        .patch("/Groups/grp-nosuchgrou", add_member("usr-nosuchuser"))
        .await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn sequential_requests_never_meet_the_concurrency_cap() {
    let meta = meta_setup_full("[tenants.limits]\nmax_concurrent = 1\n", "", "").await;
    for _ in 0..300 {
        let (status, body) = meta.get("/Users?filter=userName+eq+%22x%22").await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A match query's status and `Retry-After` (in seconds) when there is one.
async fn retry_after_of_a_match(setup: &Setup) -> (u16, Option<u64>) {
    let response = setup
        .client
        .get(format!("{}/Users?filter=userName+eq+%22x%22", setup.scim))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap();
    let seconds = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), seconds)
}

#[tokio::test]
async fn retryable_answers_always_say_when() {
    let meta = meta_setup().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    for fault in [
        json!({"status": 503, "count": 3}),
        json!({"drop": true, "count": 3}),
        json!({"status": 429, "count": 3}),
    ] {
        meta.inject_fault(fault.clone()).await;
        let (status, seconds) = retry_after_of_a_match(&meta).await;
        assert!(matches!(status, 429 | 503), "{fault}: {status}");
        assert!(seconds.is_some_and(|s| s >= 1), "{fault}: {seconds:?}");
        meta.clear_faults().await;
    }
    // A target asking for an absurd wait is neither a crash nor passed on as it is.
    meta.inject_fault(json!({"status": 429, "retry_after": u64::MAX, "count": 3}))
        .await;
    let (status, seconds) = retry_after_of_a_match(&meta).await;
    assert_eq!(status, 429);
    assert!(seconds.is_some_and(|s| s <= 3600), "{seconds:?}");
    meta.clear_faults().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200, "the gateway still serves");
}

#[tokio::test]
async fn schemas_list_the_core_schema_and_every_extension_present() {
    let medius = mediusflow_setup().await;
    let manager = new_user(&medius, "boss@contoso.com").await;
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let user = create(
        &medius,
        "/Users",
        json!({"userName": "emp@contoso.com", "name": {"givenName": "E", "familyName": "M"},
               enterprise: {"manager": {"value": manager}}, MEDIUS: {"customFieldText1": "x"}}),
    )
    .await;
    let (_, body) = medius.get(&format!("/Users/{user}")).await;
    let schemas: Vec<&str> = body["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        schemas[0], "urn:ietf:params:scim:schemas:core:2.0:User",
        "{body}"
    );
    assert!(
        schemas.contains(&enterprise) && schemas.contains(&MEDIUS),
        "{body}"
    );
    assert_eq!(schemas.len(), 3, "each once: {body}");
}

#[tokio::test]
async fn an_idle_gateway_stops_at_once_on_sigterm() {
    let mut meta = meta_setup_full("", "shutdown_grace_secs = 120\n", "").await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &meta.gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // Far less than the grace period, which an idle gateway has no reason to wait out.
    let exited = meta
        .gateway_mut()
        .wait_for_exit(std::time::Duration::from_secs(30));
    assert!(
        exited,
        "still running 30 s after SIGTERM with nothing in flight"
    );
}

#[tokio::test]
async fn a_store_outage_inside_a_script_is_a_retryable_503_not_a_script_fault() {
    use sqlx::Executor;
    let admin_url = test_postgres_url();
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("PostgreSQL must be reachable for this test");
    let database = format!("scimitar_outage_{}_{}", std::process::id(), rand_suffix());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let store = format!(
        "{}/{database}",
        admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base)
    );
    let (token, _) = new_token();
    let (testbed, secrets, spec) = mx3_tenant("mx3", &token, "").await;
    let gateway = start_gateway_on_store(&tenants_toml(&[spec]), "", &store, "").await;
    let mx3 = Setup::from_parts(testbed, gateway, "/mx3", &token, secrets);
    let group = create(&mx3, "/Groups", json!({"displayName": "Kept"})).await;

    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
    let response = mx3
        .client
        .get(format!("{}/Groups/{group}", mx3.scim))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 503, None);
    assert!(body["detail"].as_str().unwrap().contains("store"), "{body}");
    let metrics = mx3
        .client
        .get(format!("{}/metrics", mx3.gateway.admin_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("scimitar_script_errors_total{"),
        "a store outage is not the script's fault: {metrics}"
    );
    assert!(
        mx3.gateway.rejected("mx3", "store_unavailable").await >= 1,
        "the store outage is counted as one: {metrics}"
    );
}

#[tokio::test]
async fn a_token_that_never_expires_is_kept_a_day_not_a_panic() {
    let options = scimitar_testbeds::meta_networks::Options {
        token_ttl: std::time::Duration::from_secs(u64::MAX),
        ..Default::default()
    };
    let meta = meta_setup_options(options, "", "", "").await;
    for _ in 0..3 {
        let (status, body) = meta.get("/Users?filter=userName+eq+%22x%22").await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(meta.state().await["tokens_issued"], 1, "one token, cached");
}
