//! `store.url`, known to name a store the gateway can open once the config has parsed, so
//! that `scimitar check` refuses what `scimitar serve` would.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::str::FromStr;

/// A SQLite file (`sqlite://path`, created when missing) or a PostgreSQL database
/// (`postgres://…`), as the URL sqlx connects with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StoreUrl {
    Sqlite(String),
    Postgres(String),
}

impl StoreUrl {
    pub fn as_str(&self) -> &str {
        match self {
            StoreUrl::Sqlite(url) | StoreUrl::Postgres(url) => url,
        }
    }

    /// A relative SQLite file taken from `base` (the config file's folder).
    pub(super) fn resolve_against(&mut self, base: &Path) {
        let StoreUrl::Sqlite(url) = self else { return };
        let Some(path) = url.strip_prefix("sqlite://").map(Path::new) else {
            return;
        };
        if path.is_relative() && !path.as_os_str().is_empty() && path != Path::new(":memory:") {
            *url = format!("sqlite://{}", base.join(path).display());
        }
    }
}

impl FromStr for StoreUrl {
    type Err = anyhow::Error;

    fn from_str(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(StoreUrl::Postgres(url.to_string()))
        } else if url.starts_with("sqlite:") {
            Ok(StoreUrl::Sqlite(url.to_string()))
        } else {
            anyhow::bail!("store.url must start with sqlite:// or postgres://, not {url:?}")
        }
    }
}

impl From<StoreUrl> for String {
    fn from(url: StoreUrl) -> String {
        match url {
            StoreUrl::Sqlite(url) | StoreUrl::Postgres(url) => url,
        }
    }
}

impl TryFrom<String> for StoreUrl {
    type Error = anyhow::Error;

    fn try_from(url: String) -> anyhow::Result<Self> {
        url.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stores_the_gateway_opens_parse() {
        assert!(matches!("sqlite://a.db".parse(), Ok(StoreUrl::Sqlite(_))));
        assert!(matches!("sqlite::memory:".parse(), Ok(StoreUrl::Sqlite(_))));
        assert!(matches!(
            "postgres://h/db".parse(),
            Ok(StoreUrl::Postgres(_))
        ));
        assert!(matches!(
            "postgresql://h/db".parse(),
            Ok(StoreUrl::Postgres(_))
        ));
        assert!("mysql://h/db".parse::<StoreUrl>().is_err());
        assert!("scimitar.db".parse::<StoreUrl>().is_err());
    }

    #[test]
    fn a_relative_sqlite_file_is_taken_from_the_config_folder() {
        let mut url: StoreUrl = "sqlite://state/a.db".parse().unwrap();
        url.resolve_against(Path::new("/etc/scimitar"));
        assert_eq!(url.as_str(), "sqlite:///etc/scimitar/state/a.db");
        let mut absolute: StoreUrl = "sqlite:///var/a.db".parse().unwrap();
        absolute.resolve_against(Path::new("/etc/scimitar"));
        assert_eq!(absolute.as_str(), "sqlite:///var/a.db");
    }
}
