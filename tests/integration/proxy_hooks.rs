//! Proxy hooks in front of scim2-server: each phase rewrites what passes, local answers
//! stop a request before the target sees it, and rewritten bodies of any size go through.

use crate::support::*;
use serde_json::json;

async fn hooked() -> (Scim2Server, Gateway, String) {
    let upstream = start_scim2_server().await;
    let (token, hash) = new_token();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("upstream-token");
    std::fs::write(&secret, &upstream.token).unwrap();
    let tenant = format!(
        "[[tenants]]\nname = \"hooked\"\ntarget = \"scim2-server\"\nmode = \"proxy\"\nroute = \"/hooked\"\nscript = \"{}\"\n\
         auth = {{ token_hashes = [\"{hash}\"] }}\n[tenants.upstream]\nbase_url = \"{}\"\n\
         [tenants.upstream.auth]\nkind = \"header\"\nname = \"Authorization\"\nprefix = \"Bearer \"\nvalue = {{ file = \"{}\" }}\n",
        repo_path("tests/scripts/hooks.rhai").display(),
        upstream.url,
        secret.display()
    );
    let gateway = start_gateway_toml(&tenant, "[limits]\nmax_body_bytes = 1000000\n").await;
    (upstream, gateway, token)
}

fn user(name: &str) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

async fn upstream_users(upstream: &Scim2Server) -> serde_json::Value {
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/Users", upstream.url))
        .bearer_auth(&upstream.token)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_phase_rewrites_what_passes() {
    let (upstream, gateway, token) = hooked().await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/hooked/Users", gateway.url))
        .bearer_auth(&token)
        .header("content-type", SCIM_JSON)
        .body(user("hooked@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("x-scimitar-hooked").unwrap(),
        "POST",
        "on_response ran"
    );
    let (status, body) = read(response).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["title"], "set by on_request_body",
        "the target stored the rewritten body"
    );
    assert_eq!(body["nickName"], "set by on_response_body");
    let stored = upstream_users(&upstream).await;
    assert_eq!(stored["Resources"][0]["title"], "set by on_request_body");
    assert!(
        stored["Resources"][0].get("nickName").is_none(),
        "on_response_body changed only the answer"
    );
}

#[tokio::test]
async fn hooks_answer_locally_and_the_target_sees_nothing() {
    let (upstream, gateway, token) = hooked().await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/hooked/Users?blocked=1", gateway.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 403, None);

    let response = client
        .post(format!("{}/hooked/Users", gateway.url))
        .bearer_auth(&token)
        .header("content-type", SCIM_JSON)
        .body(user("reject-me@example.com").to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert_eq!(body["detail"], "rejected by on_request_body");
    assert_eq!(upstream_users(&upstream).await["totalResults"], 0);
}

/// A body past pingora's 64 KiB retry buffer is rewritten in the body filter and sent
/// chunked, which needs an HTTP/1.1 target: the Meta Networks testbed's native API here.
#[tokio::test]
async fn rewritten_bodies_larger_than_pingoras_retry_buffer_pass() {
    let options = scimitar_testbeds::meta_networks::Options::default();
    let (client_id, client_secret) = (options.client_id.clone(), options.client_secret.clone());
    let testbed = scimitar_testbeds::meta_networks::start(([127, 0, 0, 1], 0).into(), options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("id"), client_id).unwrap();
    std::fs::write(dir.path().join("secret"), client_secret).unwrap();
    let (token, hash) = new_token();
    let tenant = format!(
        "[[tenants]]\nname = \"native\"\ntarget = \"meta-networks\"\nmode = \"proxy\"\nroute = \"/native\"\nscript = \"{}\"\n\
         auth = {{ token_hashes = [\"{hash}\"] }}\n[tenants.upstream]\nbase_url = \"{}\"\n\
         [tenants.upstream.auth]\nkind = \"oauth2_client_credentials\"\ntoken_url = \"/v1/oauth/token\"\nencoding = \"json\"\n\
         client_id = {{ file = \"{}\" }}\nclient_secret = {{ file = \"{}\" }}\n",
        repo_path("tests/scripts/hooks-native.rhai").display(),
        testbed.url,
        dir.path().join("id").display(),
        dir.path().join("secret").display()
    );
    let gateway = start_gateway_toml(&tenant, "[limits]\nmax_body_bytes = 1000000\n").await;
    let body = json!({"email": "big@example.com", "given_name": "Big", "family_name": "Body", "name": "z".repeat(300_000)});
    let response = reqwest::Client::new()
        .post(format!("{}/native/v1/users", gateway.url))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, answer) = read(response).await;
    assert_eq!(
        status,
        200,
        "{}",
        answer.to_string().chars().take(300).collect::<String>()
    );
    let state: serde_json::Value = reqwest::get(format!("{}/_testbed/state", testbed.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = &state["users"][0];
    assert_eq!(stored["name"].as_str().unwrap().len(), 300_000);
    assert_eq!(stored["description"], "set by on_request_body");
}
