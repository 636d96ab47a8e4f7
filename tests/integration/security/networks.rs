//! Who may call at all: a client outside `server.allowed_networks` or its tenant's
//! `allowed_networks` is refused with 403 before routing or any token is looked at, counted
//! as `network_not_allowed`; `X-Forwarded-For` decides the client's address only when the
//! connection comes from one of `server.trusted_proxies`.

use crate::support::*;
use reqwest::StatusCode;

/// A Meta Networks tenant with `tenant_line` in its section and `server_toml` in `[server]`.
async fn meta_tenant(tenant_line: &str, server_toml: &str) -> MetaSetup {
    let adjust = |spec: &mut TenantSpec| spec.tenant_toml.push_str(&format!("\n{tenant_line}"));
    meta_setup_adjusted(Default::default(), "", adjust, server_toml, "").await
}

/// `GET /Users?count=1` with `token`, from `forwarded_for` as a proxy would say.
async fn list(
    setup: &Setup,
    token: &str,
    forwarded_for: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = setup
        .client
        .get(format!("{}/Users?count=1", setup.scim))
        .bearer_auth(token);
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_client_outside_the_servers_networks_is_refused_before_routing() {
    let setup = meta_tenant("", "allowed_networks = [\"10.0.0.0/8\"]").await;
    for token in [setup.token.as_str(), "not-a-token"] {
        let (status, body) = list(&setup, token, None).await;
        assert_scim_error(status, &body, 403, None);
    }
    assert_eq!(
        setup.gateway.rejected("none", "network_not_allowed").await,
        2
    );
    assert_eq!(setup.gateway.rejected("meta", "unauthorized").await, 0);
    assert_eq!(
        native_requests(&setup.testbed).await,
        0,
        "the target saw nothing"
    );
}

#[tokio::test]
async fn a_tenants_networks_are_checked_before_its_token_behind_a_trusted_proxy() {
    let setup = meta_tenant(
        "allowed_networks = [\"192.0.2.0/24\"]",
        "trusted_proxies = [\"127.0.0.1\"]",
    )
    .await;
    // The proxy (loopback) itself is no allowed client, whatever the token.
    for token in [setup.token.as_str(), "not-a-token"] {
        let (status, body) = list(&setup, token, None).await;
        assert_scim_error(status, &body, 403, None);
    }
    assert_eq!(
        setup.gateway.rejected("meta", "network_not_allowed").await,
        2
    );
    assert_eq!(setup.gateway.rejected("meta", "unauthorized").await, 0);
    assert_eq!(native_requests(&setup.testbed).await, 0);

    // The client the proxy saw is what counts: the last address it forwarded.
    let (status, body) = list(&setup, &setup.token, Some("192.0.2.7")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = list(&setup, &setup.token, Some("10.9.9.9, 192.0.2.7")).await;
    assert_eq!(
        status, 200,
        "what the client claimed before the proxy does not matter"
    );
    let (status, body) = list(&setup, &setup.token, Some("192.0.2.7, 10.9.9.9")).await;
    assert_scim_error(status, &body, 403, None);
    // An allowed client with a wrong token is still unauthorized.
    let (status, body) = list(&setup, "not-a-token", Some("192.0.2.7")).await;
    assert_scim_error(status, &body, 401, None);
}

#[tokio::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_not_believed() {
    let setup = meta_tenant("allowed_networks = [\"192.0.2.0/24\"]", "").await;
    let (status, body) = list(&setup, &setup.token, Some("192.0.2.7")).await;
    assert_scim_error(status, &body, 403, None);
    assert_eq!(native_requests(&setup.testbed).await, 0);
}
