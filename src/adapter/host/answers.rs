//! A native answer checked in one call, for every API's way of saying it failed:
//! `native_data(resp, answers)` is the payload of a successful answer and throws the SCIM
//! error any other stands for; `native_found(resp, answers)` is `()` instead of a 404.
//! `answers` describes the API once per adapter (every key may be left out):
//!
//! - `target`: the application's name, for messages ("Acme HR answered HTTP 418");
//! - `ok` / `failed`: the path of a flag that is `true` on success / on failure, for APIs
//!   that answer failures with HTTP 200 (an envelope);
//! - `data`: the path of the payload in a successful answer (the whole JSON by default);
//! - `message`, `code`: the paths of the error's message (a list of paths: the first one
//!   there) and code;
//! - `codes`: error code → SCIM status (`#{ duplicate: 409, not_found: 404 }`);
//! - `unescape`: `true` decodes HTML character references in the payload and the message.
//!
//! Paths are dotted (`"error.message"`). Without a code in `codes`, the HTTP status decides:
//! 401/403 → 502 (the target refused the gateway's credentials: nothing Entra can fix), 404,
//! 409 (`uniqueness`), any other 4xx → 400 (`invalidValue`), a failure inside an HTTP 2xx
//! → 400, anything else → 502. (429 and 5xx rarely get here: the host retries them and
//! answers SCIM 429/503 with Retry-After itself.)

use super::HostResult;
use crate::adapter::convert::throw;
use crate::failure::Failure;
use rhai::{Dynamic, Engine, Map};
use scimitar_scim::ScimError;
use std::collections::HashMap;

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "native_data",
        |resp: Map, answers: Map| -> HostResult<Dynamic> { Answers::parse(&answers)?.data(&resp) },
    );
    engine.register_fn(
        "native_found",
        |resp: Map, answers: Map| -> HostResult<Dynamic> {
            let answers = Answers::parse(&answers)?;
            match answers.status_of(&resp) {
                Some(404) => Ok(Dynamic::UNIT),
                status => answers.answer(&resp, status),
            }
        },
    );
}

/// How one API answers, read from a script's `answers` map.
pub struct Answers {
    target: String,
    ok: Option<String>,
    failed: Option<String>,
    data: Option<String>,
    message: Vec<String>,
    code: Option<String>,
    codes: HashMap<String, u16>,
    unescape: bool,
}

const KEYS: &[&str] = &[
    "target", "ok", "failed", "data", "message", "code", "codes", "unescape",
];

/// A description a script hands the host once per adapter (`answers`, `paging`): a map of
/// known keys, each text unless said otherwise; a key it does not know is a mistake named.
pub struct Description<'a> {
    map: &'a Map,
    what: &'static str,
}

impl<'a> Description<'a> {
    pub fn new(map: &'a Map, what: &'static str, keys: &[&str]) -> HostResult<Self> {
        if let Some(unknown) = map.keys().find(|k| !keys.contains(&k.as_str())) {
            let keys = keys.join(", ");
            return Err(format!("{what}: unknown key `{unknown}` (it has {keys})").into());
        }
        Ok(Self { map, what })
    }

    pub fn get(&self, key: &str) -> Option<&'a Dynamic> {
        self.map.get(key).filter(|v| !v.is_unit())
    }

    pub fn text(&self, key: &str) -> HostResult<Option<String>> {
        self.get(key)
            .map(|v| v.clone().into_string())
            .transpose()
            .map_err(|t| format!("{}: `{key}` must be text, not {t}", self.what).into())
    }
}

impl Answers {
    pub fn parse(map: &Map) -> HostResult<Self> {
        let spec = Description::new(map, "answers", KEYS)?;
        let mut codes = HashMap::new();
        if let Some(table) = spec.get("codes") {
            let table = table
                .read_lock::<Map>()
                .ok_or("answers: `codes` must be a map of code → status")?;
            for (code, status) in table.iter() {
                let status = status
                    .as_int()
                    .ok()
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (400..=599).contains(s))
                    .ok_or_else(|| {
                        format!("answers: the status of code `{code}` must be 400…599")
                    })?;
                codes.insert(code.to_string(), status);
            }
        }
        let message = match spec.get("message") {
            Some(paths) if paths.is_array() => paths
                .clone()
                .cast::<rhai::Array>()
                .into_iter()
                .map(|p| {
                    p.into_string()
                        .map_err(|_| "answers: `message` must be a path or a list of paths".into())
                })
                .collect::<HostResult<_>>()?,
            _ => spec.text("message")?.into_iter().collect(),
        };
        Ok(Self {
            target: spec.text("target")?.unwrap_or_else(|| "the target".into()),
            ok: spec.text("ok")?,
            failed: spec.text("failed")?,
            data: spec.text("data")?,
            message,
            code: spec.text("code")?,
            codes,
            unescape: spec
                .get("unescape")
                .and_then(|v| v.as_bool().ok())
                .unwrap_or(false),
        })
    }

    /// The payload of `resp` if it succeeded, else the SCIM error it stands for.
    pub fn data(&self, resp: &Map) -> HostResult<Dynamic> {
        self.answer(resp, self.status_of(resp))
    }

    /// The payload of `resp`, or the failure of SCIM `status` it stands for (`None`: it
    /// succeeded, as `status_of` says).
    fn answer(&self, resp: &Map, status: Option<u16>) -> HostResult<Dynamic> {
        match status {
            None => {
                let json = field(resp, "json");
                let data = match &self.data {
                    Some(path) => at(&json, path),
                    None => json,
                };
                Ok(if self.unescape {
                    super::html::unescape(data)
                } else {
                    data
                })
            }
            Some(status) => Err(throw(self.failure(resp, status))),
        }
    }

    /// `None` when `resp` succeeded, else the SCIM status its failure stands for.
    fn status_of(&self, resp: &Map) -> Option<u16> {
        let http = http_status(resp);
        let json = field(resp, "json");
        let flag = |path: &Option<String>| {
            path.as_ref()
                .map(|p| at(&json, p).as_bool().unwrap_or(false))
        };
        let succeeded = (200..300).contains(&http)
            && flag(&self.ok).unwrap_or(true)
            && !flag(&self.failed).unwrap_or(false);
        if succeeded {
            return None;
        }
        if let Some(status) = self.code_of(&json).and_then(|code| self.codes.get(&code)) {
            return Some(*status);
        }
        Some(match http {
            401 | 403 => 502,
            404 => 404,
            409 => 409,
            400..=499 | 200..=299 => 400,
            _ => 502,
        })
    }

    fn code_of(&self, json: &Dynamic) -> Option<String> {
        let code = at(json, self.code.as_deref()?);
        (!code.is_unit()).then(|| code.to_string())
    }

    fn failure(&self, resp: &Map, status: u16) -> Failure {
        let http = http_status(resp);
        let json = field(resp, "json");
        let message = self
            .message
            .iter()
            .map(|path| at(&json, path))
            .find(|m| !m.is_unit())
            .map(|m| {
                if self.unescape {
                    super::html::unescape(m)
                } else {
                    m
                }
                .to_string()
            });
        let target = &self.target;
        if matches!(http, 401 | 403) && status == 502 {
            return Failure::upstream(ScimError::new(
                502,
                None,
                format!("{target} refused the gateway's credentials (HTTP {http})"),
            ));
        }
        let detail = message.unwrap_or_else(|| match http {
            200..=299 => format!("{target} refused the request"),
            _ => format!("{target} answered HTTP {http}"),
        });
        let scim_type = match status {
            400 => Some("invalidValue"),
            409 => Some("uniqueness"),
            _ => None,
        };
        let error = ScimError::new(status, scim_type, detail);
        if status >= 500 {
            Failure::upstream(error)
        } else {
            Failure::adapter(error)
        }
    }
}

fn http_status(resp: &Map) -> i64 {
    field(resp, "status").as_int().unwrap_or(0)
}

fn field(map: &Map, key: &str) -> Dynamic {
    map.get(key).cloned().unwrap_or(Dynamic::UNIT)
}

/// The value at a dotted `path` of `value` (`()` where it leads nowhere).
pub fn at(value: &Dynamic, path: &str) -> Dynamic {
    let mut current = value.clone();
    for key in path.split('.') {
        let next = current.read_lock::<Map>().and_then(|m| m.get(key).cloned());
        current = next.unwrap_or(Dynamic::UNIT);
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: i64, json: serde_json::Value) -> Map {
        let mut map = Map::new();
        map.insert("status".into(), Dynamic::from_int(status));
        map.insert("json".into(), crate::adapter::convert::to_dynamic(&json));
        map
    }

    fn answers(spec: serde_json::Value) -> Answers {
        let spec = crate::adapter::convert::to_dynamic(&spec).cast::<Map>();
        Answers::parse(&spec).expect("valid")
    }

    fn error_of(answers: &Answers, resp: &Map) -> (i64, String, String) {
        let thrown = answers.data(resp).expect_err("a failure");
        let rhai::EvalAltResult::ErrorRuntime(value, _) = *thrown else {
            panic!("{thrown}")
        };
        let map = value.cast::<Map>();
        let get = |k: &str| map.get(k).cloned().unwrap_or(Dynamic::UNIT);
        (
            get("status").as_int().unwrap(),
            get("scimType").to_string(),
            get("detail").to_string(),
        )
    }

    #[test]
    fn an_envelope_answers_its_data_and_its_failures_by_code() {
        let acme = answers(serde_json::json!({
            "target": "Acme HR", "ok": "ok", "data": "data", "message": "error.message",
            "code": "error.code", "codes": { "duplicate": 409, "not_found": 404 }, "unescape": true,
        }));
        let data = acme
            .data(&resp(
                200,
                serde_json::json!({"ok": true, "data": {"name": "R&amp;D"}}),
            ))
            .unwrap();
        assert_eq!(at(&data, "name").to_string(), "R&D");
        let failed = resp(
            200,
            serde_json::json!({"ok": false, "error": {"code": "duplicate", "message": "O&#39;Brien exists"}}),
        );
        assert_eq!(
            error_of(&acme, &failed),
            (409, "uniqueness".into(), "O'Brien exists".into())
        );
        let unknown = resp(
            200,
            serde_json::json!({"ok": false, "error": {"code": "odd"}}),
        );
        assert_eq!(
            error_of(&acme, &unknown),
            (
                400,
                "invalidValue".into(),
                "Acme HR refused the request".into()
            )
        );
        let missing = resp(
            200,
            serde_json::json!({"ok": false, "error": {"code": "not_found"}}),
        );
        assert_eq!(acme.status_of(&missing), Some(404));
    }

    #[test]
    fn without_an_envelope_the_http_status_decides() {
        let plain = answers(serde_json::json!({ "target": "Medius", "message": "Message" }));
        assert!(plain
            .data(&resp(204, serde_json::Value::Null))
            .unwrap()
            .is_unit());
        assert_eq!(
            error_of(&plain, &resp(409, serde_json::json!({"Message": "taken"}))).0,
            409
        );
        assert_eq!(
            error_of(&plain, &resp(422, serde_json::json!({}))),
            (
                400,
                "invalidValue".into(),
                "Medius answered HTTP 422".into()
            )
        );
        let (status, _, detail) = error_of(
            &plain,
            &resp(401, serde_json::json!({"Message": "bad token"})),
        );
        assert_eq!(
            (status, detail.as_str()),
            (502, "Medius refused the gateway's credentials (HTTP 401)")
        );
        let failed_flag =
            answers(serde_json::json!({ "failed": "error", "message": ["errorMsg", "msg"] }));
        assert_eq!(
            error_of(
                &failed_flag,
                &resp(200, serde_json::json!({"error": true, "errorMsg": "no"}))
            )
            .2,
            "no"
        );
        assert_eq!(
            error_of(
                &failed_flag,
                &resp(400, serde_json::json!({"msg": "bad body"}))
            )
            .2,
            "bad body"
        );
        assert!(failed_flag
            .data(&resp(200, serde_json::json!({"error": false})))
            .is_ok());
    }

    #[test]
    fn a_mistyped_description_is_named() {
        let spec =
            crate::adapter::convert::to_dynamic(&serde_json::json!({"mesage": "m"})).cast::<Map>();
        let error = Answers::parse(&spec).err().expect("refused").to_string();
        assert!(error.contains("unknown key `mesage`"), "{error}");
    }
}
