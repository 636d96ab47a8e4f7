//! The provisioning log through the real path: every SCIM operation is recorded with its
//! target calls and outcome, `scimitar log` finds why a user did not arrive, and no token or
//! secret ever lands in the log or the gateway's own log lines.

use crate::support::*;
use serde_json::Value;
use std::process::Command;

fn log_entries(meta: &MetaSetup, filters: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_scimitar"))
        .args(["log", "--format", "json", "--config"])
        .arg(meta.gateway.config_path())
        .args(filters)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The writer flushes in the background: poll (bounded) until `n` entries are there.
async fn wait_for_entries(meta: &MetaSetup, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let entries = log_entries(meta, &["--tenant", "meta"]);
        if entries.len() >= n {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} provisioning log entries after 10 s");
}

#[tokio::test]
async fn every_operation_is_logged_and_failures_say_why() {
    let meta = meta_setup().await;
    let (status, created) = meta
        .post(
            "/Users",
            entra_user("alice@contoso.com", "Alice", "Smith", None),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = meta
        .post(
            "/Users",
            entra_user("alice@contoso.com", "Alice", "Smith", None),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = meta
        .post(
            "/Users",
            entra_user("bob@contoso.com", "Bob", "Brown", Some("not a phone")),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = meta
        .get("/Users?filter=userName+eq+%22carol%40contoso.com%22")
        .await;
    assert_eq!(status, 200);

    let entries = wait_for_entries(&meta, 4).await;
    // Newest first.
    let list = &entries[0];
    assert_eq!(
        (list["operation"].as_str(), list["subject"].as_str()),
        (Some("list"), Some("carol@contoso.com"))
    );
    let created_entry = &entries[3];
    assert_eq!(created_entry["outcome"], "success");
    assert_eq!(created_entry["status"], 201);
    assert_eq!(created_entry["scim_id"], created["id"]);
    let calls = created_entry["target_calls"].as_array().unwrap();
    assert!(
        calls.iter().any(|c| c["method"] == "POST"
            && c["target"].as_str().unwrap().ends_with("/v1/users")
            && c["status"] == 200),
        "{calls:?}"
    );

    // Why did Bob not arrive? Ask by user.
    let bob = log_entries(&meta, &["--user", "bob@contoso.com"]);
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["outcome"], "failure");
    assert!(
        bob[0]["detail"]
            .as_str()
            .unwrap()
            .contains("not a valid phone number"),
        "{}",
        bob[0]
    );
    assert!(
        bob[0]["target_calls"].as_array().unwrap().is_empty(),
        "refused before any target call"
    );

    let failures = log_entries(&meta, &["--outcome", "failure", "--since", "1h"]);
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().any(|e| e["status"] == 409));

    // The table format is readable too.
    let out = Command::new(env!("CARGO_BIN_EXE_scimitar"))
        .args(["log", "--config"])
        .arg(meta.gateway.config_path())
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("TIME") && table.contains("alice@contoso.com"),
        "{table}"
    );
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_any_log() {
    let meta = meta_setup().await;
    let (status, _) = meta
        .post("/Users", entra_user("dan@contoso.com", "Dan", "Day", None))
        .await;
    assert_eq!(status, 201);
    let response = meta
        .client
        .get(format!("{}/Users", meta.scim))
        .bearer_auth(format!("{}x", meta.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    wait_for_entries(&meta, 2).await;

    let client_secret = meta.testbed.credentials["client_secret"].as_str().unwrap();
    let mut everything = meta.gateway.log();
    let out = Command::new(env!("CARGO_BIN_EXE_scimitar"))
        .args(["log", "--format", "json", "--config"])
        .arg(meta.gateway.config_path())
        .output()
        .unwrap();
    everything.push_str(&String::from_utf8_lossy(&out.stdout));
    assert!(
        everything.contains("scim request"),
        "the gateway logged its requests"
    );
    assert!(
        !everything.contains(&meta.token),
        "Entra's token leaked into a log"
    );
    assert!(
        !everything.contains(client_secret),
        "the upstream client secret leaked into a log"
    );
}
