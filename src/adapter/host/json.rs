//! `json_parse(text)`, `json_string(value)`, `json_path(value, path)`.

use super::HostResult;
use crate::adapter::convert::{to_dynamic, to_json};
use jsonpath_rust::JsonPath;
use rhai::{Array, Dynamic, Engine};

pub fn register(engine: &mut Engine) {
    engine.register_fn("json_parse", |text: &str| -> HostResult<Dynamic> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("json_parse: {e}"))?;
        Ok(to_dynamic(&value))
    });
    engine.register_fn("json_string", |value: Dynamic| -> HostResult<String> {
        Ok(to_json(&value)?.to_string())
    });
    engine.register_fn(
        "json_path",
        |value: Dynamic, path: &str| -> HostResult<Array> {
            let json = to_json(&value)?;
            let found = json
                .query(path)
                .map_err(|e| format!("json_path {path:?}: {e}"))?;
            Ok(found.into_iter().map(to_dynamic).collect())
        },
    );
}
