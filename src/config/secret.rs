//! Secrets in the config: never inline, always a reference to the environment or a file.
//!
//! `client_secret = { env = "META_CLIENT_SECRET" }` or `{ file = "secrets/meta" }`. The
//! config holds the reference (`SecretRef`); the value is read when a tenant is built
//! (`serve`, `check`, every reload), into a `Secret` — so no code can hold a secret that was
//! never read, and tools that need no secret (`scimitar log`) never read one.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a secret is read from. A relative file is relative to the config file's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    pub(super) fn resolve_against(&mut self, base: &Path) {
        if let SecretRef::File(path) = self {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// The secret's value now (a rotated file is read anew).
    pub fn read(&self) -> anyhow::Result<Secret> {
        let value = match self {
            SecretRef::Env(var) => std::env::var(var)
                .with_context(|| format!("environment variable {var} is not set"))?,
            SecretRef::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read secret file {}", path.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        };
        Ok(Secret(value))
    }
}

/// A secret's value, as read from its `SecretRef`. Kept out of `Debug` output, so that a
/// logged config or client never leaks it; equal when the values are, so that a reload
/// sees a rotated secret as a change.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_one_source() {
        let read = |text: &str| toml::from_str::<WithSecret>(text).map(|m| m.secret);
        assert_eq!(
            read(r#"secret = { env = "X" }"#).unwrap(),
            SecretRef::Env("X".into())
        );
        assert_eq!(
            read(r#"secret = { file = "s/x" }"#).unwrap(),
            SecretRef::File("s/x".into())
        );
        assert!(read(r#"secret = { env = "X", file = "y" }"#).is_err());
        assert!(read(r#"secret = "inline-value""#).is_err());
    }

    #[derive(Deserialize)]
    struct WithSecret {
        secret: SecretRef,
    }

    #[test]
    fn a_file_is_read_relative_to_the_config_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cr3t\n").unwrap();
        let mut reference = SecretRef::File("token".into());
        reference.resolve_against(dir.path());
        let secret = reference.read().unwrap();
        assert_eq!(secret.expose(), "s3cr3t");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        let missing = SecretRef::Env("SCIMITAR_TEST_NO_SUCH_VARIABLE".into()).read();
        assert!(format!("{:#}", missing.unwrap_err()).contains("is not set"));
    }
}
