//! Group membership changes, pulled out of a PATCH so adapters can call the target's
//! add-member/remove-member APIs instead of rewriting a whole member list.

use serde::Serialize;
use serde_json::Value;

use super::{PatchOp, PatchOpKind};
use crate::error::ScimError;
use crate::filter::{CompareOp, Filter};

/// One change to a group's members, by member id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "members", rename_all = "camelCase")]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

/// Splits canonical operations (from `parse_patch`) into member changes and the rest, each in
/// their original order.
///
/// Recognised: `add`/`replace` `members` with a value list; `remove` `members` with a value
/// list (only those members) or without one (all members); `remove` `members[value eq "id"]`
/// (also `or`-ed ids). Any other `members` operation, such as a filter on `display`, stays in
/// the rest for the caller to apply to the resource.
pub fn split_member_changes(ops: Vec<PatchOp>) -> (Vec<MemberChange>, Vec<PatchOp>) {
    let mut changes = Vec::new();
    let mut rest = Vec::new();
    for op in ops {
        match member_change(&op) {
            Some(change) => changes.push(change),
            None => rest.push(op),
        }
    }
    (changes, rest)
}

fn member_change(op: &PatchOp) -> Option<MemberChange> {
    let path = op.path.as_ref()?;
    if !path.attr.is("members") || path.sub_attr.is_some() {
        return None;
    }
    let ids = || op.value.as_ref().map(member_ids).unwrap_or_default();
    match (&path.value_filter, op.op) {
        (None, PatchOpKind::Add) => Some(MemberChange::Add(ids())),
        (None, PatchOpKind::Replace) => Some(MemberChange::Replace(ids())),
        (None, PatchOpKind::Remove) if op.value.is_some() => Some(MemberChange::Remove(ids())),
        (None, PatchOpKind::Remove) => Some(MemberChange::RemoveAll),
        (Some(filter), PatchOpKind::Remove) => {
            let mut ids = Vec::new();
            ids_in_filter(filter, &mut ids).then_some(MemberChange::Remove(ids))
        }
        (Some(_), _) => None,
    }
}

/// The `value` of each element of a member list (validated by [`validate`]).
fn member_ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("value")?.as_str().map(str::to_owned))
        .collect()
}

/// Collects the ids of `value eq "id" [or value eq "id2" ...]`; false for any other filter.
fn ids_in_filter(filter: &Filter, out: &mut Vec<String>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(id),
        } if path.is("value") => {
            out.push(id.clone());
            true
        }
        Filter::Or(a, b) => ids_in_filter(a, out) && ids_in_filter(b, out),
        _ => false,
    }
}

/// Rejects member lists whose elements carry no string `value` (the member id), so that
/// [`split_member_changes`] never has to drop a member silently.
pub(super) fn validate(op: &PatchOp) -> Result<(), ScimError> {
    let targets_members = op.path.as_ref().is_some_and(|p| p.is("members"));
    let Some(value) = op.value.as_ref().filter(|_| targets_members) else {
        return Ok(());
    };
    let valid = value.as_array().is_some_and(|members| {
        members
            .iter()
            .all(|m| m.get("value").is_some_and(Value::is_string))
    });
    if valid {
        Ok(())
    } else {
        Err(ScimError::invalid_value(
            "\"members\" must be a list of objects with a string \"value\"",
        ))
    }
}
