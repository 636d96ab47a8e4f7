//! Malformed and malicious requests that the front door already refuses, kept refused:
//! request smuggling, deeply nested JSON, huge bodies, and one tenant's token on another's
//! path.

use crate::security::{connect, head, read_until_closed};
use crate::support::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_smuggled_second_request_never_runs() {
    let meta = meta_setup().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22nobody%22").await;
    assert_eq!(status, 200);
    let before = native_requests(&meta.testbed).await;
    // Content-Length and chunked at once: the classic desync. The "body" hides a DELETE.
    let hidden = head(&meta, "DELETE", "/Users/usr-1", "");
    let body = format!("0\r\n\r\n{hidden}");
    let request = head(
        &meta,
        "POST",
        "/Users",
        &format!(
            "content-type: application/scim+json\r\ncontent-length: {}\r\ntransfer-encoding: chunked\r\n",
            body.len()
        ),
    );
    let mut stream = connect(&meta.gateway).await;
    stream
        .write_all(format!("{request}{body}").as_bytes())
        .await
        .unwrap();
    let (text, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        !text.contains("HTTP/1.1 204"),
        "the hidden DELETE ran: {text}"
    );
    assert!(!text.contains("HTTP/1.1 201"), "{text}");
    let deletes = reqwest::get(format!("{}/_testbed/requests", meta.testbed.url))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["by_route"]["DELETE /v1/users/{id}"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(deletes, 0);
    assert!(native_requests(&meta.testbed).await <= before + 2);
}

#[tokio::test]
async fn deeply_nested_json_is_invalid_syntax() {
    let meta = meta_setup().await;
    let before = native_requests(&meta.testbed).await;
    let nested = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = meta
        .client
        .post(format!("{}/Users", meta.scim))
        .bearer_auth(&meta.token)
        .header("content-type", SCIM_JSON)
        .body(format!("{{\"userName\":\"d@contoso.com\",\"x\":{nested}}}"))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert!(status == 400 || status == 413, "{status} {body}");
    assert_eq!(native_requests(&meta.testbed).await, before);
}

#[tokio::test]
async fn a_huge_body_is_413_before_it_is_read() {
    let meta = meta_setup().await;
    let mut stream = connect(&meta.gateway).await;
    let request = head(
        &meta,
        "POST",
        "/Users",
        "content-type: application/scim+json\r\ncontent-length: 10000000000\r\n",
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (text, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[tokio::test]
async fn another_tenants_token_is_refused() {
    // Two tenants in one gateway, each with its own token.
    let meta = meta_setup().await;
    let (token_b, _) = new_token();
    let spec = |name: &str, route: &str, token: &str| TenantSpec {
        tenant_toml: String::new(),
        name: name.into(),
        route: route.into(),
        script: repo_path("adapters/meta-networks.rhai"),
        token: token.into(),
        upstream_toml: format!("base_url = \"{}\"\n", meta.testbed.url),
        settings_toml: String::new(),
    };
    let (token_a, _) = new_token();
    let gateway = start_gateway(&[spec("a", "/a", &token_a), spec("b", "/b", &token_b)], "").await;
    let (status, body) = read(
        meta.client
            .get(format!(
                "{}/a/Users?filter=userName+eq+%22x%22",
                gateway.url
            ))
            .bearer_auth(&token_b)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(status, &body, 401, None);
}
