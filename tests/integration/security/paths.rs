//! Dot segments and encoded slashes never reach another native endpoint: the front door
//! refuses such SCIM paths (both modes) before any target call, and the upstream client
//! refuses a native path a value would make climb out of its segment.

use crate::security::{connect, lookup_by_path, metric, read_until_closed};
use crate::support::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Sends a raw request line (no client library normalises it) and answers the status.
async fn raw_status(gateway: &Gateway, request: String) -> (u16, String) {
    let mut stream = connect(gateway).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    let (text, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

const CLIMBING: &[&str] = &[
    "/Users/..",
    "/Users/.",
    "/Users/%2e%2e",
    "/Users/%2E%2E",
    "/Users/.%2E",
    "/Users/%2e.",
    "/Users/../../x",
    "/Users/a%2Fb",
    "/Users/..%2F..%2Fadmin",
    "/Users/a%5C..",
    "/Groups/..",
];

/// Every climbing path, with every method, against one tenant: each a 400 before any
/// target call.
async fn refuses_every_climbing_path(setup: &Setup) {
    let before = native_requests(&setup.testbed).await;
    let base = setup.scim.trim_start_matches(&setup.gateway.url);
    let host = setup.gateway.url.trim_start_matches("http://");
    for path in CLIMBING {
        for method in ["GET", "PATCH", "PUT", "DELETE"] {
            let body =
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}"#;
            let request = format!(
                "{method} {base}{path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {}\r\n\
                 content-type: application/scim+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                setup.token,
                body.len()
            );
            let (status, text) = raw_status(&setup.gateway, request).await;
            assert_eq!(status, 400, "{method} {base}{path}: {text}");
            assert!(text.contains("invalidSyntax"), "{method} {path}: {text}");
        }
    }
    assert_eq!(
        native_requests(&setup.testbed).await,
        before,
        "{base}: a target call was made"
    );
    assert!(
        metric(
            &setup.gateway,
            "scimitar_rejected_requests_total{reason=\"bad_path\",tenant=\"none\"}"
        )
        .await
            >= (CLIMBING.len() * 4) as f64
    );
}

#[tokio::test]
async fn translate_mode_refuses_dot_segments_on_every_target() {
    refuses_every_climbing_path(&*meta_setup().await).await;
    refuses_every_climbing_path(&mediusflow_setup().await).await;
    refuses_every_climbing_path(&maptician_setup().await).await;
    refuses_every_climbing_path(&rhombus_setup(Default::default()).await).await;
    refuses_every_climbing_path(&*mx3_setup().await).await;
}

#[tokio::test]
async fn proxy_mode_refuses_dot_segments_before_they_go_upstream() {
    let m = meta_scim_setup().await;
    let before = native_requests(&m.testbed).await;
    let host = m.gateway.url.trim_start_matches("http://");
    for path in CLIMBING {
        let request = format!(
            "GET /meta-scim{path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
            m.token
        );
        let (status, text) = raw_status(&m.gateway, request).await;
        assert_eq!(status, 400, "{path}: {text}");
    }
    assert_eq!(native_requests(&m.testbed).await, before);
}

#[tokio::test]
async fn a_value_that_would_climb_out_of_a_native_path_is_refused() {
    let setup = lookup_by_path("by-path", "").await;
    let before = native_requests(&setup.testbed).await;
    for value in ["..", "."] {
        let filter = format!("userName eq \"{value}\"");
        let (status, body) = setup
            .get(&format!("/Users?filter={}", urlencoding(&filter)))
            .await;
        assert_scim_error(status, &body, 400, Some("invalidValue"));
    }
    assert_eq!(
        native_requests(&setup.testbed).await,
        before,
        "a target call was made"
    );
    assert_eq!(
        metric(
            &setup.gateway,
            "scimitar_upstream_refused_total{reason=\"path_escape\",tenant=\"by-path\"}"
        )
        .await,
        2.0
    );
    // A dot inside a value is only a dot, and an encoded one stays encoded.
    for (i, value) in ["a.b", "...", "%2e%2e"].iter().enumerate() {
        let filter = format!("userName eq \"{value}\"");
        let (status, _) = setup
            .get(&format!("/Users?filter={}", urlencoding(&filter)))
            .await;
        assert_eq!(status, 200, "{value}");
        assert_eq!(native_requests(&setup.testbed).await, before + i as u64 + 1);
    }
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
