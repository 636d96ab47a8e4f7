//! Entra's own JWT: what Entra's provisioning service sends when the Secret Token field is
//! left blank. Checked with `jsonwebtoken` (ring underneath, no crypto of ours): RS256 only,
//! signed by a key of the tenant's JWKS, issued by `https://sts.windows.net/<tenant id>/`
//! for the configured audience, within `exp`/`nbf` give or take the leeway, and — when
//! configured — for one application.

use crate::config::{EntraAuth, KeySource};
use crate::metrics;
use arc_swap::ArcSwap;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A JWKS larger than this is not Entra's (it publishes a handful of keys).
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Keys are fetched again after this long even when every `kid` is known, so that a key
/// Entra withdrew stops opening the tenant.
const KEYS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

pub struct EntraVerifier {
    validation: Validation,
    tenant_id: String,
    app_id: Option<String>,
    keys: KeySet,
}

/// The claims checked beyond what `Validation` checks.
#[derive(serde::Deserialize)]
struct Claims {
    tid: Option<String>,
    appid: Option<String>,
    azp: Option<String>,
}

impl EntraVerifier {
    pub fn new(
        tenant: &str,
        config: &EntraAuth,
        http: reqwest::Client,
        io: tokio::runtime::Handle,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[config.issuer()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = config.leeway_secs;
        Self {
            validation,
            tenant_id: config.tenant_id.clone(),
            app_id: config.app_id.clone(),
            keys: KeySet {
                tenant: tenant.to_string(),
                source: config.key_source(),
                http,
                io,
                min_refresh: Duration::from_secs(config.min_key_refresh_secs),
                keys: ArcSwap::from_pointee(Keys::default()),
                last_fetch: tokio::sync::Mutex::new(None),
            },
        }
    }

    /// Ok when the token opens the tenant; otherwise why not (a metric label).
    pub async fn verify(&self, token: &str) -> Result<(), &'static str> {
        // The algorithm is read before anything else, so that `none`, HS256 with the public
        // key as secret and the like are refused by name, never tried.
        let header = read_header(token).filter(|h| h.alg == "RS256");
        let kid = header.ok_or("wrong_algorithm")?.kid.ok_or("no_key_id")?;
        let key = self.keys.key(&kid).await.ok_or("unknown_key")?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::ImmatureSignature => "not_yet_valid",
                ErrorKind::InvalidIssuer => "wrong_issuer",
                ErrorKind::InvalidAudience => "wrong_audience",
                ErrorKind::InvalidSignature => "bad_signature",
                ErrorKind::MissingRequiredClaim(_) => "missing_claim",
                _ => "malformed",
            }
        })?;
        let claims = data.claims;
        if claims.tid.is_some_and(|tid| tid != self.tenant_id) {
            return Err("wrong_tenant");
        }
        if let Some(app_id) = &self.app_id {
            let app = claims.appid.or(claims.azp);
            if app.as_deref() != Some(app_id.as_str()) {
                return Err("wrong_app");
            }
        }
        Ok(())
    }
}

/// Whether a bearer token has a JWT's shape (three base64url parts), so that only such
/// tokens cost a signature check.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// What a JWT's header says of how to check it.
#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The token's header, when it is a base64url JSON object with an `alg`.
fn read_header(token: &str) -> Option<Header> {
    let (header, _) = token.split_once('.')?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// A tenant's signing keys: fetched when a token names a key not yet known (the first token
/// included) or the keys are a day old, at most once per `min_refresh`, so that tokens with
/// made-up key ids cannot make the gateway hammer the key endpoint.
struct KeySet {
    tenant: String,
    source: KeySource,
    http: reqwest::Client,
    /// The gateway's I/O runtime, where outgoing HTTP is driven.
    io: tokio::runtime::Handle,
    min_refresh: Duration,
    keys: ArcSwap<Keys>,
    /// When keys were last fetched (successfully or not); held while fetching, so that
    /// concurrent requests wait for one fetch instead of each making their own.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Keys {
    by_id: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

impl Keys {
    fn fresh(&self) -> bool {
        self.fetched.is_some_and(|at| at.elapsed() < KEYS_MAX_AGE)
    }
}

impl KeySet {
    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let known = |keys: &Keys| keys.by_id.get(kid).cloned().filter(|_| keys.fresh());
        if let Some(key) = known(&self.keys.load()) {
            return Some(key);
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = known(&self.keys.load()) {
            return Some(key);
        }
        if last_fetch.is_none_or(|at| at.elapsed() >= self.min_refresh) {
            *last_fetch = Some(Instant::now());
            match self.fetch().await {
                Ok(by_id) => {
                    metrics::AUTH_KEY_FETCHES
                        .with_label_values(&[&self.tenant, "ok"])
                        .inc();
                    self.keys.store(Arc::new(Keys {
                        by_id,
                        fetched: Some(Instant::now()),
                    }));
                }
                Err(error) => {
                    metrics::AUTH_KEY_FETCHES
                        .with_label_values(&[&self.tenant, "failed"])
                        .inc();
                    tracing::warn!(tenant = %self.tenant, error = %format!("{error:#}"), "cannot fetch the Entra signing keys");
                }
            }
        }
        // A stale key still serves while its replacement cannot be fetched.
        self.keys.load().by_id.get(kid).cloned()
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let text = match &self.source {
            KeySource::File(path) => tokio::fs::read(path).await.map_err(|e| {
                anyhow::anyhow!("cannot read the JWKS file {}: {e}", path.display())
            })?,
            KeySource::Url(url) => {
                let request = self.http.get(url).timeout(FETCH_TIMEOUT).send();
                let url = url.clone();
                self.io
                    .spawn(async move {
                        let response = request.await?;
                        anyhow::ensure!(
                            response.status().is_success(),
                            "{url} answered {}",
                            response.status()
                        );
                        Ok(crate::upstream::read_capped(response, MAX_JWKS_BYTES).await?)
                    })
                    .await??
            }
        };
        parse_jwks(&text)
    }
}

/// The RSA signing keys of a JWKS, by key id. Keys of other types or uses, or without an
/// id, are passed over (a JWKS may hold them); a set with no usable key is an error.
pub fn parse_jwks(text: &[u8]) -> anyhow::Result<HashMap<String, DecodingKey>> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(text)
        .map_err(|e| anyhow::anyhow!("not a JWKS (an object with \"keys\"): {e}"))?;
    let by_id: HashMap<String, DecodingKey> = set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| {
            jwk.common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
        })
        .filter_map(|jwk| {
            Some((
                jwk.common.key_id.clone()?,
                DecodingKey::from_jwk(&jwk).ok()?,
            ))
        })
        .collect();
    anyhow::ensure!(
        !by_id.is_empty(),
        "the JWKS holds no RSA signing key with a key id"
    );
    Ok(by_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn the_algorithm_is_read_from_the_header() {
        let token = |alg| {
            format!(
                "{}.{}.",
                segment(&format!(r#"{{"alg":"{alg}"}}"#)),
                segment("{}")
            )
        };
        let alg = |token: &str| read_header(token).map(|h| h.alg);
        assert_eq!(alg(&token("RS256")).as_deref(), Some("RS256"));
        assert_eq!(alg(&token("none")).as_deref(), Some("none"));
        assert_eq!(alg("garbage"), None);
        assert!(looks_like_jwt(&token("none")));
        assert!(!looks_like_jwt("an-opaque-token"));
    }

    #[test]
    fn a_jwks_keeps_only_rsa_signing_keys_with_ids() {
        let rsa = r#"{"kty":"RSA","use":"sig","kid":"a","n":"sXch","e":"AQAB","x5c":["MII"],"issuer":"x"}"#;
        let enc = r#"{"kty":"RSA","use":"enc","kid":"b","n":"sXch","e":"AQAB"}"#;
        let no_id = r#"{"kty":"RSA","n":"sXch","e":"AQAB"}"#;
        let ec = r#"{"kty":"EC","kid":"c","crv":"P-256","x":"AA","y":"AA"}"#;
        let set = format!(r#"{{"keys":[{rsa},{enc},{no_id},{ec}]}}"#);
        let keys = parse_jwks(set.as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["a"]);
        assert!(parse_jwks(format!(r#"{{"keys":[{ec}]}}"#).as_bytes()).is_err());
        assert!(parse_jwks(b"[]").is_err());
    }
}
