//! The SCIM client of `adapter test`: Entra's requests, as Entra sends them (bearer token,
//! `application/scim+json`), and Entra's patience with a throttling target (429 waits for its
//! `Retry-After` and is sent again).

use anyhow::Context;
use serde_json::Value;
use std::time::Duration;

/// How often one request is sent again after a 429 before the check gives up.
const THROTTLED_RETRIES: u32 = 6;
/// The longest `Retry-After` honoured; longer ones are cut to this (a check run is interactive).
const LONGEST_WAIT: Duration = Duration::from_secs(65);
/// The wait after a 429 that named none.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// One answer: its status and its body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `status` and the SCIM error's detail, if any: what a failed check prints.
    pub fn describe(&self) -> String {
        let detail = self.body["detail"].as_str().unwrap_or_default();
        if detail.is_empty() {
            format!("status {}", self.status)
        } else {
            format!("status {}: {detail}", self.status)
        }
    }
}

pub struct ScimClient {
    http: reqwest::Client,
    /// The tenant's SCIM base URL without a trailing slash (`…/scim/v2`); any query string of
    /// Entra's Tenant URL (`?aadOptscim062020`) is dropped, as Entra does.
    base: String,
    token: String,
    throttled: std::cell::Cell<u32>,
}

impl ScimClient {
    pub fn new(base_url: &str, token: String) -> anyhow::Result<Self> {
        let base = base_url.split('?').next().unwrap_or(base_url);
        let http = reqwest::Client::builder()
            // Entra waits up to 60 s for an answer.
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            throttled: std::cell::Cell::new(0),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// How many 429s were waited out so far.
    pub fn throttled(&self) -> u32 {
        self.throttled.get()
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// `path` is everything after the base URL, query string included, already encoded.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut retries = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.token)
                .header("Accept", "application/scim+json");
            if let Some(body) = body {
                request = request
                    .header("Content-Type", "application/scim+json")
                    .body(serde_json::to_vec(body)?);
            }
            let response = request
                .send()
                .await
                .with_context(|| format!("{method} {url}: no answer"))?;
            let status = response.status().as_u16();
            if status == 429 && retries < THROTTLED_RETRIES {
                retries += 1;
                self.throttled.set(self.throttled.get() + 1);
                tokio::time::sleep(retry_after(response.headers())).await;
                continue;
            }
            let bytes = response
                .bytes()
                .await
                .with_context(|| format!("{method} {url}: the answer broke off"))?;
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Ok(Answer { status, body });
        }
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
        .map_or(DEFAULT_WAIT, |secs| {
            Duration::from_secs(secs).min(LONGEST_WAIT)
        })
}
