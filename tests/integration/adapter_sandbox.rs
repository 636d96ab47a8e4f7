//! The adapter sandbox through the real request path: limits abort a script with a SCIM
//! error and the gateway keeps serving; host functions work; the allow-list holds.

use crate::support::*;
use serde_json::json;

struct Sandbox {
    gateway: Gateway,
    token: String,
    client: reqwest::Client,
}

async fn sandbox(limits: &str) -> Sandbox {
    let (token, _) = new_token();
    let spec = TenantSpec {
        tenant_toml: String::new(),
        name: "sandbox".into(),
        route: "/sandbox".into(),
        script: repo_path("tests/scripts/sandbox.rhai"),
        token: token.clone(),
        // Nothing listens here: the tests prove no call is even attempted elsewhere.
        upstream_toml: "base_url = \"http://127.0.0.1:9\"\n".into(),
        settings_toml: "default_region = \"US\"\n".into(),
    };
    let gateway = start_gateway(&[spec], limits).await;
    Sandbox {
        gateway,
        token,
        client: reqwest::Client::new(),
    }
}

impl Sandbox {
    async fn get_user(&self, id: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let url = format!("{}/sandbox/Users/{id}", self.gateway.url);
        read(
            self.client
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.gateway.admin_url);
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn limits_abort_scripts_with_scim_errors_and_the_gateway_keeps_serving() {
    let sb =
        sandbox("[limits]\nscript_max_call_depth = 32\nscript_max_string_bytes = 65536\n").await;
    for id in ["spin", "recurse", "grow"] {
        let (status, body) = sb.get_user(id).await;
        assert_scim_error(status, &body, 500, None);
        assert!(
            body["detail"].as_str().unwrap().contains("sandbox limit"),
            "{id}: {body}"
        );
    }
    let (status, body) = sb.get_user("kv").await;
    assert_eq!(
        status, 200,
        "the gateway still serves after aborted scripts: {body}"
    );
    assert!(sb
        .metrics()
        .await
        .contains(r#"scimitar_script_errors_total{function="get_user",tenant="sandbox"} 3"#));
}

#[tokio::test]
async fn a_script_past_its_deadline_is_stopped_with_504() {
    // Operations effectively unbounded: only the wall clock can stop this one.
    let sb = sandbox("[limits]\nrequest_timeout_secs = 1\nscript_max_operations = 1000000000000\n")
        .await;
    // Loading libphonenumber's metadata on first use can take most of a second in a debug
    // build on a busy machine: load it before the clock matters.
    let mut warm = sb.get_user("e164").await.0;
    for _ in 0..5 {
        if warm == 200 {
            break;
        }
        warm = sb.get_user("e164").await.0;
    }
    assert_eq!(warm, 200);
    // A warm-up request that itself ran out of time (a loaded machine) is counted too.
    let deadlines_before = sb.gateway.rejected("sandbox", "deadline").await;
    let (status, body) = sb.get_user("spin").await;
    assert_scim_error(status, &body, 504, None);
    assert_eq!(
        sb.gateway.rejected("sandbox", "deadline").await,
        deadlines_before + 1
    );
    let (status, _) = sb.get_user("e164").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn host_functions_work_from_scripts() {
    let sb = sandbox("").await;
    let (status, body) = sb.get_user("kv").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userName"], r#"{"list":[1,2],"n":1}"#);
    assert_eq!(body["displayName"], "true", "kv_remove removed the key");
    let (_, body) = sb.get_user("jsonpath").await;
    assert_eq!(body["userName"], "[1,2]");
    let (_, body) = sb.get_user("e164").await;
    assert_eq!(body["userName"], "+16175551212");
    let (status, body) = sb.get_user("nobody").await;
    assert_scim_error(status, &body, 404, None);
    let (_, body) = sb.get_user("text").await;
    assert_eq!(body["userName"], "O'Brien & Co");
    let secret = body["displayName"].as_str().unwrap();
    assert_eq!(secret.len(), 24, "{secret}");
    assert!(
        secret.chars().any(|c| c.is_ascii_uppercase())
            && secret.chars().any(|c| c.is_ascii_lowercase())
            && secret.chars().any(|c| c.is_ascii_digit())
            && secret.chars().any(|c| !c.is_ascii_alphanumeric()),
        "{secret}"
    );
}

#[tokio::test]
async fn no_foreign_hosts() {
    let sb = sandbox("").await;
    let (status, body) = sb.get_user("elsewhere").await;
    assert_scim_error(status, &body, 500, None);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not in the tenant's allowed hosts"),
        "{body}"
    );
}

#[tokio::test]
async fn thrown_values_and_chosen_errors() {
    let sb = sandbox("").await;
    let (status, body) = sb.get_user("throw").await;
    assert_scim_error(status, &body, 500, None);
    assert!(
        !body["detail"].as_str().unwrap().contains("boom"),
        "script internals stay inside: {body}"
    );
    let (status, body) = sb.get_user("scim-error").await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    assert_eq!(body["detail"], "chosen by the script");
    // A script passing on a target's rate limit names how long Entra should wait.
    let url = format!("{}/sandbox/Users/throttled", sb.gateway.url);
    let response = sb
        .client
        .get(url)
        .bearer_auth(&sb.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "42");
    assert!(
        sb.metrics()
            .await
            .contains(r#"scimitar_script_errors_total{function="get_user",tenant="sandbox"} 1"#),
        "the thrown string is the script's fault, its chosen error is not"
    );
}

/// A host function's failure keeps its kind: a script that catches it can tell the target's
/// failure from others, and one the host blames on the script counts as a script error.
#[tokio::test]
async fn host_failures_keep_their_kind() {
    let sb = sandbox("").await;
    let (status, body) = sb.get_user("caught").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["userName"], &body["displayName"]),
        (&json!("upstream"), &json!("503"))
    );
    let (status, _) = sb.get_user("elsewhere").await;
    assert_eq!(status, 500);
    assert!(sb
        .metrics()
        .await
        .contains(r#"scimitar_script_errors_total{function="get_user",tenant="sandbox"} 1"#));
}

#[tokio::test]
async fn missing_operations_are_501_and_absent_resource_types_404() {
    let sb = sandbox("").await;
    let url = format!("{}/sandbox/Users", sb.gateway.url);
    let response = sb
        .client
        .post(url)
        .bearer_auth(&sb.token)
        .header("content-type", SCIM_JSON)
        .body("{\"userName\":\"x\"}")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 501, None);
    let url = format!("{}/sandbox/Groups/1", sb.gateway.url);
    let (status, body) = read(
        sb.client
            .get(url)
            .bearer_auth(&sb.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(status, &body, 404, None);
}
