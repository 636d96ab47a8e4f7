//! Bearer tokens for the testbeds that hand them out (OAuth2 client credentials), and reading
//! `Authorization: Bearer <token>` for every testbed that checks one.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use tokio::time::Instant;

use crate::random;

/// Live access tokens and when each expires. Uses tokio's clock so that a test with a paused
/// clock can expire tokens without waiting.
#[derive(Default)]
pub(crate) struct Tokens {
    expiry: HashMap<String, Instant>,
    /// How many tokens were issued since start or reset, for `/_testbed/state`.
    pub issued: u64,
}

impl Tokens {
    pub fn issue(&mut self, ttl: Duration) -> String {
        let token = random::alphanumeric(40);
        // A lifetime past what the clock can count is as good as forever.
        let expires = Instant::now()
            .checked_add(ttl)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400));
        self.expiry.insert(token.clone(), expires);
        self.issued += 1;
        token
    }

    /// Whether `token` is live; expired tokens are forgotten on the way.
    pub fn check(&mut self, token: &str) -> bool {
        let now = Instant::now();
        self.expiry.retain(|_, expires| *expires > now);
        self.expiry.contains_key(token)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched ignoring case).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}
