//! The admin listener: health, readiness and Prometheus metrics that reflect real traffic.

mod support;

use support::*;

#[tokio::test]
async fn metrics_count_requests_and_upstream_calls() {
    let meta = meta_setup().await;
    let (status, _) = meta
        .post("/Users", entra_user("mia@contoso.com", "Mia", "Moss", None))
        .await;
    assert_eq!(status, 201);
    let (status, _) = meta.get("/Users?filter=userName+eq+%22nobody%22").await;
    assert_eq!(status, 200);

    let admin = &meta.gateway.admin_url;
    let health = meta
        .client
        .get(format!("{admin}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = meta
        .client
        .get(format!("{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let text = meta
        .client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        r#"scimitar_requests_total{operation="create",resource="Users",status="201",tenant="meta"} 1"#,
        r#"scimitar_requests_total{operation="list",resource="Users",status="200",tenant="meta"} 1"#,
        r#"scimitar_request_duration_seconds_count{operation="create",resource="Users",tenant="meta"} 1"#,
        r#"method="POST",status="200",tenant="meta"} 1"#,
        "scimitar_upstream_request_duration_seconds_bucket",
        "scimitar_script_duration_seconds_count",
        "scimitar_requests_in_flight 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Labels stay bounded: no ids or user names.
    assert!(!text.contains("mia@contoso.com") && !text.contains("usr-"));
}
