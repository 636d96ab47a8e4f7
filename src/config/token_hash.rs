//! A token's SHA-256 hash, as the config holds accepted tokens and client secrets
//! (`sha256:<hex>`), compared in constant time.

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Clone, PartialEq, Eq, Hash)]
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
        self.equals(&Self::of(token))
    }

    /// The same hash, compared in constant time.
    pub fn equals(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
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
