//! `SIGTERM` stops the gateway from accepting new requests but lets those in flight finish.

use crate::support::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn sigterm_drains_requests_in_flight() {
    let meta = meta_setup().await;
    let (status, _) = meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    meta.inject_fault(json!({"delay_ms": 1500, "count": 1}))
        .await;
    let in_flight = {
        let request = meta
            .client
            .post(format!("{}/Users", meta.scim))
            .bearer_auth(&meta.token)
            .header("content-type", SCIM_JSON)
            .body(entra_user("late@contoso.com", "Late", "Leaver", None).to_string());
        tokio::spawn(async move { request.send().await.map(|r| r.status()) })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &meta.gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = in_flight
        .await
        .unwrap()
        .expect("the request in flight got its answer");
    assert_eq!(status, 201);
    assert!(meta.native_user("late@contoso.com").await.is_some());
}
