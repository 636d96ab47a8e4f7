//! `scimitar adapter new NAME`: a commented skeleton adapter, a tenant config for it and the
//! checklist of decisions every adapter makes, written beside each other so that the first
//! `scimitar check` and `scimitar adapter test` run on them as they are.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

const ADAPTER: &str = include_str!("adapter.rhai");
const TENANT: &str = include_str!("tenant.toml");
const CHECKLIST: &str = include_str!("checklist.md");

/// A name that is safe as a tenant name, a route segment, a file name and a metric label.
pub struct AdapterName(String);

impl AdapterName {
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        let valid = !name.is_empty()
            && name.len() <= 48
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            bail!(
                "{name:?} cannot name an adapter: use lower-case letters, digits and '-', \
                 starting with a letter (at most 48), e.g. \"acme-hr\""
            );
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The environment variable the config reads the application's API token from.
    fn token_env(&self) -> String {
        format!(
            "{}_API_TOKEN",
            self.0.to_ascii_uppercase().replace('-', "_")
        )
    }
}

/// What `new` wrote.
pub struct Written {
    pub adapter: PathBuf,
    pub config: PathBuf,
    pub checklist: PathBuf,
    /// The environment variable the config reads the application's API token from.
    pub token_env: String,
}

impl Written {
    pub fn files(&self) -> [&Path; 3] {
        [&self.adapter, &self.config, &self.checklist]
    }
}

/// Writes `<name>.rhai`, `<name>.toml` and `<name>-checklist.md` into `dir` (made if needed),
/// refusing before it writes anything if one of them exists already.
pub fn new(name: &AdapterName, dir: &Path) -> anyhow::Result<Written> {
    let token_env = name.token_env();
    // A fresh hash whose token nobody keeps: the tenant is locked until the user puts in
    // the hash of a token of their own, instead of sharing a hash printed in every skeleton.
    let (_, locked) = crate::auth::generate_token();
    let fill = |template: &str| {
        template
            .replace("@name@", &name.0)
            .replace("@ENV@", &token_env)
            .replace("@hash@", &locked.to_string())
    };
    let files = [
        (dir.join(format!("{}.rhai", name.0)), fill(ADAPTER)),
        (dir.join(format!("{}.toml", name.0)), fill(TENANT)),
        (
            dir.join(format!("{}-checklist.md", name.0)),
            fill(CHECKLIST),
        ),
    ];
    if let Some((taken, _)) = files.iter().find(|(path, _)| path.exists()) {
        bail!(
            "{} exists already; nothing was written (choose another name or --dir)",
            taken.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (path, text) in &files {
        // create_new: a file that appeared since the check above is not overwritten either.
        use std::io::Write;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let [(adapter, _), (config, _), (checklist, _)] = files;
    Ok(Written {
        adapter,
        config,
        checklist,
        token_env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_as_routes_files_and_labels() {
        for good in ["acme", "acme-hr", "a1"] {
            assert!(AdapterName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "1acme",
            "acme_hr",
            "../acme",
            "acme hr",
            &"a".repeat(49),
        ] {
            assert!(AdapterName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            AdapterName::parse("acme-hr").unwrap().token_env(),
            "ACME_HR_API_TOKEN"
        );
    }

    #[test]
    fn every_placeholder_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        let written = new(&AdapterName::parse("acme").unwrap(), dir.path()).unwrap();
        for path in written.files() {
            let text = std::fs::read_to_string(path).unwrap();
            for placeholder in ["@name@", "@ENV@", "@hash@"] {
                assert!(!text.contains(placeholder), "{placeholder} in {path:?}");
            }
            assert!(text.contains("acme"), "{path:?}");
        }
    }
}
