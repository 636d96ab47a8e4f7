//! A failing, throttling, slow or vanishing target becomes a retryable SCIM error, and the
//! gateway never reports success for work the target did not do.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn upstream_5xx_on_create_is_503_and_nothing_is_created() {
    let meta = meta_setup().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    // Enough 503s to outlast any retry (POST is not retried anyway: it is not idempotent).
    meta.inject_fault(json!({"status": 503, "count": 10})).await;
    let (status, body) = meta
        .post("/Users", entra_user("gil@contoso.com", "Gil", "Grey", None))
        .await;
    assert_scim_error(status, &body, 503, None);
    meta.client
        .delete(format!("{}/_testbed/faults", meta.testbed.url))
        .send()
        .await
        .unwrap();
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
    // Entra's retry then succeeds.
    let (status, _) = meta
        .post("/Users", entra_user("gil@contoso.com", "Gil", "Grey", None))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_passing_5xx_on_a_read_is_retried_transparently() {
    let meta = meta_setup().await;
    let (_, created) = meta
        .post("/Users", entra_user("hal@contoso.com", "Hal", "Hue", None))
        .await;
    let id = created["id"].as_str().unwrap();
    meta.inject_fault(json!({"status": 503, "count": 1})).await;
    let (status, body) = meta.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn throttling_becomes_429_with_retry_after() {
    let meta = meta_setup().await;
    // Fetch the upstream token first, so that the throttled call is the create itself.
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    meta.inject_fault(json!({"status": 429, "retry_after": 120, "count": 5}))
        .await;
    let response = meta
        .client
        .post(format!("{}/Users", meta.scim))
        .bearer_auth(&meta.token)
        .header("content-type", SCIM_JSON)
        .body(entra_user("ivy@contoso.com", "Ivy", "Ink", None).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("retry-after").unwrap(), "120");
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 429, None);
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_throttled_token_endpoint_is_429_too() {
    let meta = meta_setup().await;
    meta.inject_fault(json!({"status": 429, "retry_after": 30, "count": 1}))
        .await;
    let response = meta
        .client
        .get(format!("{}/Users?filter=userName+eq+%22x%22", meta.scim))
        .bearer_auth(&meta.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("retry-after").unwrap(), "30");
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 429, None);
}

#[tokio::test]
async fn a_dropped_connection_is_503_and_nothing_is_reported_done() {
    let meta = meta_setup().await;
    // The token request goes first; drop the create itself.
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    meta.inject_fault(json!({"drop": true, "count": 1})).await;
    let (status, body) = meta
        .post("/Users", entra_user("jon@contoso.com", "Jon", "Jet", None))
        .await;
    assert_scim_error(status, &body, 503, None);
    assert!(meta.state().await["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_slow_target_times_out_as_a_retryable_error() {
    // upstream timeout is 3 s in the harness; the testbed waits 5 s.
    let meta = meta_setup().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    meta.inject_fault(json!({"delay_ms": 5000, "count": 1}))
        .await;
    let (status, body) = meta
        .post("/Users", entra_user("kim@contoso.com", "Kim", "Kay", None))
        .await;
    assert_scim_error(status, &body, 503, None);
}

#[tokio::test]
async fn an_expired_upstream_token_is_refreshed() {
    let meta = meta_setup().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    // Reset forgets every issued token: the gateway's cached one is now refused with 401.
    meta.client
        .post(format!("{}/_testbed/reset", meta.testbed.url))
        .send()
        .await
        .unwrap();
    let (status, body) = meta
        .post("/Users", entra_user("lee@contoso.com", "Lee", "Lo", None))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(meta.state().await["tokens_issued"], 1);
}
