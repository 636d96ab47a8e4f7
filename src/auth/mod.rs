//! Authentication of SCIM clients, each tenant by the ways its `[tenants.auth]` names:
//! static bearer tokens (`token`), Entra's own JWT (`entra_jwt`), and access tokens of the
//! tenant's OAuth token endpoint (`access_token`, issued by `client_credentials`). A
//! credential opens only the tenant that accepts it.

mod entra;
mod issued;
mod token;

pub use entra::parse_jwks;
pub use issued::{
    parse_token_request, AccessToken, ClientAuthentication, TokenIssuer, TokenRefusal,
};
pub use token::{any_matches, bearer_token, generate_token, Presented, TokenHash};

use crate::config::TenantAuth;
use crate::store::{Store, StoreError};
use entra::EntraVerifier;

/// How a client authenticated: the `method` label of `scimitar_authentications_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Token,
    EntraJwt,
    AccessToken,
    /// A token request to the tenant's token endpoint.
    ClientCredentials,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Token => "token",
            Method::EntraJwt => "entra_jwt",
            Method::AccessToken => "access_token",
            Method::ClientCredentials => "client_credentials",
        }
    }

    /// The kind of credential a bearer token is, by its shape.
    pub fn of_bearer(token: &str) -> Method {
        if issued::is_access_token(token) {
            Method::AccessToken
        } else if entra::looks_like_jwt(token) {
            Method::EntraJwt
        } else {
            Method::Token
        }
    }
}

/// What a tenant makes of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted(Method),
    /// Refused, with why (the `result` label): `unknown_token`, `expired`,
    /// `wrong_issuer`, `not_enabled` (the tenant does not take this kind), …
    Refused(Method, &'static str),
}

/// A tenant's ways in, built from its `[tenants.auth]`.
pub struct Authenticator {
    token_hashes: Vec<TokenHash>,
    entra: Option<EntraVerifier>,
    issuer: Option<TokenIssuer>,
}

impl Authenticator {
    /// `http` and `io` fetch Entra's signing keys (on the gateway's I/O runtime).
    pub fn new(
        tenant: &str,
        config: &TenantAuth,
        http: &reqwest::Client,
        io: &tokio::runtime::Handle,
    ) -> Self {
        Self {
            token_hashes: config.token_hashes.clone(),
            entra: config
                .entra
                .as_ref()
                .map(|entra| EntraVerifier::new(tenant, entra, http.clone(), io.clone())),
            issuer: config.client_credentials.as_ref().map(TokenIssuer::new),
        }
    }

    /// Checks a bearer token. Static tokens are tried first whatever their shape (an
    /// operator's own token may contain dots); a JWT then costs a signature check and an
    /// access token a store read, only for tenants that take them.
    pub async fn verify(
        &self,
        tenant: &str,
        presented: &Presented<'_>,
        store: &Store,
    ) -> Result<Verdict, StoreError> {
        if any_matches(&self.token_hashes, &presented.hash) {
            return Ok(Verdict::Accepted(Method::Token));
        }
        let token = presented.text;
        let method = Method::of_bearer(token);
        let outcome = match method {
            Method::Token | Method::ClientCredentials => Err("unknown_token"),
            Method::EntraJwt => match &self.entra {
                Some(entra) => entra.verify(token).await,
                None => Err("not_enabled"),
            },
            Method::AccessToken => match &self.issuer {
                Some(issuer) => issuer.accepts(tenant, token, store).await?,
                None => Err("not_enabled"),
            },
        };
        Ok(match outcome {
            Ok(()) => Verdict::Accepted(method),
            Err(why) => Verdict::Refused(method, why),
        })
    }

    /// The tenant's token endpoint, when it has one.
    pub fn token_issuer(&self) -> Option<&TokenIssuer> {
        self.issuer.as_ref()
    }
}
