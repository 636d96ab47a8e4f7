//! Applying PATCH operations to a JSON resource in memory (RFC 7644 §3.5.2.1–3).
//!
//! Deliberate leniencies, because Entra relies on them:
//! - an `add` or `replace` on a value filter that matches nothing creates the element, seeded
//!   with the filter's `eq` terms (`emails[type eq "work"].value` → `{"type":"work","value":..}`);
//! - removing something already absent succeeds (retries and re-syncs must be idempotent);
//! - `remove` of a multi-valued attribute with a value list removes only the listed elements,
//!   matched by their `value` (Entra's member removal).
//!
//! Otherwise: `add` appends to multi-valued attributes without duplicates and merges into
//! complex ones; `replace` overwrites (merging sub-attributes of a single complex attribute, as
//! §3.5.2.3 says); a value filter's matched elements are replaced but keep the filter's `eq`
//! terms, so they still match it. Setting `primary: true` on one element clears it on the
//! others. Extension attributes live under the extension's URN key, which joins `schemas` when
//! it is created and leaves it when it empties.

use serde_json::{Map, Value};

use super::parse::split_pathless;
use super::{PatchOp, PatchOpKind, PatchPath};
use crate::error::ScimError;
use crate::filter::{matches_in, AttrPath, CompareOp, Filter};
use crate::schema;
use crate::urn;

/// Applies `ops` in order to `resource`. On error the resource may be partly modified; callers
/// apply to a copy when they need all-or-nothing.
pub fn apply_patch(resource: &mut Value, ops: &[PatchOp]) -> Result<(), ScimError> {
    ops.iter().try_for_each(|op| apply_op(resource, op))
}

fn apply_op(resource: &mut Value, op: &PatchOp) -> Result<(), ScimError> {
    let Some(path) = &op.path else {
        let Some(Value::Object(map)) = &op.value else {
            return Err(ScimError::no_target(format!(
                "\"{}\" without a path requires an object value",
                op.op.as_str()
            )));
        };
        for (path, value) in split_pathless(map.clone()) {
            let split = PatchOp {
                op: op.op,
                path: Some(PatchPath::parse(&path)?),
                value: Some(value),
            };
            apply_op(resource, &split)?;
        }
        return Ok(());
    };
    let Value::Object(root) = resource else {
        return Err(ScimError::internal(
            "the resource to patch is not a JSON object",
        ));
    };
    match path.attr.urn.as_deref().filter(|u| !urn::is_core(u)) {
        None => apply_in(root, path, op),
        Some(ext) => apply_in_extension(root, ext, path, op),
    }
}

fn apply_in_extension(
    root: &mut Map<String, Value>,
    ext: &str,
    path: &PatchPath,
    op: &PatchOp,
) -> Result<(), ScimError> {
    let key = root.keys().find(|k| urn::canonicalize(k) == ext).cloned();
    let key = match key {
        Some(key) => key,
        None if op.op == PatchOpKind::Remove => return Ok(()),
        None => {
            root.insert(ext.to_owned(), Value::Object(Map::new()));
            add_schema(root, ext);
            ext.to_owned()
        }
    };
    let Some(Value::Object(container)) = root.get_mut(&key) else {
        return Err(ScimError::invalid_path(format!(
            "\"{key}\" is not an extension object"
        )));
    };
    apply_in(container, path, op)?;
    if container.is_empty() {
        root.remove(&key);
        remove_schema(root, ext);
    }
    Ok(())
}

fn add_schema(root: &mut Map<String, Value>, ext: &str) {
    let schemas = root
        .entry("schemas")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = schemas {
        if !list.iter().any(|s| s.as_str() == Some(ext)) {
            list.push(Value::String(ext.to_owned()));
        }
    }
}

fn remove_schema(root: &mut Map<String, Value>, ext: &str) {
    if let Some(Value::Array(list)) = root.get_mut("schemas") {
        list.retain(|s| s.as_str().is_none_or(|s| urn::canonicalize(s) != ext));
        if list.is_empty() {
            root.remove("schemas");
        }
    }
}

/// Applies one operation inside `container` (the resource, or an extension object).
fn apply_in(
    container: &mut Map<String, Value>,
    path: &PatchPath,
    op: &PatchOp,
) -> Result<(), ScimError> {
    let key = container
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&path.attr.attr))
        .cloned()
        .unwrap_or_else(|| path.attr.attr.clone());
    let multi = schema::attribute_in_any(path.attr.urn.as_deref(), &path.attr.attr)
        .map(|d| d.multi_valued)
        .unwrap_or_else(|| {
            container
                .get(&key)
                .or(op.value.as_ref())
                .is_some_and(Value::is_array)
        });
    let target = Target {
        container,
        key,
        multi,
    };
    match (&path.value_filter, &path.sub_attr) {
        (None, None) => target.apply_whole(op),
        (None, Some(sub)) => target.apply_sub(sub, op),
        (Some(filter), sub) => target.apply_filtered(&path.attr, filter, sub.as_deref(), op),
    }
}

/// One attribute of a container, about to be modified.
struct Target<'a> {
    container: &'a mut Map<String, Value>,
    key: String,
    multi: bool,
}

impl Target<'_> {
    fn apply_whole(self, op: &PatchOp) -> Result<(), ScimError> {
        let Target {
            container,
            key,
            multi,
        } = self;
        let Some(value) = op.value.clone() else {
            return match op.op {
                PatchOpKind::Remove => {
                    container.remove(&key);
                    Ok(())
                }
                _ => Err(ScimError::invalid_syntax(format!(
                    "\"{}\" requires a value",
                    op.op.as_str()
                ))),
            };
        };
        match (op.op, multi) {
            (PatchOpKind::Add, true) => {
                let items = as_items(
                    container
                        .entry(&key)
                        .or_insert_with(|| Value::Array(Vec::new())),
                );
                for new in into_items(value) {
                    if !items.iter().any(|old| same_element(old, &new)) {
                        items.push(new);
                        let last = items.len() - 1;
                        clear_other_primaries(items, last);
                    }
                }
                remove_if_empty(container, &key);
            }
            (PatchOpKind::Replace, true) => {
                let mut items = into_items(value);
                if let Some(first) = items.iter().position(is_primary) {
                    clear_other_primaries(&mut items, first);
                }
                container.insert(key, Value::Array(items));
            }
            (PatchOpKind::Remove, true) => {
                if let Some(Value::Array(items)) = container.get_mut(&key) {
                    let doomed = into_items(value);
                    items.retain(|item| !doomed.iter().any(|d| same_value(item, d)));
                    if items.is_empty() {
                        container.remove(&key);
                    }
                }
            }
            (PatchOpKind::Remove, false) => {
                container.remove(&key);
            }
            (_, false) => match (container.get_mut(&key), value) {
                (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
                (_, value) => {
                    container.insert(key, value);
                }
            },
        }
        Ok(())
    }

    /// `name.givenName`, or `emails.value` without a filter (every element).
    fn apply_sub(self, sub: &str, op: &PatchOp) -> Result<(), ScimError> {
        let Target {
            container,
            key,
            multi,
        } = self;
        let entry = match container.get_mut(&key) {
            Some(entry) => entry,
            None if op.op == PatchOpKind::Remove => return Ok(()),
            None => {
                let empty = if multi {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                };
                container.entry(key.clone()).or_insert(empty)
            }
        };
        match entry {
            Value::Array(items) if items.is_empty() && op.op != PatchOpKind::Remove => {
                items.push(Value::Object(Map::new()));
            }
            Value::Array(_) | Value::Object(_) => {}
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "\"{key}\" has no sub-attributes"
                )))
            }
        }
        let elements: Vec<&mut Value> = match entry {
            Value::Array(items) => items.iter_mut().collect(),
            single => vec![single],
        };
        for element in elements {
            set_sub(element, sub, op)?;
        }
        remove_if_empty(container, &key);
        Ok(())
    }

    /// `emails[type eq "work"]` or `emails[type eq "work"].value`.
    fn apply_filtered(
        self,
        attr: &AttrPath,
        filter: &Filter,
        sub: Option<&str>,
        op: &PatchOp,
    ) -> Result<(), ScimError> {
        let Target { container, key, .. } = self;
        let items = match container.get_mut(&key) {
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(ScimError::invalid_path(format!(
                    "\"{key}\" is not multi-valued"
                )))
            }
            None if op.op == PatchOpKind::Remove => return Ok(()),
            None => as_items(
                container
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new())),
            ),
        };
        let mut matched: Vec<usize> = (0..items.len())
            .filter(|&i| matches_in(filter, &items[i], Some(attr)))
            .collect();
        match (op.op, sub) {
            (PatchOpKind::Remove, None) => {
                let mut index = 0;
                items.retain(|_| {
                    index += 1;
                    !matched.contains(&(index - 1))
                });
            }
            (PatchOpKind::Remove, Some(sub)) => {
                for &i in &matched {
                    set_sub(&mut items[i], sub, op)?;
                }
            }
            (_, _) => {
                if matched.is_empty() {
                    items.push(Value::Object(filter_template(filter)));
                    matched.push(items.len() - 1);
                }
                for &i in &matched {
                    match sub {
                        Some(sub) => set_sub(&mut items[i], sub, op)?,
                        None => write_element(&mut items[i], filter, op)?,
                    }
                }
                if let Some(&first) = matched.iter().find(|&&i| is_primary(&items[i])) {
                    clear_other_primaries(items, first);
                }
            }
        }
        remove_if_empty(container, &key);
        Ok(())
    }
}

/// Writes or removes one sub-attribute of one complex value.
fn set_sub(element: &mut Value, sub: &str, op: &PatchOp) -> Result<(), ScimError> {
    let Value::Object(map) = element else {
        return Err(ScimError::invalid_path(format!(
            "cannot address \"{sub}\" in a non-complex value"
        )));
    };
    let key = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case(sub))
        .cloned()
        .unwrap_or_else(|| sub.to_owned());
    match (op.op, &op.value) {
        (PatchOpKind::Remove, _) => {
            map.remove(&key);
        }
        (_, Some(value)) => {
            map.insert(key, value.clone());
        }
        (_, None) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"{}\" requires a value",
                op.op.as_str()
            )))
        }
    }
    Ok(())
}

/// Adds (merge) or replaces one element selected by a value filter.
fn write_element(element: &mut Value, filter: &Filter, op: &PatchOp) -> Result<(), ScimError> {
    let Some(Value::Object(new)) = &op.value else {
        return Err(ScimError::invalid_value(
            "a value-filtered path without a sub-attribute needs an object value",
        ));
    };
    if op.op == PatchOpKind::Replace {
        *element = Value::Object(filter_template(filter));
    }
    if let Value::Object(map) = element {
        map.extend(new.clone());
    }
    Ok(())
}

/// The element a value filter describes: its top-level `attr eq value` terms.
fn filter_template(filter: &Filter) -> Map<String, Value> {
    let mut out = Map::new();
    let mut pending = vec![filter];
    while let Some(f) = pending.pop() {
        match f {
            Filter::And(a, b) => pending.extend([a.as_ref(), b.as_ref()]),
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.sub_attr.is_none() && !value.is_null() => {
                // `primary` is boolean in every multi-valued attribute (RFC 7643 §2.4), and
                // Entra writes it as "True": the element created holds the boolean.
                let value = match value.as_str() {
                    Some(text) if path.attr.eq_ignore_ascii_case("primary") => {
                        match text.to_ascii_lowercase().as_str() {
                            "true" => Value::Bool(true),
                            "false" => Value::Bool(false),
                            _ => value.clone(),
                        }
                    }
                    _ => value.clone(),
                };
                out.insert(path.attr.clone(), value);
            }
            _ => {}
        }
    }
    out
}

fn as_items(value: &mut Value) -> &mut Vec<Value> {
    if !value.is_array() {
        *value = Value::Array(vec![value.take()]);
    }
    match value {
        Value::Array(items) => items,
        _ => unreachable!("made an array above"),
    }
}

fn into_items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        single => vec![single],
    }
}

/// Whether two elements of a multi-valued attribute are the same value: equal, or the same
/// `value` with no conflicting `type` (a member added twice, once with `type` and once without).
fn same_element(a: &Value, b: &Value) -> bool {
    let conflicting_type = matches!((a.get("type"), b.get("type")), (Some(x), Some(y)) if x != y);
    a == b || (same_value(a, b) && !conflicting_type && a.get("value").is_some())
}

/// Whether two elements carry the same `value` (or are equal scalars).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn is_primary(value: &Value) -> bool {
    value.get("primary") == Some(&Value::Bool(true))
}

/// At most one element may be primary (RFC 7643 §2.4); the one just written wins.
fn clear_other_primaries(items: &mut [Value], keep: usize) {
    if !items.get(keep).is_some_and(is_primary) {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep && is_primary(item) {
            item["primary"] = Value::Bool(false);
        }
    }
}

/// Drops an attribute left empty by a removal (RFC 7643 §2.5: empty means unassigned).
fn remove_if_empty(container: &mut Map<String, Value>, key: &str) {
    let empty = match container.get(key) {
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(map)) => map.is_empty(),
        _ => false,
    };
    if empty {
        container.remove(key);
    }
}
