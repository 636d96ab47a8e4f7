//! The core User and Group schemas and the Enterprise User extension (RFC 7643 §4, §8.7.1).
//!
//! One table drives everything schema-aware in the crate: canonical attribute spelling when
//! normalising Entra's input, which attributes are boolean (so `"False"` can become `false`),
//! case-exactness in filters, `returned: never` in projections, and the `/Schemas` discovery
//! documents ([`schema_json`]).

use serde_json::{json, Map, Value};

use crate::urn::{self, ENTERPRISE_USER, GROUP, USER};

/// A SCIM resource type this crate has schemas for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// Both kinds, for lookups that do not know which resource they are looking at.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The resource type name (`User`, `Group`), as used in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The collection endpoint (`/Users`, `/Groups`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    /// The core schema URN.
    pub fn schema_urn(self) -> &'static str {
        core_schema(self).urn
    }

    /// Extension schemas this crate knows for the kind.
    pub fn known_extensions(self) -> &'static [&'static str] {
        match self {
            ResourceKind::User => &[ENTERPRISE_USER],
            ResourceKind::Group => &[],
        }
    }

    /// Parses a resource type name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

/// RFC 7643 §2.3 attribute data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

/// One schema: its URN, names and top-level attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaDef {
    pub urn: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

impl AttributeDef {
    /// Finds a sub-attribute by name, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }
}

/// Finds an attribute by name, case-insensitively (attribute names are case-insensitive,
/// RFC 7643 §2.1).
pub fn find(attrs: &'static [AttributeDef], name: &str) -> Option<&'static AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The core schema of a resource kind.
pub fn core_schema(kind: ResourceKind) -> &'static SchemaDef {
    match kind {
        ResourceKind::User => &USER_SCHEMA,
        ResourceKind::Group => &GROUP_SCHEMA,
    }
}

/// A known schema by URN (any case, or Entra's misspelling of the enterprise URN).
pub fn schema_def(urn: &str) -> Option<&'static SchemaDef> {
    [&USER_SCHEMA, &GROUP_SCHEMA, &ENTERPRISE_SCHEMA]
        .into_iter()
        .find(|s| Some(s.urn) == urn::canonical_schema(urn))
}

/// Looks up a top-level attribute of a `kind` resource: the common attributes (`id`,
/// `externalId`, `meta`), then the core schema, or the schema named by `urn` when the name is
/// URN-qualified. Unknown (custom) schemas and attributes give `None`.
pub fn attribute(
    kind: ResourceKind,
    urn: Option<&str>,
    name: &str,
) -> Option<&'static AttributeDef> {
    match urn.map(|u| urn::canonical_schema(u).unwrap_or(u)) {
        Some(u) if !urn::is_core(u) => find(schema_def(u)?.attributes, name),
        _ => find(COMMON, name).or_else(|| find(core_schema(kind).attributes, name)),
    }
}

/// [`attribute`] for callers that do not know the resource kind (filters, projections): the
/// first kind that defines the name wins. Where User and Group share a name (`displayName`)
/// the definitions agree on everything those callers use.
pub fn attribute_in_any(urn: Option<&str>, name: &str) -> Option<&'static AttributeDef> {
    ResourceKind::ALL
        .into_iter()
        .find_map(|kind| attribute(kind, urn, name))
}

/// The RFC 7643 §7 representation of a known schema, without `meta` (its location depends on
/// the base URL; discovery adds it).
pub fn schema_json(urn: &str) -> Option<Value> {
    let schema = schema_def(urn)?;
    Some(json!({
        "schemas": [urn::SCHEMA],
        "id": schema.urn,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
    }))
}

fn attribute_json(def: &AttributeDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(def.name));
    out.insert("type".into(), json!(type_name(def.kind)));
    out.insert("multiValued".into(), json!(def.multi_valued));
    out.insert(
        "description".into(),
        json!(format!("The {} attribute.", def.name)),
    );
    out.insert("required".into(), json!(def.required));
    if def.kind != AttrType::Complex {
        out.insert("caseExact".into(), json!(def.case_exact));
    }
    out.insert("mutability".into(), json!(mutability_name(def.mutability)));
    out.insert("returned".into(), json!(returned_name(def.returned)));
    out.insert("uniqueness".into(), json!(uniqueness_name(def.uniqueness)));
    if def.kind == AttrType::Reference {
        out.insert("referenceTypes".into(), json!(def.reference_types));
    }
    if def.kind == AttrType::Complex {
        out.insert(
            "subAttributes".into(),
            def.sub_attributes.iter().map(attribute_json).collect(),
        );
    }
    Value::Object(out)
}

fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

fn mutability_name(m: Mutability) -> &'static str {
    match m {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    }
}

fn returned_name(r: Returned) -> &'static str {
    match r {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
        Returned::Request => "request",
    }
}

fn uniqueness_name(u: Uniqueness) -> &'static str {
    match u {
        Uniqueness::None => "none",
        Uniqueness::Server => "server",
        Uniqueness::Global => "global",
    }
}

// ---------------------------------------------------------------------------------------------
// The tables. Builders keep each line close to the RFC's wording: `attr(name, type)` is a
// single-valued, optional, case-insensitive, readWrite, returned-by-default string-like
// attribute, and the chained calls state only where the RFC differs.

const fn attr(name: &'static str, kind: AttrType) -> AttributeDef {
    AttributeDef {
        name,
        kind,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        reference_types: &[],
        sub_attributes: &[],
    }
}

const fn string(name: &'static str) -> AttributeDef {
    attr(name, AttrType::String)
}

const fn complex(name: &'static str, subs: &'static [AttributeDef]) -> AttributeDef {
    AttributeDef {
        sub_attributes: subs,
        ..attr(name, AttrType::Complex)
    }
}

const fn reference(name: &'static str, types: &'static [&'static str]) -> AttributeDef {
    AttributeDef {
        reference_types: types,
        case_exact: true,
        ..attr(name, AttrType::Reference)
    }
}

impl AttributeDef {
    const fn multi(self) -> Self {
        Self {
            multi_valued: true,
            ..self
        }
    }
    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }
    const fn case_exact(self) -> Self {
        Self {
            case_exact: true,
            ..self
        }
    }
    const fn mutability(self, mutability: Mutability) -> Self {
        Self { mutability, ..self }
    }
    const fn returned(self, returned: Returned) -> Self {
        Self { returned, ..self }
    }
    const fn unique(self) -> Self {
        Self {
            uniqueness: Uniqueness::Server,
            ..self
        }
    }
}

/// `value`/`display`/`type`/`primary`: the sub-attributes of most multi-valued attributes.
const fn labelled(value: AttributeDef) -> [AttributeDef; 4] {
    [
        value,
        string("display"),
        string("type"),
        attr("primary", AttrType::Boolean),
    ]
}

const EMAIL_SUBS: [AttributeDef; 4] = labelled(string("value"));
const PHOTO_SUBS: [AttributeDef; 4] = labelled(reference("value", &["external"]));
const CERT_SUBS: [AttributeDef; 4] = labelled(attr("value", AttrType::Binary));

/// Attributes every resource has (RFC 7643 §3.1). Not part of any schema document.
const COMMON: &[AttributeDef] = &[
    string("id")
        .case_exact()
        .mutability(Mutability::ReadOnly)
        .returned(Returned::Always)
        .unique(),
    string("externalId").case_exact(),
    complex(
        "meta",
        &[
            string("resourceType")
                .case_exact()
                .mutability(Mutability::ReadOnly),
            attr("created", AttrType::DateTime).mutability(Mutability::ReadOnly),
            attr("lastModified", AttrType::DateTime).mutability(Mutability::ReadOnly),
            reference("location", &["uri"]).mutability(Mutability::ReadOnly),
            string("version")
                .case_exact()
                .mutability(Mutability::ReadOnly),
        ],
    )
    .mutability(Mutability::ReadOnly),
];

const USER_SCHEMA: SchemaDef = SchemaDef {
    urn: USER,
    name: "User",
    description: "User Account",
    attributes: &[
        string("userName").required().unique(),
        complex(
            "name",
            &[
                string("formatted"),
                string("familyName"),
                string("givenName"),
                string("middleName"),
                string("honorificPrefix"),
                string("honorificSuffix"),
            ],
        ),
        string("displayName"),
        string("nickName"),
        reference("profileUrl", &["external"]),
        string("title"),
        string("userType"),
        string("preferredLanguage"),
        string("locale"),
        string("timezone"),
        attr("active", AttrType::Boolean),
        string("password")
            .mutability(Mutability::WriteOnly)
            .returned(Returned::Never),
        complex("emails", &EMAIL_SUBS).multi(),
        complex("phoneNumbers", &EMAIL_SUBS).multi(),
        complex("ims", &EMAIL_SUBS).multi(),
        complex("photos", &PHOTO_SUBS).multi(),
        complex(
            "addresses",
            &[
                string("formatted"),
                string("streetAddress"),
                string("locality"),
                string("region"),
                string("postalCode"),
                string("country"),
                string("type"),
                attr("primary", AttrType::Boolean),
            ],
        )
        .multi(),
        complex(
            "groups",
            &[
                string("value").mutability(Mutability::ReadOnly),
                reference("$ref", &["User", "Group"]).mutability(Mutability::ReadOnly),
                string("display").mutability(Mutability::ReadOnly),
                string("type").mutability(Mutability::ReadOnly),
            ],
        )
        .multi()
        .mutability(Mutability::ReadOnly),
        complex("entitlements", &EMAIL_SUBS).multi(),
        complex("roles", &EMAIL_SUBS).multi(),
        complex("x509Certificates", &CERT_SUBS).multi(),
    ],
};

const GROUP_SCHEMA: SchemaDef = SchemaDef {
    urn: GROUP,
    name: "Group",
    description: "Group",
    attributes: &[
        string("displayName").required(),
        complex(
            "members",
            &[
                string("value").mutability(Mutability::Immutable),
                reference("$ref", &["User", "Group"]).mutability(Mutability::Immutable),
                string("display").mutability(Mutability::ReadOnly),
                string("type").mutability(Mutability::Immutable),
            ],
        )
        .multi(),
    ],
};

const ENTERPRISE_SCHEMA: SchemaDef = SchemaDef {
    urn: ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        string("employeeNumber"),
        string("costCenter"),
        string("organization"),
        string("division"),
        string("department"),
        complex(
            "manager",
            &[
                string("value"),
                reference("$ref", &["User"]),
                string("displayName").mutability(Mutability::ReadOnly),
            ],
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_urn_aware() {
        assert_eq!(
            attribute(ResourceKind::User, None, "USERNAME")
                .unwrap()
                .name,
            "userName"
        );
        assert!(
            attribute(ResourceKind::User, None, "id")
                .unwrap()
                .case_exact
        );
        let dept = attribute(
            ResourceKind::User,
            Some(urn::ENTERPRISE_USER_MISSPELT),
            "Department",
        );
        assert_eq!(dept.unwrap().name, "department");
        assert_eq!(
            attribute(ResourceKind::User, Some(USER), "active")
                .unwrap()
                .kind,
            AttrType::Boolean
        );
        assert!(attribute(ResourceKind::Group, None, "userName").is_none());
        assert_eq!(attribute_in_any(None, "members").unwrap().name, "members");
    }

    #[test]
    fn schema_json_follows_rfc_7643_section_7() {
        let user = schema_json(USER).unwrap();
        assert_eq!(user["id"], USER);
        let emails = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "emails")
            .unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][3]["type"], "boolean");
        let enterprise = schema_json(ENTERPRISE_USER).unwrap();
        assert_eq!(
            enterprise["attributes"][5]["subAttributes"][1]["referenceTypes"],
            json!(["User"])
        );
        assert!(schema_json("urn:custom").is_none());
    }
}
