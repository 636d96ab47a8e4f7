//! The filter syntax tree and its canonical text form.

use std::fmt;

use serde_json::Value;

use crate::error::ScimError;

/// An attribute path: `[<schema urn>:]<attr>[.<sub_attr>]` (RFC 7644 §3.10 `attrPath`).
///
/// `urn` is the canonical schema URN when the name was URN-qualified (Entra's misspelt
/// enterprise URN is already corrected). Names keep the case they were written in; lookups are
/// case-insensitive everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A plain top-level attribute, e.g. `userName`.
    pub fn new(attr: impl Into<String>) -> Self {
        Self {
            urn: None,
            attr: attr.into(),
            sub_attr: None,
        }
    }

    /// Parses `[urn:]attr[.sub]` on its own (no value filter).
    pub fn parse(input: &str) -> Result<Self, ScimError> {
        super::parse::parse_attr_path(input)
    }

    /// Whether this path names `attr` (and no sub-attribute) of the core schema, ignoring case.
    pub fn is(&self, attr: &str) -> bool {
        self.urn.as_deref().is_none_or(crate::urn::is_core)
            && self.sub_attr.is_none()
            && self.attr.eq_ignore_ascii_case(attr)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// RFC 7644 §3.4.2.2 comparison operators (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// Every operator, for parsing by name.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The lowercase operator keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Parses an operator keyword, case-insensitively.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// A parsed SCIM filter.
///
/// A comparison after a value filter, `emails[type eq "work"].value eq "x"` (outside the
/// RFC's filter grammar but sent by Entra), has the same meaning as
/// `emails[type eq "work" and value eq "x"]` — some element satisfies both — so the parser
/// represents it that way: `ValuePath { attr: emails, filter: And(type eq "work", value eq "x") }`.
/// One representation per meaning keeps evaluation and adapters simple.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    /// `path pr`.
    Present {
        path: AttrPath,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches `filter`, whose paths
    /// are relative to the element.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// The `(path, value)` of a bare `path eq value` filter — the lookup Entra makes before
    /// creating a resource (`userName eq "x"`, `externalId eq "x"`, `displayName eq "x"`).
    pub fn simple_eq(&self) -> Option<(&AttrPath, &Value)> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } => Some((path, value)),
            _ => None,
        }
    }

    /// The `attribute eq value` conditions every match of the filter satisfies: the bare
    /// comparison, both sides of an `and`, and a comparison inside a value filter as the
    /// path it reaches (`emails[type eq "work"].value eq "x"` requires `emails.value` to be
    /// `"x"`). An index can answer the filter from any one of them, then check the rest.
    pub fn equalities(&self) -> Vec<(AttrPath, &Value)> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } => vec![(path.clone(), value)],
            Filter::And(a, b) => {
                let mut both = a.equalities();
                both.extend(b.equalities());
                both
            }
            Filter::ValuePath { attr, filter } => filter
                .equalities()
                .into_iter()
                .filter(|(inner, _)| inner.urn.is_none() && inner.sub_attr.is_none())
                .map(|(inner, value)| {
                    let path = AttrPath {
                        urn: attr.urn.clone(),
                        attr: attr.attr.clone(),
                        sub_attr: Some(inner.attr),
                    };
                    (path, value)
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Binding strength when printed: `or` < `and` < everything else.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    /// Writes a child of a binary operator, parenthesised where the parser would otherwise
    /// build a different tree (lower precedence, or same precedence on the right, since
    /// `and`/`or` associate to the left).
    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, parent: u8, right: bool) -> fmt::Result {
        let own = self.precedence();
        if own < parent || (right && own == parent) {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// The canonical text form: lowercase keywords, single spaces, JSON literals and only the
/// parentheses needed; `parse(&f.to_string()) == Ok(f)`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present { path } => write!(f, "{path} pr"),
            Filter::And(a, b) | Filter::Or(a, b) => {
                let keyword = if matches!(self, Filter::And(..)) {
                    "and"
                } else {
                    "or"
                };
                a.fmt_operand(f, self.precedence(), false)?;
                write!(f, " {keyword} ")?;
                b.fmt_operand(f, self.precedence(), true)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}
