//! Proxy mode without hooks in front of `scim2-server`, a SCIM server nobody here wrote:
//! the gateway is transparent apart from auth (Entra's token stays at the gateway, the
//! gateway's own credentials go upstream), `Location`, limits and failover.

use crate::support::*;
use serde_json::json;

struct Passthrough {
    upstream: Scim2Server,
    gateway: Gateway,
    token: String,
    client: reqwest::Client,
}

async fn passthrough(base_urls: impl Fn(&Scim2Server) -> String, extra: &str) -> Passthrough {
    let upstream = start_scim2_server().await;
    let (token, hash) = new_token();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("upstream-token");
    std::fs::write(&secret, &upstream.token).unwrap();
    let tenant = format!(
        "[[tenants]]\nname = \"passthrough\"\ntarget = \"scim2-server\"\nmode = \"proxy\"\nroute = \"/scim\"\n\
         auth = {{ token_hashes = [\"{hash}\"] }}\n[tenants.upstream]\n{}\ntimeout_secs = 5\nhealth_check_secs = 1\n\
         [tenants.upstream.auth]\nkind = \"header\"\nname = \"Authorization\"\nprefix = \"Bearer \"\nvalue = {{ file = \"{}\" }}\n",
        base_urls(&upstream),
        secret.display()
    );
    let gateway = start_gateway_toml(&tenant, extra).await;
    Passthrough {
        upstream,
        gateway,
        token,
        client: reqwest::Client::new(),
    }
}

impl Passthrough {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (
        reqwest::StatusCode,
        serde_json::Value,
        reqwest::header::HeaderMap,
    ) {
        let mut request = self
            .client
            .request(method, format!("{}/scim{path}", self.gateway.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", SCIM_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let headers = response.headers().clone();
        let (status, body) = read(response).await;
        (status, body, headers)
    }

    async fn upstream_users(&self) -> serde_json::Value {
        let url = format!("{}/Users", self.upstream.url);
        self.client
            .get(url)
            .bearer_auth(&self.upstream.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn user(name: &str) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
           "name": {"givenName": "Pat", "familyName": "Proxy"}, "active": true})
}

#[tokio::test]
async fn a_pass_through_tenant_is_transparent() {
    let p = passthrough(|u| format!("base_url = \"{}\"", u.url), "").await;
    let (status, created, headers) = p
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(user("pat@example.com")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let location = headers.get("location").unwrap().to_str().unwrap();
    assert_eq!(
        location,
        format!("{}/scim/Users/{id}", p.gateway.url),
        "Location names the gateway"
    );
    // The target really holds it.
    let upstream = p.upstream_users().await;
    assert_eq!(upstream["totalResults"], 1);
    assert_eq!(upstream["Resources"][0]["userName"], "pat@example.com");
    // Reads, filters and PATCH pass through.
    let (status, body, _) = p
        .send(
            reqwest::Method::GET,
            "/Users?filter=userName+eq+%22pat%40example.com%22",
            None,
        )
        .await;
    assert_eq!((status.as_u16(), &body["totalResults"]), (200, &json!(1)));
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (status, body, _) = p
        .send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(patch))
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(p.upstream_users().await["Resources"][0]["active"], false);
    let (status, _, _) = p
        .send(reqwest::Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(p.upstream_users().await["totalResults"], 0);
}

#[tokio::test]
async fn entra_tokens_never_reach_the_target_and_bad_tokens_never_pass() {
    let p = passthrough(|u| format!("base_url = \"{}\"", u.url), "").await;
    // The target accepts only its own token: success through the gateway proves the swap.
    let (status, _, _) = p.send(reqwest::Method::GET, "/Users", None).await;
    assert_eq!(status, 200);
    let response = p
        .client
        .get(format!("{}/scim/Users", p.gateway.url))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, 401, None);
}

#[tokio::test]
async fn failover_to_the_second_address_when_the_first_is_down() {
    // The first address has nothing listening.
    let dead = free_port();
    let p = passthrough(
        |u| format!("base_urls = [\"http://127.0.0.1:{dead}\", \"{}\"]", u.url),
        "",
    )
    .await;
    for i in 0..4 {
        let (status, body, _) = p
            .send(
                reqwest::Method::POST,
                "/Users",
                Some(user(&format!("f{i}@example.com"))),
            )
            .await;
        assert_eq!(status, 201, "request {i}: {body}");
    }
    assert_eq!(p.upstream_users().await["totalResults"], 4);
}

#[tokio::test]
async fn an_unreachable_target_is_a_retryable_scim_error() {
    let dead = free_port();
    let p = passthrough(|_| format!("base_url = \"http://127.0.0.1:{dead}\""), "").await;
    let (status, body, _) = p.send(reqwest::Method::GET, "/Users", None).await;
    assert_scim_error(status, &body, 503, None);
}

#[tokio::test]
async fn large_bodies_pass_and_oversized_ones_are_413() {
    let p = passthrough(
        |u| format!("base_url = \"{}\"", u.url),
        "[limits]\nmax_body_bytes = 400000\n",
    )
    .await;
    // ~200 KB: well past pingora's 64 KiB retry buffer.
    let mut big = user("big@example.com");
    big["displayName"] = json!("x".repeat(200_000));
    let (status, body, _) = p.send(reqwest::Method::POST, "/Users", Some(big)).await;
    assert_eq!(status, 201, "{body}");
    let mut huge = user("huge@example.com");
    huge["displayName"] = json!("x".repeat(500_000));
    let (status, body, _) = p.send(reqwest::Method::POST, "/Users", Some(huge)).await;
    assert_scim_error(status, &body, 413, None);
    assert_eq!(p.upstream_users().await["totalResults"], 1);
}
