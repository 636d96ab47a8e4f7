//! A target that redirects never gets the gateway to call a host off the tenant's
//! allow-list — with the request's body and the tenant's credentials — and a redirect is
//! never reported to Entra as success.

use crate::security::{metric, Elsewhere};
use crate::support::*;
use reqwest::Method;
use serde_json::json;

const REFUSED_REDIRECTS: &str =
    "scimitar_upstream_refused_total{reason=\"redirect\",tenant=\"meta\"}";

#[tokio::test]
async fn translate_mode_does_not_follow_a_target_redirect() {
    let meta = meta_setup().await;
    let elsewhere = Elsewhere::start().await;
    // Test Connection first, so that the token is cached and the next calls are the SCIM ones.
    let (status, _) = meta.get("/Users?filter=userName+eq+%22nobody%22").await;
    assert_eq!(status, 200);
    for code in [301, 302, 303, 307, 308] {
        meta.inject_fault(json!({"redirect": format!("{}/steal", elsewhere.url), "status": code}))
            .await;
        let (status, body) = meta
            .post(
                "/Users",
                entra_user(&format!("r{code}@contoso.com"), "Re", "Direct", None),
            )
            .await;
        assert_scim_error(status, &body, 502, None);
        assert!(
            body["detail"].as_str().unwrap().contains("redirect"),
            "{body}"
        );
        assert!(meta
            .native_user(&format!("r{code}@contoso.com"))
            .await
            .is_none());
    }
    assert_eq!(elsewhere.connections(), 0, "a request left the allow-list");
    assert_eq!(metric(&meta.gateway, REFUSED_REDIRECTS).await, 5.0);
}

#[tokio::test]
async fn a_redirected_token_request_does_not_post_the_client_secret_elsewhere() {
    let meta = meta_setup().await;
    let elsewhere = Elsewhere::start().await;
    // No token is cached yet: the first native request is the token request.
    meta.inject_fault(json!({"redirect": format!("{}/oauth/token", elsewhere.url), "status": 307}))
        .await;
    let (status, body) = meta.get("/Users?filter=userName+eq+%22nobody%22").await;
    assert_scim_error(status, &body, 502, None);
    assert!(
        body["detail"].as_str().unwrap().contains("redirect"),
        "{body}"
    );
    assert_eq!(
        elsewhere.connections(),
        0,
        "the client secret left the allow-list"
    );
    assert_eq!(metric(&meta.gateway, REFUSED_REDIRECTS).await, 1.0);
}

#[tokio::test]
async fn proxy_mode_answers_a_target_redirect_as_a_failure() {
    let m = meta_scim_setup().await;
    let elsewhere = Elsewhere::start().await;
    let (status, _) = m
        .send(Method::GET, "/Users?filter=userName+eq+%22nobody%22", None)
        .await;
    assert_eq!(status, 200);
    m.inject_fault(json!({"redirect": format!("{}/steal", elsewhere.url), "status": 307}))
        .await;
    let response = m
        .post_response("/Users", &entra_user("p@contoso.com", "Pro", "Xy", None))
        .await;
    assert!(
        response.headers().get("location").is_none(),
        "the redirect was passed on"
    );
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 502, None);
    assert_eq!(elsewhere.connections(), 0);
    assert_eq!(
        m.native_user("p@contoso.com").await,
        serde_json::Value::Null
    );
    assert_eq!(
        metric(
            &m.gateway,
            "scimitar_upstream_refused_total{reason=\"redirect\",tenant=\"meta-scim\"}"
        )
        .await,
        1.0
    );
}
