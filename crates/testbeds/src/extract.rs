//! Request extractors shared by the testbeds: a JSON body and query parameters, refused in
//! the testbed's own error shape. Which shape is decided by the router's state: each
//! testbed's state implements [`Conventions`].

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{request::Parts, StatusCode};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

/// How a testbed words the refusals of its extractors.
pub(crate) trait Conventions {
    type Error: IntoResponse;

    /// The body could not be read at all (axum's status and reason).
    fn unreadable_body(status: StatusCode, reason: String) -> Self::Error;
    /// The body is not the JSON the route takes.
    fn bad_json(error: serde_json::Error) -> Self::Error;
    /// The query string does not fit the route's parameters.
    fn bad_query(reason: String) -> Self::Error;
}

/// A JSON request body of type `T`.
pub(crate) struct JsonBody<T>(pub T);

impl<S: Conventions + Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = S::Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, S::Error> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| S::unreadable_body(rejection.status(), rejection.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(S::bad_json)
    }
}

/// Query parameters of type `T`.
pub(crate) struct Params<T>(pub T);

impl<S: Conventions + Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = S::Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, S::Error> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(params)| Params(params))
            .map_err(|rejection| S::bad_query(rejection.body_text()))
    }
}
