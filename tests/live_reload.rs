//! Live reload: config and script edits take effect without a restart, a broken one is
//! refused while the running version keeps serving, and requests in flight complete.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

/// A Meta Networks tenant whose config and script live in the gateway's own temp folder,
/// so the test can edit them.
struct Editable {
    meta: MetaSetup,
    config: std::path::PathBuf,
    script: std::path::PathBuf,
}

async fn editable() -> Editable {
    let meta = meta_setup().await;
    let config = meta.gateway.config_path();
    let script = meta.gateway.dir.path().join("meta-networks.rhai");
    std::fs::copy(repo_path("adapters/meta-networks.rhai"), &script).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let original = repo_path("adapters/meta-networks.rhai")
        .display()
        .to_string();
    std::fs::write(
        &config,
        text.replace(&original, &script.display().to_string()),
    )
    .unwrap();
    wait_for_reloads(&meta, "success", 1).await;
    Editable {
        meta,
        config,
        script,
    }
}

async fn reloads(meta: &MetaSetup, result: &str) -> u64 {
    let text = meta
        .client
        .get(format!("{}/metrics", meta.gateway.admin_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("scimitar_config_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn wait_for_reloads(meta: &MetaSetup, result: &str, at_least: u64) {
    for _ in 0..100 {
        if reloads(meta, result).await >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {result} reload seen within 10 s");
}

#[tokio::test]
async fn an_edited_config_takes_effect_without_a_restart() {
    let e = editable().await;
    // A second token, added to the config file.
    let (token, hash) = new_token();
    let text = std::fs::read_to_string(&e.config).unwrap();
    let text = text.replacen(
        "token_hashes = [\"",
        &format!("token_hashes = [\"{hash}\", \""),
        1,
    );
    std::fs::write(&e.config, text).unwrap();
    // A reload already under way may finish first with the old file: wait for the effect.
    let url = format!("{}/Users?filter=userName+eq+%22x%22", e.meta.scim);
    let mut status = 0;
    for _ in 0..100 {
        status = e
            .meta
            .client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the new token was not accepted within 10 s");
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200, "the first token still works");
}

#[tokio::test]
async fn a_broken_script_is_refused_and_the_running_one_stays() {
    let e = editable().await;
    std::fs::write(&e.script, "fn get_user(id) { let = ; }").unwrap();
    wait_for_reloads(&e.meta, "failure", 1).await;
    let (status, body) = e
        .meta
        .post("/Users", entra_user("ana@contoso.com", "Ana", "Ash", None))
        .await;
    assert_eq!(status, 201, "the running adapter still serves: {body}");
    assert!(
        e.meta.gateway.log().contains("configuration refused"),
        "the refusal is logged"
    );
}

#[tokio::test]
async fn an_edited_script_takes_effect_and_requests_in_flight_finish() {
    let e = editable().await;
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22warm%22").await;
    assert_eq!(status, 200);
    // A request that the target will hold for 1.5 s, started before the edit.
    e.meta
        .inject_fault(json!({"delay_ms": 1500, "count": 1}))
        .await;
    let slow = {
        let client = e.meta.client.clone();
        let url = format!("{}/Users", e.meta.scim);
        let token = e.meta.token.clone();
        let body = entra_user("slow@contoso.com", "Slow", "Request", None).to_string();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", SCIM_JSON)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The new script refuses every create with a message of its own.
    let script = std::fs::read_to_string(&e.script).unwrap();
    let script = script.replacen(
        "fn create_user(user) {",
        "fn create_user(user) {\n    scim_error(400, \"invalidValue\", \"creates are paused by the new script\");",
        1,
    );
    std::fs::write(&e.script, script).unwrap();
    // A reload already under way may finish first with the old script: wait for the effect
    // (each try a new user, so that one the old script still creates is no conflict).
    let mut answer = (reqwest::StatusCode::OK, serde_json::Value::Null);
    for i in 0..100 {
        answer = e
            .meta
            .post(
                "/Users",
                entra_user(&format!("new{i}@contoso.com"), "New", "Script", None),
            )
            .await;
        if answer.0 == 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = answer;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert_eq!(body["detail"], "creates are paused by the new script");
    assert_eq!(
        slow.await.unwrap(),
        201,
        "the request in flight finished with the old script"
    );
}

#[tokio::test]
async fn sighup_reloads() {
    let e = editable().await;
    let before = reloads(&e.meta, "success").await;
    let status = std::process::Command::new("kill")
        .args(["-HUP", &e.meta.gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_reloads(&e.meta, "success", before + 1).await;
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200);
}
