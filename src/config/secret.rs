//! Secrets in the config: never inline, always a reference to the environment or a file.
//!
//! `client_secret = { env = "META_CLIENT_SECRET" }` or `{ file = "secrets/meta" }`. The
//! resolved value is kept out of `Debug` output so that a logged config never leaks it.

use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::Path;

/// Equal when both name the same source and resolved to the same value, so that a reload
/// sees a rotated secret file as a change.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(skip)]
    value: Option<String>,
}

impl Secret {
    pub(super) fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        let value = match (&self.env, &self.file) {
            (Some(var), None) => std::env::var(var)
                .with_context(|| format!("environment variable {var} is not set"))?,
            (None, Some(file)) => {
                let path = base.join(file);
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read secret file {}", path.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string()
            }
            _ => bail!("a secret is either {{ env = \"VAR\" }} or {{ file = \"path\" }}"),
        };
        self.value = Some(value);
        Ok(())
    }

    /// The secret's value; only valid after the config was loaded.
    pub fn expose(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.env, &self.file) {
            (Some(var), _) => write!(f, "Secret(env {var})"),
            (_, Some(file)) => write!(f, "Secret(file {file})"),
            _ => write!(f, "Secret(unset)"),
        }
    }
}
