//! Live reload: config and script edits take effect without a restart, a broken one is
//! refused while the running version keeps serving, and requests in flight complete.

use crate::support::*;
use serde_json::json;
use std::time::Duration;

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
    let script = copy_bundled_adapter("meta-networks.rhai", meta.gateway.dir.path());
    let text = std::fs::read_to_string(&config).unwrap();
    let original = repo_path("adapters/meta-networks.rhai")
        .display()
        .to_string();
    // Written aside and renamed into place, as config management does.
    let staged = config.with_extension("staged");
    std::fs::write(
        &staged,
        text.replace(&original, &script.display().to_string()),
    )
    .unwrap();
    std::fs::rename(&staged, &config).unwrap();
    wait_for_reloads(&meta, "success", 1).await;
    // Under load one save may be seen as two changes (truncated, then written): start from
    // a quiet gateway.
    let mut settled = reloads(&meta, "success").await;
    loop {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let now = reloads(&meta, "success").await;
        if now == settled {
            break;
        }
        settled = now;
    }
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

/// A module the script imports is watched like the script: an edit to it takes effect.
#[tokio::test]
async fn an_edited_module_takes_effect() {
    let e = editable().await;
    let module = e.meta.gateway.dir.path().join("common.rhai");
    let source = std::fs::read_to_string(&module).unwrap();
    let edited = source.replacen(
        "is required by ${target}",
        "is required by ${target} (edited module)",
        1,
    );
    assert_ne!(source, edited, "the message this test edits has moved");
    std::fs::write(&module, edited).unwrap();
    let mut body = serde_json::Value::Null;
    for i in 0..100 {
        let mut user = entra_user(&format!("edited{i}@contoso.com"), "Edited", "Module", None);
        user["name"]["givenName"] = json!("");
        let (status, answer) = e.meta.post("/Users", user).await;
        assert_eq!(status, 400, "{answer}");
        body = answer;
        if body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("(edited module)")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        body["detail"],
        "name.givenName is required by Meta Networks (edited module)"
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

/// A reload reads every secret again: a rotated client secret replaces the running client
/// (and its cached token), so the next token request uses the new one.
#[tokio::test]
async fn a_reload_reads_rotated_secrets() {
    let e = editable().await;
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200, "a token is fetched and cached");
    let config = std::fs::read_to_string(&e.config).unwrap();
    let secret_file = config
        .split("client_secret = { file = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(std::path::PathBuf::from)
        .expect("the tenant's client secret is in a file");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    let sighup = |meta: &MetaSetup| {
        let pid = meta.gateway.pid().to_string();
        let status = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    };

    std::fs::write(&secret_file, "not-the-secret").unwrap();
    let before = reloads(&e.meta, "success").await;
    sighup(&e.meta);
    wait_for_reloads(&e.meta, "success", before + 1).await;
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_ne!(status, 200, "the rotated (wrong) secret is the one in use");

    std::fs::write(&secret_file, secret).unwrap();
    sighup(&e.meta);
    wait_for_reloads(&e.meta, "success", before + 2).await;
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200, "the secret rotated back works again");
}

/// No reload comes within two seconds (well past the settling time of a real change).
async fn assert_no_reload_since(meta: &MetaSetup, successes: u64) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        reloads(meta, "success").await,
        successes,
        "an unexpected reload"
    );
    assert_eq!(
        reloads(meta, "failure").await,
        0,
        "an unexpected refused reload"
    );
}

#[tokio::test]
async fn reading_touching_or_rewriting_the_same_content_never_reloads() {
    let e = editable().await;
    let successes = reloads(&e.meta, "success").await;
    let text = std::fs::read(&e.config).unwrap();
    for _ in 0..50 {
        std::fs::read(&e.config).unwrap();
        std::fs::read(&e.script).unwrap();
    }
    let file = std::fs::File::options()
        .write(true)
        .open(&e.config)
        .unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
    std::fs::write(&e.config, &text).unwrap();
    let permissions = std::fs::metadata(&e.script).unwrap().permissions();
    std::fs::set_permissions(&e.script, permissions).unwrap();
    assert_no_reload_since(&e.meta, successes).await;

    // A burst of real edits is one reload.
    for i in 0..5 {
        let mut edited = text.clone();
        edited.extend_from_slice(format!("\n# edit {i}\n").as_bytes());
        std::fs::write(&e.config, edited).unwrap();
    }
    wait_for_reloads(&e.meta, "success", successes + 1).await;
    assert_no_reload_since(&e.meta, successes + 1).await;
}

#[tokio::test]
async fn a_tenant_whose_section_did_not_change_keeps_its_state() {
    let meta = meta_setup_full(
        "[tenants.limits]\nrequests_per_second = 1\nburst = 20\n",
        "",
        "",
    )
    .await;
    for _ in 0..20 {
        let (status, body) = meta.get("/Users?filter=userName+eq+%22x%22").await;
        assert_eq!(status, 200, "{body}");
    }
    let tokens = meta.state().await["tokens_issued"].clone();
    assert_eq!(tokens, 1);
    // Another tenant joins: the first tenant's section is as it was.
    let (_, other_hash) = new_token();
    let config = meta.gateway.config_path();
    let text = std::fs::read_to_string(&config).unwrap();
    let second = format!("[[tenants]]{}", text.split("[[tenants]]").nth(1).unwrap())
        .replace("name = \"meta\"", "name = \"meta-two\"")
        .replace("route = \"/v1/scim/{idp_id}\"", "route = \"/two/{idp_id}\"")
        .replacen(
            "token_hashes = [\"",
            &format!("token_hashes = [\"{other_hash}\", \""),
            1,
        );
    std::fs::write(&config, format!("{text}\n{second}")).unwrap();
    wait_for_reloads(&meta, "success", 1).await;
    // The rate-limit bucket is still the one the burst emptied (a rebuilt one would let
    // the whole burst through again), and the OAuth token is still the cached one.
    let mut refused = 0;
    for _ in 0..3 {
        if meta.get("/Users?filter=userName+eq+%22x%22").await.0 == 429 {
            refused += 1;
        }
    }
    assert!(
        refused >= 1,
        "the emptied bucket was refilled by the reload"
    );
    assert_eq!(
        meta.state().await["tokens_issued"],
        tokens,
        "the token cache was kept"
    );
}

#[tokio::test]
async fn a_tenant_added_by_a_reload_has_its_script_watched() {
    let e = editable().await;
    let successes = reloads(&e.meta, "success").await;
    let script = e.meta.gateway.dir.path().join("second.rhai");
    std::fs::copy(&e.script, &script).unwrap();
    let (token, hash) = new_token();
    let text = std::fs::read_to_string(&e.config).unwrap();
    let second = format!("[[tenants]]{}", text.split("[[tenants]]").nth(1).unwrap())
        .replace("name = \"meta\"", "name = \"second\"")
        .replace(
            "route = \"/v1/scim/{idp_id}\"",
            "route = \"/second/{idp_id}\"",
        )
        .replace(
            &e.script.display().to_string(),
            &script.display().to_string(),
        )
        .replacen(
            "token_hashes = [\"",
            &format!("token_hashes = [\"{hash}\", \""),
            1,
        );
    std::fs::write(&e.config, format!("{text}\n{second}")).unwrap();
    wait_for_reloads(&e.meta, "success", successes + 1).await;
    let url = e.meta.scim.replace("/v1/scim/", "/second/").to_string();
    let create = |n: usize| {
        e.meta
            .client
            .post(format!("{url}/Users"))
            .bearer_auth(&token)
            .header("content-type", SCIM_JSON)
            .body(entra_user(&format!("s{n}@contoso.com"), "S", "T", None).to_string())
            .send()
    };
    assert_eq!(create(0).await.unwrap().status(), 201);
    let edited = std::fs::read_to_string(&script).unwrap().replacen(
        "fn create_user(user) {",
        "fn create_user(user) {\n    scim_error(400, \"invalidValue\", \"the second script changed\");",
        1,
    );
    std::fs::write(&script, edited).unwrap();
    let mut status = 0;
    for n in 1..100 {
        status = create(n).await.unwrap().status().as_u16();
        if status == 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 400,
        "the added tenant's script edit never took effect"
    );
}

#[tokio::test]
async fn reloads_run_on_a_thread_of_their_own() {
    let meta = meta_setup().await;
    let tasks = std::fs::read_dir(format!("/proc/{}/task", meta.gateway.pid())).unwrap();
    let names: Vec<String> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n == "scimitar-reload"),
        "no reload thread among {names:?}"
    );
}

#[tokio::test]
async fn a_config_emptied_while_tenants_run_is_refused() {
    let e = editable().await;
    let text = std::fs::read(&e.config).unwrap();
    std::fs::write(&e.config, "").unwrap();
    wait_for_reloads(&e.meta, "failure", 1).await;
    let (status, _) = e.meta.get("/Users?filter=userName+eq+%22x%22").await;
    assert_eq!(status, 200, "the running tenants stay");
    let before = reloads(&e.meta, "success").await;
    std::fs::write(&e.config, &text).unwrap();
    wait_for_reloads(&e.meta, "success", before + 1).await;
}
