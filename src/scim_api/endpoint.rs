//! Which SCIM endpoint a path (after the tenant's base) names.

use scimitar_scim::ResourceKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    ServiceProviderConfig,
    Schemas(Option<String>),
    ResourceTypes(Option<String>),
    /// `/Users`, `/Groups`.
    Collection(ResourceKind),
    /// `/Users/.search`, `/Groups/.search`.
    Search(ResourceKind),
    /// `/Users/{id}`, `/Groups/{id}`.
    Resource(ResourceKind, String),
    /// `/.search`: a search across all resource types (RFC 7644 §3.4.3), which is answered
    /// 501 so that clients know to search per resource type instead.
    RootSearch,
}

impl Endpoint {
    /// Parses the SCIM part of a path. Endpoint names compare case-insensitively, since
    /// clients differ in how they spell them; ids are percent-decoded.
    pub fn parse(rest: &str) -> Option<Endpoint> {
        let mut parts = rest.trim_matches('/').split('/');
        let head = parts.next().unwrap_or_default().to_ascii_lowercase();
        let id = match parts.next() {
            None => None,
            Some(segment) => Some(decode(segment)?),
        };
        if parts.next().is_some() {
            return None;
        }
        let kind = match head.as_str() {
            "users" => ResourceKind::User,
            "groups" => ResourceKind::Group,
            "serviceproviderconfig" | "serviceproviderconfigs" if id.is_none() => {
                return Some(Endpoint::ServiceProviderConfig)
            }
            "schemas" => return Some(Endpoint::Schemas(id)),
            "resourcetypes" => return Some(Endpoint::ResourceTypes(id)),
            ".search" if id.is_none() => return Some(Endpoint::RootSearch),
            _ => return None,
        };
        Some(match id {
            None => Endpoint::Collection(kind),
            Some(id) if id == ".search" => Endpoint::Search(kind),
            Some(id) => Endpoint::Resource(kind, id),
        })
    }

    /// The resource label used in metrics and logs.
    pub fn resource_label(&self) -> &'static str {
        match self {
            Endpoint::Collection(kind) | Endpoint::Search(kind) | Endpoint::Resource(kind, _) => {
                noun_plural(*kind)
            }
            Endpoint::ServiceProviderConfig => "ServiceProviderConfig",
            Endpoint::Schemas(_) => "Schemas",
            Endpoint::ResourceTypes(_) => "ResourceTypes",
            Endpoint::RootSearch => "root",
        }
    }
}

/// A percent-decoded path segment; `None` when it is not UTF-8.
fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

pub fn noun(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "user",
        ResourceKind::Group => "group",
    }
}

pub fn noun_plural(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "Users",
        ResourceKind::Group => "Groups",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("/Users"),
            Some(Endpoint::Collection(ResourceKind::User))
        );
        assert_eq!(
            Endpoint::parse("/users/"),
            Some(Endpoint::Collection(ResourceKind::User))
        );
        assert_eq!(
            Endpoint::parse("/Groups/grp-1"),
            Some(Endpoint::Resource(ResourceKind::Group, "grp-1".into()))
        );
        assert_eq!(
            Endpoint::parse("/Users/.search"),
            Some(Endpoint::Search(ResourceKind::User))
        );
        assert_eq!(
            Endpoint::parse("/ServiceProviderConfig"),
            Some(Endpoint::ServiceProviderConfig)
        );
        assert_eq!(
            Endpoint::parse("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            Some(Endpoint::Schemas(Some(
                "urn:ietf:params:scim:schemas:core:2.0:User".into()
            )))
        );
        assert_eq!(Endpoint::parse("/.search"), Some(Endpoint::RootSearch));
        assert_eq!(Endpoint::parse("/Users/a/b"), None);
        assert_eq!(Endpoint::parse("/Bulk"), None);
        assert_eq!(Endpoint::parse(""), None);
    }
}
