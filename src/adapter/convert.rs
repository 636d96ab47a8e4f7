//! Conversions between JSON (the gateway's currency) and Rhai values (the scripts').

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

/// A SCIM error as the value a host function throws, so that scripts may catch and inspect
/// it (`catch (e) { if e.status == 404 { ... } }`) and the gateway can turn it back.
pub fn scim_error_to_throw(error: ScimError) -> Box<EvalAltResult> {
    let mut map = rhai::Map::new();
    map.insert("status".into(), Dynamic::from_int(i64::from(error.status)));
    if let Some(t) = &error.scim_type {
        map.insert("scimType".into(), t.into());
    }
    map.insert("detail".into(), error.detail.clone().into());
    if let Some(secs) = error.retry_after {
        map.insert("retryAfter".into(), Dynamic::from_int(secs as i64));
    }
    EvalAltResult::ErrorRuntime(map.into(), rhai::Position::NONE).into()
}

/// The SCIM error a failed script call stands for.
///
/// A thrown map with an HTTP error `status` is the script's (or the host's) chosen SCIM
/// error; running past the deadline is a 504 that Entra retries; anything else is a bug in
/// the script, reported as a 500 whose detail names the function but not the script's
/// internals.
pub fn script_failure_to_scim(function: &str, error: &EvalAltResult) -> ScimError {
    match error {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => {
            script_failure_to_scim(function, inner)
        }
        EvalAltResult::ErrorRuntime(value, _) => thrown_value_to_scim(function, value),
        EvalAltResult::ErrorTerminated(..) => ScimError::new(
            504,
            None,
            format!("the adapter did not finish {function} before the request deadline"),
        ),
        EvalAltResult::ErrorTooManyOperations(_)
        | EvalAltResult::ErrorStackOverflow(_)
        | EvalAltResult::ErrorDataTooLarge(..) => ScimError::internal(format!(
            "the adapter exceeded a sandbox limit in {function}"
        )),
        _ => ScimError::internal(format!("the adapter failed in {function}")),
    }
}

fn thrown_value_to_scim(function: &str, value: &Dynamic) -> ScimError {
    // A thrown non-map is a script bug: its text stays in the gateway's log, not the answer.
    let Some(map) = value.read_lock::<rhai::Map>() else {
        return ScimError::internal(format!("the adapter failed in {function}"));
    };
    let status = map
        .get("status")
        .and_then(|s| s.as_int().ok())
        .unwrap_or(500);
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (400..=599).contains(s))
        .unwrap_or(500);
    let scim_type = map
        .get("scimType")
        .and_then(|t| t.clone().into_string().ok());
    let detail = map
        .get("detail")
        .map(|d| d.to_string())
        .unwrap_or_else(|| format!("the adapter failed in {function}"));
    let mut error = ScimError::new(status, scim_type.as_deref(), detail);
    error.retry_after = map
        .get("retryAfter")
        .and_then(|r| r.as_int().ok())
        .and_then(|r| u64::try_from(r).ok());
    error
}
