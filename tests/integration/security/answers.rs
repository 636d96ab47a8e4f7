//! A target answering far more than any page is cut off at the tenant's
//! `upstream.max_response_bytes`: a clear SCIM 502 in translate mode, never a partial answer
//! taken for a whole one in proxy mode.

use crate::security::{lookup_by_path, metric};
use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn translate_mode_refuses_an_oversized_answer() {
    let setup = lookup_by_path("capped", "max_response_bytes = 100000\n").await;
    setup.inject_fault(json!({"body_bytes": 5_000_000})).await;
    let (status, body) = setup.get("/Users?filter=userName+eq+%22big%22").await;
    assert_scim_error(status, &body, 502, None);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("max_response_bytes"),
        "{body}"
    );
    assert_eq!(
        metric(
            &setup.gateway,
            "scimitar_upstream_refused_total{reason=\"response_too_large\",tenant=\"capped\"}"
        )
        .await,
        1.0
    );
    // An answer within the cap is taken as before.
    setup.inject_fault(json!({"body_bytes": 50_001})).await;
    let (status, _) = setup.get("/Users?filter=userName+eq+%22big%22").await;
    assert_eq!(status, 200);
    assert_eq!(
        native_requests(&setup.testbed).await,
        0,
        "faults answer for the target"
    );
}

#[tokio::test]
async fn proxy_mode_never_passes_on_an_oversized_answer_as_whole() {
    let m = meta_scim_setup_with("max_response_bytes = 100000", "").await;
    // A first call caches the token: the fault then meets the SCIM request itself.
    let (status, _) = m
        .send(Method::GET, "/Users?filter=userName+eq+%22nobody%22", None)
        .await;
    assert_eq!(status, 200);
    m.inject_fault(json!({"body_bytes": 5_000_000})).await;
    let response = m
        .client
        .get(format!("{}/meta-scim/Users?count=1", m.gateway.url))
        .bearer_auth(&m.token)
        .send()
        .await;
    let whole = match response {
        Ok(r) if r.status().is_success() => r.bytes().await.map(|b| b.len()).ok(),
        _ => None,
    };
    assert_eq!(whole, None, "an oversized answer arrived whole");
    assert_eq!(
        metric(
            &m.gateway,
            "scimitar_upstream_refused_total{reason=\"response_too_large\",tenant=\"meta-scim\"}"
        )
        .await,
        1.0
    );
    // The next answer is whole again.
    let (status, _) = m
        .send(Method::GET, "/Users?filter=userName+eq+%22nobody%22", None)
        .await;
    assert_eq!(status, 200);
}
