//! OAuth2 client-credentials tokens, fetched once and shared by every script call of a
//! tenant until shortly before they expire.

use crate::config::TokenEncoding;
use crate::failure::Failure;
use scimitar_scim::ScimError;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Refresh this long before the token's announced expiry, so that a token never expires
/// between the check and its use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// The longest a token is kept, whatever `expires_in` the target announces.
const MAX_LIFETIME_SECS: u64 = 24 * 3600;

pub struct ClientCredentials {
    /// The tenant whose credentials these are (for the refusal metric).
    tenant: String,
    pub token_url: url::Url,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    pub encoding: TokenEncoding,
    cached: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl ClientCredentials {
    pub fn new(
        tenant: &str,
        token_url: url::Url,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
        encoding: TokenEncoding,
    ) -> Self {
        Self {
            tenant: tenant.to_string(),
            token_url,
            client_id,
            client_secret,
            scope,
            encoding,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token, from the cache or freshly fetched. Concurrent callers wait for
    /// one fetch instead of each asking the token endpoint.
    pub async fn token(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<String, Failure> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.access_token.clone());
        }
        let fresh = self.fetch(http, timeout).await.map_err(Failure::upstream)?;
        let token = fresh.access_token.clone();
        // The target's number, capped: a lifetime of years (or u64::MAX) must neither
        // overflow `Instant` nor keep a token past any sane rotation.
        let lifetime = Duration::from_secs(fresh.expires_in.unwrap_or(300).min(MAX_LIFETIME_SECS));
        *cached = Some(CachedToken {
            access_token: fresh.access_token,
            refresh_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        });
        Ok(token)
    }

    /// Forgets the cached token (the target answered 401 with it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<TokenResponse, ScimError> {
        let mut fields = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
        ];
        if let Some(scope) = &self.scope {
            fields.push(("scope", scope));
        }
        let request = http.post(self.token_url.clone()).timeout(timeout);
        let request = match self.encoding {
            TokenEncoding::Form => request.form(&fields),
            TokenEncoding::Json => {
                let body: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), (*v).into()))
                    .collect();
                request.json(&body)
            }
        };
        let unreachable = |e: reqwest::Error| {
            ScimError::unavailable(
                None,
                format!(
                    "the target's token endpoint is unreachable: {}",
                    without_url(e)
                ),
            )
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if status.as_u16() == 429 {
            return Err(ScimError::too_many_requests(
                retry_after.unwrap_or(1),
                "the target's token endpoint is throttling requests",
            ));
        }
        if status.is_server_error() {
            return Err(ScimError::unavailable(
                retry_after,
                format!("the target's token endpoint answered {status}"),
            ));
        }
        if super::is_redirect(status.as_u16()) {
            // Following it would post the client secret to a host nobody allowed.
            crate::metrics::upstream_refused(&self.tenant, "redirect");
            return Err(ScimError::new(
                502,
                None,
                format!(
                    "the target's token endpoint answered {status}, a redirect; the gateway \
                     does not follow redirects (set upstream.auth.token_url to the real one)"
                ),
            ));
        }
        if !status.is_success() {
            return Err(ScimError::new(
                502,
                None,
                format!("the target refused the gateway's client credentials ({status})"),
            ));
        }
        let body = super::read_capped(response, TOKEN_RESPONSE_AT_MOST)
            .await
            .map_err(|e| match e {
                super::Unanswered::TooLarge => {
                    crate::metrics::upstream_refused(&self.tenant, "response_too_large");
                    super::too_large_answer(TOKEN_RESPONSE_AT_MOST)
                }
                super::Unanswered::Failed(e) => unreachable(e),
            })?;
        serde_json::from_slice::<TokenResponse>(&body).map_err(|e| {
            ScimError::new(
                502,
                None,
                format!("the target's token response is not usable: {e}"),
            )
        })
    }
}

/// More than any token response needs.
const TOKEN_RESPONSE_AT_MOST: usize = 64 * 1024;

/// reqwest errors print their URL, whose query could carry secrets: keep only the kind.
pub fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}
