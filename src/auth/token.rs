//! Static bearer tokens: made here, kept only as their hashes ([`TokenHash`]), and compared
//! in constant time, so neither the config file nor a timing side channel gives one away.
//! Client secrets of the token endpoint are made and kept the same way.

pub use crate::config::TokenHash;
use base64::Engine as _;
use rand::RngCore;

/// A fresh random token (256 bits, URL-safe) and its hash.
pub fn generate_token() -> (String, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = TokenHash::of(&token);
    (token, hash)
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A bearer token as a client presented it, hashed once however many tenants' hashes it is
/// compared with (several tenants may share one route).
pub struct Presented<'a> {
    pub text: &'a str,
    pub hash: TokenHash,
}

impl<'a> Presented<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            hash: TokenHash::of(text),
        }
    }
}

/// True when one of the hashes is `presented`'s. Every hash is checked, so the time taken
/// does not tell which one matched.
pub fn any_matches(hashes: &[TokenHash], presented: &TokenHash) -> bool {
    hashes
        .iter()
        .fold(false, |found, hash| hash.equals(presented) | found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_token_matches_its_hash_only() {
        let (token, hash) = generate_token();
        assert!(hash.matches(&token));
        assert!(!hash.matches("something else"));
        let parsed = TokenHash::parse(&hash.to_string()).unwrap();
        assert!(parsed.matches(&token));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn malformed_hashes_are_rejected() {
        assert!(TokenHash::parse("md5:00").is_err());
        assert!(TokenHash::parse("sha256:zz").is_err());
        assert!(TokenHash::parse("sha256:00").is_err());
    }
}
