//! The admin listener: health, readiness and Prometheus metrics that reflect real traffic.

use crate::support::*;

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
        r#"scimitar_requests_total{operation="create",resource="Users",status_class="2xx",tenant="meta"} 1"#,
        r#"scimitar_requests_total{operation="list",resource="Users",status_class="2xx",tenant="meta"} 1"#,
        r#"scimitar_request_duration_seconds_count{operation="create",resource="Users",tenant="meta"} 1"#,
        r#"method="POST",status="200",tenant="meta"} 1"#,
        "scimitar_upstream_request_duration_seconds_bucket",
        "scimitar_script_duration_seconds_count",
        "scimitar_requests_in_flight 0",
        r#"scimitar_build_info{version=""#,
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // A wrong token is counted against the tenant whose URL it tried.
    let response = meta
        .client
        .get(format!("{}/Users", meta.scim))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let text = meta
        .client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"scimitar_rejected_requests_total{reason="unauthorized",tenant="meta"} 1"#),
        "{text}"
    );
    // Labels stay bounded: no ids or user names.
    assert!(!text.contains("mia@contoso.com") && !text.contains("usr-"));
}
