//! The tenant's own OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials): a client
//! that proves its secret gets a short-lived access token, which then opens the tenant's
//! SCIM routes like a static token.
//!
//! Access tokens are random and kept only as hashes, with their expiry, in the store — so
//! every replica on a shared store accepts them and a restart keeps them; each gateway
//! remembers the ones it has seen, so a token costs one store read per gateway, not one
//! per request.

use super::token::{any_matches, generate_token, TokenHash};
use crate::config::ClientCredentialsAuth;
use crate::store::{Store, StoreError};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Access tokens start with this, so that only they cost a store read.
const PREFIX: &str = "scimitar_at_";
/// Access tokens remembered per tenant; past this the memory starts over (the store still
/// has them all).
const REMEMBERED: usize = 4096;

pub struct TokenIssuer {
    client_id: String,
    secret_hashes: Vec<TokenHash>,
    lifetime_secs: u64,
    /// Access tokens seen valid, with their expiry (Unix seconds).
    remembered: Mutex<HashMap<TokenHash, i64>>,
}

/// An access token just issued.
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

impl TokenIssuer {
    pub fn new(config: &ClientCredentialsAuth) -> Self {
        Self {
            client_id: config.client_id.clone(),
            secret_hashes: config.client_secret_hashes.clone(),
            lifetime_secs: config.token_lifetime_secs,
            remembered: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the client is this tenant's, with one of its secrets. The id is compared in
    /// constant time too, and every secret hash is tried.
    fn admits(&self, client: &ClientAuthentication) -> bool {
        let id_matches: bool = client
            .client_id
            .as_bytes()
            .ct_eq(self.client_id.as_bytes())
            .into();
        any_matches(&self.secret_hashes, &TokenHash::of(&client.client_secret)) & id_matches
    }

    /// A new access token for `tenant` when `client` is its client (None: it is not),
    /// stored before it is handed out (expired ones of the tenant go at the same time).
    pub async fn grant(
        &self,
        tenant: &str,
        client: &ClientAuthentication,
        store: &Store,
    ) -> Result<Option<AccessToken>, StoreError> {
        if !self.admits(client) {
            return Ok(None);
        }
        let (random, _) = generate_token();
        let token = format!("{PREFIX}{random}");
        let hash = TokenHash::of(&token);
        let now = unix_now();
        let expires_at = now + self.lifetime_secs as i64;
        store
            .insert_access_token(tenant, &hash.to_string(), expires_at, now)
            .await?;
        self.remember(hash, expires_at);
        Ok(Some(AccessToken {
            token,
            expires_in: self.lifetime_secs,
        }))
    }

    /// Ok(Ok) when `token` is an unexpired access token of `tenant`; Ok(Err) says why not.
    pub async fn accepts(
        &self,
        tenant: &str,
        token: &str,
        store: &Store,
    ) -> Result<Result<(), &'static str>, StoreError> {
        let hash = TokenHash::of(token);
        let now = unix_now();
        let remembered = self.lock().get(&hash).copied();
        let expires_at = match remembered {
            Some(at) => Some(at),
            None => {
                let stored = store.access_token_expiry(tenant, &hash.to_string()).await?;
                if let Some(at) = stored.filter(|at| *at > now) {
                    self.remember(hash, at);
                }
                stored
            }
        };
        Ok(match expires_at {
            Some(at) if at > now => Ok(()),
            Some(_) => Err("expired"),
            None => Err("unknown_token"),
        })
    }

    fn remember(&self, hash: TokenHash, expires_at: i64) {
        let mut remembered = self.lock();
        if remembered.len() >= REMEMBERED {
            let now = unix_now();
            remembered.retain(|_, at| *at > now);
            if remembered.len() >= REMEMBERED {
                remembered.clear();
            }
        }
        remembered.insert(hash, expires_at);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, i64>> {
        self.remembered.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a bearer token is one this kind of endpoint issues.
pub fn is_access_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The client of a token request, as it authenticated.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientAuthentication {
    pub client_id: String,
    pub client_secret: String,
    /// By HTTP Basic (`client_secret_basic`) rather than in the form: a refusal then asks
    /// for Basic again (RFC 6749 §5.2).
    pub basic: bool,
}

/// Why a token request is refused, as RFC 6749 §5.2 names it.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    InvalidRequest(String),
    UnsupportedGrantType,
    InvalidClient { basic: bool },
}

impl TokenRefusal {
    pub fn status(&self) -> u16 {
        match self {
            TokenRefusal::InvalidClient { .. } => 401,
            _ => 400,
        }
    }

    /// The metric result.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenRefusal::InvalidRequest(_) => "invalid_request",
            TokenRefusal::UnsupportedGrantType => "unsupported_grant_type",
            TokenRefusal::InvalidClient { .. } => "invalid_client",
        }
    }

    /// The JSON error body.
    pub fn body(&self) -> serde_json::Value {
        let description = match self {
            TokenRefusal::InvalidRequest(why) => why.clone(),
            TokenRefusal::UnsupportedGrantType => {
                "only grant_type=client_credentials is offered".to_string()
            }
            TokenRefusal::InvalidClient { .. } => "unknown client or wrong secret".to_string(),
        };
        serde_json::json!({ "error": self.reason(), "error_description": description })
    }
}

/// Reads a token request: a form-encoded body with `grant_type=client_credentials`, the
/// client authenticated by HTTP Basic or by `client_id`/`client_secret` in the form (one
/// way, not both). A parameter given twice is refused, as RFC 6749 §3.2 requires.
pub fn parse_token_request(
    content_type: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<ClientAuthentication, TokenRefusal> {
    let invalid = |why: &str| TokenRefusal::InvalidRequest(why.to_string());
    let form_type = content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(invalid(
            "a token request is application/x-www-form-urlencoded",
        ));
    }
    let mut params: HashMap<String, String> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(invalid(&format!(
                "parameter {name} is given more than once"
            )));
        }
    }
    match params.get("grant_type").map(String::as_str) {
        None => return Err(invalid("grant_type is missing")),
        Some("client_credentials") => {}
        Some(_) => return Err(TokenRefusal::UnsupportedGrantType),
    }
    let basic = authorization.map(basic_credentials).transpose()?;
    let in_form = (params.remove("client_id"), params.remove("client_secret"));
    match (basic, in_form) {
        (Some((client_id, client_secret)), (None, None)) => Ok(ClientAuthentication {
            client_id,
            client_secret,
            basic: true,
        }),
        (Some(_), _) => Err(invalid(
            "the client authenticates once: HTTP Basic or the form, not both",
        )),
        (None, (Some(client_id), Some(client_secret))) => Ok(ClientAuthentication {
            client_id,
            client_secret,
            basic: false,
        }),
        (None, _) => Err(TokenRefusal::InvalidClient { basic: false }),
    }
}

/// `Basic base64(urlencoded id ":" urlencoded secret)` (RFC 6749 §2.3.1).
fn basic_credentials(header: &str) -> Result<(String, String), TokenRefusal> {
    let refused = || TokenRefusal::InvalidClient { basic: true };
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(refused)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refused());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| refused())?;
    let text = String::from_utf8(decoded).map_err(|_| refused())?;
    let (id, secret) = text.split_once(':').ok_or_else(refused)?;
    let unescape = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| refused())
    };
    Ok((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=utf-8");

    fn basic(id: &str, secret: &str) -> String {
        let raw = format!("{id}:{secret}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn the_client_authenticates_in_the_form_or_by_basic() {
        let form = parse_token_request(
            FORM,
            None,
            b"grant_type=client_credentials&client_id=entra&client_secret=s%3Dcret&scope=x",
        )
        .unwrap();
        assert_eq!(
            form,
            ClientAuthentication {
                client_id: "entra".into(),
                client_secret: "s=cret".into(),
                basic: false
            }
        );
        let by_basic = parse_token_request(
            FORM,
            Some(&basic("entra", "s%3Dcret")),
            b"grant_type=client_credentials",
        )
        .unwrap();
        assert_eq!(by_basic.client_secret, "s=cret");
        assert!(by_basic.basic);
    }

    #[test]
    fn malformed_requests_are_refused_as_rfc_6749_names_them() {
        let parse = |ct, auth: Option<&str>, body: &[u8]| parse_token_request(ct, auth, body);
        assert!(matches!(
            parse(Some("application/json"), None, b"{}"),
            Err(TokenRefusal::InvalidRequest(_))
        ));
        assert!(matches!(
            parse(FORM, None, b"client_id=a&client_secret=b"),
            Err(TokenRefusal::InvalidRequest(_))
        ));
        assert_eq!(
            parse(
                FORM,
                None,
                b"grant_type=password&client_id=a&client_secret=b"
            ),
            Err(TokenRefusal::UnsupportedGrantType)
        );
        assert!(matches!(
            parse(
                FORM,
                None,
                b"grant_type=client_credentials&grant_type=client_credentials"
            ),
            Err(TokenRefusal::InvalidRequest(_))
        ));
        assert_eq!(
            parse(FORM, None, b"grant_type=client_credentials&client_id=a"),
            Err(TokenRefusal::InvalidClient { basic: false })
        );
        assert!(matches!(
            parse(
                FORM,
                Some(&basic("a", "b")),
                b"grant_type=client_credentials&client_secret=b"
            ),
            Err(TokenRefusal::InvalidRequest(_))
        ));
        assert_eq!(
            parse(FORM, Some("Basic !!!"), b"grant_type=client_credentials"),
            Err(TokenRefusal::InvalidClient { basic: true })
        );
        assert_eq!(TokenRefusal::InvalidClient { basic: true }.status(), 401);
    }

    #[test]
    fn only_the_configured_client_with_one_of_its_secrets_is_admitted() {
        let (old, old_hash) = generate_token();
        let (new, new_hash) = generate_token();
        let issuer = TokenIssuer::new(&ClientCredentialsAuth {
            client_id: "entra".into(),
            client_secret_hashes: vec![old_hash, new_hash],
            token_lifetime_secs: 600,
        });
        let client = |id: &str, secret: &str| ClientAuthentication {
            client_id: id.into(),
            client_secret: secret.into(),
            basic: false,
        };
        assert!(issuer.admits(&client("entra", &old)));
        assert!(issuer.admits(&client("entra", &new)));
        assert!(!issuer.admits(&client("entra", "guess")));
        assert!(!issuer.admits(&client("other", &new)));
    }
}
