//! Calls from adapter scripts to the target application.
//!
//! The host owns every outgoing request so that a script cannot get the hard parts wrong:
//! only allow-listed hosts (redirects are never followed: each would be a request to a host
//! nobody checked), no path that climbs out of its segments, answers of a bounded size, a
//! timeout bounded by the request deadline, retries of idempotent
//! calls on 5xx/429/connection errors (honouring `Retry-After`), the tenant's credentials
//! attached and refreshed, and metrics. Failures that Entra should retry become SCIM
//! 503/429 errors, so a script never mistakes a failed call for success.

mod oauth;

use crate::config::{Secret, UpstreamAuth, UpstreamConfig};
use crate::failure::Failure;
use crate::metrics;
use crate::provisioning::{CallLog, TargetCall};
use anyhow::Context;
pub use oauth::without_url;
use reqwest::Method;
use scimitar_scim::ScimError;
use std::collections::HashSet;
use std::time::{Duration, Instant};

pub struct UpstreamClient {
    tenant: String,
    base: url::Url,
    allowed_hosts: HashSet<String>,
    timeout: Duration,
    retries: u32,
    max_response_bytes: usize,
    auth: Option<Credentials>,
    /// The credentials as they were read when the client was built: a reload keeps the
    /// client (and its cached token) only while they stay the same.
    read_auth: Option<UpstreamAuth<Secret>>,
    /// The gateway's client, for the token requests of proxy mode (made from pingora's
    /// workers); script calls bring their thread's own to [`UpstreamClient::send`].
    http: reqwest::Client,
}

enum Credentials {
    OAuth(oauth::ClientCredentials),
    Header {
        name: reqwest::header::HeaderName,
        value: reqwest::header::HeaderValue,
    },
}

/// A request as a script describes it.
pub struct UpstreamRequest {
    pub method: Method,
    /// Absolute, or relative to the tenant's base URL.
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    /// Hand 429 and 5xx answers to the script instead of turning them into SCIM errors.
    pub raw: bool,
    /// The script vouches that repeating this request is harmless (e.g. an RPC-style read
    /// sent as POST), so 5xx and connection errors may be retried like a GET.
    pub retry_safe: bool,
}

pub enum Body {
    Json {
        value: serde_json::Value,
        content_type: Option<String>,
    },
    Text {
        text: String,
        content_type: String,
    },
}

pub struct UpstreamResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The answer as text; the script host reads JSON from it.
    pub body: String,
}

/// What one attempt ended in, before the retry policy looks at it.
enum Attempt {
    Answered(UpstreamResponse),
    Failed(String),
}

/// Pause before retrying after a 5xx or connection error (doubled each time).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

impl UpstreamClient {
    /// A client of `config`'s target, authenticating with `read_auth` (its `auth` with the
    /// secrets read).
    pub fn new(
        tenant: &str,
        config: &UpstreamConfig,
        read_auth: Option<UpstreamAuth<Secret>>,
        http: reqwest::Client,
    ) -> anyhow::Result<Self> {
        let first = config
            .urls()
            .first()
            .copied()
            .context("upstream.base_url is missing")?;
        let base = url::Url::parse(first).context("upstream.base_url")?;
        let mut allowed_hosts: HashSet<String> = config
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        allowed_hosts.insert(host_port(&base).context("upstream.base_url has no host")?);
        let auth = match &read_auth {
            None => None,
            Some(UpstreamAuth::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                encoding,
            }) => {
                let token_url = base.join(token_url).context("upstream.auth.token_url")?;
                Some(Credentials::OAuth(oauth::ClientCredentials::new(
                    tenant,
                    token_url,
                    client_id.expose().to_string(),
                    client_secret.expose().to_string(),
                    scope.clone(),
                    *encoding,
                )))
            }
            Some(UpstreamAuth::Header {
                name,
                prefix,
                value,
            }) => {
                let mut value =
                    reqwest::header::HeaderValue::from_str(&format!("{prefix}{}", value.expose()))
                        .context("upstream.auth.value is not a valid header value")?;
                value.set_sensitive(true);
                let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .context("upstream.auth.name is not a valid header name")?;
                Some(Credentials::Header { name, value })
            }
        };
        Ok(Self {
            tenant: tenant.to_string(),
            base,
            allowed_hosts,
            timeout: Duration::from_secs(config.timeout_secs),
            retries: config.retries,
            max_response_bytes: config.max_response_bytes,
            auth,
            read_auth,
            http,
        })
    }

    /// Whether this client authenticates with these credentials (read from the same
    /// references, a rotated secret reads differently).
    pub fn has_credentials(&self, read_auth: &Option<UpstreamAuth<Secret>>) -> bool {
        self.read_auth == *read_auth
    }

    /// Sends a script's request (with retries), recording every attempt in `calls` for
    /// the provisioning log.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        request: UpstreamRequest,
        deadline: Instant,
        calls: &CallLog,
    ) -> Result<UpstreamResponse, Failure> {
        let url = self.resolve(&request.url)?;
        let host = host_port(&url).unwrap_or_default();
        let repeatable = request.retry_safe
            || matches!(
                request.method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
            );
        let mut backoff = FIRST_BACKOFF;
        let mut retries_left = self.retries;
        let mut refreshed_token = false;
        loop {
            let timeout = self.timeout.min(remaining(deadline)?);
            let outcome = self
                .attempt(http, &request, &url, &host, timeout, calls)
                .await?;
            let wait = match &outcome {
                Attempt::Answered(r)
                    if r.status == 401 && !refreshed_token && self.oauth().is_some() =>
                {
                    // The token may have been revoked or expired early: fetch a new one once.
                    refreshed_token = true;
                    if let Some(oauth) = self.oauth() {
                        oauth.invalidate().await;
                    }
                    continue;
                }
                // A 429 means the target did not process the request: any method may repeat.
                Attempt::Answered(r) if r.status == 429 => retry_after(r).unwrap_or(backoff),
                Attempt::Answered(r) if r.status >= 500 && repeatable => backoff,
                Attempt::Failed(_) if repeatable => backoff,
                _ => break finish(outcome, request.raw),
            };
            // Compared as durations: a target's `Retry-After` may be any number.
            if retries_left == 0 || wait >= deadline.saturating_duration_since(Instant::now()) {
                break finish(outcome, request.raw);
            }
            retries_left -= 1;
            backoff *= 2;
            tokio::time::sleep(wait).await;
        }
    }

    /// The header that carries the gateway's credentials for the target, for proxied
    /// requests (the client's own `Authorization` never goes upstream).
    pub async fn credential_header(
        &self,
    ) -> Result<Option<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>, Failure> {
        match &self.auth {
            None => Ok(None),
            Some(Credentials::Header { name, value }) => Ok(Some((name.clone(), value.clone()))),
            Some(Credentials::OAuth(oauth)) => {
                let token = oauth.token(&self.http, self.timeout).await?;
                let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| {
                        Failure::upstream(ScimError::new(
                            502,
                            None,
                            "the target issued an unusable token",
                        ))
                    })?;
                value.set_sensitive(true);
                Ok(Some((reqwest::header::AUTHORIZATION, value)))
            }
        }
    }

    /// Forgets a cached OAuth token the target refused, so the next request fetches a new one.
    pub async fn token_refused(&self) {
        if let Some(oauth) = self.oauth() {
            oauth.invalidate().await;
        }
    }

    fn oauth(&self) -> Option<&oauth::ClientCredentials> {
        match &self.auth {
            Some(Credentials::OAuth(oauth)) => Some(oauth),
            _ => None,
        }
    }

    /// The URL a script's request goes to. A value that would climb out of its path
    /// segment is the client's; a URL the adapter cannot build, or one outside the tenant's
    /// allowed hosts, is the script's fault.
    fn resolve(&self, target: &str) -> Result<url::Url, Failure> {
        if let Some(segment) = dot_segment(target) {
            // URL resolution would remove it, and the request would reach another endpoint
            // of the target (`/users/%2E%2E` is `/`): an id or value that cannot be addressed.
            metrics::upstream_refused(&self.tenant, "path_escape");
            return Err(ScimError::invalid_value(format!(
                "a value in this request ({segment:?}) would make the target's path climb out \
                 of its segment; nothing was sent"
            ))
            .into());
        }
        let url = self.base.join(target).map_err(|e| {
            Failure::script_fault(ScimError::internal(format!(
                "the adapter built a bad URL {target:?}: {e}"
            )))
        })?;
        let host = host_port(&url).unwrap_or_default();
        let bare_host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let allowed = self.allowed_hosts.contains(&host) || self.allowed_hosts.contains(&bare_host);
        if !matches!(url.scheme(), "http" | "https") || !allowed {
            metrics::upstream_refused(&self.tenant, "host_not_allowed");
            return Err(Failure::script_fault(ScimError::internal(format!(
                "the adapter tried to reach {host:?}, which is not in the tenant's allowed hosts"
            ))));
        }
        Ok(url)
    }

    async fn attempt(
        &self,
        http: &reqwest::Client,
        request: &UpstreamRequest,
        url: &url::Url,
        host: &str,
        timeout: Duration,
        calls: &CallLog,
    ) -> Result<Attempt, Failure> {
        let mut builder = http
            .request(request.method.clone(), url.clone())
            .timeout(timeout);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder = match &self.auth {
            Some(Credentials::OAuth(oauth)) => {
                builder.bearer_auth(oauth.token(http, timeout).await?)
            }
            Some(Credentials::Header { name, value }) => {
                builder.header(name.clone(), value.clone())
            }
            None => builder,
        };
        builder = match &request.body {
            Some(Body::Json {
                value,
                content_type: None,
            }) => builder.json(value),
            Some(Body::Json {
                value,
                content_type: Some(ct),
            }) => builder
                .header(reqwest::header::CONTENT_TYPE, ct)
                .body(value.to_string()),
            Some(Body::Text { text, content_type }) => builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(text.clone()),
            None => builder,
        };

        let started = Instant::now();
        let result = async {
            let response = builder.send().await.map_err(Unanswered::Failed)?;
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            if is_redirect(status) {
                return Ok((status, headers, String::new()));
            }
            let body = read_capped(response, self.max_response_bytes).await?;
            Ok::<_, Unanswered>((status, headers, String::from_utf8_lossy(&body).into_owned()))
        }
        .await;
        let method = request.method.as_str();
        metrics::UPSTREAM_DURATION
            .with_label_values(&[&self.tenant, host, method])
            .observe(started.elapsed().as_secs_f64());
        let status_label = match &result {
            Ok(r) => r.0.to_string(),
            Err(Unanswered::TooLarge) => "too_large".to_string(),
            Err(Unanswered::Failed(_)) => "error".to_string(),
        };
        metrics::UPSTREAM_REQUESTS
            .with_label_values(&[&self.tenant, host, method, &status_label])
            .inc();
        if let Ok(mut calls) = calls.lock() {
            calls.push(TargetCall {
                method: method.to_string(),
                target: format!("{host}{}", url.path()),
                status: result.as_ref().ok().map(|r| r.0),
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            });
        }

        Ok(match result {
            Ok((status, headers, _)) if is_redirect(status) => {
                metrics::upstream_refused(&self.tenant, "redirect");
                let to = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                    .and_then(|(_, v)| url.join(v).ok())
                    .and_then(|u| host_port(&u))
                    .unwrap_or_else(|| "nowhere".to_string());
                return Err(Failure::upstream(ScimError::new(
                    502,
                    None,
                    format!(
                        "the target answered {method} with HTTP {status}, a redirect to {to}; \
                         the gateway does not follow redirects (set upstream.base_url to where \
                         the application really is)"
                    ),
                )));
            }
            Ok((status, headers, body)) => Attempt::Answered(UpstreamResponse {
                status,
                headers,
                body,
            }),
            Err(Unanswered::TooLarge) => {
                metrics::upstream_refused(&self.tenant, "response_too_large");
                return Err(Failure::upstream(too_large_answer(self.max_response_bytes)));
            }
            Err(Unanswered::Failed(error)) => {
                tracing::warn!(tenant = %self.tenant, %host, method, error = %without_url(error), "upstream call failed");
                Attempt::Failed(format!("{method} to {host} failed"))
            }
        })
    }

    /// The largest target answer this tenant takes (proxy mode caps response bodies too).
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }
}

/// Why a call brought back no answer the script may see.
#[derive(Debug, thiserror::Error)]
pub enum Unanswered {
    #[error(transparent)]
    Failed(reqwest::Error),
    /// Longer than the tenant's `max_response_bytes`.
    #[error("the answer is larger than the gateway takes")]
    TooLarge,
}

/// Reads a body, never holding more than `limit` bytes of it.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Unanswered> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(Unanswered::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Unanswered::Failed)? {
        if body.len() + chunk.len() > limit {
            return Err(Unanswered::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn too_large_answer(limit: usize) -> ScimError {
    ScimError::new(
        502,
        None,
        format!(
            "the target's answer is larger than {limit} bytes (upstream.max_response_bytes); \
             nothing of it was used"
        ),
    )
}

/// 3xx but `304 Not Modified` (an answer to a conditional request, not a redirect).
pub fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status) && status != 304
}

/// The first dot segment (`.`, `..`, or their percent-encoded forms, which URL resolution
/// treats alike) of a request target's path, if it has one. Backslashes count as slashes,
/// as they do in `http` URLs.
pub fn dot_segment(target: &str) -> Option<&str> {
    let path_end = target.find(['?', '#']).unwrap_or(target.len());
    let path = &target[..path_end];
    // After `scheme://host`, the path starts.
    let path = match path.find("://") {
        Some(at) => path[at + 3..].find('/').map_or("", |p| &path[at + 3 + p..]),
        None => path,
    };
    path.split(['/', '\\'])
        .find(|segment| is_dot_segment(segment))
}

/// `.` or `..`, each dot maybe spelt `%2e`/`%2E`; read without allocating, since every
/// request's path and every call to the target is checked.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            [b'.', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
        if dots > 2 {
            return false;
        }
    }
    dots > 0
}

/// The outcome handed to the script, or the target's failure that Entra should see instead.
fn finish(outcome: Attempt, raw: bool) -> Result<UpstreamResponse, Failure> {
    let refused = match outcome {
        Attempt::Answered(r) if raw => return Ok(r),
        Attempt::Failed(what) => ScimError::unavailable(
            None,
            format!("the target application is unreachable: {what}"),
        ),
        Attempt::Answered(r) if r.status == 429 => ScimError::too_many_requests(
            retry_after(&r).map_or(1, |d| d.as_secs().max(1)),
            "the target application is throttling requests",
        ),
        Attempt::Answered(r) if r.status >= 500 => ScimError::unavailable(
            retry_after(&r).map(|d| d.as_secs()),
            format!("the target application failed with HTTP {}", r.status),
        ),
        Attempt::Answered(r) => return Ok(r),
    };
    Err(Failure::upstream(refused))
}

fn remaining(deadline: Instant) -> Result<Duration, Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::deadline(
            "the request deadline passed before the target answered",
        ));
    }
    Ok(left)
}

/// `Retry-After` in seconds (the HTTP-date form is rare from APIs and is ignored), capped
/// at what is ever passed on to Entra.
fn retry_after(response: &UpstreamResponse) -> Option<Duration> {
    response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(scimitar_scim::MAX_RETRY_AFTER_SECS)))
}

fn host_port(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The CAs trusted for HTTPS targets: the configured bundle (`server.upstream_ca_file`),
/// read and parsed once, or the system's roots.
#[derive(Clone, Default)]
pub struct TrustedRoots(Option<Vec<reqwest::Certificate>>);

impl TrustedRoots {
    pub fn load(ca_file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let Some(path) = ca_file else {
            return Ok(Self(None));
        };
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?;
        Ok(Self(Some(certificates)))
    }
}

/// An HTTP client for the targets: rustls with the same crypto provider (ring) as pingora,
/// trusting `roots`, redirects never followed. The gateway keeps one for proxy mode's token
/// requests, and each script thread one of its own (its connections belong to the thread's
/// runtime).
pub fn http_client(roots: &TrustedRoots) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("scimitar/", env!("CARGO_PKG_VERSION")))
        // A redirect is answered as a failure, never followed: the next hop would get the
        // request's body and the tenant's credentials without an allow-list check.
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60));
    if let TrustedRoots(Some(certificates)) = roots {
        builder = builder.tls_built_in_root_certs(false);
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate.clone());
        }
    }
    builder.build().context("cannot build the HTTP client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_found_in_every_spelling() {
        for target in [
            "..",
            "users/..",
            "users/%2E%2E",
            "users/%2e.",
            "users/.%2E/admin",
            "/v1/./x",
            "users\\..\\admin",
            "http://h/api/../x?y=1",
        ] {
            assert!(dot_segment(target).is_some(), "{target}");
        }
        for target in [
            "users/a.b",
            "users/%2E%2E%2E",
            "users/...",
            "users?filter=..",
            "http://h.example/api",
            "users/x#..",
        ] {
            assert_eq!(dot_segment(target), None, "{target}");
        }
    }

    #[test]
    fn only_real_redirects_are_redirects() {
        assert!(is_redirect(301) && is_redirect(307) && is_redirect(308));
        assert!(!is_redirect(304) && !is_redirect(200) && !is_redirect(400));
    }
}
