//! Conversions between JSON (the gateway's currency) and Rhai values (the scripts').

use crate::failure::{Failure, Kind};
use rhai::{Dynamic, EvalAltResult};
use scimitar_scim::ScimError;
use serde_json::Value;

pub fn to_dynamic(value: &Value) -> Dynamic {
    // JSON always converts: every JSON value has a Rhai counterpart.
    rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT)
}

pub fn to_json(value: &Dynamic) -> Result<Value, Box<EvalAltResult>> {
    rhai::serde::from_dynamic(value)
}

/// A failure as the value a host function throws, so that scripts may catch and inspect it
/// (`catch (e) { if e.status == 404 { ... } }`, `e.kind == "upstream"`) and the gateway can
/// turn it back into the same failure, its kind included, when it ends the call.
pub fn throw(failure: Failure) -> Box<EvalAltResult> {
    let kind = failure.kind();
    let error = failure.into_error();
    let mut map = rhai::Map::new();
    map.insert("status".into(), Dynamic::from_int(i64::from(error.status)));
    if let Some(t) = error.scim_type {
        map.insert("scimType".into(), t.into());
    }
    map.insert("detail".into(), error.detail.into());
    if let Some(secs) = error.retry_after {
        map.insert("retryAfter".into(), Dynamic::from_int(secs as i64));
    }
    map.insert("kind".into(), kind.name().into());
    if let Kind::Refused(reason) = kind {
        map.insert("reason".into(), reason.label().into());
    }
    EvalAltResult::ErrorRuntime(map.into(), rhai::Position::NONE).into()
}

/// A SCIM error thrown as the adapter's own answer (`scim_error`, a helper's invalid value).
pub fn throw_scim(error: ScimError) -> Box<EvalAltResult> {
    throw(Failure::adapter(error))
}

/// The failure a failed script call stands for.
///
/// A thrown map with an HTTP error `status` is the script's (or the host's) chosen SCIM
/// error, of the kind it names (the adapter's own when it names none); running past the
/// deadline is a 504 that Entra retries; anything else is a bug in the script, reported as
/// a 500 whose detail names the function but not the script's internals.
pub fn script_failure(function: &str, error: &EvalAltResult) -> Failure {
    match error {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => script_failure(function, inner),
        EvalAltResult::ErrorRuntime(value, _) => thrown_value_to_failure(function, value),
        EvalAltResult::ErrorTerminated(..) => Failure::deadline(format!(
            "the adapter did not finish {function} before the request deadline"
        )),
        EvalAltResult::ErrorTooManyOperations(_)
        | EvalAltResult::ErrorStackOverflow(_)
        | EvalAltResult::ErrorDataTooLarge(..) => Failure::script_fault(ScimError::internal(
            format!("the adapter exceeded a sandbox limit in {function}"),
        )),
        _ => Failure::script_fault(ScimError::internal(format!(
            "the adapter failed in {function}"
        ))),
    }
}

fn thrown_value_to_failure(function: &str, value: &Dynamic) -> Failure {
    // A thrown non-map is a script bug: its text stays in the gateway's log, not the answer.
    let Some(map) = value.read_lock::<rhai::Map>() else {
        return Failure::script_fault(ScimError::internal(format!(
            "the adapter failed in {function}"
        )));
    };
    let text = |key: &str| map.get(key).and_then(|v| v.clone().into_string().ok());
    let status = map
        .get("status")
        .and_then(|s| s.as_int().ok())
        .unwrap_or(500);
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (400..=599).contains(s))
        .unwrap_or(500);
    let detail = map
        .get("detail")
        .map(|d| d.to_string())
        .unwrap_or_else(|| format!("the adapter failed in {function}"));
    let mut error = ScimError::new(status, text("scimType").as_deref(), detail);
    error.retry_after = map
        .get("retryAfter")
        .and_then(|r| r.as_int().ok())
        .and_then(|r| u64::try_from(r).ok());
    let kind = text("kind")
        .and_then(|kind| Kind::from_name(&kind, text("reason").as_deref()))
        .unwrap_or(Kind::Adapter);
    Failure::new(kind, error)
}
