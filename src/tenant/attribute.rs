//! An attribute the gateway finds resources by (the directory index's, the kept ones): its
//! path as configured, parsed, and how its values compare — lowercased unless the schema
//! says the attribute is case-exact.

use scimitar_scim::filter::{AttrPath, Filter};
use scimitar_scim::schema::{attribute, ResourceKind};
use scimitar_scim::urn;
use serde_json::Value;

#[derive(Debug)]
pub struct KeyedAttribute {
    /// As configured; what the store's rows name it.
    pub name: String,
    pub path: AttrPath,
    case_exact: bool,
}

impl KeyedAttribute {
    pub fn parse(kind: ResourceKind, name: &str) -> anyhow::Result<Self> {
        let mut path = AttrPath::parse(name)
            .map_err(|e| anyhow::anyhow!("{name:?} is not an attribute path: {}", e.detail))?;
        path.urn = path
            .urn
            .map(|u| urn::canonicalize(&u))
            .filter(|u| !urn::is_core(u));
        let def = attribute(kind, path.urn.as_deref(), &path.attr);
        let def = match (&path.sub_attr, def) {
            (Some(sub), Some(def)) => def.sub(sub),
            (None, def) => def,
            (Some(_), None) => None,
        };
        Ok(Self {
            name: name.to_string(),
            case_exact: def.is_some_and(|d| d.case_exact),
            path,
        })
    }

    /// Whether `path` (of a filter or a PATCH) names this attribute.
    pub fn names(&self, path: &AttrPath) -> bool {
        let urn = path
            .urn
            .as_deref()
            .map(urn::canonicalize)
            .filter(|u| !urn::is_core(u));
        urn.as_deref().map(str::to_ascii_lowercase)
            == self.path.urn.as_deref().map(str::to_ascii_lowercase)
            && path.attr.eq_ignore_ascii_case(&self.path.attr)
            && match (&path.sub_attr, &self.path.sub_attr) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            }
    }

    /// The value as compared.
    pub fn key(&self, value: &str) -> String {
        if self.case_exact {
            value.to_string()
        } else {
            value.to_lowercase()
        }
    }

    /// Every value `resource` has at this attribute's path.
    pub fn values(&self, resource: &Value) -> Vec<Value> {
        scimitar_scim::values_at(resource, &self.path.to_string()).unwrap_or_default()
    }

    /// The attribute of `attributes` an equality of `filter` names, and its value as
    /// compared.
    pub fn lookup_key<'a>(attributes: &'a [Self], filter: &Filter) -> Option<(&'a str, String)> {
        filter.equalities().into_iter().find_map(|(path, value)| {
            let attribute = attributes.iter().find(|a| a.names(&path))?;
            Some((attribute.name.as_str(), attribute.key(value.as_str()?)))
        })
    }
}
