//! Route templates: how a request path selects a tenant.
//!
//! A tenant's base path is a template of literal segments and `{name}` parameters, e.g.
//! `/v1/scim/{idp_id}`. A request matches when its path starts with the template's segments;
//! the captured parameters go to the adapter and the rest of the path (`/Users/123`) is the
//! SCIM endpoint.

use anyhow::bail;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use std::collections::{BTreeMap, BTreeSet};

/// What a parameter's value keeps unencoded in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
pub struct RouteTemplate {
    text: String,
    segments: Vec<Segment>,
    /// Parameters limited to a set of values (`route_values`): any other does not match.
    allowed: BTreeMap<String, BTreeSet<String>>,
}

/// A successful match: captured parameters and the SCIM path after the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub params: BTreeMap<String, String>,
    /// The part of the path the template matched: the tenant's SCIM base path.
    pub base: String,
    /// Always starts with `/` (or is empty for the base itself).
    pub rest: String,
}

impl RouteTemplate {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if !text.starts_with('/') {
            bail!("route {text:?} must start with '/'");
        }
        let mut segments = Vec::new();
        for part in text.split('/').filter(|s| !s.is_empty()) {
            if let Some(inner) = part.strip_prefix('{') {
                let Some(name) = inner.strip_suffix('}') else {
                    bail!("route {text:?}: segment {part:?} opens '{{' without closing it");
                };
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    bail!("route {text:?}: parameter name {name:?} must be [A-Za-z0-9_]+");
                }
                segments.push(Segment::Param(name.to_string()));
            } else if part.contains(['{', '}']) {
                bail!("route {text:?}: a parameter must be a whole segment, as in /{{name}}/");
            } else {
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        Ok(Self {
            text: text.to_string(),
            segments,
            allowed: BTreeMap::new(),
        })
    }

    /// Limits parameters to the values listed for them (each must be a parameter of the
    /// template, with at least one value).
    pub fn with_values(mut self, values: &BTreeMap<String, Vec<String>>) -> anyhow::Result<Self> {
        for (name, allowed) in values {
            if !self.segments.contains(&Segment::Param(name.clone())) {
                bail!(
                    "route_values: {name:?} is not a parameter of the route {:?}",
                    self.text
                );
            }
            if allowed.is_empty() {
                bail!("route_values: {name:?} lists no value: no request could match");
            }
            self.allowed
                .insert(name.clone(), allowed.iter().cloned().collect());
        }
        Ok(self)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A concrete path the template matches, each parameter at the first of its
    /// `route_values` (a parameter without them names itself as `{name}` in the error).
    pub fn example_path(&self) -> anyhow::Result<String> {
        let mut path = String::new();
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Literal(literal) => path.push_str(literal),
                Segment::Param(name) => {
                    let Some(value) = self.allowed.get(name).and_then(|v| v.first()) else {
                        bail!(
                            "route {:?}: {{{name}}} has no route_values to pick one from",
                            self.text
                        );
                    };
                    path.extend(percent_encoding::utf8_percent_encode(value, SEGMENT));
                }
            }
        }
        Ok(path)
    }

    /// Orders templates so that the most specific is tried first: more segments, then
    /// more literal segments.
    pub fn specificity(&self) -> (usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (self.segments.len(), literals)
    }

    /// Matches a request path (without query string). Literal segments compare exactly;
    /// parameters capture a non-empty, percent-decoded segment.
    pub fn matches(&self, path: &str) -> Option<RouteMatch> {
        let mut rest = path;
        let mut params = BTreeMap::new();
        for segment in &self.segments {
            let trimmed = rest.strip_prefix('/')?;
            let (part, after) = match trimmed.find('/') {
                Some(i) => (&trimmed[..i], &trimmed[i..]),
                None => (trimmed, ""),
            };
            match segment {
                Segment::Literal(lit) if lit == part => {}
                Segment::Param(name) if !part.is_empty() => {
                    let value = percent_encoding::percent_decode_str(part)
                        .decode_utf8()
                        .ok()?;
                    if self
                        .allowed
                        .get(name)
                        .is_some_and(|allowed| !allowed.contains(value.as_ref()))
                    {
                        return None;
                    }
                    params.insert(name.clone(), value.into_owned());
                }
                _ => return None,
            }
            rest = after;
        }
        let base = path[..path.len() - rest.len()].to_string();
        Some(RouteMatch {
            params,
            base,
            rest: rest.trim_end_matches('/').to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_path_fills_parameters_from_route_values_and_matches() {
        let values = BTreeMap::from([("idp_id".to_string(), vec!["idp 1".to_string()])]);
        let route = RouteTemplate::parse("/v1/scim/{idp_id}")
            .unwrap()
            .with_values(&values)
            .unwrap();
        let path = route.example_path().unwrap();
        assert_eq!(path, "/v1/scim/idp%201");
        assert_eq!(route.matches(&path).unwrap().params["idp_id"], "idp 1");
        let open = RouteTemplate::parse("/t/{org}").unwrap();
        assert!(open
            .example_path()
            .unwrap_err()
            .to_string()
            .contains("{org}"));
    }

    #[test]
    fn meta_networks_shape_captures_the_idp_id() {
        let t = RouteTemplate::parse("/v1/scim/{idp_id}").unwrap();
        let m = t.matches("/v1/scim/idp-0123456789/Users/usr-1").unwrap();
        assert_eq!(m.params["idp_id"], "idp-0123456789");
        assert_eq!(m.rest, "/Users/usr-1");
        assert_eq!(m.base, "/v1/scim/idp-0123456789");
        assert_eq!(t.matches("/v1/scim/idp-1").unwrap().rest, "");
        assert!(t.matches("/v1/scim").is_none());
        assert!(t.matches("/v2/scim/x/Users").is_none());
    }

    #[test]
    fn literal_routes_match_whole_segments_only() {
        let t = RouteTemplate::parse("/tenants/acme").unwrap();
        assert!(t.matches("/tenants/acme/Users").is_some());
        assert!(t.matches("/tenants/acmeco/Users").is_none());
    }

    #[test]
    fn listed_values_alone_match() {
        let values = BTreeMap::from([("idp_id".to_string(), vec!["idp-1".to_string()])]);
        let t = RouteTemplate::parse("/v1/scim/{idp_id}")
            .unwrap()
            .with_values(&values)
            .unwrap();
        assert!(t.matches("/v1/scim/idp-1/Schemas").is_some());
        assert!(t.matches("/v1/scim/idp-2/Schemas").is_none());
        let unknown = BTreeMap::from([("tenant".to_string(), vec!["x".to_string()])]);
        assert!(RouteTemplate::parse("/v1/scim/{idp_id}")
            .unwrap()
            .with_values(&unknown)
            .is_err());
        let empty = BTreeMap::from([("idp_id".to_string(), vec![])]);
        assert!(RouteTemplate::parse("/v1/scim/{idp_id}")
            .unwrap()
            .with_values(&empty)
            .is_err());
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(RouteTemplate::parse("v1").is_err());
        assert!(RouteTemplate::parse("/v1/{id").is_err());
        assert!(RouteTemplate::parse("/v1/x{id}").is_err());
        assert!(RouteTemplate::parse("/v1/{}").is_err());
    }
}
