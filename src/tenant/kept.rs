//! The attributes a tenant keeps in the gateway (`[tenants.keep]`): single-valued
//! attributes the target cannot store — Entra's `externalId` above all, which it matches on.
//! The gateway stores their values on every write, puts them into every answer (its value
//! is the truth for them: the target has none) and answers filters on them from the store.
//! The rows live in the store; `crate::scim_api` keeps them current.

use super::attribute::KeyedAttribute;
use crate::config::KeepConfig;
use anyhow::bail;
use scimitar_scim::schema::ResourceKind;

#[derive(Debug, Default)]
pub struct KeptAttributes {
    users: Vec<KeyedAttribute>,
    groups: Vec<KeyedAttribute>,
}

/// What only the gateway or the target may say about a resource.
const NOT_KEPT: &[&str] = &["id", "meta", "schemas", "members"];

impl KeptAttributes {
    pub fn build(config: &KeepConfig) -> anyhow::Result<Self> {
        let parse = |kind: ResourceKind, names: &[String]| -> anyhow::Result<Vec<KeyedAttribute>> {
            let plural = kind.endpoint().trim_start_matches('/').to_lowercase();
            let mut kept: Vec<KeyedAttribute> = Vec::new();
            for name in names {
                let attribute = KeyedAttribute::parse(kind, name)
                    .map_err(|e| anyhow::anyhow!("{plural}: {e}"))?;
                let path = &attribute.path;
                if path.urn.is_none() && NOT_KEPT.iter().any(|n| n.eq_ignore_ascii_case(&path.attr))
                {
                    bail!("{plural}: {name:?} is the gateway's or the target's to say, not one to keep");
                }
                let parent =
                    scimitar_scim::schema::attribute(kind, path.urn.as_deref(), &path.attr);
                if parent.is_some_and(|p| p.multi_valued) {
                    bail!("{plural}: {name:?} has several values; only a single-valued attribute is kept");
                }
                if kept.iter().any(|k| k.names(path)) {
                    bail!("{plural}: {name:?} is listed twice");
                }
                kept.push(attribute);
            }
            Ok(kept)
        };
        Ok(Self {
            users: parse(ResourceKind::User, &config.users)?,
            groups: parse(ResourceKind::Group, &config.groups)?,
        })
    }

    /// The kept attributes of `kind` (none when the tenant keeps nothing of it).
    pub fn of(&self, kind: ResourceKind) -> &[KeyedAttribute] {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(users: &[&str]) -> anyhow::Result<KeptAttributes> {
        KeptAttributes::build(&KeepConfig {
            users: users.iter().map(|u| u.to_string()).collect(),
            groups: vec!["externalId".into()],
        })
    }

    #[test]
    fn single_valued_attributes_are_kept() {
        let kept = keep(&[
            "externalId",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "name.middleName",
        ])
        .expect("valid");
        assert_eq!(kept.of(ResourceKind::User).len(), 3);
        assert_eq!(kept.of(ResourceKind::Group)[0].name, "externalId");
    }

    #[test]
    fn what_cannot_be_kept_is_refused_by_name() {
        for (name, why) in [
            ("id", "the gateway's or the target's"),
            ("members", "the gateway's or the target's"),
            ("emails.value", "several values"),
            ("phoneNumbers", "several values"),
            ("emails[type", "not an attribute path"),
        ] {
            let error = keep(&[name]).expect_err(name).to_string();
            assert!(error.contains(why), "{name}: {error}");
        }
        let error = keep(&["externalId", "externalid"])
            .expect_err("twice")
            .to_string();
        assert!(error.contains("listed twice"), "{error}");
    }
}
