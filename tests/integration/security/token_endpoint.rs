//! A tenant's OAuth 2.0 token endpoint (`auth.client_credentials`): the configured client,
//! with any of its secrets, gets a short-lived access token that opens the tenant's SCIM
//! routes; every other request is refused as RFC 6749 says, counted by why, and reaches
//! no target.

use crate::security::metric;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const CLIENT_ID: &str = "entra-provisioning";

struct Endpoint {
    setup: MetaSetup,
    url: String,
    /// The old and the new secret of a rotation: both configured.
    secrets: [String; 2],
}

async fn token_endpoint() -> Endpoint {
    let (old, old_hash) = new_token();
    let (new, new_hash) = new_token();
    let client = format!(
        "\nauth.client_credentials = {{ client_id = \"{CLIENT_ID}\", \
         client_secret_hashes = [\"{old_hash}\", \"{new_hash}\"], token_lifetime_secs = 300 }}"
    );
    let adjust = |spec: &mut TenantSpec| spec.tenant_toml.push_str(&client);
    let setup = meta_setup_adjusted(Default::default(), "", adjust, "", "").await;
    let url = format!("{}/oauth/token", setup.scim);
    Endpoint {
        setup,
        url,
        secrets: [old, new],
    }
}

impl Endpoint {
    async fn request_form(&self, form: &str, basic: Option<(&str, &str)>) -> reqwest::Response {
        let mut request = self
            .setup
            .client
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string());
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        request.send().await.unwrap()
    }

    async fn counted(&self, result: &str) -> f64 {
        let series = format!(
            "scimitar_authentications_total{{method=\"client_credentials\",result=\"{result}\",tenant=\"meta\"}}"
        );
        metric(&self.setup.gateway, &series).await
    }
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap();
    (status, body, headers)
}

#[tokio::test]
async fn the_client_gets_an_access_token_that_provisions_through_to_the_target() {
    let endpoint = token_endpoint().await;
    let form = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={}&scope=scim",
        endpoint.secrets[1]
    );
    let (status, body, headers) = json_of(endpoint.request_form(&form, None).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "application/json");
    let access_token = body["access_token"].as_str().unwrap().to_string();

    let setup = &endpoint.setup;
    let (status, body) = setup
        .send_as(
            &access_token,
            Method::POST,
            "/Users",
            Some(entra_user("oauth@contoso.com", "Oh", "Auth", None)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(setup.native_user("oauth@contoso.com").await.is_some());

    // The old secret of a rotation, by HTTP Basic: another token, as good.
    let (status, body, _) = json_of(
        endpoint
            .request_form(
                "grant_type=client_credentials",
                Some((CLIENT_ID, &endpoint.secrets[0])),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let second = body["access_token"].as_str().unwrap();
    assert_ne!(second, access_token);
    let (status, _) = setup
        .send_as(second, Method::GET, "/Users?count=1", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(endpoint.counted("accepted").await, 2.0);
    let accepted_access = "scimitar_authentications_total{method=\"access_token\",result=\"accepted\",tenant=\"meta\"}";
    assert_eq!(metric(&setup.gateway, accepted_access).await, 2.0);
}

#[tokio::test]
async fn wrong_clients_and_malformed_requests_are_refused_and_reach_nothing() {
    let endpoint = token_endpoint().await;
    let setup = &endpoint.setup;
    let native_before = native_requests(&setup.testbed).await;
    let secret = endpoint.secrets[1].as_str();

    let wrong_secret =
        format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=guess");
    let (status, body, _) = json_of(endpoint.request_form(&wrong_secret, None).await).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let (status, body, headers) = json_of(
        endpoint
            .request_form(
                "grant_type=client_credentials",
                Some(("someone-else", secret)),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));

    let password = format!("grant_type=password&client_id={CLIENT_ID}&client_secret={secret}");
    let (status, body, _) = json_of(endpoint.request_form(&password, None).await).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let response = setup.client.get(&endpoint.url).send().await.unwrap();
    let (status, body, _) = json_of(response).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // A made-up access token, and the endpoint's tokens on a tenant of another kind.
    let (status, body) = setup
        .send_as("scimitar_at_madeup", Method::GET, "/Users?count=1", None)
        .await;
    assert_scim_error(status, &body, 401, None);

    assert_eq!(endpoint.counted("invalid_client").await, 2.0);
    assert_eq!(endpoint.counted("unsupported_grant_type").await, 1.0);
    assert_eq!(endpoint.counted("invalid_request").await, 1.0);
    assert_eq!(endpoint.counted("accepted").await, 0.0);
    let unknown = "scimitar_authentications_total{method=\"access_token\",result=\"unknown_token\",tenant=\"meta\"}";
    assert_eq!(metric(&setup.gateway, unknown).await, 1.0);
    assert_eq!(setup.gateway.rejected("meta", "unauthorized").await, 3);
    assert_eq!(native_requests(&setup.testbed).await, native_before);
}

#[tokio::test]
async fn replicas_on_one_postgresql_store_accept_each_others_access_tokens() {
    let (secret, secret_hash) = new_token();
    // A name of this run's own, so no earlier run's tokens are met.
    let name = format!("mx3-oauth-{}-{}", std::process::id(), rand_suffix());
    let client = format!(
        "auth.client_credentials = {{ client_id = \"{CLIENT_ID}\", client_secret_hashes = [\"{secret_hash}\"] }}"
    );
    let (_testbed, _secrets, spec) = mx3_tenant(&name, &new_token().0, &client).await;
    let store = test_postgres_url();
    let tenants = tenants_toml(&[spec]);
    let a = start_gateway_on_store(&tenants, "", &store, "").await;
    let b = start_gateway_on_store(&tenants, "", &store, "").await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/mx3/oauth/token", a.url))
        .basic_auth(CLIENT_ID, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (status, body, _) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    // Issued by one replica, taken by the other: the store holds the tokens, not memory.
    let (status, body) = read(
        client
            .get(format!("{}/mx3/Users?count=1", b.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
