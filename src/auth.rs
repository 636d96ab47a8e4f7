//! Bearer-token authentication of SCIM clients.
//!
//! Tokens are stored only as SHA-256 hashes (`sha256:<hex>`) and compared in constant time,
//! so neither the config file nor a timing side channel gives a token away. A token opens
//! only the tenant whose config lists its hash.

use anyhow::{bail, Context};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let Some(hex_part) = text.strip_prefix("sha256:") else {
            bail!("token hash must look like sha256:<64 hex digits>");
        };
        let bytes = hex::decode(hex_part).context("token hash is not hexadecimal")?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("token hash must have 64 hex digits"))?;
        Ok(Self(bytes))
    }

    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    pub fn matches(&self, token: &str) -> bool {
        Self::of(token).0.ct_eq(&self.0).into()
    }
}

/// Read from the config as `sha256:<hex>`, so that a malformed hash fails where it is
/// written (file and line), once.
impl<'de> serde::Deserialize<'de> for TokenHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

impl serde::Serialize for TokenHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash(..)")
    }
}

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

/// True when one of the hashes matches. Every hash is checked, so the time taken does not
/// tell which one matched.
pub fn any_matches(hashes: &[TokenHash], token: &str) -> bool {
    hashes
        .iter()
        .fold(false, |found, hash| hash.matches(token) | found)
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
