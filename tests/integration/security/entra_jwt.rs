//! Entra's own JWT (the Secret Token left blank): a tenant with `auth.entra` takes tokens
//! signed by a key of its JWKS, issued for its Entra tenant and Entra's provisioning
//! audience, within their validity — and nothing else, with each refusal counted by why
//! and no call reaching the target. Keys come from a JWKS served on loopback, made per run.

use crate::security::metric;
use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ENTRA_AUDIENCE: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
const ENTRA_TENANT: &str = "6b1a2c3d-0000-4000-8000-0000000000aa";
const OTHER_TENANT: &str = "9f8e7d6c-0000-4000-8000-0000000000bb";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims of a token Entra's provisioning service sends for `tenant`.
fn entra_claims(tenant: &str) -> Value {
    json!({
        "aud": ENTRA_AUDIENCE,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "tid": tenant,
        "appid": "00000014-0000-0000-c000-000000000000",
        "iat": now() - 60,
        "nbf": now() - 60,
        "exp": now() + 3600,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// A Meta Networks tenant that takes Entra's tokens, its keys at `jwks`.
async fn entra_tenant(jwks: &JwksServer, min_key_refresh_secs: u64) -> MetaSetup {
    let entra = format!(
        "\nauth.entra = {{ tenant_id = \"{ENTRA_TENANT}\", jwks_url = \"{}/keys\", \
         min_key_refresh_secs = {min_key_refresh_secs} }}",
        jwks.url
    );
    let adjust = |spec: &mut TenantSpec| spec.tenant_toml.push_str(&entra);
    meta_setup_adjusted(Default::default(), "", adjust, "", "").await
}

async fn refused_because(setup: &Setup, why: &str) -> f64 {
    let series = format!(
        "scimitar_authentications_total{{method=\"entra_jwt\",result=\"{why}\",tenant=\"meta\"}}"
    );
    metric(&setup.gateway, &series).await
}

#[tokio::test]
async fn entra_tokens_open_their_tenant_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    let entra_key = SigningKey::new(dir.path(), "entra-key-1");
    let stranger = SigningKey::new(dir.path(), "stranger");
    let jwks = JwksServer::start(&[&entra_key]).await;
    let setup = entra_tenant(&jwks, 60).await;

    // Entra's token provisions a user, through to the target.
    let token = entra_key.sign(&entra_key.kid, &entra_claims(ENTRA_TENANT));
    let (status, body) = setup
        .send_as(
            &token,
            reqwest::Method::POST,
            "/Users",
            Some(entra_user("jwt@contoso.com", "Jay", "Double", None)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(setup.native_user("jwt@contoso.com").await.is_some());
    // The static token still opens the tenant beside it.
    let (status, _) = setup.get("/Users?count=1").await;
    assert_eq!(status, 200);

    let claims = entra_claims(ENTRA_TENANT);
    let other_tenant = with(
        with(
            claims.clone(),
            "iss",
            json!(format!("https://sts.windows.net/{OTHER_TENANT}/")),
        ),
        "tid",
        json!(OTHER_TENANT),
    );
    let unsigned = {
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let header = json!({"alg": "none", "typ": "JWT", "kid": entra_key.kid});
        format!("{}.{}.", b64(&header), b64(&claims))
    };
    let refused = [
        (
            "expired",
            entra_key.sign(
                &entra_key.kid,
                &with(claims.clone(), "exp", json!(now() - 600)),
            ),
        ),
        (
            "not_yet_valid",
            entra_key.sign(
                &entra_key.kid,
                &with(claims.clone(), "nbf", json!(now() + 600)),
            ),
        ),
        (
            "wrong_audience",
            entra_key.sign(
                &entra_key.kid,
                &with(claims.clone(), "aud", json!("https://graph.microsoft.com")),
            ),
        ),
        (
            "wrong_issuer",
            entra_key.sign(
                &entra_key.kid,
                &with(claims.clone(), "iss", json!("https://login.example.com/")),
            ),
        ),
        // Entra signs every tenant's tokens with the same keys: the issuer tells them apart.
        (
            "wrong_issuer",
            entra_key.sign(&entra_key.kid, &other_tenant),
        ),
        // Another key, claiming to be Entra's.
        ("bad_signature", stranger.sign(&entra_key.kid, &claims)),
        ("wrong_algorithm", unsigned),
    ];
    let native_before = native_requests(&setup.testbed).await;
    for (why, token) in &refused {
        let (status, body) = setup
            .send_as(
                token,
                reqwest::Method::POST,
                "/Users",
                Some(entra_user("intruder@contoso.com", "In", "Truder", None)),
            )
            .await;
        assert_scim_error(status, &body, 401, None);
        assert!(
            refused_because(&setup, why).await >= 1.0,
            "{why} not counted"
        );
    }
    assert_eq!(refused_because(&setup, "wrong_issuer").await, 2.0);
    assert_eq!(
        native_requests(&setup.testbed).await,
        native_before,
        "a refused token reached the target"
    );
    assert!(setup.native_user("intruder@contoso.com").await.is_none());
    assert_eq!(
        setup.gateway.rejected("meta", "unauthorized").await,
        refused.len() as u64
    );
    assert_eq!(refused_because(&setup, "accepted").await, 1.0);
    assert_eq!(jwks.fetches(), 1, "the keys are fetched once and kept");
}

/// Entra's key before and after a rotation, the JWKS publishing only the old one so far,
/// and a tenant on it that refetches keys at most every `min_key_refresh_secs`.
struct Rotation {
    old: SigningKey,
    new: SigningKey,
    jwks: JwksServer,
    setup: MetaSetup,
    _keys: tempfile::TempDir,
}

impl Rotation {
    async fn start(min_key_refresh_secs: u64) -> Rotation {
        let keys = tempfile::tempdir().unwrap();
        let (old, new) = (
            SigningKey::new(keys.path(), "old"),
            SigningKey::new(keys.path(), "new"),
        );
        let jwks = JwksServer::start(&[&old]).await;
        let setup = entra_tenant(&jwks, min_key_refresh_secs).await;
        Rotation {
            old,
            new,
            jwks,
            setup,
            _keys: keys,
        }
    }

    /// `GET /Users?count=1` with a token signed by `key`, naming `kid`: the status.
    async fn list_with(&self, key: &SigningKey, kid: &str) -> reqwest::StatusCode {
        let token = key.sign(kid, &entra_claims(ENTRA_TENANT));
        self.setup
            .send_as(&token, reqwest::Method::GET, "/Users?count=1", None)
            .await
            .0
    }
}

#[tokio::test]
async fn an_unknown_key_id_fetches_the_keys_again_at_a_bounded_rate() {
    let rotation = Rotation::start(60).await;
    let (old, jwks, setup) = (&rotation.old, &rotation.jwks, &rotation.setup);
    assert_eq!(rotation.list_with(old, "old").await, 200);
    assert_eq!(jwks.fetches(), 1);

    // Made-up key ids, all at once: at most one fetch in the minute, however many come.
    let claims = entra_claims(ENTRA_TENANT);
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..20 {
        let request = setup
            .client
            .get(format!("{}/Users?count=1", setup.scim))
            .bearer_auth(old.sign(&format!("made-up-{i}"), &claims));
        requests.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = requests.join_all().await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(refused_because(setup, "unknown_key").await, 20.0);
    assert_eq!(
        jwks.fetches(),
        1,
        "unknown key ids made the gateway fetch again"
    );

    // A rotation to a key published after the last fetch waits for the interval.
    jwks.publish(&[old, &rotation.new]);
    assert_eq!(rotation.list_with(&rotation.new, "new").await, 401);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let rotation = Rotation::start(1).await;
    let (old, new, jwks) = (&rotation.old, &rotation.new, &rotation.jwks);
    assert_eq!(rotation.list_with(old, "old").await, 200);
    // Entra starts signing with a new key, published beside the old one.
    jwks.publish(&[old, new]);
    // Past the minimum interval since the last fetch (a lower bound, not a timing bet).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(rotation.list_with(new, "new").await, 200);
    assert_eq!(jwks.fetches(), 2);
    assert_eq!(
        rotation.list_with(old, "old").await,
        200,
        "the old key still serves"
    );
    assert_eq!(jwks.fetches(), 2);
}
