//! MediusFlow's HTTP conventions, modelled on an ASP.NET Web API: `{"Message":"..."}` errors,
//! request extractors that answer in that shape, and `?skip=&take=` paging with
//! `X-Total-Count`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

use super::Medius;
use crate::extract::Conventions;

/// `{"Message":"..."}` with its status.
#[derive(Debug)]
pub(super) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "Message": self.message }))).into_response()
    }
}

impl Conventions for Arc<Medius> {
    type Error = ApiError;

    fn unreadable_body(status: StatusCode, reason: String) -> ApiError {
        ApiError::new(status, reason)
    }

    fn bad_json(error: serde_json::Error) -> ApiError {
        ApiError::bad_request(format!("The request is invalid: {error}"))
    }

    fn bad_query(reason: String) -> ApiError {
        ApiError::bad_request(reason)
    }
}

/// `?skip=&take=`, kept as text so that a bad number is a `{"Message"}` 400 rather than
/// serde's rejection of a flattened struct.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    skip: Option<String>,
    take: Option<String>,
}

const DEFAULT_TAKE: usize = 100;
const MAX_TAKE: usize = 500;

/// One page of `items` as a JSON array, with the number of items before paging in
/// `X-Total-Count`. `take` outside 1..=500 and a negative or non-numeric `skip` are 400s.
pub(super) fn page<T: Serialize>(items: Vec<&T>, query: &PageQuery) -> Result<Response, ApiError> {
    let skip = match &query.skip {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request("skip must be a whole number"))?,
    };
    let take = match &query.take {
        None => DEFAULT_TAKE,
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| (1..=MAX_TAKE).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("take must be 1 to {MAX_TAKE}")))?,
    };
    let total = items.len();
    let page: Vec<&T> = items.into_iter().skip(skip).take(take).collect();
    let mut response = Json(json!(page)).into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    Ok(response)
}

/// The resource with integer id `id` from a path segment; anything but a whole number is
/// a 404, as with an ASP.NET `{id:int}` route constraint.
pub(super) fn parse_id(what: &str, id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("{what} {id} was not found")))
}

/// A JSON object body without its read-only `Id`, so that a client may send back what it read.
pub(super) fn without_id(body: Value) -> Result<Value, ApiError> {
    match body {
        Value::Object(mut map) => {
            map.remove("Id");
            Ok(Value::Object(map))
        }
        _ => Err(ApiError::bad_request(
            "The request body must be a JSON object",
        )),
    }
}
