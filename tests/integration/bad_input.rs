//! Bad input gets a clear SCIM error and changes nothing in the target.

use crate::support::*;
use serde_json::json;

async fn native_write_count(meta: &MetaSetup) -> u64 {
    let state = meta.state().await;
    state["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| !route.starts_with("GET") && !route.contains("oauth"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn malformed_json_is_invalid_syntax() {
    let meta = meta_setup().await;
    let response = meta
        .client
        .post(format!("{}/Users", meta.scim))
        .bearer_auth(&meta.token)
        .header("content-type", SCIM_JSON)
        .body("{\"userName\": \"x@y.com\",")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 400, Some("invalidSyntax"));
    assert_eq!(native_write_count(&meta).await, 0);
}

#[tokio::test]
async fn wrong_missing_and_foreign_tokens_are_401() {
    let meta = meta_setup().await;
    let url = format!("{}/Users?filter=userName+eq+%22x%22", meta.scim);
    for auth in [
        Some("Bearer not-the-token"),
        None,
        Some("Basic dXNlcjpwYXNz"),
    ] {
        let mut request = meta.client.get(&url);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let (status, body) = read(request.send().await.unwrap()).await;
        assert_scim_error(status, &body, 401, None);
    }
    // A second tenant's token never opens the first.
    let (other_token, _) = new_token();
    let (status, body) = read(
        meta.client
            .get(&url)
            .bearer_auth(other_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(status, &body, 401, None);
    assert!(
        meta.state().await["requests"]
            .as_object()
            .unwrap()
            .is_empty(),
        "no native call was made"
    );
}

#[tokio::test]
async fn unknown_tenant_path_is_404() {
    let meta = meta_setup().await;
    let (status, body) = read(
        meta.client
            .get(format!("{}/nothing/here/Users", meta.gateway.url))
            .bearer_auth(&meta.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = meta.get("/Widgets").await;
    assert_scim_error(status, &body, 404, None);
}

#[tokio::test]
async fn a_phone_number_that_is_not_e164_able_is_invalid_value() {
    let meta = meta_setup().await;
    let (status, body) = meta
        .post(
            "/Users",
            entra_user("carol@contoso.com", "Carol", "White", Some("call me maybe")),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
    assert_eq!(native_write_count(&meta).await, 0);
}

#[tokio::test]
async fn missing_required_names_are_invalid_value() {
    let meta = meta_setup().await;
    let mut user = entra_user("dave@contoso.com", "Dave", "Green", None);
    user["name"].as_object_mut().unwrap().remove("familyName");
    let (status, body) = meta.post("/Users", user).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(
        body["detail"].as_str().unwrap().contains("familyName"),
        "{body}"
    );
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn oversized_body_is_413() {
    let meta = meta_setup_with("[limits]\nmax_body_bytes = 4096\n").await;
    let mut user = entra_user("erin@contoso.com", "Erin", "Black", None);
    user["displayName"] = json!("x".repeat(10_000));
    let (status, body) = meta.post("/Users", user).await;
    assert_scim_error(status, &body, 413, None);
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_filter_is_invalid_filter() {
    let meta = meta_setup().await;
    let (status, body) = meta.get("/Users?filter=userName+eq").await;
    assert_scim_error(status, &body, 400, Some("invalidFilter"));
    let hostile = "(".repeat(5000);
    let (status, body) = meta.get(&format!("/Users?filter={hostile}")).await;
    assert_scim_error(status, &body, 400, Some("invalidFilter"));
}

#[tokio::test]
async fn a_patch_that_is_not_a_patch_op_is_400() {
    let meta = meta_setup().await;
    let (_, created) = meta
        .post("/Users", entra_user("fay@contoso.com", "Fay", "Blue", None))
        .await;
    let id = created["id"].as_str().unwrap();
    let (status, body) = meta
        .patch(&format!("/Users/{id}"), json!({"Operations": "nope"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        meta.native_user("fay@contoso.com").await.unwrap()["given_name"],
        "Fay"
    );
}
