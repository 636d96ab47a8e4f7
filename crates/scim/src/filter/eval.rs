//! In-memory filter evaluation against a JSON resource (RFC 7644 §3.4.2.2).
//!
//! Rules, chosen to answer Entra's matching queries the way a SCIM server with a database would:
//! - attribute names match case-insensitively, and URN-qualified names look inside the
//!   extension object;
//! - strings compare case-insensitively unless the schema says `caseExact` (`id`, `externalId`,
//!   references, `meta.version`); unknown attributes are case-insensitive;
//! - a multi-valued attribute matches if any element matches, and a complex value without a
//!   sub-attribute compares its `value` sub-attribute (`emails co "@x.com"`);
//! - the strings `"True"`/`"False"` in a resource equal the booleans (Entra writes them);
//! - `gt`/`ge`/`lt`/`le` order numbers numerically and strings lexicographically, which is
//!   chronological for same-format UTC timestamps; other type pairs never match;
//! - `ne` is the negation of `eq` (an absent attribute is "not equal"); `eq null` means absent.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{AttrPath, CompareOp, Filter};
use crate::schema;
use crate::urn;

impl Filter {
    /// Whether `resource` satisfies the filter.
    pub fn matches(&self, resource: &Value) -> bool {
        matches_in(self, resource, None)
    }
}

/// Evaluates `filter` against `node`: a resource when `parent` is `None`, otherwise one element
/// of the multi-valued attribute `parent` (inside a value filter, where paths are relative).
pub(crate) fn matches_in(filter: &Filter, node: &Value, parent: Option<&AttrPath>) -> bool {
    match filter {
        Filter::And(a, b) => matches_in(a, node, parent) && matches_in(b, node, parent),
        Filter::Or(a, b) => matches_in(a, node, parent) || matches_in(b, node, parent),
        Filter::Not(inner) => !matches_in(inner, node, parent),
        Filter::Present { path } => resolve(node, path).into_iter().any(is_present),
        Filter::Compare { path, op, value } => {
            let actual = resolve(node, path);
            let exact = case_exact(path, parent);
            let eq = |a: &&Value| compare(a, CompareOp::Eq, value, exact);
            match (op, value) {
                (CompareOp::Eq, Value::Null) => !actual.into_iter().any(is_present),
                (CompareOp::Ne, Value::Null) => actual.into_iter().any(is_present),
                (CompareOp::Ne, _) => !actual.iter().any(eq),
                _ => actual.into_iter().any(|a| compare(a, *op, value, exact)),
            }
        }
        Filter::ValuePath { attr, filter } => resolve(node, attr)
            .into_iter()
            .any(|element| matches_in(filter, element, Some(attr))),
    }
}

/// Looks a key up in a JSON object: exact spelling first, then ignoring case.
pub(crate) fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The values a path reaches in `node`, with multi-valued attributes flattened.
fn resolve<'a>(node: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let container = match &path.urn {
        // The extension's key is nearly always spelt canonically: look that up before
        // canonicalising every key (this runs once per resource when filtering a list).
        Some(u) if !urn::is_core(u) => node.as_object().and_then(|map| {
            map.get(u).or_else(|| {
                map.iter()
                    .find(|(k, _)| urn::canonical_schema(k).unwrap_or(k) == u)
                    .map(|(_, v)| v)
            })
        }),
        _ => Some(node),
    };
    let Some(value) = container.and_then(|c| get_ci(c, &path.attr)) else {
        return Vec::new();
    };
    let elements = flatten(value);
    match &path.sub_attr {
        None => elements,
        Some(sub) => elements
            .into_iter()
            .filter_map(|e| get_ci(e, sub))
            .flat_map(flatten)
            .collect(),
    }
}

fn flatten(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// RFC 7643 §2.5: null, empty strings, empty arrays and empty objects are unassigned.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn case_exact(path: &AttrPath, parent: Option<&AttrPath>) -> bool {
    let def = match parent {
        Some(p) => {
            schema::attribute_in_any(p.urn.as_deref(), &p.attr).and_then(|d| d.sub(&path.attr))
        }
        None => schema::attribute_in_any(path.urn.as_deref(), &path.attr)
            .and_then(|d| path.sub_attr.as_deref().map_or(Some(d), |s| d.sub(s))),
    };
    def.is_some_and(|d| d.case_exact)
}

fn compare(actual: &Value, op: CompareOp, expected: &Value, case_exact: bool) -> bool {
    let actual = match actual {
        Value::Object(_) => match get_ci(actual, "value") {
            Some(v) => v,
            None => return false,
        },
        other => other,
    };
    // Booleans compare with booleans, either side possibly spelt "True"/"False" by Entra.
    if actual.is_boolean() || expected.is_boolean() {
        return match (as_bool(actual), as_bool(expected), op) {
            (Some(a), Some(e), CompareOp::Eq) => a == e,
            (Some(a), Some(e), CompareOp::Ne) => a != e,
            _ => false,
        };
    }
    match (actual, expected) {
        (Value::String(a), Value::String(e)) if case_exact => compare_str(a, op, e),
        (Value::String(a), Value::String(e)) => {
            compare_str(&a.to_lowercase(), op, &e.to_lowercase())
        }
        (Value::Number(a), Value::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(|ord| ordered(op, ord)),
            _ => false,
        },
        _ => false,
    }
}

/// A boolean, or a string spelling one in any case (`"True"`).
fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn compare_str(actual: &str, op: CompareOp, expected: &str) -> bool {
    match op {
        CompareOp::Co => actual.contains(expected),
        CompareOp::Sw => actual.starts_with(expected),
        CompareOp::Ew => actual.ends_with(expected),
        _ => ordered(op, actual.cmp(expected)),
    }
}

/// Whether an ordering satisfies an equality or ordering operator.
fn ordered(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
