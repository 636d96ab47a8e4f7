//! `http(request)`, `http_get(path)`, `http_get(path, query)`, `http_post(path, body)`,
//! `http_delete(path)`: calls to the target application; `url_encode(text)` for path segments.
//!
//! A request is a map: `#{ method: "PATCH", path: "/v1/users/1", query: #{..},
//! headers: #{..}, json: #{..} /* or */ body: "text", content_type: "..", raw: false,
//! retry: false }`. `retry: true` marks a non-idempotent method (an RPC read sent as POST)
//! as safe to repeat after a 5xx or a connection error; 429s are retried for every method.
//! The answer is `#{ status, headers, body, json }`: `json` when the body is JSON, else
//! `body` (its text), the other one `()`. Unless `raw` is true, 429, 5xx and unreachable targets never come back: they
//! throw the SCIM error (429/503 with `Retry-After`) that makes Entra retry.

use super::HostResult;
use crate::adapter::context;
use crate::adapter::convert::{throw, to_json};
use crate::upstream::{Body, UpstreamRequest, UpstreamResponse};
use reqwest::Method;
use rhai::{Dynamic, Engine, Map};

pub fn register(engine: &mut Engine) {
    engine.register_fn("http", |request: Map| -> HostResult<Map> {
        send(parse_request(request)?)
    });
    engine.register_fn("http_get", |path: &str| -> HostResult<Map> {
        send(simple(Method::GET, path, None))
    });
    engine.register_fn("http_get", |path: &str, query: Map| -> HostResult<Map> {
        let mut request = simple(Method::GET, path, None);
        request.query = string_pairs(&query, "query")?;
        send(request)
    });
    engine.register_fn(
        "http_post",
        |path: &str, json: Dynamic| -> HostResult<Map> {
            send(simple(Method::POST, path, Some(to_json(&json)?)))
        },
    );
    engine.register_fn("http_delete", |path: &str| -> HostResult<Map> {
        send(simple(Method::DELETE, path, None))
    });
    // Ids from SCIM URLs go into native paths: encode them so that an id can never climb
    // out of its segment (`../`, `/`, `?`).
    engine.register_fn("url_encode", |text: &str| -> String {
        percent_encoding::utf8_percent_encode(text, PATH_SEGMENT).to_string()
    });
}

fn simple(method: Method, path: &str, json: Option<serde_json::Value>) -> UpstreamRequest {
    UpstreamRequest {
        method,
        url: path.to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        body: json.map(|value| Body::Json {
            value,
            content_type: None,
        }),
        raw: false,
        retry_safe: false,
    }
}

pub(super) fn send(request: UpstreamRequest) -> HostResult<Map> {
    let ctx = context::current()?;
    ctx.may_wait()?;
    let response = crate::adapter::block_on_http(|http| async move {
        ctx.upstream
            .send(&http, request, ctx.deadline, &ctx.calls)
            .await
    })
    .ok_or("http: this script thread has no HTTP client (see the gateway's log)")?
    .map_err(throw)?;
    Ok(response_map(response))
}

pub(super) fn parse_request(mut map: Map) -> HostResult<UpstreamRequest> {
    let text = |map: &mut Map, key: &str| -> HostResult<Option<String>> {
        match map.remove(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|t| format!("http: `{key}` must be a string, not {t}").into()),
        }
    };
    let method = text(&mut map, "method")?.unwrap_or_else(|| "GET".into());
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("http: {method:?} is not an HTTP method"))?;
    let url = text(&mut map, "path")?
        .or(text(&mut map, "url")?)
        .ok_or("http: the request needs a `path` (or `url`)")?;
    let query = optional_pairs(&mut map, "query")?;
    let headers = optional_pairs(&mut map, "headers")?;
    let content_type = text(&mut map, "content_type")?;
    let body = match (map.remove("json"), text(&mut map, "body")?) {
        (Some(json), _) if !json.is_unit() => Some(Body::Json {
            value: to_json(&json)?,
            content_type,
        }),
        (_, Some(text)) => Some(Body::Text {
            text,
            content_type: content_type.unwrap_or_else(|| "text/plain; charset=utf-8".into()),
        }),
        _ => None,
    };
    let mut flag = |key: &str| {
        map.remove(key)
            .and_then(|v| v.as_bool().ok())
            .unwrap_or(false)
    };
    let (raw, retry_safe) = (flag("raw"), flag("retry"));
    if let Some(key) = map.keys().next() {
        return Err(format!("http: unknown request field `{key}`").into());
    }
    Ok(UpstreamRequest {
        method,
        url,
        query,
        headers,
        body,
        raw,
        retry_safe,
    })
}

/// The map under `key` (absent or `()` is empty) as name/value pairs.
fn optional_pairs(map: &mut Map, key: &str) -> HostResult<Vec<(String, String)>> {
    match map.remove(key) {
        Some(value) if !value.is_unit() => {
            let inner = value
                .try_cast::<Map>()
                .ok_or(format!("http: `{key}` must be a map"))?;
            string_pairs(&inner, key)
        }
        _ => Ok(Vec::new()),
    }
}

/// Query parameters and headers: every value is sent as text (numbers and booleans too).
fn string_pairs(map: &Map, what: &str) -> HostResult<Vec<(String, String)>> {
    map.iter()
        .filter(|(_, v)| !v.is_unit())
        .map(|(k, v)| {
            if v.is_map() || v.is_array() {
                Err(format!("http: {what} `{k}` must be a plain value").into())
            } else {
                Ok((k.to_string(), v.to_string()))
            }
        })
        .collect()
}

fn response_map(response: UpstreamResponse) -> Map {
    let mut headers = Map::new();
    for (name, value) in response.headers {
        headers.insert(name.into(), value.into());
    }
    let mut map = Map::new();
    map.insert(
        "status".into(),
        Dynamic::from_int(i64::from(response.status)),
    );
    map.insert("headers".into(), headers.into());
    // The text only when it is not JSON: a directory of 50,000 users is held once, not twice.
    // Parsed straight into the script's values, with no serde_json tree in between.
    let (json, body) = match serde_json::from_str::<Dynamic>(&response.body) {
        Ok(json) => (json, Dynamic::UNIT),
        Err(_) => (Dynamic::UNIT, response.body.into()),
    };
    map.insert("json".into(), json);
    map.insert("body".into(), body);
    map
}

/// Everything but unreserved characters; `.` is encoded too, so `..` stays a plain id.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::convert::to_dynamic;

    fn answer(body: &str) -> Map {
        response_map(UpstreamResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        })
    }

    #[test]
    fn json_answers_reach_scripts_as_through_a_json_value() {
        let body = r#"{"items":[{"id":"u1","n":-3,"big":18446744073709551615,"f":1.5,
            "none":null,"ok":true,"name":"Zoë \"Z\" \u00e9","deep":{"a":[[1],[]]}}],"next":null}"#;
        let map = answer(body);
        let through_value = to_dynamic(&serde_json::from_str(body).unwrap());
        assert_eq!(
            to_json(&map["json"]).unwrap(),
            to_json(&through_value).unwrap()
        );
        assert!(map["body"].is_unit(), "JSON is held once, not also as text");
    }

    #[test]
    fn other_answers_stay_text() {
        for body in ["", "<html>busy</html>", "{\"cut\": "] {
            let map = answer(body);
            assert!(map["json"].is_unit(), "{body}");
            assert_eq!(map["body"].clone().into_string().unwrap(), body);
        }
    }
}
