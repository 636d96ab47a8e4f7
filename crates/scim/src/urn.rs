//! Schema and message URNs, and how URN-qualified names split.
//!
//! Entra sends the enterprise extension under a misspelt URN (`...:enterprise:2.0User`, missing
//! a colon) and URNs in arbitrary case; [`canonical_schema`] maps both onto the real spelling so
//! that the rest of the crate only ever sees canonical URNs.

/// Core User schema.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// List response message.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PATCH request message.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Error response message.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// `POST /.search` request message.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Service provider configuration schema.
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// Resource type schema.
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema.
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Entra's misspelling of [`ENTERPRISE_USER`] (no colon between `2.0` and `User`).
pub const ENTERPRISE_USER_MISSPELT: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User";
/// A schema URN Entra lists in group bodies without ever sending an object for it.
pub const MICROSOFT_ADSCIM_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// The resource schemas this crate knows, plus the misspelling Entra uses for one of them.
const KNOWN: [(&str, &str); 4] = [
    (USER, USER),
    (GROUP, GROUP),
    (ENTERPRISE_USER, ENTERPRISE_USER),
    (ENTERPRISE_USER_MISSPELT, ENTERPRISE_USER),
];

/// The canonical spelling of a known resource schema URN (any case, or Entra's misspelling).
pub fn canonical_schema(urn: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(urn))
        .map(|(_, canonical)| *canonical)
}

/// [`canonical_schema`], falling back to the input for URNs this crate does not know
/// (custom extensions are kept verbatim).
pub fn canonicalize(urn: &str) -> String {
    canonical_schema(urn).map_or_else(|| urn.to_owned(), str::to_owned)
}

/// Whether `urn` names a core resource schema, whose attributes live at the top level of a
/// resource rather than under an extension key.
pub fn is_core(urn: &str) -> bool {
    urn == USER || urn == GROUP
}

/// Whether a key or path is URN-qualified (`urn:` in any case).
pub fn is_urn(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Splits a URN-qualified attribute (`<schema urn>:<attr>[.<sub>]`) into the canonical schema
/// URN and the attribute part. Returns `None` if `s` is not URN-qualified or is itself a known
/// schema URN (an extension as a whole, not one of its attributes).
///
/// The split is at the last colon: schema URNs contain dots (`2.0`) but attribute names never
/// contain colons.
pub fn split_qualified(s: &str) -> Option<(String, &str)> {
    if !is_urn(s) || canonical_schema(s).is_some() {
        return None;
    }
    let (urn, attr) = s.rsplit_once(':')?;
    Some((canonicalize(urn), attr))
}

/// What a `urn:` key of a resource body or a pathless PATCH value denotes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UrnKey<'a> {
    /// A whole extension object, keyed by its (canonical) schema URN.
    Extension(String),
    /// One attribute of a schema, `<urn>:<attr>[.<sub>]` (Entra's pathless PATCH keys).
    Attribute { urn: String, attr: &'a str },
}

/// Classifies a key: known schema URNs are extensions; an unknown URN whose value is an object
/// is taken for a custom extension (the RFC form), anything else URN-qualified is an attribute.
/// Keys that are not URNs give `None`.
pub(crate) fn classify_key(key: &str, value_is_object: bool) -> Option<UrnKey<'_>> {
    if let Some(canonical) = canonical_schema(key) {
        return Some(UrnKey::Extension(canonical.to_owned()));
    }
    let (urn, attr) = split_qualified(key)?;
    if value_is_object && canonical_schema(&urn).is_none() {
        Some(UrnKey::Extension(key.to_owned()))
    } else {
        Some(UrnKey::Attribute { urn, attr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_and_recased_enterprise_urns_are_canonical() {
        assert_eq!(
            canonical_schema(ENTERPRISE_USER_MISSPELT),
            Some(ENTERPRISE_USER)
        );
        assert_eq!(canonical_schema(&USER.to_uppercase()), Some(USER));
        assert_eq!(canonical_schema("urn:custom"), None);
    }

    #[test]
    fn qualified_names_split_at_the_last_colon() {
        let qualified = format!("{ENTERPRISE_USER_MISSPELT}:manager.value");
        let (urn, attr) = split_qualified(&qualified).unwrap();
        assert_eq!((urn.as_str(), attr), (ENTERPRISE_USER, "manager.value"));
        assert_eq!(split_qualified(ENTERPRISE_USER), None);
        assert_eq!(split_qualified("userName"), None);
    }

    #[test]
    fn keys_classify_as_extensions_or_attributes() {
        assert_eq!(
            classify_key(ENTERPRISE_USER_MISSPELT, true),
            Some(UrnKey::Extension(ENTERPRISE_USER.into()))
        );
        let dept = format!("{ENTERPRISE_USER}:manager");
        assert_eq!(
            classify_key(&dept, true),
            Some(UrnKey::Attribute {
                urn: ENTERPRISE_USER.into(),
                attr: "manager"
            })
        );
        assert_eq!(
            classify_key("urn:acme:2.0:User", true),
            Some(UrnKey::Extension("urn:acme:2.0:User".into()))
        );
        assert_eq!(
            classify_key("urn:acme:2.0:User:badge", false),
            Some(UrnKey::Attribute {
                urn: "urn:acme:2.0:User".into(),
                attr: "badge"
            })
        );
        assert_eq!(classify_key("active", false), None);
    }
}
